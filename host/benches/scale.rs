//! The scale figures of a large fleet, each beside its target, in one run.
//! Prints numbers and ratios; asserts nothing (timed assertions flake on shared
//! machines).
//!
//!     cargo bench -p promemu --bench scale                 # 1 000 000 series
//!     cargo bench -p promemu --bench scale -- 100000       # another fleet size
//!     cargo bench -p promemu --bench scale -- wasm fast    # some parts only
//!
//! In process: update + render per series per cycle beside the Python original's
//! engine (prometheus_client, installed here with pip when missing), a Wasm
//! `sine_wave` step beside the same sine in Rust, and load times. Then the
//! `promemu` binary runs the fleet (100 hosts per 1 000 series, 10 metrics each,
//! 15 s intervals) with default flags for two minutes: start-up to the first
//! snapshot, resident memory, CPU per core over a minute, full `/metrics`
//! scrapes, and at the end its exit code, peak memory and CPU; then the
//! same fleet with 1 s updates, on one thread and on two: whether virtual time
//! keeps up with the wall clock, and the CPU it takes. Last, with
//! a real Pushgateway (`prometheus-pushgateway`, when installed): promemu's CPU
//! per pushed series beside the Pushgateway's own, 100 000 series every 15 s.

use std::f64::consts::TAU;
use std::hint::black_box;
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use promemu::configs::{ConfigRequest, DEFAULT_CONFIG, parse_toml};
use promemu::mixer::{Mixer, StatusOptions, StatusReport};
use promemu::plugin::{Limits, MetricInfo, MetricKind, PluginRuntime};
use promemu::session::{Session, Settings};
use promemu::sim::{Simulation, VirtualTime};

mod common;
use common::{
    METRICS_PER_HOST, SCENARIOS, cpu_seconds, fleet_toml, machine, picked_words, row, size_arg,
};

fn main() {
    let series = size_arg(1_000_000);
    let hosts = series / METRICS_PER_HOST;
    println!(
        "scale: {hosts} hosts x {METRICS_PER_HOST} metrics = {} series; machine: {}",
        hosts * METRICS_PER_HOST,
        machine()
    );
    println!("{:<44} {:>16}   target", "figure", "measured");

    // Words on the command line pick parts: load, render, wasm, run, fast, push.
    let picked = picked_words();
    let wanted = |part: &str| picked.is_empty() || picked.iter().any(|pick| pick == part);
    let runtime = PluginRuntime::with_cache_dir(Limits::default(), None).expect("runtime");
    let pack = runtime.builtin().expect("pack");
    if wanted("load") {
        load_times(hosts);
    }
    if wanted("render") {
        update_and_render(&pack, 100_000.min(series));
    }
    if wanted("wasm") {
        wasm_against_native(&pack);
    }
    if wanted("run") {
        run_the_binary(hosts);
    }
    if wanted("fast") {
        one_second_updates(hosts);
    }
    if wanted("push") {
        push_against_the_pushgateway(100_000.min(series) / METRICS_PER_HOST);
    }
}

/// Target 6: a 100 000-host group loads in 0.5 s; the default config starts in 50 ms.
fn load_times(hosts: usize) {
    let toml = fleet_toml(hosts, &SCENARIOS);
    let started = Instant::now();
    let config = parse_toml("fleet.toml", "fleet", &toml).expect("fleet config");
    row(
        &format!("load a TOML group of {} hosts", config.hosts.len()),
        format!("{:.3} s", started.elapsed().as_secs_f64()),
        "<= 0.5 s (100 000 hosts)",
    );
    drop(config);
    let started = Instant::now();
    let session = Session::open(&[], None, Limits::default()).expect("session");
    let prepared = session.prepare(Settings {
        config: ConfigRequest {
            config: DEFAULT_CONFIG.into(),
            ..ConfigRequest::default()
        },
        seed: Some(1),
        ..Settings::default()
    });
    let prepared = prepared.expect("the default config prepares");
    row(
        "prepare the default config (10 hosts)",
        format!("{:.1} ms", started.elapsed().as_secs_f64() * 1e3),
        "<= 50 ms",
    );
    drop(prepared);
}

/// Target 3: update + render per series per cycle, beside prometheus_client.
fn update_and_render(pack: &promemu::plugin::Plugin, series: usize) {
    let mut config = parse_toml("fleet.toml", "fleet", &fleet_toml(series / 10, &SCENARIOS))
        .expect("fleet config");
    for host in &mut config.hosts {
        host.fill_identity(1);
    }
    let mut sim = Simulation::new(&config, std::slice::from_ref(pack), 1).expect("simulation");
    let mixer = Mixer::new(&sim, "fleet");
    sim.advance_to(VirtualTime::ZERO);
    let cycles = 4;
    let started = Instant::now();
    for cycle in 1..=cycles {
        sim.advance_to(VirtualTime::from_secs(15.0 * f64::from(cycle)).expect("time"));
    }
    let update = started.elapsed().as_nanos() as f64 / (series as f64 * f64::from(cycles));
    let options = StatusOptions::default();
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..cycles {
        bytes = black_box(mixer.snapshot(&sim, &options)).scrape_text.len();
    }
    let snapshot = started.elapsed().as_nanos() as f64 / (series as f64 * f64::from(cycles));
    let started = Instant::now();
    for _ in 0..cycles {
        black_box(StatusReport::new(&sim, mixer.jobs(), &options));
    }
    let status = started.elapsed().as_nanos() as f64 / (series as f64 * f64::from(cycles));
    let render = snapshot - status;
    row(
        &format!("update per series per cycle ({series} series)"),
        format!("{update:.0} ns"),
        "",
    );
    row(
        "render per series (push body and /metrics)",
        format!("{render:.0} ns"),
        &format!("{:.1} MB /metrics", bytes as f64 / 1e6),
    );
    row("status report per series", format!("{status:.0} ns"), "");
    row(
        "update + render per series per cycle",
        format!("{:.0} ns", update + render),
        "<= 600 ns",
    );
    match python_engine(series) {
        Some((python_update, python_render)) => {
            row(
                "the original's engine (prometheus_client)",
                format!("{:.0} ns", python_update + python_render),
                &format!("update {python_update:.0} ns + render {python_render:.0} ns"),
            );
            row(
                "ratio promemu / original",
                format!(
                    "1/{:.1}",
                    (python_update + python_render) / (update + render)
                ),
                "<= 1/20",
            );
        }
        None => println!(
            "(the original's engine not measured: python3 with prometheus_client is missing)"
        ),
    }
}

/// The Python engine's (update, render) ns per series, installing
/// prometheus_client for the user when it is missing.
fn python_engine(series: usize) -> Option<(f64, f64)> {
    let has_client = || {
        Command::new("python3")
            .args(["-c", "import prometheus_client"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !has_client() {
        let _ = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "prometheus_client"])
            .status();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reference/python_engine.py");
    let output = Command::new("python3")
        .arg(script)
        .args([series.to_string(), "3".into()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| -> Option<f64> {
        text.split_whitespace()
            .find_map(|pair| pair.strip_prefix(name))
            .and_then(|value| value.parse().ok())
    };
    Some((field("update_ns=")?, field("render_ns=")?))
}

/// Target 4: a Wasm `sine_wave` step, amortised over a group of series, beside
/// the same computation in Rust over the same series (each with its own
/// parameters and range, values written back in order); and, for context, the
/// whole simulation's cost per grouped step (scheduling, values, counters).
fn wasm_against_native(pack: &promemu::plugin::Plugin) {
    const MEMBERS: usize = 20_000;
    const ROUNDS: usize = 200;
    let mut instance = pack.instantiate(1).expect("instance");
    // ns per member of a group step of `scenario`, over every round.
    let mut time_group = |scenario: &str| {
        let group = instance
            .create_group(scenario, "")
            .expect("group")
            .expect("the scenario steps in groups");
        let members: Vec<_> = (0..MEMBERS)
            .map(|index| {
                let info = MetricInfo {
                    host: format!("node-{index}"),
                    name: "metric".into(),
                    kind: MetricKind::Gauge,
                    min: 0.0,
                    max: 100.0,
                    default_value: 50.0,
                    update_interval: 15.0,
                };
                instance.add_to_group(group, &info).expect("member")
            })
            .collect();
        let mut values = vec![50.0; MEMBERS];
        let started = Instant::now();
        for round in 0..ROUNDS {
            let time = round as f64 * 15.0;
            let elapsed = vec![time; MEMBERS];
            values = instance
                .step_group(group, time, &members, &elapsed, &values)
                .expect("step");
        }
        black_box(&values);
        started.elapsed().as_nanos() as f64 / (MEMBERS * ROUNDS) as f64
    };
    let wasm = time_group("sine_wave");
    // What the batch path itself costs: a step that keeps every value.
    let overhead = time_group("do_nothing");

    // The same: per series a sine with its own parameters, clamped to its range.
    struct Sine {
        period: f64,
        amplitude: f64,
        offset: f64,
        phase: f64,
        min: f64,
        max: f64,
    }
    let sines: Vec<Sine> = (0..MEMBERS)
        .map(|_| Sine {
            period: black_box(300.0),
            amplitude: 50.0,
            offset: 50.0,
            phase: 0.0,
            min: 0.0,
            max: 100.0,
        })
        .collect();
    // ns per sine over every round, with the sine function `sin`.
    let native_with = |sin: fn(f64) -> f64| {
        let mut values = vec![50.0; MEMBERS];
        let started = Instant::now();
        for round in 0..ROUNDS {
            let elapsed = vec![round as f64 * 15.0; MEMBERS];
            for ((value, sine), elapsed) in values.iter_mut().zip(&sines).zip(&elapsed) {
                let angle = TAU * elapsed / sine.period + sine.phase;
                *value = (sine.offset + sine.amplitude * sin(angle)).clamp(sine.min, sine.max);
            }
            black_box(&values);
        }
        started.elapsed().as_nanos() as f64 / (MEMBERS * ROUNDS) as f64
    };
    let native = native_with(f64::sin);
    // The same with the sine the Wasm build links (Rust's libm, a port of
    // musl's), which is not glibc's.
    let native_libm = native_with(libm::sin);
    row(
        "sine_wave step through Wasm (group of 20k)",
        format!("{wasm:.1} ns"),
        "",
    );
    row(
        "(of which the batch path: a do_nothing step)",
        format!("{overhead:.1} ns"),
        "",
    );
    row("the same sines in Rust", format!("{native:.1} ns"), "");
    row(
        "the same sines in Rust, with libm's sin",
        format!("{native_libm:.1} ns"),
        "",
    );
    row(
        "ratio Wasm / native",
        format!("{:.1}x", wasm / native),
        "<= 2x",
    );

    let mut config = parse_toml(
        "sines.toml",
        "sines",
        &fleet_toml(MEMBERS / METRICS_PER_HOST, &["sine_wave"]),
    )
    .expect("config");
    for host in &mut config.hosts {
        host.fill_identity(1);
    }
    let mut sim = Simulation::new(&config, std::slice::from_ref(pack), 1).expect("simulation");
    sim.advance_to(VirtualTime::ZERO);
    let before = sim.stats().steps;
    let started = Instant::now();
    sim.advance_to(VirtualTime::from_secs(15.0 * 10.0).expect("time"));
    let whole = started.elapsed().as_nanos() as f64 / (sim.stats().steps - before) as f64;
    row(
        "(the whole simulation, per grouped step)",
        format!("{whole:.0} ns"),
        "",
    );
}

/// Resident memory of `pid` in KiB: now (`VmRSS:`) or at its peak (`VmHWM:`).
fn resident_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// GET `path` from `address`: (body, time to read it whole).
fn get(address: &str, path: &str) -> Option<(Vec<u8>, Duration)> {
    let mut response = Vec::new();
    let took = read_response(address, path, |chunk| response.extend_from_slice(chunk))?;
    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")?;
    Some((response[split + 4..].to_vec(), took))
}

/// GET `path` from `address` as a scraper reads it, in large chunks, keeping
/// none of it: (bytes of the body, time to read the response whole). Keeping a
/// 100 MB body would time this process's page faults, not the server.
fn scrape(address: &str, path: &str) -> Option<(usize, Duration)> {
    let (mut head, mut body) = (Vec::new(), 0);
    let took = read_response(address, path, |chunk| {
        if body > 0 || head.ends_with(b"\r\n\r\n") {
            body += chunk.len();
            return;
        }
        head.extend_from_slice(chunk);
        if let Some(end) = head.windows(4).position(|window| window == b"\r\n\r\n") {
            body = head.len() - end - 4;
            head.truncate(end + 4);
        }
    })?;
    Some((body, took))
}

/// Sends `GET path` to `address` over HTTP/1.0 and hands each chunk of the
/// response to `take`; the time from connecting to the last byte.
fn read_response(address: &str, path: &str, mut take: impl FnMut(&[u8])) -> Option<Duration> {
    use std::io::Write;
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut chunk = vec![0; 1 << 20];
    loop {
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            break;
        }
        take(&chunk[..read]);
    }
    Some(started.elapsed())
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Target 1 of the issue: the binary with default flags on the fleet, for
/// two minutes (`--duration 2m`), then its exit.
fn run_the_binary(hosts: usize) {
    let dir = std::env::temp_dir().join(format!("promemu-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config: PathBuf = dir.join("fleet.toml");
    std::fs::write(&config, fleet_toml(hosts, &SCENARIOS)).expect("config");
    // A first run compiles the built-in pack into an empty compile cache;
    // later runs (the measured one) find it there.
    let cache = dir.join("compiled");
    let start = |duration: &str| {
        let address = format!("127.0.0.1:{}", free_port());
        let started = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_promemu"))
            .args(["--config", &config.display().to_string()])
            .args(["--no-push", "--listen", &address, "--seed", "1"])
            .args(["--duration", duration])
            .env("PME_CACHE_DIR", &cache)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("promemu starts");
        let running = Running(child);
        loop {
            if let Some((bytes, _)) = scrape(&address, "/metrics")
                && bytes > 0
            {
                return Some((running, address, started, started.elapsed()));
            }
            if started.elapsed() > Duration::from_secs(600) {
                println!("(no snapshot within 10 minutes)");
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let Some((cold, _, _, cold_start)) = start("1m") else {
        return;
    };
    drop(cold);
    row(
        "first start, compiling the built-in pack",
        format!("{:.2} s", cold_start.as_secs_f64()),
        "",
    );
    let Some((mut running, address, started, first)) = start("2m") else {
        return;
    };
    let pid = running.0.id();
    let cpu_at_first = cpu_seconds(pid);
    row(
        "start-up to the first full snapshot",
        format!("{:.2} s", first.as_secs_f64()),
        "<= 2 s",
    );
    // Let start-up work settle, then measure a steady minute.
    std::thread::sleep(Duration::from_secs(15));
    let cpu_before = cpu_seconds(pid);
    let wall = Instant::now();
    let mut scrapes = Vec::new();
    let mut body_bytes = 0;
    while wall.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_secs(10));
        if let Some((bytes, took)) = scrape(&address, "/metrics") {
            body_bytes = bytes;
            scrapes.push(took.as_secs_f64());
        }
    }
    let cores = (cpu_seconds(pid) - cpu_before) / wall.elapsed().as_secs_f64();
    row(
        "resident memory",
        format!("{:.0} MiB", resident_kib(pid, "VmRSS:") as f64 / 1024.0),
        "<= 1536 MiB (1M series)",
    );
    row(
        "steady CPU (a minute, scrapes every 10 s)",
        format!("{cores:.3} cores"),
        "<= 0.1 core",
    );
    scrapes.sort_by(f64::total_cmp);
    row(
        &format!("full /metrics scrape ({:.0} MB)", body_bytes as f64 / 1e6),
        format!(
            "{:.3} s",
            scrapes.get(scrapes.len() / 2).copied().unwrap_or(f64::NAN)
        ),
        "<= 0.3 s (median)",
    );
    if let Some((body, _)) = get(&address, "/status") {
        let status: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let virtual_time = status["virtual_time"].as_str().unwrap_or("?").to_string();
        row(
            "virtual time of the last snapshot / since start-up",
            format!(
                "{virtual_time} / {:.1}s",
                (started.elapsed() - first).as_secs_f64()
            ),
            "lag < one update interval (15 s)",
        );
    }
    // The rest of the two minutes, then the exit: its peak memory and CPU are
    // read from /proc until the process is gone.
    let (mut peak_kib, mut cpu_at_end, mut ended_at) = (0, cpu_at_first, started.elapsed());
    let exit = loop {
        match running.0.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if started.elapsed() < Duration::from_secs(300) => {
                peak_kib = peak_kib.max(resident_kib(pid, "VmHWM:"));
                cpu_at_end = cpu_seconds(pid).max(cpu_at_end);
                ended_at = started.elapsed();
                std::thread::sleep(Duration::from_millis(500));
            }
            _ => break None,
        }
    };
    row(
        "a 2-minute run: exit code; peak memory; CPU after start-up",
        format!(
            "{}; {:.0} MiB; {:.3} cores",
            exit.map_or("none".to_string(), |code| code.to_string()),
            peak_kib as f64 / 1024.0,
            (cpu_at_end - cpu_at_first) / (ended_at - first).as_secs_f64()
        ),
        "0; <= 1536 MiB; <= 0.1 core",
    );
    drop(running);
    let _ = std::fs::remove_dir_all(dir);
}

/// Target 2: the fleet with 1 s updates and reports, on 1 and 2 threads:
/// virtual seconds per wall second over a minute (1.0 keeps up) from
/// `/promemu/metrics`, and the CPU it takes.
fn one_second_updates(hosts: usize) {
    let dir = std::env::temp_dir().join(format!("promemu-fast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config: PathBuf = dir.join("fleet.toml");
    std::fs::write(
        &config,
        fleet_toml(hosts, &SCENARIOS).replace("\"15s\"", "\"1s\""),
    )
    .expect("config");
    for threads in [1, 2] {
        let address = format!("127.0.0.1:{}", free_port());
        let running = Running(
            Command::new(env!("CARGO_BIN_EXE_promemu"))
                .args(["--config", &config.display().to_string()])
                .args(["--no-push", "--listen", &address, "--seed", "1"])
                .args(["--threads", &threads.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("promemu starts"),
        );
        let pid = running.0.id();
        let figures = || -> Option<(f64, f64)> {
            let (body, _) = get(&address, "/promemu/metrics")?;
            let text = String::from_utf8(body).ok()?;
            let value = |name: &str| -> Option<f64> {
                text.lines()
                    .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))?
                    .parse()
                    .ok()
            };
            Some((
                value("promemu_virtual_time_seconds")?,
                value("promemu_steps_total")?,
            ))
        };
        // Past start-up: the first snapshot with steps in it.
        let started = Instant::now();
        while figures().is_none_or(|(_, steps)| steps == 0.0) {
            if started.elapsed() > Duration::from_secs(300) {
                println!("(no snapshot within 5 minutes)");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_secs(10));
        // Snapshots of a million series go out every few seconds (each takes
        // a share of the simulation's thread), so one reading of the virtual
        // time may be seconds old. Read it every 250 ms for a minute: in the
        // first and the last 10 s, the reading least behind the wall clock is
        // a fresh snapshot's, and virtual time between those two is the pace.
        let (Some((_, steps_before)), cpu_before) = (figures(), cpu_seconds(pid)) else {
            return;
        };
        let wall = Instant::now();
        let mut readings: Vec<(f64, f64)> = Vec::new();
        while wall.elapsed() < Duration::from_secs(60) {
            if let Some((virtual_time, _)) = figures() {
                readings.push((wall.elapsed().as_secs_f64(), virtual_time));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let (Some((_, steps_after)), cpu_after) = (figures(), cpu_seconds(pid)) else {
            return;
        };
        let wall = wall.elapsed().as_secs_f64();
        let freshest = |from: f64, to: f64| {
            readings
                .iter()
                .filter(|(at, _)| (from..to).contains(at))
                .min_by(|a, b| (a.0 - a.1).total_cmp(&(b.0 - b.1)))
                .copied()
        };
        let (Some(first), Some(last)) = (freshest(0.0, 10.0), freshest(50.0, 60.0)) else {
            println!("(no readings of the virtual time)");
            return;
        };
        row(
            &format!("1 s updates, {threads} thread(s): virtual s per wall s"),
            format!("{:.3}", (last.1 - first.1) / (last.0 - first.0)),
            "1.0 keeps up",
        );
        row(
            "  steps per wall second; CPU",
            format!(
                "{:.2} M; {:.2} cores",
                (steps_after - steps_before) / wall / 1e6,
                (cpu_after - cpu_before) / wall
            ),
            "",
        );
        drop(running);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Target 5: promemu pushing `hosts` x 10 series every 15 s to a real
/// Pushgateway; both processes' CPU from /proc over the same four push rounds.
fn push_against_the_pushgateway(hosts: usize) {
    let gateway_address = format!("127.0.0.1:{}", free_port());
    let data = std::env::temp_dir().join(format!("promemu-push-{}", std::process::id()));
    std::fs::create_dir_all(&data).expect("temp dir");
    let Ok(gateway) = Command::new("prometheus-pushgateway")
        .arg(format!("--web.listen-address={gateway_address}"))
        .current_dir(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        println!("(prometheus-pushgateway not installed: no push figure)");
        return;
    };
    let gateway = Running(gateway);
    let config = data.join("push.toml");
    std::fs::write(&config, fleet_toml(hosts, &SCENARIOS)).expect("config");
    let emulator = Running(
        Command::new(env!("CARGO_BIN_EXE_promemu"))
            .args(["--config", &config.display().to_string()])
            .args(["--pushgateway-url", &format!("http://{gateway_address}")])
            .args(["--no-listen", "--seed", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("promemu starts"),
    );
    let pushed = |started: Instant| loop {
        if get(&gateway_address, "/api/v1/metrics")
            .is_some_and(|(body, _)| body.windows(7).any(|window| window == b"\"fleet\""))
        {
            return true;
        }
        if started.elapsed() > Duration::from_secs(120) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if !pushed(Instant::now()) {
        println!("(nothing reached the Pushgateway within 2 minutes: no push figure)");
        return;
    }
    let (ours, theirs) = (emulator.0.id(), gateway.0.id());
    let (ours_before, theirs_before) = (cpu_seconds(ours), cpu_seconds(theirs));
    std::thread::sleep(Duration::from_secs(60));
    let ours = cpu_seconds(ours) - ours_before;
    let theirs = cpu_seconds(theirs) - theirs_before;
    row(
        &format!(
            "CPU over 4 pushes of {} series: promemu",
            hosts * METRICS_PER_HOST
        ),
        format!("{ours:.2} s"),
        "",
    );
    row(
        "the same minute: the Pushgateway",
        format!("{theirs:.2} s"),
        "",
    );
    row(
        "ratio promemu / Pushgateway",
        format!("{:.2}x", ours / theirs),
        "<= 0.2x",
    );
    drop(emulator);
    drop(gateway);
    let _ = std::fs::remove_dir_all(data);
}
