//! Renames in the config, read from the templates: entries renamed with `renamed_from` (they
//! keep their resources; the primary resource's `Metadata.flowform.renamed` says so), a
//! `renamed_from` dropped or pointed at the wrong name (the resources would be replaced), and
//! a removed and an added entry that look like one renamed without `renamed_from` (their
//! settings agree but for the names).

use crate::ids::pascal;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The primary resource of each renameable entry: its type, what the config calls it, the
/// logical-ID suffix and the property holding its physical name.
const KINDS: &[(&str, &str, &str, &str)] = &[
    ("AWS::SNS::Topic", "topic", "Topic", "TopicName"),
    ("AWS::SQS::Queue", "queue", "Queue", "QueueName"),
    ("AWS::Lambda::Function", "function", "Function", "FunctionName"),
];

/// An entry's primary resource in one template.
struct Primary<'a> {
    id: &'a str,
    word: &'static str,
    /// The logical ID without its kind's suffix (PascalCase of the identity).
    stem: &'a str,
    physical: &'a str,
    /// `(from, to)` of `Metadata.flowform.renamed`.
    renamed: Option<(&'a str, &'a str)>,
    properties: &'a Json,
}

fn primaries(resources: &BTreeMap<String, Json>) -> Vec<Primary<'_>> {
    resources
        .iter()
        .filter_map(|(id, r)| {
            let &(_, word, suffix, name_key) = KINDS.iter().find(|k| r["Type"] == k.0)?;
            // A dead-letter queue is a queue of its source entry, not an entry.
            let stem = id.strip_suffix(suffix).filter(|_| !id.ends_with("DeadLetterQueue"))?;
            let m = &r["Metadata"]["flowform"]["renamed"];
            Some(Primary {
                id,
                word,
                stem,
                physical: r["Properties"][name_key].as_str().unwrap_or_default(),
                renamed: m["from"].as_str().zip(m["to"].as_str()),
                properties: &r["Properties"],
            })
        })
        .collect()
}

/// "topic purchases is now sales ...": entries whose config name changed while they keep
/// their resources.
pub(super) fn renamed(b: &BTreeMap<String, Json>, a: &BTreeMap<String, Json>) -> Vec<String> {
    let before = primaries(b);
    let mut out = Vec::new();
    for p in primaries(a) {
        let Some((from, to)) = p.renamed else { continue };
        let Some(old) = before.iter().find(|o| o.id == p.id) else { continue };
        let was = old.renamed.map_or(from, |(_, to)| to);
        if was != to {
            out.push(format!(
                "{} `{was}` is `{to}` in the config now and keeps its resources ({}, {}, and what is named after them: `renamed_from: {from}`)",
                p.word, p.id, p.physical
            ));
        }
    }
    out
}

/// What a reviewer should look at before accepting a removal: a `renamed_from` dropped or
/// changed, and removed/added pairs that look like a rename.
pub(super) fn hints(b: &BTreeMap<String, Json>, a: &BTreeMap<String, Json>) -> Vec<String> {
    let (before, after) = (primaries(b), primaries(a));
    let prefix = stage_prefix(a).or_else(|| stage_prefix(b));
    let name_of = |r: &Primary| old_name(r.physical, prefix.as_deref());
    let removed: Vec<&Primary> = before.iter().filter(|p| !a.contains_key(p.id)).collect();
    let added: Vec<&Primary> = after.iter().filter(|p| !b.contains_key(p.id)).collect();
    let mut out = Vec::new();
    let mut named = std::collections::BTreeSet::new();
    for r in &removed {
        if let Some((from, to)) = r.renamed {
            // The entry is still there (its name's stem) or renamed again, with the wrong name.
            let again = added.iter().find(|n| n.word == r.word && n.renamed.is_some_and(|(f, _)| same(f, to)));
            let plain = added.iter().find(|n| n.word == r.word && n.renamed.is_none() && n.stem == pascal(to));
            if let Some(n) = again {
                named.insert(n.id);
            }
            match (again, plain) {
                (Some(n), _) => out.push(format!(
                    "{} `{}` is renamed from `{to}`, but `{to}` kept the resources of `{from}`: write `renamed_from: {from}` to keep {} ({})",
                    n.word,
                    n.renamed.map_or("", |(_, t)| t),
                    r.id,
                    r.physical
                )),
                (None, Some(_)) => out.push(format!(
                    "{} `{to}` lost `renamed_from: {from}`, so {} ({}) is replaced: keep `renamed_from` while the stack lives",
                    r.word, r.id, r.physical
                )),
                // Removed from the config for good: the removal says it all.
                (None, None) => {}
            }
            continue;
        }
        for n in added.iter().filter(|n| n.word == r.word && n.renamed.is_none()) {
            if alike(r, n) {
                out.push(format!(
                    "{} {} ({}) is removed and {} ({}) added with the same settings: if this is a rename, add `renamed_from: {}` to the new {} to keep its resources",
                    r.word,
                    r.id,
                    r.physical,
                    n.id,
                    n.physical,
                    name_of(r),
                    r.word
                ));
            }
        }
    }
    // A `renamed_from` naming nothing the stack has (a typo, or a name never deployed): its
    // resources are new, and the ones it meant to keep are removed.
    for n in added.iter().filter(|n| n.renamed.is_some() && !named.contains(n.id)) {
        let (from, to) = n.renamed.unwrap_or_default();
        let meant: Vec<String> = removed
            .iter()
            .filter(|r| r.word == n.word && r.renamed.is_none())
            .map(|r| format!("`{}`", name_of(r)))
            .collect();
        let guess = if meant.is_empty() { String::new() } else { format!(" (removed: {})", meant.join(", ")) };
        out.push(format!(
            "{} `{to}` is renamed from `{from}`, which the stack does not have: {} ({}) is new; write the name whose resources it should keep{guess}",
            n.word, n.id, n.physical
        ));
    }
    out
}

/// `<system>-<stage>`, from the stack key's alias (`alias/<system>-<stage>`), which every
/// generated template has.
pub(super) fn stage_prefix(t: &BTreeMap<String, Json>) -> Option<String> {
    t.get("EncryptionKeyAlias")?["Properties"]["AliasName"].as_str()?.strip_prefix("alias/").map(str::to_string)
}

/// Two config names with one identity: their physical forms agree (`_` and `-` are one).
fn same(x: &str, y: &str) -> bool {
    x.replace('_', "-") == y.replace('_', "-")
}

/// The old entry's name as `renamed_from` takes it: its physical name without
/// `<system>-<stage>-` and `.fifo` (the whole physical name when the prefix is unknown).
fn old_name(physical: &str, prefix: Option<&str>) -> String {
    let name = prefix.and_then(|p| physical.strip_prefix(p)).and_then(|r| r.strip_prefix('-')).unwrap_or(physical);
    name.trim_end_matches(".fifo").to_string()
}

/// Whether the two resources' properties agree once the old names are written as the new:
/// same shape, and every differing string turns into the other when the old physical name
/// and logical-ID stem are replaced by the new. A function's `Code` follows its handler,
/// whose name usually follows the function's, and its default `Description` is its config
/// name, so neither is compared.
fn alike(r: &Primary, n: &Primary) -> bool {
    let swaps = [(r.physical, n.physical), (r.stem, n.stem)];
    let (mut x, mut y) = (r.properties.clone(), n.properties.clone());
    if r.word == "function" {
        for v in [&mut x, &mut y] {
            if let Some(m) = v.as_object_mut() {
                m.remove("Code");
                m.remove("Description");
            }
        }
    }
    equal_but_names(&x, &y, &swaps)
}

fn equal_but_names(x: &Json, y: &Json, swaps: &[(&str, &str)]) -> bool {
    match (x, y) {
        (Json::Object(p), Json::Object(q)) => {
            p.len() == q.len() && p.iter().all(|(k, v)| q.get(k).is_some_and(|w| equal_but_names(v, w, swaps)))
        }
        (Json::Array(p), Json::Array(q)) => {
            p.len() == q.len() && p.iter().zip(q).all(|(v, w)| equal_but_names(v, w, swaps))
        }
        (Json::String(s), Json::String(t)) if s != t => {
            let mut s = s.clone();
            for (old, new) in swaps.iter().filter(|(old, _)| !old.is_empty()) {
                s = s.replace(old, new);
            }
            &s == t
        }
        _ => x == y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A template's resources, with the stack key's alias every generated template has.
    fn res(v: Json) -> BTreeMap<String, Json> {
        let mut m: BTreeMap<String, Json> =
            v.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let alias = json!({"Type": "AWS::KMS::Alias", "Properties": {"AliasName": "alias/s-dev"}});
        m.insert("EncryptionKeyAlias".into(), alias);
        m
    }

    fn queue(name: &str, stem: &str, retention: u64) -> Json {
        json!({"Type": "AWS::SQS::Queue", "Properties": {"QueueName": format!("s-dev-{name}"), "MessageRetentionPeriod": retention,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [format!("{stem}DeadLetterQueue"), "Arn"]}, "maxReceiveCount": 5}}})
    }

    #[test]
    fn a_look_alike_pair_gets_a_hint_and_different_settings_do_not() {
        let b = res(json!({"VipQueue": queue("vip", "Vip", 60)}));
        let a = res(json!({"VipBuyersQueue": queue("vip-buyers", "VipBuyers", 60)}));
        let h = hints(&b, &a);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h[0].contains("add `renamed_from: vip` to the new queue"), "{h:?}");
        let a = res(json!({"VipBuyersQueue": queue("vip-buyers", "VipBuyers", 120)}));
        assert!(hints(&b, &a).is_empty());
        // The names share a word: the old name is still the whole of it.
        let b = res(json!({"OrderCreatedQueue": queue("order-created", "OrderCreated", 60)}));
        let a = res(json!({"OrderPlacedQueue": queue("order-placed", "OrderPlaced", 60)}));
        assert!(hints(&b, &a)[0].contains("add `renamed_from: order-created`"), "{:?}", hints(&b, &a));
    }

    #[test]
    fn a_renamed_from_that_names_nothing_deployed_is_named_with_what_was_removed() {
        let b = res(json!({"VipQueue": queue("vip", "Vip", 60)}));
        let mut typo = queue("vpi", "Vpi", 60);
        typo["Metadata"] = json!({"flowform": {"renamed": {"from": "vpi", "to": "vip_buyers"}}});
        let h = hints(&b, &res(json!({"VpiQueue": typo})));
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0].contains("renamed from `vpi`, which the stack does not have") && h[0].contains("(removed: `vip`)"),
            "{h:?}"
        );
    }

    #[test]
    fn a_dropped_or_misdirected_renamed_from_is_named() {
        let mut kept = queue("vip", "Vip", 60);
        kept["Metadata"] = json!({"flowform": {"renamed": {"from": "vip", "to": "buyers"}}});
        let b = res(json!({"VipQueue": kept}));
        let h = hints(&b, &res(json!({"BuyersQueue": queue("buyers", "Buyers", 60)})));
        assert!(h[0].contains("queue `buyers` lost `renamed_from: vip`"), "{h:?}");
        let mut again = queue("buyers", "Buyers", 60);
        again["Metadata"] = json!({"flowform": {"renamed": {"from": "buyers", "to": "whales"}}});
        let h = hints(&b, &res(json!({"BuyersQueue": again})));
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h[0].contains("write `renamed_from: vip`"), "{h:?}");
        // Removed for good: no hint beyond the removal.
        assert!(hints(&b, &res(json!({}))).is_empty());
    }
}
