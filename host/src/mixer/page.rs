//! A page of hosts for the live page at `/`: each host of the page with its
//! job, TTL and every metric's current value, the run in figures and the
//! latest events. Built on the simulation's thread when a reader asks for a
//! page (one request slot: the last asked wins), so a fleet of 100k hosts
//! costs a page, not the fleet.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{Doorbell, Mixer};
use crate::sim::Simulation;

/// Most hosts one page shows.
pub const MAX_PAGE_HOSTS: usize = 200;

/// Which hosts a page shows: `limit` of them from `offset`, in config order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageRange {
    pub offset: usize,
    pub limit: usize,
}

/// A page of hosts, as of one virtual instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostsPage {
    pub range: PageRange,
    pub total_hosts: usize,
    pub hosts_alive: usize,
    pub series: usize,
    pub virtual_seconds: f64,
    pub finished: bool,
    pub hosts: Vec<PageHost>,
    /// The latest events on the bus, oldest first.
    pub events: Vec<PageEvent>,
}

/// One host of a page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageHost {
    pub name: String,
    pub job: String,
    pub alive: bool,
    /// Seconds left until its TTL; `None` for never.
    pub ttl_remaining: Option<f64>,
    pub uptime: f64,
    /// Each metric's current value (a counter's total, a histogram's last
    /// observation).
    pub metrics: Vec<(String, f64)>,
}

/// One event on the bus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageEvent {
    pub time: f64,
    pub event: String,
    pub source: String,
}

/// Where readers ask for a page: the simulation's thread builds it with the
/// next snapshot.
#[derive(Debug, Clone, Default)]
pub struct PageRequests {
    asked: Arc<Mutex<Option<PageRange>>>,
    doorbell: Doorbell,
}

impl PageRequests {
    pub(super) fn new(doorbell: Doorbell) -> Self {
        Self {
            asked: Arc::default(),
            doorbell,
        }
    }

    /// Asks for `range` in the next snapshot.
    pub fn request(&self, range: PageRange) {
        *self
            .asked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(range);
        self.doorbell.ring();
    }

    /// The range asked for since the last call, if any.
    pub fn take(&self) -> Option<PageRange> {
        self.asked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    /// Whether a page is asked for.
    pub fn is_pending(&self) -> bool {
        self.asked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some()
    }
}

impl Mixer {
    /// The hosts of `range` (at most [`MAX_PAGE_HOSTS`]) as `sim` stands.
    pub fn hosts_page(&self, sim: &Simulation, range: PageRange) -> HostsPage {
        let range = PageRange {
            offset: range.offset,
            limit: range.limit.clamp(1, MAX_PAGE_HOSTS),
        };
        let hosts = sim
            .hosts()
            .skip(range.offset)
            .take(range.limit)
            .map(|host| PageHost {
                name: host.name().to_string(),
                job: self.jobs[self.job_of_host[host.id().index()]].name.clone(),
                alive: host.is_alive(),
                ttl_remaining: host.ttl_remaining().map(|left| left.as_secs()),
                uptime: host.uptime().as_secs(),
                metrics: host
                    .series()
                    .map(|series| (series.metric().name.clone(), series.linked_value()))
                    .collect(),
            })
            .collect();
        HostsPage {
            range,
            total_hosts: sim.hosts().len(),
            hosts_alive: sim.hosts().filter(|host| host.is_alive()).count(),
            series: sim.series().len(),
            virtual_seconds: sim.now().as_secs(),
            finished: sim.is_finished(),
            hosts,
            events: sim
                .recent_events()
                .iter()
                .map(|event| PageEvent {
                    time: event.time.as_secs(),
                    event: event.name.clone(),
                    source: event.source.clone(),
                })
                .collect(),
        }
    }
}
