//! The topology as a diagram: routes and schedules -> functions -> topics -> filtered
//! subscriptions -> queues -> DLQs -> functions -> email, databases, external endpoints.
//! Mermaid (renders on GitHub) and Graphviz DOT, both deterministic (model order is name order).
//! A stage split into nested stacks names each function's template in its label.

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
    Alarm,
    Database,
    Secret,
    AwsService,
    External,
}

impl Shape {
    /// Every shape, in legend order, with its name in the legend.
    const ALL: [(Shape, &'static str); 11] = [
        (Shape::Route, "HTTP route"),
        (Shape::Schedule, "schedule"),
        (Shape::Function, "Lambda function"),
        (Shape::Topic, "SNS topic"),
        (Shape::Queue, "SQS queue"),
        (Shape::Dlq, "dead-letter queue"),
        (Shape::Alarm, "CloudWatch alarm"),
        (Shape::Database, "database"),
        (Shape::Secret, "secret"),
        (Shape::AwsService, "AWS service"),
        (Shape::External, "external system"),
    ];

    /// The Mermaid class (and DOT fill colour) of the shape.
    fn class(self) -> (&'static str, &'static str) {
        match self {
            Shape::Route | Shape::Schedule => ("entry", "#e3f2fd"),
            Shape::Function => ("function", "#fff3e0"),
            Shape::Topic => ("topic", "#f3e5f5"),
            Shape::Queue => ("queue", "#e8f5e9"),
            Shape::Dlq | Shape::Alarm => ("failure", "#ffebee"),
            Shape::Database | Shape::Secret => ("store", "#eceff1"),
            Shape::AwsService => ("aws", "#fffde7"),
            Shape::External => ("external", "#fafafa"),
        }
    }
}

/// The column a node is drawn in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Group {
    Entry,
    Functions,
    Messaging,
    Data,
    Services,
    External,
}

impl Group {
    const ALL: [Group; 6] =
        [Group::Entry, Group::Functions, Group::Messaging, Group::Data, Group::Services, Group::External];

    fn of(shape: Shape) -> Group {
        match shape {
            Shape::Route | Shape::Schedule => Group::Entry,
            Shape::Function => Group::Functions,
            Shape::Topic | Shape::Queue | Shape::Dlq | Shape::Alarm => Group::Messaging,
            Shape::Database | Shape::Secret => Group::Data,
            Shape::AwsService => Group::Services,
            Shape::External => Group::External,
        }
    }

    fn id(self) -> &'static str {
        match self {
            Group::Entry => "entry",
            Group::Functions => "functions",
            Group::Messaging => "messaging",
            Group::Data => "data",
            Group::Services => "services",
            Group::External => "external",
        }
    }

    fn title(self, sys: &System) -> String {
        match self {
            Group::Entry => match &sys.http {
                Some(h) => format!(
                    "Entry: HTTP API (throttle {}/s, burst {}) and schedules",
                    h.throttle_rate, h.throttle_burst
                ),
                None => "Entry: schedules".into(),
            },
            Group::Functions => "Functions".into(),
            Group::Messaging => "Messaging".into(),
            Group::Data => "Data".into(),
            Group::Services => "AWS services".into(),
            Group::External => "External systems".into(),
        }
    }
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
                    label: match (f.route_throttle, &sys.http) {
                        (Some(t), Some(h)) => format!(
                            "{} ({} · {}/s, burst {})",
                            r.key(),
                            auth.as_str(),
                            t.rate.unwrap_or(h.throttle_rate),
                            t.burst.unwrap_or(h.throttle_burst)
                        ),
                        _ => format!("{} ({})", r.key(), auth.as_str()),
                    },
                    shape: Shape::Route,
                });
                edge(&mut edges, &rid, &id("fn", &f.name), "", false);
            }
        }
        if let Trigger::Schedule { expression, .. } = &f.trigger {
            let sid = id("schedule", &f.name);
            nodes.push(Node { id: sid.clone(), label: format!("schedule {expression}"), shape: Shape::Schedule });
            edge(&mut edges, &sid, &id("fn", &f.name), "", false);
        }
    }
    for f in &sys.functions {
        let mut label = match f.reserved_concurrency {
            Some(rc) => format!("{} · timeout {} s · concurrency {rc}", f.name, f.timeout),
            None => format!("{} · timeout {} s", f.name, f.timeout),
        };
        // Nested stacks: the template that holds the function (and its queue and routes).
        if let Some(n) = sys.nested_stacks {
            let _ = write!(label, " · {}", crate::split::file_of(f, n));
        }
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
            edge(&mut edges, &id("fn", &f.name), &id("db", d), "reads and writes", false);
        }
        for s in &f.secrets {
            edge(&mut edges, &id("fn", &f.name), &id("secret", s), "reads", false);
        }
        for e in &f.endpoints {
            edge(&mut edges, &id("fn", &f.name), &id("ext", e), "calls", false);
        }
        // A callback route the function hands out: with one endpoint, that system calls it
        // back; otherwise the caller is not known, so the edge starts at the function. The
        // signature is by the secrets the function shares with the route's owner.
        for c in &f.callbacks {
            let owner =
                sys.functions.iter().find(|g| matches!(&g.trigger, Trigger::Http { routes, .. } if routes.contains(c)));
            let shared: Vec<&str> =
                f.secrets.iter().filter(|s| owner.is_some_and(|o| o.secrets.contains(s))).map(String::as_str).collect();
            let signed = if shared.is_empty() { String::new() } else { format!(", signed with {}", shared.join(", ")) };
            match f.endpoints.as_slice() {
                [one] => {
                    edge(&mut edges, &id("ext", one), &id("route", &c.key()), &format!("calls back{signed}"), true)
                }
                _ => {
                    edge(&mut edges, &id("fn", &f.name), &id("route", &c.key()), &format!("callback URL{signed}"), true)
                }
            }
        }
        for e in &f.emails {
            edge(&mut edges, &id("fn", &f.name), &id("email", e), "emails", false);
        }
    }
    for t in &sys.topics {
        nodes.push(Node {
            id: id("topic", &t.name),
            label: format!(
                "{}{}{}",
                t.name,
                if t.fifo { " (FIFO)" } else { "" },
                match (&t.imported, t.export.any()) {
                    (Some(i), _) => format!(" · of {}", i.system),
                    (None, true) => " · exported".to_string(),
                    (None, false) => String::new(),
                }
            ),
            shape: Shape::Topic,
        });
    }
    for q in &sys.queues {
        let qid = id("queue", &q.name);
        nodes.push(Node {
            id: qid.clone(),
            label: format!("{}{} · visibility {} s", q.name, if q.fifo { " (FIFO)" } else { "" }, q.visibility_timeout),
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
    // Every dead-letter queue alarms (messages visible > 0) to the alarm topic's email.
    let dlqs: Vec<String> = nodes.iter().filter(|n| n.shape == Shape::Dlq).map(|n| n.id.clone()).collect();
    if !dlqs.is_empty() {
        nodes.push(Node { id: "alarm".into(), label: "DLQ not empty → AlarmEmail".into(), shape: Shape::Alarm });
        for d in dlqs {
            edge(&mut edges, &d, "alarm", "", true);
        }
    }
    for d in &sys.databases {
        nodes.push(Node { id: id("db", &d.name), label: format!("{} database", d.name), shape: Shape::Database });
    }
    for s in &sys.secrets {
        let label = if s.existing { format!("{} (existing)", s.name) } else { s.name.clone() };
        nodes.push(Node { id: id("secret", &s.name), label, shape: Shape::Secret });
    }
    for e in &sys.endpoints {
        nodes.push(Node { id: id("ext", &e.name), label: e.name.clone(), shape: Shape::External });
    }
    for e in &sys.emails {
        nodes.push(Node { id: id("email", &e.name), label: format!("SES {}", e.identity), shape: Shape::AwsService });
    }
    (nodes, edges)
}

fn mermaid_text(s: &str) -> String {
    s.replace('#', "#35;").replace('"', "#quot;")
}

/// Mermaid flowchart (GitHub renders ```mermaid blocks and .mmd files): one column per
/// group, a colour per kind, and a legend of the shapes used.
pub fn mermaid(sys: &System) -> String {
    let (nodes, edges) = build(sys);
    let mut out = format!(
        "%% {} ({}): generated by flowform from {}\nflowchart LR\n",
        sys.name,
        sys.stage,
        crate::render::comment(&sys.source)
    );
    let shape_of = |shape: Shape, l: &str| match shape {
        Shape::Route => format!("([\"{l}\"])"),
        Shape::Schedule => format!("((\"{l}\"))"),
        Shape::Function => format!("[\"{l}\"]"),
        Shape::Topic => format!("{{{{\"{l}\"}}}}"),
        Shape::Queue => format!("[/\"{l}\"/]"),
        Shape::Dlq => format!("[\\\"{l}\"\\]"),
        Shape::Alarm => format!(">\"{l}\"]"),
        Shape::Database => format!("[(\"{l}\")]"),
        Shape::Secret => format!("[/\"{l}\"\\]"),
        Shape::AwsService => format!("[[\"{l}\"]]"),
        Shape::External => format!("(\"{l}\")"),
    };
    for g in Group::ALL {
        let members: Vec<&Node> = nodes.iter().filter(|n| Group::of(n.shape) == g).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  subgraph {}[\"{}\"]", g.id(), mermaid_text(&g.title(sys)));
        for n in members {
            let _ = writeln!(out, "    {}{}", n.id, shape_of(n.shape, &mermaid_text(&n.label)));
        }
        out.push_str("  end\n");
    }
    for e in &edges {
        let arrow = if e.dashed { "-.->" } else { "-->" };
        if e.label.is_empty() {
            let _ = writeln!(out, "  {} {arrow} {}", e.from, e.to);
        } else {
            let _ = writeln!(out, "  {} {arrow}|\"{}\"| {}", e.from, mermaid_text(&e.label), e.to);
        }
    }
    // The legend: one node per shape the diagram uses, named `legend_<n>`.
    let used: Vec<(Shape, &str)> =
        Shape::ALL.into_iter().filter(|(s, _)| nodes.iter().any(|n| n.shape == *s)).collect();
    out.push_str("  subgraph legend[\"Legend\"]\n");
    for (i, (shape, name)) in used.iter().enumerate() {
        let _ = writeln!(out, "    legend_{i}{}", shape_of(*shape, name));
    }
    out.push_str("  end\n");
    let mut classes: Vec<(&str, &str)> = Vec::new();
    for (shape, _) in Shape::ALL {
        if !classes.contains(&shape.class()) {
            classes.push(shape.class());
        }
    }
    for (class, fill) in classes {
        let members: Vec<String> = nodes
            .iter()
            .filter(|n| n.shape.class().0 == class)
            .map(|n| n.id.clone())
            .chain(
                used.iter().enumerate().filter(|(_, (s, _))| s.class().0 == class).map(|(i, _)| format!("legend_{i}")),
            )
            .collect();
        if !members.is_empty() {
            let _ = writeln!(out, "  classDef {class} fill:{fill},stroke:#555");
            let _ = writeln!(out, "  class {} {class}", members.join(","));
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
    let mut out = format!("// {} ({}): generated by flowform from {}\ndigraph \"{}\" {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n", sys.name, sys.stage, crate::render::comment(&sys.source), dot_text(&sys.prefix()));
    for g in Group::ALL {
        let members: Vec<&Node> = nodes.iter().filter(|n| Group::of(n.shape) == g).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  subgraph cluster_{} {{\n    label=\"{}\";", g.id(), dot_text(&g.title(sys)));
        for n in members {
            let (shape, style) = match n.shape {
                Shape::Route => ("oval", "filled"),
                Shape::Schedule => ("oval", "filled,dashed"),
                Shape::Function => ("box", "filled,rounded"),
                Shape::Topic => ("hexagon", "filled"),
                Shape::Queue => ("parallelogram", "filled"),
                Shape::Dlq => ("parallelogram", "filled,dashed"),
                Shape::Alarm => ("cds", "filled"),
                Shape::Database => ("cylinder", "filled"),
                Shape::Secret => ("trapezium", "filled"),
                Shape::AwsService => ("component", "filled"),
                Shape::External => ("box", "filled,dotted"),
            };
            let _ = writeln!(
                out,
                "    {} [label=\"{}\", shape={shape}, style=\"{style}\", fillcolor=\"{}\"];",
                n.id,
                dot_text(&n.label),
                n.shape.class().1
            );
        }
        out.push_str("  }\n");
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
