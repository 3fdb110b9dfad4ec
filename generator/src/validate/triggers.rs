//! Triggers: a queue (one consumer per queue, batch limits), HTTP routes (auth, one function
//! per route) or a schedule.

use super::names::{Declared, Kind};
use super::schedule::schedule_expression;
use super::{Validator, DEFAULT_BATCH_SIZE, DEFAULT_BATCH_WINDOW, DEFAULT_MAX_EVENT_AGE, DEFAULT_SCHEDULE_RETRIES};
use crate::codes::Code;
use crate::config::{Name, RawConfig, RawTrigger, Sp};
use crate::diag::{did_you_mean, Diagnostic, Span};
use crate::model::{Route, RouteAuth, Trigger};
use std::collections::{BTreeMap, BTreeSet};

impl Validator {
    pub(super) fn route(&mut self, r: &Sp<String>) -> Option<Route> {
        let bad = |v: &mut Self, why: &str| {
            v.err(
                Diagnostic::error(Code::BadRoute, r.span, format!("invalid route `{}`: {why}", r.value))
                    .with_help("write `METHOD /path`, e.g. `POST /checkout` or `GET /orders/{id}`"),
            );
        };
        let Some((method, path)) = r.value.split_once(' ') else {
            bad(self, "expected a method and a path");
            return None;
        };
        let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];
        if !methods.contains(&method) {
            bad(self, &format!("unknown method `{method}`"));
            return None;
        }
        let path = path.trim();
        if !path.starts_with('/') || path.contains("//") || (path.len() > 1 && path.ends_with('/')) {
            bad(self, "the path must start with `/` and have no empty segments");
            return None;
        }
        let mut vars = BTreeSet::new();
        for seg in path.split('/').skip(1) {
            if seg.starts_with('{') && seg.ends_with("+}") {
                bad(self, &format!("`{seg}` is a greedy path variable, which flowform does not support; list the routes one by one"));
                return None;
            }
            let param = seg.starts_with('{') && seg.ends_with('}') && seg.len() > 2;
            if param && !vars.insert(seg) {
                bad(self, &format!("path variable `{seg}` appears twice (API Gateway refuses it)"));
                return None;
            }
            let inner = if param { &seg[1..seg.len() - 1] } else { seg };
            if !inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
                || (path != "/" && inner.is_empty())
            {
                bad(self, &format!("segment `{seg}` has characters API Gateway does not accept"));
                return None;
            }
        }
        Some(Route { method: method.to_string(), path: path.to_string() })
    }

    pub(super) fn trigger(
        &mut self,
        t: &Sp<RawTrigger>,
        fname: &str,
        declared: &Declared,
        raw: &RawConfig,
        all_routes: &mut BTreeMap<Route, (String, Span)>,
        consumers: &mut BTreeMap<String, (String, Span)>,
    ) -> Option<Trigger> {
        match &t.value {
            RawTrigger::Queue { queue, batch_size, batch_window, max_concurrency } => {
                let batch = Batch { size: batch_size.as_ref(), window: batch_window.as_ref(), at: t.span };
                self.queue_trigger(fname, queue, batch, max_concurrency.as_ref(), &declared.queues, raw, consumers)
            }
            RawTrigger::Http { auth, routes, authorizer, scopes } => {
                let auth = self.route_auth(t.span, fname, auth.as_ref(), authorizer.as_ref(), scopes, raw, declared)?;
                self.http_trigger(t.span, fname, auth, routes, all_routes)
            }
            RawTrigger::Schedule { expression, retries, max_event_age } => {
                self.schedule_trigger(fname, expression, retries.as_ref(), max_event_age.as_ref())
            }
        }
    }

    /// One consumer per queue; batch limits of FIFO and standard queues.
    #[allow(clippy::too_many_arguments)]
    fn queue_trigger(
        &mut self,
        fname: &str,
        queue: &Name,
        batch: Batch,
        max_concurrency: Option<&Sp<u64>>,
        queues: &BTreeSet<String>,
        raw: &RawConfig,
        consumers: &mut BTreeMap<String, (String, Span)>,
    ) -> Option<Trigger> {
        let (batch_size, batch_window, t_span) = (batch.size, batch.window, batch.at);
        if !self.resolve(Kind::Queue, queue, queues, &format!("function `{fname}`")) {
            return None;
        }
        if let Some((other, _)) = consumers.get(&queue.value) {
            self.err(
                Diagnostic::error(
                    Code::SharedQueue,
                    queue.span,
                    format!("queue `{}` is already consumed by function `{other}`", queue.value),
                )
                .with_help("a queue feeds one function; to fan out, subscribe another queue to the same topic"),
            );
            return None;
        }
        consumers.insert(queue.value.clone(), (fname.to_string(), queue.span));
        let fifo = raw.queues.iter().any(|(n, q)| n.value == queue.value && q.fifo.as_ref().is_some_and(|f| f.value));
        let size = batch_size.map(|b| b.value).unwrap_or(DEFAULT_BATCH_SIZE);
        let window = batch_window.map(|b| b.value).unwrap_or(DEFAULT_BATCH_WINDOW);
        if fifo && size > 10 {
            self.err(
                Diagnostic::error(
                    Code::FifoBatch,
                    batch_size.map(|b| b.span).unwrap_or(t_span),
                    format!("batch size {size} is too large for FIFO queue `{}`", queue.value),
                )
                .with_help("FIFO queues deliver at most 10 messages per batch"),
            );
        }
        if fifo && window > 0 {
            self.err(
                Diagnostic::error(
                    Code::FifoBatch,
                    batch_window.map(|b| b.span).unwrap_or(t_span),
                    format!("FIFO queue `{}` does not support a batching window", queue.value),
                )
                .with_help("remove `batch_window` (Lambda reads FIFO queues without one)"),
            );
        }
        if !fifo && size > 10 && window == 0 {
            self.err(
                Diagnostic::error(
                    Code::BatchWindow,
                    batch_size.map(|b| b.span).unwrap_or(t_span),
                    format!("batch size {size} needs a batching window"),
                )
                .with_help("Lambda requires `batch_window` of at least 1 s for batches over 10"),
            );
        }
        Some(Trigger::Queue {
            queue: queue.value.clone(),
            batch_size: size,
            batch_window: window,
            max_concurrency: max_concurrency.map(|m| m.value),
        })
    }

    /// Who may call (required): `public`, `iam`, `signed`, or `jwt` with its authorizer.
    #[allow(clippy::too_many_arguments)]
    fn route_auth(
        &mut self,
        t_span: Span,
        fname: &str,
        auth: Option<&Sp<String>>,
        authorizer: Option<&Name>,
        scopes: &[Sp<String>],
        raw: &RawConfig,
        declared: &Declared,
    ) -> Option<RouteAuth> {
        const CHOICES: [&str; 4] = ["public", "iam", "signed", "jwt"];
        let Some(a) = auth else {
            self.err(
                Diagnostic::error(Code::Missing, t_span, format!("the HTTP trigger of `{fname}` does not say who may call it"))
                    .with_help("add `auth: public`, `auth: iam`, `auth: signed` (the handler verifies a signature) or `auth: jwt` (API Gateway verifies a bearer token)"),
            );
            return Some(RouteAuth::Public);
        };
        let simple = match a.value.as_str() {
            // Refused: reported; the routes are still checked as if public.
            "jwt" => return self.jwt_route(fname, a, authorizer, scopes, raw, declared).or(Some(RouteAuth::Public)),
            "public" => RouteAuth::Public,
            "iam" => RouteAuth::Iam,
            "signed" => RouteAuth::Signed,
            other => {
                self.err(Diagnostic::error(Code::NotAllowed, a.span, format!("unknown auth `{other}`")).with_help(
                    did_you_mean(other, CHOICES).unwrap_or_else(|| "write `public`, `iam`, `signed` or `jwt`".into()),
                ));
                return Some(RouteAuth::Public);
            }
        };
        self.not_jwt(&a.value, authorizer, scopes);
        Some(simple)
    }

    /// Each route served by one function.
    fn http_trigger(
        &mut self,
        t_span: Span,
        fname: &str,
        auth: RouteAuth,
        routes: &[Sp<String>],
        all_routes: &mut BTreeMap<Route, (String, Span)>,
    ) -> Option<Trigger> {
        if routes.is_empty() {
            self.err(
                Diagnostic::error(Code::Missing, t_span, format!("the HTTP trigger of `{fname}` lists no routes"))
                    .with_help("add `routes: [\"GET /path\"]`"),
            );
            return None;
        }
        let mut out = Vec::new();
        for r in routes {
            let Some(route) = self.route(r) else { continue };
            if let Some((other, span)) = all_routes.get(&route) {
                self.err(
                    Diagnostic::error(
                        Code::SharedRoute,
                        r.span,
                        format!("route `{}` is already served by function `{other}`", r.value),
                    )
                    .with_help(format!("line {} has the other; each route goes to one function", span.line)),
                );
                continue;
            }
            all_routes.insert(route.clone(), (fname.to_string(), r.span));
            out.push(route);
        }
        out.sort();
        Some(Trigger::Http { auth, routes: out })
    }

    fn schedule_trigger(
        &mut self,
        fname: &str,
        expression: &Sp<String>,
        retries: Option<&Sp<u64>>,
        max_event_age: Option<&Sp<u64>>,
    ) -> Option<Trigger> {
        if let Err((problem, help)) = schedule_expression(&expression.value) {
            self.err(
                Diagnostic::error(
                    Code::BadSchedule,
                    expression.span,
                    format!("schedule `{}` of function `{fname}`: {problem}", expression.value),
                )
                .with_help(help),
            );
            return None;
        }
        Some(Trigger::Schedule {
            expression: expression.value.clone(),
            retries: retries.map(|r| r.value).unwrap_or(DEFAULT_SCHEDULE_RETRIES),
            max_event_age: max_event_age.map(|a| a.value).unwrap_or(DEFAULT_MAX_EVENT_AGE),
        })
    }
}

/// A queue trigger's batching keys, and the trigger's position for problems of their defaults.
struct Batch<'a> {
    size: Option<&'a Sp<u64>>,
    window: Option<&'a Sp<u64>>,
    at: Span,
}

#[cfg(test)]
mod tests {
    use super::super::table::check;
    use crate::codes::Code::*;

    #[test]
    fn trigger_rules() {
        let http = |routes: &str| format!("{{ trigger: {{ http: {{ auth: public, routes: [{routes}] }} }} }}");
        check(&[
            (&format!("functions:\n  f: {}\n", http("\"GET /a\"")), &[]),
            (&format!("functions:\n  f: {}\n", http("\"GET a\"")), &[BadRoute]),
            (&format!("functions:\n  f: {}\n", http("\"GET /files/{proxy+}\"")), &[BadRoute]),
            (&format!("functions:\n  f: {}\n", http("\"GET /a/{id}/b/{id}\"")), &[BadRoute]),
            (&format!("functions:\n  f: {}\n  g: {}\n", http("\"GET /a\""), http("\"GET /a\"")), &[SharedRoute]),
            ("functions:\n  f: { trigger: { schedule: rate(5 minute) } }\n", &[BadSchedule]),
            (
                "queues:\n  q: { fifo: true }\nfunctions:\n  f: { trigger: { queue: q, batch_size: 100 } }\n",
                &[FifoBatch],
            ),
            (
                "queues:\n  q: {}\nfunctions:\n  f: { trigger: { queue: q } }\n  g: { trigger: { queue: q } }\n",
                &[SharedQueue],
            ),
        ]);
    }
}
