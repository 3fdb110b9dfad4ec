//! The marketing-system stand-in. Prints `LISTENING=<port>` when ready.
use clap::Parser;

/// Marketing system stand-in: accepts VIP notices; injects faults.
#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1 (0 = a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Start in an outage (503 to everything) until `PUT /admin/faults` says otherwise.
    #[arg(long)]
    down: bool,
    /// Share of requests answered with HTTP 500.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Share of requests answered slowly.
    #[arg(long, default_value_t = 0.0)]
    slow_rate: f64,
    /// How slow a slow answer is, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    slow_ms: u64,
    /// Seed of the fault pattern.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let a = Args::parse();
    let faults = standins::Faults {
        down: a.down,
        error_rate: a.error_rate,
        slow_rate: a.slow_rate,
        slow_ms: a.slow_ms,
        ..Default::default()
    };
    let running = standins::marketing(a.port, faults, a.seed).await?;
    println!("LISTENING={}", running.addr.port());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
