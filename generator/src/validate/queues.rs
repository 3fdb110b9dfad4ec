//! Queues: their subscriptions to topics (with filters), dead-letter queues and retention;
//! the per-stage queue (its visibility timeout follows the consumer's final timeout).

use super::functions::Wiring;
use super::names::{Declared, Kind};
use super::{Validator, DAY, DEFAULT_DLQ_RETENTION_DAYS, DEFAULT_MAX_RECEIVES, DEFAULT_QUEUE_RETENTION_DAYS};
use crate::codes::Code;
use crate::config::{Name, RawConfig, RawDlq, RawQueue, RawQueueOverride, RawStage, Sp};
use crate::diag::Diagnostic;
use crate::model::{Dlq, FilterScope, Function, Queue, Subscription, Topic};
use std::collections::BTreeSet;

impl Validator {
    /// Checks every queue; returns the topics some queue subscribes to.
    pub(super) fn queues(
        &mut self,
        raw: &RawConfig,
        declared: &Declared,
        topics: &[Topic],
        wiring: &Wiring,
    ) -> BTreeSet<String> {
        let mut subscribed = BTreeSet::new();
        for (qn, q) in &raw.queues {
            if !declared.queues.contains(&qn.value) {
                continue;
            }
            self.subscriptions(qn, q, declared, topics, &mut subscribed);
            if !wiring.consumers.contains_key(&qn.value) {
                self.err(
                    Diagnostic::warning(
                        Code::UnconsumedQueue,
                        qn.span,
                        format!("no function consumes queue `{}`", qn.value),
                    )
                    .with_help(
                        "messages will pile up until they expire; add a function with `trigger: { queue: ... }`",
                    ),
                );
            }
        }
        subscribed
    }

    fn subscriptions(
        &mut self,
        qn: &Name,
        q: &RawQueue,
        declared: &Declared,
        topics: &[Topic],
        subscribed: &mut BTreeSet<String>,
    ) {
        let q_fifo = q.fifo.as_ref().is_some_and(|f| f.value);
        let mut seen = BTreeSet::new();
        for s in &q.subscribe {
            if !seen.insert(s.topic.value.clone()) {
                self.err(
                    Diagnostic::error(
                        Code::Duplicate,
                        s.topic.span,
                        format!("queue `{}` subscribes to topic `{}` twice", qn.value, s.topic.value),
                    )
                    .with_help("merge the two subscriptions into one"),
                );
                continue;
            }
            if !self.resolve(Kind::Topic, &s.topic, &declared.topics, &format!("queue `{}`", qn.value)) {
                continue;
            }
            subscribed.insert(s.topic.value.clone());
            let t_fifo = topics.iter().any(|t| t.name == s.topic.value && t.fifo);
            if q_fifo && !t_fifo {
                let owner = topics.iter().find(|t| t.name == s.topic.value).and_then(|t| t.imported.as_ref());
                let help = match owner {
                    Some(i) => format!("SNS standard topics deliver only to standard queues: make the queue standard (the topic is `{}`'s to make FIFO)", i.system),
                    None => "SNS standard topics deliver only to standard queues: make the topic FIFO or the queue standard".into(),
                };
                self.err(
                    Diagnostic::error(
                        Code::FifoMismatch,
                        s.topic.span,
                        format!("FIFO queue `{}` cannot subscribe to standard topic `{}`", qn.value, s.topic.value),
                    )
                    .with_help(help),
                );
            }
            if let Some(scope) = &s.filter_scope {
                if scope.value != "attributes" && scope.value != "body" {
                    self.err(
                    Diagnostic::error(Code::NotAllowed, scope.span, format!("`filter_scope` must be `attributes` or `body`, found `{}`", scope.value))
                        .with_help("`attributes` matches message attributes (the default); `body` matches the JSON message body"),
                );
                }
                if s.filter.is_none() {
                    self.err(
                        Diagnostic::error(Code::BadFilter, scope.span, "`filter_scope` without a `filter`")
                            .with_help("add a `filter`, or remove `filter_scope`"),
                    );
                }
            }
            if let Some(f) = &s.filter {
                let body = s.filter_scope.as_ref().is_some_and(|sc| sc.value == "body");
                self.filter(f, body);
            }
        }
    }

    /// Content-based dedup needs FIFO; the DLQ's retry settings and retention.
    /// `stage`: the stage whose override made these values, named in the messages.
    fn dead_letters(&mut self, qn: &Name, q: &RawQueue, stage: Option<&str>) {
        let in_stage = stage.map_or(String::new(), |s| format!(" in stage `{s}`"));
        let q_fifo = q.fifo.as_ref().is_some_and(|f| f.value);
        if let Some(cbd) = &q.content_based_dedup {
            if cbd.value && !q_fifo {
                self.err(
                    Diagnostic::error(
                        Code::FifoMismatch,
                        cbd.span,
                        format!("queue `{}` is not FIFO, so it cannot deduplicate by content", qn.value),
                    )
                    .with_help("add `fifo: true`, or remove `content_based_dedup`"),
                );
            }
        }
        if let Some(h) = q.high_throughput.as_ref().filter(|h| h.value && !q_fifo) {
            self.err(
                Diagnostic::error(
                    Code::FifoMismatch,
                    h.span,
                    format!("queue `{}` is not FIFO; high throughput is a mode of FIFO queues", qn.value),
                )
                .with_help(
                    "add `fifo: true`, or remove `high_throughput` (standard queues have no throughput limit to lift)",
                ),
            );
        }
        let retention = q.retention_days.as_ref().map(|r| r.value).unwrap_or(DEFAULT_QUEUE_RETENTION_DAYS);
        let dlq = match &q.dlq {
            Some(Sp { value: Some(d), span }) => Some((d.retention_days.as_ref(), *span)),
            Some(Sp { value: None, .. }) => None,
            None => Some((None, qn.span)),
        };
        if let Some(Sp { value: Some(d), .. }) = &q.dlq {
            if let (Some(m), Some(w)) = (&d.max_receives, &d.retry_window) {
                self.err(
                    Diagnostic::error(
                        Code::Conflict,
                        w.span,
                        format!(
                            "queue `{}` sets both `dlq.max_receives` ({}) and `dlq.retry_window`",
                            qn.value, m.value
                        ),
                    )
                    .with_help("the retry window decides how many receives a message gets; keep one of the two"),
                );
            }
            if let Some(w) = d.retry_window.as_ref().filter(|w| w.value >= retention * DAY) {
                self.err(
                Diagnostic::error(Code::Retention, w.span, format!("queue `{}` retries for {} s, not less than it keeps messages ({retention} days){in_stage}", qn.value, w.value))
                    .with_help("a message would expire before it reached the DLQ: shorten `dlq.retry_window` or raise `retention_days`"),
            );
            }
        }
        if let Some((dlq_retention, span)) = dlq {
            let dlq_ret = dlq_retention.map(|r| r.value).unwrap_or(DEFAULT_DLQ_RETENTION_DAYS);
            if dlq_ret <= retention {
                let at = dlq_retention.map(|r| r.span).or(q.retention_days.as_ref().map(|r| r.span)).unwrap_or(span);
                self.err(
                Diagnostic::error(
                    Code::Retention,
                    at,
                    format!("the DLQ of queue `{}` keeps messages {dlq_ret} days, not longer than the queue's {retention}{in_stage}", qn.value),
                )
                .with_help("a message's age counts from its first enqueue, so the DLQ must keep messages longer than its source: raise `dlq.retention_days` or lower `retention_days`"),
            );
            }
        }
    }

    /// The queues of one stage, whose functions carry their final (overridden) timeouts.
    pub(super) fn stage_queues(
        &mut self,
        raw: &RawConfig,
        declared: &Declared,
        wiring: &Wiring,
        fs: &[Function],
        sn: &Name,
        st: &RawStage,
    ) -> Vec<Queue> {
        let stage = sn.value.as_str();
        let overrides: Vec<&(Name, RawQueueOverride)> = st
            .queues
            .iter()
            .filter(|(on, _)| self.resolve(Kind::Queue, on, &declared.queues, &format!("stage `{stage}`")))
            .collect();
        let mut queue_list = Vec::new();
        for (qn, q) in &raw.queues {
            if !declared.queues.contains(&qn.value) {
                continue;
            }
            let o = overrides.iter().find(|(on, _)| on.value == qn.value).map(|(_, o)| o);
            let merged = self.with_override(qn, q, o, stage);
            let q = &merged;
            self.dead_letters(qn, q, o.map(|_| stage));
            let consumer = wiring.consumers.get(&qn.value).map(|(f, _)| f.clone());
            let consumer_fn = consumer.as_ref().and_then(|c| fs.iter().find(|f| &f.name == c));
            let floor = consumer_fn.map(Function::visibility_floor).unwrap_or(30);
            let vt = match (&q.visibility_timeout, consumer_fn) {
                (Some(v), Some(f)) if v.value < floor => {
                    self.err(
                        Diagnostic::error(
                            Code::OutOfRange,
                            v.span,
                            format!(
                                "a visibility timeout of {} s is below {floor} s = 6 x the {} s timeout of function `{}` + its batching window (stage `{stage}`)",
                                v.value, f.timeout, f.name
                            ),
                        )
                        .with_help(format!("a message would be redelivered while a retried invocation may still hold it (AWS guidance: 6 x the function's timeout); use at least {floor}, or remove `visibility_timeout`")),
                    );
                    floor
                }
                (Some(v), _) => v.value,
                (None, _) => floor,
            };
            let mut subs: Vec<Subscription> = q
                .subscribe
                .iter()
                .filter(|s| declared.topics.contains(&s.topic.value))
                .map(|s| Subscription {
                    topic: s.topic.value.clone(),
                    raw: s.raw.as_ref().is_some_and(|r| r.value),
                    filter_scope: if s.filter_scope.as_ref().is_some_and(|sc| sc.value == "body") {
                        FilterScope::Body
                    } else {
                        FilterScope::Attributes
                    },
                    filter: s.filter.as_ref().map(|f| super::filters::canonical(&f.value)),
                })
                .collect();
            subs.sort_by(|a, b| a.topic.cmp(&b.topic));
            subs.dedup_by(|a, b| a.topic == b.topic);
            queue_list.push(Queue {
                name: qn.value.clone(),
                identity: declared.identity(Kind::Queue, &qn.value).to_string(),
                fifo: q.fifo.as_ref().is_some_and(|f| f.value),
                content_based_dedup: q.content_based_dedup.as_ref().is_some_and(|c| c.value),
                retention_seconds: q.retention_days.as_ref().map(|r| r.value).unwrap_or(DEFAULT_QUEUE_RETENTION_DAYS)
                    * DAY,
                dlq: match &q.dlq {
                    Some(Sp { value: None, .. }) => None,
                    Some(Sp { value: Some(d), .. }) => Some(Dlq {
                        max_receives: match (&d.max_receives, &d.retry_window) {
                            (_, Some(w)) => self.receives_for(vt, w),
                            (Some(m), None) => m.value,
                            (None, None) => DEFAULT_MAX_RECEIVES,
                        },
                        retention_seconds: d
                            .retention_days
                            .as_ref()
                            .map(|r| r.value)
                            .unwrap_or(DEFAULT_DLQ_RETENTION_DAYS)
                            * DAY,
                        retry_window: d.retry_window.as_ref().map(|w| w.value),
                    }),
                    None => Some(Dlq {
                        max_receives: DEFAULT_MAX_RECEIVES,
                        retention_seconds: DEFAULT_DLQ_RETENTION_DAYS * DAY,
                        retry_window: None,
                    }),
                },
                subscriptions: subs,
                consumer,
                visibility_timeout: vt,
                visibility_timeout_set: q.visibility_timeout.is_some(),
                high_throughput: q.high_throughput.as_ref().is_some_and(|h| h.value),
                delay_seconds: q.delay_seconds.as_ref().map_or(0, |d| d.value),
                max_message_size: q.max_message_size.as_ref().map(|m| m.value),
                description: q.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
            });
        }
        queue_list.sort_by(|a, b| a.name.cmp(&b.name));
        queue_list
    }

    /// The queue as one stage sees it: the stage's settings over the queue's own. A stage may
    /// change a DLQ's settings but not add one to a queue with `dlq: false`.
    fn with_override(&mut self, qn: &Name, q: &RawQueue, o: Option<&RawQueueOverride>, stage: &str) -> RawQueue {
        let mut m = q.clone();
        let Some(o) = o else { return m };
        for (into, from) in [
            (&mut m.retention_days, &o.retention_days),
            (&mut m.delay_seconds, &o.delay_seconds),
            (&mut m.max_message_size, &o.max_message_size),
            (&mut m.visibility_timeout, &o.visibility_timeout),
        ] {
            if from.is_some() {
                *into = from.clone();
            }
        }
        let Some(od) = &o.dlq else { return m };
        let mut d = match &m.dlq {
            Some(Sp { value: None, .. }) => {
                self.err(
                    Diagnostic::error(
                        Code::Conflict,
                        od.span,
                        format!("stage `{stage}` sets the DLQ of queue `{}`, which has `dlq: false`", qn.value),
                    )
                    .with_help("a stage changes a DLQ's settings but cannot add one: remove `dlq: false` from the queue, or this `dlq`"),
                );
                return m;
            }
            Some(Sp { value: Some(d), .. }) => d.clone(),
            None => RawDlq::default(),
        };
        // The stage's way of counting receives replaces the queue's.
        if od.value.max_receives.is_some() || od.value.retry_window.is_some() {
            d.max_receives = od.value.max_receives.clone();
            d.retry_window = od.value.retry_window.clone();
        }
        if od.value.retention_days.is_some() {
            d.retention_days = od.value.retention_days.clone();
        }
        m.dlq = Some(Sp::new(Some(d), od.span));
        m
    }

    /// `maxReceiveCount` for a retry window; SQS allows at most 1000 receives.
    fn receives_for(&mut self, visibility_timeout: u64, window: &Sp<u64>) -> u64 {
        use contracts::retry::{elapsed_before, receives_for};
        let receives = receives_for(visibility_timeout, window.value);
        let covered = elapsed_before(visibility_timeout, receives);
        if visibility_timeout == 0 {
            self.err(
                Diagnostic::error(
                    Code::OutOfRange,
                    window.span,
                    "a retry window needs waits between receives, and a visibility timeout of 0 s makes none",
                )
                .with_help("set `visibility_timeout` above 0, or remove `dlq.retry_window`"),
            );
        } else if covered < window.value {
            self.err(
                Diagnostic::error(
                    Code::OutOfRange,
                    window.span,
                    format!(
                        "a retry window of {} s needs more receives than SQS's {receives} (waits double from the {visibility_timeout} s visibility timeout up to 900 s)",
                        window.value
                    ),
                )
                .with_help(format!("{receives} receives retry for {covered} s: use a `retry_window` of at most {covered}")),
            );
        }
        receives
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::check;
    use crate::codes::Code::*;

    #[test]
    fn queue_settings_and_subscriptions() {
        let consumed = "functions:\n  f: { trigger: { queue: q } }\n";
        check(&[
            (&format!("topics:\n  t: {{}}\nqueues:\n  q: {{ subscribe: [t] }}\n{consumed}"), &[]),
            (&format!("topics:\n  t: {{}}\nqueues:\n  q: {{ subscribe: [t, t] }}\n{consumed}"), &[Duplicate]),
            ("queues:\n  q: {}\n", &[UnconsumedQueue]),
            (&format!("queues:\n  q: {{ retention_days: 1, dlq: {{ retention_days: 1 }} }}\n{consumed}"), &[Retention]),
            (&format!("queues:\n  q: {{ dlq: {{ max_receives: 0 }} }}\n{consumed}"), &[OutOfRange]),
            (&format!("queues:\n  q: {{ content_based_dedup: true }}\n{consumed}"), &[FifoMismatch]),
        ]);
    }
}
