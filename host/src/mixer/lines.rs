//! Every series' reported sample line by line, for sinks that send samples
//! rather than text (remote write): a histogram's buckets, `_sum` and `_count`
//! are lines of their own, as in a Prometheus TSDB. Each line's labels are
//! walked once, when a sink sets up (and again for a host that respawned with
//! a new identity); a capture then holds each line's value and the instant its
//! host reported it.

use std::collections::BTreeMap;

use super::exposition::{Exposition, for_each_line, value_text};
use crate::sim::{HostId, SeriesId, Simulation};

/// A line whose host has not reported it, or no longer does (expired, or the
/// series was dropped or is inactive).
pub const NOT_REPORTED: u64 = u64::MAX;

/// Where each series' lines sit, in the order of the scrape exposition.
#[derive(Debug)]
pub(super) struct LineLayout {
    /// Per series: its id, its host, its first line and how many it has.
    members: Vec<(SeriesId, HostId, usize, usize)>,
    /// Per host, its members (indices into `members`).
    by_host: Vec<Vec<u32>>,
    lines: usize,
}

/// Every line's reported value as of one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineValues {
    pub values: Vec<f64>,
    /// Per line, the virtual millisecond of its host's report, or [`NOT_REPORTED`].
    pub reported_at: Vec<u64>,
}

/// A line's labels, sorted by name, `__name__` included.
pub type LineLabels = Vec<(String, String)>;

impl LineLayout {
    /// The lines of every series of `scrape`, in its order.
    pub(super) fn new(scrape: &Exposition, sim: &Simulation) -> Self {
        let mut members = Vec::new();
        let mut by_host = vec![Vec::new(); sim.hosts().len()];
        let mut lines = 0;
        for family in scrape.families() {
            for member in family.members {
                let series = sim.series_view(member.series);
                by_host[series.host().index()].push(members.len() as u32);
                let mut count = 0;
                for_each_line(&series.current(), |_, _, _| count += 1);
                members.push((member.series, series.host(), lines, count));
                lines += count;
            }
        }
        Self {
            members,
            by_host,
            lines,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.lines
    }

    /// Each line's reported value and report instant, as `sim` stands.
    pub(super) fn values(&self, sim: &Simulation) -> LineValues {
        let mut values = LineValues {
            values: Vec::with_capacity(self.lines),
            reported_at: Vec::with_capacity(self.lines),
        };
        for &(id, host, _, count) in &self.members {
            let series = sim.series_view(id);
            let reported = series.reported();
            let at = match (reported, sim.host(host).reported_at()) {
                (Some(_), Some(at)) => at.as_millis(),
                _ => NOT_REPORTED,
            };
            match reported {
                Some(sample) => for_each_line(sample, |_, _, value| {
                    values.values.push(value);
                    values.reported_at.push(at);
                }),
                // Not reported: as many empty lines as the series has.
                None => {
                    values.values.extend(std::iter::repeat_n(f64::NAN, count));
                    values
                        .reported_at
                        .extend(std::iter::repeat_n(NOT_REPORTED, count));
                }
            }
        }
        values
    }

    /// Calls `line` with each line's index and labels (`extra`, such as
    /// `job`, added per host), for every line or, given `hosts`, those of
    /// these hosts' series.
    pub(super) fn for_each_labels(
        &self,
        sim: &Simulation,
        hosts: Option<&[HostId]>,
        extra: impl Fn(HostId) -> (&'static str, String),
        mut line: impl FnMut(usize, &[(&str, &str)]),
    ) {
        let mut visit = |&(id, host, first, _): &(SeriesId, HostId, usize, usize)| {
            let series = sim.series_view(id);
            let metric = series.metric();
            let mut own: BTreeMap<String, String> = sim.host(host).config().series_labels(metric);
            let (extra_name, extra_value) = extra(host);
            own.insert(extra_name.into(), extra_value);
            let mut index = first;
            for_each_line(&series.current(), |suffix, bound, _| {
                let name = format!("{}{suffix}", metric.name);
                let le = bound.map(value_text);
                let mut labels: Vec<(&str, &str)> = Vec::with_capacity(own.len() + 2);
                labels.push(("__name__", &name));
                labels.extend(
                    own.iter()
                        .map(|(key, value)| (key.as_str(), value.as_str())),
                );
                if let Some(le) = &le {
                    labels.push(("le", le));
                }
                labels.sort_unstable_by(|a, b| a.0.cmp(b.0));
                line(index, &labels);
                index += 1;
            });
        };
        match hosts {
            None => self.members.iter().for_each(&mut visit),
            Some(hosts) => {
                for host in hosts {
                    for &member in &self.by_host[host.index()] {
                        visit(&self.members[member as usize]);
                    }
                }
            }
        }
    }
}
