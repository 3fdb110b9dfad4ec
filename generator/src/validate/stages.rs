//! Per stage: apply the stage's overrides, check what depends on final values, and assemble
//! one [`System`].

use super::functions::Wiring;
use super::names::{Declared, Kind};
use super::settings::Settings;
use super::{Validator, DEFAULT_THROTTLE_BURST, DEFAULT_THROTTLE_RATE, HTTP_MAX_TIMEOUT};
use crate::codes::Code;
use crate::config::{Name, RawConfig, RawFunction, RawStage};
use crate::diag::Diagnostic;
use crate::model::*;
use std::collections::BTreeMap;

/// The stage-independent parts of every system.
pub(super) struct Resources {
    pub topics: Vec<Topic>,
    pub emails: Vec<Email>,
    pub databases: Vec<Database>,
    pub endpoints: Vec<Endpoint>,
    pub authorizers: Vec<Authorizer>,
    pub secrets: Vec<Secret>,
}

impl Validator {
    pub(super) fn stages(
        &mut self,
        raw: &RawConfig,
        declared: &Declared,
        settings: &Settings,
        resources: &Resources,
        wiring: &Wiring,
    ) -> Vec<System> {
        let mut systems = Vec::new();
        for (sn, st) in &raw.stages {
            if !declared.stages.contains(&sn.value) {
                continue;
            }
            let fs = self.stage_functions(sn, st, declared, wiring);
            self.stage_limits(sn, st, &fs, wiring);
            let queues = self.stage_queues(raw, declared, wiring, &fs, sn, st);
            let operators = self.operators(st);
            let mut system = self.system(raw, sn, st, settings, resources, fs, queues);
            system.operators = operators;
            systems.push(system);
        }
        systems.sort_by(|a, b| a.stage.cmp(&b.stage));
        systems
    }

    /// The functions with the stage's overrides applied.
    fn stage_functions(&mut self, sn: &Name, st: &RawStage, declared: &Declared, wiring: &Wiring) -> Vec<Function> {
        let funcs = &wiring.functions;
        let mut fs: Vec<Function> = funcs.iter().map(|(f, _)| f.clone()).collect();
        for (on, o) in &st.functions {
            if !self.resolve(Kind::Function, on, &declared.functions, &format!("stage `{}`", sn.value)) {
                continue;
            }
            let Some(f) = fs.iter_mut().find(|f| f.name == on.value) else { continue };
            if let Some(t) = &o.timeout {
                f.timeout = t.value;
            }
            if let Some(m) = &o.memory {
                f.memory = m.value;
            }
            if let Some(r) = &o.reserved_concurrency {
                f.reserved_concurrency = Some(r.value);
            }
            let base: Vec<(String, String)> = f.env.clone();
            f.env = self.env(&o.env, &base);
            if let Some(t) = &o.throttle {
                if matches!(f.trigger, Trigger::Http { .. }) {
                    f.route_throttle = Self::route_throttle(Some(t), f.route_throttle);
                } else {
                    let at = t.throttle_rate.as_ref().or(t.throttle_burst.as_ref()).map_or(on.span, |r| r.span);
                    self.err(
                        Diagnostic::error(
                            Code::Conflict,
                            at,
                            format!("stage `{}` throttles function `{}`, which has no HTTP routes", sn.value, on.value),
                        )
                        .with_help("`throttle` limits a function's HTTP routes; remove it here"),
                    );
                }
            }
        }
        fs
    }

    /// E011 (HTTP functions within API Gateway's timeout) and E027 (queue pollers within the
    /// reserved concurrency), on the stage's final values.
    fn stage_limits(&mut self, sn: &Name, st: &RawStage, fs: &[Function], wiring: &Wiring) {
        let funcs = &wiring.functions;
        let stage_funcs: BTreeMap<&str, &RawFunction> = funcs.iter().map(|(f, r)| (f.name.as_str(), *r)).collect();
        for f in fs {
            let rf = stage_funcs[f.name.as_str()];
            let overridden = st.functions.iter().find(|(n, _)| n.value == f.name).and_then(|(_, o)| o.timeout.as_ref());
            let at = overridden.or(rf.timeout.as_ref()).map(|t| t.span).unwrap_or(rf.span);
            if let Trigger::Http { .. } = f.trigger {
                if f.timeout > HTTP_MAX_TIMEOUT {
                    self.err(
                        Diagnostic::error(
                            Code::HttpTimeout,
                            at,
                            format!("function `{}` answers HTTP routes but may run {} s (stage `{}`); API Gateway gives up after {HTTP_MAX_TIMEOUT} s", f.name, f.timeout, sn.value),
                        )
                        .with_help(format!("lower `timeout` to {HTTP_MAX_TIMEOUT} or less, or move the slow work behind a queue")),
                    );
                }
            }
            if let Trigger::Queue { max_concurrency, .. } = &f.trigger {
                if let (Some(mc), Some(rc)) = (max_concurrency, f.reserved_concurrency) {
                    if *mc > rc {
                        let at = rf.reserved_concurrency.as_ref().map(|r| r.span).unwrap_or(rf.span);
                        self.err(
                            Diagnostic::error(
                                Code::Concurrency,
                                at,
                                format!("function `{}` reserves {rc} concurrent runs but its queue trigger may start {mc}", f.name),
                            )
                            .with_help("the extra pollers would be throttled and messages would burn receive counts: make `max_concurrency` <= `reserved_concurrency`"),
                        );
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn system(
        &mut self,
        raw: &RawConfig,
        sn: &Name,
        st: &RawStage,
        settings: &Settings,
        resources: &Resources,
        mut fs: Vec<Function>,
        queues: Vec<Queue>,
    ) -> System {
        let log_retention = settings.log_retention;
        let system = &settings.system;
        let handlers_crate = &settings.handlers_crate;
        let queue_list = queues;
        let (topic_list, email_list, db_list, endpoint_list, secret_list) =
            (&resources.topics, &resources.emails, &resources.databases, &resources.endpoints, &resources.secrets);
        let mut ts = topic_list.clone();
        ts.sort_by(|a, b| a.name.cmp(&b.name));
        fs.sort_by(|a, b| a.name.cmp(&b.name));
        let has_http = fs.iter().any(|f| matches!(f.trigger, Trigger::Http { .. }));
        let http = |h: &crate::config::RawHttp| {
            (h.throttle_rate.as_ref().map(|r| r.value), h.throttle_burst.as_ref().map(|r| r.value))
        };
        let (base_rate, base_burst) = http(&raw.http);
        let (st_rate, st_burst) = http(&st.http);
        let mut es = email_list.clone();
        for e in &mut es {
            e.configuration_set = e.configuration_set.replace("{stage}", &sn.value);
        }
        let mut dbs = db_list.clone();
        dbs.sort_by(|a, b| a.name.cmp(&b.name));
        let mut eps = endpoint_list.clone();
        eps.sort_by(|a, b| a.name.cmp(&b.name));
        let mut secs = secret_list.clone();
        secs.sort_by(|a, b| a.name.cmp(&b.name));
        es.sort_by(|a, b| a.name.cmp(&b.name));
        let log_retention_days = match &st.log_retention_days {
            Some(r) => self.log_retention(Some(r)).unwrap_or(log_retention),
            None => log_retention,
        };
        // Only those a route uses: an authorizer belongs to the HTTP API.
        let authorizers = resources
            .authorizers
            .iter()
            .filter(|a| fs.iter().any(|f| f.authorizer() == Some(a.name.as_str())))
            .cloned()
            .collect();
        System {
            name: system.clone(),
            stage: sn.value.clone(),
            description: raw.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
            handlers_crate: handlers_crate.clone(),
            nested_stacks: raw.nested_stacks.as_ref().and_then(|n| u32::try_from(n.value).ok()),
            topics: ts,
            queues: queue_list,
            functions: fs,
            http: has_http.then(|| HttpApi {
                throttle_rate: st_rate.or(base_rate).unwrap_or(DEFAULT_THROTTLE_RATE),
                throttle_burst: st_burst.or(base_burst).unwrap_or(DEFAULT_THROTTLE_BURST),
            }),
            emails: es,
            databases: dbs,
            endpoints: eps,
            secrets: secs,
            authorizers,
            log_retention_days,
            operators: Vec::new(),
            source: crate::model::CONFIG_FILE.into(),
        }
    }

    /// The stage's operators: IAM principal ARNs, each once.
    fn operators(&mut self, st: &RawStage) -> Vec<String> {
        let mut seen: BTreeMap<&str, &crate::config::Sp<String>> = BTreeMap::new();
        for o in &st.operators {
            if !is_principal_arn(&o.value) {
                self.err(
                    Diagnostic::error(Code::BadAddress, o.span, format!("`{}` is not the ARN of an IAM role, user or account", o.value))
                        .with_help("write a role's ARN as IAM shows it, e.g. `arn:aws:iam::123456789012:role/oncall` (not an assumed-role session ARN: policies see the role)"),
                );
            } else if let Some(first) = seen.insert(&o.value, o) {
                self.err(
                    Diagnostic::error(
                        Code::Duplicate,
                        o.span,
                        format!("operator `{}` is listed twice (first at line {})", o.value, first.span.line),
                    )
                    .with_help("list each operator once"),
                );
            }
        }
        seen.into_keys().map(str::to_string).collect()
    }
}

/// `arn:<partition>:iam::<12 digits>:` then `root`, `role/<path/name>` or `user/<path/name>`,
/// with IAM's name characters. `aws:PrincipalArn` holds this form for roles and users (a
/// session of an assumed role is seen as its role).
fn is_principal_arn(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("arn:") else { return false };
    let Some((partition, rest)) = rest.split_once(':') else { return false };
    let Some(rest) = rest.strip_prefix("iam::") else { return false };
    let Some((account, resource)) = rest.split_once(':') else { return false };
    let named = |kind: &str| {
        resource.strip_prefix(kind).is_some_and(|name| {
            !name.is_empty()
                && !name.ends_with('/')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
        })
    };
    partition.starts_with("aws")
        && partition.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && (resource == "root" || named("role/") || named("user/"))
}

#[cfg(test)]
mod tests {
    use super::is_principal_arn;

    #[test]
    fn principal_arns() {
        for ok in [
            "arn:aws:iam::123456789012:role/oncall",
            "arn:aws:iam::123456789012:role/ops/team-a/oncall",
            "arn:aws-us-gov:iam::123456789012:user/alice@example.com",
            "arn:aws:iam::123456789012:root",
        ] {
            assert!(is_principal_arn(ok), "{ok}");
        }
        for bad in [
            "oncall",
            "arn:aws:iam::12345678901:role/x",
            "arn:aws:sts::123456789012:assumed-role/oncall/alice",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:iam::123456789012:role/a b",
            "arn:aws:iam:us-east-1:123456789012:role/x",
        ] {
            assert!(!is_principal_arn(bad), "{bad}");
        }
    }
}
