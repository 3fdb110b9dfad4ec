//! Topics: FIFO settings, and a warning for a topic published to that nobody reads.

use super::functions::Wiring;
use super::imports::Imports;
use super::names::{Declared, Kind};
use super::Validator;
use crate::codes::Code;
use crate::config::RawConfig;
use crate::diag::Diagnostic;
use crate::model::Topic;
use std::collections::BTreeSet;

impl Validator {
    pub(super) fn topics(&mut self, raw: &RawConfig, declared: &Declared, imports: &Imports, own: &str) -> Vec<Topic> {
        raw.topics
            .iter()
            .filter(|(n, _)| declared.topics.contains(&n.value))
            .map(|(n, t)| {
                let export = self.export(n, t, own);
                let imported = self.imported_topic(raw, n, t, imports);
                let fifo = imported.as_ref().map_or(t.fifo.as_ref().is_some_and(|f| f.value), |(_, fifo)| *fifo);
                if let Some(cbd) = t.content_based_dedup.as_ref().filter(|_| t.import.is_none()) {
                    if cbd.value && !fifo {
                        self.err(
                            Diagnostic::error(
                                Code::FifoMismatch,
                                cbd.span,
                                format!("topic `{}` is not FIFO, so it cannot deduplicate by content", n.value),
                            )
                            .with_help("add `fifo: true`, or remove `content_based_dedup`"),
                        );
                    }
                }
                Topic {
                    name: n.value.clone(),
                    // An imported topic's resources here (subscriptions) are named after this
                    // entry (its `renamed_from`, else its name), never after the exporter's
                    // name: an exporter's rename is `topic: <new name>` and moves nothing here.
                    identity: declared.identity(Kind::Topic, &n.value).to_string(),
                    fifo,
                    content_based_dedup: t.content_based_dedup.as_ref().is_some_and(|c| c.value),
                    description: t.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
                    imported: imported.map(|(i, _)| i),
                    export,
                }
            })
            .collect()
    }

    /// W001: a topic that functions publish to but no queue subscribes to drops everything
    /// (unless other systems' queues may: an exported or imported topic).
    pub(super) fn unread_topics(
        &mut self,
        raw: &RawConfig,
        declared: &Declared,
        wiring: &Wiring,
        subscribed: &BTreeSet<String>,
    ) {
        for (n, t) in &raw.topics {
            let elsewhere = t.import.is_some() || t.export.as_ref().is_some_and(|e| !e.value.subscribe.is_empty());
            if !declared.topics.contains(&n.value) || elsewhere {
                continue;
            }
            if !subscribed.contains(&n.value) && wiring.functions.iter().any(|(f, _)| f.publishes.contains(&n.value)) {
                self.err(
                    Diagnostic::warning(
                        Code::UnreadTopic,
                        n.span,
                        format!("topic `{}` is published to but no queue subscribes", n.value),
                    )
                    .with_help("its messages are dropped; subscribe a queue or stop publishing"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::check;
    use crate::codes::Code::*;

    #[test]
    fn topic_settings() {
        check(&[
            ("topics:\n  t: { fifo: true }\n", &[]),
            ("topics:\n  t: { fifo: true, content_based_dedup: true }\n", &[]),
            ("topics:\n  t: { content_based_dedup: true }\n", &[FifoMismatch]),
        ]);
    }
}
