//! The card's sections: identity, data and parameters, quality, figures, provenance.

use maud::{Markup, html};

use super::figures;
use super::input::CardInput;

/// Name, digest, learner, forest, features and classes.
pub fn identity(input: CardInput<'_>) -> Markup {
    let model = input.model;
    let meta = model.metadata();
    html! {
        section #identity {
            h2 { "Model" }
            dl {
                dt { "name" } dd { (meta.name) }
                dt { "digest" } dd { code { (model.id) } }
                dt { "learner" } dd { (meta.params.learner.name()) " (algorithm version " (meta.learner_version) ")" }
                dt { "format" } dd { "mlops-model v" (model.format_version()) }
                dt { "forest" } dd { (model.forest().n_trees()) " trees, " (model.forest().n_nodes()) " nodes" }
                dt { "features" } dd { (meta.features.len()) ": " (meta.features.join(", ")) }
                dt { "classes" } dd #classes {
                    (meta.classes.len()) ": "
                    @for (i, class) in meta.classes.iter().enumerate() {
                        @if i > 0 { ", " }
                        span.class { (class) }
                    }
                }
            }
        }
    }
}

/// The training data's provenance and the parameters.
pub fn data(input: CardInput<'_>) -> Markup {
    let meta = input.model.metadata();
    let (d, p) = (&meta.dataset, &meta.params);
    let or = |v: Option<String>, default: &str| v.unwrap_or_else(|| default.to_owned());
    html! {
        section #data {
            h2 { "Data and parameters" }
            dl {
                dt { "file" } dd { (d.file_name) }
                dt { "sha256" } dd { code { (d.sha256) } }
                dt { "label" } dd { (d.label) }
                dt { "rows" } dd { (d.rows) " (" (d.train_rows) " train, " (d.test_rows) " test)" }
                @if let Some(held_out) = &meta.test_data {
                    dt { "test file" } dd { (held_out.file_name) " " code { (held_out.sha256) } }
                }
                dt { "trees" } dd { (p.trees) }
                dt { "max depth" } dd { (or(p.max_depth.map(|v| v.to_string()), "unlimited")) }
                dt { "min samples per leaf" } dd { (p.min_samples_leaf) }
                dt { "features per split" } dd { (or(p.features_per_split.map(|v| v.to_string()), "√features")) }
                dt { "seed" } dd { (p.seed) }
                dt { "test fraction" } dd { (p.test_fraction) }
            }
        }
    }
}

/// Accuracy (train, test, out of bag) and the per-class table.
pub fn quality(input: CardInput<'_>) -> Markup {
    let meta = input.model.metadata();
    let m = &meta.metrics;
    let test = meta.test_accuracy();
    // Without held-out rows, metrics.json's per-class figures are zeros: not shown.
    let report = input.report.filter(|_| test.is_some());
    html! {
        section #quality {
            h2 { "Quality" }
            div.kpi {
                div { b { (test.map_or(NOT_EVALUATED.to_owned(), |a| format!("{a:.4}"))) } span { "test accuracy" } }
                div { b { (format!("{:.4}", m.train_accuracy)) } span { "train accuracy" } }
                div {
                    b { (m.oob_accuracy.map_or("n/a".to_owned(), |a| format!("{a:.4}"))) }
                    span { "out-of-bag accuracy" }
                }
                @if let Some(report) = report {
                    div { b { (report.test_log_loss.map_or("n/a".to_owned(), |l| format!("{l:.4}"))) } span { "test log loss" } }
                }
            }
            @if let Some(report) = report {
                table #per-class {
                    thead { tr { th { "class" } th { "precision" } th { "recall" } th { "F1" } th { "support" } } }
                    tbody {
                        @for c in &report.per_class {
                            tr {
                                td { (c.class) }
                                td { (format!("{:.3}", c.precision)) }
                                td { (format!("{:.3}", c.recall)) }
                                td { (format!("{:.3}", c.f1)) }
                                td { (c.support) }
                            }
                        }
                    }
                }
                p.note { "On the " (report.test_rows) " held-out rows." }
            } @else if test.is_none() {
                (not_evaluated())
            } @else {
                (no_report())
            }
        }
    }
}

/// What the card shows for a figure of a model that was not evaluated.
const NOT_EVALUATED: &str = "not evaluated";

/// Why a model that was not evaluated has no per-class figures.
fn not_evaluated() -> Markup {
    html! {
        p.note {
            "Not evaluated: the model was trained on every row (--test-fraction 0), so "
            "there are no held-out rows to measure it on."
        }
    }
}

/// Why per-class figures are missing.
fn no_report() -> Markup {
    html! {
        p.note {
            "Per-class figures and the confusion matrix come from the metrics.json that "
            "mlops train writes beside the model; there is none for this model."
        }
    }
}

/// The confusion matrix and the feature importances.
pub fn figures(input: CardInput<'_>) -> Markup {
    let meta = input.model.metadata();
    html! {
        section.wide #figures {
            h2 { "Figures" }
            div.figures {
                @if meta.test_accuracy().is_none() {
                    (not_evaluated())
                } @else if let Some(report) = input.report {
                    (figures::confusion(&report.confusion_matrix))
                } @else {
                    (no_report())
                }
                @if let Some(importances) = &meta.importances {
                    (figures::importances(&meta.features, importances))
                } @else {
                    p.note { "The " (meta.params.learner.name()) " learner does not measure feature importances." }
                }
            }
        }
    }
}

/// Who built the model, and who drew the card.
pub fn footer(input: CardInput<'_>) -> Markup {
    let meta = input.model.metadata();
    html! {
        footer {
            "Trained by mlops " (meta.crate_version) ", source revision "
            code { (meta.source_revision.as_deref().unwrap_or("unknown")) }
            ". Card drawn by mlops " (env!("CARGO_PKG_VERSION")) "."
        }
    }
}
