//! The status report, in the original's JSON shape: a typed record that
//! serialises to it (fields in alphabetical order, as the original's keys were).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Job;
use crate::sim::{HostView, Simulation};

/// What the report shows besides the hosts.
#[derive(Debug, Clone, Default)]
pub struct StatusOptions {
    pub pushgateway_url: Option<String>,
    pub push_interval: f64,
    /// Include every metric's current value (`PME_SHOW_METRICS_STATUS`).
    pub show_metrics: bool,
}

/// The status of the whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusReport {
    pub active_hosts: usize,
    pub is_running: bool,
    pub jobs: BTreeMap<String, JobStatus>,
    pub push_interval: f64,
    pub pushgateway_url: Option<String>,
    pub total_hosts: usize,
    pub total_jobs: usize,
    pub total_metrics: usize,
    /// e.g. `"90.0s"`
    pub virtual_time: String,
    /// Series born and ended (hosts that respawn make churn).
    pub churn: Churn,
}

/// Series born and ended so far, and per minute of virtual time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Churn {
    /// Hosts brought back with a new identity at their TTL.
    pub respawns: u64,
    /// Series created, at the start and by respawns.
    pub series_created: u64,
    /// Series ended by their host's TTL.
    pub series_ended: u64,
    /// Series created by respawns per minute of virtual time, on average.
    pub created_per_minute: f64,
    /// Series ended per minute of virtual time, on average.
    pub ended_per_minute: f64,
}

impl Churn {
    /// The churn of `sim` so far.
    pub fn of(sim: &Simulation) -> Self {
        let stats = sim.stats();
        let minutes = sim.now().as_secs() / 60.0;
        let per_minute = |count: u64| {
            if minutes > 0.0 {
                (count as f64 / minutes * 100.0).round() / 100.0
            } else {
                0.0
            }
        };
        let initial = sim.series().len() as u64;
        Churn {
            respawns: stats.respawns,
            series_created: stats.series_created,
            series_ended: stats.series_ended,
            created_per_minute: per_minute(stats.series_created.saturating_sub(initial)),
            ended_per_minute: per_minute(stats.series_ended),
        }
    }
}

/// The status of one job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobStatus {
    pub host_names: Vec<String>,
    pub hosts: Vec<HostStatus>,
    pub hosts_count: usize,
    pub metrics_count: usize,
}

/// The status of one host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostStatus {
    pub is_running: bool,
    pub labels: BTreeMap<String, String>,
    /// Every metric's current value, with `show_metrics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<BTreeMap<String, f64>>,
    pub metrics_count: usize,
    pub name: String,
    pub start_time: String,
    /// Seconds left, `"0.0s"` once expired, or `"inf"`.
    pub ttl_remaining: String,
    pub uptime: String,
}

impl StatusReport {
    /// The status of every job and host of `sim`.
    pub fn new(sim: &Simulation, jobs: &[Job], options: &StatusOptions) -> Self {
        Self::of_jobs(sim, jobs, options, true)
    }

    /// The same report with each job's host and metric counts but not its
    /// hosts: quick to build for a large fleet, for the snapshot a run starts
    /// with (readers of the status ask for a full one, see `sink::feed`).
    pub fn summary(sim: &Simulation, jobs: &[Job], options: &StatusOptions) -> Self {
        Self::of_jobs(sim, jobs, options, false)
    }

    fn of_jobs(sim: &Simulation, jobs: &[Job], options: &StatusOptions, hosts: bool) -> Self {
        let jobs: BTreeMap<String, JobStatus> = jobs
            .iter()
            .map(|job| {
                let status = if hosts {
                    job_status(sim, job, options)
                } else {
                    job_counts(sim, job)
                };
                (job.name.clone(), status)
            })
            .collect();
        StatusReport {
            active_hosts: sim.hosts().filter(HostView::is_alive).count(),
            is_running: !sim.is_finished(),
            total_jobs: jobs.len(),
            total_metrics: jobs.values().map(|job| job.metrics_count).sum(),
            jobs,
            push_interval: options.push_interval,
            pushgateway_url: options.pushgateway_url.clone(),
            total_hosts: sim.hosts().len(),
            virtual_time: sim.now().to_string(),
            churn: Churn::of(sim),
        }
    }
}

fn job_status(sim: &Simulation, job: &Job, options: &StatusOptions) -> JobStatus {
    let hosts: Vec<HostStatus> = job
        .hosts
        .iter()
        .map(|id| host_status(sim.host(*id), options))
        .collect();
    JobStatus {
        host_names: hosts.iter().map(|host| host.name.clone()).collect(),
        hosts_count: hosts.len(),
        metrics_count: hosts.iter().map(|host| host.metrics_count).sum(),
        hosts,
    }
}

/// A job's host and metric counts, without its hosts.
fn job_counts(sim: &Simulation, job: &Job) -> JobStatus {
    JobStatus {
        host_names: Vec::new(),
        hosts: Vec::new(),
        hosts_count: job.hosts.len(),
        metrics_count: job
            .hosts
            .iter()
            .map(|id| sim.host(*id).series().len())
            .sum(),
    }
}

fn host_status(host: HostView<'_>, options: &StatusOptions) -> HostStatus {
    HostStatus {
        is_running: host.is_alive(),
        labels: host.config().host_labels(),
        metrics: options.show_metrics.then(|| {
            host.series()
                .map(|series| (series.metric().name.clone(), series.linked_value()))
                .collect()
        }),
        metrics_count: host.series().len(),
        name: host.name().to_string(),
        start_time: host.born_at().to_string(),
        ttl_remaining: host
            .ttl_remaining()
            .map_or_else(|| "inf".into(), |left| left.to_string()),
        uptime: host.uptime().to_string(),
    }
}
