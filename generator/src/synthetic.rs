//! Synthetic configs of any size, for benchmarks and scaling tests: `n` functions, each
//! with its own queue (and DLQ) fed by one of `n / 10 + 1` topics, every fourth one behind an
//! HTTP route that publishes. [`nested`] is the same split into nested stacks.

use std::fmt::Write as _;

pub fn config(n: usize) -> String {
    with_header(n, "", true)
}

/// [`config`] with `nested_stacks: stacks`.
pub fn nested(n: usize, stacks: u32) -> String {
    with_header(n, &format!("nested_stacks: {stacks}\n"), true)
}

/// [`nested`] with every fourth function on an hourly schedule instead of an HTTP route (moto
/// has no CloudFormation model of API Gateway v2, so a deploy test there leaves HTTP out).
pub fn nested_without_http(n: usize, stacks: u32) -> String {
    with_header(n, &format!("nested_stacks: {stacks}\n"), false)
}

fn with_header(n: usize, header: &str, http: bool) -> String {
    let topics = n / 10 + 1;
    let mut s = format!("version: 1\nsystem: synth\n{header}stages: {{ dev: {{}} }}\ntopics:\n");
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
            let trigger = if http {
                format!("{{ http: {{ auth: public, routes: [\"POST /r{i}\"] }} }}")
            } else {
                "{ schedule: rate(1 hour) }".to_string()
            };
            let _ = writeln!(s, "  api{i}: {{ trigger: {trigger}, publishes: [t{}] }}", i % topics);
        }
        let _ = writeln!(s, "  f{i}: {{ trigger: {{ queue: q{i}, batch_size: 10 }}, reserved_concurrency: 2 }}");
    }
    s
}
