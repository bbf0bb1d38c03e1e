//! The checks of a decoded body that the forest cannot make alone: the metadata agrees
//! with the forest, names are unique, and the golden rows are there to replay.

use std::collections::HashSet;

use super::body::ModelBody;
use crate::text::printable;

/// Why a decoded body cannot be used, in words for [`super::ModelError::Corrupt`].
pub fn check_body(body: &ModelBody) -> Result<(), String> {
    body.forest.validate().map_err(|e| e.to_string())?;
    let meta = &body.metadata;
    if meta.features.len() != body.forest.n_features()
        || meta.classes.len() != body.forest.n_classes()
        || meta
            .importances
            .as_ref()
            .is_some_and(|i| i.len() != meta.features.len())
    {
        return Err("the metadata's features or classes do not match the forest".into());
    }
    unique("feature", &meta.features)?;
    unique("class", &meta.classes)?;
    check_golden(body)
}

/// Every name appears once: a row's values are matched to features by name, and a
/// prediction is reported by class name.
fn unique(what: &str, names: &[String]) -> Result<(), String> {
    let mut seen = HashSet::with_capacity(names.len());
    match names.iter().find(|n| !seen.insert(n.as_str())) {
        Some(name) => Err(format!(
            "the {what} name '{}' appears more than once",
            printable(name)
        )),
        None => Ok(()),
    }
}

/// Golden rows have one value per feature, and a model evaluated on held-out rows has
/// some: an empty list would turn the replay check off.
fn check_golden(body: &ModelBody) -> Result<(), String> {
    let width = body.metadata.features.len();
    if body.golden.iter().any(|g| g.features.len() != width) {
        return Err("a golden row has the wrong number of features".into());
    }
    let test_rows = body.metadata.dataset.test_rows;
    if body.golden.is_empty() && test_rows > 0 {
        return Err(format!(
            "it records {test_rows} held-out rows but no golden rows to replay"
        ));
    }
    Ok(())
}
