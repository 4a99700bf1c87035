//! The mixer: groups hosts into Pushgateway jobs (by `job_name`, else the default
//! job), renders each job's series into the text exposition format, and reports
//! status in the original's shape. Reads the simulation; does no I/O.

mod doorbell;
mod exposition;
mod lines;
mod page;
mod status;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::sim::{HostId, Simulation, VirtualTime};

pub use doorbell::Doorbell;
pub use exposition::{Exposition, FamilyView, Member};
pub(crate) use exposition::{ValueText, escape, for_each_line, line_keys, sample_lines};
use lines::LineLayout;
pub use lines::{LineLabels, LineValues, NOT_REPORTED};
pub use page::{HostsPage, MAX_PAGE_HOSTS, PageEvent, PageHost, PageRange, PageRequests};
pub use status::{Churn, HostStatus, JobStatus, StatusOptions, StatusReport};

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
    /// Whether snapshots carry the scrape text (only a run that serves
    /// `/metrics` reads it).
    scrape_text: bool,
    /// Where each series' lines sit, when the mixer gives line values (only a
    /// run that remote-writes reads them).
    lines: Option<LineLayout>,
    /// Per host, its job (an index into `jobs`).
    job_of_host: Vec<usize>,
    /// Per host, the incarnation its labels were rendered for.
    incarnations: Vec<u32>,
    /// The simulation's identity generation the labels were rendered for.
    identity_generation: u64,
    /// The texts of the last snapshot, reused while no series' sample changed.
    rendered: Mutex<Option<Rendered>>,
    /// Readers of the status report ask for a fresh one here (see
    /// [`StatusRequests`]); it is built only then, not with every snapshot.
    status_requests: StatusRequests,
    /// Readers of the live page ask for a page of hosts here.
    page_requests: PageRequests,
    /// Wakes the thread that builds snapshots when a reader asks for something.
    doorbell: Doorbell,
}

/// Asks the simulation's thread for a snapshot with a fresh status report.
/// A status report walks every host, so it is built when a reader wants one
/// (the status log at its interval, a request to `/status`), not every second.
#[derive(Debug, Clone, Default)]
pub struct StatusRequests {
    asked: Arc<AtomicBool>,
    doorbell: Doorbell,
}

impl StatusRequests {
    fn new(doorbell: Doorbell) -> Self {
        Self {
            asked: Arc::default(),
            doorbell,
        }
    }

    /// Asks for a fresh report in the next snapshot.
    pub fn request(&self) {
        self.asked.store(true, Ordering::SeqCst);
        self.doorbell.ring();
    }

    /// Whether a fresh report was asked for since the last call.
    pub fn take(&self) -> bool {
        self.asked.swap(false, Ordering::SeqCst)
    }

    /// Whether a fresh report is asked for (without taking the request).
    pub fn is_pending(&self) -> bool {
        self.asked.load(Ordering::SeqCst)
    }
}

/// Exposition texts and live hosts per job as of one generation of the
/// simulation's samples (bumped at reports and expiries).
#[derive(Debug, Clone)]
struct Rendered {
    generation: u64,
    jobs: Vec<Bytes>,
    live_hosts: Vec<usize>,
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
    /// The status report as of `status.virtual_time`, which may be older than
    /// `time`: ask for a fresh one with [`Snapshot::request_status`].
    pub status: Arc<StatusReport>,
    /// Every host has reached its TTL: nothing will change any more.
    pub finished: bool,
    /// Virtual time reached the run's `--duration`: the run stops here.
    pub duration_reached: bool,
    /// Where readers ask for a fresh status report.
    pub status_requests: StatusRequests,
    /// The run in figures, for the emulator's own metrics.
    pub figures: Arc<RunFigures>,
    /// The page of hosts a reader asked for last, if any (see
    /// [`Snapshot::request_page`]).
    pub page: Option<Arc<HostsPage>>,
    /// Where readers ask for a page of hosts.
    pub page_requests: PageRequests,
}

/// The run in figures as of a snapshot: what the emulator's own metrics
/// (`/promemu/metrics`) show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFigures {
    pub virtual_seconds: f64,
    pub hosts: usize,
    pub hosts_alive: usize,
    pub series: usize,
    pub steps: u64,
    pub faults: u64,
    pub respawns: u64,
    pub series_created: u64,
    pub series_ended: u64,
    /// Events sent on the bus: (event, source, count).
    pub events: Vec<(String, String, u64)>,
}

impl RunFigures {
    /// The figures of `sim` as it stands.
    pub fn of(sim: &Simulation, hosts_alive: usize) -> Self {
        let stats = sim.stats();
        RunFigures {
            virtual_seconds: sim.now().as_secs(),
            hosts: sim.hosts().len(),
            hosts_alive,
            series: sim.series().len(),
            steps: stats.steps,
            faults: stats.faults,
            respawns: stats.respawns,
            series_created: stats.series_created,
            series_ended: stats.series_ended,
            events: sim
                .event_counts()
                .iter()
                .map(|((event, source), count)| (event.clone(), source.clone(), *count))
                .collect(),
        }
    }
}

impl Snapshot {
    /// Asks for a snapshot with a fresh status report; it comes with one of the
    /// next snapshots (within about 50 ms while the simulation runs).
    pub fn request_status(&self) {
        self.status_requests.request();
    }

    /// Asks for a snapshot with the hosts of `range` (see [`HostsPage`]).
    pub fn request_page(&self, range: PageRange) {
        self.page_requests.request(range);
    }
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
    /// Each job's push body, its live hosts and the scrape text: made anew only
    /// when a series' sample changed or a host expired since the last snapshot
    /// (samples change at report instants, not every second), else the same
    /// again.
    fn texts(&self, sim: &Simulation) -> Rendered {
        let generation = sim.samples_generation();
        let mut rendered = self
            .rendered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cached) = rendered.as_ref()
            && cached.generation == generation
        {
            return cached.clone();
        }
        // Before the first report no series has a sample: every text is
        // empty, and a big fleet's first snapshot skips the walk.
        let reported = generation > 0;
        let jobs: Vec<Bytes> = self
            .jobs
            .iter()
            .map(|job| {
                if self.push_bodies && reported {
                    Bytes::from(job.exposition.text(sim))
                } else {
                    Bytes::new()
                }
            })
            .collect();
        let live_hosts: Vec<usize> = self
            .jobs
            .iter()
            .map(|job| {
                job.hosts
                    .iter()
                    .filter(|host| sim.host(**host).is_alive())
                    .count()
            })
            .collect();
        let scrape = if self.scrape_text && reported {
            Bytes::from(self.scrape.text(sim))
        } else {
            Bytes::new()
        };
        let fresh = Rendered {
            generation,
            jobs,
            live_hosts,
            scrape,
        };
        *rendered = Some(fresh.clone());
        fresh
    }

    /// Groups the hosts of `sim`; hosts without `job_name` go to `default_job`.
    pub fn new(sim: &Simulation, default_job: &str) -> Self {
        let mut jobs: Vec<Job> = Vec::new();
        let mut scrape = Exposition::default();
        let mut job_of_host = Vec::with_capacity(sim.hosts().len());
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
            job_of_host.push(index);
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
        let doorbell = Doorbell::default();
        Self {
            jobs,
            scrape,
            push_bodies: true,
            scrape_text: true,
            lines: None,
            job_of_host,
            incarnations: vec![0; sim.hosts().len()],
            identity_generation: sim.identity_generation(),
            rendered: Mutex::new(None),
            status_requests: StatusRequests::new(doorbell.clone()),
            page_requests: PageRequests::new(doorbell.clone()),
            doorbell,
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

    /// The same mixer, leaving the scrape text out of snapshots (empty): a
    /// run that serves no `/metrics` saves building it.
    pub fn without_scrape_text(mut self) -> Self {
        self.scrape_text = false;
        *self
            .rendered
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        self
    }

    /// The same mixer, able to give every line's reported value (see
    /// [`LineValues`]), for sinks that send samples.
    pub fn with_line_values(mut self, sim: &Simulation) -> Self {
        self.lines = Some(LineLayout::new(&self.scrape, sim));
        self
    }

    /// How many lines [`Self::line_values`] gives (0 without line values).
    pub fn line_count(&self) -> usize {
        self.lines.as_ref().map_or(0, LineLayout::len)
    }

    /// Every line's reported value as `sim` stands; empty without line values.
    pub fn line_values(&self, sim: &Simulation) -> LineValues {
        self.lines
            .as_ref()
            .map(|layout| layout.values(sim))
            .unwrap_or_default()
    }

    /// Calls `line` with the labels of each line of [`LineValues`], in order,
    /// sorted by name, `__name__` and `job` included. Nothing without line values.
    pub fn for_each_line_labels(&self, sim: &Simulation, mut line: impl FnMut(&[(&str, &str)])) {
        if let Some(layout) = &self.lines {
            layout.for_each_labels(
                sim,
                None,
                |host| self.job_label(host),
                |_, labels| line(labels),
            );
        }
    }

    /// The lines of `hosts`' series with their labels (as they stand: after a
    /// respawn, the new identity's).
    pub fn line_labels_of(&self, sim: &Simulation, hosts: &[HostId]) -> Vec<(usize, LineLabels)> {
        let mut relabeled = Vec::new();
        if let Some(layout) = &self.lines {
            layout.for_each_labels(
                sim,
                Some(hosts),
                |host| self.job_label(host),
                |index, labels| {
                    let owned = labels
                        .iter()
                        .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
                        .collect();
                    relabeled.push((index, owned));
                },
            );
        }
        relabeled
    }

    /// The `job` label of `host`'s series.
    fn job_label(&self, host: HostId) -> (&'static str, String) {
        (
            "job",
            self.jobs[self.job_of_host[host.index()]].name.clone(),
        )
    }

    /// Renders the labels of the hosts that respawned since the last call
    /// again (see [`Simulation::identity_generation`]); returns those hosts.
    pub fn follow_respawns(&mut self, sim: &Simulation) -> Vec<HostId> {
        if sim.identity_generation() == self.identity_generation {
            return Vec::new();
        }
        self.identity_generation = sim.identity_generation();
        let mut respawned = Vec::new();
        for job in &mut self.jobs {
            for &host in &job.hosts {
                let view = sim.host(host);
                if view.incarnation() == self.incarnations[host.index()] {
                    continue;
                }
                self.incarnations[host.index()] = view.incarnation();
                job.exposition.relabel_host(view, None);
                self.scrape.relabel_host(view, Some(("job", &job.name)));
                respawned.push(host);
            }
        }
        *self
            .rendered
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        respawned
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Every job's series with a `job` label: what a Prometheus scraping the
    /// Pushgateway (`honor_labels: true`) stores.
    pub fn scrape_exposition(&self) -> &Exposition {
        &self.scrape
    }

    /// Where readers of snapshots ask for a page of hosts.
    pub fn page_requests(&self) -> &PageRequests {
        &self.page_requests
    }

    /// Where readers of snapshots ask for a fresh status report.
    pub fn status_requests(&self) -> &StatusRequests {
        &self.status_requests
    }

    /// What wakes the thread that builds snapshots when a reader asks for
    /// something; that thread registers itself with it.
    pub fn doorbell(&self) -> &Doorbell {
        &self.doorbell
    }

    /// Everything the sinks need from the simulation as it stands, with a
    /// fresh status report.
    pub fn snapshot(&self, sim: &Simulation, options: &StatusOptions) -> Arc<Snapshot> {
        let status = Arc::new(StatusReport::new(sim, &self.jobs, options));
        self.snapshot_with_status(sim, status)
    }

    /// The snapshot a run starts with: its status report has counts but no
    /// hosts (readers ask for a full one, built on the simulation's thread),
    /// so a large fleet's first snapshot goes out sooner.
    pub fn starting_snapshot(&self, sim: &Simulation, options: &StatusOptions) -> Arc<Snapshot> {
        let status = Arc::new(StatusReport::summary(sim, &self.jobs, options));
        self.snapshot_with_status(sim, status)
    }

    /// A snapshot that carries `status` (a report built earlier) as it is.
    pub fn snapshot_with_status(
        &self,
        sim: &Simulation,
        status: Arc<StatusReport>,
    ) -> Arc<Snapshot> {
        let rendered = self.texts(sim);
        let hosts_alive = rendered.live_hosts.iter().sum();
        let jobs = self
            .jobs
            .iter()
            .zip(rendered.jobs)
            .zip(rendered.live_hosts)
            .map(|((job, text), live_hosts)| JobSnapshot {
                name: job.name.clone(),
                live_hosts,
                text,
            })
            .collect();
        Arc::new(Snapshot {
            time: sim.now(),
            jobs,
            scrape_text: rendered.scrape,
            status,
            finished: sim.is_finished(),
            duration_reached: false,
            status_requests: self.status_requests.clone(),
            figures: Arc::new(RunFigures::of(sim, hosts_alive)),
            page: None,
            page_requests: self.page_requests.clone(),
        })
    }
}
