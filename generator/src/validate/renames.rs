//! `renamed_from`: a topic, queue or function that keeps the resources of the name it had
//! before. Its identity (the name its logical IDs and physical names are made of) is that old
//! name; two entries must never share one, so each identity is checked against every other
//! of its kind, after the conversion to a logical ID (PascalCase), as names are.

use super::names::{rule_ok, Declared, Kind};
use super::Validator;
use crate::codes::Code;
use crate::config::{Name, RawConfig};
use crate::diag::Diagnostic;
use crate::ids::pascal;
use std::collections::BTreeMap;

impl Validator {
    /// The valid `renamed_from`s: (section, name) -> old name. Invalid ones are reported and
    /// left out (the entry keeps its own name's identity, so no second error follows).
    pub(super) fn renames(&mut self, raw: &RawConfig, declared: &Declared) -> BTreeMap<(&'static str, String), String> {
        let mut out = BTreeMap::new();
        let topics: Vec<_> = raw.topics.iter().map(|(n, t)| (n, t.renamed_from.as_ref())).collect();
        let queues: Vec<_> = raw.queues.iter().map(|(n, q)| (n, q.renamed_from.as_ref())).collect();
        let functions: Vec<_> = raw.functions.iter().map(|(n, f)| (n, f.renamed_from.as_ref())).collect();
        for (kind, items, valid) in [
            (Kind::Topic, topics, &declared.topics),
            (Kind::Queue, queues, &declared.queues),
            (Kind::Function, functions, &declared.functions),
        ] {
            let items: Vec<_> = items.into_iter().filter(|(n, _)| valid.contains(&n.value)).collect();
            for (name, old) in self.kind_renames(kind, &items) {
                out.insert((kind.section(), name), old);
            }
        }
        out
    }

    fn kind_renames(&mut self, kind: Kind, items: &[(&Name, Option<&Name>)]) -> Vec<(String, String)> {
        let word = kind.word();
        // Every current name's logical-ID stem, and the identities taken so far.
        let current: BTreeMap<String, &Name> = items.iter().map(|(n, _)| (pascal(&n.value), *n)).collect();
        let mut kept: BTreeMap<String, &Name> = BTreeMap::new();
        let mut out = Vec::new();
        for (name, old) in items {
            let Some(old) = old else { continue };
            let refuse = |what: String, help: String| Diagnostic::error(Code::Renamed, old.span, what).with_help(help);
            if !rule_ok(&old.value) {
                self.err(
                    Diagnostic::error(Code::BadName, old.span, format!("invalid {word} name `{}` in `renamed_from`", old.value))
                        .with_help("write the name the entry had before, as it was in the config (lowercase letters, digits, `_` and `-`)"),
                );
                continue;
            }
            let stem = pascal(&old.value);
            // The same physical name (`_` and `-` are one): nothing to keep. (`a1` and `a_1` share a
            // logical ID but not a physical name, so that rename is one.)
            if old.value.replace('_', "-") == name.value.replace('_', "-") {
                self.err(refuse(
                    format!("{word} `{}` is renamed from its own name", name.value),
                    "remove `renamed_from`, or write the name the entry had before".into(),
                ));
                continue;
            }
            if let Some(other) = current.get(&stem).filter(|o| o.value != name.value) {
                self.err(refuse(
                    format!("{word} `{}` would keep the resources of {word} `{}`, which is still in the config", name.value, other.value),
                    format!(
                        "two {word}s cannot share one resource: remove `renamed_from`, or rename {word} `{}` (line {}) too",
                        other.value, other.span.line
                    ),
                ));
                continue;
            }
            if let Some(first) = kept.get(&stem) {
                self.err(refuse(
                    format!(
                        "{word} `{}` would keep the resources of `{}`, which {word} `{}` keeps already",
                        name.value, old.value, first.value
                    ),
                    format!("only one {word} can keep them (line {} has the other)", first.span.line),
                ));
                continue;
            }
            kept.insert(stem, name);
            out.push((name.value.clone(), old.value.clone()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::check;
    use crate::codes::Code::*;

    /// The IDs of a renamed entry are its `renamed_from`'s: a clash they make is reported at it.
    #[test]
    fn a_logical_id_clash_made_by_a_renamed_from_is_reported_at_it() {
        let text =
            "version: 1\nsystem: shop\nstages:\n  dev: {}\nqueues:\n  a: {}\n  b:\n    renamed_from: a_dead_letter\n";
        let Err(crate::Failure::Invalid(d)) = crate::build(text) else { panic!("built") };
        let e = d.iter().find(|d| d.code == Duplicate).unwrap_or_else(|| panic!("{d:?}"));
        assert_eq!(e.span.line, 8, "{e:?}");
        assert!(e.message.contains("renamed_from: a_dead_letter") && e.message.contains("ADeadLetterQueue"), "{e:?}");
    }

    #[test]
    fn renames() {
        let base = "functions:\n  f:\n    trigger: { queue: q }\n";
        let case = |topics: &str, queues: &str| format!("topics:\n{topics}queues:\n{queues}{base}");
        check(&[
            (&case("  t: { renamed_from: old }\n", "  q: { subscribe: [t] }\n"), &[]),
            (&case("  t: { renamed_from: t }\n", "  q: { subscribe: [t] }\n"), &[Renamed]),
            (&case("  t-1: { renamed_from: t_1 }\n", "  q: { subscribe: [t-1] }\n"), &[Renamed]),
            // One logical ID, two physical names: a rename that keeps the old name's resources.
            (&case("  t_1: { renamed_from: t1 }\n", "  q: { subscribe: [t_1] }\n"), &[]),
            (&case("  t: {}\n  u: { renamed_from: t }\n", "  q: { subscribe: [t, u] }\n"), &[Renamed]),
            (
                &case("  t: { renamed_from: old }\n  u: { renamed_from: old }\n", "  q: { subscribe: [t, u] }\n"),
                &[Renamed],
            ),
            (&case("  t: { renamed_from: Old }\n", "  q: { subscribe: [t] }\n"), &[BadName]),
            // Another kind may have had the name: identities are per kind.
            (&case("  t: { renamed_from: f }\n", "  q: { subscribe: [t], renamed_from: old_q }\n"), &[]),
        ]);
    }
}
