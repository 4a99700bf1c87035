//! The simulation: a virtual clock and a discrete-event scheduler driving every
//! host and metric, and the event bus between them.
//!
//! Deterministic and free of I/O: it never touches the network or files, and
//! reads the wall clock only to hold each plugin to its CPU budget (`budget`), so
//! the same seed gives the same values as long as no plugin exceeds its budget. The async shell (`run`) paces it in real time. Scenario
//! steps run through `plugin`; readers (`mixer`, tests) see hosts and series only
//! through the read-only views of `view`.

mod budget;
mod clock;
mod engine;
mod error;
mod groups;
mod ids;
mod journal;
mod schedule;
mod series;
mod threads;
mod view;

pub use clock::VirtualTime;

/// Fleets up to this many hosts get a log line per host (created, expired);
/// larger ones get counts and a few examples, so logs do not grow with the fleet.
pub const HOSTS_LOGGED_ONE_BY_ONE: usize = 100;
pub use engine::{
    MAX_BACKOFF_INTERVALS, MAX_DELIVERIES_PER_INSTANT, PluginUsage, SimStats, Simulation, Spread,
};
pub use error::SimError;
pub use ids::{HostId, PluginId, SeriesId};
pub use journal::{Journal, JournalEvent, Stepped};
pub use series::{HistogramSample, Sample};
pub use view::{HostView, Reports, SeriesView};
