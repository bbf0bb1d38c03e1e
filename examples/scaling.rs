//! Training cost against rows: one timed fit per size on the deterministic synthetic
//! data (4 features, 3 classes, 100 trees), with the forest's node count, to show how
//! smartcore's tree builder scales. Usage:
//!
//! ```text
//! cargo run --release --example scaling -- 1000 10000 100000
//! ```
//!
//! Each fit is a single measurement (the 100k fit takes minutes), so treat small
//! differences as noise.

use std::time::Instant;

use mlops::dataset;
use mlops::params::TrainParams;
use mlops::training::{self, Source};

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("sizes are row counts"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000]
    } else {
        sizes
    };
    println!("rows,seconds,nodes,nodes_per_tree,test_accuracy");
    for rows in sizes {
        let data = dataset::synthetic(rows, 4, 3, 42);
        let started = Instant::now();
        let trained = training::train(
            Source::split(&data),
            &TrainParams::default().check(4).unwrap(),
            "scaling",
            None,
            &|_| (),
        )
        .expect("synthetic data trains");
        let seconds = started.elapsed().as_secs_f64();
        let nodes = trained.model.forest().n_nodes();
        println!(
            "{rows},{seconds:.3},{nodes},{:.0},{:.4}",
            nodes as f64 / 100.0,
            trained.report.test_accuracy.unwrap_or(f64::NAN)
        );
    }
}
