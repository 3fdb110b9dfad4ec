//! Per-phase wall time of a build, for the benchmarks (`FLOWFORM_TIMINGS=1 flowform generate`
//! prints them; docs/BENCHMARKS.md records where the time goes). Off unless [`enable`]d: a
//! disabled [`time`] is one atomic load. Phases on several threads (stages render in
//! parallel) add up, so their sum can exceed the wall time of the whole.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ON: AtomicBool = AtomicBool::new(false);
static LOG: Mutex<Vec<(&'static str, Duration)>> = Mutex::new(Vec::new());

/// Records phases from now on.
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// Runs `f`, adding its wall time to phase `name` when enabled.
pub fn time<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    if !ON.load(Ordering::Relaxed) {
        return f();
    }
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    let mut log = LOG.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match log.iter_mut().find(|(n, _)| *n == name) {
        Some((_, d)) => *d += took,
        None => log.push((name, took)),
    }
    out
}

/// The phases recorded so far, in first-seen order, and clears them.
pub fn take() -> Vec<(&'static str, Duration)> {
    std::mem::take(&mut *LOG.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}
