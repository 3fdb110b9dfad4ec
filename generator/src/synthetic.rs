//! Synthetic configs of any size, for benchmarks and scaling tests: `n` functions, each
//! with its own queue (and DLQ) fed by one of `n / 10 + 1` topics, every fourth one behind an
//! HTTP route that publishes.

use std::fmt::Write as _;

pub fn config(n: usize) -> String {
    let topics = n / 10 + 1;
    let mut s = String::from("version: 1\nsystem: synth\nstages: { dev: {} }\ntopics:\n");
    for t in 0..topics {
        let _ = writeln!(s, "  t{t}: {{}}");
    }
    s.push_str("queues:\n");
    for i in 0..n {
        let _ = writeln!(s, "  q{i}: {{ subscribe: [t{}] }}", i % topics);
    }
    s.push_str("functions:\n");
    for i in 0..n {
        if i % 4 == 0 {
            let _ = writeln!(
                s,
                "  api{i}: {{ trigger: {{ http: {{ auth: public, routes: [\"POST /r{i}\"] }} }}, publishes: [t{}] }}",
                i % topics
            );
        }
        let _ = writeln!(s, "  f{i}: {{ trigger: {{ queue: q{i}, batch_size: 10 }}, reserved_concurrency: 2 }}");
    }
    s
}
