//! A plan as text (the terminal) and as Markdown (the pull-request comment).

use super::{ChangeKind, Plan, Update, Update::*};
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::fmt::Write as _;

fn full(v: &Json) -> String {
    match v {
        Json::Null => "(none)".to_string(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn cut(s: String) -> String {
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(79).collect::<String>())
    } else {
        s
    }
}

/// Both sides of a change, at most 80 characters each: long values that begin alike start
/// shortly before where they differ.
fn pair(before: &Json, after: &Json) -> (String, String) {
    let (x, y) = (full(before), full(after));
    let common = x.chars().zip(y.chars()).take_while(|(a, b)| a == b).count();
    let skip = if x.chars().count() > 80 || y.chars().count() > 80 { common.saturating_sub(20) } else { 0 };
    let from = |s: &str| {
        let rest: String = s.chars().skip(skip).collect();
        cut(if skip > 0 { format!("…{rest}") } else { rest })
    };
    (from(&x), from(&y))
}

/// The differing leaves of two values, as dotted paths (`Environment.Variables.X`); lists of
/// different lengths and values of different kinds count as one leaf.
fn leaf_diffs(path: &str, a: &Json, b: &Json) -> Vec<(String, Json, Json)> {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) if !is_intrinsic(x) && !is_intrinsic(y) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .filter(|k| x.get(*k) != y.get(*k))
                .flat_map(|k| {
                    leaf_diffs(&format!("{path}.{k}"), x.get(k).unwrap_or(&Json::Null), y.get(k).unwrap_or(&Json::Null))
                })
                .collect()
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .filter(|(_, (p, q))| p != q)
            .flat_map(|(i, (p, q))| leaf_diffs(&format!("{path}[{i}]"), p, q))
            .collect(),
        _ => vec![(path.to_string(), a.clone(), b.clone())],
    }
}

fn is_intrinsic(m: &serde_json::Map<String, Json>) -> bool {
    m.len() == 1 && m.keys().next().is_some_and(|k| k == "Ref" || k.starts_with("Fn::"))
}

fn update_word(u: Option<Update>) -> &'static str {
    match u {
        Some(Replacement) => "REPLACED",
        Some(Interruption) => "updated with interruption",
        Some(InPlace) => "updated in place",
        None => "",
    }
}

/// Terminal text.
pub fn text(p: &Plan) -> String {
    let mut o = String::new();
    if p.changes.is_empty() && p.parameters.is_empty() && p.weakened.is_empty() && p.renamed.is_empty() {
        o.push_str("no changes\n");
        return o;
    }
    for c in &p.changes {
        let head = match c.kind {
            ChangeKind::Added => format!("+ {} ({})", c.logical_id, c.resource_type),
            ChangeKind::Removed => format!("- {} ({})", c.logical_id, c.resource_type),
            ChangeKind::Modified => format!("~ {} ({}): {}", c.logical_id, c.resource_type, update_word(c.update)),
        };
        let _ = writeln!(o, "{}{head}", if c.destructive { "!" } else { " " });
        for pc in &c.properties {
            let tag = if pc.update == Replacement { "  [replacement]" } else { "" };
            if c.resource_type == "AWS::IAM::Role" && pc.property == "Policies" {
                let _ = writeln!(o, "      Policies: changed (in words under permissions){tag}");
                continue;
            }
            for (path, before, after) in leaf_diffs(&pc.property, &pc.before, &pc.after) {
                let (x, y) = pair(&before, &after);
                let _ = writeln!(o, "      {path}: {x} -> {y}{tag}");
            }
        }
        if let Some(cq) = c.consequence.map(|c| c.text()) {
            let _ = writeln!(o, "      => {cq}");
        }
        if !c.dragged.is_empty() {
            let _ = writeln!(o, "      drags along (they reference its new ARN or name):");
        }
        for d in &c.dragged {
            let via = if d.because_of == c.logical_id { String::new() } else { format!(", through {}", d.because_of) };
            let own = if d.own_entry { "; replaced by its own change, listed on its own" } else { "" };
            let _ = writeln!(
                o,
                "     {}~ {} ({}): {} ({}{via}{own})",
                if d.loss.is_some() { "!" } else { " " },
                d.logical_id,
                d.resource_type,
                update_word(Some(d.update)),
                d.properties.join(", ")
            );
            if let Some(loss) = d.loss {
                let _ = writeln!(o, "          => replaced: {loss}");
            }
        }
    }
    for (title, items) in [
        ("permissions", &p.permissions),
        ("deliveries", &p.deliveries),
        ("parameters", &p.parameters),
        ("routes", &p.routes),
        ("schedules", &p.schedules),
        ("encryption and TLS weakened", &p.weakened),
        ("renamed (resources kept)", &p.renamed),
        ("hints", &p.hints),
    ] {
        if !items.is_empty() {
            let _ = writeln!(o, "{title}:");
            for i in items {
                let _ = writeln!(o, "  - {i}");
            }
        }
    }
    let (add, rem, modi) = counts(p);
    let _ = writeln!(
        o,
        "{add} to add, {modi} to change, {rem} to remove{}{}",
        dragged_count(p),
        if p.destructive() { "; DESTRUCTIVE changes marked with !" } else { "" }
    );
    o
}

/// ", and N more replaced or updated with them" for what replacements drag along.
fn dragged_count(p: &Plan) -> String {
    let ids: BTreeSet<&str> =
        p.changes.iter().flat_map(|c| &c.dragged).filter(|d| !d.own_entry).map(|d| d.logical_id.as_str()).collect();
    let listed: BTreeSet<&str> = p.changes.iter().map(|c| c.logical_id.as_str()).collect();
    match ids.difference(&listed).count() {
        0 => String::new(),
        n => format!(", and {n} more updated or replaced with what they reference"),
    }
}

fn counts(p: &Plan) -> (usize, usize, usize) {
    let n = |k: ChangeKind| p.changes.iter().filter(|c| c.kind == k).count();
    (n(ChangeKind::Added), n(ChangeKind::Removed), n(ChangeKind::Modified))
}

/// Markdown for a pull-request comment.
pub fn markdown(p: &Plan, title: &str) -> String {
    let mut o = format!("### {title}\n\n");
    if p.changes.is_empty() && p.parameters.is_empty() && p.weakened.is_empty() && p.renamed.is_empty() {
        o.push_str("No changes to the stack.\n");
        return o;
    }
    let (add, rem, modi) = counts(p);
    let _ = writeln!(
        o,
        "{add} to add, {modi} to change, {rem} to remove{}.{}\n",
        dragged_count(p),
        if p.destructive() { " **Destructive changes below need an explicit acknowledgement.**" } else { "" }
    );
    o.push_str("| | resource | type | update | consequence |\n|---|---|---|---|---|\n");
    for c in &p.changes {
        let mark = match c.kind {
            ChangeKind::Added => "➕",
            ChangeKind::Removed => "➖",
            ChangeKind::Modified => "✏️",
        };
        let update = match c.kind {
            ChangeKind::Modified => {
                let props: Vec<String> = c.properties.iter().map(|pc| format!("`{}`", pc.property)).collect();
                format!("{} ({})", update_word(c.update), props.join(", "))
            }
            ChangeKind::Added => "added".into(),
            ChangeKind::Removed => "removed".into(),
        };
        let mut cq = c.consequence.map(|c| c.text()).unwrap_or_default();
        if !c.dragged.is_empty() {
            let list: Vec<String> = c
                .dragged
                .iter()
                .map(|d| {
                    let loss = d.loss.map_or(String::new(), |l| format!(": {l}"));
                    let own = if d.own_entry { " (its own row)" } else { "" };
                    format!("`{}` {}{own}{loss}", d.logical_id, update_word(Some(d.update)))
                })
                .collect();
            cq = format!("{cq}{}drags along {}", if cq.is_empty() { "" } else { "; " }, list.join(", "));
        }
        let cq = cq.replace('|', "\\|");
        let _ = writeln!(
            o,
            "| {}{mark} | `{}` | {} | {update} | {cq} |",
            if c.destructive { "⚠️" } else { "" },
            c.logical_id,
            c.resource_type
        );
    }
    for (title, items) in [
        ("Permissions", &p.permissions),
        ("Deliveries", &p.deliveries),
        ("Parameters", &p.parameters),
        ("Routes", &p.routes),
        ("Schedules", &p.schedules),
        ("Encryption and TLS weakened", &p.weakened),
        ("Renamed (resources kept)", &p.renamed),
        ("Hints", &p.hints),
    ] {
        if !items.is_empty() {
            let _ = writeln!(o, "\n**{title}**\n");
            for i in items {
                let _ = writeln!(o, "- {i}");
            }
        }
    }
    o
}
