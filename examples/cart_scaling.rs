//! The CART learner's cost: one timed fit on deterministic synthetic data (overlapping
//! classes, so trees grow deep), with the forest's size, out-of-bag accuracy and the
//! process's peak memory; then the single-row prediction time of a 100-tree Iris forest.
//! Usage:
//!
//! ```text
//! cargo run --release --example cart_scaling -- ROWS FEATURES TREES THREADS
//! cargo run --release --example cart_scaling -- 100000 4 100 2
//! cargo run --release --example cart_scaling -- predict
//! ```
//!
//! Each fit is a single measurement: on a shared machine, treat small differences as
//! noise.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use mlops::dataset::{self, Dataset};
use mlops::forest::{Forest, Node, Tree, v1};
use mlops::training::cart::{self, CartParams, Columns};

fn main() {
    if std::env::args().nth(1).as_deref() == Some("predict") {
        time_predictions();
        return;
    }
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are counts"))
        .collect();
    let arg = |i: usize, default: usize| args.get(i).copied().unwrap_or(default);
    let (rows, width, trees, threads) = (arg(0, 10_000), arg(1, 4), arg(2, 100), arg(3, 2));
    fit_synthetic(rows, width, trees, threads);
}

fn fit_synthetic(rows: usize, width: usize, trees: usize, threads: usize) {
    let data = dataset::synthetic(rows, width, 3, 42);
    let columns = column_major(&data);
    let params = CartParams {
        trees,
        max_depth: None,
        min_samples_leaf: 1,
        features_per_split: (width as f64).sqrt().floor().max(1.0) as usize,
        seed: 42,
        threads,
    };
    let started = Instant::now();
    let data = Columns::new(&columns, rows, width, &data.labels, 3);
    let fitted = cart::fit(&data, &params, &|_| {});
    let seconds = started.elapsed().as_secs_f64();
    let mut bytes = Vec::new();
    ciborium::into_writer(&fitted.forest, &mut bytes).expect("encoding to memory");
    println!(
        "fit: {rows} rows x {width} features, {trees} trees, {threads} threads: {seconds:.2} s; \
         {} nodes, {:.1} MB encoded, oob accuracy {:.4}, peak RSS {} MB",
        fitted.forest.n_nodes(),
        bytes.len() as f64 / 1e6,
        fitted.oob_accuracy.unwrap_or(f64::NAN),
        peak_rss_mb(),
    );
}

/// A dataset's row-major features, column by column.
fn column_major(data: &Dataset) -> Vec<f64> {
    let width = data.width();
    (0..width)
        .flat_map(|f| data.features.iter().skip(f).step_by(width).copied())
        .collect()
}

fn time_predictions() {
    let iris = Dataset::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv"),
        None,
    )
    .expect("data/iris.csv");
    let columns = column_major(&iris);
    let data = Columns::new(&columns, iris.rows(), 4, &iris.labels, 3);
    let params = CartParams {
        trees: 100,
        max_depth: None,
        min_samples_leaf: 1,
        features_per_split: 2,
        seed: 42,
        threads: 2,
    };
    let forest = cart::fit(&data, &params, &|_| {}).forest;
    let leaves = forest.trees().iter().flat_map(|t| {
        t.nodes()
            .iter()
            .filter(|n| n.is_leaf())
            .map(move |n| t.leaf_weights(n).len())
    });
    let (n_leaves, mixed) = leaves.fold((0, 0), |(n, m), len| (n + 1, m + usize::from(len > 1)));
    println!(
        "predict_row: iris, 100 trees, {} nodes ({mixed} of {n_leaves} leaves mixed)",
        forest.n_nodes()
    );
    // The same row again and again (as benches/training.rs measures), then all 150 rows
    // in turn: the branch predictor learns one row's paths, not 150 rows'.
    let same = [5.9, 3.0, 5.1, 1.8];
    time_rows("same row", |_| &same[..], |row| forest.predict_row(row));
    time_rows(
        "150 rows in turn",
        |i| iris.row(i % 150),
        |row| forest.predict_row(row),
    );
    let old = as_v1(&forest);
    time_rows("same row, v1 vote", |_| &same[..], |row| old.vote(row));
    time_rows(
        "150 rows, v1 vote",
        |i| iris.row(i % 150),
        |row| old.vote(row),
    );
}

/// The same trees as a format-1 forest (pure leaves: each leaf's class), for the
/// baseline: the majority-vote loop format-1 models predict with.
fn as_v1(forest: &Forest) -> v1::Forest {
    let node = |t: &Tree, n: &Node| match n.split() {
        Some(s) => v1::Node {
            feature: s.feature,
            threshold: s.threshold,
            true_child: s.true_child,
            false_child: s.false_child,
            class: 0,
        },
        None => v1::Node {
            feature: 0,
            threshold: 0.0,
            true_child: 0,
            false_child: 0,
            class: t.leaf_weights(n)[0].class,
        },
    };
    let tree = |t: &Tree| v1::Tree {
        nodes: t.nodes().iter().map(|n| node(t, n)).collect(),
    };
    v1::Forest {
        n_features: 4,
        n_classes: 3,
        trees: forest.trees().iter().map(tree).collect(),
    }
}

/// Prints the CPU and wall time per prediction of `predict` over `row(i)`.
fn time_rows<'a>(what: &str, row: impl Fn(usize) -> &'a [f64], predict: impl Fn(&[f64]) -> u32) {
    let rounds = 1_000_000;
    let (wall, cpu) = (Instant::now(), cpu_ns());
    for i in 0..rounds {
        black_box(predict(black_box(row(i))));
    }
    let per_row = |ns: f64| ns / rounds as f64;
    println!(
        "  {what}: {:.0} ns per row on the CPU, {:.0} ns wall",
        per_row((cpu_ns() - cpu) as f64),
        per_row(wall.elapsed().as_nanos() as f64),
    );
}

/// CPU time of this thread so far, in ns (the first field of its schedstat): the
/// machine is shared, and wall time counts the time others hold the cores.
fn cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    stat.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The process's peak resident set size (VmHWM), in MB; 0 where /proc is unavailable.
fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    kb.unwrap_or(0) / 1024
}
