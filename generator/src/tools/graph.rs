//! The topology as a diagram: routes and schedules -> functions -> topics -> filtered
//! subscriptions -> queues -> DLQs -> functions -> email, databases, external endpoints.
//! Mermaid (renders on GitHub) and Graphviz DOT, both deterministic (model order is name order).

use crate::model::{FilterScope, System, Trigger};
use std::fmt::Write as _;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    Route,
    Schedule,
    Function,
    Topic,
    Queue,
    Dlq,
    Database,
    External,
    Email,
}

struct Node {
    id: String,
    label: String,
    shape: Shape,
}

struct Edge {
    from: String,
    to: String,
    label: String,
    dashed: bool,
}

fn id(kind: &str, name: &str) -> String {
    let clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("{kind}_{clean}")
}

/// A short, readable filter label: `quantity >= 100`, `plan: paid | prefix team-`.
fn filter_label(f: &serde_json::Value, scope: FilterScope) -> String {
    let mut parts = Vec::new();
    if let serde_json::Value::Object(m) = f {
        for (k, v) in m {
            let conds: Vec<String> = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|c| match c {
                            serde_json::Value::Object(o) => o
                                .iter()
                                .map(|(op, arg)| match (op.as_str(), arg) {
                                    ("numeric", serde_json::Value::Array(x)) => x
                                        .chunks(2)
                                        .map(|p| {
                                            format!(
                                                "{} {}",
                                                p[0].as_str().unwrap_or("?"),
                                                p.get(1).map(|n| n.to_string()).unwrap_or_default()
                                            )
                                        })
                                        .collect::<Vec<_>>()
                                        .join(" and "),
                                    (op, arg) => format!(
                                        "{op} {}",
                                        arg.as_str().map(String::from).unwrap_or_else(|| arg.to_string())
                                    ),
                                })
                                .collect::<Vec<_>>()
                                .join(", "),
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_else(|| vec![v.to_string()]);
            let joined = conds.join(" | ");
            if joined.starts_with(['<', '>', '=']) {
                parts.push(format!("{k} {joined}"));
            } else {
                parts.push(format!("{k}: {joined}"));
            }
        }
    }
    let scope = match scope {
        FilterScope::Attributes => "",
        FilterScope::Body => "body ",
    };
    format!("{scope}{}", parts.join("; "))
}

fn build(sys: &System) -> (Vec<Node>, Vec<Edge>) {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let edge = |edges: &mut Vec<Edge>, from: &str, to: &str, label: &str, dashed: bool| {
        edges.push(Edge { from: from.into(), to: to.into(), label: label.into(), dashed });
    };
    for f in &sys.functions {
        if let Trigger::Http { auth, routes } = &f.trigger {
            for r in routes {
                let rid = id("route", &r.key());
                nodes.push(Node {
                    id: rid.clone(),
                    label: format!("{} ({})", r.key(), auth.as_str()),
                    shape: Shape::Route,
                });
                edge(&mut edges, &rid, &id("fn", &f.name), "", false);
            }
        }
        if let Trigger::Schedule { expression, .. } = &f.trigger {
            let sid = id("schedule", &f.name);
            nodes.push(Node { id: sid.clone(), label: format!("schedule: {expression}"), shape: Shape::Schedule });
            edge(&mut edges, &sid, &id("fn", &f.name), "", false);
        }
    }
    for f in &sys.functions {
        let label = match f.reserved_concurrency {
            Some(rc) => format!("{} · {}s · rc {rc}", f.name, f.timeout),
            None => format!("{} · {}s", f.name, f.timeout),
        };
        nodes.push(Node { id: id("fn", &f.name), label, shape: Shape::Function });
        if let Trigger::Schedule { retries, .. } = &f.trigger {
            let did = id("fndlq", &f.name);
            nodes.push(Node { id: did.clone(), label: format!("{} DLQ", f.name), shape: Shape::Dlq });
            edge(&mut edges, &id("fn", &f.name), &did, &crate::cfn::retry_words(*retries), true);
        }
        for t in &f.publishes {
            edge(&mut edges, &id("fn", &f.name), &id("topic", t), "publishes", false);
        }
        for d in &f.databases {
            edge(&mut edges, &id("fn", &f.name), &id("db", d), "", false);
        }
        for e in &f.endpoints {
            edge(&mut edges, &id("fn", &f.name), &id("ext", e), "", false);
        }
        for e in &f.emails {
            edge(&mut edges, &id("fn", &f.name), &id("email", e), "emails", false);
        }
    }
    for t in &sys.topics {
        nodes.push(Node {
            id: id("topic", &t.name),
            label: format!("{}{}", t.name, if t.fifo { " (FIFO)" } else { "" }),
            shape: Shape::Topic,
        });
    }
    for q in &sys.queues {
        let qid = id("queue", &q.name);
        nodes.push(Node {
            id: qid.clone(),
            label: format!("{}{} · vt {}s", q.name, if q.fifo { " (FIFO)" } else { "" }, q.visibility_timeout),
            shape: Shape::Queue,
        });
        for s in &q.subscriptions {
            let mut label = s.filter.as_ref().map(|f| filter_label(f, s.filter_scope)).unwrap_or_default();
            if s.raw {
                label = if label.is_empty() { "raw".into() } else { format!("{label} · raw") };
            }
            edge(&mut edges, &id("topic", &s.topic), &qid, &label, false);
        }
        if let Some(d) = &q.dlq {
            let did = id("dlq", &q.name);
            nodes.push(Node { id: did.clone(), label: format!("{} DLQ", q.name), shape: Shape::Dlq });
            edge(&mut edges, &qid, &did, &format!("after {} receives", d.max_receives), true);
        }
        if let Some(c) = &q.consumer {
            if let Some(Trigger::Queue { batch_size, .. }) = sys.function(c).map(|f| &f.trigger) {
                edge(&mut edges, &qid, &id("fn", c), &format!("batch {batch_size}"), false);
            }
        }
    }
    for d in &sys.databases {
        nodes.push(Node { id: id("db", &d.name), label: format!("{} DB", d.name), shape: Shape::Database });
    }
    for e in &sys.endpoints {
        nodes.push(Node { id: id("ext", &e.name), label: e.name.clone(), shape: Shape::External });
    }
    for e in &sys.emails {
        nodes.push(Node { id: id("email", &e.name), label: format!("SES {}", e.identity), shape: Shape::Email });
    }
    (nodes, edges)
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

/// Mermaid flowchart (GitHub renders ```mermaid blocks and .mmd files).
pub fn mermaid(sys: &System) -> String {
    let (nodes, edges) = build(sys);
    let mut out = format!("%% {} ({}): generated by flowform from flowform.yaml\nflowchart LR\n", sys.name, sys.stage);
    for n in &nodes {
        let l = mermaid_text(&n.label);
        let shape = match n.shape {
            Shape::Route => format!("([\"{l}\"])"),
            Shape::Schedule => format!("((\"{l}\"))"),
            Shape::Function => format!("[\"{l}\"]"),
            Shape::Topic => format!("{{{{\"{l}\"}}}}"),
            Shape::Queue => format!("[/\"{l}\"/]"),
            Shape::Dlq => format!("[\\\"{l}\"\\]"),
            Shape::Database => format!("[(\"{l}\")]"),
            Shape::External | Shape::Email => format!(">\"{l}\"]"),
        };
        let _ = writeln!(out, "  {}{shape}", n.id);
    }
    for e in &edges {
        let arrow = if e.dashed { "-.->" } else { "-->" };
        if e.label.is_empty() {
            let _ = writeln!(out, "  {} {arrow} {}", e.from, e.to);
        } else {
            let _ = writeln!(out, "  {} {arrow}|\"{}\"| {}", e.from, mermaid_text(&e.label), e.to);
        }
    }
    out
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT.
pub fn dot(sys: &System) -> String {
    let (nodes, edges) = build(sys);
    let mut out = format!("// {} ({}): generated by flowform from flowform.yaml\ndigraph \"{}\" {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n", sys.name, sys.stage, dot_text(&sys.prefix()));
    for n in &nodes {
        let attrs = match n.shape {
            Shape::Route => "shape=oval",
            Shape::Schedule => "shape=oval, style=dashed",
            Shape::Function => "shape=box, style=rounded",
            Shape::Topic => "shape=hexagon",
            Shape::Queue => "shape=parallelogram",
            Shape::Dlq => "shape=parallelogram, style=dashed",
            Shape::Database => "shape=cylinder",
            Shape::External | Shape::Email => "shape=cds",
        };
        let _ = writeln!(out, "  {} [label=\"{}\", {attrs}];", n.id, dot_text(&n.label));
    }
    for e in &edges {
        let mut attrs = Vec::new();
        if !e.label.is_empty() {
            attrs.push(format!("label=\"{}\"", dot_text(&e.label)));
        }
        if e.dashed {
            attrs.push("style=dashed".into());
        }
        if attrs.is_empty() {
            let _ = writeln!(out, "  {} -> {};", e.from, e.to);
        } else {
            let _ = writeln!(out, "  {} -> {} [{}];", e.from, e.to, attrs.join(", "));
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filter_labels_read_like_conditions() {
        assert_eq!(
            filter_label(&json!({"quantity": [{"numeric": [">=", 100]}]}), FilterScope::Attributes),
            "quantity >= 100"
        );
        assert_eq!(
            filter_label(&json!({"plan": ["paid", {"prefix": "team-"}]}), FilterScope::Body),
            "body plan: paid | prefix team-"
        );
    }
}
