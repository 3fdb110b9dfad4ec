//! Parse rendered templates back and check them before anything is written: valid YAML,
//! canonical section and attribute order, every Ref/GetAtt/Sub target exists, within
//! CloudFormation's resource limit. A failure here is a flowform bug, not a config problem.

mod scan;
pub use scan::scan;
pub(crate) use scan::{quoted_end, token_start};

use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

pub const SECTION_ORDER: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Mappings",
    "Conditions",
    "Resources",
    "Outputs",
];
pub const RESOURCE_KEY_ORDER: &[&str] =
    &["Type", "Condition", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy", "Metadata", "Properties"];

/// What a verified template contains (used by tests and `plan`-like tooling).
#[derive(Debug)]
pub struct Verified {
    pub resources: Vec<(String, String)>,
    pub parameters: Vec<String>,
}

pub fn verify(text: &str, resource_limit: usize) -> Result<Verified, Vec<String>> {
    let doc: Value =
        serde_yaml::from_str(text).map_err(|e| vec![format!("rendered template is not valid YAML: {e}")])?;
    let mut problems = Vec::new();
    let Value::Mapping(top) = &doc else {
        return Err(vec!["rendered template is not a mapping".into()]);
    };
    let keys: Vec<String> = top.keys().filter_map(|k| k.as_str().map(String::from)).collect();
    check_order(&keys, SECTION_ORDER, "template sections", &mut problems);

    let mut params = Vec::new();
    if let Some(Value::Mapping(p)) = top.get("Parameters") {
        params = p.keys().filter_map(|k| k.as_str().map(String::from)).collect();
    }
    let mut resources = Vec::new();
    match top.get("Resources") {
        Some(Value::Mapping(r)) => {
            for (k, v) in r {
                let id = k.as_str().unwrap_or_default().to_string();
                let Value::Mapping(body) = v else {
                    problems.push(format!("resource {id} is not a mapping"));
                    continue;
                };
                let rkeys: Vec<String> = body.keys().filter_map(|k| k.as_str().map(String::from)).collect();
                check_order(&rkeys, RESOURCE_KEY_ORDER, &format!("attributes of {id}"), &mut problems);
                let ty = body.get("Type").and_then(Value::as_str).unwrap_or_default().to_string();
                if ty.is_empty() {
                    problems.push(format!("resource {id} has no Type"));
                }
                resources.push((id, ty));
            }
        }
        _ => problems.push("template has no Resources".into()),
    }
    if resources.len() > resource_limit {
        problems.push(format!("{} resources; the limit is {resource_limit}", resources.len()));
    }
    let ids: BTreeSet<&str> = resources.iter().map(|(id, _)| id.as_str()).collect();
    if ids.len() != resources.len() {
        problems.push("duplicate logical IDs".into());
    }
    let params_set: BTreeSet<&str> = params.iter().map(String::as_str).collect();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for (kind, target) in refs {
        let ok = match kind {
            "GetAtt" => ids.contains(target),
            _ => ids.contains(target) || params_set.contains(target) || target.starts_with("AWS::"),
        };
        if !ok {
            problems.push(format!("{kind} to `{target}`, which the template does not define"));
        }
    }
    if let Some(cycle) = find_cycle(&doc) {
        problems.push(format!("circular dependency: {}", cycle.join(" -> ")));
    }
    if problems.is_empty() {
        Ok(Verified { resources, parameters: params })
    } else {
        Err(problems)
    }
}

/// A dependency cycle between resources (through Ref, GetAtt, Sub or DependsOn), if any.
fn find_cycle(doc: &Value) -> Option<Vec<String>> {
    let Some(Value::Mapping(res)) = doc.get("Resources") else { return None };
    let ids: BTreeSet<&str> = res.keys().filter_map(|k| k.as_str()).collect();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (k, v) in res {
        let id = k.as_str().unwrap_or_default();
        let mut refs = Vec::new();
        collect_refs(v, &mut refs);
        let mut deps: BTreeSet<&str> = refs.into_iter().map(|(_, t)| t).filter(|t| ids.contains(t)).collect();
        match v.get("DependsOn") {
            Some(Value::String(d)) => {
                deps.insert(d);
            }
            Some(Value::Sequence(ds)) => deps.extend(ds.iter().filter_map(|d| d.as_str())),
            _ => {}
        }
        edges.insert(id, deps);
    }
    cycle_in(&edges)
}

/// A cycle in a dependency graph (resource -> what it depends on), if any: the first one a
/// depth-first search meets, visiting resources and their dependencies in name order.
fn cycle_in(edges: &BTreeMap<&str, BTreeSet<&str>>) -> Option<Vec<String>> {
    // 0 = unvisited, 1 = on the stack, 2 = done.
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        state.insert(n, 1);
        stack.push(n);
        for &d in edges.get(n).into_iter().flatten() {
            match state.get(d).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|s| *s == d).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                    cycle.push(d.to_string());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(d, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n, 2);
        None
    }
    let mut state = BTreeMap::new();
    for &id in edges.keys() {
        if state.get(id).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(id, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// A template as JSON, with `!Ref X` -> `{"Ref": "X"}`, `!GetAtt X.Y` ->
/// `{"Fn::GetAtt": ["X", "Y"]}`, `!Sub s` -> `{"Fn::Sub": s}` (the long form).
pub fn template_json(text: &str) -> Result<serde_json::Value, String> {
    let v: Value = serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    Ok(to_json(&v))
}

fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Number(n) => serde_json::to_value(n).unwrap_or(serde_json::Value::Null),
        Value::String(s) => json!(s),
        Value::Sequence(s) => serde_json::Value::Array(s.iter().map(to_json).collect()),
        Value::Mapping(m) => serde_json::Value::Object(
            m.iter().map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), to_json(v))).collect(),
        ),
        Value::Tagged(t) => {
            let inner = to_json(&t.value);
            match t.tag.to_string().as_str() {
                "!Ref" => json!({ "Ref": inner }),
                "!Sub" => json!({ "Fn::Sub": inner }),
                "!GetAtt" => {
                    let s = inner.as_str().unwrap_or_default();
                    let (a, b) = s.split_once('.').unwrap_or((s, ""));
                    json!({ "Fn::GetAtt": [a, b] })
                }
                other => json!({ format!("Fn::{}", other.trim_start_matches('!')): inner }),
            }
        }
    }
}

fn check_order<K: AsRef<str>>(keys: &[K], order: &[&str], what: &str, problems: &mut Vec<String>) {
    let mut last = 0;
    for k in keys.iter().map(AsRef::as_ref) {
        match order.iter().position(|o| *o == k) {
            Some(i) if i >= last => last = i,
            Some(_) => problems.push(format!("{what}: `{k}` is out of canonical order")),
            None => problems.push(format!("{what}: unexpected key `{k}`")),
        }
    }
}

/// Every (intrinsic, target logical id) pair in the document, in short or long form.
pub fn collect_refs<'a>(v: &'a Value, out: &mut Vec<(&'static str, &'a str)>) {
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            match (tag.as_str(), &t.value) {
                ("!Ref", Value::String(s)) => out.push(("Ref", s)),
                ("!GetAtt", Value::String(s)) => out.push(("GetAtt", s.split('.').next().unwrap_or_default())),
                ("!Sub", Value::String(s)) => sub_refs(s, out),
                _ => collect_refs(&t.value, out),
            }
        }
        Value::Mapping(m) => {
            if m.len() == 1 {
                if let Some(Value::String(s)) = m.get("Ref") {
                    out.push(("Ref", s));
                    return;
                }
                if let Some(Value::Sequence(p)) = m.get("Fn::GetAtt") {
                    if let Some(Value::String(s)) = p.first() {
                        out.push(("GetAtt", s));
                    }
                    return;
                }
                if let Some(Value::String(s)) = m.get("Fn::Sub") {
                    sub_refs(s, out);
                    return;
                }
            }
            for (_, val) in m {
                collect_refs(val, out);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn sub_refs<'a>(s: &'a str, out: &mut Vec<(&'static str, &'a str)>) {
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            out.push(("Sub", name.split('.').next().unwrap_or_default()));
        }
        rest = &after[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_reported() {
        let t = "Resources:\n  A:\n    Type: X\n    Properties: { P: !GetAtt B.Arn }\n  B:\n    Type: X\n    Properties: { P: !Sub \"${A}\" }\n";
        assert_eq!(verify(t, 500).unwrap_err(), vec!["circular dependency: A -> B -> A".to_string()]);
    }

    #[test]
    fn dangling_refs_and_order_are_reported() {
        let t = "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  A:\n    Properties: {}\n    Type: X\n  B:\n    Type: Y\n    Properties:\n      P: !Ref C\n      Q: !Sub \"${A.Arn}-${AWS::Region}-${D}-${!Literal}\"\n";
        let errs = verify(t, 500).unwrap_err();
        assert_eq!(
            errs,
            vec![
                "attributes of A: `Type` is out of canonical order".to_string(),
                "Ref to `C`, which the template does not define".to_string(),
                "Sub to `D`, which the template does not define".to_string(),
            ]
        );
    }
}
