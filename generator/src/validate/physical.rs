//! Physical names: AWS's length limits for every stage, and SQS names that would meet.

use super::functions::Wiring;
use super::names::Declared;
use super::Validator;
use crate::codes::Code;
use crate::config::{RawConfig, Sp};
use crate::diag::{Diagnostic, Span};
use crate::model::{Naming, Trigger};
use std::collections::BTreeMap;

impl Validator {
    /// Queue (with its DLQ, the longer name), topic and function names of every stage.
    pub(super) fn name_lengths(&mut self, raw: &RawConfig, declared: &Declared, system: &str) {
        let stages = &declared.stages;
        for (qn, q) in raw.queues.iter().filter(|(n, _)| declared.queues.contains(&n.value)) {
            let q_fifo = q.fifo.as_ref().is_some_and(|f| f.value);
            for stage in stages {
                let name = Naming { system, stage }.dlq(&qn.value, q_fifo);
                self.length(qn.span, "queue name", &name, 80);
            }
        }
        for (n, t) in raw.topics.iter().filter(|(n, _)| declared.topics.contains(&n.value)) {
            let fifo = t.fifo.as_ref().is_some_and(|f| f.value);
            for stage in stages {
                self.length(n.span, "topic name", &Naming { system, stage }.fifo(&n.value, fifo), 256);
            }
        }
        for (n, _) in &raw.functions {
            for stage in stages {
                self.length(n.span, "function name", &Naming { system, stage }.of(&n.value), 64);
            }
        }
    }

    /// SQS names are unique per account and region: user queues, their DLQs and the DLQs of
    /// scheduled functions must not meet (queue `a_dlq` and the DLQ of queue `a` or of
    /// scheduled function `a` would all be `<system>-<stage>-a-dlq`). The stage prefix is
    /// shared, so one check covers every stage.
    pub(super) fn sqs_names(&mut self, raw: &RawConfig, declared: &Declared, wiring: &Wiring, system: &str) {
        let (queues, stages, funcs) = (&declared.queues, &declared.stages, &wiring.functions);
        let stage = stages.iter().next().map(String::as_str).unwrap_or("{stage}");
        let naming = Naming { system, stage };
        let mut claims: Vec<(String, String, Span)> = Vec::new();
        for (qn, q) in raw.queues.iter().filter(|(n, _)| queues.contains(&n.value)) {
            let fifo = q.fifo.as_ref().is_some_and(|f| f.value);
            claims.push((naming.fifo(&qn.value, fifo), format!("queue `{}`", qn.value), qn.span));
            if !matches!(q.dlq, Some(Sp { value: None, .. })) {
                claims.push((
                    naming.dlq(&qn.value, fifo),
                    format!("the dead-letter queue of queue `{}`", qn.value),
                    qn.span,
                ));
            }
        }
        for (f, rf) in funcs {
            if let Trigger::Schedule { .. } = f.trigger {
                claims.push((
                    naming.dlq(&f.name, false),
                    format!("the dead-letter queue of scheduled function `{}`", f.name),
                    rf.span,
                ));
            }
        }
        let mut seen: BTreeMap<&str, (&str, Span)> = BTreeMap::new();
        let mut clashes = Vec::new();
        for (name, what, span) in &claims {
            match seen.get(name.as_str()) {
                Some((other, at)) => clashes.push(
                    Diagnostic::error(Code::Duplicate, *span, format!("{what} would be named `{name}`, like {other}"))
                        .with_help(format!(
                            "SQS queue names are unique: rename one of them (line {} has the other)",
                            at.line
                        )),
                ),
                None => {
                    seen.insert(name, (what, *span));
                }
            }
        }
        for d in clashes {
            self.err(d);
        }
    }
}
