//! Sinks: where snapshots go. The Pushgateway (PUT of each job's group) and the
//! local scrape endpoint. All network I/O of the emulator lives here.

mod pushgateway;
mod scrape;

pub use pushgateway::{PushError, Pushgateway, group_path};
pub use scrape::serve;
