//! The mixer: groups hosts into Pushgateway jobs (by `job_name`, else the default
//! job), renders each job's series into the text exposition format, and reports
//! status in the original's shape. Reads the simulation; does no I/O.

mod exposition;
mod status;

use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::sim::{HostId, Simulation, VirtualTime};

pub use exposition::{Exposition, FamilyView, Member};
pub(crate) use exposition::{escape, sample_lines, write_sample};
pub use status::{HostStatus, JobStatus, StatusOptions, StatusReport};

/// Jobs listed one by one when the mixer is built; the rest are counted.
const JOBS_LOGGED_ONE_BY_ONE: usize = 20;

/// One Pushgateway job: a name and the hosts pushed under it.
#[derive(Debug)]
pub struct Job {
    pub name: String,
    pub hosts: Vec<HostId>,
    /// The job's series as pushed (no `job` label: the Pushgateway adds it).
    exposition: Exposition,
}

/// Hosts grouped into jobs, in order of first appearance, with their series'
/// labels rendered once.
#[derive(Debug)]
pub struct Mixer {
    jobs: Vec<Job>,
    /// Every job's series with a `job` label, for the scrape endpoint.
    scrape: Exposition,
    /// Whether snapshots carry each job's push body (only a run that pushes
    /// reads them).
    push_bodies: bool,
    /// The texts of the last snapshot, reused while no series' sample changed.
    rendered: Mutex<Option<Rendered>>,
}

/// Exposition texts as of one generation of the simulation's samples.
#[derive(Debug)]
struct Rendered {
    generation: u64,
    jobs: Vec<Bytes>,
    scrape: Bytes,
}

/// What the sinks serve: each job's exposition text, the merged scrape text and
/// the status report, as of one virtual instant.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub time: VirtualTime,
    pub jobs: Vec<JobSnapshot>,
    /// Every job's series with a `job` label, for the local `/metrics` endpoint.
    pub scrape_text: Bytes,
    pub status: StatusReport,
    /// Every host has reached its TTL: nothing will change any more.
    pub finished: bool,
    /// Virtual time reached the run's `--duration`: the run stops here.
    pub duration_reached: bool,
}

/// One job's share of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct JobSnapshot {
    pub name: String,
    pub live_hosts: usize,
    /// The push body; empty when the mixer builds none.
    pub text: Bytes,
}

impl Mixer {
    /// Each job's push body and the scrape text: rendered anew only when a
    /// series' sample changed since the last snapshot (samples change at report
    /// instants, not every second), else the same bytes again.
    fn texts(&self, sim: &Simulation) -> (Vec<Bytes>, Bytes) {
        let generation = sim.samples_generation();
        let mut rendered = self
            .rendered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cached) = rendered.as_ref()
            && cached.generation == generation
        {
            return (cached.jobs.clone(), cached.scrape.clone());
        }
        let jobs: Vec<Bytes> = self
            .jobs
            .iter()
            .map(|job| {
                if self.push_bodies {
                    Bytes::from(job.exposition.text(sim))
                } else {
                    Bytes::new()
                }
            })
            .collect();
        let scrape = Bytes::from(self.scrape.text(sim));
        *rendered = Some(Rendered {
            generation,
            jobs: jobs.clone(),
            scrape: scrape.clone(),
        });
        (jobs, scrape)
    }

    /// Groups the hosts of `sim`; hosts without `job_name` go to `default_job`.
    pub fn new(sim: &Simulation, default_job: &str) -> Self {
        let mut jobs: Vec<Job> = Vec::new();
        let mut scrape = Exposition::default();
        for host in sim.hosts() {
            let name = host.config().job_name.as_deref().unwrap_or(default_job);
            let index = match jobs.iter().position(|job| job.name == name) {
                Some(index) => index,
                None => {
                    jobs.push(Job {
                        name: name.to_string(),
                        hosts: Vec::new(),
                        exposition: Exposition::default(),
                    });
                    jobs.len() - 1
                }
            };
            let job = &mut jobs[index];
            job.hosts.push(host.id());
            job.exposition.add_host(host, None);
            scrape.add_host(host, Some(("job", name)));
        }
        for job in jobs.iter().take(JOBS_LOGGED_ONE_BY_ONE) {
            tracing::info!("Job <{}>: {} hosts", job.name, job.hosts.len());
        }
        if jobs.len() > JOBS_LOGGED_ONE_BY_ONE {
            tracing::info!("... and {} more jobs", jobs.len() - JOBS_LOGGED_ONE_BY_ONE);
        }
        Self {
            jobs,
            scrape,
            push_bodies: true,
            rendered: Mutex::new(None),
        }
    }

    /// The same mixer, leaving the jobs' push bodies out of snapshots (empty
    /// text): a run that pushes nowhere saves building them.
    pub fn without_push_bodies(mut self) -> Self {
        self.push_bodies = false;
        *self
            .rendered
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        self
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Every job's series with a `job` label: what a Prometheus scraping the
    /// Pushgateway (`honor_labels: true`) stores.
    pub fn scrape_exposition(&self) -> &Exposition {
        &self.scrape
    }

    /// Everything the sinks need from the simulation as it stands.
    pub fn snapshot(&self, sim: &Simulation, options: &StatusOptions) -> Arc<Snapshot> {
        let (job_texts, scrape_text) = self.texts(sim);
        let jobs = self
            .jobs
            .iter()
            .zip(job_texts)
            .map(|(job, text)| JobSnapshot {
                name: job.name.clone(),
                live_hosts: job
                    .hosts
                    .iter()
                    .filter(|host| sim.host(**host).is_alive())
                    .count(),
                text,
            })
            .collect();
        Arc::new(Snapshot {
            time: sim.now(),
            jobs,
            scrape_text,
            status: StatusReport::new(sim, &self.jobs, options),
            finished: sim.is_finished(),
            duration_reached: false,
        })
    }
}
