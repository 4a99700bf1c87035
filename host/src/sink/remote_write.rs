//! The remote-write sink (Prometheus remote write 1.0): each capture's newly
//! reported lines become samples, timestamped with their report instant mapped
//! onto the wall clock, sent as snappy-compressed protobuf `WriteRequest`s of
//! at most [`MAX_SAMPLES_PER_SEND`] samples. A line that stops being reported
//! (its host reached its TTL, the series was dropped) gets the spec's stale
//! marker, and so does every line when the run stops.
//!
//! Each target runs on its own: a collector turns line captures (see
//! `sink::lines`) into requests and
//! queues them, a sender posts them in order, retrying 5xx, 429 and network
//! failures with doubling backoff and never other 4xx. A target that falls
//! behind by more than its queue drops the newest requests (counted, logged),
//! so it never holds the simulation or another sink back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prost::Message as _;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};
use tokio::sync::mpsc;

use super::feed::{Snapshots, StopSignal};
use super::http::{EndpointError, HttpError, HttpTarget, backoff, log_failure};
use super::lines::LineCaptures;
use super::{Sink, SinkTask};
use crate::mixer::{LineLabels, LineValues, NOT_REPORTED};
use crate::model::Endpoint;

/// Samples per request, as Prometheus' own `max_samples_per_send`.
pub const MAX_SAMPLES_PER_SEND: usize = 2000;

/// Longest time one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// First wait after a failed request; it doubles per failure in a row.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Longest time a target may take, once the run stops, to send what is queued
/// (the simulation's last capture and every line's stale marker included).
const WIND_DOWN_LIMIT: Duration = Duration::from_secs(15);

/// Requests a target may have queued: at least this many, else room for four
/// rounds of every line.
const MIN_QUEUED_REQUESTS: usize = 64;

/// The value Prometheus reads as "this series ended here".
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// The remote-write protocol's messages (`prompb`, the 1.0 subset).
pub mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(double, tag = "1")]
        pub value: f64,
        /// Unix milliseconds.
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }
}

/// Every line's labels, encoded once as the `labels` fields of a protobuf
/// `TimeSeries`; a request then adds one sample per line.
#[derive(Debug, Default)]
pub struct EncodedLabels {
    bytes: Vec<u8>,
    /// Where each line's labels end in `bytes`.
    ends: Vec<usize>,
}

impl EncodedLabels {
    /// Encodes the lines `walk` visits, in order.
    pub fn encode(walk: impl FnOnce(&mut dyn FnMut(&[(&str, &str)]))) -> Self {
        let mut encoded = Self::default();
        walk(&mut |labels| {
            encode_labels(labels.iter().copied(), &mut encoded.bytes);
            encoded.ends.push(encoded.bytes.len());
        });
        encoded
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn line(&self, line: usize) -> &[u8] {
        let start = if line == 0 { 0 } else { self.ends[line - 1] };
        &self.bytes[start..self.ends[line]]
    }

    /// The uncompressed `WriteRequest` of `samples` (line, value, Unix ms).
    pub fn write_request(&self, samples: &[(usize, f64, i64)]) -> Vec<u8> {
        write_request(samples, |line| self.line(line))
    }
}

/// The `labels` fields of a `TimeSeries`, appended to `out`.
fn encode_labels<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>, out: &mut Vec<u8>) {
    for (name, value) in labels {
        let label = proto::Label {
            name: name.to_string(),
            value: value.to_string(),
        };
        prost::encoding::message::encode(1, &label, out);
    }
}

/// One target's labels: the run's, with the lines of respawned hosts renamed.
struct TargetLabels {
    base: Arc<EncodedLabels>,
    renamed: HashMap<usize, Vec<u8>>,
}

impl TargetLabels {
    fn line(&self, line: usize) -> &[u8] {
        match self.renamed.get(&line) {
            Some(labels) => labels,
            None => self.base.line(line),
        }
    }

    fn rename(&mut self, line: usize, labels: &LineLabels) {
        let mut encoded = Vec::new();
        encode_labels(
            labels
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
            &mut encoded,
        );
        self.renamed.insert(line, encoded);
    }
}

/// The uncompressed `WriteRequest` of `samples` (line, value, Unix ms), each
/// line's encoded labels given by `labels`.
fn write_request<'a>(samples: &[(usize, f64, i64)], labels: impl Fn(usize) -> &'a [u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(samples.len() * 128);
    for &(line, value, timestamp) in samples {
        let labels = labels(line);
        let sample = proto::Sample { value, timestamp };
        let sample_len = sample.encoded_len();
        let series_len =
            labels.len() + key_len(2) + encoded_len_varint(sample_len as u64) + sample_len;
        encode_key(1, WireType::LengthDelimited, &mut body);
        encode_varint(series_len as u64, &mut body);
        body.extend_from_slice(labels);
        prost::encoding::message::encode(2, &sample, &mut body);
    }
    body
}

/// What a target has sent so far: per line, the
/// virtual millisecond of the last sample sent, or [`NOT_REPORTED`].
#[derive(Debug)]
struct SentLines(Vec<u64>);

impl SentLines {
    /// The samples `values` holds that were not sent yet, and a stale marker
    /// for each line sent before that is no longer reported (at `now`, virtual
    /// ms, or just after its last sample). `origin` maps virtual ms onto Unix ms.
    fn news(&mut self, values: &LineValues, now: u64, origin: u64) -> Vec<(usize, f64, i64)> {
        let mut news = Vec::new();
        let mut ended = Vec::new();
        for (line, (&at, &value)) in values.reported_at.iter().zip(&values.values).enumerate() {
            let sent = self.0[line];
            if at == NOT_REPORTED {
                if sent != NOT_REPORTED {
                    ended.push(line);
                }
            } else if sent == NOT_REPORTED || at > sent {
                news.push((line, value, unix(origin, at)));
                self.0[line] = at;
            }
        }
        news.extend(self.end(ended, now, origin));
        news.sort_unstable_by_key(|&(line, _, _)| line);
        news
    }

    /// A stale marker for every line still live (the run stops).
    fn all_stale(&mut self, now: u64, origin: u64) -> Vec<(usize, f64, i64)> {
        self.end(0..self.0.len(), now, origin)
    }

    /// A stale marker for each of `lines` still live (they end: the run
    /// stops, or their host respawned as other series), at `now` or just
    /// after the line's last sample.
    fn end(
        &mut self,
        lines: impl IntoIterator<Item = usize>,
        now: u64,
        origin: u64,
    ) -> Vec<(usize, f64, i64)> {
        let mut ended = Vec::new();
        for line in lines {
            let sent = &mut self.0[line];
            if *sent != NOT_REPORTED {
                ended.push((
                    line,
                    f64::from_bits(STALE_NAN),
                    unix(origin, now.max(*sent + 1)),
                ));
                *sent = NOT_REPORTED;
            }
        }
        ended
    }
}

/// Unix ms of virtual ms `at`, for virtual time zero at `origin` (Unix ms).
fn unix(origin: u64, at: u64) -> i64 {
    i64::try_from(origin.saturating_add(at)).unwrap_or(i64::MAX)
}

/// Settings of one remote-write target.
#[derive(Debug, Clone)]
pub struct RemoteWriteOptions {
    pub endpoint: Endpoint,
    /// Where virtual time zero is on the wall clock (Unix ms).
    pub origin: u64,
    /// Wait for room in a full request queue rather than drop (`--speed max`:
    /// the simulation then goes as fast as the target accepts).
    pub wait: bool,
}

/// Sends every line's samples to one remote-write receiver.
pub struct RemoteWriteSink {
    target: HttpTarget,
    labels: Arc<EncodedLabels>,
    captures: LineCaptures,
    options: RemoteWriteOptions,
}

/// One request, ready to post.
struct Request {
    body: Bytes,
    samples: usize,
}

/// What a target did, for the closing line.
#[derive(Debug, Default)]
struct Tally {
    sent_samples: u64,
    requests: u64,
    dropped_samples: u64,
}

impl RemoteWriteSink {
    /// A sink for `options`, sending the lines `labels` describes as
    /// `captures` bring them.
    pub fn open(
        options: &RemoteWriteOptions,
        labels: Arc<EncodedLabels>,
        captures: LineCaptures,
    ) -> Result<Self, EndpointError> {
        let target = HttpTarget::open("remote-write endpoint", &options.endpoint, REQUEST_TIMEOUT)?;
        tracing::info!("Remote write to {} ({} series)", target.base, labels.len());
        Ok(Self {
            target,
            labels,
            captures,
            options: options.clone(),
        })
    }
}

impl Sink for RemoteWriteSink {
    fn name(&self) -> &'static str {
        "remote write"
    }

    fn run(self: Box<Self>, _snapshots: Snapshots, mut stop: StopSignal) -> SinkTask {
        Box::pin(async move {
            let Self {
                target,
                labels,
                captures,
                options,
            } = *self;
            let capacity = MIN_QUEUED_REQUESTS.max(4 * labels.len() / MAX_SAMPLES_PER_SEND + 1);
            let (queue, pending) = mpsc::channel(capacity);
            let url = target.base.clone();
            let sender = tokio::spawn(send_all(target, pending, stop.clone()));
            let collector = tokio::spawn(collect(labels, captures, queue, options, url.clone()));
            let (stop_sender, stop_collector) = (sender.abort_handle(), collector.abort_handle());
            stop.stopped().await;
            // The simulation closes the feed as it stops; its last capture and
            // every line's stale marker go out, within the time allowed.
            let wind_down = async move {
                let dropped = collector.await.unwrap_or_default();
                let tally = sender.await.unwrap_or_default();
                (dropped, tally)
            };
            match tokio::time::timeout(WIND_DOWN_LIMIT, wind_down).await {
                Ok((dropped, tally)) => tracing::info!(
                    "Remote write to {url}: {} samples sent in {} requests; {} dropped",
                    tally.sent_samples,
                    tally.requests,
                    tally.dropped_samples + dropped
                ),
                Err(_) => {
                    stop_collector.abort();
                    stop_sender.abort();
                    tracing::warn!(
                        "Remote write to {url}: samples still queued after {WIND_DOWN_LIMIT:?} were not sent"
                    );
                }
            }
        })
    }
}

/// Turns captures into queued requests until the feed closes, then queues a
/// stale marker for every line still live; returns the samples dropped because
/// the queue was full.
async fn collect(
    labels: Arc<EncodedLabels>,
    mut captures: LineCaptures,
    queue: mpsc::Sender<Request>,
    options: RemoteWriteOptions,
    url: String,
) -> u64 {
    let mut sent = SentLines(vec![NOT_REPORTED; labels.len()]);
    let mut labels = TargetLabels {
        base: labels,
        renamed: HashMap::new(),
    };
    let mut dropped: u64 = 0;
    let mut last_time = 0;
    let origin = options.origin;
    let mut enqueue = async |samples: Vec<(usize, f64, i64)>, labels: &TargetLabels| {
        for chunk in samples.chunks(MAX_SAMPLES_PER_SEND) {
            let body = snap::raw::Encoder::new()
                .compress_vec(&write_request(chunk, |line| labels.line(line)))
                .expect("snappy compresses any input");
            let request = Request {
                body: Bytes::from(body),
                samples: chunk.len(),
            };
            let queued = if options.wait {
                queue.send(request).await.is_ok()
            } else {
                queue.try_send(request).is_ok()
            };
            if !queued {
                dropped += chunk.len() as u64;
                if dropped.is_power_of_two() {
                    tracing::warn!(
                        "Remote write to {url}: the target falls behind; {dropped} samples dropped so far"
                    );
                }
            }
        }
    };
    while let Some(capture) = captures.recv().await {
        last_time = capture.time.as_millis();
        if !capture.relabeled.is_empty() {
            // The old series end (under their old labels) before the new begin.
            let lines = capture.relabeled.iter().map(|(line, _)| *line);
            let ended = sent.end(lines, last_time, origin);
            enqueue(ended, &labels).await;
            for (line, new) in &capture.relabeled {
                labels.rename(*line, new);
            }
        }
        enqueue(sent.news(&capture.values, last_time, origin), &labels).await;
    }
    enqueue(sent.all_stale(last_time, origin), &labels).await;
    dropped
}

/// Posts queued requests in order until the queue closes, retrying transient
/// failures with backoff until `stop`; after it, a failed request is not
/// retried and what is still queued is dropped. A request refused for good is
/// dropped (the first of a run of refusals logged as an error).
async fn send_all(
    target: HttpTarget,
    mut pending: mpsc::Receiver<Request>,
    mut stop: StopSignal,
) -> Tally {
    let mut tally = Tally::default();
    let mut failures: u32 = 0;
    let mut refusals: u32 = 0;
    let what = format!("Remote write to {}", target.base);
    while let Some(request) = pending.recv().await {
        loop {
            let err = match post(&target, &request.body).await {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!("{what} works again after {failures} failed attempts");
                    }
                    (failures, refusals) = (0, 0);
                    tally.sent_samples += request.samples as u64;
                    tally.requests += 1;
                    break;
                }
                Err(err) => err,
            };
            if !err.is_transient() {
                refusals += 1;
                if refusals == 1 {
                    tracing::error!(
                        "{what}: requests refused are dropped, not retried (more are logged at debug level): {err}"
                    );
                } else {
                    tracing::debug!("{what}: refused ({refusals} in a row): {err}");
                }
                tally.dropped_samples += request.samples as u64;
                break;
            }
            if stop.is_stopped() {
                tracing::warn!("{what} failed while stopping; what is queued is dropped: {err}");
                tally.dropped_samples += request.samples as u64;
                while let Ok(request) = pending.try_recv() {
                    tally.dropped_samples += request.samples as u64;
                }
                return tally;
            }
            failures += 1;
            let wait = err
                .retry_after()
                .unwrap_or_else(|| backoff(FIRST_BACKOFF, failures));
            log_failure(&what, &err, failures, wait, false);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.stopped() => {}
            }
        }
    }
    tally
}

/// One POST with the headers the remote-write 1.0 spec asks for.
async fn post(target: &HttpTarget, body: &Bytes) -> Result<(), HttpError> {
    let request = target
        .client
        .post(&target.base)
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body.clone());
    target.send("POST", target.base.clone(), request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> EncodedLabels {
        EncodedLabels::encode(|line| {
            line(&[("__name__", "cpu"), ("host", "a"), ("job", "j")]);
            line(&[("__name__", "cpu"), ("host", "b"), ("job", "j")]);
        })
    }

    #[test]
    fn requests_decode_as_the_spec_s_write_request() {
        let body = labels().write_request(&[(1, 2.5, 1_000), (0, -1.0, 2_000)]);
        let decoded = proto::WriteRequest::decode(body.as_slice()).unwrap();
        let label = |name: &str, value: &str| proto::Label {
            name: name.into(),
            value: value.into(),
        };
        assert_eq!(
            decoded.timeseries,
            vec![
                proto::TimeSeries {
                    labels: vec![
                        label("__name__", "cpu"),
                        label("host", "b"),
                        label("job", "j")
                    ],
                    samples: vec![proto::Sample {
                        value: 2.5,
                        timestamp: 1_000
                    }],
                },
                proto::TimeSeries {
                    labels: vec![
                        label("__name__", "cpu"),
                        label("host", "a"),
                        label("job", "j")
                    ],
                    samples: vec![proto::Sample {
                        value: -1.0,
                        timestamp: 2_000
                    }],
                },
            ]
        );
    }

    #[test]
    fn new_reports_are_sent_once_and_ended_lines_get_a_stale_marker_after_their_last_sample() {
        let mut sent = SentLines(vec![NOT_REPORTED; 2]);
        let values = |reported_at: [u64; 2]| LineValues {
            values: vec![1.0, 2.0],
            reported_at: reported_at.to_vec(),
        };
        let origin = 1_000_000;
        assert_eq!(
            sent.news(&values([0, NOT_REPORTED]), 0, origin),
            vec![(0, 1.0, 1_000_000)]
        );
        // The same report again: nothing new.
        assert!(
            sent.news(&values([0, NOT_REPORTED]), 500, origin)
                .is_empty()
        );
        let news = sent.news(&values([NOT_REPORTED, 1_000]), 1_000, origin);
        assert_eq!(news.len(), 2);
        assert_eq!(news[0].0, 0);
        assert_eq!(news[0].1.to_bits(), STALE_NAN);
        assert_eq!(news[0].2, 1_001_000);
        assert_eq!(news[1], (1, 2.0, 1_001_000));
        // Stopping: the live line goes stale a millisecond after its last sample.
        let last = sent.all_stale(1_000, origin);
        assert_eq!(last.len(), 1);
        assert_eq!((last[0].0, last[0].2), (1, 1_001_001));
        assert!(sent.all_stale(1_000, origin).is_empty());
    }
}
