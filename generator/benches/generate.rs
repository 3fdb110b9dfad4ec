//! In-process cost of `build` (parse, validate, lower, render, verify; no file I/O) on the
//! donut shop and on synthetic systems. Method and numbers: docs/BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use generator::{build_with, render::Renderer, synthetic, Options};

fn bench(c: &mut Criterion) {
    let renderer = Renderer::new().expect("templates compile");
    let donut = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../flowform.yaml")).unwrap();
    c.bench_function("donut_shop", |b| b.iter(|| build_with(&renderer, &donut, Options::default()).unwrap()));

    let mut g = c.benchmark_group("synthetic");
    g.sample_size(10);
    let unlimited = Options { quotas: false, ..Options::default() };
    for n in [10usize, 100, 1000] {
        let text = synthetic::config(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("functions", n), &text, |b, t| {
            b.iter(|| build_with(&renderer, t, unlimited).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
