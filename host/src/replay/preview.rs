//! A config's metrics over simulated time, for a scenario author to see what
//! they wrote: charts (PNG or SVG, drawn with `plotters`, one panel per metric,
//! a line per host, event markers) or sparklines for the terminal.

use std::collections::HashMap;
use std::path::Path;

use plotters::prelude::*;

use crate::model::MetricKind;
use crate::sim::{Journal, JournalEvent, SeriesId, Simulation, Stepped, VirtualTime};

/// Hosts drawn per metric; the rest are counted in the panel's title.
pub const HOSTS_PER_METRIC: usize = 12;
/// Events kept for markers; later ones are counted.
pub const EVENTS_KEPT: usize = 2_000;
/// Width of a terminal sparkline, in characters.
pub const SPARKLINE_WIDTH: usize = 60;

/// The values of the previewed series, as the replay went.
#[derive(Debug, Default)]
pub struct Preview {
    metrics: Vec<MetricPanel>,
    /// Panel and line of each drawn series.
    line_of: HashMap<SeriesId, (usize, usize)>,
    events: Vec<JournalEvent>,
    events_left_out: u64,
    /// The span drawn.
    span: VirtualTime,
}

#[derive(Debug)]
struct MetricPanel {
    name: String,
    lines: Vec<Line>,
    /// Series of this metric not drawn.
    left_out: usize,
}

/// A drawn series: its host's name and values, broken where its host
/// respawned (a new identity, a new series: the values start afresh).
#[derive(Debug)]
struct Line {
    host: String,
    /// (seconds, value)
    points: Vec<(f64, f64)>,
    /// The host's incarnation of the last point.
    incarnation: u32,
    /// Where each later life's points start.
    respawns: Vec<usize>,
}

/// Why a preview could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("no metric named '{wanted}' in this config; its metrics are: {known}")]
    UnknownMetric { wanted: String, known: String },
    #[error("cannot tell the image format of '{0}': expected a file name ending in .png or .svg")]
    UnknownFormat(String),
    #[error("cannot draw '{path}': {message}")]
    Draw { path: String, message: String },
}

impl Preview {
    /// A preview of the series of `sim` over `span`: every metric, or only the
    /// metric named `only`.
    pub fn new(
        sim: &Simulation,
        span: VirtualTime,
        only: Option<&str>,
    ) -> Result<Self, PreviewError> {
        let mut preview = Preview {
            span,
            ..Preview::default()
        };
        let mut panel_of: HashMap<&str, usize> = HashMap::new();
        for series in sim.series() {
            let name = series.metric().name.as_str();
            if only.is_some_and(|only| only != name) {
                continue;
            }
            let panel = *panel_of.entry(name).or_insert_with(|| {
                let shown = match series.metric().kind {
                    MetricKind::Histogram => format!("{name} (last observation)"),
                    MetricKind::Gauge | MetricKind::Counter => name.to_string(),
                };
                preview.metrics.push(MetricPanel {
                    name: shown,
                    lines: Vec::new(),
                    left_out: 0,
                });
                preview.metrics.len() - 1
            });
            let metric = &mut preview.metrics[panel];
            if metric.lines.len() < HOSTS_PER_METRIC {
                preview
                    .line_of
                    .insert(series.id(), (panel, metric.lines.len()));
                let host = sim.host(series.host());
                metric.lines.push(Line {
                    host: host.name().to_string(),
                    points: Vec::new(),
                    incarnation: host.incarnation(),
                    respawns: Vec::new(),
                });
            } else {
                metric.left_out += 1;
            }
        }
        if let (Some(wanted), true) = (only, preview.metrics.is_empty()) {
            let mut known: Vec<&str> = sim
                .series()
                .map(|series| series.metric().name.as_str())
                .collect();
            known.sort_unstable();
            known.dedup();
            return Err(PreviewError::UnknownMetric {
                wanted: wanted.to_string(),
                known: known.join(", "),
            });
        }
        Ok(preview)
    }

    /// Takes the values of the drawn series that stepped at this instant, and its events.
    pub fn record(
        &mut self,
        sim: &Simulation,
        journal: &Journal,
    ) -> Result<(), std::convert::Infallible> {
        let seconds = sim.now().as_secs();
        for &Stepped { series, value } in &journal.stepped {
            if let Some(&(panel, line)) = self.line_of.get(&series) {
                let line = &mut self.metrics[panel].lines[line];
                let incarnation = sim.host(sim.series_view(series).host()).incarnation();
                if incarnation != line.incarnation {
                    line.incarnation = incarnation;
                    line.respawns.push(line.points.len());
                }
                match line.points.last_mut() {
                    Some(last) if last.0 == seconds => last.1 = value,
                    _ => line.points.push((seconds, value)),
                }
            }
        }
        for event in &journal.events {
            if self.events.len() < EVENTS_KEPT {
                self.events.push(event.clone());
            } else {
                self.events_left_out += 1;
            }
        }
        Ok(())
    }

    /// Draws one panel per metric into `path` (`.png` or `.svg`).
    pub fn draw(&self, path: &Path) -> Result<(), PreviewError> {
        let shown = path.display().to_string();
        let extension = path
            .extension()
            .and_then(|extension| extension.to_str())
            .map(str::to_ascii_lowercase);
        let panels = self.metrics.len().max(1) as u32;
        let size = (1200, 80 + 260 * panels);
        let failed = |err: &dyn std::fmt::Display| PreviewError::Draw {
            path: shown.clone(),
            message: err.to_string(),
        };
        register_font();
        match extension.as_deref() {
            Some("png") => {
                let root = BitMapBackend::new(path, size).into_drawing_area();
                self.draw_on(&root).map_err(|err| failed(&err))?;
                root.present().map_err(|err| failed(&err))
            }
            Some("svg") => {
                let root = SVGBackend::new(path, size).into_drawing_area();
                self.draw_on(&root).map_err(|err| failed(&err))?;
                root.present().map_err(|err| failed(&err))
            }
            _ => Err(PreviewError::UnknownFormat(shown)),
        }
    }

    fn draw_on<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let title = format!(
            "{} over {}{}",
            if self.metrics.len() == 1 {
                "one metric"
            } else {
                "metrics"
            },
            self.span,
            self.events_note()
        );
        let root = root.titled(&title, ("sans-serif", 22))?;
        let panels = root.split_evenly((self.metrics.len().max(1), 1));
        let end = self.span.as_secs().max(1.0);
        let (unit, divisor) = time_unit(end);
        for (metric, area) in self.metrics.iter().zip(panels.iter()) {
            let (low, high) = metric.range();
            let caption = match metric.left_out {
                0 => metric.name.clone(),
                more => format!(
                    "{} ({} hosts drawn, {more} more)",
                    metric.name,
                    metric.lines.len()
                ),
            };
            let mut chart = ChartBuilder::on(area)
                .caption(caption, ("sans-serif", 18))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..end / divisor, low..high)?;
            chart
                .configure_mesh()
                .x_desc(format!("virtual time ({unit})"))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            for event in &self.events {
                let at = event.time.as_secs() / divisor;
                chart.draw_series(LineSeries::new(
                    [(at, low), (at, high)],
                    RGBColor(230, 120, 0).mix(0.8).stroke_width(1),
                ))?;
            }
            for (index, line) in metric.lines.iter().enumerate() {
                let color = Palette99::pick(index).to_rgba();
                for (life, points) in line.lives().enumerate() {
                    let drawn = chart.draw_series(LineSeries::new(
                        points.iter().map(|(time, value)| (time / divisor, *value)),
                        color.stroke_width(2),
                    ))?;
                    if life == 0 {
                        drawn.label(line.label()).legend(move |(x, y)| {
                            PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                        });
                    }
                }
            }
            if !metric.lines.is_empty() {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK.mix(0.3))
                    .label_font(("sans-serif", 12))
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()?;
            }
        }
        Ok(())
    }

    fn events_note(&self) -> String {
        match (self.events.len(), self.events_left_out) {
            (0, _) => String::new(),
            (kept, 0) => format!(" (orange: {kept} events)"),
            (kept, more) => format!(" (orange: {kept} events, {more} more not drawn)"),
        }
    }

    /// Sparklines for the terminal: a line per drawn host of each metric, with
    /// its range, then the events.
    pub fn sparklines(&self) -> String {
        let mut out = format!("{} of virtual time, {SPARKLINE_WIDTH} columns\n", self.span);
        let end = self.span.as_secs().max(f64::MIN_POSITIVE);
        for metric in &self.metrics {
            out.push_str(&format!("\n{}\n", metric.name));
            let width = metric
                .lines
                .iter()
                .map(|line| line.label().chars().count())
                .max()
                .unwrap_or(0);
            for line in &metric.lines {
                let (low, high) = line.range();
                out.push_str(&format!(
                    "  {:width$}  {}  {}..{}\n",
                    line.label(),
                    sparkline(&line.points, end, SPARKLINE_WIDTH),
                    short(low),
                    short(high)
                ));
            }
            if metric.left_out > 0 {
                out.push_str(&format!("  ... and {} more hosts\n", metric.left_out));
            }
        }
        if !self.events.is_empty() {
            out.push_str("\nevents\n");
            let mut marks = vec![' '; SPARKLINE_WIDTH];
            for event in &self.events {
                marks[column(event.time.as_secs(), end, SPARKLINE_WIDTH)] = '^';
            }
            let marks: String = marks.into_iter().collect();
            out.push_str(&format!("  {}\n", marks.trim_end()));
            for event in self.events.iter().take(20) {
                out.push_str(&format!(
                    "  {:>10}  {} from {}\n",
                    event.time.to_string(),
                    event.name,
                    event.source
                ));
            }
            let more = self.events.len().saturating_sub(20) as u64 + self.events_left_out;
            if more > 0 {
                out.push_str(&format!("  ... and {more} more events\n"));
            }
        }
        out
    }
}

impl MetricPanel {
    /// The value range of every line, widened a little (and made non-empty).
    fn range(&self) -> (f64, f64) {
        let (low, high) = self
            .lines
            .iter()
            .map(Line::range)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), (l, h)| {
                (low.min(l), high.max(h))
            });
        if !low.is_finite() || !high.is_finite() {
            return (0.0, 1.0);
        }
        let pad = ((high - low) * 0.05).max(high.abs().max(1.0) * 1e-3);
        (low - pad, high + pad)
    }
}

impl Line {
    /// The host's name, and how often it respawned.
    fn label(&self) -> String {
        match self.respawns.len() {
            0 => self.host.clone(),
            1 => format!("{} (respawned once)", self.host),
            times => format!("{} (respawned {times} times)", self.host),
        }
    }

    /// The points of each life of the host, in order.
    fn lives(&self) -> impl Iterator<Item = &[(f64, f64)]> {
        let starts = std::iter::once(0).chain(self.respawns.iter().copied());
        let ends = self
            .respawns
            .iter()
            .copied()
            .chain(std::iter::once(self.points.len()));
        starts
            .zip(ends)
            .map(|(start, end)| &self.points[start..end])
    }

    fn range(&self) -> (f64, f64) {
        self.points.iter().fold(
            (f64::INFINITY, f64::NEG_INFINITY),
            |(low, high), (_, value)| (low.min(*value), high.max(*value)),
        )
    }
}

/// The column of `time` in a line `width` columns wide spanning `0..=end`.
fn column(time: f64, end: f64, width: usize) -> usize {
    ((time / end * width as f64) as usize).min(width - 1)
}

/// One character per column, from ▁ to █ by the last value in the column
/// (a blank where the series had no value yet).
fn sparkline(points: &[(f64, f64)], end: f64, width: usize) -> String {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut columns: Vec<Option<f64>> = vec![None; width];
    for (time, value) in points {
        columns[column(*time, end, width)] = Some(*value);
    }
    // A column without a step shows the value the series held.
    let mut held = None;
    for value in &mut columns {
        match value {
            Some(_) => held = *value,
            None => *value = held,
        }
    }
    let (low, high) = points.iter().fold(
        (f64::INFINITY, f64::NEG_INFINITY),
        |(low, high), (_, value)| (low.min(*value), high.max(*value)),
    );
    columns
        .into_iter()
        .map(|value| match value {
            None => ' ',
            Some(_) if high <= low => LEVELS[3],
            Some(value) => {
                let level = ((value - low) / (high - low) * (LEVELS.len() - 1) as f64).round();
                LEVELS[(level as usize).min(LEVELS.len() - 1)]
            }
        })
        .collect()
}

/// A number in a few characters.
fn short(value: f64) -> String {
    if !value.is_finite() {
        return "-".into();
    }
    if value.abs() >= 1e6 || (value != 0.0 && value.abs() < 1e-2) {
        format!("{value:.2e}")
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The unit of the time axis and its length in seconds.
fn time_unit(end_seconds: f64) -> (&'static str, f64) {
    if end_seconds >= 2.0 * 86_400.0 {
        ("days", 86_400.0)
    } else if end_seconds >= 3.0 * 3_600.0 {
        ("hours", 3_600.0)
    } else if end_seconds >= 3.0 * 60.0 {
        ("minutes", 60.0)
    } else {
        ("seconds", 1.0)
    }
}

/// Charts draw text with DejaVu Sans, embedded, so they need no system fonts.
fn register_font() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The embedded font is known to parse.
            let _ = plotters::style::register_font("sans-serif", style, dejavu::sans::regular());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_hold_values_between_steps_and_span_the_range() {
        let points = [(0.0, 0.0), (5.0, 10.0), (9.0, 5.0)];
        assert_eq!(sparkline(&points, 10.0, 10), "▁▁▁▁▁████▅");
        assert_eq!(sparkline(&[(2.0, 3.0)], 10.0, 5), " ▄▄▄▄");
        assert_eq!(sparkline(&[], 10.0, 3), "   ");
    }

    #[test]
    fn a_line_breaks_where_its_host_respawned() {
        let line = Line {
            host: "pod".into(),
            points: vec![
                (0.0, 1.0),
                (10.0, 2.0),
                (20.0, 0.0),
                (30.0, 5.0),
                (40.0, 0.0),
            ],
            incarnation: 2,
            respawns: vec![2, 4],
        };
        let lives: Vec<&[(f64, f64)]> = line.lives().collect();
        assert_eq!(
            lives,
            [
                &[(0.0, 1.0), (10.0, 2.0)][..],
                &[(20.0, 0.0), (30.0, 5.0)][..],
                &[(40.0, 0.0)][..]
            ]
        );
        assert_eq!(line.label(), "pod (respawned 2 times)");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short(12.5), "12.5");
        assert_eq!(short(100.0), "100");
        assert_eq!(short(1234567.0), "1.23e6");
        assert_eq!(short(0.001), "1.00e-3");
    }
}
