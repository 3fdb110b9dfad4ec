//! Functions as written: handler, settings, references to what they reach, env vars,
//! callbacks; their triggers are in [`super::triggers`]. Stage overrides are applied in
//! [`super::stages`].

use super::names::{Declared, Kind};
use super::settings::Settings;
use super::{Validator, DEFAULT_MEMORY, DEFAULT_TIMEOUT};
use crate::codes::Code;
use crate::config::{Name, RawConfig, RawFunction, RawHttp, Sp};
use crate::diag::{did_you_mean, Diagnostic, Span};
use crate::model::{Function, Route, RouteAuth, Throttle, Trigger};
use std::collections::BTreeMap;

/// The functions (with the raw entry each came from, for positions) and what their triggers
/// claimed: every route (with its function) and every consumed queue (with its consumer).
pub(super) struct Wiring<'a> {
    pub functions: Vec<(Function, &'a RawFunction)>,
    pub routes: BTreeMap<Route, (String, Span)>,
    pub consumers: BTreeMap<String, (String, Span)>,
}

impl Validator {
    pub(super) fn functions<'a>(&mut self, raw: &'a RawConfig, declared: &Declared, settings: &Settings) -> Wiring<'a> {
        let mut wiring = Wiring { functions: Vec::new(), routes: BTreeMap::new(), consumers: BTreeMap::new() };
        for (n, f) in &raw.functions {
            if !declared.functions.contains(&n.value) {
                continue;
            }
            if let Some(func) = self.function(raw, n, f, declared, settings, &mut wiring) {
                wiring.functions.push((func, f));
            }
        }
        self.callbacks(&mut wiring);
        self.signed_routes(&wiring);
        self.shared_handlers(&wiring);
        wiring
    }

    /// One handler binary is built once, for one architecture: functions sharing a handler
    /// must agree (`flowform package` could not build both).
    fn shared_handlers(&mut self, wiring: &Wiring) {
        let mut first: BTreeMap<&str, &Function> = BTreeMap::new();
        for (f, rf) in &wiring.functions {
            match first.get(f.handler.as_str()) {
                Some(other) if other.architecture != f.architecture => {
                    let at = rf.architecture.as_ref().map_or(rf.span, |a| a.span);
                    self.err(
                        Diagnostic::error(
                            Code::HandlerArchitecture,
                            at,
                            format!(
                                "function `{}` runs handler `{}` on {}, but function `{}` runs it on {}",
                                f.name,
                                f.handler,
                                f.architecture.as_aws(),
                                other.name,
                                other.architecture.as_aws()
                            ),
                        )
                        .with_help("one handler binary has one architecture: set the same `architecture` on both, or give one its own `handler`"),
                    );
                }
                Some(_) => {}
                None => {
                    first.insert(&f.handler, f);
                }
            }
        }
    }

    fn function(
        &mut self,
        raw: &RawConfig,
        n: &Name,
        f: &RawFunction,
        declared: &Declared,
        settings: &Settings,
        wiring: &mut Wiring,
    ) -> Option<Function> {
        let from = format!("function `{}`", n.value);
        let trigger = match &f.trigger {
            None if f.trigger_refused => None, // refused by the parser, reported there
            None => {
                self.err(
                Diagnostic::error(Code::Missing, n.span, format!("function `{}` has no `trigger`", n.value))
                    .with_help("add `trigger: { queue: <queue> }`, `trigger: { http: { auth: public, routes: [...] } }` or `trigger: { schedule: rate(1 hour) }`"),
            );
                None
            }
            Some(t) => self.trigger(t, &n.value, declared, raw, &mut wiring.routes, &mut wiring.consumers),
        };
        let publishes = self.refs(Kind::Topic, &f.publishes, &declared.topics, &from);
        let dbs = self.refs(Kind::Database, &f.databases, &declared.databases, &from);
        let ems = self.refs(Kind::Email, &f.emails, &declared.emails, &from);
        let eps = self.refs(Kind::Endpoint, &f.endpoints, &declared.endpoints, &from);
        let secs = self.refs(Kind::Secret, &f.secrets, &declared.secrets, &from);
        let handler = match &f.handler {
            Some(h) => {
                if !h.value.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    || !h.value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
                {
                    self.err(
                        Diagnostic::error(Code::BadName, h.span, format!("invalid handler binary name `{}`", h.value))
                            .with_help("a handler is the name of a binary in the handlers crate, e.g. `checkout`"),
                    );
                }
                h.value.clone()
            }
            None => n.value.replace('_', "-"),
        };
        let env = self.env(&f.env, &[]);
        let stack = f.stack.as_ref().map(|s| {
            // Letters and digits only: the logical ID `NestedStack<Name>` keeps every character,
            // so two names never make one ID.
            let ok = s.value.len() <= 32
                && s.value.starts_with(|c: char| c.is_ascii_lowercase())
                && s.value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if !ok {
                self.err(
                    Diagnostic::error(Code::BadName, s.span, format!("invalid nested stack name `{}`", s.value))
                        .with_help("use at most 32 lowercase letters and digits, starting with a letter, e.g. `billing`"),
                );
            }
            if raw.nested_stacks.is_none() && !raw.refused.contains(&"nested_stacks") {
                self.err(
                    Diagnostic::error(Code::Undefined, s.span, format!("function `{}` names nested stack `{}`, but the config has no `nested_stacks`", n.value, s.value))
                        .with_help("add `nested_stacks: N` at the top level (functions without `stack` hash into N nested stacks), or remove `stack`"),
                );
            }
            s.value.clone()
        });
        let trigger = trigger?;
        Some(Function {
            name: n.value.clone(),
            identity: declared.identity(Kind::Function, &n.value).to_string(),
            stack,
            handler,
            description: f.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
            timeout: f.timeout.as_ref().or(raw.defaults.timeout.as_ref()).map(|t| t.value).unwrap_or(DEFAULT_TIMEOUT),
            memory: f.memory.as_ref().or(raw.defaults.memory.as_ref()).map(|t| t.value).unwrap_or(DEFAULT_MEMORY),
            architecture: match &f.architecture {
                Some(a) => self.architecture(Some(a)).unwrap_or(settings.architecture),
                None => settings.architecture,
            },
            reserved_concurrency: f.reserved_concurrency.as_ref().map(|r| r.value),
            trigger,
            publishes,
            databases: dbs,
            emails: ems,
            endpoints: eps,
            secrets: secs,
            callbacks: Vec::new(),
            env,
            route_throttle: Self::route_throttle(f.route_throttle.as_ref(), None),
        })
    }

    /// A route throttle (of the trigger, or a stage's override over `base`); what neither
    /// gives stays the stage's default (an empty one is refused by the parser).
    pub(super) fn route_throttle(t: Option<&RawHttp>, base: Option<Throttle>) -> Option<Throttle> {
        let t = t?;
        let base = base.unwrap_or(Throttle { rate: None, burst: None });
        Some(Throttle {
            rate: t.throttle_rate.as_ref().map(|r| r.value).or(base.rate),
            burst: t.throttle_burst.as_ref().map(|b| b.value).or(base.burst),
        })
    }

    /// Callbacks refer to routes of any function, so they resolve after all triggers.
    fn callbacks(&mut self, wiring: &mut Wiring) {
        let all_routes = &wiring.routes;
        for (func, rf) in &mut wiring.functions {
            let mut cbs = Vec::new();
            for c in &rf.callbacks {
                let Some(route) = self.route(c) else { continue };
                if !all_routes.contains_key(&route) {
                    let known: Vec<String> = all_routes.keys().map(Route::key).collect();
                    let help = did_you_mean(&c.value, known.iter().map(String::as_str))
                        .unwrap_or_else(|| "callbacks name a route of some function's `trigger.http.routes`".into());
                    self.err(
                        Diagnostic::error(
                            Code::Undefined,
                            c.span,
                            format!("function `{}` hands out route `{}`, which no function serves", func.name, c.value),
                        )
                        .with_help(help),
                    );
                    continue;
                }
                cbs.push(route);
            }
            cbs.sort();
            func.callbacks = cbs;
        }
    }

    /// Signed routes need a secret to verify with.
    fn signed_routes(&mut self, wiring: &Wiring) {
        for (func, rf) in &wiring.functions {
            if let Trigger::Http { auth: RouteAuth::Signed, .. } = func.trigger {
                if func.secrets.is_empty() {
                    let span = rf.trigger.as_ref().map(|t| t.span).unwrap_or(rf.span);
                    self.err(
                        Diagnostic::error(
                            Code::UnsignedRoute,
                            span,
                            format!(
                                "function `{}` has `auth: signed` routes but no secret to verify signatures",
                                func.name
                            ),
                        )
                        .with_help("add `secrets: [<secret>]` naming the key its callers sign with"),
                    );
                }
            }
        }
    }

    /// User env vars: upper snake case, not flowform's prefix, no secrets in plain text.
    pub(super) fn env(&mut self, env: &[(Name, Sp<String>)], base: &[(String, String)]) -> Vec<(String, String)> {
        let mut out: BTreeMap<String, String> = base.iter().cloned().collect();
        for (k, v) in env {
            // Lambda's pattern is `[a-zA-Z]([a-zA-Z0-9_])+`: two characters at least.
            let ok = k.value.len() >= 2
                && k.value.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && k.value.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                self.err(
                    Diagnostic::error(
                        Code::BadEnv,
                        k.span,
                        if k.value.len() < 2 {
                            format!("env var name `{}` is one character; Lambda takes names of two or more", k.value)
                        } else {
                            format!("env var name `{}` is not UPPER_SNAKE_CASE", k.value)
                        },
                    )
                    .with_help("use two or more capital letters, digits and `_`, starting with a letter"),
                );
                continue;
            }
            if k.value.starts_with(contracts::PREFIX) || k.value.starts_with("AWS_") || k.value.starts_with("LAMBDA_") {
                self.err(
                    Diagnostic::error(Code::BadEnv, k.span, format!("env var `{}` uses a reserved prefix", k.value))
                        .with_help("`FLOWFORM_` is set by flowform from the wiring; `AWS_` and `LAMBDA_` by Lambda"),
                );
                continue;
            }
            let upper = k.value.as_str();
            if ["PASSWORD", "SECRET", "TOKEN", "PRIVATE_KEY", "API_KEY"].iter().any(|w| upper.contains(w)) {
                self.err(
                    Diagnostic::error(Code::BadEnv, k.span, format!("env var `{}` looks like a secret, written in plain text", k.value))
                        .with_help("declare it under `secrets:` and list it in the function's `secrets`; the handler reads it from Secrets Manager"),
                );
                continue;
            }
            out.insert(k.value.clone(), v.value.clone());
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::check;
    use crate::codes::Code::*;

    #[test]
    fn function_wiring() {
        let f = "functions:\n  f: { trigger: { schedule: rate(5 minutes) }";
        check(&[
            (&format!("{f} }}\n"), &[]),
            (&format!("{f}, env: {{ AWS_REGION: x }} }}\n"), &[BadEnv]),
            (&format!("{f}, publishes: [nope] }}\n"), &[Undefined]),
            ("functions:\n  f: { trigger: { http: { auth: signed, routes: [\"GET /a\"] } } }\n", &[UnsignedRoute]),
        ]);
    }
}
