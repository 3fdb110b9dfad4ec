//! Imports and exports across configs: this config's topics that other systems may use
//! (`export`), and other systems' topics this config uses (`imports` + a topic's `import`).
//!
//! The exporter's config is read beside this one ([`crate::config::imports`]); what it says
//! is checked here, so a name the exporter does not export fails at `flowform generate`, not
//! at deploy: its system name, its stages (an import reads the exporter's stage of the same
//! name), the topic, and whether its `export` names this system for what this config does
//! with it (subscribe a queue, publish from a function).

use super::settings::system_name_ok;
use super::Validator;
use crate::codes::Code;
use crate::config::imports::{Exporter, Exporters};
use crate::config::{Name, RawConfig, RawTopic};
use crate::diag::{did_you_mean, Diagnostic};
use crate::model::{Export, Imported, Topic};
use std::collections::{BTreeMap, BTreeSet};

/// The readable exporters of this config's `imports`, by system name.
pub(super) type Imports<'a> = BTreeMap<String, &'a Exporter>;

/// What a topic of an exporter says: its identity there, FIFO, and its `export`.
struct Exported<'a> {
    identity: String,
    fifo: bool,
    export: Option<&'a crate::config::RawExport>,
}

fn exported<'a>(exporter: &'a Exporter, topic: &str) -> Option<Exported<'a>> {
    let (name, t) = exporter.raw.topics.iter().find(|(n, _)| n.value == topic)?;
    Some(Exported {
        identity: t.renamed_from.as_ref().map_or(&name.value, |r| &r.value).clone(),
        fifo: t.fifo.as_ref().is_some_and(|f| f.value),
        export: t.export.as_ref().map(|e| &e.value),
    })
}

impl Validator {
    /// The `imports` entries: each a system name other than this one, whose config file reads
    /// and describes that system, with every stage of this config.
    pub(super) fn imports<'a>(&mut self, raw: &RawConfig, exporters: &'a Exporters, own: &str) -> Imports<'a> {
        let mut out = Imports::new();
        for (name, import) in &raw.imports {
            let system = &name.value;
            if !system_name_ok(system) {
                self.err(
                    Diagnostic::error(Code::BadName, name.span, format!("`{system}` is not a system name")).with_help(
                        "an import is named after the exporting system's `system`: lowercase letters, digits and `-`",
                    ),
                );
                continue;
            }
            if system == own {
                self.err(
                    Diagnostic::error(Code::Import, name.span, format!("`{system}` is this config's own system"))
                        .with_help("a system's own topics are declared under `topics` without `import`"),
                );
                continue;
            }
            let Some(file) = &import.config else {
                self.err(
                    Diagnostic::error(Code::Missing, name.span, format!("import `{system}` has no `config`"))
                        .with_help("add `config: <path of its flowform.yaml, relative to this file>`"),
                );
                continue;
            };
            let exporter = match exporters.get(system) {
                Some(Ok(e)) => e,
                Some(Err(why)) => {
                    self.err(Diagnostic::error(Code::Import, file.span, why.clone()).with_help(
                        "an import reads the exporting system's config to check what it exports; fix the path or that config",
                    ));
                    continue;
                }
                None => continue,
            };
            match &exporter.raw.system {
                Some(s) if &s.value == system => {}
                other => {
                    let what = other.as_ref().map_or("no system".to_string(), |s| format!("system `{}`", s.value));
                    self.err(
                        Diagnostic::error(Code::Import, file.span, format!("`{}` describes {what}, not `{system}`", file.value))
                            .with_help("name the import after the exporting config's `system`, or point `config` at that system's file"),
                    );
                    continue;
                }
            }
            let theirs: BTreeSet<&str> = exporter.raw.stages.iter().map(|(s, _)| s.value.as_str()).collect();
            for (stage, _) in raw.stages.iter().filter(|(s, _)| !theirs.contains(s.value.as_str())) {
                self.err(
                    Diagnostic::error(
                        Code::Import,
                        stage.span,
                        format!("stage `{}` imports from `{system}`, which has no stage `{}`", stage.value, stage.value),
                    )
                    .with_help(format!(
                        "an import reads the exporter's stage of the same name (its stages: {}); add the stage to `{}` or remove it here",
                        list(&theirs.iter().copied().collect::<Vec<_>>()),
                        exporter.file
                    )),
                );
            }
            out.insert(system.clone(), exporter);
        }
        out
    }

    /// An imported topic (`import: <system>`): the exporter's topic of this name (or of the
    /// name `topic` gives), which it exports. Its FIFO setting and identity are the exporter's; the keys that would make a
    /// resource here are refused.
    pub(super) fn imported_topic(
        &mut self,
        raw: &RawConfig,
        name: &Name,
        t: &RawTopic,
        imports: &Imports,
    ) -> Option<(Imported, bool)> {
        let Some(from) = t.import.as_ref() else {
            if let Some(there) = &t.topic {
                self.err(
                    Diagnostic::error(Code::Conflict, there.span, format!("topic `{}` is not imported, so it takes no `topic`", name.value))
                        .with_help("`topic` names an imported topic as its exporter calls it; add `import: <system>`, or remove it"),
                );
            }
            return None;
        };
        let own_settings = [
            ("fifo", t.fifo.as_ref().map(|s| s.span)),
            ("content_based_dedup", t.content_based_dedup.as_ref().map(|s| s.span)),
            ("export", t.export.as_ref().map(|s| s.span)),
        ];
        for (key, span) in own_settings {
            if let Some(span) = span {
                self.err(
                    Diagnostic::error(
                        Code::Conflict,
                        span,
                        format!("topic `{}` is imported, so it takes no `{key}`", name.value),
                    )
                    .with_help(format!("`{key}` is the exporting system's to set, on its own topic")),
                );
            }
        }
        let Some(exporter) = imports.get(&from.value) else {
            if !raw.imports.iter().any(|(n, _)| n.value == from.value) {
                let help =
                    did_you_mean(&from.value, raw.imports.iter().map(|(n, _)| n.value.as_str())).unwrap_or_else(|| {
                        format!("add `imports: {{ {}: {{ config: <path of its flowform.yaml> }} }}`", from.value)
                    });
                self.err(
                    Diagnostic::error(Code::Undefined, from.span, format!("no import `{}`", from.value))
                        .with_help(help),
                );
            }
            return None; // else the import itself was refused, and said why
        };
        // Its name there: `topic`, else this entry's name.
        let there = t.topic.as_ref().unwrap_or(name);
        let Some(topic) = exported(exporter, &there.value) else {
            let renamed = (exporter.raw.topics.iter())
                .find(|(_, t)| t.renamed_from.as_ref().is_some_and(|r| r.value == there.value))
                .map(|(n, _)| n.value.as_str());
            if let Some(now) = renamed {
                self.err(
                    Diagnostic::error(Code::Import, there.span, format!("`{}` renamed topic `{}` to `{now}`", from.value, there.value))
                        .with_help(format!(
                            "add `topic: {now}` to this entry and keep its name: its subscriptions here are named after it, and `{}` kept the topic's resources (`renamed_from: {}`)",
                            from.value, there.value
                        )),
                );
                return None;
            }
            let shared: Vec<&str> = (exporter.raw.topics.iter())
                .filter(|(_, t)| t.export.is_some())
                .map(|(n, _)| n.value.as_str())
                .collect();
            let help = did_you_mean(&there.value, shared.iter().copied()).unwrap_or_else(|| {
                format!(
                    "`{}` exports {}; an imported topic is named as in its config",
                    from.value,
                    if shared.is_empty() { "no topic".into() } else { list(&shared) }
                )
            });
            self.err(
                Diagnostic::error(Code::Import, there.span, format!("`{}` has no topic `{}`", from.value, there.value))
                    .with_help(help),
            );
            return None;
        };
        if topic.export.is_none() {
            self.err(
                Diagnostic::error(
                    Code::Import,
                    from.span,
                    format!("topic `{}` of `{}` is not exported", there.value, from.value),
                )
                .with_help(format!(
                    "the exporting system decides: add `export: {{ subscribe: [...], publish: [...] }}` to topic `{}` in `{}`",
                    there.value, exporter.file
                )),
            );
            return None;
        }
        if let Some(again) =
            exporter.raw.topics.iter().find(|(n, _)| n.value == there.value).and_then(|(_, t)| t.import.as_ref())
        {
            self.err(
                Diagnostic::error(
                    Code::Import,
                    from.span,
                    format!("topic `{}` of `{}` is its import from `{}`", there.value, from.value, again.value),
                )
                .with_help(format!("import it from `{}`", again.value)),
            );
            return None;
        }
        Some((
            Imported { system: from.value.clone(), topic: there.value.clone(), identity: topic.identity },
            topic.fifo,
        ))
    }

    /// A topic's `export`: system names other than this one, once each, at least one.
    pub(super) fn export(&mut self, name: &Name, t: &RawTopic, own: &str) -> Export {
        let Some(export) = &t.export else { return Export::default() };
        let mut lists = [(&export.value.subscribe, Vec::new()), (&export.value.publish, Vec::new())];
        for (names, out) in &mut lists {
            let mut seen = BTreeSet::new();
            for n in names.iter() {
                if !system_name_ok(&n.value) {
                    self.err(
                        Diagnostic::error(Code::BadName, n.span, format!("`{}` is not a system name", n.value))
                            .with_help("`export` names the systems that may use the topic, by their `system`"),
                    );
                } else if n.value == own {
                    self.err(
                        Diagnostic::error(Code::Import, n.span, format!("`{own}` is this config's own system"))
                            .with_help("the system's own queues and functions use the topic without an export"),
                    );
                } else if !seen.insert(n.value.clone()) {
                    self.err(
                        Diagnostic::error(Code::Duplicate, n.span, format!("`{}` is listed twice", n.value))
                            .with_help("list each system once"),
                    );
                } else {
                    out.push(n.value.clone());
                }
            }
            out.sort();
        }
        let [(_, subscribe), (_, publish)] = lists;
        if export.value.subscribe.is_empty() && export.value.publish.is_empty() {
            self.err(
                Diagnostic::error(Code::Missing, export.span, format!("`export` of topic `{}` names no system", name.value))
                    .with_help("add `subscribe: [<system>]` (their queues subscribe) or `publish: [<system>]` (their functions publish)"),
            );
        }
        Export { subscribe, publish }
    }

    /// What this config does with imported topics, against what their exporters allow it:
    /// a function publishing needs this system in the topic's `export.publish`, a queue
    /// subscribing in its `export.subscribe`. Also W003 for an import nothing uses.
    pub(super) fn import_uses(&mut self, raw: &RawConfig, topics: &[Topic], imports: &Imports, own: &str) {
        let export_of = |topic: &str| -> Option<(&Exporter, &Topic, &crate::config::RawExport)> {
            let t = topics.iter().find(|t| t.name == topic)?;
            let exporter = imports.get(&t.imported.as_ref()?.system)?;
            Some((*exporter, t, exported(exporter, &t.imported.as_ref()?.topic)?.export?))
        };
        let mut used = BTreeSet::new();
        let publishes = raw.functions.iter().flat_map(|(_, f)| f.publishes.iter().map(|p| (p, "publish")));
        let subscribes = raw.queues.iter().flat_map(|(_, q)| q.subscribe.iter().map(|s| (&s.topic, "subscribe")));
        for (topic, how) in publishes.chain(subscribes) {
            let Some((exporter, t, export)) = export_of(&topic.value) else { continue };
            used.insert(t.name.clone());
            let allowed = if how == "publish" { &export.publish } else { &export.subscribe };
            if allowed.iter().any(|s| s.value == own) {
                continue;
            }
            let system = t.imported.as_ref().map_or("", |i| i.system.as_str());
            let who = if how == "publish" { "functions may publish to it" } else { "queues may subscribe to it" };
            let names: Vec<&str> = allowed.iter().map(|s| s.value.as_str()).collect();
            self.err(
                Diagnostic::error(
                    Code::Import,
                    topic.span,
                    format!("`{system}` does not export topic `{}` for `{own}` to {how}", topic.value),
                )
                .with_help(format!(
                    "`{system}` decides which systems' {who} (its `export.{how}` names {}): add `{own}` there, in `{}`",
                    if names.is_empty() { "none".into() } else { list(&names) },
                    exporter.file
                )),
            );
        }
        for t in topics.iter().filter(|t| t.imported.is_some() && !used.contains(&t.name)) {
            let Some((n, _)) = raw.topics.iter().find(|(n, _)| n.value == t.name) else { continue };
            self.err(
                Diagnostic::warning(
                    Code::Unused,
                    n.span,
                    format!("imported topic `{}` is neither published to nor subscribed", t.name),
                )
                .with_help("remove it, or list it in a function's `publishes` or a queue's `subscribe`"),
            );
        }
        let importing: BTreeSet<&str> =
            raw.topics.iter().filter_map(|(_, t)| Some(t.import.as_ref()?.value.as_str())).collect();
        for (n, _) in
            raw.imports.iter().filter(|(n, _)| imports.contains_key(&n.value) && !importing.contains(n.value.as_str()))
        {
            self.err(
                Diagnostic::warning(
                    Code::Unused,
                    n.span,
                    format!("import `{}` is declared but no topic imports from it", n.value),
                )
                .with_help(format!("remove it, or declare a topic with `import: {}`", n.value)),
            );
        }
    }
}

fn list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use crate::codes::Code::{self, *};
    use std::sync::atomic::{AtomicUsize, Ordering};

    const EXPORTER: &str = "version: 1\nsystem: pay\nstages: { dev: {}, prod: {} }\ntopics:\n  paid: { export: { subscribe: [ship] } }\n  refunds: { export: { publish: [ship] } }\n  fifo: { fifo: true, export: { subscribe: [ship] } }\n  private: {}\n";

    /// `importer` (system `ship`, stage `dev`, plus `extra`) built beside `p.yaml` = `exporter`.
    fn build(exporter: &str, extra: &str) -> Result<crate::Build, crate::Failure> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "flowform-imports-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("p.yaml"), exporter).unwrap();
        let text =
            format!("version: 1\nsystem: ship\nstages:\n  dev: {{}}\nimports:\n  pay: {{ config: p.yaml }}\n{extra}");
        let built = crate::build_opts(&text, crate::Options { base: Some(&dir), ..Default::default() });
        std::fs::remove_dir_all(&dir).unwrap();
        built
    }

    fn codes(exporter: &str, extra: &str) -> Vec<Code> {
        match build(exporter, extra) {
            Ok(b) => b.warnings.iter().map(|d| d.code).collect(),
            Err(crate::Failure::Invalid(d)) => d.iter().map(|d| d.code).collect(),
            Err(crate::Failure::Internal(m)) => panic!("internal error: {m}"),
        }
    }

    const SUBSCRIBES: &str = "queues:\n  q: { subscribe: [paid] }\nfunctions:\n  f: { trigger: { queue: q } }\n";

    #[test]
    fn an_import_is_what_the_exporter_exports_to_this_system() {
        let rows: &[(&str, &str, &[Code])] = &[
            (EXPORTER, &format!("topics:\n  paid: {{ import: pay }}\n{SUBSCRIBES}"), &[]),
            (
                EXPORTER,
                "topics:\n  refunds: { import: pay }\nfunctions:\n  f: { trigger: { schedule: rate(1 day) }, publishes: [refunds] }\n",
                &[],
            ),
            // Not a topic there, not exported, not for this use, not for this system.
            (EXPORTER, &format!("topics:\n  payd: {{ import: pay }}\n{}", SUBSCRIBES.replace("paid", "payd")), &[Import]),
            (EXPORTER, &format!("topics:\n  private: {{ import: pay }}\n{}", SUBSCRIBES.replace("paid", "private")), &[Import]),
            (
                EXPORTER,
                "topics:\n  paid: { import: pay }\nfunctions:\n  f: { trigger: { schedule: rate(1 day) }, publishes: [paid] }\n",
                &[Import],
            ),
            (
                &EXPORTER.replace("subscribe: [ship]", "subscribe: [other]"),
                &format!("topics:\n  paid: {{ import: pay }}\n{SUBSCRIBES}"),
                &[Import],
            ),
            // The exporter's FIFO setting decides: a FIFO queue needs a FIFO topic.
            (
                EXPORTER,
                "topics:\n  paid: { import: pay }\nqueues:\n  q: { fifo: true, subscribe: [paid] }\nfunctions:\n  f: { trigger: { queue: q } }\n",
                &[FifoMismatch],
            ),
            (
                EXPORTER,
                "topics:\n  fifo: { import: pay }\nqueues:\n  q: { fifo: true, subscribe: [fifo] }\nfunctions:\n  f: { trigger: { queue: q } }\n",
                &[],
            ),
            // What would make a resource here is the exporter's.
            (EXPORTER, &format!("topics:\n  paid: {{ import: pay, fifo: false }}\n{SUBSCRIBES}"), &[Conflict]),
            // (and `pay`, which nothing imports from now, is unused)
            (EXPORTER, &format!("topics:\n  paid: {{ import: pai }}\n{SUBSCRIBES}"), &[Unused, Undefined]),
            // Nothing uses it.
            (EXPORTER, "topics:\n  paid: { import: pay }\n", &[Unused]),
            (EXPORTER, "", &[Unused]),
            // The exporter's file: another system, a stage it lacks, shape errors.
            (&EXPORTER.replace("system: pay", "system: pey"), &format!("topics:\n  paid: {{ import: pay }}\n{SUBSCRIBES}"), &[Import]),
            (&EXPORTER.replace("dev: {}, ", ""), &format!("topics:\n  paid: {{ import: pay }}\n{SUBSCRIBES}"), &[Import]),
            (&EXPORTER.replace("version: 1", "version: one"), &format!("topics:\n  paid: {{ import: pay }}\n{SUBSCRIBES}"), &[Import]),
        ];
        for (exporter, extra, want) in rows {
            assert_eq!(codes(exporter, extra), *want, "for\n{extra}\nbeside\n{exporter}");
        }
    }

    #[test]
    fn an_export_names_other_systems_once_each() {
        let topic = |export: &str| {
            format!("topics:\n  t: {{ export: {export} }}\nfunctions:\n  f: {{ trigger: {{ schedule: rate(1 day) }}, publishes: [t] }}\n")
        };
        let rows: &[(&str, &[Code])] = &[
            ("{ subscribe: [a, b], publish: [b] }", &[]),
            // Nothing here subscribes, and no other system may: W001 too.
            ("{ publish: [ship] }", &[UnreadTopic, Import]),
            ("{ subscribe: [a, a] }", &[Duplicate]),
            ("{ subscribe: [A_b] }", &[BadName]),
            ("{}", &[UnreadTopic, Missing]),
        ];
        for (export, want) in rows {
            // No import needed: `imports` with an unused entry only warns, so build without.
            let text = format!("version: 1\nsystem: ship\nstages:\n  dev: {{}}\n{}", topic(export));
            let got: Vec<Code> = match crate::build(&text) {
                Ok(b) => b.warnings.iter().map(|d| d.code).collect(),
                Err(crate::Failure::Invalid(d)) => d.iter().map(|d| d.code).collect(),
                Err(crate::Failure::Internal(m)) => panic!("{m}"),
            };
            assert_eq!(got, *want, "export: {export}");
        }
    }

    /// The exporter renames `paid` to `settled`, keeping its resources: the importer's old
    /// entry is refused with the new name in the message; with `topic: settled` it keeps its
    /// name, so its subscription keeps its logical ID and nothing of the importer changes.
    #[test]
    fn an_exporters_rename_replaces_nothing_of_the_importer() {
        let renamed = EXPORTER.replace("  paid: {", "  settled: { renamed_from: paid,");
        let before = build(EXPORTER, &format!("topics:\n  paid: {{ import: pay }}\n{SUBSCRIBES}")).unwrap();
        let after = build(&renamed, &format!("topics:\n  paid: {{ import: pay, topic: settled }}\n{SUBSCRIBES}"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            before.files["dev/template.yaml"], after.files["dev/template.yaml"],
            "nothing of the importer changes"
        );
        match build(&renamed, &format!("topics:\n  paid: {{ import: pay }}\n{SUBSCRIBES}")) {
            Err(crate::Failure::Invalid(d)) => {
                assert_eq!(d[0].code, Import);
                assert!(d[0].message.contains("renamed topic `paid` to `settled`"), "{:?}", d[0]);
                assert!(d[0].help.as_deref().unwrap_or_default().contains("`topic: settled`"), "{:?}", d[0]);
            }
            other => panic!("the old name must be refused: {other:?}"),
        }
    }

    /// Two systems' topics of one name: `topic` names one as its exporter calls it, and the
    /// entry's own name keeps the logical IDs here apart.
    #[test]
    fn topic_names_an_imported_topic_as_its_exporter_calls_it() {
        let extra = "topics:\n  pay_paid: { import: pay, topic: paid }\nqueues:\n  q: { subscribe: [pay_paid] }\nfunctions:\n  f: { trigger: { queue: q } }\n";
        let b = build(EXPORTER, extra).unwrap_or_else(|e| panic!("{e:?}"));
        let t = &b.files["dev/template.yaml"];
        assert!(
            t.contains("TopicArn: !ImportValue pay-dev-PaidTopicArn") && t.contains("  PayPaidToQSubscription:"),
            "{t}"
        );
        let rows: &[(&str, &[Code])] = &[
            ("topics:\n  pay_paid: { import: pay, topic: payd }\nqueues:\n  q: { subscribe: [pay_paid] }\nfunctions:\n  f: { trigger: { queue: q } }\n", &[Import]),
            ("topics:\n  pay_paid: { topic: paid }\n", &[Unused, Conflict]),
        ];
        for (extra, want) in rows {
            assert_eq!(codes(EXPORTER, extra), *want, "for\n{extra}");
        }
    }

    #[test]
    fn imported_topics_are_read_from_the_exporters_exports() {
        let extra = format!(
            "topics:\n  paid: {{ import: pay }}\n  refunds: {{ import: pay }}\n{SUBSCRIBES}  g: {{ trigger: {{ schedule: rate(1 day) }}, publishes: [refunds] }}\n"
        );
        let b = build(EXPORTER, &extra).unwrap_or_else(|e| panic!("{e:?}"));
        let t = &b.files["dev/template.yaml"];
        assert!(
            !t.contains("  PaidTopic:") && !t.contains("  RefundsTopic:"),
            "no resource for an imported topic:\n{t}"
        );
        assert!(t.contains("TopicArn: !ImportValue pay-dev-PaidTopicArn"), "{t}");
        assert!(t.contains("ArnEquals: { \"aws:SourceArn\": !ImportValue pay-dev-PaidTopicArn }"), "{t}");
        assert!(t.contains("FLOWFORM_TOPIC_REFUNDS_ARN: !ImportValue pay-dev-RefundsTopicArn"), "{t}");
        assert!(t.contains("Resource: !ImportValue pay-dev-EncryptionKeyArn"), "{t}");
        // Only the publisher's role sits under the path the exporter admits.
        assert_eq!(t.matches("Path: \"/flowform/ship/dev/\"").count(), 1, "{t}");
        assert!(
            t.contains(":sns:${AWS::Region}:${AWS::AccountId}:pay-dev-paid"),
            "the key lets SNS deliver from it:\n{t}"
        );
    }
}
