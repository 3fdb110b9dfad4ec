//! The donut shop's wiring as flowform.yaml gives it: `flowform generate` writes
//! `out/bindings.rs` from the config (and `flowform check` fails when it is stale), one
//! module per function with the `Wiring` its binary reads. Remove a wire from the config and
//! the build fails where the handler used it.

include!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../out/bindings.rs"));
