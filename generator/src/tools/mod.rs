//! Review and build tools beside the pipeline: `plan` (what a template change does),
//! `graph` (the topology as Mermaid and DOT), `guard` (the invariants as CloudFormation Guard
//! rules) and `package` (handler zips). `plan` and `graph`
//! are pure; `package` runs cargo and writes zips (the library's second I/O boundary, after
//! [`crate::emit`]).

pub mod graph;
pub mod guard;
pub mod package;
pub mod plan;
