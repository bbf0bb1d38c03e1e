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
mod input;
mod sections;

use maud::{DOCTYPE, Markup, PreEscaped, html};

pub use assets::served_policy;
#[cfg(test)]
use input::clipped;
pub use input::{CardInput, Mode};

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

#[cfg(test)]
mod tests;
