//! Training and prediction benchmarks (criterion). Bounded: small sample counts and
//! measurement times, so `cargo bench` finishes in a few minutes on 2 cores.
//!
//! The 100k-row training point takes minutes per fit with smartcore, far too long for
//! repeated sampling; `cargo run --release --example scaling` measures it once.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mlops::dataset::{self, Dataset};
use mlops::model::Model;
use mlops::params::TrainParams;
use mlops::training::{self, Source};

fn iris() -> Dataset {
    Dataset::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv"),
        None,
    )
    .unwrap()
}

fn bench_training(c: &mut Criterion) {
    let params = TrainParams::default().check(4).unwrap();
    let mut group = c.benchmark_group("train");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    let data = iris();
    group.bench_function("iris_150x4_100_trees", |b| {
        b.iter(|| {
            training::train(
                Source::split(black_box(&data)),
                &params,
                "iris",
                None,
                &|_| (),
            )
            .unwrap()
        })
    });
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for rows in [1_000, 10_000] {
        let data = dataset::synthetic(rows, 4, 3, 42);
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(
            BenchmarkId::new("synthetic_x4_100_trees", rows),
            &data,
            |b, d| {
                b.iter(|| {
                    training::train(Source::split(d), &params, "synthetic", None, &|_| ()).unwrap()
                })
            },
        );
    }
    group.finish();
}

fn bench_prediction(c: &mut Criterion) {
    let trained = training::train(
        Source::split(&iris()),
        &TrainParams::default().check(4).unwrap(),
        "iris",
        None,
        &|_| (),
    )
    .unwrap();
    let model = trained.model;
    let mut group = c.benchmark_group("predict");
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    group.bench_function("single_row", |b| {
        b.iter(|| model.predict_one(black_box(&[5.9, 3.0, 5.1, 1.8])).len())
    });
    let batch = dataset::synthetic(10_000, 4, 3, 7);
    // Scale the synthetic blobs onto Iris-like ranges so rows take varied paths.
    let rows: Vec<f64> = batch.features.iter().map(|v| 4.0 + v.abs()).collect();
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("batch_10k_rows", |b| {
        b.iter(|| model.predict_batch(black_box(&rows)))
    });
    group.finish();

    let mut group = c.benchmark_group("model");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("decode_and_check_iris_model", |b| {
        b.iter(|| {
            let m = Model::decode("bench", black_box(&trained.model_bytes)).unwrap();
            m.verify_golden().unwrap();
            m
        })
    });
    group.finish();
}

criterion_group!(benches, bench_training, bench_prediction);
criterion_main!(benches);
