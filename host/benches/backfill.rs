//! Backfill throughput: samples written per second and per CPU second (a
//! backfill runs on one core), to a null sink and to a file, for a fleet of
//! sines, walks and trends and for the default config (histograms, events).
//! Each figure is measured [`ROUNDS`] times (a shared machine's neighbours
//! come and go): the median and the best are printed. Asserts nothing.
//!
//!     cargo bench -p promemu --bench backfill              # 10 000 series, 2 h
//!     cargo bench -p promemu --bench backfill -- 100000    # another fleet size
//!     cargo bench -p promemu --bench backfill -- fleet file # some figures
//!
//! Words pick the configs (`fleet`, `default`) and the sinks (`null`, `file`);
//! where none of a kind is given, all of that kind are measured.

use std::time::Instant;

use promemu::configs::{ConfigRequest, DEFAULT_CONFIG};
use promemu::plugin::Limits;
use promemu::replay::direct_file::DirectFile;
use promemu::replay::history::Origin;
use promemu::replay::text::Writer;
use promemu::session::{Session, Settings};
use promemu::sim::VirtualTime;

mod common;
use common::{
    METRICS_PER_HOST, SCENARIOS, fleet_toml, machine, own_cpu_seconds, picked_words, row, size_arg,
};

/// Times each figure is measured.
const ROUNDS: usize = 5;

/// 2026-11-29T00:00:00Z
const ORIGIN: Origin = Origin(1_795_910_400_000);

fn main() {
    let series = size_arg(10_000);
    let picked = picked_words();
    let wanted = |part: &str, kind: &[&str]| {
        !kind
            .iter()
            .any(|word| picked.iter().any(|pick| pick == word))
            || picked.iter().any(|pick| pick == part)
    };
    let (configs, sinks) = (["fleet", "default"], ["null", "file"]);
    println!("backfill: machine {}", machine());
    println!("{:<52} {:>16}   target", "figure", "measured");
    let folder = tempfile::tempdir().expect("a temporary folder");
    let fleet = folder.path().join("fleet.toml");
    std::fs::write(&fleet, fleet_toml(series / METRICS_PER_HOST, &SCENARIOS)).expect("fleet");
    let fleet = fleet.display().to_string();
    let hours = |hours: u64| VirtualTime::from_millis(hours * 3_600_000);
    // The default config's 46 series take a day to make as many samples as a
    // fleet's 2 hours (a run long enough for CPU time read in 1/100 s).
    let file = folder.path().join("out.om");
    for (part, name, config, args, span) in [
        (
            "fleet",
            format!("{series} series, 2 h"),
            fleet.as_str(),
            vec![],
            2,
        ),
        (
            "default",
            "default config (histograms, events), 24 h".to_string(),
            DEFAULT_CONFIG,
            vec![("hosts_ttl".to_string(), "25h".to_string())],
            24,
        ),
    ] {
        if !wanted(part, &configs) {
            continue;
        }
        if wanted("null", &sinks) {
            let what = format!("{name}, null sink");
            measure(&what, config, &args, hours(span), None);
        }
        if wanted("file", &sinks) {
            let what = format!("{name}, file");
            measure(&what, config, &args, hours(span), Some(&file));
        }
    }
}

/// Backfills `span` of `config` into a null sink or `file` [`ROUNDS`] times,
/// and prints the rates: wall and CPU, median (best).
fn measure(
    what: &str,
    config: &str,
    args: &[(String, String)],
    span: VirtualTime,
    file: Option<&std::path::Path>,
) {
    let mut rounds: Vec<Round> = (0..ROUNDS)
        .map(|_| backfill_once(config, args, span, file))
        .collect();
    let median_and_best = |rounds: &mut Vec<Round>, rate: fn(&Round) -> f64| {
        rounds.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
        (
            rate(&rounds[rounds.len() / 2]),
            rate(&rounds[rounds.len() - 1]),
        )
    };
    let (wall, best_wall) = median_and_best(&mut rounds, |round| round.samples / round.wall);
    let (cpu, best_cpu) = median_and_best(&mut rounds, |round| round.samples / round.cpu);
    let last = &rounds[0];
    row(
        what,
        format!("{:.2} M/s", wall / 1e6),
        &format!(
            "{:.2} M samples/s per CPU second (>= 10 M), median of {ROUNDS}; best {:.2} (wall {:.2}); {} samples, {:.0} MB, {:.2} s",
            cpu / 1e6,
            best_cpu / 1e6,
            best_wall / 1e6,
            last.samples,
            last.bytes / 1e6,
            last.wall,
        ),
    );
}

/// One backfill's samples, bytes, wall and CPU seconds.
struct Round {
    samples: f64,
    bytes: f64,
    wall: f64,
    cpu: f64,
}

fn backfill_once(
    config: &str,
    args: &[(String, String)],
    span: VirtualTime,
    file: Option<&std::path::Path>,
) -> Round {
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
    let cpu_before = own_cpu_seconds();
    let started = Instant::now();
    let written = match file {
        Some(path) => {
            // As `promemu backfill --out FILE` writes it.
            let mut out = DirectFile::create(path).expect("file");
            prepared
                .backfill(ORIGIN, span, &mut out, |_, _, _| {})
                .expect("backfill")
                .1
        }
        None => {
            prepared
                .backfill(ORIGIN, span, &mut Writer(std::io::sink()), |_, _, _| {})
                .expect("backfill")
                .1
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let cpu = own_cpu_seconds() - cpu_before;
    if let Some(path) = file {
        let _ = std::fs::remove_file(path);
    }
    Round {
        samples: written.samples as f64,
        bytes: written.bytes as f64,
        wall,
        cpu,
    }
}
