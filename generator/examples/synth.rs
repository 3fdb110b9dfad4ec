//! Prints a synthetic config with N functions: `cargo run --release --example synth -- 100`.
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    print!("{}", generator::synthetic::config(n));
}
