//! A backfill's output file, written by a thread of its own with direct I/O
//! where the system offers it (`O_DIRECT` on Linux): each full text goes from
//! the renderer's buffer to the disk, with no copy into the page cache.
//!
//! That copy and the cache's bookkeeping for each page cost about a quarter of
//! a backfill's CPU time, more than the direct write's pinning of the pages and
//! the thread's hand-over; and a history of gigabytes written through the cache
//! only pushes out what other programs had there.
//!
//! Direct I/O writes whole blocks from aligned memory at aligned offsets. A
//! text is [`ALIGN`]ed in memory (see [`Text`]); of each full text the whole
//! blocks are written and the partial block at its end starts the next text.
//! The last text is written padded with zeros to a block, and the file trimmed
//! to its true length. The renderer fills the next text while the thread
//! writes the last one. Where direct I/O is refused (a file system without it,
//! another system), the same path writes through the page cache.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::text::{ALIGN, Text, TextOut};

/// Texts handed to the writing thread and not yet back, at most.
const IN_FLIGHT: usize = 2;

/// An output file whose texts a thread of its own writes.
pub struct DirectFile {
    /// Where the next text starts in the file.
    offset: u64,
    /// Written texts back from the thread, to fill again.
    free: Vec<Text>,
    in_flight: usize,
    jobs: Option<SyncSender<Job>>,
    done: Receiver<io::Result<Text>>,
    thread: Option<JoinHandle<()>>,
    /// The first error of the writing thread, returned by every later call.
    failed: Option<Failure>,
}

/// An error of the writing thread, kept to be made again (`io::Error` is not
/// `Clone`): the system's error code where it had one, else its kind and text.
enum Failure {
    Os(i32),
    Other(io::ErrorKind, String),
}

impl Failure {
    fn of(err: &io::Error) -> Self {
        match err.raw_os_error() {
            Some(code) => Self::Os(code),
            None => Self::Other(err.kind(), err.to_string()),
        }
    }

    fn error(&self) -> io::Error {
        match self {
            Self::Os(code) => io::Error::from_raw_os_error(*code),
            Self::Other(kind, message) => io::Error::new(*kind, message.clone()),
        }
    }
}

/// The first `len` bytes of `text` to write at `offset`; the file then ends
/// at `end` if the text is the last (written padded to a block).
struct Job {
    text: Text,
    offset: u64,
    len: usize,
    end: Option<u64>,
}

impl DirectFile {
    /// Writes `path` (created if missing, emptied if there).
    pub fn create(path: &Path) -> io::Result<Self> {
        let file = open(path, true)?;
        if file.metadata()?.is_file() {
            file.set_len(0)?;
        }
        let path = path.to_path_buf();
        let (jobs, received) = sync_channel::<Job>(IN_FLIGHT);
        let (finished, done) = sync_channel(IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name("promemu-file".into())
            .spawn(move || write_texts(file, &path, &received, &finished))?;
        Ok(Self {
            offset: 0,
            free: Vec::new(),
            in_flight: 0,
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            failed: None,
        })
    }

    fn error(&self) -> io::Result<()> {
        match &self.failed {
            Some(failure) => Err(failure.error()),
            None => Ok(()),
        }
    }

    /// Sends the first `len` bytes of `text` (`end`: the last, padded) to the
    /// thread, leaving in `text` a text that holds the rest.
    fn hand_over(&mut self, text: &mut Text, len: usize, end: Option<u64>) -> io::Result<()> {
        let mut next = self.free_text(text.capacity())?;
        next.push_bytes(&text.as_bytes()[len.min(text.len())..]);
        let job = Job {
            text: std::mem::replace(text, next),
            offset: self.offset,
            len,
            end,
        };
        self.offset += len as u64;
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if !sent {
            self.wait_all()?;
            return Err(io::Error::other("the file's writing thread stopped"));
        }
        self.in_flight += 1;
        Ok(())
    }

    /// An empty text: one back from the thread, or a new one (of `capacity`)
    /// while fewer than [`IN_FLIGHT`] are out.
    fn free_text(&mut self, capacity: usize) -> io::Result<Text> {
        if self.free.is_empty() && self.in_flight >= IN_FLIGHT {
            self.wait_one()?;
        }
        match self.free.pop() {
            Some(text) => Ok(text),
            None => Text::with_capacity(capacity),
        }
    }

    fn wait_one(&mut self) -> io::Result<()> {
        let answer = self.done.recv().unwrap_or_else(|_| {
            Err(io::Error::other(
                "the file's writing thread stopped without an answer",
            ))
        });
        self.in_flight -= 1;
        match answer {
            Ok(mut text) => {
                text.clear();
                self.free.push(text);
            }
            Err(err) => {
                self.failed.get_or_insert(Failure::of(&err));
            }
        }
        self.error()
    }

    fn wait_all(&mut self) -> io::Result<()> {
        while self.in_flight > 0 {
            // Every answer is taken; the first error is kept.
            let _ = self.wait_one();
        }
        self.error()
    }

    fn stop(&mut self) -> io::Result<()> {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .map_err(|_| io::Error::other("the file's writing thread panicked"))?;
        }
        self.error()
    }
}

impl TextOut for DirectFile {
    fn take(&mut self, text: &mut Text) -> io::Result<()> {
        self.error()?;
        let whole_blocks = text.len() / ALIGN * ALIGN;
        if whole_blocks == 0 {
            // Less than a block: it stays for the next take.
            return Ok(());
        }
        self.hand_over(text, whole_blocks, None)
    }

    fn finish(&mut self, text: &mut Text) -> io::Result<()> {
        self.error()?;
        let end = self.offset + text.len() as u64;
        let padded = text.pad_to_align();
        self.hand_over(text, padded, Some(end))?;
        self.wait_all()?;
        self.stop()
    }
}

impl Drop for DirectFile {
    fn drop(&mut self) {
        // Unfinished (an error on the way): the thread ends with what it has.
        let _ = self.stop();
    }
}

/// Opens `path` for writing, with direct I/O if `direct` and the system has it.
fn open(path: &Path, direct: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(target_os = "linux")]
    if direct {
        use std::os::unix::fs::OpenOptionsExt;
        let opened = options.clone().custom_flags(libc::O_DIRECT).open(path);
        if !matches!(&opened, Err(err) if err.raw_os_error() == Some(libc::EINVAL)) {
            return opened;
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = direct;
    options.open(path)
}

/// The writing thread: writes each job and hands its text back. A file system
/// that takes the direct flag but refuses a direct write gets the file
/// reopened without it. Stops at the first error.
fn write_texts(
    mut file: File,
    path: &Path,
    jobs: &Receiver<Job>,
    done: &SyncSender<io::Result<Text>>,
) {
    for Job {
        text,
        offset,
        len,
        end,
    } in jobs
    {
        let mut written = write_job(&file, &text, offset, len, end);
        if matches!(&written, Err(err) if err.kind() == io::ErrorKind::InvalidInput) {
            written = open(path, false).and_then(|plain| {
                file = plain;
                write_job(&file, &text, offset, len, end)
            });
        }
        let failed = written.is_err();
        if done.send(written.map(|()| text)).is_err() || failed {
            return;
        }
    }
}

fn write_job(
    file: &File,
    text: &Text,
    offset: u64,
    len: usize,
    end: Option<u64>,
) -> io::Result<()> {
    file.write_all_at(text.with_padding(len), offset)?;
    match end {
        Some(end) => file.set_len(end),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(bytes: usize, seed: u8) -> Vec<u8> {
        (0..bytes)
            .map(|at| b'a' + (at as u8).wrapping_mul(7).wrapping_add(seed) % 26)
            .collect()
    }

    /// Writes `pieces` through `file`, a text taken after each; returns what
    /// was written.
    fn write_pieces(file: &mut DirectFile, pieces: &[usize]) -> Vec<u8> {
        let mut text = Text::with_capacity(1 << 10).expect("a text");
        let mut expected = Vec::new();
        for (index, size) in pieces.iter().enumerate() {
            let bytes = piece(*size, index as u8);
            text.push_bytes(&bytes);
            expected.extend_from_slice(&bytes);
            file.take(&mut text).expect("taken");
        }
        file.finish(&mut text).expect("finished");
        expected
    }

    #[test]
    fn the_file_holds_exactly_the_texts_whatever_their_sizes() {
        let folder = tempfile::tempdir().expect("a folder");
        for pieces in [
            vec![],
            vec![5],
            vec![ALIGN],
            vec![ALIGN - 1, 1, 3 * ALIGN + 17],
            vec![1 << 20, 10, (1 << 20) + ALIGN / 2, 7, 2 * ALIGN],
        ] {
            let path = folder.path().join("out.om");
            let mut file = DirectFile::create(&path).expect("created");
            let expected = write_pieces(&mut file, &pieces);
            let written = std::fs::read(&path).expect("read");
            assert_eq!(written.len(), expected.len(), "pieces {pieces:?}");
            assert!(written == expected, "the bytes of pieces {pieces:?} differ");
        }
    }

    #[test]
    fn an_existing_longer_file_is_replaced() {
        let folder = tempfile::tempdir().expect("a folder");
        let path = folder.path().join("out.om");
        std::fs::write(&path, vec![b'x'; 3 * ALIGN]).expect("an old file");
        let mut file = DirectFile::create(&path).expect("created");
        let expected = write_pieces(&mut file, &[6]);
        assert_eq!(std::fs::read(&path).expect("read"), expected);
    }

    #[test]
    fn a_write_error_is_returned_not_lost() {
        // /dev/full opens and fails every write with "no space left".
        let mut file = DirectFile::create(Path::new("/dev/full")).expect("/dev/full opens");
        let mut text = Text::with_capacity(1 << 10).expect("a text");
        let mut result = Ok(());
        for _ in 0..4 {
            text.push_bytes(&piece(1 << 20, 0));
            result = result.and_then(|()| file.take(&mut text));
        }
        let err = result
            .and_then(|()| file.finish(&mut text))
            .expect_err("a full device fails the write");
        assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
        assert!(err.to_string().contains("No space left"), "{err}");
        // Every later call returns the same error, its code kept.
        let again = file.take(&mut text).expect_err("the file failed before");
        assert_eq!(again.raw_os_error(), Some(libc::ENOSPC), "{again}");
    }
}
