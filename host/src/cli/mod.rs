//! The command line: flags, `PME_*` environment variables and subcommands. It only
//! parses and dispatches; the work happens in the library modules.

mod plugins;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::plugin::PluginError;

/// Emulates fleets of hosts that emit realistic Prometheus metrics.
#[derive(Debug, Parser)]
#[command(name = "promemu", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// A plugin component (.wasm) offering scenarios or config builders; repeatable.
    #[arg(long = "plugin", value_name = "FILE", global = true)]
    pub plugins: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every scenario of the built-in pack and of each --plugin, with parameters.
    Scenarios,
    /// Work with plugin files.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Print what a WebAssembly file imports and exports and whether it fits the contract.
    Inspect {
        /// The .wasm file.
        file: PathBuf,
    },
    /// Turn a core module built for wasm32-unknown-unknown with wit-bindgen into a component.
    Componentize {
        /// The core module.
        input: PathBuf,
        /// Where to write the component.
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// Parses the command line, runs it and maps the outcome to an exit status:
/// 0 success, 2 bad input (flags, configs, plugins), 1 failure while running.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Scenarios) => plugins::list_scenarios(&cli.plugins),
        Some(Command::Plugin(PluginCommand::Inspect { file })) => plugins::inspect(&file),
        Some(Command::Plugin(PluginCommand::Componentize { input, output })) => {
            plugins::componentize(&input, &output)
        }
        None => anyhow::bail!("nothing to do yet: try `promemu scenarios`"),
    }
}

/// 2 when the error comes from bad input, 1 otherwise.
fn exit_code(err: &anyhow::Error) -> u8 {
    let bad_input = err.chain().any(|cause| {
        cause
            .downcast_ref::<PluginError>()
            .is_some_and(PluginError::is_bad_input)
            || cause.downcast_ref::<BadInput>().is_some()
    });
    if bad_input { 2 } else { 1 }
}

/// Marks an error as the user's input being wrong (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PME_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
