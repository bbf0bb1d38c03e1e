//! What the card is drawn from and for, shared by its parts.

use crate::metrics::MetricsReport;
use crate::model::Model;

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

/// `text` cut to `max` characters (with an ellipsis), for labels in figures; the full
/// text goes in the figure's tooltip and tables.
pub fn clipped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}
