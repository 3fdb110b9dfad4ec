//! Raw config -> one validated [`System`] per stage, plus every diagnostic.
//!
//! All checks run, whatever fails first; the caller writes nothing when any error is found.
//! One file per family of the config; [`Validator::run`] lists them in the order their
//! results are needed. Diagnostics are sorted by position afterwards, so the order of checks
//! never shows.

mod auth;
mod email;
mod filters;
mod functions;
mod imports;
mod names;
mod physical;
mod queues;
mod reach;
mod renames;
mod schedule;
mod settings;
mod stages;
mod text;
mod topics;
mod triggers;

use crate::config::imports::Exporters;
use crate::config::RawConfig;
use crate::diag::Diagnostic;
use crate::model::System;
pub use schedule::schedule_expression;

pub use crate::schema::{
    DEFAULT_BATCH_SIZE, DEFAULT_BATCH_WINDOW, DEFAULT_DB_PORT, DEFAULT_DLQ_RETENTION_DAYS, DEFAULT_LOG_RETENTION,
    DEFAULT_MAX_EVENT_AGE, DEFAULT_MAX_RECEIVES, DEFAULT_MEMORY, DEFAULT_QUEUE_RETENTION_DAYS,
    DEFAULT_SCHEDULE_RETRIES, DEFAULT_SECRET_LENGTH, DEFAULT_THROTTLE_BURST, DEFAULT_THROTTLE_RATE, DEFAULT_TIMEOUT,
};
/// API Gateway HTTP APIs end an integration after 30 s.
pub const HTTP_MAX_TIMEOUT: u64 = 30;
pub use crate::schema::LOG_RETENTION_DAYS;
const DAY: u64 = 86_400;

/// Validates the whole config against the configs it imports from (read by
/// [`crate::config::imports::load`]); returns one system per stage (sorted by stage name)
/// when there are no errors. Warnings are returned either way.
pub fn validate(raw: &RawConfig, exporters: &Exporters) -> (Vec<System>, Vec<Diagnostic>) {
    let mut v = Validator { diags: Vec::new(), refused: Default::default() };
    let systems = v.run(raw, exporters);
    let has_errors = v.diags.iter().any(Diagnostic::is_error);
    (if has_errors { Vec::new() } else { systems }, v.diags)
}

/// Collects diagnostics; each family's checks are `impl Validator` blocks in its own file.
struct Validator {
    diags: Vec<Diagnostic>,
    /// Names defined but refused (invalid, or clashing with another), by section: a reference
    /// to one is not reported again as undefined.
    refused: std::collections::BTreeSet<(&'static str, String)>,
}

impl Validator {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn run(&mut self, raw: &RawConfig, exporters: &Exporters) -> Vec<System> {
        let settings = self.settings(raw);
        self.texts(raw);
        let declared = self.declared(raw);
        let imports = self.imports(raw, exporters, &settings.system);
        let resources = stages::Resources {
            topics: self.topics(raw, &declared, &imports, &settings.system),
            emails: self.emails(raw, &declared.emails, &settings.system),
            databases: self.databases(raw, &declared),
            endpoints: self.endpoints(raw, &declared),
            secrets: self.secrets(raw, &declared),
            authorizers: self.authorizers(raw, &declared),
        };
        let wiring = self.functions(raw, &declared, &settings);
        let subscribed = self.queues(raw, &declared, &resources.topics, &wiring);
        self.unread_topics(raw, &declared, &wiring, &subscribed);
        self.import_uses(raw, &resources.topics, &imports, &settings.system);
        self.unused(raw, &wiring);
        self.name_lengths(raw, &declared, &settings.system);
        self.physical_names(raw, &declared, &wiring, &resources.emails, &settings.system);
        self.stages(raw, &declared, &settings, &resources, &wiring)
    }
}

/// Data-driven tests of each family: a config snippet under a minimal config, and the codes
/// it must produce (errors and warnings, in report order).
#[cfg(test)]
pub(crate) mod table {
    use crate::codes::Code;

    /// The codes of every diagnostic of `version: 1, system: shop, stages: dev` plus `extra`.
    pub fn codes(extra: &str) -> Vec<Code> {
        let text = format!("version: 1\nsystem: shop\nstages:\n  dev: {{}}\n{extra}");
        match crate::build(&text) {
            Ok(b) => b.warnings.iter().map(|d| d.code).collect(),
            Err(crate::Failure::Invalid(d)) => d.iter().map(|d| d.code).collect(),
            Err(crate::Failure::Internal(m)) => panic!("internal error on\n{text}\n{m}"),
        }
    }

    /// Checks each `(snippet, codes)` row.
    pub fn check(rows: &[(&str, &[Code])]) {
        for (extra, want) in rows {
            assert_eq!(codes(extra), *want, "for\n{extra}");
        }
    }
}
