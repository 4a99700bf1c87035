//! The simulation's own thread: advances virtual time with the wall clock and
//! publishes a snapshot whenever something changed (at most every
//! [`PUBLISH_EVERY`], and less often for fleets whose snapshots take long to
//! build: see [`PUBLISH_SHARE`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::mixer::{Mixer, Snapshot, StatusOptions};
use crate::sim::{Simulation, VirtualTime};

/// Shortest time between two published snapshots.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(100);
/// Longest time between two published snapshots (the status shows the time).
pub const PUBLISH_AT_LEAST_EVERY: Duration = Duration::from_secs(1);
/// Largest share of the thread's time that building snapshots may take: after a
/// snapshot that took `t`, the next comes no sooner than `t / PUBLISH_SHARE`.
pub const PUBLISH_SHARE: f64 = 0.05;
/// Longest sleep, so a stop request is seen quickly.
const LONGEST_SLEEP: Duration = Duration::from_millis(50);

pub fn spawn(
    mut sim: Simulation,
    mixer: Mixer,
    status: StatusOptions,
    snapshots: watch::Sender<Arc<Snapshot>>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("promemu-sim".into())
        .spawn(move || {
            let started = Instant::now();
            let mut published = Instant::now();
            let mut publish_gap = PUBLISH_EVERY;
            let mut dirty = true;
            while !stop.load(Ordering::SeqCst) {
                let target = VirtualTime::from_duration(started.elapsed());
                let before = sim.stats().tasks;
                sim.advance_to(target);
                dirty |= sim.stats().tasks != before;
                if sim.is_finished() {
                    let _ = snapshots.send(mixer.snapshot(&sim, &status));
                    return;
                }
                if (dirty && published.elapsed() >= publish_gap)
                    || published.elapsed() >= PUBLISH_AT_LEAST_EVERY.max(publish_gap)
                {
                    let building = Instant::now();
                    let _ = snapshots.send(mixer.snapshot(&sim, &status));
                    publish_gap = building.elapsed().div_f64(PUBLISH_SHARE).max(PUBLISH_EVERY);
                    published = Instant::now();
                    dirty = false;
                }
                let until_due = sim.next_due().map_or(LONGEST_SLEEP, |due| {
                    due.saturating_sub(sim.now()).as_duration()
                });
                std::thread::sleep(until_due.clamp(Duration::from_millis(1), LONGEST_SLEEP));
            }
            let _ = snapshots.send(mixer.snapshot(&sim, &status));
        })
        .expect("spawning the simulation thread")
}
