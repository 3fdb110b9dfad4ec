//! Prints a synthetic config with N functions: `cargo run --release --example synth -- 100`;
//! a second argument splits it into that many nested stacks (`-- 1000 60`).
fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    match args.next().and_then(|a| a.parse().ok()) {
        Some(stacks) => print!("{}", generator::synthetic::nested(n, stacks)),
        None => print!("{}", generator::synthetic::config(n)),
    }
}
