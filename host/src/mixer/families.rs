//! Metric families in Prometheus' data model, built from what hosts reported.
//! Series of one name from several hosts merge into one family.

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

use super::Job;
use crate::model::MetricKind;
use crate::sim::{Sample, Simulation};

/// The families of one job's reported series; with `job_label` each series also
/// carries `job="<job>"` (for the merged scrape endpoint).
pub fn job_families(sim: &Simulation, job: &Job, job_label: bool) -> Vec<MetricFamily> {
    let mut families = Vec::new();
    add_job(sim, job, job_label, &mut families);
    families
}

/// The families of every job, merged by name, each series labelled with its job.
pub fn merged_families(sim: &Simulation, jobs: &[Job]) -> Vec<MetricFamily> {
    let mut families = Vec::new();
    for job in jobs {
        add_job(sim, job, true, &mut families);
    }
    families
}

fn add_job(sim: &Simulation, job: &Job, job_label: bool, families: &mut Vec<MetricFamily>) {
    for &host_id in &job.hosts {
        let host = sim.host(host_id);
        for series in host.series() {
            let Some(sample) = series.reported() else {
                continue;
            };
            let config = series.metric();
            let family = match families
                .iter()
                .position(|family| family.name() == config.name)
            {
                Some(index) => &mut families[index],
                None => {
                    let mut family = MetricFamily::default();
                    family.set_name(config.name.clone());
                    family.set_help(if config.description.is_empty() {
                        config.name.clone()
                    } else {
                        config.description.clone()
                    });
                    family.set_field_type(match config.kind {
                        MetricKind::Gauge => MetricType::GAUGE,
                        MetricKind::Counter => MetricType::COUNTER,
                        MetricKind::Histogram => MetricType::HISTOGRAM,
                    });
                    families.push(family);
                    families.last_mut().expect("just pushed")
                }
            };
            let mut labels = host.config().series_labels(config);
            if job_label {
                labels.insert("job".into(), job.name.clone());
            }
            let mut metric = Metric::default();
            metric.set_label(
                labels
                    .into_iter()
                    .map(|(name, value)| {
                        let mut pair = LabelPair::default();
                        pair.set_name(name);
                        pair.set_value(value);
                        pair
                    })
                    .collect(),
            );
            set_sample(&mut metric, sample);
            family.mut_metric().push(metric);
        }
    }
}

fn set_sample(metric: &mut Metric, sample: &Sample) {
    match sample {
        Sample::Gauge(value) => {
            let mut gauge = Gauge::default();
            gauge.set_value(*value);
            metric.set_gauge(gauge);
        }
        Sample::Counter(total) => {
            let mut counter = Counter::default();
            counter.set_value(*total);
            metric.set_counter(counter);
        }
        Sample::Histogram {
            bounds,
            cumulative,
            sum,
            count,
        } => {
            let mut histogram = Histogram::default();
            histogram.set_sample_sum(*sum);
            histogram.set_sample_count(*count);
            histogram.set_bucket(
                bounds
                    .iter()
                    .zip(cumulative)
                    .map(|(bound, count)| {
                        let mut bucket = Bucket::default();
                        bucket.set_upper_bound(*bound);
                        bucket.set_cumulative_count(*count);
                        bucket
                    })
                    .collect(),
            );
            metric.set_histogram(histogram);
        }
    }
}

/// The text exposition format of `families`.
pub fn encode_text(families: &[MetricFamily]) -> String {
    use prometheus::Encoder;
    let mut buffer = Vec::new();
    // Encoding only fails on families without metrics or with invalid names, which
    // the model's validation and the builders above rule out.
    if let Err(err) = prometheus::TextEncoder::new().encode(families, &mut buffer) {
        tracing::error!("cannot encode metrics: {err}");
    }
    String::from_utf8(buffer).unwrap_or_default()
}
