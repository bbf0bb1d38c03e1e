//! The command line: argument definitions and what each command does.
//!
//! Every flag also reads an `MLOPS_*` environment variable, so containers and compose
//! files can configure the binary without rewriting its command. Commands report what
//! they do on stdout; errors go to stderr as one `error: ...` line that says what went
//! wrong and how to fix it, with a non-zero exit code.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::atomic;
use crate::dataset::{self, Dataset};
use crate::model::{Model, TrainParams};
use crate::text::{name_list, printable, shown};
use crate::training;

/// The source revision this binary was built from, when the build knew it: set by the
/// image builders (`MLOPS_SOURCE_REVISION`) or found by `build.rs` from git.
pub const SOURCE_REVISION: Option<&str> = match option_env!("MLOPS_SOURCE_REVISION") {
    Some(rev) => Some(rev),
    None => option_env!("MLOPS_GIT_REVISION"),
};

/// mlops: train a random forest on a CSV and serve its predictions.
#[derive(Debug, Parser)]
#[command(name = "mlops", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model on a CSV and write model.cbor and metrics.json.
    Train(TrainArgs),
    /// Serve a model over HTTP.
    Serve(crate::server::ServeArgs),
    /// Check that a server is ready (the container health check): exit 0 if so.
    Probe(crate::probe::ProbeArgs),
    /// Predict every row of a CSV; writes the CSV with a prediction column to stdout.
    Predict(PredictArgs),
    /// Show a model file's metadata and provenance.
    Inspect(InspectArgs),
    /// Retrain from a model's recorded provenance and check the bytes match.
    Verify(VerifyArgs),
}

/// Options of `mlops train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// The training CSV (header row; numeric features; a class label column).
    #[arg(long, env = "MLOPS_DATA", default_value = "data/iris.csv")]
    pub data: PathBuf,
    /// Directory to write model.cbor and metrics.json into.
    #[arg(long, env = "MLOPS_OUT", default_value = "models")]
    pub out: PathBuf,
    /// The model's name [default: the data file's stem, e.g. `iris`].
    #[arg(long, env = "MLOPS_NAME")]
    pub name: Option<String>,
    /// The label column [default: the last column].
    #[arg(long, env = "MLOPS_LABEL")]
    pub label: Option<String>,
    /// Number of trees.
    #[arg(long, env = "MLOPS_TREES", default_value_t = 100)]
    pub trees: u16,
    /// Maximum depth of a tree [default: unlimited].
    #[arg(long, env = "MLOPS_MAX_DEPTH")]
    pub max_depth: Option<u16>,
    /// Minimum number of samples in a leaf.
    #[arg(long, env = "MLOPS_MIN_SAMPLES_LEAF", default_value_t = 1)]
    pub min_samples_leaf: usize,
    /// Features considered at each split [default: ⌊√features⌋].
    #[arg(long, env = "MLOPS_FEATURES_PER_SPLIT")]
    pub features_per_split: Option<usize>,
    /// Seed of the split and the forest.
    #[arg(long, env = "MLOPS_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Fraction of each class held out for evaluation.
    #[arg(long, env = "MLOPS_TEST_FRACTION", default_value_t = 0.2)]
    pub test_fraction: f64,
}

/// Options of `mlops predict`.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// The model file.
    #[arg(long, env = "MLOPS_MODEL", default_value = "models/model.cbor")]
    pub model: PathBuf,
    /// The CSV to predict; its header must name every feature of the model.
    pub input: PathBuf,
}

/// Options of `mlops inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The model file.
    pub model: PathBuf,
    /// Print JSON instead of text.
    #[arg(long, env = "MLOPS_JSON")]
    pub json: bool,
}

/// Options of `mlops verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The model file to check.
    pub model: PathBuf,
    /// The training CSV it was made from.
    #[arg(long, env = "MLOPS_DATA")]
    pub data: PathBuf,
}

/// Parses the command line and runs it; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train(&args),
        Command::Serve(args) => crate::server::run(args),
        Command::Probe(args) => {
            return if crate::probe::run(&args) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Command::Predict(args) => predict(&args),
        Command::Inspect(args) => inspect(&args),
        Command::Verify(args) => verify(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `mlops predict ... | head -1`: the reader has what it wanted. Rust ignores
        // SIGPIPE, so the write fails instead of killing us; stop quietly, as a
        // command killed by SIGPIPE would, without an error line for a non-error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {}", error_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, "what: why". Our error types already quote
/// their cause in their own message (so a log line that prints only the error says it
/// too); a cause already in the line is not repeated ("No such file ...; check the
/// path: No such file ..." said the same thing twice).
fn error_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

/// True when the error comes from writing to a pipe whose reader has gone: only stdout
/// is ever a pipe here (files are written through `atomic`, data is only read).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        let io = match cause.downcast_ref::<csv::Error>().map(csv::Error::kind) {
            Some(csv::ErrorKind::Io(io)) => Some(io),
            _ => cause.downcast_ref::<io::Error>(),
        };
        io.is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Progress lines that never stop the work they report on: `mlops train | head -1`, or
/// a log file on a full disk, must still get the model written (its result is the exit
/// code and the files). After the first failed write, lines are dropped.
struct Progress<W> {
    inner: W,
    failed: bool,
}

impl<W: Write> Progress<W> {
    fn new(inner: W) -> Self {
        Progress {
            inner,
            failed: false,
        }
    }
}

impl<W: Write> Write for Progress<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.failed {
            self.failed = self.inner.write_all(buf).is_err();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.failed {
            self.failed = self.inner.flush().is_err();
        }
        Ok(())
    }
}

impl TrainArgs {
    /// The hyperparameters these flags describe.
    pub fn params(&self) -> TrainParams {
        TrainParams {
            trees: self.trees,
            max_depth: self.max_depth,
            min_samples_leaf: self.min_samples_leaf,
            features_per_split: self.features_per_split,
            seed: self.seed,
            test_fraction: self.test_fraction,
        }
    }

    /// The model's name: `--name`, else the data file's stem. A blank name is refused:
    /// it is how `MLOPS_NAME=${NAME}` with `NAME` unset arrives, and a model named ''
    /// has no usable v2 URL (`/v2/models//infer`).
    pub fn model_name(&self) -> anyhow::Result<String> {
        match &self.name {
            Some(name) if name.trim().is_empty() => bail!(
                "--name (MLOPS_NAME) is empty; give the model a name, or leave it unset to use the data file's name"
            ),
            Some(name) => Ok(name.clone()),
            None => Ok(self
                .data
                .file_stem()
                .map_or_else(|| "model".to_owned(), |s| s.to_string_lossy().into_owned())),
        }
    }
}

/// `mlops train`: everything is validated and computed in memory first; only then are the
/// two files written, together and atomically (metrics.json names the model's hash, so
/// one must never be replaced without the other).
pub fn train(args: &TrainArgs) -> anyhow::Result<()> {
    let mut out = Progress::new(io::stdout().lock());
    let params = args.params();
    let name = args.model_name()?;
    atomic::check_dir(&args.out)?;
    writeln!(out, "Loading {}", args.data.display())?;
    let data = Dataset::load(&args.data, args.label.as_deref())?;
    training::check_params(&params, data.width())?;
    // The input is valid: make sure the output can go somewhere before training, which
    // can take minutes (a read-only mount used to fail only at the end).
    atomic::ensure_dir(&args.out)?;
    let counts: Vec<String> = data
        .classes
        .iter()
        .zip(data.class_counts())
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    writeln!(
        out,
        "  {} rows x {} features, label '{}', {} classes ({})",
        data.rows(),
        data.width(),
        printable(&data.label_name),
        data.classes.len(),
        name_list(&counts)
    )?;
    let per_split = params
        .features_per_split
        .unwrap_or_else(|| (data.width() as f64).sqrt().floor() as usize);
    writeln!(
        out,
        "Training a random forest: {} trees, max depth {}, min samples per leaf {}, {} features per split, seed {}",
        params.trees,
        params
            .max_depth
            .map_or("unlimited".to_owned(), |d| d.to_string()),
        params.min_samples_leaf,
        per_split,
        params.seed
    )?;
    let trained = training::train(&data, &params, &name, SOURCE_REVISION)?;
    let r = &trained.report;
    writeln!(
        out,
        "  stratified split: {} train / {} test rows (test fraction {})",
        r.train_rows, r.test_rows, params.test_fraction
    )?;
    writeln!(
        out,
        "  train accuracy {:.4}, test accuracy {:.4} ({:.1} ms)",
        r.train_accuracy, r.test_accuracy, r.training_time_ms
    )?;

    let model_path = args.out.join("model.cbor");
    let metrics_path = args.out.join("metrics.json");
    let mut json = serde_json::to_vec_pretty(&trained.report)?;
    json.push(b'\n');
    atomic::write_all_atomic(&[(&model_path, &trained.model_bytes), (&metrics_path, &json)])?;
    writeln!(out, "Wrote {} ({})", model_path.display(), trained.model.id)?;
    writeln!(out, "Wrote {}", metrics_path.display())?;
    Ok(())
}

/// `mlops predict`: streams the input CSV to stdout with a `prediction` column added.
/// Columns are matched to features by name, so their order may differ from training
/// and extra columns (such as the label) pass through.
pub fn predict(args: &PredictArgs) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let input = &args.input;
    let file =
        std::fs::File::open(input).with_context(|| format!("cannot read '{}'", input.display()))?;
    let (file, row_start) = dataset::RowLimit::new(file);
    // Flexible, so that a ragged row reaches the check below and its message. Untrimmed,
    // so that the other columns pass through as they were (an id "  007" stays so);
    // header names and feature cells are trimmed where they are read.
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    // An I/O error has no position of its own: it happened in the row after the last
    // one read.
    let failed = |e: csv::Error, at: &csv::Position| -> anyhow::Error {
        match e.kind() {
            csv::ErrorKind::Io(io) => {
                anyhow::anyhow!("{}:{}: {io}", input.display(), at.line())
            }
            _ => dataset::malformed(input, &e).into(),
        }
    };
    let header = match reader.headers() {
        Ok(header) => header.clone(),
        Err(e) => return Err(failed(e, &csv::Position::new())),
    };
    row_start.set(reader.position().byte());
    let mut positions = Vec::with_capacity(model.features().len());
    let mut missing = Vec::new();
    for f in model.features() {
        let mut found = header.iter().enumerate().filter(|(_, h)| h.trim() == f);
        match (found.next(), found.next()) {
            (Some((p, _)), None) => positions.push(p),
            // Which of the two would we read? Refuse rather than guess.
            (Some((first, _)), Some((second, _))) => bail!(
                "{}:1:{}: column '{f}' appears twice (columns {} and {}); the model reads one column per feature: rename or remove one",
                input.display(),
                second + 1,
                first + 1,
                second + 1
            ),
            (None, _) => missing.push(f.as_str()),
        }
    }
    if !missing.is_empty() {
        bail!(
            "{}:1: the header lacks the model's feature(s) {}; the model '{}' needs columns: {}{}",
            input.display(),
            name_list(&missing),
            model.metadata().name,
            name_list(model.features()),
            dataset::separator_hint(&header.iter().collect::<Vec<_>>()).unwrap_or_default()
        );
    }
    let stdout = io::stdout().lock();
    let mut writer = csv::Writer::from_writer(io::BufWriter::with_capacity(64 * 1024, stdout));
    let mut out_header = header.clone();
    out_header.push_field("prediction");
    const TO_STDOUT: &str = "cannot write the predictions to stdout";
    writer.write_record(&out_header).context(TO_STDOUT)?;
    let mut record = csv::StringRecord::new();
    let mut row = vec![0.0; positions.len()];
    while reader
        .read_record(&mut record)
        .map_err(|e| failed(e, reader.position()))?
    {
        row_start.set(reader.position().byte());
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != header.len() {
            bail!(
                "{}:{line}: expected {} columns as in the header, found {}; every row needs one value per header column",
                input.display(),
                header.len(),
                record.len()
            );
        }
        for (slot, (&p, name)) in row.iter_mut().zip(positions.iter().zip(model.features())) {
            let cell = &record[p];
            *slot = dataset::parse_feature(cell).with_context(|| {
                format!(
                    "{}:{line}:{}: feature '{name}' has value '{}'; expected a finite number",
                    input.display(),
                    p + 1,
                    shown(cell)
                )
            })?;
        }
        let mut out_record = record.clone();
        out_record.push_field(model.predict_one(&row));
        writer.write_record(&out_record).context(TO_STDOUT)?;
    }
    writer.flush().context(TO_STDOUT)?;
    Ok(())
}

/// `mlops inspect`: the metadata and provenance, as text or JSON.
pub fn inspect(args: &InspectArgs) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let meta = model.metadata();
    let forest = &model.body.forest;
    let nodes = forest.n_nodes();
    let mut out = io::stdout().lock();
    if args.json {
        let doc = serde_json::json!({
            "id": model.id,
            "format": { "tag": crate::model::FORMAT_TAG, "version": crate::model::FORMAT_VERSION },
            "metadata": meta,
            "forest": { "trees": forest.n_trees(), "nodes": nodes },
            "golden_rows": model.body.golden.len(),
        });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(());
    }
    let p = &meta.params;
    let d = &meta.dataset;
    // Everything below comes from the file: escape control characters (see `printable`).
    let all = |names: &[String]| -> String {
        let names: Vec<_> = names.iter().map(|n| printable(n)).collect();
        names.join(", ")
    };
    writeln!(out, "model       {}", printable(&meta.name))?;
    writeln!(out, "id          {}", model.id)?;
    writeln!(
        out,
        "format      {} v{}",
        crate::model::FORMAT_TAG,
        crate::model::FORMAT_VERSION
    )?;
    writeln!(out, "features    {}", all(&meta.features))?;
    writeln!(out, "classes     {}", all(&meta.classes))?;
    writeln!(
        out,
        "forest      {} trees, {} nodes; max depth {}, min samples per leaf {}, features per split {}",
        forest.n_trees(),
        nodes,
        p.max_depth
            .map_or("unlimited".to_owned(), |v| v.to_string()),
        p.min_samples_leaf,
        p.features_per_split
            .map_or("sqrt".to_owned(), |v| v.to_string())
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
    )?;
    Ok(())
}

/// `mlops verify`: retrains with the recorded parameters, name and label and compares
/// bytes. On a mismatch it says which part differs, so the cause can be found.
pub fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    let meta = model.metadata();
    let mut data = Dataset::load(&args.data, Some(&meta.dataset.label))?;
    if data.sha256 != meta.dataset.sha256 {
        bail!(
            "'{}' is not the training data of this model: its sha256 is {}, the model records {} ({})",
            args.data.display(),
            data.sha256,
            meta.dataset.sha256,
            meta.dataset.file_name
        );
    }
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "Retraining '{}' from {} with the recorded parameters (seed {})",
        printable(&meta.name),
        args.data.display(),
        meta.params.seed
    )?;
    // The data is identified by its sha256, checked above; its file name is incidental
    // (a renamed copy, another mount point), so replay the recorded one too.
    data.source = data.source.with_file_name(&meta.dataset.file_name);
    // Replay the recorded revision so that the comparison is about the forest; a
    // different mlops build is reported below if the bytes then differ.
    let retrained = training::train(
        &data,
        &meta.params,
        &meta.name,
        meta.source_revision.as_deref(),
    )?;
    // The id is the sha256 of the file's bytes, so equal ids mean identical bytes,
    // without reading the file a second time.
    if retrained.model.id == model.id {
        writeln!(out, "OK: identical bytes, {}", model.id)?;
        return Ok(());
    }
    let mut differences = differing_parts(&model, &retrained.model);
    if meta.crate_version != env!("CARGO_PKG_VERSION") {
        differences.push(format!(
            "the model was trained by mlops {}, this is {}",
            meta.crate_version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    bail!(
        "{} does not reproduce: the retrained model is {}; differences: {}",
        args.model.display(),
        retrained.model.id,
        if differences.is_empty() {
            "only the encoding".to_owned()
        } else {
            differences.join("; ")
        }
    )
}

fn differing_parts(a: &Model, b: &Model) -> Vec<String> {
    let (a, b) = (&a.body, &b.body);
    let mut parts = Vec::new();
    let ma = serde_json::to_value(&a.metadata).unwrap_or_default();
    let mb = serde_json::to_value(&b.metadata).unwrap_or_default();
    if let (Some(ma), Some(mb)) = (ma.as_object(), mb.as_object()) {
        for (key, va) in ma {
            if mb.get(key) != Some(va) {
                parts.push(format!(
                    "metadata.{key}: recorded {va}, retrained {}",
                    mb[key]
                ));
            }
        }
    }
    if a.golden != b.golden {
        parts.push("the golden rows".to_owned());
    }
    if a.forest != b.forest {
        let trees = a.forest.trees_differing_from(&b.forest);
        parts.push(format!(
            "the forest ({trees} of {} trees differ)",
            a.forest.n_trees()
        ));
    }
    parts
}
