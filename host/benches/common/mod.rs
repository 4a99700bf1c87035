//! What the benchmarks share: the fleet they measure, their table rows and
//! CPU time read from /proc.
#![allow(dead_code)] // each benchmark uses its own part

/// Scenarios the metrics cycle through, as in the measurements.
pub const SCENARIOS: [&str; 4] = [
    "sine_wave",
    "random_walk",
    "random_in_range",
    "update_by_trend",
];
pub const METRICS_PER_HOST: usize = 10;

/// A group of `hosts` hosts with [`METRICS_PER_HOST`] metrics each, cycling
/// through `scenarios`, all at 15 s, in one job.
pub fn fleet_toml(hosts: usize, scenarios: &[&str]) -> String {
    let mut toml = format!(
        "[[hosts]]\nname = \"node-{{i:06}}\"\ncount = {hosts}\ninterval = \"15s\"\njob_name = \"fleet\"\n"
    );
    for metric in 0..METRICS_PER_HOST {
        toml.push_str(&format!(
            "[[hosts.metrics]]\nname = \"metric_{metric:03}\"\nvalue_range = [0, 100]\ndefault_value = 50\nupdate_interval = \"15s\"\nscenario = \"{}\"\n",
            scenarios[metric % scenarios.len()]
        ));
    }
    toml
}

/// A table row: the figure, its value, its target.
pub fn row(what: &str, value: String, target: &str) {
    println!("{what:<44} {value:>16}   {target}");
}

/// User + system CPU seconds of a process, from /proc (clock ticks of 1/100 s).
pub fn cpu_seconds(pid: u32) -> f64 {
    // utime and stime are fields 14 and 15 of the whole line.
    stat_seconds(&pid.to_string(), 14, 15)
}

/// User + system CPU seconds of the children this process has waited for,
/// from /proc (clock ticks of 1/100 s).
pub fn children_cpu_seconds() -> f64 {
    // cutime and cstime are fields 16 and 17 of the whole line.
    stat_seconds("self", 16, 17)
}

/// The sum of two clock-tick fields (numbered from 1, as in proc(5)) of
/// `/proc/<process>/stat`, in seconds.
fn stat_seconds(process: &str, first: usize, second: usize) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{process}/stat")).unwrap_or_default();
    // Fields from the third on follow the name, which may hold spaces.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |field: usize| {
        fields
            .get(field - 3)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(first) + ticks(second)) / 100.0
}

/// User + system CPU seconds of this process so far, to the nanosecond (a
/// figure of a fraction of a second read in 1/100 s would be a few percent off).
pub fn own_cpu_seconds() -> f64 {
    cpu_time::ProcessTime::try_now()
        .expect("the process's CPU time")
        .as_duration()
        .as_secs_f64()
}

/// The fleet size given on the command line (the first number), else `default`.
pub fn size_arg(default: usize) -> usize {
    std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(default)
}

/// The words on the command line (lowercase letters only): the parts of a
/// benchmark to run.
pub fn picked_words() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|arg| !arg.is_empty() && arg.chars().all(|c| c.is_ascii_lowercase()))
        .collect()
}

/// "N cores, load a b c": the machine the figures were measured on.
pub fn machine() -> String {
    format!(
        "{} cores, load {}",
        std::thread::available_parallelism().map_or(1, |cores| cores.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}
