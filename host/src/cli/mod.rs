//! The command line: flags, `PME_*` environment variables and subcommands. It
//! parses, sets up logging and dispatches; the work happens in the library modules.

mod emulate;
mod endpoints;
mod instant;
mod logging;
mod plugins;
mod replay;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::plugin::PluginError;
use crate::run::Speed;
use crate::session::SessionError;

/// The fastest `--speed` factor: a century a second.
const MAX_SPEED: f64 = 3.2e9;

/// Emulates fleets of hosts that emit realistic Prometheus metrics.
#[derive(Debug, Parser)]
#[command(name = "promemu", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// A plugin component (.wasm) offering scenarios or config builders; repeatable.
    #[arg(long = "plugin", value_name = "FILE", global = true)]
    pub plugins: Vec<PathBuf>,

    /// Log debug details.
    #[arg(long = "debug", env = "PME_DEBUG_MODE", default_value = "false", value_parser = BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", global = true)]
    pub debug: bool,

    #[command(flatten)]
    pub run: RunArgs,
}

/// Flags of the emulation itself (no subcommand).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// List the available configurations and exit.
    #[arg(long)]
    pub list_configs: bool,

    /// Load and check the config and plugins as a run would (every scenario
    /// created with its parameters), print a summary and exit: 0 if it would
    /// run, 2 if not. Nothing is pushed or served.
    #[arg(long)]
    pub check: bool,

    #[command(flatten)]
    pub config: ConfigArgs,

    /// Pushgateway to push every job to.
    #[arg(
        long,
        env = "PME_PUSHGATEWAY_URL",
        default_value = "http://localhost:9091"
    )]
    pub pushgateway_url: String,

    /// Do not push anywhere (serve /metrics only).
    #[arg(long)]
    pub no_push: bool,

    #[command(flatten)]
    pub push_endpoint: endpoints::PushEndpointArgs,

    /// Send every series to this Prometheus remote-write receiver too
    /// (e.g. http://localhost:9090/api/v1/write); repeatable.
    #[arg(
        long = "remote-write-url",
        env = "PME_REMOTE_WRITE_URL",
        value_delimiter = ',',
        value_name = "URL"
    )]
    pub remote_write_urls: Vec<String>,

    #[command(flatten)]
    pub remote_write_endpoint: endpoints::RemoteWriteEndpointArgs,

    /// Seconds between pushes of each job (default: the config's, else 15).
    #[arg(long, env = "PME_PUSH_INTERVAL", value_parser = parse_positive_seconds_arg)]
    pub push_interval: Option<f64>,

    /// Delete this run's job groups from the Pushgateway before the first push
    /// (`--cleanup-on-start=false` to keep them).
    #[arg(long, env = "PME_PUSHGATEWAY_CLEANUP_ON_START", default_value = "true", value_parser = BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub cleanup_on_start: bool,

    /// Delete this run's job groups from the Pushgateway when stopping
    /// (`--cleanup-on-finish=false` to leave them for inspection).
    #[arg(long, env = "PME_PUSHGATEWAY_CLEANUP_ON_FINISH", default_value = "true", value_parser = BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub cleanup_on_finish: bool,

    /// Seconds between status reports in the log; 0 for none.
    #[arg(long, env = "PME_SHOW_STATUS_INTERVAL_SEC", default_value = "30", value_parser = parse_seconds_arg)]
    pub status_interval: f64,

    /// Include every metric's value in status reports.
    #[arg(long, env = "PME_SHOW_METRICS_STATUS", default_value = "false", value_parser = BoolishValueParser::new(), num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub show_metrics_status: bool,

    /// Stop after this much virtual time (e.g. 30s, 10m).
    #[arg(long, value_parser = parse_seconds_arg)]
    pub duration: Option<f64>,

    /// Virtual seconds per wall second (e.g. 60: an hour a minute), or `max`
    /// for as fast as the simulation steps.
    #[arg(long, env = "PME_SPEED", default_value = "1", value_parser = parse_speed)]
    pub speed: Speed,

    /// Where virtual time starts on the wall clock: RFC 3339 or before now
    /// (-2h). A start in the past catches up at --speed, then goes on in real time.
    #[arg(long, allow_hyphen_values = true, value_parser = instant::parse_instant)]
    pub start_time: Option<instant::Instant>,

    /// Address of the local /metrics endpoint.
    #[arg(long, env = "PME_LISTEN", default_value = "127.0.0.1:9464")]
    pub listen: SocketAddr,

    /// Do not serve /metrics.
    #[arg(long)]
    pub no_listen: bool,
}

/// Which config to build and how: shared by a run, `backfill` and `preview`.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// A config name (see --list-configs), or a path to a .toml file or a builder .wasm.
    #[arg(long, env = "PME_CONFIG", default_value = crate::configs::DEFAULT_CONFIG)]
    pub config: String,

    /// The builder to use when a config plugin offers several (e.g. HostsLoadWithPeaksConfig).
    #[arg(long = "class")]
    pub class: Option<String>,

    /// Arguments for the config: key=value ...
    #[arg(long = "config-args", value_name = "KEY=VALUE", num_args = 1.., value_parser = parse_key_value)]
    pub config_args: Vec<(String, String)>,

    /// Folder of TOML configs and builder plugins.
    #[arg(long, env = "PME_CONFIGS_DIR")]
    pub configs_dir: Option<PathBuf>,

    /// Seed for every random stream; the same seed gives the same values.
    #[arg(long, env = "PME_SEED")]
    pub seed: Option<u64>,

    /// Name of the default Pushgateway job (default: <config>_<start time>;
    /// <config> for a backfill or preview).
    #[arg(long, env = "PME_DEFAULT_JOB_NAME")]
    pub default_job_name: Option<String>,

    /// What happens to a series whose scenario faults: backoff, hold or drop.
    #[arg(long, env = "PME_FAULT_POLICY")]
    pub fault_policy: Option<crate::model::FaultPolicy>,

    /// Threads that build and step a large fleet's series groups (default: the machine's cores);
    /// the values do not depend on it.
    #[arg(long, env = "PME_THREADS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

impl ConfigArgs {
    /// The session settings these flags make, with nothing to push or serve.
    fn settings(&self) -> crate::session::Settings {
        crate::session::Settings {
            config: crate::configs::ConfigRequest {
                config: self.config.clone(),
                class: self.class.clone(),
                args: self.config_args.clone(),
            },
            seed: self.seed,
            fault_policy: self.fault_policy,
            threads: self.threads.map(usize::from),
            default_job_name: self.default_job_name.clone(),
            ..crate::session::Settings::default()
        }
    }

    /// Opens a session with the built-in pack and `plugin_files`.
    fn open(&self, plugin_files: &[PathBuf]) -> Result<crate::session::Session, SessionError> {
        crate::session::Session::open(plugin_files, self.configs_dir.clone(), self.limits.limits())
    }
}

/// Sandbox limits for every plugin (a config's `plugin_limits` may override them per plugin).
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Wall time one call into a plugin may take (e.g. 100ms).
    #[arg(long, env = "PME_CALL_DEADLINE", default_value = "100ms", value_parser = parse_positive_seconds_arg)]
    pub call_deadline: f64,

    /// Memory one plugin instance may use (e.g. 64MiB).
    #[arg(long, env = "PME_PLUGIN_MEMORY", default_value = "64MiB", value_parser = crate::configs::parse_bytes)]
    pub plugin_memory: u64,

    /// Events one step may emit; more are dropped.
    #[arg(long, env = "PME_MAX_EVENTS_PER_STEP", default_value = "64")]
    pub max_events_per_step: usize,

    /// Log bytes one step may write; more are dropped.
    #[arg(long, env = "PME_MAX_LOG_BYTES_PER_STEP", default_value = "16KiB", value_parser = crate::configs::parse_bytes)]
    pub max_log_bytes_per_step: u64,

    /// Share of one core each plugin may use per second of virtual time (e.g. 0.5).
    #[arg(long, env = "PME_PLUGIN_CPU_SHARE", default_value = "0.5", value_parser = parse_cpu_share_arg)]
    pub plugin_cpu_share: f64,
}

impl LimitArgs {
    /// The limits these flags describe.
    pub fn limits(&self) -> crate::plugin::Limits {
        crate::plugin::Limits {
            call_deadline: std::time::Duration::from_secs_f64(self.call_deadline),
            memory_bytes: usize::try_from(self.plugin_memory).unwrap_or(usize::MAX),
            events_per_call: self.max_events_per_step,
            log_bytes_per_call: usize::try_from(self.max_log_bytes_per_step).unwrap_or(usize::MAX),
            cpu_share: self.plugin_cpu_share,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every scenario of the built-in pack and of each --plugin, with parameters.
    Scenarios,
    /// Work with plugin files.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Write the emulation between two instants as OpenMetrics text with
    /// timestamps, for `promtool tsdb create-blocks-from openmetrics`.
    Backfill(BackfillArgs),
    /// Draw a config's metrics over simulated time (PNG, SVG, or sparklines).
    Preview(PreviewArgs),
}

#[derive(Debug, Args)]
pub struct BackfillArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// First instant: RFC 3339 (2026-11-29T08:00:00Z) or before now (-24h).
    #[arg(long, allow_hyphen_values = true, value_parser = instant::parse_instant)]
    pub from: instant::Instant,

    /// Last instant, as --from (default: now).
    #[arg(long, default_value = "now", allow_hyphen_values = true, value_parser = instant::parse_instant)]
    pub to: instant::Instant,

    /// The file to write (default, or `-`: standard output).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// How much virtual time to draw (e.g. 30m, 6h).
    #[arg(long = "for", default_value = "30m", value_parser = parse_positive_seconds_arg)]
    pub span: f64,

    /// Only this metric.
    #[arg(long)]
    pub metric: Option<String>,

    /// A .png or .svg file to draw into (default: sparklines on standard output).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Write a new scenario pack project that builds as generated (its own
    /// copy of the SDK and the contract), with a build.sh and a README.
    New {
        /// The pack's name: lowercase letters, digits, '-' and '_'.
        name: String,
        /// The language of the project.
        #[arg(long, value_enum, default_value = "rust")]
        lang: crate::authoring::Language,
        /// The folder to create the project in (as DIR/NAME).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Print what a WebAssembly file imports and exports and whether it fits the contract.
    Inspect {
        /// The .wasm file.
        file: PathBuf,
    },
    /// Turn a core module built for wasm32-unknown-unknown with wit-bindgen into a
    /// component, and write a project manifest's metadata into a component.
    Componentize {
        /// The core module (or a component, to add metadata to it).
        input: PathBuf,
        /// Where to write the component (may be the input).
        #[arg(short, long)]
        output: PathBuf,
        /// A project manifest whose name, version, description, authors,
        /// license, repository and homepage are written into the component's
        /// metadata: a Cargo.toml ([package]), a pyproject.toml ([project]) or a
        /// package.json.
        #[arg(long, value_name = "MANIFEST")]
        manifest: Option<PathBuf>,
    },
    /// Push a pack to an OCI registry (the layout `wkg oci push` writes).
    Push {
        /// The component.
        file: PathBuf,
        /// Where: HOST[:PORT]/REPOSITORY[:TAG] (an `oci://` prefix is accepted).
        reference: String,
    },
    /// Pull a pack from an OCI registry into the local cache.
    Pull {
        /// HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST] (an `oci://` prefix is accepted).
        reference: String,
    },
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected key=value, got '{text}'")),
    }
}

fn parse_seconds_arg(text: &str) -> Result<f64, String> {
    let seconds = crate::configs::parse_seconds(text)?;
    let longest = crate::model::LONGEST_SECONDS;
    if !(seconds.is_finite() && seconds >= 0.0) {
        Err(format!("expected a finite time, got '{text}'"))
    } else if seconds > longest {
        Err(format!(
            "expected at most {longest} seconds (100 years), got '{text}'"
        ))
    } else {
        Ok(seconds)
    }
}

fn parse_cpu_share_arg(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(share) if crate::model::is_valid_cpu_share(share) => Ok(share),
        _ => Err(format!(
            "expected a share of one core greater than 0 and at most {}, got '{text}'",
            crate::model::MAX_CPU_SHARE
        )),
    }
}

fn parse_speed(text: &str) -> Result<Speed, String> {
    if text.trim() == "max" {
        return Ok(Speed::Max);
    }
    match text.trim().parse::<f64>() {
        Ok(factor) if factor.is_finite() && factor > 0.0 && factor <= MAX_SPEED => {
            Ok(Speed::Factor(factor))
        }
        _ => Err(format!(
            "expected virtual seconds per wall second, greater than 0 and at most {MAX_SPEED}, or 'max'; got '{text}'"
        )),
    }
}

fn parse_positive_seconds_arg(text: &str) -> Result<f64, String> {
    match parse_seconds_arg(text)? {
        seconds if seconds > 0.0 => Ok(seconds),
        _ => Err(format!("expected a time greater than 0, got '{text}'")),
    }
}

/// Parses the command line, runs it and maps the outcome to an exit status:
/// 0 success (including a clean stop on SIGINT or SIGTERM), 2 bad input (flags,
/// configs, plugins), 1 failure while running, 130 / 143 when a second SIGINT /
/// SIGTERM cut the shutdown short.
pub fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    if let (Some(command), Some(flag)) = (matches.subcommand_name(), run_flag_given(&matches)) {
        let mut command_line = Cli::command();
        command_line
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("--{flag} applies to an emulation run, not to the '{command}' command"),
            )
            .exit();
    }
    logging::init(cli.debug);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // The error and its causes on one line, each said once.
            eprintln!("error: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}

/// A flag of the emulation run given on the command line (not from the
/// environment), if any: with a subcommand it would be silently ignored.
fn run_flag_given(matches: &ArgMatches) -> Option<String> {
    matches
        .ids()
        .map(|id| id.as_str())
        .filter(|id| !matches!(*id, "plugins" | "debug"))
        .find(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        .map(|id| id.replace('_', "-"))
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Some(Command::Scenarios) => plugins::list_scenarios(&cli.plugins).map(|()| 0),
        Some(Command::Plugin(PluginCommand::New { name, lang, dir })) => {
            let root = crate::authoring::new_project(&name, lang, &dir)?;
            print(&format!(
                "Created {}: build it with {}/build.sh\n",
                root.display(),
                root.display()
            ))
            .map(|()| 0)
        }
        Some(Command::Plugin(PluginCommand::Inspect { file })) => {
            plugins::inspect(&file).map(|()| 0)
        }
        Some(Command::Plugin(PluginCommand::Componentize {
            input,
            output,
            manifest,
        })) => plugins::componentize(&input, &output, manifest.as_deref()).map(|()| 0),
        Some(Command::Plugin(PluginCommand::Push { file, reference })) => {
            plugins::push(&file, &reference).map(|()| 0)
        }
        Some(Command::Plugin(PluginCommand::Pull { reference })) => {
            plugins::pull(&reference).map(|()| 0)
        }
        Some(Command::Backfill(args)) => replay::backfill(&args, &cli.plugins),
        Some(Command::Preview(args)) => replay::preview(&args, &cli.plugins),
        None => emulate::run(&cli.run, &cli.plugins),
    }
}

/// A flag whose value is wrong in a way its parser cannot see (it depends on
/// another flag, or on the clock): bad input, exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for '{flag}': {message}")]
pub struct BadFlag {
    flag: &'static str,
    message: String,
}

impl BadFlag {
    pub fn new(flag: &'static str, message: impl Into<String>) -> Self {
        Self {
            flag,
            message: message.into(),
        }
    }
}

/// 2 when the error comes from bad input, 1 otherwise.
fn exit_code(err: &anyhow::Error) -> u8 {
    let bad_input = err.chain().any(|cause| {
        cause.is::<BadFlag>()
            || cause
                .downcast_ref::<SessionError>()
                .is_some_and(SessionError::is_bad_input)
            || cause
                .downcast_ref::<PluginError>()
                .is_some_and(PluginError::is_bad_input)
            || cause
                .downcast_ref::<crate::authoring::TemplateError>()
                .is_some_and(crate::authoring::TemplateError::is_bad_input)
    });
    if bad_input { 2 } else { 1 }
}

/// Writes command output to stdout. A closed pipe (`promemu scenarios | head`) is
/// not an error: the reader has what it wanted.
fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    /// The flags in the README's table of run flags, and those of the command.
    #[test]
    fn the_readme_lists_every_run_flag_and_no_other() {
        let readme = include_str!("../../../README.md");
        let mut listed = std::collections::BTreeSet::new();
        for row in readme.lines().filter(|line| line.starts_with("| `--")) {
            let first_cell = row.split(" | ").next().unwrap_or_default();
            for flag in first_cell.split("`--").skip(1) {
                let name: String = flag
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                listed.insert(name);
            }
        }
        // `--remote-write-password[-file]` names two flags.
        for (short, long) in [
            ("remote-write-password", "remote-write-password-file"),
            (
                "remote-write-bearer-token",
                "remote-write-bearer-token-file",
            ),
        ] {
            if listed.contains(short) {
                listed.insert(long.to_string());
            }
        }
        let command = super::Cli::command();
        let actual: std::collections::BTreeSet<String> = command
            .get_arguments()
            .filter_map(|arg| arg.get_long().map(str::to_string))
            .filter(|long| !["help", "version"].contains(&long.as_str()))
            .collect();
        let missing: Vec<_> = actual.difference(&listed).collect();
        let unknown: Vec<_> = listed.difference(&actual).collect();
        assert!(
            missing.is_empty(),
            "flags the README's table leaves out: {missing:?}"
        );
        assert!(
            unknown.is_empty(),
            "README flags the command does not have: {unknown:?}"
        );
    }
}
