//! The simulation's own thread: advances virtual time with the wall clock (at
//! the run's [`Pace`]) and publishes a snapshot whenever something changed (at
//! most every [`PUBLISH_EVERY`], and less often for fleets whose snapshots take
//! long to build: see [`PUBLISH_SHARE`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::mixer::{Mixer, Snapshot, StatusOptions};
use crate::sim::{Simulation, VirtualTime};
use crate::sink::LinePublisher;

/// Shortest time between two published snapshots.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(100);
/// Longest time between two published snapshots (the status shows the time).
pub const PUBLISH_AT_LEAST_EVERY: Duration = Duration::from_secs(1);
/// Largest share of the thread's time that building snapshots may take: after a
/// snapshot that took `t`, the next comes no sooner than `t / PUBLISH_SHARE`.
pub const PUBLISH_SHARE: f64 = 0.05;
/// Shortest sleep between two passes of the simulation's loop.
const SHORTEST_SLEEP: Duration = Duration::from_millis(1);

/// How fast virtual time goes in a live run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Virtual seconds per wall second (`--speed 60`: an hour a minute).
    Factor(f64),
    /// As fast as the simulation steps (`--speed max`); sinks see a snapshot
    /// every [`PUBLISH_EVERY`] or so.
    Max,
}

impl Default for Speed {
    fn default() -> Self {
        Speed::Factor(1.0)
    }
}

/// How virtual time relates to the wall clock.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pace {
    pub speed: Speed,
    /// Where virtual time zero is on the wall clock (Unix milliseconds), when
    /// not at the run's start (`--start-time`). Virtual time then never passes
    /// the present: a run that starts in the past catches up at `speed` and
    /// goes on in real time; one that starts in the future waits for it.
    pub start: Option<u64>,
}

impl Pace {
    /// How far virtual time may be after `elapsed` of wall time, for a
    /// simulation at `now` whose next task is due at `next_due`.
    fn target(
        &self,
        elapsed: Duration,
        now: VirtualTime,
        next_due: Option<VirtualTime>,
    ) -> VirtualTime {
        let paced = match self.speed {
            Speed::Factor(factor) => VirtualTime::from_duration(elapsed.mul_f64(factor)),
            Speed::Max => next_due.unwrap_or(now).max(now),
        };
        match self.start {
            Some(start) => paced.min(VirtualTime::from_millis(
                unix_millis().saturating_sub(start),
            )),
            None => paced,
        }
    }

    /// Wall time from `elapsed` (since the run's start) until virtual time
    /// may reach `due`.
    fn wall_time_until(&self, elapsed: Duration, due: VirtualTime) -> Duration {
        let paced = match self.speed {
            Speed::Factor(factor) => due.as_duration().div_f64(factor).saturating_sub(elapsed),
            Speed::Max => Duration::ZERO,
        };
        match self.start {
            Some(start) => {
                let present = start.saturating_add(due.as_millis());
                paced.max(Duration::from_millis(present.saturating_sub(unix_millis())))
            }
            None => paced,
        }
    }
}

/// Renders the labels of hosts that respawned again, then hands every line's
/// reported value to the line feed (if any), if a host reported or expired
/// since the last capture.
fn follow(mixer: &mut Mixer, sim: &Simulation, lines: Option<&mut LinePublisher>) {
    let respawned = mixer.follow_respawns(sim);
    if let Some(lines) = lines {
        if !respawned.is_empty() {
            lines.relabel(mixer.line_labels_of(sim, &respawned));
        }
        lines.publish(sim.samples_generation(), sim.now(), || {
            mixer.line_values(sim)
        });
    }
}

/// The wall clock in Unix milliseconds.
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Where the simulation's thread hands what it made.
pub struct Outputs {
    /// The latest snapshot, for every sink.
    pub snapshots: watch::Sender<Arc<Snapshot>>,
    /// Every capture of the lines' values, for sinks that send samples.
    pub lines: Option<LinePublisher>,
}

/// Runs `sim` on its own thread at `pace` until `stop` is set (unpark the
/// thread after setting it: it sleeps until its next task), every host has
/// expired, or virtual time reaches `end`; the last snapshot says which.
pub fn spawn(
    mut sim: Simulation,
    mut mixer: Mixer,
    status: StatusOptions,
    outputs: Outputs,
    pace: Pace,
    end: Option<VirtualTime>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    let Outputs {
        snapshots,
        mut lines,
    } = outputs;
    // The status report is rebuilt only when a reader asked for it, and for
    // the last snapshot; other snapshots carry the last one built (at first,
    // the one of the snapshot the run started with).
    let status_requests = mixer.status_requests().clone();
    let page_requests = mixer.page_requests().clone();
    let mut last_status = snapshots.borrow().status.clone();
    let mut last_page: Option<Arc<crate::mixer::HostsPage>> = None;
    let mut snapshot = move |mixer: &Mixer, sim: &Simulation, last: bool| {
        let fresh = last || mixer.status_requests().take();
        let mut snapshot = if fresh {
            mixer.snapshot(sim, &status)
        } else {
            mixer.snapshot_with_status(sim, last_status.clone())
        };
        last_status = snapshot.status.clone();
        if let Some(range) = mixer.page_requests().take() {
            last_page = Some(Arc::new(mixer.hosts_page(sim, range)));
        }
        if let Some(snapshot) = Arc::get_mut(&mut snapshot) {
            snapshot.duration_reached = end.is_some_and(|end| sim.now() >= end);
            snapshot.page = last_page.clone();
        }
        snapshot
    };
    let doorbell = mixer.doorbell().clone();
    let thread = std::thread::Builder::new()
        .name("promemu-sim".into())
        .spawn(move || {
            let started = Instant::now();
            let mut published = Instant::now();
            let mut publish_gap = PUBLISH_EVERY;
            let mut dirty = true;
            while !stop.load(Ordering::SeqCst) {
                let mut target = pace.target(started.elapsed(), sim.now(), sim.next_due());
                if let Some(end) = end {
                    target = target.min(end);
                }
                let before = sim.stats().tasks;
                let was = sim.now();
                sim.advance_to(target);
                dirty |= sim.stats().tasks != before;
                follow(&mut mixer, &sim, lines.as_mut());
                if sim.is_finished() || end.is_some_and(|end| sim.now() >= end) {
                    let _ = snapshots.send(snapshot(&mixer, &sim, true));
                    return;
                }
                if (dirty && published.elapsed() >= publish_gap)
                    || published.elapsed() >= PUBLISH_AT_LEAST_EVERY.max(publish_gap)
                    || status_requests.is_pending()
                    || page_requests.is_pending()
                {
                    let building = Instant::now();
                    let _ = snapshots.send(snapshot(&mixer, &sim, false));
                    publish_gap = building.elapsed().div_f64(PUBLISH_SHARE).max(PUBLISH_EVERY);
                    published = Instant::now();
                    dirty = false;
                }
                if pace.speed == Speed::Max && sim.now() > was {
                    // Straight on to the next instant.
                    continue;
                }
                // Asleep until the next task is due or the next snapshot must
                // go out; a reader's request or the run's stop rings earlier.
                let until_publish = if dirty {
                    publish_gap
                } else {
                    PUBLISH_AT_LEAST_EVERY.max(publish_gap)
                }
                .saturating_sub(published.elapsed());
                let until_due = sim.next_due().map_or(until_publish, |due| {
                    pace.wall_time_until(started.elapsed(), due)
                });
                std::thread::park_timeout(until_due.min(until_publish).max(SHORTEST_SLEEP));
            }
            follow(&mut mixer, &sim, lines.as_mut());
            let _ = snapshots.send(snapshot(&mixer, &sim, true));
        })
        .expect("spawning the simulation thread");
    doorbell.answer_on(thread.thread().clone());
    thread
}
