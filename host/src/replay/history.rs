//! A replay's samples as OpenMetrics text with timestamps, laid out the way the
//! format asks and `promtool tsdb create-blocks-from openmetrics` reads: family
//! by family, series by series, each series' samples in time order, `# EOF` at
//! the end.
//!
//! Samples arrive instant by instant (every series at once) but are written
//! series by series, so each series keeps its samples until the end, compactly
//! (a time and a value: 16 bytes; a histogram adds its count and buckets), and
//! the text is rendered once, straight into the output. Past a memory limit the
//! kept samples go to an anonymous temporary file (a "spill", every series in
//! output order), and the final write reads each spill's share of a series in
//! turn: memory stays bounded whatever the span.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::sync::Arc;

use crate::mixer::{Exposition, FamilyView, escape, sample_lines, write_sample};
use crate::model::MetricKind;
use crate::sim::{HostId, Journal, Sample, SeriesView, Simulation, VirtualTime};

/// Bytes of samples kept in memory before they are spilled to a temporary file.
pub const DEFAULT_SPILL_BYTES: usize = 256 << 20;

/// Rendered text handed to the output in pieces of about this size.
const WRITE_CHUNK: usize = 64 << 10;

/// Where virtual time zero is on the wall clock, in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin(pub u64);

impl Origin {
    /// `seconds[.fraction]` since the Unix epoch, of `millis` after the origin.
    fn timestamp(self, millis: u64, out: &mut String) {
        out.clear();
        let millis = self.0.saturating_add(millis);
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
    spill_words: usize,
    kept_words: usize,
    samples: u64,
}

struct FamilyOut {
    /// `# HELP ...\n# TYPE ...\n`, OpenMetrics style.
    header: String,
    tracks: std::ops::Range<usize>,
}

/// One series' samples, as words: per sample its virtual time in milliseconds,
/// then the value's bits (gauge, counter), or the sum's bits, the count and
/// each bucket's cumulative count (histogram).
struct Track {
    name: Arc<str>,
    /// The series' labels from a virtual millisecond on: one entry, and one
    /// more per respawn of its host (a new identity, a new series).
    labels: Vec<(u64, Arc<str>)>,
    /// A histogram's bucket bounds (empty for gauges and counters).
    bounds: Arc<[f64]>,
    words: Vec<u64>,
    /// Lines of one sample (a histogram's buckets, sum and count).
    lines: u64,
    /// The instant of the last sample and where its words start: a second
    /// step at one instant replaces the first (one sample per instant).
    last: Option<(VirtualTime, usize)>,
}

impl Track {
    /// Words per sample.
    fn stride(&self) -> usize {
        if self.bounds.is_empty() {
            2
        } else {
            3 + self.bounds.len()
        }
    }

    /// Appends the series' sample as it stands at `time`, read in place.
    fn push(&mut self, time: VirtualTime, series: SeriesView<'_>) {
        self.words.push(time.as_millis());
        match series.histogram() {
            Some((cumulative, sum, count)) => {
                self.words.push(sum.to_bits());
                self.words.push(count);
                self.words.extend_from_slice(cumulative);
            }
            None => self.words.push(series.linked_value().to_bits()),
        }
    }
}

/// Samples of every track, in track order, in a temporary file.
struct Spill {
    file: File,
    /// Words of each track.
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
    /// Times the kept samples went to a temporary file.
    pub spills: usize,
}

impl History {
    /// An empty history of every series of `exposition`, whose series are those
    /// of `sim`, with timestamps counted from `origin`.
    pub fn new(exposition: &Exposition, sim: &Simulation, origin: Origin) -> Self {
        let mut families = Vec::new();
        let mut tracks = Vec::new();
        let mut track_of = vec![None; sim.series().len()];
        for family in exposition.families() {
            let first = tracks.len();
            let name: Arc<str> = family.name.into();
            for member in family.members {
                track_of[member.series.index()] = Some(tracks.len() as u32);
                let sample = sim.series_view(member.series).current();
                let lines = sample_lines(&sample);
                let bounds: Arc<[f64]> = match sample {
                    Sample::Histogram(histogram) => histogram.bounds.into(),
                    Sample::Gauge(_) | Sample::Counter(_) => Arc::new([]),
                };
                tracks.push(Track {
                    name: name.clone(),
                    labels: vec![(0, member.labels.clone())],
                    bounds,
                    words: Vec::new(),
                    lines,
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
            spill_words: DEFAULT_SPILL_BYTES / 8,
            kept_words: 0,
            samples: 0,
        }
    }

    /// The same history, spilling to a temporary file past `bytes` of samples.
    pub fn with_spill_bytes(mut self, bytes: usize) -> Self {
        self.spill_words = (bytes / 8).max(1);
        self
    }

    /// Makes room for the samples of `span` at once (each series' step
    /// interval says how many), up to the spill limit: no regrowing on the way.
    pub fn reserve_for(&mut self, span: VirtualTime, sim: &Simulation) {
        let share = self.spill_words / self.tracks.len().max(1);
        for series in sim.series() {
            let Some(track) = self.track_of[series.id().index()] else {
                continue;
            };
            let track = &mut self.tracks[track as usize];
            let interval = series.metric().update_interval.max(1e-3);
            let samples = (span.as_secs() / interval).min(1e9) as usize + 1;
            track.words.reserve((samples * track.stride()).min(share));
        }
    }

    /// Samples recorded so far, as a Prometheus TSDB counts them (each line: a
    /// histogram's buckets, sum and count are samples of series of their own).
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Takes the labels of `hosts`' series (respawned with a new identity)
    /// from `exposition` as of now: later samples belong to the new series.
    pub fn relabel(&mut self, exposition: &Exposition, sim: &Simulation, hosts: &[HostId]) {
        let now = sim.now().as_millis();
        for host in hosts {
            for series in sim.host(*host).series() {
                let (Some(Some(track)), Some(labels)) = (
                    self.track_of.get(series.id().index()),
                    exposition.labels_of(series.id()),
                ) else {
                    continue;
                };
                self.tracks[*track as usize]
                    .labels
                    .push((now, labels.clone()));
            }
        }
    }

    /// Records the sample of every series that stepped at this instant.
    pub fn record(&mut self, sim: &Simulation, journal: &Journal) -> io::Result<()> {
        let now = sim.now();
        for id in &journal.stepped {
            let Some(track) = self.track_of.get(id.index()).copied().flatten() else {
                continue;
            };
            let track = &mut self.tracks[track as usize];
            let start = match track.last {
                Some((time, start)) if time == now => {
                    self.kept_words -= track.words.len() - start;
                    self.samples -= track.lines;
                    track.words.truncate(start);
                    start
                }
                _ => track.words.len(),
            };
            self.samples += track.lines;
            track.push(now, sim.series_view(*id));
            track.last = Some((now, start));
            self.kept_words += track.words.len() - start;
        }
        if self.kept_words > self.spill_words {
            self.spill()?;
        }
        Ok(())
    }

    /// Moves the kept samples of every track to a temporary file.
    fn spill(&mut self) -> io::Result<()> {
        let mut writer = BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
        let mut lengths = Vec::with_capacity(self.tracks.len());
        for track in &mut self.tracks {
            for word in &track.words {
                writer.write_all(&word.to_le_bytes())?;
            }
            lengths.push(u32::try_from(track.words.len()).map_err(io::Error::other)?);
            // Cleared, not freed: the next stretch fills the same room.
            track.words.clear();
            track.last = None;
        }
        let mut file = writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.rewind()?;
        self.spills.push(Spill { file, lengths });
        self.kept_words = 0;
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
        let mut renderer = Renderer {
            origin: self.origin,
            text: String::with_capacity(WRITE_CHUNK * 2),
            timestamp: String::new(),
            spilled: Vec::new(),
        };
        let mut series = 0;
        for family in &self.families {
            let has_samples = |index: usize| {
                !self.tracks[index].words.is_empty()
                    || readers.iter().any(|(_, lengths)| lengths[index] > 0)
            };
            if !family.tracks.clone().any(has_samples) {
                continue;
            }
            // Through the renderer's text, which may hold the last family's end.
            renderer.text.push_str(&family.header);
            for index in family.tracks.clone() {
                let track = &self.tracks[index];
                let mut any = !track.words.is_empty();
                for (reader, lengths) in &mut readers {
                    let length = lengths[index] as usize;
                    any |= length > 0;
                    renderer.read_spilled(reader, length)?;
                    let words = std::mem::take(&mut renderer.spilled);
                    renderer.render(track, &words, &mut out)?;
                    renderer.spilled = words;
                }
                renderer.render(track, &track.words, &mut out)?;
                series += u64::from(any);
            }
        }
        out.write_all(renderer.text.as_bytes())?;
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

/// Turns a track's words into sample lines, in pieces of [`WRITE_CHUNK`].
struct Renderer {
    origin: Origin,
    text: String,
    timestamp: String,
    /// Words read back from a spill.
    spilled: Vec<u64>,
}

impl Renderer {
    fn read_spilled(&mut self, reader: &mut impl Read, words: usize) -> io::Result<()> {
        self.spilled.clear();
        let mut word = [0u8; 8];
        for _ in 0..words {
            reader.read_exact(&mut word)?;
            self.spilled.push(u64::from_le_bytes(word));
        }
        Ok(())
    }

    fn render(&mut self, track: &Track, words: &[u64], out: &mut impl Write) -> io::Result<()> {
        let mut histogram =
            Sample::histogram(track.bounds.to_vec(), vec![0; track.bounds.len()], 0.0, 0);
        for sample in words.chunks_exact(track.stride()) {
            let identity = track
                .labels
                .partition_point(|(from, _)| *from <= sample[0])
                .saturating_sub(1);
            self.origin.timestamp(sample[0], &mut self.timestamp);
            let value = f64::from_bits(sample[1]);
            let rendered = match &mut histogram {
                Sample::Histogram(kept) if !track.bounds.is_empty() => {
                    kept.sum = value;
                    kept.count = sample[2];
                    kept.cumulative.copy_from_slice(&sample[3..]);
                    &histogram
                }
                _ => &Sample::Gauge(value),
            };
            write_sample(
                &mut self.text,
                &track.name,
                &track.labels[identity].1,
                rendered,
                Some(&self.timestamp),
            );
            if self.text.len() >= WRITE_CHUNK {
                out.write_all(self.text.as_bytes())?;
                self.text.clear();
            }
        }
        Ok(())
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
            Origin(origin).timestamp(millis, &mut out);
            out
        };
        assert_eq!(text(1_700_000_000_000, 0), "1700000000");
        assert_eq!(text(1_700_000_000_000, 15_000), "1700000015");
        assert_eq!(text(1_700_000_000_000, 1_500), "1700000001.5");
        assert_eq!(text(1_700_000_000_250, 10), "1700000000.26");
        assert_eq!(text(0, 7), "0.007");
    }
}
