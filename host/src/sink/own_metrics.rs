//! The emulator's own metrics, served at `/promemu/metrics` beside the
//! emulated series: events on the bus as `promemu_events_total{event,source}`
//! (the ground truth of why a curve moved, for annotations), hosts, series,
//! steps, faults and churn. Rendered with the `prometheus` crate from the run's
//! figures in the latest snapshot.

use prometheus::{
    Encoder, Gauge, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::mixer::RunFigures;

/// `figures` in the text exposition format.
pub fn render(figures: &RunFigures) -> String {
    let registry = Registry::new();
    let gauge = |name: &str, help: &str, value: f64| {
        let gauge = Gauge::new(name, help).expect("a valid metric name");
        gauge.set(value);
        registry.register(Box::new(gauge)).expect("registered once");
    };
    let int_gauge = |name: &str, help: &str, value: usize| {
        let gauge = IntGauge::new(name, help).expect("a valid metric name");
        gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
        registry.register(Box::new(gauge)).expect("registered once");
    };
    let counter = |name: &str, help: &str, value: u64| {
        let counter = IntCounter::new(name, help).expect("a valid metric name");
        counter.inc_by(value);
        registry
            .register(Box::new(counter))
            .expect("registered once");
    };
    gauge(
        "promemu_virtual_time_seconds",
        "Virtual time of the emulation.",
        figures.virtual_seconds,
    );
    int_gauge("promemu_hosts", "Emulated hosts.", figures.hosts);
    int_gauge(
        "promemu_hosts_alive",
        "Emulated hosts that have not reached their TTL.",
        figures.hosts_alive,
    );
    int_gauge("promemu_series", "Emulated series.", figures.series);
    counter(
        "promemu_steps_total",
        "Scenario steps taken.",
        figures.steps,
    );
    counter(
        "promemu_plugin_faults_total",
        "Scenario steps that faulted.",
        figures.faults,
    );
    counter(
        "promemu_respawns_total",
        "Hosts brought back with a new identity at their TTL.",
        figures.respawns,
    );
    counter(
        "promemu_series_created_total",
        "Series created, at the start and by respawns.",
        figures.series_created,
    );
    counter(
        "promemu_series_ended_total",
        "Series ended by their host's TTL.",
        figures.series_ended,
    );
    let events = IntCounterVec::new(
        Opts::new(
            "promemu_events_total",
            "Events sent on the emulation's bus, by event name and source.",
        ),
        &["event", "source"],
    )
    .expect("valid labels");
    for (event, source, count) in &figures.events {
        events.with_label_values(&[event, source]).inc_by(*count);
    }
    registry
        .register(Box::new(events))
        .expect("registered once");
    let mut text = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut text)
        .expect("text encoding never fails");
    String::from_utf8(text).expect("the encoder writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_figures_are_series() {
        let figures = RunFigures {
            virtual_seconds: 61.5,
            hosts: 3,
            hosts_alive: 2,
            events: vec![("load_peak_start".into(), "worker-1".into(), 4)],
            ..RunFigures::default()
        };
        let text = render(&figures);
        assert!(
            text.contains("promemu_virtual_time_seconds 61.5\n"),
            "{text}"
        );
        assert!(text.contains("promemu_hosts_alive 2\n"), "{text}");
        assert!(
            text.contains(
                "promemu_events_total{event=\"load_peak_start\",source=\"worker-1\"} 4\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE promemu_events_total counter"),
            "{text}"
        );
    }
}
