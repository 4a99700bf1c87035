//! Log lines in the original's shape: `18:10:57 INFO/MetricsMixer: message`.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Installs the logger: `PME_LOG` (an env-filter) wins, else info, or with `debug`
/// the emulator's own debug lines (libraries stay at info: their connection chatter
/// would drown it; `PME_LOG=debug` shows everything).
pub fn init(debug: bool) {
    let default = if debug { "info,promemu=debug" } else { "info" };
    let filter = EnvFilter::try_from_env("PME_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .event_format(OriginalFormat)
        .init();
}

/// The component name the original printed for each part of the program.
fn component(target: &str) -> &str {
    let mut parts = target.split("::");
    match (parts.next(), parts.next()) {
        (Some("promemu"), Some("cli" | "session" | "run" | "sink")) => "main",
        (Some("promemu"), Some("sim")) => "EmulatedHost",
        (Some("promemu"), Some("mixer")) => "MetricsMixer",
        (Some("promemu"), Some("plugin")) => "Plugin",
        (Some("promemu"), Some("configs")) => "Loader",
        (Some(first), _) => first,
        _ => target,
    }
}

struct OriginalFormat;

impl<S, N> FormatEvent<S, N> for OriginalFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        write!(
            writer,
            "{} {}/{}: ",
            chrono::Local::now().format("%H:%M:%S"),
            metadata.level(),
            component(metadata.target())
        )?;
        context
            .field_format()
            .format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
