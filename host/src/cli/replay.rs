//! `promemu backfill` and `promemu preview`: a config replayed ahead of the wall
//! clock, written as OpenMetrics history or drawn.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::instant::format_instant;
use super::{BackfillArgs, BadFlag, PreviewArgs};
use crate::replay::direct_file::DirectFile;
use crate::replay::history::Origin;
use crate::replay::text::Writer;
use crate::run::unix_millis;
use crate::session::Settings;
use crate::sim::VirtualTime;

/// Writes the emulation between `--from` and `--to`; returns the exit status.
pub fn backfill(args: &BackfillArgs, plugin_files: &[PathBuf]) -> anyhow::Result<u8> {
    let now = unix_millis() / 1000 * 1000;
    let from = args
        .from
        .resolve(now)
        .map_err(|err| BadFlag::new("--from", err))?;
    let to = args
        .to
        .resolve(now)
        .map_err(|err| BadFlag::new("--to", err))?;
    if from >= to {
        return Err(BadFlag::new(
            "--from",
            format!(
                "{} is not before --to {}",
                format_instant(from),
                format_instant(to)
            ),
        )
        .into());
    }
    let span = VirtualTime::from_millis(to - from);
    let prepared = args
        .config
        .open(plugin_files)?
        .prepare(untimed(args.config.settings()))?;
    tracing::info!(
        "Backfilling {} to {} ({span} of virtual time)",
        format_instant(from),
        format_instant(to)
    );
    let bar = progress_bar(span);
    let started = Instant::now();
    let progress = |time: VirtualTime, _: &_, samples: u64| {
        bar.set_position(time.as_millis() / 1000);
        let rate = samples as f64 / started.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!("{samples} samples, {rate:.0}/s"));
    };
    let (stats, written) = match args.out.as_deref().filter(|out| *out != Path::new("-")) {
        Some(path) if is_special_file(path) => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            prepared.backfill(Origin(from), span, &mut Writer(file), progress)?
        }
        Some(path) => {
            let mut file = AtomicFile::create(path)?;
            let done = prepared.backfill(Origin(from), span, &mut file.direct, progress)?;
            file.commit()?;
            done
        }
        None => {
            let stdout = std::io::stdout().lock();
            prepared.backfill(Origin(from), span, &mut Writer(stdout), progress)?
        }
    };
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        "Wrote {} samples of {} series ({} bytes, up to {}) in {seconds:.2} s: {:.0} samples/s",
        written.samples,
        written.series,
        written.bytes,
        stats.reached,
        written.samples as f64 / seconds.max(1e-9)
    );
    if stats.hosts_ended_early {
        tracing::warn!(
            "Every host reached its TTL by {}: the last {} of the span have no samples; \
             a longer ttl fills them (the built-in configs take --config-args hosts_ttl=DURATION, or host_ttl)",
            stats.reached,
            span.saturating_sub(stats.reached)
        );
    }
    Ok(0)
}

/// Draws the config's metrics over `--for`; returns the exit status.
pub fn preview(args: &PreviewArgs, plugin_files: &[PathBuf]) -> anyhow::Result<u8> {
    let span = VirtualTime::from_duration(Duration::from_secs_f64(args.span));
    let prepared = args
        .config
        .open(plugin_files)?
        .prepare(untimed(args.config.settings()))?;
    let preview = prepared.preview(span, args.metric.as_deref())?;
    match &args.out {
        Some(path) => {
            preview
                .draw(path)
                .map_err(crate::session::SessionError::from)?;
            tracing::info!("Drew {} of virtual time into {}", span, path.display());
        }
        None => super::print(&preview.sparklines())?,
    }
    Ok(0)
}

/// Settings for a replay: the default job carries no start time, so the same
/// input gives the same output.
fn untimed(settings: Settings) -> Settings {
    Settings {
        untimed_default_job: true,
        ..settings
    }
}

/// A progress bar in virtual seconds with rate and ETA, on standard error when
/// it is a terminal (hidden otherwise).
fn progress_bar(span: VirtualTime) -> ProgressBar {
    let bar = ProgressBar::new(span.as_millis() / 1000);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:40}] {percent:>3}% of virtual time, {msg}, {elapsed} (ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// Whether `path` is there and not a regular file (a device such as
/// `/dev/null`, a pipe): written in place, never replaced.
fn is_special_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| !meta.is_file() && !meta.is_dir())
}

/// A file written beside its final path and moved there only when complete,
/// so a failed backfill leaves no partial file behind. The text is written
/// through a second handle on it, with direct I/O (see [`DirectFile`]).
struct AtomicFile {
    path: PathBuf,
    temporary: tempfile::NamedTempFile,
    direct: DirectFile,
}

impl AtomicFile {
    fn create(path: &Path) -> anyhow::Result<Self> {
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let temporary = tempfile::NamedTempFile::new_in(folder)
            .with_context(|| format!("cannot write into {}", folder.display()))?;
        let direct = DirectFile::create(temporary.path())
            .with_context(|| format!("cannot write {}", temporary.path().display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            temporary,
            direct,
        })
    }

    /// Moves the written file to its path (the backfill finished it).
    fn commit(self) -> anyhow::Result<()> {
        self.temporary
            .persist(&self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(())
    }
}
