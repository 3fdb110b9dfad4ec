//! The Factory API stand-in. Prints `LISTENING=<port>` when ready.
use clap::Parser;
use std::time::Duration;

/// Legacy Factory API stand-in: accepts orders, calls back after a delay; injects faults.
#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1 (0 = a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Delay before the callback, in milliseconds.
    #[arg(long, default_value_t = 500)]
    callback_delay_ms: u64,
    /// Share of orders answered with HTTP 500.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Share of orders answered slowly.
    #[arg(long, default_value_t = 0.0)]
    slow_rate: f64,
    /// How slow a slow answer is, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    slow_ms: u64,
    /// Share of orders whose callback is sent twice.
    #[arg(long, default_value_t = 0.0)]
    duplicate_rate: f64,
    /// Share of orders accepted (and produced) but answered only after --slow-ms.
    #[arg(long, default_value_t = 0.0)]
    accept_then_timeout_rate: f64,
    /// Share of productions reported one unit short.
    #[arg(long, default_value_t = 0.0)]
    short_report_rate: f64,
    /// Answer 503 to everything for this many milliseconds after start.
    #[arg(long, default_value_t = 0)]
    outage_ms: u64,
    /// Seed of the fault pattern.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let a = Args::parse();
    let faults = standins::Faults {
        down: false,
        error_rate: a.error_rate,
        slow_rate: a.slow_rate,
        slow_ms: a.slow_ms,
        duplicate_rate: a.duplicate_rate,
        accept_then_timeout_rate: a.accept_then_timeout_rate,
        short_report_rate: a.short_report_rate,
        outage_ms: a.outage_ms,
    };
    let running = standins::factory(a.port, faults, a.seed, Duration::from_millis(a.callback_delay_ms)).await?;
    println!("LISTENING={}", running.addr.port());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
