//! `mlops inspect`: a model file's metadata and provenance, as text, JSON or the model
//! card (`--html`).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::errors::hint;
use crate::card::{CardInput, Mode, render};
use crate::metrics::MetricsReport;
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
    /// Write the model card, the page `mlops serve` shows at /, to FILE ("-" for
    /// stdout): one self-contained HTML file, its form disabled since nothing serves it.
    #[arg(long, env = "MLOPS_HTML", value_name = "FILE", conflicts_with = "json")]
    pub html: Option<PathBuf>,
}

/// Runs `mlops inspect`.
pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    let model = Model::load(&args.model).map_err(hint("check the MODEL path"))?;
    if let Some(file) = &args.html {
        return write_card(&args.model, &model, file);
    }
    let mut out = io::stdout().lock();
    if args.json {
        let forest = model.forest();
        let doc = serde_json::json!({
            "id": model.id,
            "format": { "tag": FORMAT_TAG, "version": model.format_version() },
            "metadata": model.metadata().to_json(),
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

/// Writes the standalone model card to `file` (atomically), or to stdout for `-`.
fn write_card(model_path: &Path, model: &Model, file: &Path) -> anyhow::Result<()> {
    let report = training_report(model_path, &model.id);
    let html = render(
        CardInput {
            model,
            report: report.as_ref(),
        },
        Mode::Standalone,
    );
    if file == Path::new("-") {
        io::stdout().lock().write_all(html.as_bytes())?;
        return Ok(());
    }
    crate::atomic::write_all_atomic(&[(file, html.as_bytes())]).context("check the --html path")?;
    eprintln!("Wrote {}", file.display());
    Ok(())
}

/// The `metrics.json` beside the model file, when it is there, reads, and names this
/// model (as `mlops serve` takes it for `/model`); otherwise the card goes without it
/// and stderr says why.
fn training_report(model_path: &Path, model_id: &str) -> Option<MetricsReport> {
    let path = model_path.with_file_name("metrics.json");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            eprintln!(
                "note: cannot read {}: {e}; the card goes without it",
                path.display()
            );
            return None;
        }
    };
    match serde_json::from_slice::<MetricsReport>(&bytes) {
        Ok(report) if report.model_sha256 == model_id => Some(report),
        Ok(_) => {
            eprintln!(
                "note: {} belongs to another model (its model_sha256 differs); the card goes without it",
                path.display()
            );
            None
        }
        Err(e) => {
            eprintln!(
                "note: {} is not a metrics report ({e}); the card goes without it",
                path.display()
            );
            None
        }
    }
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
    match meta.test_accuracy() {
        None => writeln!(
            out,
            "accuracy    train {:.4}, no test set (trained on every row)",
            meta.metrics.train_accuracy
        )?,
        Some(test) => writeln!(
            out,
            "accuracy    train {:.4}, test {test:.4}",
            meta.metrics.train_accuracy
        )?,
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
