//! The main job: turn the run flags into session settings, then list, check or run.

use std::path::PathBuf;
use std::time::Duration;

use super::{BadFlag, RunArgs};
use crate::run::{Pace, unix_millis};
use crate::session::{Session, Settings};
use crate::sink::PushTarget;

/// Runs the emulation as the flags say; returns the exit status.
pub fn run(args: &RunArgs, plugin_files: &[PathBuf]) -> anyhow::Result<u8> {
    let session = args.config.open(plugin_files)?;
    if args.list_configs {
        super::print(&list_configs(&session))?;
        return Ok(0);
    }
    let prepared = session.prepare(settings(args)?)?;
    if args.check {
        super::print(&prepared.summary().to_string())?;
        return Ok(0);
    }
    // Every way a run ends by itself is a success, a clean stop on a signal too.
    let outcome = prepared.run()?;
    Ok(outcome.cut_short.map_or(0, |signal| signal.exit_code()))
}

/// `--list-configs`: one aligned line per config.
fn list_configs(session: &Session) -> String {
    let listed = session.list_configs();
    let width = listed
        .iter()
        .map(|entry| entry.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::from("Available configurations:\n");
    for entry in listed {
        let aliases = if entry.aliases.is_empty() {
            String::new()
        } else {
            format!(" (also: {})", entry.aliases.join(", "))
        };
        out.push_str(&format!(
            "  {:width$}  {}{aliases} [{}]\n",
            entry.name, entry.description, entry.origin
        ));
    }
    out
}

fn settings(args: &RunArgs) -> anyhow::Result<Settings> {
    let start = match args.start_time {
        Some(instant) => Some(
            instant
                .resolve(unix_millis())
                .map_err(|err| BadFlag::new("--start-time", err))?,
        ),
        None => None,
    };
    Ok(Settings {
        push_interval: args.push_interval,
        push: (!args.no_push).then(|| PushTarget {
            endpoint: args.push_endpoint.endpoint(&args.pushgateway_url),
            cleanup_on_start: args.cleanup_on_start,
            cleanup_on_finish: args.cleanup_on_finish,
        }),
        remote_write: args
            .remote_write_urls
            .iter()
            .map(|url| args.remote_write_endpoint.endpoint(url))
            .collect(),
        listen: (!args.no_listen).then_some(args.listen),
        status_interval: (args.status_interval > 0.0)
            .then(|| Duration::from_secs_f64(args.status_interval)),
        show_metrics_status: args.show_metrics_status,
        duration: args.duration.map(Duration::from_secs_f64),
        pace: Pace {
            speed: args.speed,
            start,
        },
        ..args.config.settings()
    })
}
