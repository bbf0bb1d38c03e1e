//! Prometheus metrics of the service, kept with the maintained `prometheus-client` crate.
//!
//! What is counted and why:
//! * `mlops_http_requests_total{route,status}` and
//!   `mlops_http_request_duration_seconds{route}`: traffic, errors and latency per route.
//!   `route` is the route *template* (`/v2/models/{name}/infer`), or `unmatched` for 404s,
//!   so a scanner probing random paths cannot blow up the number of series.
//! * `mlops_predictions_total{class}`: what the model answers, to notice drift.
//! * `mlops_model_info{model,name}` (always 1): which artifact is serving; it changes on
//!   reload. `mlops_model_reloads_total{result}` counts SIGHUP reloads.
//! * `mlops_http_requests_in_flight`: requests being handled now, to size
//!   `--max-in-flight`.
//!
//! Counters are atomics; handles that the hot path needs per model (one counter per class)
//! are resolved once at load time, so a prediction costs one atomic increment here.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Labels of the request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Arc<str>,
    status: u16,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Arc<str>,
}

/// Labels of the prediction counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: String,
}

/// Labels of the model info gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
    name: String,
}

/// Labels of the reload counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The registry and the handles the server updates.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    predictions: Family<ClassLabels, Counter>,
    model_info: Family<ModelLabels, Gauge>,
    reloads: Family<ResultLabels, Counter>,
    in_flight: Gauge,
}

fn latency_histogram() -> Histogram {
    // 50 µs to 2.5 s: predictions take tens of microseconds, timeouts take seconds.
    Histogram::new([
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
        1.0, 2.5,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mlops");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template and status",
            requests.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from receiving a request to having its response, by route template",
            Unit::Seconds,
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being handled now",
            in_flight.clone(),
        );
        let predictions = Family::<ClassLabels, Counter>::default();
        registry.register(
            "predictions",
            "Rows predicted, by predicted class",
            predictions.clone(),
        );
        let model_info = Family::<ModelLabels, Gauge>::default();
        registry.register(
            "model_info",
            "The serving model: its sha256 identity and name (value always 1)",
            model_info.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "model_reloads",
            "Model reloads requested with SIGHUP, by result (ok or error)",
            reloads.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            predictions,
            model_info,
            reloads,
            in_flight,
        }
    }

    /// Records one answered request. `route` is shared, not copied: the labels of a
    /// request cost two reference-count increments.
    pub fn observe_request(&self, route: &Arc<str>, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.clone(),
            })
            .observe(seconds);
    }

    /// The in-flight gauge.
    pub fn in_flight(&self) -> &Gauge {
        &self.in_flight
    }

    /// One counter per class, in class-index order, for the hot path.
    pub fn class_counters(&self, classes: &[String]) -> Vec<Counter> {
        classes
            .iter()
            .map(|c| {
                self.predictions.get_or_create_owned(&ClassLabels {
                    class: label_value(c),
                })
            })
            .collect()
    }

    /// Makes `model_info` describe the given model only.
    pub fn set_model(&self, id: &str, name: &str) {
        self.model_info.clear();
        self.model_info
            .get_or_create(&ModelLabels {
                model: label_value(id),
                name: label_value(name),
            })
            .set(1);
    }

    /// Counts a reload attempt.
    pub fn count_reload(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reloads.get_or_create(&ResultLabels { result }).inc();
    }

    /// The OpenMetrics text exposition of everything.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// A label value from the data (class names, the model's name) escaped as the text
/// format requires: prometheus-client writes label values verbatim, and one `"`, `\` or
/// newline in a class name made the whole exposition unparseable.
fn label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_counters_histograms_and_model_info() {
        let m = Metrics::new();
        m.observe_request(&"/predict".into(), 200, 0.0001);
        m.class_counters(&["setosa".into()])[0].inc();
        m.set_model("sha256:aa", "iris");
        m.set_model("sha256:bb", "iris");
        m.count_reload(true);
        let text = m.encode();
        for needle in [
            r#"mlops_http_requests_total{route="/predict",status="200"} 1"#,
            r#"mlops_http_request_duration_seconds_bucket{le="0.00025",route="/predict"} 1"#,
            r#"mlops_predictions_total{class="setosa"} 1"#,
            r#"mlops_model_info{model="sha256:bb",name="iris"} 1"#,
            r#"mlops_model_reloads_total{result="ok"} 1"#,
            "# EOF",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(
            !text.contains("sha256:aa"),
            "old model info must go:\n{text}"
        );
    }

    #[test]
    fn label_values_from_the_data_are_escaped() {
        // Class names come from the CSV, model names from --name: `12" pipe` or a
        // quoted label holding a newline made the whole exposition unparseable, so
        // Prometheus dropped every metric of the scrape.
        let m = Metrics::new();
        m.class_counters(&["12\" pipe\\x\ny".into()])[0].inc();
        m.set_model("sha256:aa", "a\"b");
        let text = m.encode();
        assert!(
            text.contains(r#"mlops_predictions_total{class="12\" pipe\\x\ny"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"name="a\"b"} 1"#), "{text}");
    }
}
