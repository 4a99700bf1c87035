//! The line feed: every line's reported value, captured by the simulation's
//! thread whenever a host reported or expired, for sinks that send samples
//! (remote write). Unlike snapshots, captures are not coalesced: each sink gets
//! each one, through a queue of its own. When a sink's queue is full, a live run
//! drops the capture for that sink (counted and logged) so that a slow target
//! holds back nothing else; at `--speed max` the simulation waits instead, so
//! virtual time goes as fast as the slowest target accepts.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::mixer::{LineLabels, LineValues};
use crate::sim::VirtualTime;

/// Captures a sink may have queued.
const QUEUED_CAPTURES: usize = 8;

/// Every line's reported value at one virtual instant.
#[derive(Debug)]
pub struct LineCapture {
    pub time: VirtualTime,
    pub values: Arc<LineValues>,
    /// Lines whose labels changed since the sink's last capture (their host
    /// respawned with a new identity), with their new labels: the old series
    /// end here and `values` belong to the new ones.
    pub relabeled: Vec<(usize, Arc<LineLabels>)>,
}

/// What a sink reads captures from; it closes when the simulation ends.
pub type LineCaptures = mpsc::Receiver<Arc<LineCapture>>;

/// Hands captures to every sink of the feed (used on the simulation's thread).
#[derive(Debug)]
pub struct LinePublisher {
    sinks: Vec<mpsc::Sender<Arc<LineCapture>>>,
    /// Per sink, the relabels it has not received yet (a dropped capture's
    /// go with the next one).
    relabels: Vec<Vec<(usize, Arc<LineLabels>)>>,
    /// Wait for room rather than drop.
    wait: bool,
    /// The simulation's samples generation at the last capture.
    captured: Option<u64>,
    dropped: u64,
}

/// A publisher and one queue per sink (`sinks` of them); `wait` makes the
/// publisher wait for room in a full queue rather than drop.
pub fn line_feed(sinks: usize, wait: bool) -> (LinePublisher, Vec<LineCaptures>) {
    let (senders, receivers) = (0..sinks).map(|_| mpsc::channel(QUEUED_CAPTURES)).unzip();
    (
        LinePublisher {
            relabels: vec![Vec::new(); sinks],
            sinks: senders,
            wait,
            captured: None,
            dropped: 0,
        },
        receivers,
    )
}

impl LinePublisher {
    /// Notes lines with new labels, for every sink's next capture.
    pub fn relabel(&mut self, lines: Vec<(usize, LineLabels)>) {
        let lines: Vec<(usize, Arc<LineLabels>)> = lines
            .into_iter()
            .map(|(line, labels)| (line, Arc::new(labels)))
            .collect();
        for pending in &mut self.relabels {
            pending.extend(lines.iter().cloned());
        }
    }

    /// Captures every line's values at `time` with `values` and hands them
    /// on, unless `generation` (the simulation's samples generation) is the
    /// one captured last.
    pub fn publish(
        &mut self,
        generation: u64,
        time: VirtualTime,
        values: impl FnOnce() -> LineValues,
    ) {
        if self.captured == Some(generation) || self.sinks.is_empty() {
            return;
        }
        self.captured = Some(generation);
        let values = Arc::new(values());
        for (sink, relabels) in self.sinks.iter().zip(&mut self.relabels) {
            let capture = Arc::new(LineCapture {
                time,
                values: values.clone(),
                relabeled: relabels.clone(),
            });
            let sent = if self.wait {
                sink.blocking_send(capture).is_ok()
            } else {
                sink.try_send(capture).is_ok()
            };
            if sent {
                relabels.clear();
            } else if !sink.is_closed() {
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    tracing::warn!(
                        "A remote-write target falls behind: {} captures of every series dropped so far (at {})",
                        self.dropped,
                        time
                    );
                }
            }
        }
    }
}
