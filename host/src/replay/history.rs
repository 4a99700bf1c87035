//! A replay's samples as OpenMetrics text with timestamps, laid out the way the
//! format asks and `promtool tsdb create-blocks-from openmetrics` reads: family
//! by family, series by series, each series' samples in time order, `# EOF` at
//! the end.
//!
//! Samples arrive instant by instant (every series at once) but are written
//! series by series. Each instant's samples are appended to a few bins, each
//! holding a run of consecutive series (appends to a few places stay cheap;
//! one place per series would cost a cache and TLB miss per sample). A bin
//! keeps only values (a word; a histogram adds its count and buckets): which
//! series an instant's values belong to is a "layout", the order the series
//! stepped in, kept once however many instants share it. Fresh memory is what
//! a backfill pays most for, so a sample takes 8 bytes. When the text is
//! written, each bin is sorted series by series in one pass and rendered
//! straight into the output. Past a memory limit the kept samples go to an
//! anonymous temporary file (a "spill", series by series), and the final write
//! reads each spill's share of a series in turn: memory stays bounded whatever
//! the span.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::sync::Arc;

use super::text::{Padded, Text, TextOut, Writer};
use crate::mixer::{
    Exposition, FamilyView, ValueText, escape, for_each_line, line_keys, sample_lines,
};
use crate::model::MetricKind;
use crate::sim::{HostId, Journal, Sample, SeriesView, Simulation, Stepped, VirtualTime};

/// Bytes of samples kept in memory before they are spilled to a temporary file.
pub const DEFAULT_SPILL_BYTES: usize = 256 << 20;

/// Room of a text rendered at a time (two huge pages, see [`super::pages`]).
const TEXT_BYTES: usize = 4 << 20;

/// Rendered text handed to the output in pieces of about this size (what is
/// left of a text's room takes the sample that crosses it).
const WRITE_CHUNK: usize = TEXT_BYTES - (64 << 10);

/// Bins samples are kept in, at most; each holds a power of two of series.
const MAX_BINS: usize = 256;

/// Series of a bin, at least.
const MIN_BIN_TRACKS: usize = 64;

/// Where virtual time zero is on the wall clock, in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin(pub u64);

impl Origin {
    /// `seconds[.fraction]` since the Unix epoch, of `millis` after the origin.
    fn timestamp(self, millis: u64, out: &mut String) {
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
    /// What recording needs of each track, read for every sample.
    slots: Vec<Slot>,
    /// Track of each series of the simulation, by series index.
    track_of: Vec<Option<u32>>,
    /// Virtual milliseconds of each instant recorded; samples name their
    /// instant by its index here.
    instants: Vec<u64>,
    /// Samples since the last spill, in bins of `1 << bin_shift` consecutive
    /// tracks.
    bins: Vec<Bin>,
    bin_shift: u32,
    spills: Vec<Spill>,
    spill_words: usize,
    /// Words kept since the last spill, a sample's instant word counted (an
    /// upper bound of its share of the layouts).
    kept_words: usize,
    samples: u64,
}

struct FamilyOut {
    /// `# HELP ...\n# TYPE ...\n`, OpenMetrics style.
    header: String,
    tracks: std::ops::Range<usize>,
}

/// One series of the output.
struct Track {
    name: Arc<str>,
    /// The series' labels from an instant (its index) on: one entry, and one
    /// more per respawn of its host (a new identity, a new series).
    labels: Vec<(u32, Arc<str>)>,
    /// A histogram's bucket bounds (empty for gauges and counters).
    bounds: Arc<[f64]>,
}

/// A track's sample size and its samples since the last spill.
#[derive(Clone, Copy)]
struct Slot {
    /// Words of one sample (see [`words_per_sample`]).
    words: u32,
    /// Lines of text of one sample (a histogram's buckets, sum and count).
    lines: u32,
    /// The instant of the last sample since the last spill (its index plus
    /// one; 0: none) and where its value words start in its bin: a second step
    /// at one instant replaces the first (one sample per instant).
    last_instant: u32,
    last_at: usize,
    /// Words since the last spill, the instant's word of each sample counted.
    kept: usize,
}

impl Slot {
    fn value_words(self) -> usize {
        self.words as usize - 1
    }
}

/// The samples of a run of consecutive tracks since the last spill.
#[derive(Default)]
struct Bin {
    /// Each sample's value words, instant by instant, in layout order.
    values: Vec<u64>,
    /// Each instant with samples here and its layout.
    runs: Vec<(u32, u32)>,
    /// The tracks of this instant's samples so far, in order.
    pending: Vec<u32>,
    /// Every layout seen (tracks in the order they stepped), and its number.
    layouts: HashMap<Vec<u32>, u32>,
    /// The last instant's layout and its tracks (compared without a lookup).
    last: Option<(u32, Vec<u32>)>,
}

impl Bin {
    /// Ends the instant `instant`: its tracks become a run of their layout.
    fn close(&mut self, instant: u32) {
        if self.pending.is_empty() {
            return;
        }
        let layout = match &self.last {
            Some((layout, tracks)) if *tracks == self.pending => *layout,
            _ => {
                let next = self.layouts.len() as u32;
                let layout = *self.layouts.entry(self.pending.clone()).or_insert(next);
                self.last = Some((layout, self.pending.clone()));
                layout
            }
        };
        self.runs.push((instant, layout));
        self.pending.clear();
    }

    /// The layouts by number.
    fn layouts(&self) -> Vec<&[u32]> {
        let mut by_number = vec![&[][..]; self.layouts.len()];
        for (tracks, number) in &self.layouts {
            by_number[*number as usize] = tracks;
        }
        by_number
    }

    /// Forgets the samples, keeping the room and the layouts.
    fn clear(&mut self) {
        self.values.clear();
        self.runs.clear();
    }
}

/// Words of one sample of a series with a histogram's `bounds` (none for
/// gauges and counters): its instant, then the value's bits, or the sum's
/// bits, the count and each bucket's cumulative count.
fn words_per_sample(bounds: &[f64]) -> usize {
    if bounds.is_empty() {
        2
    } else {
        3 + bounds.len()
    }
}

/// Appends the value words of a sample of `slot` (those after its instant's): the
/// stepped `value`'s bits (gauge, counter), or the histogram's sum, count and
/// buckets, read in place from the `series` (only then: reading a series'
/// state costs a cache miss).
fn push_value_words<'a>(
    words: &mut Vec<u64>,
    slot: Slot,
    value: f64,
    series: impl FnOnce() -> SeriesView<'a>,
) {
    let histogram = (slot.words > 2).then(|| series().histogram()).flatten();
    match histogram {
        Some((cumulative, sum, count)) => {
            words.push(sum.to_bits());
            words.push(count);
            words.extend_from_slice(cumulative);
        }
        None => words.push(value.to_bits()),
    }
}

/// Samples of every track, in track order, in a temporary file.
struct Spill {
    file: File,
    /// Words of each track.
    lengths: Vec<usize>,
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
        let mut slots = Vec::new();
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
                slots.push(Slot {
                    words: words_per_sample(&bounds) as u32,
                    lines: lines as u32,
                    last_instant: 0,
                    last_at: 0,
                    kept: 0,
                });
                tracks.push(Track {
                    name: name.clone(),
                    labels: vec![(0, member.labels.clone())],
                    bounds,
                });
            }
            families.push(FamilyOut {
                header: openmetrics_header(&family),
                tracks: first..tracks.len(),
            });
        }
        let per_bin = tracks
            .len()
            .div_ceil(MAX_BINS)
            .max(MIN_BIN_TRACKS)
            .next_power_of_two();
        Self {
            origin,
            families,
            bins: (0..tracks.len().div_ceil(per_bin))
                .map(|_| Bin::default())
                .collect(),
            bin_shift: per_bin.trailing_zeros(),
            tracks,
            slots,
            track_of,
            instants: Vec::new(),
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
        let mut words = vec![0usize; self.bins.len()];
        for series in sim.series() {
            let Some(track) = self.track_of[series.id().index()] else {
                continue;
            };
            let track = track as usize;
            let interval = series.metric().update_interval.max(1e-3);
            let samples = (span.as_secs() / interval).min(1e9) as usize + 1;
            words[track >> self.bin_shift] +=
                (samples * self.slots[track].value_words()).min(share);
        }
        for (bin, words) in self.bins.iter_mut().zip(words) {
            bin.values.reserve(words);
        }
    }

    /// Samples recorded so far, as a Prometheus TSDB counts them (each line: a
    /// histogram's buckets, sum and count are samples of series of their own).
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The index of the instant `now`, the last one recorded or a new one.
    fn instant(&mut self, now: VirtualTime) -> io::Result<u32> {
        let millis = now.as_millis();
        if self.instants.last() != Some(&millis) {
            self.instants.push(millis);
        }
        u32::try_from(self.instants.len() - 1)
            .map_err(|_| io::Error::other("a backfill holds at most 2^32 instants"))
    }

    /// Takes the labels of `hosts`' series (respawned with a new identity)
    /// from `exposition` as of now: later samples belong to the new series.
    pub fn relabel(
        &mut self,
        exposition: &Exposition,
        sim: &Simulation,
        hosts: &[HostId],
    ) -> io::Result<()> {
        let now = self.instant(sim.now())?;
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
        Ok(())
    }

    /// Records the sample of every series that stepped at this instant.
    pub fn record(&mut self, sim: &Simulation, journal: &Journal) -> io::Result<()> {
        let instant = self.instant(sim.now())?;
        for &Stepped { series, value } in &journal.stepped {
            let Some(track) = self.track_of.get(series.index()).copied().flatten() else {
                continue;
            };
            let index = track as usize;
            let bin = &mut self.bins[index >> self.bin_shift];
            let slot = &mut self.slots[index];
            if slot.last_instant == instant + 1 {
                // The sample of this instant so far, replaced in place.
                let mut words = Vec::with_capacity(slot.value_words());
                push_value_words(&mut words, *slot, value, || sim.series_view(series));
                bin.values[slot.last_at..slot.last_at + words.len()].copy_from_slice(&words);
                continue;
            }
            slot.last_instant = instant + 1;
            slot.last_at = bin.values.len();
            slot.kept += slot.words as usize;
            bin.pending.push(track);
            push_value_words(&mut bin.values, *slot, value, || sim.series_view(series));
            self.kept_words += slot.words as usize;
            self.samples += u64::from(slot.lines);
        }
        for bin in &mut self.bins {
            bin.close(instant);
        }
        if self.kept_words > self.spill_words {
            self.spill()?;
        }
        Ok(())
    }

    /// Moves the kept samples of every track to a temporary file.
    fn spill(&mut self) -> io::Result<()> {
        let mut writer = BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
        let mut sorted = Sorted::default();
        for bin in 0..self.bins.len() {
            sorted.sort(self, bin);
            for word in sorted.all() {
                writer.write_all(&word.to_le_bytes())?;
            }
            // Cleared, not freed: the next stretch fills the same room.
            self.bins[bin].clear();
        }
        let mut file = writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.rewind()?;
        let mut lengths = Vec::with_capacity(self.slots.len());
        for slot in &mut self.slots {
            lengths.push(slot.kept);
            slot.kept = 0;
            slot.last_instant = 0;
        }
        self.spills.push(Spill { file, lengths });
        self.kept_words = 0;
        Ok(())
    }

    /// Writes the whole history to `out`, families without samples left out.
    pub fn write(self, out: impl Write) -> io::Result<Written> {
        self.write_to(&mut Writer(out))
    }

    /// Writes the whole history to `out`, a full text at a time.
    pub fn write_to(mut self, out: &mut impl TextOut) -> io::Result<Written> {
        let spills = std::mem::take(&mut self.spills);
        let mut readers: Vec<(BufReader<&File>, &[usize])> = spills
            .iter()
            .map(|spill| {
                (
                    BufReader::with_capacity(1 << 20, &spill.file),
                    &spill.lengths[..],
                )
            })
            .collect();
        let mut renderer = Renderer::new(self.origin, &self.instants)?;
        let mut sorted = Sorted::default();
        let mut series = 0;
        for family in &self.families {
            let has_samples = |index: usize| {
                self.slots[index].kept > 0 || readers.iter().any(|(_, lengths)| lengths[index] > 0)
            };
            if !family.tracks.clone().any(has_samples) {
                continue;
            }
            // Through the renderer's text, which may hold the last family's end.
            renderer.text.push_str(&family.header);
            for index in family.tracks.clone() {
                let track = &self.tracks[index];
                let mut any = false;
                for (reader, lengths) in &mut readers {
                    any |= lengths[index] > 0;
                    renderer.read_spilled(reader, lengths[index])?;
                    let words = std::mem::take(&mut renderer.spilled);
                    renderer.render(track, &words, out)?;
                    renderer.spilled = words;
                }
                let bin = index >> self.bin_shift;
                if sorted.bin != Some(bin) {
                    sorted.sort(&self, bin);
                }
                let words = sorted.of(index);
                any |= !words.is_empty();
                renderer.render(track, words, out)?;
                series += u64::from(any);
            }
        }
        renderer.text.push_str("# EOF\n");
        renderer.bytes += renderer.text.len() as u64;
        out.finish(&mut renderer.text)?;
        Ok(Written {
            series,
            samples: self.samples,
            bytes: renderer.bytes,
            spills: readers.len(),
        })
    }
}

/// One bin's kept samples, track by track (each track's in time order), with
/// the instant alone in each sample's first word.
#[derive(Default)]
struct Sorted {
    bin: Option<usize>,
    first_track: usize,
    /// The sorted words, then what is left of an earlier, larger bin's.
    words: Vec<u64>,
    /// Where each track of the bin starts in `words`, and where the last ends.
    starts: Vec<usize>,
}

impl Sorted {
    /// Sorts bin `bin` of `history` by track, in one pass (a counting sort:
    /// each track's room is known from its kept words).
    fn sort(&mut self, history: &History, bin: usize) {
        let first = bin << history.bin_shift;
        let tracks = first..((bin + 1) << history.bin_shift).min(history.tracks.len());
        self.bin = Some(bin);
        self.first_track = first;
        self.starts.clear();
        self.starts.push(0);
        let mut end = 0;
        let mut value_words = Vec::with_capacity(tracks.len());
        for track in tracks {
            end += history.slots[track].kept;
            self.starts.push(end);
            value_words.push(history.slots[track].value_words());
        }
        // Grown, never cleared: the sort writes every word up to `end`.
        if self.words.len() < end {
            self.words.resize(end, 0);
        }
        let mut next = self.starts.clone();
        let bin = &history.bins[bin];
        let layouts = bin.layouts();
        // Locals, so that the stores into `words` are not taken for stores
        // into what the loop reads.
        let (words, values) = (&mut self.words[..end], &bin.values[..]);
        let mut at = 0;
        if value_words.iter().all(|&length| length == 1) {
            // Gauges and counters: a value is one word.
            for &(instant, layout) in &bin.runs {
                for &track in layouts[layout as usize] {
                    let to = &mut next[track as usize - first];
                    words[*to..*to + 2].copy_from_slice(&[u64::from(instant), values[at]]);
                    *to += 2;
                    at += 1;
                }
            }
            return;
        }
        for &(instant, layout) in &bin.runs {
            for &track in layouts[layout as usize] {
                let slot = track as usize - first;
                let length = value_words[slot];
                let to = &mut next[slot];
                words[*to] = u64::from(instant);
                if length == 1 {
                    // A gauge's or a counter's value beside histograms: one
                    // word, without a call to `memcpy`.
                    words[*to + 1] = values[at];
                } else {
                    words[*to + 1..*to + 1 + length].copy_from_slice(&values[at..at + length]);
                }
                *to += 1 + length;
                at += length;
            }
        }
    }

    /// The words of every track of the sorted bin, in order.
    fn all(&self) -> &[u64] {
        &self.words[..self.starts.last().copied().unwrap_or(0)]
    }

    /// The words of `track`, which is in the sorted bin.
    fn of(&self, track: usize) -> &[u64] {
        let slot = track - self.first_track;
        &self.words[self.starts[slot]..self.starts[slot + 1]]
    }
}

/// Every instant's line end (` timestamp\n`, what follows a line's value),
/// rendered once.
struct Timestamps {
    ends: Vec<Padded>,
}

impl Timestamps {
    fn new(origin: Origin, instants: &[u64]) -> Self {
        let mut text = String::new();
        let ends = instants
            .iter()
            .map(|millis| {
                text.clear();
                text.push(' ');
                origin.timestamp(*millis, &mut text);
                text.push('\n');
                Padded::new(&text)
            })
            .collect();
        Self { ends }
    }

    fn line_end(&self, instant: u64) -> &Padded {
        &self.ends[instant as usize]
    }
}

/// Turns a track's words into sample lines, in pieces of [`WRITE_CHUNK`].
struct Renderer {
    text: Text,
    values: ValueText,
    /// A second value's text, formatted while the first waits to be copied.
    next_values: ValueText,
    /// Bytes of text handed to the output so far.
    bytes: u64,
    timestamps: Timestamps,
    /// Words read back from a spill.
    spilled: Vec<u64>,
    spill_bytes: Vec<u8>,
}

impl Renderer {
    fn new(origin: Origin, instants: &[u64]) -> io::Result<Self> {
        Ok(Self {
            text: Text::with_capacity(TEXT_BYTES)?,
            values: ValueText::default(),
            next_values: ValueText::default(),
            bytes: 0,
            timestamps: Timestamps::new(origin, instants),
            spilled: Vec::new(),
            spill_bytes: Vec::new(),
        })
    }

    fn read_spilled(&mut self, reader: &mut impl Read, words: usize) -> io::Result<()> {
        self.spill_bytes.resize(words * 8, 0);
        reader.read_exact(&mut self.spill_bytes)?;
        self.spilled.clear();
        self.spilled.extend(
            self.spill_bytes
                .chunks_exact(8)
                .map(|word| u64::from_le_bytes(word.try_into().expect("8 bytes"))),
        );
        Ok(())
    }

    /// Renders a track's words, identity by identity: the samples from an
    /// identity's first instant on take its keys.
    fn render(&mut self, track: &Track, words: &[u64], out: &mut impl TextOut) -> io::Result<()> {
        let stride = words_per_sample(&track.bounds);
        let samples = words.len() / stride;
        let instant_of = |sample: usize| words[sample * stride];
        let mut from = 0;
        for identity in 0..track.labels.len() {
            let until = match track.labels.get(identity + 1) {
                Some(&(first, _)) => {
                    let first = u64::from(first);
                    from + (from..samples)
                        .take_while(|&sample| instant_of(sample) < first)
                        .count()
                }
                None => samples,
            };
            let piece = &words[from * stride..until * stride];
            if !piece.is_empty() {
                if track.bounds.is_empty() {
                    let key = spaced_keys(track, identity, None).swap_remove(0);
                    self.render_plain(&key, piece, out)?;
                } else {
                    self.render_histograms(track, identity, piece, out)?;
                }
            }
            from = until;
        }
        Ok(())
    }

    /// Lines of a gauge's or a counter's samples, `[instant, value]` each.
    fn render_plain(
        &mut self,
        key: &Padded,
        words: &[u64],
        out: &mut impl TextOut,
    ) -> io::Result<()> {
        let (samples, _) = words.as_chunks::<2>();
        let Some((&[first_instant, first_value], rest)) = samples.split_first() else {
            return Ok(());
        };
        // Each value is formatted a value ahead of its line: its digits, read
        // back at once, would still wait in the store buffer.
        let (even, odd) = (&mut self.values, &mut self.next_values);
        let timestamps = &self.timestamps;
        let line = |text: &mut Text, (value, instant): ((&str, &str), u64)| {
            text.push_line(key, value, timestamps.line_end(instant));
        };
        let mut waiting = (even.format(f64::from_bits(first_value)), first_instant);
        let (pairs, last) = rest.as_chunks::<2>();
        for &[[instant, value], [next_instant, next_value]] in pairs {
            let second = (odd.format(f64::from_bits(value)), instant);
            line(&mut self.text, waiting);
            waiting = (even.format(f64::from_bits(next_value)), next_instant);
            line(&mut self.text, second);
            if self.text.len() >= WRITE_CHUNK {
                Self::hand_over(&mut self.text, &mut self.bytes, out)?;
            }
        }
        if let [[instant, value]] = *last {
            let second = (odd.format(f64::from_bits(value)), instant);
            line(&mut self.text, waiting);
            waiting = second;
        }
        line(&mut self.text, waiting);
        self.hand_over_full(out)
    }

    /// Lines of a histogram's samples of one identity (its buckets, sum and
    /// count each).
    fn render_histograms(
        &mut self,
        track: &Track,
        identity: usize,
        words: &[u64],
        out: &mut impl TextOut,
    ) -> io::Result<()> {
        let bounds = track.bounds.len();
        // Refilled for each sample to take its lines from.
        let mut current = Sample::histogram(track.bounds.to_vec(), vec![0; bounds], 0.0, 0);
        let keys = spaced_keys(track, identity, Some(&current));
        for sample in words.chunks_exact(words_per_sample(&track.bounds)) {
            if let Sample::Histogram(kept) = &mut current {
                kept.sum = f64::from_bits(sample[1]);
                kept.count = sample[2];
                kept.cumulative.copy_from_slice(&sample[3..]);
            }
            let line_end = self.timestamps.line_end(sample[0]);
            let mut key = keys.iter();
            let (text, values) = (&mut self.text, &mut self.values);
            for_each_line(&current, |_, _, value| {
                let key = key.next().expect("a key for each line");
                text.push_line(key, values.format(value), line_end);
            });
            self.hand_over_full(out)?;
        }
        Ok(())
    }

    /// Hands the text to `out` once it holds a [`WRITE_CHUNK`].
    #[inline(always)]
    fn hand_over_full(&mut self, out: &mut impl TextOut) -> io::Result<()> {
        if self.text.len() >= WRITE_CHUNK {
            Self::hand_over(&mut self.text, &mut self.bytes, out)?;
        }
        Ok(())
    }

    /// Hands `text` to `out`, counting what went into `bytes` (fields apart,
    /// for a caller holding the value texts' borrows).
    fn hand_over(text: &mut Text, bytes: &mut u64, out: &mut impl TextOut) -> io::Result<()> {
        let full = text.len();
        out.take(text)?;
        *bytes += (full - text.len()) as u64;
        Ok(())
    }
}

/// What each line of a sample of `track` (as of its `identity`, shaped like
/// `histogram`, else a gauge's) has before its value, a space included.
fn spaced_keys(track: &Track, identity: usize, histogram: Option<&Sample>) -> Vec<Padded> {
    let shape = histogram.unwrap_or(&Sample::Gauge(0.0));
    line_keys(&track.name, &track.labels[identity].1, shape)
        .into_iter()
        .map(|mut key| {
            key.push(' ');
            Padded::new(&key)
        })
        .collect()
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
