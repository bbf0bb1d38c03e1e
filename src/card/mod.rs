//! The model card: one self-contained HTML page that shows a person what a model is and
//! how good it is, served as `GET /` by `mlops serve` and written by
//! `mlops inspect --html`.
//!
//! Everything is rendered here, on the server: tables, and figures as inline SVG whose
//! colours and sizes are attributes, so the page needs no script to be read and its
//! Content-Security-Policy can refuse every script and style but its own (see
//! `assets.rs`). The one script drives the form that asks `POST /predict`. Every value
//! from the model or its `metrics.json` (names of the model, features and classes, file
//! names) goes through maud's escaping, so a class named `<script>` is shown as text.
//!
//! This module knows the model and the metrics report, not the server: the CLI and the
//! server both call [`render`].

mod assets;
mod figures;
mod form;
mod sections;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::metrics::MetricsReport;
use crate::model::Model;

pub use assets::served_policy;

/// Where the card is going, which decides whether its form can work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Served by `mlops serve` at `/`: the form asks `POST predict` on the same origin.
    Served,
    /// A file on its own (`mlops inspect --html`): no server to ask, so the form is
    /// shown disabled and the page carries no script.
    Standalone,
}

/// What the card shows.
#[derive(Debug, Clone, Copy)]
pub struct CardInput<'a> {
    /// The model.
    pub model: &'a Model,
    /// Its training report (`metrics.json`), when it is at hand and names this model.
    pub report: Option<&'a MetricsReport>,
}

/// Renders the card as a complete HTML document.
pub fn render(input: CardInput<'_>, mode: Mode) -> String {
    let meta = input.model.metadata();
    let title = format!("{} · mlops model card", meta.name);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if mode == Mode::Standalone {
                    meta http-equiv="Content-Security-Policy" content=(assets::standalone_policy());
                }
                meta name="referrer" content="no-referrer";
                title { (title) }
                link rel="icon" href="data:,";
                style { (PreEscaped(assets::CSS)) }
            }
            body {
                (heading(input, mode))
                main {
                    (sections::identity(input))
                    (sections::data(input))
                    (sections::quality(input))
                    (sections::figures(input))
                    (form::section(input, mode))
                }
                (sections::footer(input))
                @if mode == Mode::Served {
                    script { (PreEscaped(assets::JS)) }
                }
            }
        }
    };
    page.into_string()
}

/// The page's heading: the model's name, and where to go next.
fn heading(input: CardInput<'_>, mode: Mode) -> Markup {
    html! {
        header {
            h1 { (input.model.metadata().name) }
            p.sub {
                "Model card of " code { (input.model.id) }
                @if mode == Mode::Served {
                    " · " a href="docs" { "API documentation" } " · "
                    a href="model" { "/model" } " as JSON"
                } @else {
                    " · written by mlops inspect --html"
                }
            }
        }
    }
}

/// `text` cut to `max` characters (with an ellipsis), for labels in figures; the full
/// text goes in the figure's tooltip and tables.
fn clipped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

#[cfg(test)]
mod tests;
