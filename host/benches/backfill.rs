//! Backfill throughput: samples written per second and per CPU second (a
//! backfill runs on one core), to a null sink and to a file, for a fleet of
//! sines, walks and trends and for the default config (histograms, events).
//! Prints numbers; asserts nothing.
//!
//!     cargo bench -p promemu --bench backfill              # 10 000 series, 2 h
//!     cargo bench -p promemu --bench backfill -- 100000    # another fleet size

use std::io::Write;
use std::time::Instant;

use promemu::configs::{ConfigRequest, DEFAULT_CONFIG};
use promemu::plugin::Limits;
use promemu::replay::history::Origin;
use promemu::session::{Session, Settings};
use promemu::sim::VirtualTime;

mod common;
use common::{METRICS_PER_HOST, SCENARIOS, cpu_seconds, fleet_toml, machine, row, size_arg};

/// 2026-11-29T00:00:00Z
const ORIGIN: Origin = Origin(1_795_910_400_000);

fn main() {
    let series = size_arg(10_000);
    println!("backfill: machine {}", machine());
    println!("{:<52} {:>16}   target", "figure", "measured");
    let folder = tempfile::tempdir().expect("a temporary folder");
    let fleet = folder.path().join("fleet.toml");
    std::fs::write(&fleet, fleet_toml(series / METRICS_PER_HOST, &SCENARIOS)).expect("fleet");
    let fleet = fleet.display().to_string();
    let two_hours = VirtualTime::from_millis(2 * 3_600_000);
    for (name, config, args) in [
        (format!("{series} series"), fleet.as_str(), vec![]),
        (
            "default config (histograms, events)".to_string(),
            DEFAULT_CONFIG,
            vec![("hosts_ttl".to_string(), "3h".to_string())],
        ),
    ] {
        measure(
            &format!("{name}, 2 h, null sink"),
            config,
            &args,
            two_hours,
            None,
        );
        let file = folder.path().join("out.om");
        measure(
            &format!("{name}, 2 h, file"),
            config,
            &args,
            two_hours,
            Some(&file),
        );
        let _ = std::fs::remove_file(file);
    }
}

/// Backfills `span` of `config` into a null sink or `file`, and prints the rate.
fn measure(
    what: &str,
    config: &str,
    args: &[(String, String)],
    span: VirtualTime,
    file: Option<&std::path::Path>,
) {
    let prepared = Session::open(&[], None, Limits::default())
        .expect("session")
        .prepare(Settings {
            config: ConfigRequest {
                config: config.into(),
                args: args.to_vec(),
                ..ConfigRequest::default()
            },
            seed: Some(1),
            untimed_default_job: true,
            ..Settings::default()
        })
        .expect("the config prepares");
    let me = std::process::id();
    let cpu_before = cpu_seconds(me);
    let started = Instant::now();
    let written = match file {
        Some(path) => {
            let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("file"));
            let (_, written) = prepared
                .backfill(ORIGIN, span, &mut out, |_, _, _| {})
                .expect("backfill");
            out.flush().expect("flush");
            written
        }
        None => {
            prepared
                .backfill(ORIGIN, span, std::io::sink(), |_, _, _| {})
                .expect("backfill")
                .1
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let cpu = (cpu_seconds(me) - cpu_before).max(0.01);
    row(
        what,
        format!("{:.2} M/s", written.samples as f64 / wall / 1e6),
        &format!(
            "{:.2} M samples/s per CPU second (>= 10 M), {} samples, {:.0} MB, {wall:.2} s",
            written.samples as f64 / cpu / 1e6,
            written.samples,
            written.bytes as f64 / 1e6
        ),
    );
}
