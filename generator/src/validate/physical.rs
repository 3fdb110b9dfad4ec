//! Physical names: AWS's length limits for every stage, and names that would meet within
//! one AWS service.

use super::functions::Wiring;
use super::names::{Declared, Kind};
use super::Validator;
use crate::codes::Code;
use crate::config::{RawConfig, Sp};
use crate::diag::{Diagnostic, Span};
use crate::model::{Email, Naming, Trigger};
use std::collections::{BTreeMap, BTreeSet};

impl Validator {
    /// Queue (with its DLQ, the longer name), topic and function names of every stage.
    pub(super) fn name_lengths(&mut self, raw: &RawConfig, declared: &Declared, system: &str) {
        let stages = &declared.stages;
        for (qn, q) in raw.queues.iter().filter(|(n, _)| declared.queues.contains(&n.value)) {
            let q_fifo = q.fifo.as_ref().is_some_and(|f| f.value);
            for stage in stages {
                let name = Naming { system, stage }.dlq(declared.identity(Kind::Queue, &qn.value), q_fifo);
                self.length(qn.span, "queue name", &name, 80);
            }
        }
        // An imported topic is named by its exporter, which checks it.
        for (n, t) in raw.topics.iter().filter(|(n, t)| declared.topics.contains(&n.value) && t.import.is_none()) {
            let fifo = t.fifo.as_ref().is_some_and(|f| f.value);
            for stage in stages {
                let name = Naming { system, stage }.fifo(declared.identity(Kind::Topic, &n.value), fifo);
                self.length(n.span, "topic name", &name, 256);
            }
        }
        for (n, _) in &raw.functions {
            for stage in stages {
                let name = Naming { system, stage }.of(declared.identity(Kind::Function, &n.value));
                self.length(n.span, "function name", &name, 64);
            }
        }
    }

    /// Physical names are unique per account and region within each AWS service: every name
    /// flowform gives a resource (the user's queues, topics, functions, secrets, SES
    /// configuration sets and identities, and what it generates beside them: dead-letter
    /// queues, their alarms, the alarm topic, log groups, schedule rules) is checked against
    /// every other of the same service, per stage. Queue `a_dlq` and the DLQ of queue `a` are
    /// both `<system>-<stage>-a-dlq`; topic `alarms` is the alarm topic's name. Each clash is
    /// reported once (at the later name, the help giving the other's line), whatever the stage.
    pub(super) fn physical_names(
        &mut self,
        raw: &RawConfig,
        declared: &Declared,
        wiring: &Wiring,
        emails: &[Email],
        system: &str,
    ) {
        let mut reported = BTreeSet::new();
        for stage in &declared.stages {
            let claims = claims(raw, declared, wiring, emails, Naming { system, stage });
            let mut seen: BTreeMap<(&str, &str), &Claim> = BTreeMap::new();
            for c in &claims {
                let Some(first) = seen.get(&(c.service, c.name.as_str())) else {
                    seen.insert((c.service, &c.name), c);
                    continue;
                };
                if reported.insert((c.what.clone(), first.what.clone())) {
                    self.err(clash(c, first, stage));
                }
            }
        }
    }
}

/// One physical name flowform would create: in which service's namespace, for what, where.
struct Claim {
    service: &'static str,
    name: String,
    what: String,
    /// Where the config asks for it; `None` for what flowform adds on its own.
    span: Option<Span>,
}

fn clash(c: &Claim, first: &Claim, stage: &str) -> Diagnostic {
    // Generated names without a position come first in `claims`, so `c` has one unless both
    // are flowform's own (which would be a bug caught by the corpus).
    let (mine, other) = if c.span.is_some() { (c, first) } else { (first, c) };
    let help = match other.span {
        Some(s) if c.service == SES_IDS => {
            format!("list the senders of both under one email entry (line {} has the other)", s.line)
        }
        Some(s) => format!("rename one of them (line {} has the other)", s.line),
        None => format!("rename {}; flowform names {} so", mine.what, other.what),
    };
    Diagnostic::error(
        Code::Duplicate,
        mine.span.unwrap_or_default(),
        format!("{} would be named `{}` in stage `{stage}`, like {}", mine.what, c.name, other.what),
    )
    .with_help(format!("{} names are unique per account and region: {help}", c.service))
}

/// Every physical name one stage of the config would create.
fn claims(raw: &RawConfig, declared: &Declared, wiring: &Wiring, emails: &[Email], naming: Naming) -> Vec<Claim> {
    let mut out = Vec::new();
    let mut claim = |service, name: String, what: String, span| out.push(Claim { service, name, what, span });
    let scheduled: Vec<_> =
        wiring.functions.iter().filter(|(f, _)| matches!(f.trigger, Trigger::Schedule { .. })).collect();
    let queues: Vec<_> = raw.queues.iter().filter(|(n, _)| declared.queues.contains(&n.value)).collect();
    let has_dlq = |q: &crate::config::RawQueue| !matches!(q.dlq, Some(Sp { value: None, .. }));
    // What flowform adds without a name in the config comes first, so a clash is reported at
    // the user's name.
    if !scheduled.is_empty() || queues.iter().any(|(_, q)| has_dlq(q)) {
        claim(SNS, naming.alarm_topic(), "the alarm topic of dead-letter queues".into(), None);
    }
    if wiring.functions.iter().any(|(f, _)| matches!(f.trigger, Trigger::Http { .. })) {
        claim(LOGS, naming.http_log_group(), "the HTTP API's access log group".into(), None);
    }
    for (qn, q) in &queues {
        let fifo = q.fifo.as_ref().is_some_and(|f| f.value);
        let id = declared.identity(Kind::Queue, &qn.value);
        claim(SQS, naming.fifo(id, fifo), format!("queue `{}`", qn.value), Some(qn.span));
        if has_dlq(q) {
            let what = format!("the dead-letter queue of queue `{}`", qn.value);
            claim(SQS, naming.dlq(id, fifo), what, Some(qn.span));
            let what = format!("the alarm on the dead-letter queue of queue `{}`", qn.value);
            claim(ALARMS, naming.dlq_alarm(id), what, Some(qn.span));
        }
    }
    for (n, t) in raw.topics.iter().filter(|(n, t)| declared.topics.contains(&n.value) && t.import.is_none()) {
        let fifo = t.fifo.as_ref().is_some_and(|f| f.value);
        let id = declared.identity(Kind::Topic, &n.value);
        claim(SNS, naming.fifo(id, fifo), format!("topic `{}`", n.value), Some(n.span));
    }
    for (f, rf) in &wiring.functions {
        let span = Some(rf.span);
        claim(LAMBDA, naming.of(&f.identity), format!("function `{}`", f.name), span);
        claim(LOGS, naming.lambda_log_group(&f.identity), format!("the log group of function `{}`", f.name), span);
    }
    for (f, rf) in &scheduled {
        let span = Some(rf.span);
        let what = format!("the dead-letter queue of scheduled function `{}`", f.name);
        claim(SQS, naming.dlq(&f.identity, false), what, span);
        let what = format!("the alarm on the dead-letter queue of scheduled function `{}`", f.name);
        claim(ALARMS, naming.dlq_alarm(&f.identity), what, span);
        claim(RULES, naming.schedule_rule(&f.identity), format!("the schedule rule of function `{}`", f.name), span);
    }
    // An existing secret has the name it has; only generated ones are named by flowform.
    let generated = |s: &crate::config::RawSecret| !s.existing.as_ref().is_some_and(|e| e.value);
    for (n, _) in raw.secrets.iter().filter(|(n, s)| declared.secrets.contains(&n.value) && generated(s)) {
        claim(SECRETS, naming.secret(&n.value), format!("secret `{}`", n.value), Some(n.span));
    }
    for e in emails {
        let Some((n, re)) = raw.email.iter().find(|(n, _)| n.value == e.name) else { continue };
        let set_span = re.configuration_set.as_ref().map_or(n.span, |c| c.span);
        let set = e.configuration_set.replace("{stage}", naming.stage);
        claim(SES_SETS, set, format!("the configuration set of email `{}`", n.value), Some(set_span));
        let id_span = re.identity.as_ref().map_or(n.span, |i| i.span);
        claim(SES_IDS, e.identity.clone(), format!("the identity of email `{}`", n.value), Some(id_span));
    }
    out
}

const SQS: &str = "SQS queue";
const SNS: &str = "SNS topic";
const ALARMS: &str = "CloudWatch alarm";
const LAMBDA: &str = "Lambda function";
const LOGS: &str = "CloudWatch Logs log group";
const RULES: &str = "EventBridge rule";
const SECRETS: &str = "Secrets Manager secret";
const SES_SETS: &str = "SES configuration set";
const SES_IDS: &str = "SES identity";

#[cfg(test)]
mod tests {
    use super::super::table::check;
    use crate::codes::Code::*;

    #[test]
    fn generated_names_never_meet_given_ones() {
        let both = "functions:\n  f: { trigger: { queue: ad_stop } }\n  g: { trigger: { queue: ad_stop_dlq } }\n";
        check(&[
            (&format!("queues:\n  ad_stop_dlq: {{ dlq: false }}\n  ad_stop: {{ dlq: false }}\n{both}"), &[]),
            (&format!("queues:\n  ad_stop_dlq: {{}}\n  ad_stop: {{}}\n{both}"), &[Duplicate]),
        ]);
    }
}
