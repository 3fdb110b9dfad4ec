//! Review and build tools beside the pipeline: `plan` (what a template change does),
//! `graph` (the topology as Mermaid and DOT), `guard` (the invariants as CloudFormation Guard
//! rules), `bindings` (each function's wiring as Rust types for its handler), `scaffold` (a
//! handlers crate for `flowform new handlers`) and `package` (handler zips). All but
//! `package` are pure; `package` runs cargo and writes zips (the library's second I/O boundary, after
//! [`crate::emit`]).

pub mod bindings;
pub mod graph;
pub mod guard;
pub mod package;
pub mod plan;
pub mod scaffold;
