//! A session: turns the emulation's settings into a prepared run (plugins loaded,
//! the config found, validated and built into a simulation) and runs it. The
//! policy between the command line and the engine lives here: which limits apply
//! to which plugin, the seed, the default job name, the push interval.
//!
//! It knows nothing of flags or exit statuses (that is `cli`) and does no I/O of
//! its own beyond what `configs`, `plugin` and `sink` do for it.

mod error;
mod limits;
mod packs;
mod summary;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use error::SessionError;
pub use packs::load_pack;
pub use summary::CheckSummary;

use crate::configs::{ConfigCatalog, ConfigRequest, ListedConfig, default_configs_dir};
use crate::mixer::{Mixer, StatusOptions};
use crate::model::{Endpoint, FaultPolicy, MixerConfig, validate};
use crate::plugin::{Limits, Plugin, PluginRuntime};
use crate::replay::history::{History, Origin, Written};
use crate::replay::preview::Preview;
use crate::replay::text::TextOut;
use crate::replay::{ReplayStats, replay};
use crate::run::{Pace, RunOptions, RunOutcome};
use crate::sim::{HOSTS_LOGGED_ONE_BY_ONE, Simulation, Spread, VirtualTime};
use crate::sink::{HttpTarget, PushOptions, PushTarget, SinkError, SinkOptions};

/// Push interval when neither the command line nor the config sets one.
pub const DEFAULT_PUSH_INTERVAL: f64 = 15.0;

/// Everything a run is told from outside (the command line and `PME_*`).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub config: ConfigRequest,
    /// Seed of every random stream; `None` for one from the clock.
    pub seed: Option<u64>,
    /// Wins over the config's.
    pub fault_policy: Option<FaultPolicy>,
    /// Threads that step series groups; `None` for the machine's cores.
    pub threads: Option<usize>,
    /// Wins over the config's; else `<config>_<start time>`.
    pub default_job_name: Option<String>,
    /// Seconds; wins over the config's; else [`DEFAULT_PUSH_INTERVAL`].
    pub push_interval: Option<f64>,
    pub push: Option<PushTarget>,
    /// Remote-write targets, besides those the config lists.
    pub remote_write: Vec<Endpoint>,
    pub listen: Option<SocketAddr>,
    pub status_interval: Option<Duration>,
    pub show_metrics_status: bool,
    /// Stop after this long (virtual time).
    pub duration: Option<Duration>,
    /// How fast virtual time goes, and where it starts on the wall clock.
    pub pace: Pace,
    /// The default job is the config's name, without the start time: a
    /// backfill or preview gives the same output for the same input.
    pub untimed_default_job: bool,
}

/// The plugins and configs a session can use.
pub struct Session {
    runtime: PluginRuntime,
    /// The built-in pack first, then the `--plugin` files in order.
    plugins: Vec<Plugin>,
    catalog: ConfigCatalog,
}

impl Session {
    /// Loads the built-in pack and `plugin_files` under `limits`, and finds the
    /// configs (`configs_dir`, else `./configs` or `$PME_CONFIGS_DIR`).
    pub fn open(
        plugin_files: &[PathBuf],
        configs_dir: Option<PathBuf>,
        limits: Limits,
    ) -> Result<Self, SessionError> {
        let runtime = PluginRuntime::new(limits)?;
        let mut plugins = vec![runtime.builtin()?];
        for file in plugin_files {
            plugins.push(load_pack(&runtime, &file.to_string_lossy(), None)?);
        }
        let configs_dir = configs_dir.or_else(default_configs_dir);
        let catalog = ConfigCatalog::discover(&runtime, configs_dir, &plugins[1..])?;
        Ok(Self {
            runtime,
            plugins,
            catalog,
        })
    }

    /// Every config the session can run (`--list-configs`).
    pub fn list_configs(&self) -> Vec<ListedConfig> {
        self.catalog.list()
    }

    /// Loads, validates and builds the requested config: every series is created
    /// with its parameters, so a run that is prepared will start.
    pub fn prepare(mut self, mut settings: Settings) -> Result<PreparedRun, SessionError> {
        let request = &settings.config;
        tracing::info!("Loading configuration: <{}>", request.config);
        if !request.args.is_empty() {
            tracing::info!("Config arguments: {}", format_args_map(&request.args));
        }
        let mut config = self.catalog.load(&self.runtime, request)?;
        let seed = settings.seed.unwrap_or_else(random_seed);
        for host in &mut config.hosts {
            host.fill_identity(seed);
        }
        self.load_config_packs(&config)?;
        let problems = validate(&config);
        if !problems.is_empty() {
            return Err(SessionError::Invalid {
                config: config.name.clone(),
                problems,
            });
        }
        limits::apply(&mut self.plugins, &config.plugin_limits)?;
        settings
            .remote_write
            .extend(config.remote_write.iter().cloned());
        check_endpoints(&settings)?;
        tracing::info!("Seed: {seed} (pass --seed {seed} to repeat this run)");
        log_created_hosts(&config);
        let fault_policy = settings
            .fault_policy
            .or(config.fault_policy)
            .unwrap_or_default();
        let mut spread = Spread::default();
        if let Some(threads) = settings.threads {
            spread.threads = threads;
        }
        let simulation = Simulation::with_spread(&config, &self.plugins, seed, spread)
            .map_err(|source| SessionError::Simulation {
                config: config.name.clone(),
                source: Box::new(source),
            })?
            .with_fault_policy(fault_policy);
        let default_job = settings
            .default_job_name
            .clone()
            .or(config.default_job_name.clone())
            .unwrap_or_else(|| {
                if settings.untimed_default_job {
                    config.name.clone()
                } else {
                    timestamped_job_name(&config.name)
                }
            });
        let mut mixer = Mixer::new(&simulation, &default_job);
        if settings.push.is_none() {
            mixer = mixer.without_push_bodies();
        }
        if settings.listen.is_none() {
            mixer = mixer.without_scrape_text();
        }
        if !settings.remote_write.is_empty() {
            mixer = mixer.with_line_values(&simulation);
        }
        tracing::info!(
            target: "promemu::mixer",
            "Created MetricsMixer with {} hosts across {} job groups",
            config.hosts.len(),
            mixer.jobs().len()
        );
        let push_interval = settings
            .push_interval
            .or(config.push_interval)
            .unwrap_or(DEFAULT_PUSH_INTERVAL);
        // The model is not kept: the simulation holds what it needs.
        Ok(PreparedRun {
            summary: CheckSummary::new(
                &config,
                &mixer,
                &simulation,
                &self.plugins,
                seed,
                push_interval,
            ),
            options: run_options(&settings, push_interval),
            settings,
            simulation,
            mixer,
        })
    }

    /// Loads the packs a config lists (`plugins = [...]`), those not already
    /// loaded (the same bytes given with `--plugin`, say); a listed pack comes
    /// after the command line's, so its scenarios win a shared name.
    fn load_config_packs(&mut self, config: &MixerConfig) -> Result<(), SessionError> {
        for text in &config.plugins {
            let plugin = load_pack(&self.runtime, text, config.folder.as_deref())?;
            let digest = &plugin.identity().digest;
            if self
                .plugins
                .iter()
                .all(|loaded| &loaded.identity().digest != digest)
            {
                tracing::info!(
                    "Loaded pack {} for the config ({})",
                    plugin.name(),
                    plugin.identity().short()
                );
                self.plugins.push(plugin);
            }
        }
        Ok(())
    }
}

/// A run ready to start.
pub struct PreparedRun {
    settings: Settings,
    simulation: Simulation,
    mixer: Mixer,
    summary: CheckSummary,
    options: RunOptions,
}

impl PreparedRun {
    /// What would run, in figures (`--check`).
    pub fn summary(&self) -> &CheckSummary {
        &self.summary
    }

    /// Runs the emulation on its own async runtime until it ends.
    pub fn run(self) -> Result<RunOutcome, SessionError> {
        self.log_banner();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(SessionError::AsyncRuntime)?;
        let outcome = runtime.block_on(crate::run::run(self.simulation, self.mixer, self.options));
        // A run cut short by a second signal leaves work behind on purpose: never
        // wait for it.
        runtime.shutdown_background();
        Ok(outcome?)
    }

    /// Replays the emulation from virtual time zero (at `origin` on the wall
    /// clock) over `span`, as fast as it goes, and writes every series' samples
    /// as OpenMetrics text to `out` (a [`crate::replay::text::Writer`], or a
    /// [`crate::replay::direct_file::DirectFile`]); `progress` hears how far it
    /// got.
    pub fn backfill(
        mut self,
        origin: Origin,
        span: VirtualTime,
        out: &mut impl TextOut,
        progress: impl FnMut(VirtualTime, &ReplayStats, u64),
    ) -> Result<(ReplayStats, Written), SessionError> {
        let mut progress = progress;
        let mut history = History::new(self.mixer.scrape_exposition(), &self.simulation, origin);
        history.reserve_for(span, &self.simulation);
        let samples = std::cell::Cell::new(0);
        let mixer = &mut self.mixer;
        let stats = replay(
            &mut self.simulation,
            span,
            |sim, journal| {
                let respawned = mixer.follow_respawns(sim);
                if !respawned.is_empty() {
                    history.relabel(mixer.scrape_exposition(), sim, &respawned)?;
                }
                let recorded = history.record(sim, journal);
                samples.set(history.samples());
                recorded
            },
            |time, stats| progress(time, stats, samples.get()),
        )
        .map_err(SessionError::Backfill)?;
        let written = history.write_to(out).map_err(SessionError::Backfill)?;
        Ok((stats, written))
    }

    /// Replays the emulation over `span`, as fast as it goes, keeping the values
    /// of every metric (or only of `metric`) for a chart or sparklines.
    pub fn preview(
        mut self,
        span: VirtualTime,
        metric: Option<&str>,
    ) -> Result<Preview, SessionError> {
        let mut preview = Preview::new(&self.simulation, span, metric)?;
        let Ok(_) = replay(
            &mut self.simulation,
            span,
            |sim, journal| preview.record(sim, journal),
            |_, _| {},
        );
        Ok(preview)
    }

    fn log_banner(&self) {
        let args = &self.settings.config.args;
        tracing::info!("------------------------------");
        tracing::info!(
            "Starting metrics emulation with <{}> hosts",
            self.summary.hosts
        );
        tracing::info!("Configuration: <{}>", self.summary.config);
        if !args.is_empty() {
            tracing::info!("Config arguments: {}", format_args_map(args));
        }
        match &self.settings.push {
            Some(push) => tracing::info!("Pushgateway URL: <{}>", push.endpoint.url),
            None => tracing::info!("Pushgateway: off"),
        }
        tracing::info!("Press Ctrl+C to stop");
        tracing::info!("------------------------------");
        tracing::info!(target: "promemu::mixer", "Starting MetricsMixer...");
    }
}

fn run_options(settings: &Settings, push_interval: f64) -> RunOptions {
    RunOptions {
        sinks: SinkOptions {
            push: settings.push.as_ref().map(|target| PushOptions {
                target: target.clone(),
                interval: Duration::from_secs_f64(push_interval),
            }),
            remote_write: settings.remote_write.clone(),
            listen: settings.listen,
            status_interval: settings.status_interval,
            show_metrics_status: settings.show_metrics_status,
        },
        stop_after: settings.duration.map(VirtualTime::from_duration),
        pace: settings.pace,
        status: StatusOptions {
            pushgateway_url: settings.push.as_ref().map(|push| push.endpoint.url.clone()),
            push_interval,
            show_metrics: settings.show_metrics_status,
        },
    }
}

/// Reads every sink endpoint's credentials, certificates and headers, so that
/// a bad one stops the run before it starts (and `--check` finds it).
fn check_endpoints(settings: &Settings) -> Result<(), SessionError> {
    let timeout = Duration::from_secs(1);
    if let Some(push) = &settings.push {
        HttpTarget::open("Pushgateway", &push.endpoint, timeout).map_err(SinkError::from)?;
    }
    for endpoint in &settings.remote_write {
        HttpTarget::open("remote-write endpoint", endpoint, timeout).map_err(SinkError::from)?;
    }
    Ok(())
}

/// The original's "Created host" line per host; past
/// [`HOSTS_LOGGED_ONE_BY_ONE`] hosts a count and a few of them.
fn log_created_hosts(config: &MixerConfig) {
    let hosts = &config.hosts;
    let line = |host: &crate::model::HostConfig| {
        format!("<{}>: {} / {}", host.name, host.host, host.address)
    };
    if hosts.len() <= HOSTS_LOGGED_ONE_BY_ONE {
        for host in hosts {
            tracing::info!(target: "promemu::sim", "Created host {}", line(host));
        }
        return;
    }
    let examples: Vec<String> = hosts.iter().take(3).map(line).collect();
    tracing::info!(
        target: "promemu::sim",
        "Created {} hosts with {} series, e.g. {}, ..., {}",
        hosts.len(),
        hosts.iter().map(|host| host.metrics.len()).sum::<usize>(),
        examples.join(", "),
        hosts.last().map(line).unwrap_or_default()
    );
}

/// The original's default job name: `<config>_<local start time>`.
fn timestamped_job_name(config: &str) -> String {
    format!(
        "{config}_{}",
        chrono::Local::now().format("%Y-%m-%dT%H-%M-%S%.6f")
    )
}

/// `--config-args` the way the original logged them: `{'key': value, ...}`.
fn format_args_map(args: &[(String, String)]) -> String {
    let pairs: Vec<String> = args
        .iter()
        .map(|(key, value)| format!("'{key}': {value}"))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// A seed from the wall clock, for runs without `--seed`.
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}
