//! A replay's samples as OpenMetrics text with timestamps, laid out the way the
//! format asks and `promtool tsdb create-blocks-from openmetrics` reads: family
//! by family, series by series, each series' samples in time order, `# EOF` at
//! the end.
//!
//! Samples arrive instant by instant (every series at once), but are written
//! series by series, so they are kept per series until the end. Past a memory
//! limit, the kept text goes to an anonymous temporary file (a "spill", every
//! series in output order) and the final write reads each spill's share of a
//! series in turn: memory stays bounded whatever the span.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

use crate::mixer::{Exposition, FamilyView, escape, sample_lines, write_sample};
use crate::model::MetricKind;
use crate::sim::{Journal, Simulation, VirtualTime};

/// Text kept in memory before it is spilled to a temporary file.
pub const DEFAULT_SPILL_BYTES: usize = 256 << 20;

/// Where virtual time zero is on the wall clock, in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin(pub u64);

impl Origin {
    /// `seconds[.fraction]` since the Unix epoch: the timestamp of `time`.
    fn timestamp(self, time: VirtualTime, out: &mut String) {
        out.clear();
        let millis = self.0.saturating_add(time.as_millis());
        out.push_str(itoa::Buffer::new().format(millis / 1000));
        let fraction = millis % 1000;
        if fraction != 0 {
            let digits = format!(".{fraction:03}");
            out.push_str(digits.trim_end_matches('0'));
        }
    }
}

/// The series of an exposition, with their samples so far.
pub struct History {
    origin: Origin,
    families: Vec<FamilyOut>,
    tracks: Vec<Track>,
    /// Track of each series of the simulation, by series index.
    track_of: Vec<Option<u32>>,
    spills: Vec<Spill>,
    spill_bytes: usize,
    kept_bytes: usize,
    samples: u64,
    /// The timestamp text of the instant being recorded.
    timestamp: String,
}

struct FamilyOut {
    /// `# HELP ...\n# TYPE ...\n`, OpenMetrics style.
    header: String,
    tracks: std::ops::Range<usize>,
}

struct Track {
    name: String,
    labels: std::sync::Arc<str>,
    /// Sample lines not yet spilled.
    text: String,
    /// The instant of the last sample, where its text starts and its lines: a
    /// second step at one instant replaces the first (one sample per instant).
    last: Option<(VirtualTime, usize, u64)>,
}

/// Text of every track, in track order, in a temporary file.
struct Spill {
    file: File,
    /// Bytes of each track.
    lengths: Vec<u32>,
}

/// What [`History::write`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// The emulator's series (a histogram is one).
    pub series: u64,
    /// Lines with a value: samples as a Prometheus TSDB counts them.
    pub samples: u64,
    pub bytes: u64,
    /// Times the kept text went to a temporary file.
    pub spills: usize,
}

impl History {
    /// An empty history of every series of `exposition` (of a simulation with
    /// `series_count` series), with timestamps counted from `origin`.
    pub fn new(exposition: &Exposition, series_count: usize, origin: Origin) -> Self {
        let mut families = Vec::new();
        let mut tracks = Vec::new();
        let mut track_of = vec![None; series_count];
        for family in exposition.families() {
            let first = tracks.len();
            for member in family.members {
                track_of[member.series.index()] = Some(tracks.len() as u32);
                tracks.push(Track {
                    name: family.name.to_string(),
                    labels: member.labels.clone(),
                    text: String::new(),
                    last: None,
                });
            }
            families.push(FamilyOut {
                header: openmetrics_header(&family),
                tracks: first..tracks.len(),
            });
        }
        Self {
            origin,
            families,
            tracks,
            track_of,
            spills: Vec::new(),
            spill_bytes: DEFAULT_SPILL_BYTES,
            kept_bytes: 0,
            samples: 0,
            timestamp: String::new(),
        }
    }

    /// The same history, spilling to a temporary file past `bytes` of text.
    pub fn with_spill_bytes(mut self, bytes: usize) -> Self {
        self.spill_bytes = bytes.max(1);
        self
    }

    /// Samples recorded so far, as a Prometheus TSDB counts them (each line: a
    /// histogram's buckets, sum and count are samples of series of their own).
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Records the sample of every series that stepped at this instant.
    pub fn record(&mut self, sim: &Simulation, journal: &Journal) -> io::Result<()> {
        let now = sim.now();
        self.origin.timestamp(now, &mut self.timestamp);
        for id in &journal.stepped {
            let Some(track) = self.track_of.get(id.index()).copied().flatten() else {
                continue;
            };
            let track = &mut self.tracks[track as usize];
            let start = match track.last {
                Some((time, start, lines)) if time == now => {
                    self.kept_bytes -= track.text.len() - start;
                    self.samples -= lines;
                    track.text.truncate(start);
                    start
                }
                _ => track.text.len(),
            };
            let sample = sim.series_view(*id).current();
            let lines = sample_lines(&sample);
            self.samples += lines;
            write_sample(
                &mut track.text,
                &track.name,
                &track.labels,
                &sample,
                Some(&self.timestamp),
            );
            track.last = Some((now, start, lines));
            self.kept_bytes += track.text.len() - start;
        }
        if self.kept_bytes > self.spill_bytes {
            self.spill()?;
        }
        Ok(())
    }

    /// Moves the kept text of every track to a temporary file.
    fn spill(&mut self) -> io::Result<()> {
        let mut writer = BufWriter::new(tempfile::tempfile()?);
        let mut lengths = Vec::with_capacity(self.tracks.len());
        for track in &mut self.tracks {
            writer.write_all(track.text.as_bytes())?;
            lengths.push(u32::try_from(track.text.len()).map_err(io::Error::other)?);
            track.text = String::new();
            track.last = None;
        }
        let mut file = writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.rewind()?;
        self.spills.push(Spill { file, lengths });
        self.kept_bytes = 0;
        Ok(())
    }

    /// Writes the whole history to `out`, families without samples left out.
    pub fn write(self, out: impl Write) -> io::Result<Written> {
        let mut out = CountingWriter {
            inner: BufWriter::with_capacity(1 << 20, out),
            bytes: 0,
        };
        let mut readers: Vec<(BufReader<File>, Vec<u32>)> = self
            .spills
            .into_iter()
            .map(|spill| (BufReader::with_capacity(1 << 20, spill.file), spill.lengths))
            .collect();
        let mut series = 0;
        for family in &self.families {
            let tracks = &self.tracks[family.tracks.clone()];
            let has_samples = |index: usize| {
                !tracks[index - family.tracks.start].text.is_empty()
                    || readers.iter().any(|(_, lengths)| lengths[index] > 0)
            };
            if !family.tracks.clone().any(has_samples) {
                continue;
            }
            out.write_all(family.header.as_bytes())?;
            for (index, track) in family.tracks.clone().zip(tracks) {
                let mut any = !track.text.is_empty();
                for (reader, lengths) in &mut readers {
                    let length = u64::from(lengths[index]);
                    any |= length > 0;
                    let copied = io::copy(&mut reader.by_ref().take(length), &mut out)?;
                    if copied != length {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "a temporary file of the backfill ended early",
                        ));
                    }
                }
                out.write_all(track.text.as_bytes())?;
                series += u64::from(any);
            }
        }
        out.write_all(b"# EOF\n")?;
        out.flush()?;
        Ok(Written {
            series,
            samples: self.samples,
            bytes: out.bytes,
            spills: readers.len(),
        })
    }
}

/// `# HELP` and `# TYPE` of a family in OpenMetrics: a counter's family is its
/// name without `_total`; a counter named otherwise is `unknown`, so its samples
/// keep the name they have on `/metrics` and at the Pushgateway.
fn openmetrics_header(family: &FamilyView<'_>) -> String {
    let (name, kind) = match family.kind {
        MetricKind::Gauge => (family.name, "gauge"),
        MetricKind::Histogram => (family.name, "histogram"),
        MetricKind::Counter => match family.name.strip_suffix("_total") {
            Some(stem) if !stem.is_empty() => (stem, "counter"),
            _ => (family.name, "unknown"),
        },
    };
    format!(
        "# HELP {name} {help}\n# TYPE {name} {kind}\n",
        help = escape(family.help, true)
    )
}

/// Counts the bytes written through it.
struct CountingWriter<W: Write> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_seconds_with_the_fraction_they_need() {
        let text = |origin: u64, millis: u64| {
            let mut out = String::new();
            Origin(origin).timestamp(VirtualTime::from_millis(millis), &mut out);
            out
        };
        assert_eq!(text(1_700_000_000_000, 0), "1700000000");
        assert_eq!(text(1_700_000_000_000, 15_000), "1700000015");
        assert_eq!(text(1_700_000_000_000, 1_500), "1700000001.5");
        assert_eq!(text(1_700_000_000_250, 10), "1700000000.26");
        assert_eq!(text(0, 7), "0.007");
    }
}
