//! Settings of the whole config: `version`, `system`, `handlers_crate` and `defaults`.

use super::{Validator, DEFAULT_LOG_RETENTION, LOG_RETENTION_DAYS};
use crate::codes::Code;
use crate::config::{RawConfig, Sp};
use crate::diag::Diagnostic;
use crate::model::Architecture;

/// The config-wide values every later family reads.
pub(super) struct Settings {
    pub system: String,
    pub handlers_crate: String,
    pub architecture: Architecture,
    pub log_retention: u64,
}

/// The system name's rule: lowercase letters, digits and `-`, starting with a letter, at
/// most [`crate::schema::MAX_SYSTEM_NAME`].
pub(super) fn system_name_ok(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= crate::schema::MAX_SYSTEM_NAME
}

impl Validator {
    pub(super) fn settings(&mut self, raw: &RawConfig) -> Settings {
        match &raw.version {
            Some(v) if v.value == 1 => {}
            Some(v) => self.err(
                Diagnostic::error(Code::Version, v.span, format!("config version {} is not supported", v.value))
                    .with_help("this flowform reads `version: 1`"),
            ),
            None if raw.refused.contains(&"version") => {} // refused by the parser, reported there
            None => self.err(
                Diagnostic::error(Code::Missing, raw.top, "missing `version`").with_help("add `version: 1` at the top"),
            ),
        }
        let system = match &raw.system {
            Some(s) => {
                if !system_name_ok(&s.value) {
                    self.err(
                        Diagnostic::error(Code::BadName, s.span, format!("invalid system name `{}`", s.value))
                            .with_help(format!(
                                "use at most {} lowercase letters, digits and `-`, starting with a letter",
                                crate::schema::MAX_SYSTEM_NAME
                            )),
                    );
                }
                s.value.clone()
            }
            None if raw.refused.contains(&"system") => String::from("system"),
            None => {
                self.err(
                    Diagnostic::error(Code::Missing, raw.top, "missing `system`")
                        .with_help("add `system: <name>`; it prefixes every physical name"),
                );
                String::from("system")
            }
        };

        let handlers_crate = match &raw.handlers_crate {
            Some(c) => {
                // Cargo's rule: ASCII letters, digits, `-` and `_`, not starting with a digit or `-`.
                if !c.value.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
                    || !c.value.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
                {
                    self.err(
                        Diagnostic::error(Code::BadName, c.span, format!("invalid cargo package name `{}`", c.value))
                            .with_help("name the workspace package that holds one binary per handler, e.g. `shop`"),
                    );
                }
                c.value.clone()
            }
            None => "handlers".to_string(),
        };
        Settings {
            system,
            handlers_crate,
            architecture: self.architecture(raw.defaults.architecture.as_ref()).unwrap_or(Architecture::X86_64),
            log_retention: self
                .log_retention(raw.defaults.log_retention_days.as_ref())
                .unwrap_or(DEFAULT_LOG_RETENTION),
        }
    }

    pub(super) fn architecture(&mut self, a: Option<&Sp<String>>) -> Option<Architecture> {
        let a = a?;
        match a.value.as_str() {
            "x86_64" => Some(Architecture::X86_64),
            "arm64" => Some(Architecture::Arm64),
            other => {
                self.err(
                    Diagnostic::error(Code::NotAllowed, a.span, format!("unknown architecture `{other}`"))
                        .with_help("write `x86_64` or `arm64`"),
                );
                None
            }
        }
    }

    pub(super) fn log_retention(&mut self, r: Option<&Sp<u64>>) -> Option<u64> {
        let r = r?;
        if LOG_RETENTION_DAYS.contains(&r.value) {
            return Some(r.value);
        }
        let nearest = LOG_RETENTION_DAYS.iter().min_by_key(|d| d.abs_diff(r.value)).copied().unwrap_or(30);
        self.err(
            Diagnostic::error(Code::NotAllowed, r.span, format!("CloudWatch Logs cannot keep logs {} days", r.value))
                .with_help(format!(
                    "allowed values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...; nearest is {nearest}"
                )),
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::check;
    use crate::codes::Code::*;

    #[test]
    fn top_level_settings() {
        check(&[
            ("defaults: { log_retention_days: 30 }\n", &[]),
            ("defaults: { log_retention_days: 2 }\n", &[NotAllowed]),
            ("defaults: { architecture: sparc }\n", &[NotAllowed]),
        ]);
    }
}
