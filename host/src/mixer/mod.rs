//! The mixer: groups hosts into Pushgateway jobs (by `job_name`, else the default
//! job), merges each job's series into metric families, and reports status in the
//! original's shape. Reads the simulation; does no I/O.

mod families;
mod status;

use std::sync::Arc;

use crate::model::MixerConfig;
use crate::sim::{HostId, Simulation, VirtualTime};

pub use families::{encode_text, job_families, merged_families};
pub use status::{HostStatus, JobStatus, StatusOptions, StatusReport};

/// One Pushgateway job: a name and the hosts pushed under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub name: String,
    pub hosts: Vec<HostId>,
}

/// Hosts grouped into jobs, in order of first appearance.
#[derive(Debug, Clone)]
pub struct Mixer {
    jobs: Vec<Job>,
}

/// What the sinks serve: each job's exposition text, the merged scrape text and
/// the status report, as of one virtual instant.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub time: VirtualTime,
    pub jobs: Vec<JobSnapshot>,
    /// Every job's series with a `job` label, for the local `/metrics` endpoint.
    pub scrape_text: String,
    pub status: StatusReport,
    /// Every host has reached its TTL: nothing will change any more.
    pub finished: bool,
}

/// One job's share of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct JobSnapshot {
    pub name: String,
    pub live_hosts: usize,
    pub text: String,
}

impl Mixer {
    /// Groups the hosts of `config`; hosts without `job_name` go to `default_job`.
    pub fn new(config: &MixerConfig, default_job: &str) -> Self {
        let mut jobs: Vec<Job> = Vec::new();
        for (index, host) in config.hosts.iter().enumerate() {
            let id = HostId::new(index);
            let name = host.job_name.as_deref().unwrap_or(default_job);
            match jobs.iter_mut().find(|job| job.name == name) {
                Some(job) => job.hosts.push(id),
                None => jobs.push(Job {
                    name: name.to_string(),
                    hosts: vec![id],
                }),
            }
        }
        for job in &jobs {
            tracing::info!("Job <{}>: {} hosts", job.name, job.hosts.len());
        }
        Self { jobs }
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Everything the sinks need from the simulation as it stands.
    pub fn snapshot(&self, sim: &Simulation, options: &StatusOptions) -> Arc<Snapshot> {
        let jobs = self
            .jobs
            .iter()
            .map(|job| JobSnapshot {
                name: job.name.clone(),
                live_hosts: job
                    .hosts
                    .iter()
                    .filter(|host| sim.host(**host).is_alive())
                    .count(),
                text: encode_text(&job_families(sim, job, false)),
            })
            .collect();
        Arc::new(Snapshot {
            time: sim.now(),
            jobs,
            scrape_text: encode_text(&merged_families(sim, &self.jobs)),
            status: StatusReport::new(sim, &self.jobs, options),
            finished: sim.is_finished(),
        })
    }
}
