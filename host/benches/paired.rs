//! Tells two builds of `promemu` apart on a shared machine, where a
//! benchmark's median follows the neighbours more than the code: runs
//! `promemu backfill` of the benchmark fleet (10 000 series, 4 h, to a file)
//! with each build in turn, in pairs back to back and in alternating order,
//! and prints each build's CPU time and the median of the pairs' ratios with
//! its quartiles. A ratio's quartiles both below 1 say the second build takes
//! less CPU. Checks only that each backfill succeeds; without two builds it
//! only says how to call it.
//!
//!     cargo bench -p promemu --bench paired -- OLD NEW [PAIRS]
//!
//! OLD and NEW are paths to `promemu` binaries (copy the old one aside before
//! rebuilding), relative ones taken from the workspace's root (cargo runs a
//! benchmark in its package's folder); PAIRS defaults to 20.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{METRICS_PER_HOST, SCENARIOS, children_cpu_seconds, fleet_toml};

const DEFAULT_PAIRS: usize = 20;
const SERIES: usize = 10_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let builds: Vec<&String> = args.iter().filter(|arg| arg.contains('/')).collect();
    let [old, new] = builds[..] else {
        println!("paired: give two promemu binaries (paths with a '/'): OLD NEW [PAIRS]");
        return;
    };
    let (old, new) = (from_workspace(old), from_workspace(new));
    let pairs = args
        .iter()
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(DEFAULT_PAIRS);
    let folder = tempfile::tempdir().expect("a temporary folder");
    let config = folder.path().join("fleet.toml");
    std::fs::write(&config, fleet_toml(SERIES / METRICS_PER_HOST, &SCENARIOS)).expect("fleet");
    let out = folder.path().join("out.om");
    let mut times = (Vec::new(), Vec::new());
    for pair in 0..pairs {
        // The first of a pair runs on a slightly different machine than the
        // second: each build goes first every other pair.
        if pair % 2 == 0 {
            times.0.push(backfill_cpu(&old, &config, &out));
            times.1.push(backfill_cpu(&new, &config, &out));
        } else {
            times.1.push(backfill_cpu(&new, &config, &out));
            times.0.push(backfill_cpu(&old, &config, &out));
        }
    }
    let mut ratios: Vec<f64> = times.0.iter().zip(&times.1).map(|(a, b)| b / a).collect();
    ratios.sort_by(f64::total_cmp);
    let at = |share: f64| ratios[((ratios.len() - 1) as f64 * share).round() as usize];
    let mean = |times: &[f64]| times.iter().sum::<f64>() / times.len() as f64;
    println!("paired: {pairs} pairs of a {SERIES}-series, 4 h backfill to a file");
    println!("  {}: mean CPU {:.3} s", old.display(), mean(&times.0));
    println!("  {}: mean CPU {:.3} s", new.display(), mean(&times.1));
    println!(
        "  ratio new/old: median {:.3}, quartiles {:.3} and {:.3}",
        at(0.5),
        at(0.25),
        at(0.75)
    );
}

/// `build` as given, or from the workspace's root where it is relative.
fn from_workspace(build: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join(build)
}

/// CPU seconds (user + system) of one backfill by `promemu` into `out`.
fn backfill_cpu(promemu: &Path, config: &Path, out: &Path) -> f64 {
    let before = children_cpu_seconds();
    let status = Command::new(promemu)
        .args(["backfill", "--config"])
        .arg(config)
        .args([
            "--from",
            "2026-11-29T00:00:00Z",
            "--to",
            "2026-11-29T04:00:00Z",
            "--seed",
            "1",
            "--out",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|err| panic!("{} does not start: {err}", promemu.display()));
    assert!(status.success(), "{} backfill: {status}", promemu.display());
    let _ = std::fs::remove_file(out);
    children_cpu_seconds() - before
}
