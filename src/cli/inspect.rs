//! `mlops inspect`: a model file's metadata and provenance, as text or JSON.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use super::errors::hint;
use crate::model::{FORMAT_TAG, Model};
use crate::text::printable;

/// Options of `mlops inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The model file.
    pub model: PathBuf,
    /// Print JSON instead of text.
    #[arg(long, env = "MLOPS_JSON")]
    pub json: bool,
}

/// Runs `mlops inspect`.
pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    let model = Model::load(&args.model).map_err(hint("check the MODEL path"))?;
    let mut out = io::stdout().lock();
    if args.json {
        let forest = model.forest();
        let doc = serde_json::json!({
            "id": model.id,
            "format": { "tag": FORMAT_TAG, "version": model.format_version() },
            "metadata": model.metadata(),
            "forest": { "trees": forest.n_trees(), "nodes": forest.n_nodes() },
            "golden_rows": model.golden().len(),
        });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(());
    }
    write_text(&mut out, &model)?;
    Ok(())
}

/// The human-readable description. Everything in it comes from the file, so names are
/// escaped (see [`printable`]): a model file can hold terminal escape sequences.
fn write_text(out: &mut impl Write, model: &Model) -> io::Result<()> {
    let meta = model.metadata();
    let (p, d) = (&meta.params, &meta.dataset);
    let all = |names: &[String]| -> String {
        let names: Vec<_> = names.iter().map(|n| printable(n)).collect();
        names.join(", ")
    };
    let or = |value: Option<String>, default: &str| value.unwrap_or_else(|| default.to_owned());
    writeln!(out, "model       {}", printable(&meta.name))?;
    writeln!(out, "id          {}", model.id)?;
    writeln!(out, "format      {FORMAT_TAG} v{}", model.format_version())?;
    writeln!(
        out,
        "learner     {} (algorithm version {})",
        p.learner.name(),
        meta.learner_version
    )?;
    writeln!(out, "features    {}", all(&meta.features))?;
    writeln!(out, "classes     {}", all(&meta.classes))?;
    writeln!(
        out,
        "forest      {} trees, {} nodes; max depth {}, min samples per leaf {}, features per split {}",
        model.forest().n_trees(),
        model.forest().n_nodes(),
        or(p.max_depth.map(|v| v.to_string()), "unlimited"),
        p.min_samples_leaf,
        or(p.features_per_split.map(|v| v.to_string()), "sqrt"),
    )?;
    writeln!(
        out,
        "seed        {} (test fraction {})",
        p.seed, p.test_fraction
    )?;
    writeln!(
        out,
        "dataset     {} (sha256 {}), label '{}', {} rows: {} train / {} test",
        printable(&d.file_name),
        printable(&d.sha256),
        printable(&d.label),
        d.rows,
        d.train_rows,
        d.test_rows
    )?;
    if d.test_rows == 0 {
        writeln!(
            out,
            "accuracy    train {:.4}, no test set (trained on every row)",
            meta.metrics.train_accuracy
        )?;
    } else {
        writeln!(
            out,
            "accuracy    train {:.4}, test {:.4}",
            meta.metrics.train_accuracy, meta.metrics.test_accuracy
        )?;
    }
    if let Some(oob) = meta.metrics.oob_accuracy {
        writeln!(out, "            out of bag {oob:.4}")?;
    }
    if let Some(importances) = &meta.importances {
        write_importances(out, &meta.features, importances)?;
    }
    writeln!(
        out,
        "built by    mlops {} (source revision {})",
        printable(&meta.crate_version),
        printable(meta.source_revision.as_deref().unwrap_or("unknown"))
    )
}

/// Feature importances, most important first, as a bar chart of at most 20 rows.
fn write_importances(
    out: &mut impl Write,
    features: &[String],
    importances: &[f64],
) -> io::Result<()> {
    const WIDTH: f64 = 30.0;
    let ranked = crate::metrics::ranked_importances(features, importances);
    writeln!(out, "importance")?;
    for fi in ranked.iter().take(20) {
        let bar = "#".repeat((fi.importance * WIDTH).round() as usize);
        writeln!(
            out,
            "  {:<20} {:>6.3} {bar}",
            printable(&fi.feature),
            fi.importance
        )?;
    }
    if ranked.len() > 20 {
        writeln!(out, "  ... and {} more", ranked.len() - 20)?;
    }
    Ok(())
}
