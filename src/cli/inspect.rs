//! `mlops inspect`: a model file's metadata and provenance, as text or JSON.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use super::errors::hint;
use crate::model::{FORMAT_TAG, FORMAT_VERSION, Model};
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
            "format": { "tag": FORMAT_TAG, "version": FORMAT_VERSION },
            "metadata": model.metadata(),
            "forest": { "trees": forest.trees.len(), "nodes": node_count(&model) },
            "golden_rows": model.golden().len(),
        });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(());
    }
    write_text(&mut out, &model)?;
    Ok(())
}

fn node_count(model: &Model) -> usize {
    model.forest().trees.iter().map(|t| t.nodes.len()).sum()
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
    writeln!(out, "format      {FORMAT_TAG} v{FORMAT_VERSION}")?;
    writeln!(out, "features    {}", all(&meta.features))?;
    writeln!(out, "classes     {}", all(&meta.classes))?;
    writeln!(
        out,
        "forest      {} trees, {} nodes; max depth {}, min samples per leaf {}, features per split {}",
        model.forest().trees.len(),
        node_count(model),
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
    writeln!(
        out,
        "accuracy    train {:.4}, test {:.4}",
        meta.metrics.train_accuracy, meta.metrics.test_accuracy
    )?;
    writeln!(
        out,
        "built by    mlops {} (source revision {})",
        printable(&meta.crate_version),
        printable(meta.source_revision.as_deref().unwrap_or("unknown"))
    )
}
