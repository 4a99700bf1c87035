//! The simulation: a virtual clock and a discrete-event scheduler driving every
//! host and metric, and the event bus between them.
//!
//! Deterministic and free of I/O: it never reads the wall clock and never touches
//! the network or files. The async shell paces it in real time or lets it run ahead
//! (tests, fast-forward). Scenario steps run through `plugin`; what the hosts
//! report is read by `mixer`.

mod clock;
mod engine;
mod error;
mod schedule;
mod series;

pub use clock::VirtualTime;
pub use engine::{
    HostState, MAX_BACKOFF_INTERVALS, MAX_DELIVERIES_PER_INSTANT, SimStats, Simulation,
};
pub use error::SimError;
pub use series::{Sample, SeriesState};
