//! What functions reach outside the stack: existing databases, external endpoints and
//! generated secrets; and a warning for any of them declared but used by no function.

use super::functions::Wiring;
use super::names::{Declared, Kind};
use super::{Validator, DEFAULT_DB_PORT, DEFAULT_SECRET_LENGTH};
use crate::codes::Code;
use crate::config::{Name, RawConfig};
use crate::diag::Diagnostic;
use crate::model::{Database, Endpoint, Secret};
use std::collections::BTreeSet;

impl Validator {
    pub(super) fn databases(&mut self, raw: &RawConfig, declared: &Declared) -> Vec<Database> {
        raw.databases
            .iter()
            .filter(|(n, _)| declared.databases.contains(&n.value))
            .map(|(n, d)| {
                if let Some(e) = &d.engine {
                    if e.value != "mysql" {
                        self.err(
                            Diagnostic::error(
                                Code::NotAllowed,
                                e.span,
                                format!("database engine `{}` is not supported", e.value),
                            )
                            .with_help("flowform reaches RDS MySQL/MariaDB: write `engine: mysql`"),
                        );
                    }
                }
                Database {
                    name: n.value.clone(),
                    port: d.port.as_ref().map(|p| p.value).unwrap_or(DEFAULT_DB_PORT),
                    db_name: d.name.as_ref().map(|p| p.value.clone()).unwrap_or_else(|| n.value.clone()),
                    iam_user: d.iam_user.as_ref().map(|u| u.value.clone()),
                    ca_bundle: d.ca_bundle.as_ref().and_then(|c| self.ca_bundle(c)),
                    description: d.description.as_ref().map(|p| p.value.clone()).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// `ca_bundle`: `rds` (None) or a `.pem` path relative to the config that stays inside its
    /// directory (`flowform package` reads it from there and zips it).
    fn ca_bundle(&mut self, c: &crate::config::Sp<String>) -> Option<String> {
        let v = c.value.as_str();
        if v == contracts::DB_CA_RDS {
            return None;
        }
        let safe = v.ends_with(".pem")
            && !v.starts_with('/')
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
            && v.split('/').all(|part| !part.is_empty() && part != "." && part != "..");
        if !safe {
            self.err(
                Diagnostic::error(
                    Code::NotAllowed,
                    c.span,
                    format!("`ca_bundle: {v}` is neither `rds` nor a relative path to a `.pem` file under the config's directory"),
                )
                .with_help("write `rds` (lowercase: the certificate authorities of Amazon RDS, built into the handlers) or a path relative to the config made of plain parts (letters, digits, `.`, `_`, `-`; no `.` or `..` parts, no leading `/`) ending in `.pem`, e.g. `certs/corp-ca.pem`"),
            );
        }
        Some(v.to_string())
    }

    pub(super) fn endpoints(&mut self, raw: &RawConfig, declared: &Declared) -> Vec<Endpoint> {
        raw.endpoints
            .iter()
            .filter(|(n, _)| declared.endpoints.contains(&n.value))
            .map(|(n, e)| {
                let allow_http = e.allow_http.as_ref().is_some_and(|a| a.value);
                if let Some(d) = &e.default {
                    if d.value.starts_with("http://") && !allow_http {
                        self.err(
                            Diagnostic::error(
                                Code::BadAddress,
                                d.span,
                                format!("endpoint `{}` defaults to plain HTTP; its traffic (and what it sends back) would cross the network unencrypted", n.value),
                            )
                            .with_help("use its https:// URL; for an endpoint that has no TLS, add `allow_http: true` to the endpoint"),
                        );
                    }
                    let host = d.value.strip_prefix("https://").or_else(|| d.value.strip_prefix("http://"));
                    let host = host.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
                    let ok = host.is_some_and(|h| !h.is_empty())
                        && !d.value.chars().any(|c| c.is_whitespace() || c.is_control());
                    if !ok {
                        self.err(
                            Diagnostic::error(
                                Code::BadAddress,
                                d.span,
                                format!("endpoint default `{}` is not an http(s) URL", d.value.escape_debug()),
                            )
                            .with_help("write a URL such as `https://factory.example.com`"),
                        );
                    }
                }
                Endpoint {
                    name: n.value.clone(),
                    default: e.default.as_ref().map(|d| d.value.clone()),
                    description: e.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
                    allow_http,
                }
            })
            .collect()
    }

    pub(super) fn secrets(&mut self, raw: &RawConfig, declared: &Declared) -> Vec<Secret> {
        let mut out = Vec::new();
        for (n, s) in raw.secrets.iter().filter(|(n, _)| declared.secrets.contains(&n.value)) {
            let existing = s.existing.as_ref().is_some_and(|e| e.value);
            let own_key = s.own_key.as_ref().filter(|k| k.value);
            if let (true, Some(l)) = (existing, &s.length) {
                self.err(
                    Diagnostic::error(
                        Code::Conflict,
                        l.span,
                        format!("secret `{}` exists already, so flowform generates no value of this length", n.value),
                    )
                    .with_help("remove `length`, or `existing: true` to have the stack generate the secret"),
                );
            }
            if let (false, Some(k)) = (existing, own_key) {
                self.err(
                    Diagnostic::error(
                        Code::Conflict,
                        k.span,
                        format!("secret `{}` is generated by the stack, which encrypts it with the stack key", n.value),
                    )
                    .with_help("`own_key` describes an existing secret: add `existing: true`, or remove `own_key`"),
                );
            }
            out.push(Secret {
                name: n.value.clone(),
                length: s.length.as_ref().map(|l| l.value).unwrap_or(DEFAULT_SECRET_LENGTH),
                description: s.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
                existing,
                own_key: existing && own_key.is_some(),
            });
        }
        out
    }

    /// W003: declared but unused dependencies.
    pub(super) fn unused(&mut self, raw: &RawConfig, wiring: &Wiring) {
        let funcs = &wiring.functions;
        let names_of = |items: Vec<&Name>| items.into_iter().cloned().collect::<Vec<Name>>();
        for (kind, declared, used) in [
            (
                Kind::Database,
                names_of(raw.databases.iter().map(|(n, _)| n).collect()),
                funcs.iter().flat_map(|(f, _)| f.databases.clone()).collect::<BTreeSet<_>>(),
            ),
            (
                Kind::Email,
                names_of(raw.email.iter().map(|(n, _)| n).collect()),
                funcs.iter().flat_map(|(f, _)| f.emails.clone()).collect(),
            ),
            (
                Kind::Endpoint,
                names_of(raw.endpoints.iter().map(|(n, _)| n).collect()),
                funcs.iter().flat_map(|(f, _)| f.endpoints.clone()).collect(),
            ),
            (
                Kind::Secret,
                names_of(raw.secrets.iter().map(|(n, _)| n).collect()),
                funcs.iter().flat_map(|(f, _)| f.secrets.clone()).collect(),
            ),
            (
                Kind::Authorizer,
                names_of(raw.authorizers.iter().map(|(n, _)| n).collect()),
                funcs.iter().filter_map(|(f, _)| f.authorizer().map(str::to_string)).collect(),
            ),
        ] {
            for n in &declared {
                if !used.contains(&n.value) {
                    self.err(
                        Diagnostic::warning(
                            Code::Unused,
                            n.span,
                            format!("{} `{}` is declared but no function uses it", kind.word(), n.value),
                        )
                        .with_help("remove it, or list it in a function"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::check;
    use crate::codes::Code::*;

    #[test]
    fn endpoints_and_databases() {
        check(&[
            ("endpoints:\n  factory: { default: \"https://factory.example.com\" }\n", &[Unused]),
            ("endpoints:\n  factory: { default: \"http://factory.example.com\" }\n", &[Unused, BadAddress]),
            ("endpoints:\n  factory: { default: \"http://factory.example.com\", allow_http: true }\n", &[Unused]),
            ("databases:\n  stock: { engine: postgres }\n", &[Unused, NotAllowed]),
        ]);
    }

    #[test]
    fn a_ca_bundle_is_rds_or_a_pem_file_inside_the_config_directory() {
        let db = |ca: &str| format!("databases:\n  stock: {{ ca_bundle: \"{ca}\" }}\n");
        let ok: &[crate::codes::Code] = &[Unused];
        let refused: &[crate::codes::Code] = &[Unused, NotAllowed];
        check(&[
            (&db("rds"), ok),
            (&db("corp-ca.pem"), ok),
            (&db("certs/corp_ca.2026.pem"), ok),
            (&db("RDS"), refused),
            (&db("/etc/ssl/certs/ca.pem"), refused),
            (&db("../ca.pem"), refused),
            (&db("certs/../../ca.pem"), refused),
            (&db("./ca.pem"), refused),
            (&db("certs//ca.pem"), refused),
            (&db("ca.crt"), refused),
            (&db("ca bundle.pem"), refused),
            (&db("certs\\\\ca.pem"), refused),
            (&db(""), refused),
        ]);
    }
}
