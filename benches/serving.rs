//! The router's own cost per request, in process: what `/predict` adds to `/health`
//! before any socket, parser or kernel work (those are `bench/http.sh`'s).
//!
//! `cargo bench --bench serving`

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use mlops::dataset::Dataset;
use mlops::params::TrainParams;
use mlops::server::{AppState, Limits, app};
use mlops::training::{self, Source};
use tower::ServiceExt;

/// A state serving a freshly trained Iris model (default flags), from a temporary file.
fn iris_state(dir: &Path) -> AppState {
    let data = Dataset::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv"),
        None,
    )
    .unwrap();
    let params = TrainParams::default().check(4).unwrap();
    let trained = training::train(Source::split(&data), &params, "iris", None, &|_| ()).unwrap();
    let path = dir.join("model.cbor");
    std::fs::write(&path, &trained.model_bytes).unwrap();
    AppState::load(path, Limits::DEFAULT).unwrap()
}

fn bench_router(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let router = app(iris_state(dir.path()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let send = |req: Request<Body>| {
        rt.block_on(async {
            let response = router.clone().oneshot(req).await.unwrap();
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap()
                .len()
        })
    };
    let mut group = c.benchmark_group("router");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("get_health", |b| {
        b.iter(|| {
            let req = Request::get("/health").header(header::HOST, "bench");
            send(black_box(req.body(Body::empty()).unwrap()))
        })
    });
    group.bench_function("post_predict_one_row", |b| {
        b.iter(|| {
            let req = Request::post("/predict")
                .header(header::HOST, "bench")
                .header(header::CONTENT_TYPE, "application/json");
            let body = Body::from(r#"{"features":[5.1,3.5,1.4,0.2]}"#);
            send(black_box(req.body(body).unwrap()))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_router);
criterion_main!(benches);
