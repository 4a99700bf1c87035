//! The Prometheus text exposition format, written directly: each series' labels
//! are rendered once, when the mixer is built (shared by the series of a host
//! that add no labels of their own), and a snapshot writes names, label blocks
//! and values straight into one buffer. The output is the format
//! `prometheus::TextEncoder` writes: `# HELP` and `# TYPE` per family, series in
//! host order, histogram buckets with `le` last, values as Rust prints them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::model::{MetricConfig, MetricKind};
use crate::sim::{HistogramSample, HostView, Reports, Sample, SeriesId, SeriesView, Simulation};

/// The series of one exposition (a job's push body, or every job's series for
/// the scrape endpoint), grouped into metric families.
#[derive(Debug, Default)]
pub struct Exposition {
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
    /// Length of the last text written, to allocate the next one at once.
    last_len: AtomicUsize,
    /// Where each series sits (family, member), built when a host is relabelled.
    member_index: Option<HashMap<SeriesId, (usize, usize)>>,
}

#[derive(Debug)]
struct Family {
    name: String,
    kind: MetricKind,
    help: String,
    /// `# HELP ...\n# TYPE ...\n`
    header: String,
    members: Vec<Member>,
}

/// One series of a family, with its labels rendered.
#[derive(Debug)]
pub struct Member {
    pub series: SeriesId,
    /// `a="x",b="y"`: the labels inside the braces, escaped.
    pub labels: Arc<str>,
}

/// A metric family of an [`Exposition`], for writers of other formats.
#[derive(Debug, Clone, Copy)]
pub struct FamilyView<'a> {
    pub name: &'a str,
    pub kind: MetricKind,
    /// The metric's description, or its name when it has none (unescaped).
    pub help: &'a str,
    pub members: &'a [Member],
}

impl Exposition {
    /// Adds every series of `host`, each labelled with the host's labels, the
    /// metric's, and `extra` (such as the job) where given.
    pub fn add_host(&mut self, host: HostView<'_>, extra: Option<(&str, &str)>) {
        for (series, labels) in rendered_labels(host, extra) {
            let family = self.family(series.metric());
            self.families[family].members.push(Member {
                series: series.id(),
                labels,
            });
        }
        self.member_index = None;
    }

    /// Renders the labels of `host`'s series again, after it respawned with a
    /// new identity (its series were added with [`Self::add_host`]).
    pub fn relabel_host(&mut self, host: HostView<'_>, extra: Option<(&str, &str)>) {
        let families = &self.families;
        let index = self.member_index.get_or_insert_with(|| {
            let mut index = HashMap::new();
            for (family, members) in families.iter().enumerate() {
                for (member, entry) in members.members.iter().enumerate() {
                    index.insert(entry.series, (family, member));
                }
            }
            index
        });
        for (series, labels) in rendered_labels(host, extra) {
            if let Some(&(family, member)) = index.get(&series.id()) {
                self.families[family].members[member].labels = labels;
            }
        }
    }

    /// The rendered labels of `series`, if it is one of this exposition's.
    pub fn labels_of(&self, series: SeriesId) -> Option<&Arc<str>> {
        match &self.member_index {
            Some(index) => index
                .get(&series)
                .map(|&(family, member)| &self.families[family].members[member].labels),
            None => self
                .families
                .iter()
                .flat_map(|family| &family.members)
                .find(|member| member.series == series)
                .map(|member| &member.labels),
        }
    }

    fn family(&mut self, metric: &MetricConfig) -> usize {
        if let Some(&index) = self.by_name.get(&metric.name) {
            return index;
        }
        let help = if metric.description.is_empty() {
            metric.name.clone()
        } else {
            metric.description.clone()
        };
        let kind = match metric.kind {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
            MetricKind::Histogram => "histogram",
        };
        let header = format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n",
            name = metric.name,
            help = escape(&help, false)
        );
        self.families.push(Family {
            name: metric.name.clone(),
            kind: metric.kind,
            help: help.clone(),
            header,
            members: Vec::new(),
        });
        self.by_name
            .insert(metric.name.clone(), self.families.len() - 1);
        self.families.len() - 1
    }

    /// Every family, in exposition order.
    pub fn families(&self) -> impl ExactSizeIterator<Item = FamilyView<'_>> {
        self.families.iter().map(|family| FamilyView {
            name: &family.name,
            kind: family.kind,
            help: &family.help,
            members: &family.members,
        })
    }

    /// The text of every reported series of `sim`; families without a reported
    /// series are left out.
    ///
    /// A large exposition (from [`PARALLEL_TEXT_FROM`] series) is written on
    /// two threads: see [`Self::text_on_threads`].
    pub fn text(&self, sim: &Simulation) -> String {
        let threads = if self.series_count() >= PARALLEL_TEXT_FROM {
            2
        } else {
            1
        };
        self.text_on_threads(sim, threads)
    }

    /// Series in the exposition, reported or not.
    fn series_count(&self) -> usize {
        self.families
            .iter()
            .map(|family| family.members.len())
            .sum()
    }

    /// The text of [`Self::text`], written on one thread or (for `threads` of
    /// 2 or more) on two, each taking whole families, about half the series
    /// each; the text is the same either way.
    pub fn text_on_threads(&self, sim: &Simulation, threads: usize) -> String {
        let last_len = self.last_len.load(Ordering::Relaxed);
        let split = if threads >= 2 {
            self.halfway()
        } else {
            self.families.len()
        };
        let (first, second) = self.families.split_at(split);
        let reports = sim.reports();
        let mut out = String::with_capacity(last_len + 4096);
        if first.is_empty() || second.is_empty() {
            write_families(&self.families, reports, &mut out);
        } else {
            let tail = std::thread::scope(|scope| {
                let tail = scope.spawn(|| {
                    let mut tail = String::with_capacity(last_len / 2 + 4096);
                    write_families(second, reports, &mut tail);
                    tail
                });
                write_families(first, reports, &mut out);
                tail.join().expect("an exposition-writing thread panicked")
            });
            out.push_str(&tail);
        }
        self.last_len.store(out.len(), Ordering::Relaxed);
        out
    }

    /// The family that starts the second half of the series (families whole).
    fn halfway(&self) -> usize {
        let total = self.series_count();
        let mut before = 0;
        for (index, family) in self.families.iter().enumerate() {
            if before + family.members.len() / 2 >= total / 2 {
                return index;
            }
            before += family.members.len();
        }
        self.families.len()
    }
}

/// Series from which an exposition's text is written on two threads.
pub const PARALLEL_TEXT_FROM: usize = 200_000;

/// Writes the reported series of `families`, each family's header before its
/// first reported series; families without one are left out.
fn write_families(families: &[Family], reports: Reports<'_>, out: &mut String) {
    for family in families {
        let mut started = false;
        for member in &family.members {
            let Some(sample) = reports.of(member.series) else {
                continue;
            };
            if !started {
                out.push_str(&family.header);
                started = true;
            }
            write_sample(out, &family.name, &member.labels, sample);
        }
    }
}

/// The lines of one sample of the series `name{labels}`.
fn write_sample(out: &mut String, name: &str, labels: &str, sample: &Sample) {
    let mut bound_text = String::new();
    for_each_line(sample, |suffix, bound, value| {
        let le = bound.map(|bound| {
            bound_text.clear();
            push_value(&mut bound_text, bound);
            bound_text.as_str()
        });
        push_series_key(out, name, suffix, labels, le);
        push_line_end(out, value);
    });
}

/// Each line of `sample` in exposition order, as (name suffix, `le` bound of a
/// histogram bucket, value): one for a gauge or counter; a histogram's buckets
/// (`+Inf` included), `_sum` and `_count`, each a series to a Prometheus TSDB.
pub(crate) fn for_each_line(sample: &Sample, mut line: impl FnMut(&'static str, Option<f64>, f64)) {
    match sample {
        Sample::Gauge(value) | Sample::Counter(value) => line("", None, *value),
        Sample::Histogram(histogram) => {
            let HistogramSample {
                bounds,
                cumulative,
                sum,
                count,
            } = &**histogram;
            for (bound, bucket) in bounds.iter().zip(cumulative) {
                line("_bucket", Some(*bound), *bucket as f64);
            }
            if !bounds.last().is_some_and(|bound| *bound == f64::INFINITY) {
                line("_bucket", Some(f64::INFINITY), *count as f64);
            }
            line("_sum", None, *sum);
            line("_count", None, *count as f64);
        }
    }
}

/// How many lines [`write_sample`] writes for `sample`.
pub(crate) fn sample_lines(sample: &Sample) -> u64 {
    let mut lines = 0;
    for_each_line(sample, |_, _, _| lines += 1);
    lines
}

/// A value as the exposition writes it (`50`, `0.25`, `+Inf`): the text of a
/// histogram bucket's `le` label.
pub(crate) fn value_text(value: f64) -> String {
    let mut text = String::new();
    push_value(&mut text, value);
    text
}

/// `name<suffix>{labels[,le="<le>"]}`: what a line has before its value.
fn push_series_key(out: &mut String, name: &str, suffix: &str, labels: &str, le: Option<&str>) {
    out.push_str(name);
    out.push_str(suffix);
    match (labels.is_empty(), le) {
        (true, None) => {}
        (false, None) => {
            out.push('{');
            out.push_str(labels);
            out.push('}');
        }
        (empty, Some(le)) => {
            out.push('{');
            out.push_str(labels);
            if !empty {
                out.push(',');
            }
            out.push_str("le=\"");
            out.push_str(le);
            out.push_str("\"}");
        }
    }
}

/// What each line of a sample shaped like `sample` of the series
/// `name{labels}` has before its value, in [`for_each_line`] order
/// (`name{labels}`, or `name_bucket{labels,le="0.5"}`, ..., `name_sum{labels}`,
/// `name_count{labels}`): for writers that render these once and end each
/// line with its value.
pub(crate) fn line_keys(name: &str, labels: &str, sample: &Sample) -> Vec<String> {
    let mut keys = Vec::new();
    for_each_line(sample, |suffix, bound, _| {
        let mut key = String::with_capacity(name.len() + labels.len() + 24);
        let le = bound.map(value_text);
        push_series_key(&mut key, name, suffix, labels, le.as_deref());
        keys.push(key);
    });
    keys
}

/// ` value\n`: the end of a line after its series key.
fn push_line_end(out: &mut String, value: f64) {
    out.push(' ');
    push_value(out, value);
    out.push('\n');
}

/// The value in the shortest text that reads back as the same number: whole
/// numbers without a fraction (`50`, as Rust and the `prometheus` crate print
/// them), others in the shortest digits (`12.5`, `1.5e-7`, `1e22`: `zmij`'s
/// text, which is `ryu`'s but for a `+` in positive exponents, left out here),
/// `+Inf`, `-Inf`, `NaN`.
pub(crate) fn push_value(out: &mut String, value: f64) {
    let mut text = ValueText::default();
    let (head, tail) = text.format(value);
    out.push_str(head);
    out.push_str(tail);
}

/// Buffers the text of a value is formatted in (see [`push_value`]).
#[derive(Default)]
pub(crate) struct ValueText {
    integer: itoa::Buffer,
    float: zmij::Buffer,
}

impl ValueText {
    /// The text [`push_value`] writes for `value`, in two pieces: the second
    /// is empty but where an exponent's `+` was left out.
    #[inline(always)]
    pub(crate) fn format(&mut self, value: f64) -> (&str, &str) {
        // A whole number below 1e15 is exactly its `i64` (NaN and infinities
        // are never below). Added to 2^52, a number below it is rounded to a
        // whole one: it comes back unchanged only if it was whole. (A
        // saturating `as i64` and back took twice the instructions, `fract` a
        // call to `trunc`.)
        const WHOLE: f64 = (1u64 << 52) as f64;
        let magnitude = value.abs();
        if magnitude < 1e15 && (magnitude + WHOLE) - WHOLE == magnitude {
            if value == 0.0 && value.is_sign_negative() {
                ("-0", "")
            } else {
                (self.integer.format(value as i64), "")
            }
        } else if value.is_finite() {
            let digits = self.float.format_finite(value);
            // Only numbers from 1e16 on are written with an exponent's `+`.
            match (value.abs() >= 1e16).then(|| digits.find('+')).flatten() {
                Some(plus) => (&digits[..plus], &digits[plus + 1..]),
                None => (digits, ""),
            }
        } else if value.is_nan() {
            ("NaN", "")
        } else if value > 0.0 {
            ("+Inf", "")
        } else {
            ("-Inf", "")
        }
    }
}

/// Each series of `host` with its labels rendered: the host's, the metric's,
/// and `extra` where given (series without labels of their own share one text).
fn rendered_labels<'a>(
    host: HostView<'a>,
    extra: Option<(&str, &str)>,
) -> impl Iterator<Item = (SeriesView<'a>, Arc<str>)> + 'a {
    let with_extra = move |mut labels: BTreeMap<String, String>| -> Arc<str> {
        if let Some((name, value)) = extra {
            labels.insert(name.into(), value.into());
        }
        render_labels(&labels).into()
    };
    let host_labels = with_extra(host.config().host_labels());
    let per_series: Vec<(SeriesView<'a>, Arc<str>)> = host
        .series()
        .map(|series| {
            let metric = series.metric();
            let labels = if metric.labels.is_empty() {
                host_labels.clone()
            } else {
                with_extra(host.config().series_labels(metric))
            };
            (series, labels)
        })
        .collect();
    per_series.into_iter()
}

/// `a="x",b="y"` with values escaped.
fn render_labels(labels: &BTreeMap<String, String>) -> String {
    let mut text = String::new();
    for (name, value) in labels {
        if !text.is_empty() {
            text.push(',');
        }
        text.push_str(name);
        text.push_str("=\"");
        text.push_str(&escape(value, true));
        text.push('"');
    }
    text
}

/// Escapes `\` and newlines (and `"` in label values), as the format asks.
pub(crate) fn escape(text: &str, quotes: bool) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '"' if quotes => escaped.push_str("\\\""),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_as_the_same_number() {
        let text = |value: f64| {
            let mut out = String::new();
            push_value(&mut out, value);
            out
        };
        for value in [
            0.0,
            -0.0,
            50.0,
            12.5,
            -3.0,
            1e20,
            1.5e-7,
            0.1 + 0.2,
            123456789.0,
            0.5,
            2.5,
            -7.0,
            999_999_999_999_999.0,
            1e15,
            4_503_599_627_370_497.0,
            5e-324,
        ] {
            let written = text(value);
            let read: f64 = written.parse().unwrap();
            assert_eq!(read.to_bits(), value.to_bits(), "{value} as {written}");
        }
        assert_eq!(text(50.0), "50");
        assert_eq!(text(12.5), "12.5");
        // Whole numbers below 1e15 as integers, halves (which round to an
        // even whole number on the way) as fractions.
        assert_eq!(text(-7.0), "-7");
        assert_eq!(text(999_999_999_999_999.0), "999999999999999");
        assert_eq!(text(0.5), "0.5");
        assert_eq!(text(2.5), "2.5");
        assert_eq!(text(-0.5), "-0.5");
        // Exponents as before (ryu's text): no `+`.
        assert_eq!(text(1e20), "1e20");
        assert_eq!(text(-4.2e39), "-4.2e39");
        assert_eq!(text(1.5e-7), "1.5e-7");
        assert_eq!(text(f64::INFINITY), "+Inf");
        assert_eq!(text(f64::NEG_INFINITY), "-Inf");
        assert_eq!(text(f64::NAN), "NaN");
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape("a\\b\n\"c\"", true), "a\\\\b\\n\\\"c\\\"");
        assert_eq!(escape("say \"hi\"", false), "say \"hi\"");
        let labels = BTreeMap::from([
            ("b".to_string(), "2".to_string()),
            ("a".into(), "x\"y".into()),
        ]);
        assert_eq!(render_labels(&labels), "a=\"x\\\"y\",b=\"2\"");
    }

    /// The same series through `prometheus::TextEncoder`, the reference.
    fn reference(
        name: &str,
        help: &str,
        labels: &BTreeMap<String, String>,
        sample: &Sample,
    ) -> String {
        use prometheus::proto;
        let mut family = proto::MetricFamily::default();
        family.set_name(name.into());
        family.set_help(help.into());
        let mut metric = proto::Metric::default();
        metric.set_label(
            labels
                .iter()
                .map(|(name, value)| {
                    let mut pair = proto::LabelPair::default();
                    pair.set_name(name.clone());
                    pair.set_value(value.clone());
                    pair
                })
                .collect(),
        );
        match sample {
            Sample::Gauge(value) => {
                family.set_field_type(proto::MetricType::GAUGE);
                let mut gauge = proto::Gauge::default();
                gauge.set_value(*value);
                metric.set_gauge(gauge);
            }
            Sample::Counter(value) => {
                family.set_field_type(proto::MetricType::COUNTER);
                let mut counter = proto::Counter::default();
                counter.set_value(*value);
                metric.set_counter(counter);
            }
            Sample::Histogram(ours) => {
                family.set_field_type(proto::MetricType::HISTOGRAM);
                let mut histogram = proto::Histogram::default();
                histogram.set_sample_sum(ours.sum);
                histogram.set_sample_count(ours.count);
                histogram.set_bucket(
                    ours.bounds
                        .iter()
                        .zip(&ours.cumulative)
                        .map(|(bound, count)| {
                            let mut bucket = proto::Bucket::default();
                            bucket.set_upper_bound(*bound);
                            bucket.set_cumulative_count(*count);
                            bucket
                        })
                        .collect(),
                );
                metric.set_histogram(histogram);
            }
        }
        family.mut_metric().push(metric);
        prometheus::TextEncoder::new()
            .encode_to_string(&[family])
            .unwrap()
    }

    #[test]
    fn the_output_is_what_the_prometheus_crate_writes() {
        let labels = BTreeMap::from([
            ("host".to_string(), "stress.a\\b.test".to_string()),
            ("name".into(), "say \"hi\"\n".into()),
        ]);
        let samples = [
            Sample::Gauge(42.125),
            Sample::Gauge(-0.0),
            Sample::Counter(123456.75),
            Sample::histogram(vec![0.005, 0.25, 10.0], vec![0, 2, 7], 13.5, 9),
        ];
        for sample in &samples {
            let kind = match sample {
                Sample::Gauge(_) => MetricKind::Gauge,
                Sample::Counter(_) => MetricKind::Counter,
                Sample::Histogram(_) => MetricKind::Histogram,
            };
            let mut metric = MetricConfig::new("m_total");
            metric.kind = kind;
            metric.description = "A \\ help\nline \"quoted\"".into();
            let mut exposition = Exposition::default();
            let family = exposition.family(&metric);
            let mut ours = exposition.families[family].header.clone();
            write_sample(&mut ours, "m_total", &render_labels(&labels), sample);
            assert_eq!(
                ours,
                reference("m_total", &metric.description, &labels, sample)
            );
        }
    }

    #[test]
    fn histograms_put_le_last_and_add_the_infinite_bucket() {
        let mut out = String::new();
        let sample = Sample::histogram(vec![0.5, 1.0], vec![1, 3], 2.25, 4);
        write_sample(&mut out, "h", "host=\"a\"", &sample);
        assert_eq!(out.lines().count() as u64, sample_lines(&sample));
        assert_eq!(
            out,
            "h_bucket{host=\"a\",le=\"0.5\"} 1\nh_bucket{host=\"a\",le=\"1\"} 3\nh_bucket{host=\"a\",le=\"+Inf\"} 4\nh_sum{host=\"a\"} 2.25\nh_count{host=\"a\"} 4\n"
        );
    }
}
