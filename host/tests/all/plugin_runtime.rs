//! The plugin runtime: third-party components beside the pack, load-time checks,
//! sandbox limits and recovery after traps.

use std::time::{Duration, Instant};

use promemu::plugin::Trap;
use promemu::plugin::{Fault, Limits, PluginError, PluginInstance, SlotId};

use crate::harness::{
    Series, builtin, fixture, gauge, hostile_with, input, nesting_instance, runtime, runtime_with,
    spec,
};

#[test]
fn a_third_party_component_loads_and_runs_beside_the_pack() {
    let runtime = runtime();
    let pack = runtime.builtin().unwrap();
    let third_party = runtime.load_file(&fixture("square-wave.wasm")).unwrap();
    assert!(
        third_party.offers_scenarios()
            && !third_party.offers_builders()
            && !third_party.uses_wasi()
    );
    let names: Vec<String> = third_party
        .instantiate(0)
        .unwrap()
        .list_scenarios()
        .unwrap()
        .into_iter()
        .map(|info| info.name)
        .collect();
    assert_eq!(names, ["square_wave", "coin_flip", "wrap"]);

    let mut square = Series::new(
        &third_party,
        1,
        "square_wave",
        r#"{"shape": "2,8,10"}"#,
        gauge(0.0, 10.0, 0.0),
    );
    let mut sine = Series::new(
        &pack,
        1,
        "sine_wave",
        r#"{"period": 10}"#,
        gauge(0.0, 100.0, 0.0),
    );
    for second in 0..30 {
        let expected = if second % 10 < 5 { 2.0 } else { 8.0 };
        assert_eq!(square.step(second as f64), expected);
        sine.step(second as f64);
    }
    assert!(
        (sine.value - (50.0 + 50.0 * (std::f64::consts::TAU * 29.0 / 10.0).sin())).abs() < 1e-9
    );

    let flips = |seed| {
        let mut coin = Series::new(&third_party, seed, "coin_flip", "", gauge(0.0, 1.0, 0.0));
        let logs: usize = (0..40)
            .map(|second| coin.step_full(second as f64, None, &[]).logs.len())
            .sum();
        assert_eq!(logs, 40, "each flip logs a line");
        coin.run(40)
    };
    assert_eq!(flips(5), flips(5));
    assert_ne!(flips(5), flips(6));
}

#[test]
fn a_plugin_refusal_comes_back_with_its_own_message() {
    let plugin = runtime().load_file(&fixture("square-wave.wasm")).unwrap();
    let mut instance = plugin.instantiate(0).unwrap();
    let err = instance
        .create_series(spec(
            "square_wave",
            r#"{"shape": "1,2"}"#,
            gauge(0.0, 1.0, 0.0),
        ))
        .unwrap_err();
    assert!(
        matches!(&err, PluginError::Rejected { message, .. } if message.contains("low,high,period")),
        "{err}"
    );
    assert!(err.is_bad_input());
}

/// Steps a hostile series beside a steady one; the hostile one must trap at
/// `after` seconds, the steady one must keep its schedule throughout.
fn assert_trap_is_contained(scenario: &str, expected: impl Fn(&Fault) -> bool) {
    // A deadline a loaded machine leaves room under: the hog must reach its cap
    // (16 MiB of writes) before it, whatever else runs.
    let plugin = hostile_with(Limits {
        call_deadline: Duration::from_millis(250),
        memory_bytes: 16 << 20,
        ..Limits::default()
    });
    let mut instance = plugin.instantiate(0).unwrap();
    let steady = instance
        .create_series(spec("steady", "", gauge(0.0, 100.0, 0.0)))
        .unwrap();
    let hostile = instance
        .create_series(spec(scenario, r#"{"after": 3}"#, gauge(0.0, 100.0, 0.0)))
        .unwrap();
    let mut traps = 0;
    for second in 0..8 {
        let time = second as f64;
        let started = Instant::now();
        match instance.step(hostile, input(time)) {
            Ok(output) => assert!(
                second < 3,
                "{scenario} stepped fine at {second}: {:?}",
                output.value
            ),
            Err(PluginError::Trap {
                plugin,
                call,
                fault,
            }) => {
                assert!(second >= 3);
                assert!(plugin.ends_with("hostile.wasm"), "{plugin}");
                assert_eq!(call, format!("step of job/host-1/{scenario}"));
                assert!(expected(&fault), "{scenario}: {fault:?}");
                traps += 1;
            }
            Err(other) => panic!("{scenario}: unexpected {other}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{scenario} took {:?}",
            started.elapsed()
        );
        assert_eq!(
            instance.step(steady, input(time)).unwrap().value,
            Some(time),
            "steady series at {second}"
        );
    }
    assert_eq!(traps, 5);
    assert_eq!(instance.restarts(), 5);
}

#[test]
fn an_infinite_loop_is_interrupted_at_the_deadline() {
    assert_trap_is_contained("spin", |fault| *fault == Fault::Trap(Trap::Interrupt));
}

#[test]
fn a_panic_traps_and_the_instance_is_rebuilt() {
    assert_trap_is_contained("panic", |fault| {
        *fault == Fault::Trap(Trap::UnreachableCodeReached)
    });
}

#[test]
fn unbounded_allocation_hits_the_memory_cap() {
    assert_trap_is_contained(
        "hog",
        |fault| matches!(fault, Fault::Other(message) if message.contains("memory cap reached")),
    );
}

#[test]
fn a_stack_overflow_traps() {
    assert_trap_is_contained("recurse", |fault| {
        *fault == Fault::Trap(Trap::StackOverflow)
    });
}

#[test]
fn an_infinite_loop_in_create_is_refused_and_the_instance_survives() {
    let plugin = hostile_with(Limits {
        call_deadline: Duration::from_millis(30),
        ..Limits::default()
    });
    let mut instance = plugin.instantiate(0).unwrap();
    let steady = instance
        .create_series(spec("steady", "", gauge(0.0, 100.0, 0.0)))
        .unwrap();
    let err = instance
        .create_series(spec("spin_create", "", gauge(0.0, 1.0, 0.0)))
        .unwrap_err();
    assert!(
        matches!(&err, PluginError::Trap { call, .. } if call == "create of job/host-1/spin_create"),
        "{err}"
    );
    assert_eq!(instance.step(steady, input(4.0)).unwrap().value, Some(4.0));
}

/// An instance of the hostile fixture with these per-call limits, and its `storm`
/// (10 000 events per step) and `chatty` (1 MiB of log per step) series.
fn storm_and_chatty(
    events_per_call: usize,
    log_bytes_per_call: usize,
) -> (PluginInstance, SlotId, SlotId) {
    let plugin = hostile_with(Limits {
        events_per_call,
        log_bytes_per_call,
        ..Limits::default()
    });
    let mut instance = plugin.instantiate(0).unwrap();
    let storm = instance
        .create_series(spec("storm", "", gauge(0.0, 1.0, 0.0)))
        .unwrap();
    let chatty = instance
        .create_series(spec("chatty", "", gauge(0.0, 1.0, 0.0)))
        .unwrap();
    (instance, storm, chatty)
}

#[test]
fn events_and_logs_per_call_are_capped() {
    let (mut instance, storm, chatty) = storm_and_chatty(1000, 128 << 10);
    let output = instance.step(storm, input(0.0)).unwrap();
    assert_eq!((output.events.len(), output.events_dropped), (1000, 9_000));
    let output = instance.step(chatty, input(0.0)).unwrap();
    assert_eq!(output.logs.len(), 128);
    assert_eq!(output.log_bytes_dropped, (1024 - 128) * 1024);
}

#[test]
fn a_call_that_floods_events_or_logs_is_stopped() {
    let (mut instance, storm, chatty) = storm_and_chatty(10, 4096);
    let err = instance.step(storm, input(0.0)).unwrap_err();
    assert!(
        err.to_string()
            .contains("event flood: more than 160 events in one call (limit 10)"),
        "{err}"
    );
    let err = instance.step(chatty, input(0.0)).unwrap_err();
    assert!(
        err.to_string()
            .contains("log flood: more than 65536 bytes in one call (limit 4096)"),
        "{err}"
    );
}

#[test]
fn a_core_module_is_refused_with_how_to_fix_it() {
    let core = wat::parse_str("(module (func (export \"step\")))").unwrap();
    let err = runtime().load_bytes("core.wasm", &core).unwrap_err();
    assert!(matches!(err, PluginError::NotAComponent { .. }));
    assert!(
        err.to_string().contains(
            "core WebAssembly module; turn it into a component with `promemu plugin componentize`"
        ),
        "{err}"
    );
    assert!(err.is_bad_input());
}

#[test]
fn truncated_and_corrupt_files_are_refused() {
    let bytes = std::fs::read(fixture("square-wave.wasm")).unwrap();
    let err = runtime()
        .load_bytes("truncated.wasm", &bytes[..bytes.len() / 2])
        .unwrap_err();
    assert!(matches!(err, PluginError::Compile { .. }), "{err}");
    let err = runtime()
        .load_bytes("text.wasm", b"#!/bin/sh\necho hi\n")
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "it is text, not WebAssembly (it does not start with the WebAssembly magic number)"
        ),
        "{err}"
    );
    let err = runtime()
        .load_bytes("my.toml", b"[[hosts]]\nname = \"h\"\n")
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("it is text, not WebAssembly; a config file goes to --config, not --plugin"),
        "{err}"
    );
    let err = runtime().load_bytes("empty.wasm", b"").unwrap_err();
    assert!(err.to_string().contains("0 bytes long"), "{err}");
}

#[test]
fn a_component_without_the_contract_says_what_it_exports_instead() {
    let component = wat::parse_file(fixture("other-interface.wat")).unwrap();
    let err = runtime().load_bytes("other.wasm", &component).unwrap_err();
    assert!(matches!(err, PluginError::NoContractExport { .. }));
    assert!(
        err.to_string()
            .ends_with("it exports: acme:tools/runner@1.0.0"),
        "{err}"
    );
}

#[test]
fn another_major_version_of_the_contract_is_refused() {
    let component = wat::parse_file(fixture("future-contract.wat")).unwrap();
    // Read from the binary, with no engine: nothing is compiled to find it.
    let early = promemu::plugin::check_contract_versions("future.wasm", &component).unwrap_err();
    assert!(
        matches!(early, PluginError::IncompatibleVersion { .. }),
        "{early}"
    );
    let builtin = promemu::plugin::BUILTIN_PACK_WASM;
    promemu::plugin::check_contract_versions("builtin", builtin).expect("the built-in pack fits");
    let err = runtime().load_bytes("future.wasm", &component).unwrap_err();
    assert!(
        matches!(err, PluginError::IncompatibleVersion { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("targets contract version 2.0.0, this host implements 0.1.2"),
        "{err}"
    );
}

#[test]
fn the_contract_interface_with_wrong_types_is_refused() {
    let component = wat::parse_file(fixture("wrong-types.wat")).unwrap();
    let err = runtime().load_bytes("liar.wasm", &component).unwrap_err();
    assert!(matches!(err, PluginError::WrongExportTypes { .. }), "{err}");
}

#[test]
fn an_unknown_import_is_refused_with_what_the_host_provides() {
    let component =
        wat::parse_str(r#"(component (import "acme:db/query@1.0.0" (instance)))"#).unwrap();
    let err = runtime().load_bytes("db.wasm", &component).unwrap_err();
    assert!(
        matches!(err, PluginError::UnsupportedImport { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("acme:db/query@1.0.0"), "{err}");
}

fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() { files_under(&path) } else { 1 }
        })
        .sum()
}

#[test]
fn compiled_components_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let runtime =
        promemu::plugin::PluginRuntime::with_cache_dir(Limits::default(), Some(dir.path().into()))
            .unwrap();
    runtime.builtin().unwrap();
    assert!(
        files_under(dir.path()) >= 1,
        "the compiled pack is in the cache"
    );
    let started = Instant::now();
    let mut series = Series::new(
        &runtime.builtin().unwrap(),
        0,
        "sine_wave",
        "",
        gauge(0.0, 100.0, 50.0),
    );
    println!("cached load + instantiate: {:?}", started.elapsed());
    assert_eq!(series.step(0.0), 50.0);
}

#[test]
fn a_wasi_component_gets_nothing_from_outside_the_sandbox() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let plugin = runtime().load_file(&fixture("wasi-escape.wasm")).unwrap();
    assert!(plugin.uses_wasi(), "{plugin:?}");
    let mut instance = plugin.instantiate(0).unwrap();
    let id = instance
        .create_series(spec(
            "escape",
            &format!(r#"{{"port": {port}}}"#),
            gauge(0.0, 64.0, 0.0),
        ))
        .unwrap();
    let output = instance.step(id, input(0.0)).unwrap();
    let logs: Vec<&str> = output
        .logs
        .iter()
        .map(|line| line.message.as_str())
        .collect();
    assert_eq!(output.value, Some(0.0), "escaped: {logs:#?}");
    assert_eq!(logs.len(), 6, "{logs:#?}");
    assert_eq!(
        logs[5],
        "stdout: this line goes to the captured stdout, not the host's"
    );
    for attempt in [
        "read /etc/passwd",
        "list /",
        "read the environment",
        "open a socket",
        "read the wall clock",
    ] {
        assert!(
            logs.iter()
                .any(|line| line.starts_with(&format!("{attempt}: denied"))),
            "{attempt}: {logs:#?}"
        );
    }
    println!("{logs:#?}");
    assert!(
        matches!(listener.accept(), Err(err) if err.kind() == std::io::ErrorKind::WouldBlock),
        "nothing connected to the test's socket"
    );
}

#[test]
fn wasi_clocks_are_virtual_and_a_sleep_never_blocks_the_host() {
    let plugin = runtime().load_file(&fixture("wasi-escape.wasm")).unwrap();
    let run = |seed: u64| {
        let mut clock = Series::new(&plugin, seed, "clock", "", gauge(0.0, 1e9, 0.0));
        let mut sleeper = Series::new(&plugin, seed, "sleep", "", gauge(0.0, 1e9, 0.0));
        let started = Instant::now();
        let values: Vec<(f64, f64)> = [1.5, 30.0, 3600.0]
            .into_iter()
            .map(|time| (clock.step(time), sleeper.step(time)))
            .collect();
        // Three one-hour sleeps: the host is not held.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "sleeps took {:?}",
            started.elapsed()
        );
        values
    };
    let first = run(3);
    // The monotonic clock reads virtual time (the series were created at 0).
    let clock: Vec<f64> = first.iter().map(|(clock, _)| *clock).collect();
    assert_eq!(clock, [1.5, 30.0, 3600.0]);
    for ((_, slept), time) in first.iter().zip([1.5, 30.0, 3600.0]) {
        assert!((time..time + 1.0).contains(slept), "{slept} at {time}");
    }
    assert_eq!(run(3), first, "same seed, same values");
}

#[test]
fn one_instance_holds_more_series_than_wasmtimes_default_handle_cap() {
    // wasmtime allows 100 000 live component handles per store by default; every
    // series is one, so a large fleet on one plugin must raise the cap.
    let mut instance = builtin().instantiate(1).unwrap();
    let count = 120_000;
    let slots: Vec<SlotId> = (0..count)
        .map(|index| {
            let mut series = spec("do_nothing", "", gauge(0.0, 1.0, 0.5));
            series.stream_key = format!("fleet/{index}");
            instance.create_series(series).expect("series is created")
        })
        .collect();
    let last = slots[count - 1];
    assert_eq!(last.index(), count - 1);
    let output = instance
        .step(last, input(1.0))
        .expect("the last series steps");
    assert_eq!(
        output.value,
        Some(0.0),
        "do_nothing keeps the current value"
    );
    assert_eq!(instance.links(slots[0]).unwrap(), Vec::<String>::new());
}

#[test]
fn a_deadline_bounds_the_whole_call_nested_creates_included() {
    // `nest` creates `slow_create` through the host, which burns far longer than
    // the deadline: the nested create is cut where the caller's deadline leaves
    // it time, and the caller's create fails in time with the nested reason.
    let hostile = hostile_with(Limits::default());
    let mut instance = nesting_instance(&hostile, std::slice::from_ref(&hostile), 1);
    let started = Instant::now();
    let err = instance
        .create_series(spec(
            "nest",
            r#"{"inner": "slow_create", "work": 4000000000}"#,
            gauge(0.0, 1.0, 0.0),
        ))
        .expect_err("refused");
    let took = started.elapsed();
    println!("{err} after {took:?}");
    assert!(took < Duration::from_millis(400), "{took:?}");
    assert!(err.to_string().contains("interrupt"), "{err}");
    assert_eq!(
        instance.restarts(),
        0,
        "the caller's own create did not trap"
    );
}

#[test]
fn wasi_output_counts_against_the_log_limit_of_the_step() {
    let plugin = runtime_with(Limits {
        log_bytes_per_call: 64,
        ..Limits::default()
    })
    .load_file(&fixture("wasi-escape.wasm"))
    .unwrap();
    let mut instance = plugin.instantiate(0).unwrap();
    let id = instance
        .create_series(spec("escape", "", gauge(0.0, 64.0, 0.0)))
        .unwrap();
    let output = instance.step(id, input(0.0)).unwrap();
    let kept: usize = output.logs.iter().map(|line| line.message.len()).sum();
    assert!(kept <= 64, "{:?}", output.logs);
    assert!(
        !output
            .logs
            .iter()
            .any(|line| line.message.starts_with("stdout:")),
        "{:?}",
        output.logs
    );
    let stdout_line = "stdout: this line goes to the captured stdout, not the host's";
    assert!(
        output.log_bytes_dropped >= stdout_line.len(),
        "{}",
        output.log_bytes_dropped
    );
}
