//! The periodic status report, in the original's JSON shape.

use serde_json::{Map, Value, json};

use super::Job;
use crate::sim::{Simulation, VirtualTime};

/// What the report shows besides the hosts.
#[derive(Debug, Clone, Default)]
pub struct StatusOptions {
    pub pushgateway_url: Option<String>,
    pub push_interval: f64,
    /// Include every metric's current value (`PME_SHOW_METRICS_STATUS`).
    pub show_metrics: bool,
}

fn seconds(time: VirtualTime) -> String {
    format!("{:.1}s", time.as_secs())
}

/// The status of every job and host.
pub fn status(sim: &Simulation, jobs: &[Job], options: &StatusOptions) -> Value {
    let now = sim.now();
    let mut job_entries = Map::new();
    let mut total_metrics = 0;
    for job in jobs {
        let mut hosts = Vec::new();
        let mut metrics_count = 0;
        for &index in &job.hosts {
            let host = &sim.hosts()[index];
            let series = &sim.series()[host.series.clone()];
            metrics_count += series.len();
            let labels: Map<String, Value> = host
                .config
                .host_labels()
                .into_iter()
                .map(|(key, value)| (key, Value::String(value)))
                .collect();
            let ttl_remaining = match host.expires_at {
                Some(expiry) if host.alive => seconds(VirtualTime(expiry.0.saturating_sub(now.0))),
                Some(_) => "0.0s".into(),
                None => "inf".into(),
            };
            let mut entry = json!({
                "name": host.config.name,
                "labels": labels,
                "is_running": host.alive,
                "start_time": seconds(host.started_at),
                "uptime": seconds(VirtualTime(host.expires_at.map_or(now, |expiry| expiry.min(now)).0 - host.started_at.0)),
                "ttl_remaining": ttl_remaining,
                "metrics_count": series.len(),
            });
            if options.show_metrics {
                let values: Map<String, Value> = series
                    .iter()
                    .map(|series| (series.config.name.clone(), json!(series.linked_value())))
                    .collect();
                entry["metrics"] = Value::Object(values);
            }
            hosts.push(entry);
        }
        total_metrics += metrics_count;
        let host_names: Vec<&str> = job
            .hosts
            .iter()
            .map(|index| sim.hosts()[*index].config.name.as_str())
            .collect();
        job_entries.insert(
            job.name.clone(),
            json!({ "hosts_count": job.hosts.len(), "metrics_count": metrics_count, "host_names": host_names, "hosts": hosts }),
        );
    }
    let active = sim.hosts().iter().filter(|host| host.alive).count();
    json!({
        "is_running": !sim.is_finished(),
        "pushgateway_url": options.pushgateway_url,
        "push_interval": options.push_interval,
        "virtual_time": seconds(now),
        "total_jobs": jobs.len(),
        "total_hosts": sim.hosts().len(),
        "active_hosts": active,
        "total_metrics": total_metrics,
        "jobs": job_entries,
    })
}
