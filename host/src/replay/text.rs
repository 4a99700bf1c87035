//! A backfill's rendered text, written at a cursor into a buffer that keeps
//! room past its end. A piece known in advance (a series key, a line's
//! timestamp end) is kept padded to whole blocks and copied block by block: a
//! few vector moves, where a call to `memcpy` would spend more on its call and
//! size dispatch than on the copy of a piece this short. The padding lands past
//! the text's end, where the next piece overwrites it. (Every line is such a
//! key, a value and such an end: this saved a tenth of the instructions that
//! rendering a line took.)
//!
//! A full text goes to a [`TextOut`]: any writer ([`Writer`]), or a file that
//! takes the buffer itself and writes it with direct I/O (see
//! [`super::direct_file`]), which is why a text starts at an [`ALIGN`]ed
//! address: its buffer is [`Pages`] of its own.

use std::io::{self, Write};

use super::pages::Pages;

/// Bytes a padded piece is copied by.
const BLOCK: usize = 32;

/// Where a text starts in memory: a page, what direct I/O writes from.
pub const ALIGN: usize = super::pages::PAGE;

/// Text with room past its end, starting at an [`ALIGN`]ed address.
pub struct Text {
    /// Room for the text (what is past `len` is scratch).
    pages: Pages,
    len: usize,
}

/// A piece of text padded with zeros to whole [`BLOCK`]s.
pub struct Padded {
    blocks: Box<[[u8; BLOCK]]>,
    len: usize,
}

/// Where full texts go.
pub trait TextOut {
    /// Takes what `text` holds and leaves it empty to fill again (the same
    /// buffer or another; an output may keep a text's unwritten end in it).
    fn take(&mut self, text: &mut Text) -> io::Result<()>;

    /// Writes the last `text`, then whatever is still on its way.
    fn finish(&mut self, text: &mut Text) -> io::Result<()>;
}

/// A writer as a [`TextOut`].
pub struct Writer<W: Write>(pub W);

impl<W: Write> TextOut for Writer<W> {
    fn take(&mut self, text: &mut Text) -> io::Result<()> {
        if !text.is_empty() {
            self.0.write_all(text.as_bytes())?;
            text.clear();
        }
        Ok(())
    }

    fn finish(&mut self, text: &mut Text) -> io::Result<()> {
        self.take(text)?;
        self.0.flush()
    }
}

impl Padded {
    pub fn new(text: &str) -> Self {
        let mut blocks = vec![[0; BLOCK]; text.len().div_ceil(BLOCK)];
        for (block, bytes) in blocks.iter_mut().zip(text.as_bytes().chunks(BLOCK)) {
            block[..bytes.len()].copy_from_slice(bytes);
        }
        Self {
            blocks: blocks.into_boxed_slice(),
            len: text.len(),
        }
    }
}

impl Text {
    /// Empty text with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> io::Result<Self> {
        Ok(Self {
            pages: Pages::zeroed(capacity)?,
            len: 0,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes the text holds without growing.
    pub fn capacity(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.pages.bytes()[..self.len]
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The room for `bytes` more past the end, grown if short (into a new
    /// aligned buffer).
    #[inline(always)]
    fn room(&mut self, bytes: usize) -> &mut [u8] {
        let end = self.len + bytes;
        if end > self.pages.len() {
            self.grow(end);
        }
        &mut self.pages.bytes_mut()[self.len..end]
    }

    /// Moves the text into room for `needed` bytes or more. Out of memory,
    /// the process ends as a vector's growth would end it.
    #[cold]
    fn grow(&mut self, needed: usize) {
        let capacity = needed.next_power_of_two();
        let Ok(mut grown) = Self::with_capacity(capacity) else {
            std::alloc::handle_alloc_error(
                std::alloc::Layout::array::<u8>(capacity)
                    .unwrap_or(std::alloc::Layout::new::<u8>()),
            );
        };
        grown.push_bytes(self.as_bytes());
        *self = grown;
    }

    /// Appends `piece`, copied block by block.
    #[inline(always)]
    pub fn push_padded(&mut self, piece: &Padded) {
        let room = self.room(piece.blocks.len() * BLOCK);
        copy_blocks(room, piece);
        self.len += piece.len;
    }

    /// Appends a sample's line: `key` (with its space), the value's text in
    /// two pieces (the second mostly empty), `end` (its timestamp and line
    /// break). One room for the whole line, each piece copied without a call.
    /// The value is best formatted before the call: its freshly stored
    /// digits, read back at once, would wait in the store buffer (a
    /// store-forwarding stall; the copy took a tenth of a file backfill's
    /// time when the key went first).
    #[inline(always)]
    pub fn push_line(&mut self, key: &Padded, (head, tail): (&str, &str), end: &Padded) {
        if head.len() + tail.len() > BLOCK {
            self.push_padded(key);
            self.push_str(head);
            self.push_str(tail);
            return self.push_padded(end);
        }
        let key_room = key.blocks.len() * BLOCK;
        let room = self.room(key_room + BLOCK + end.blocks.len() * BLOCK);
        copy_blocks(&mut room[..key_room], key);
        let mut at = key.len;
        at += copy_short(&mut room[at..], head.as_bytes());
        if !tail.is_empty() {
            at += copy_short(&mut room[at..], tail.as_bytes());
        }
        copy_blocks(&mut room[at..], end);
        self.len += at + end.len;
    }

    /// Appends `piece`.
    #[inline]
    pub fn push_str(&mut self, piece: &str) {
        self.push_bytes(piece.as_bytes());
    }

    #[inline]
    pub fn push_bytes(&mut self, piece: &[u8]) {
        self.room(piece.len()).copy_from_slice(piece);
        self.len += piece.len();
    }

    /// Writes zeros past the text's end up to a multiple of [`ALIGN`] bytes
    /// (the text itself unchanged), what a direct write of the text's end
    /// takes; returns the padded length (see [`Self::with_padding`]).
    pub fn pad_to_align(&mut self) -> usize {
        let padded = self.len.next_multiple_of(ALIGN);
        self.room(padded - self.len).fill(0);
        padded
    }

    /// The first `len` bytes of the text and, past its end, of the padding
    /// [`Self::pad_to_align`] wrote.
    pub fn with_padding(&self, len: usize) -> &[u8] {
        &self.pages.bytes()[..len]
    }

    /// Whether the text starts at an [`ALIGN`]ed address.
    #[cfg(test)]
    pub fn is_aligned(&self) -> bool {
        self.as_bytes().as_ptr().addr().is_multiple_of(ALIGN)
    }
}

/// Copies `piece`'s blocks to the start of `to` (room for them all).
#[inline(always)]
fn copy_blocks(to: &mut [u8], piece: &Padded) {
    let (blocks, _) = to.as_chunks_mut::<BLOCK>();
    match (&*piece.blocks, blocks) {
        // A line's end (a timestamp) is one block: no loop.
        ([from], [to, ..]) => *to = *from,
        (from, to) => {
            for (to, from) in to.iter_mut().zip(from) {
                *to = *from;
            }
        }
    }
}

/// Copies `piece` (a [`BLOCK`] or less) to the start of `to`, in two
/// overlapping moves of a power of two's bytes, as `memcpy` would copy it
/// without its call and size dispatch; returns its length. (The moves are
/// whole numbers read and written: copies of slices in the branches would be
/// merged into one call of `memcpy` with the size a variable.)
#[inline(always)]
fn copy_short(to: &mut [u8], piece: &[u8]) -> usize {
    macro_rules! overlapping {
        ($word:ty, $bytes:literal) => {{
            let len = piece.len();
            let (first, last) = (
                <$word>::from_ne_bytes(*piece.first_chunk::<$bytes>().expect("long enough")),
                <$word>::from_ne_bytes(*piece.last_chunk::<$bytes>().expect("long enough")),
            );
            to[..$bytes].copy_from_slice(&first.to_ne_bytes());
            to[len - $bytes..len].copy_from_slice(&last.to_ne_bytes());
        }};
    }
    match piece.len() {
        16.. => overlapping!(u128, 16),
        8..16 => overlapping!(u64, 8),
        4..8 => overlapping!(u32, 4),
        _ => {
            for (to, from) in to.iter_mut().zip(piece) {
                *to = *from;
            }
        }
    }
    piece.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_follow_one_another_without_their_padding() {
        let mut text = Text::with_capacity(8).expect("a text");
        let key = Padded::new("metric_000{host=\"a\"} ");
        let long = "x".repeat(3 * BLOCK + 5);
        let long_padded = Padded::new(&long);
        let mut expected = String::new();
        let end = Padded::new(" 1795910400\n");
        for round in 0..40 {
            // Values of every length a line copies without a call, and
            // longer ones; ends of one block and of several.
            let digits: String = (0..round).map(|at| char::from(b'0' + at as u8)).collect();
            let (head, tail) = digits.split_at(round / 3);
            text.push_padded(&key);
            text.push_padded(&long_padded);
            text.push_padded(&Padded::new(""));
            text.push_str("\n");
            text.push_line(&key, (head, tail), &end);
            text.push_line(&key, (&digits, ""), &long_padded);
            expected.push_str(&format!("metric_000{{host=\"a\"}} {long}\n"));
            expected.push_str(&format!("metric_000{{host=\"a\"}} {digits} 1795910400\n"));
            expected.push_str(&format!("metric_000{{host=\"a\"}} {digits}{long}"));
        }
        assert_eq!(String::from_utf8_lossy(text.as_bytes()), expected);
        assert!(text.is_aligned(), "grown, the text stays aligned");
        text.clear();
        text.push_str("# EOF\n");
        assert_eq!(text.as_bytes(), b"# EOF\n");
        let padded = text.pad_to_align();
        assert_eq!(padded, ALIGN);
        let padded = text.with_padding(padded);
        assert_eq!(&padded[..6], b"# EOF\n");
        assert!(padded[6..].iter().all(|byte| *byte == 0));
        assert_eq!(text.as_bytes(), b"# EOF\n");
    }
}
