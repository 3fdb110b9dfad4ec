//! The fast verifier: the checks of [`super::verify`] (canonical section and attribute order,
//! a Type on every resource, unique logical IDs, every Ref/GetAtt/Sub target defined, no
//! dependency cycle, the resource limit) read from the rendered text line by line, without
//! building a YAML tree. It relies on the layout the templates and the `yaml` filter write:
//! block mappings indented by two spaces, sections at column 0, resources at 2, their
//! attributes at 4, intrinsics in short form (`!Ref X`, `!GetAtt X.Y`, `!Sub "..."`), strings
//! plain or JSON-quoted. It does not prove the text is YAML: [`super::verify`] does, in debug
//! builds, in `flowform check` and in the tests, which also hold the two to the same verdicts.

use super::{check_order, cycle_in, sub_refs, Verified, RESOURCE_KEY_ORDER, SECTION_ORDER};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

struct Resource<'a> {
    id: &'a str,
    ty: &'a str,
    keys: Vec<&'a str>,
    deps: BTreeSet<&'a str>,
}

/// The key of a `key: value` or `key:` line (already stripped of its indentation).
fn key(line: &str) -> &str {
    line.split(':').next().unwrap_or_default().trim()
}

/// Whether byte `i` of `line` starts a token (a tag or a quoted scalar), not the middle of a
/// plain scalar.
pub(crate) fn token_start(line: &[u8], i: usize) -> bool {
    i == 0 || matches!(line[i - 1], b' ' | b'[' | b'{' | b',')
}

/// The end (exclusive) of the quoted scalar starting at `i` (a `"` or `'`).
pub(crate) fn quoted_end(line: &[u8], i: usize) -> usize {
    let q = line[i];
    let mut j = i + 1;
    while j < line.len() {
        match line[j] {
            b'\\' if q == b'"' => j += 2,
            c if c == q => {
                if q == b'\'' && line.get(j + 1) == Some(&b'\'') {
                    j += 2;
                    continue;
                }
                return j + 1;
            }
            _ => j += 1,
        }
    }
    line.len()
}

/// The scalar starting at byte `i` of `line` (a tag's argument): a quoted one unquoted
/// (borrowed when it has no escape), or a plain one up to the end of its flow item; and where
/// it ends.
fn scalar_at(line: &str, i: usize) -> (Cow<'_, str>, usize) {
    let b = line.as_bytes();
    match b.get(i) {
        Some(b'"') => {
            let end = quoted_end(b, i);
            let raw = &line[i..end];
            let inner = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(raw);
            if inner.contains('\\') {
                (Cow::Owned(serde_json::from_str(raw).unwrap_or_else(|_| inner.to_string())), end)
            } else {
                (Cow::Borrowed(inner), end)
            }
        }
        Some(b'\'') => {
            let end = quoted_end(b, i);
            let inner = &line[i + 1..end.saturating_sub(1).max(i + 1)];
            (if inner.contains("''") { Cow::Owned(inner.replace("''", "'")) } else { Cow::Borrowed(inner) }, end)
        }
        _ => {
            let len = line[i..].find([',', ']', '}']).unwrap_or(line.len() - i);
            (Cow::Borrowed(line[i..i + len].trim()), i + len)
        }
    }
}

/// The intrinsics of one line, outside quoted scalars: (kind, target logical ID).
fn intrinsics<'a>(line: &'a str, out: &mut Vec<(&'static str, Cow<'a, str>)>) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' if token_start(b, i) => i = quoted_end(b, i),
            b'!' if token_start(b, i) => {
                let Some((tag, rest)) = line[i..].split_once(' ') else { return };
                let start = line.len() - rest.trim_start().len();
                let (arg, end) = scalar_at(line, start);
                let first = |s: &'a str| s.split('.').next().unwrap_or_default();
                match (tag, arg) {
                    ("!Ref", a) => out.push(("Ref", a)),
                    ("!GetAtt", Cow::Borrowed(a)) => out.push(("GetAtt", Cow::Borrowed(first(a)))),
                    ("!GetAtt", Cow::Owned(a)) => {
                        out.push(("GetAtt", Cow::Owned(a.split('.').next().unwrap_or_default().to_string())))
                    }
                    ("!Sub", Cow::Borrowed(a)) => {
                        let mut found = Vec::new();
                        sub_refs(a, &mut found);
                        out.extend(found.into_iter().map(|(k, t)| (k, Cow::Borrowed(t))));
                    }
                    ("!Sub", Cow::Owned(a)) => {
                        let mut found = Vec::new();
                        sub_refs(&a, &mut found);
                        out.extend(found.into_iter().map(|(k, t)| (k, Cow::Owned(t.to_string()))));
                    }
                    _ => {}
                }
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
}

/// [`super::verify`]'s verdict, from the text's lines.
pub fn scan(text: &str, resource_limit: usize) -> Result<Verified, Vec<String>> {
    let mut problems = Vec::new();
    let mut sections: Vec<&str> = Vec::new();
    let mut params: Vec<&str> = Vec::new();
    let mut resources: Vec<Resource> = Vec::new();
    // Intrinsics with the index of the resource they are in (None: outside Resources).
    let mut refs: Vec<(Option<usize>, &'static str, Cow<str>)> = Vec::new();
    let mut found = Vec::new();
    let mut depends_block = false;
    for line in text.lines() {
        let body = line.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let indent = line.len() - body.len();
        let section = sections.last().copied().unwrap_or_default();
        if indent == 0 {
            sections.push(key(body));
            continue;
        }
        let in_resources = section == "Resources";
        match (section, indent) {
            ("Parameters", 2) => params.push(key(body)),
            ("Resources", 2) => {
                resources.push(Resource { id: key(body), ty: "", keys: Vec::new(), deps: BTreeSet::new() });
                depends_block = false;
            }
            ("Resources", 4) => {
                let Some(r) = resources.last_mut() else { continue };
                let k = key(body);
                let value = body[k.len()..].trim_start_matches(':').trim();
                depends_block = k == "DependsOn" && value.is_empty();
                match k {
                    "Type" => r.ty = value.trim_matches('"'),
                    "DependsOn" => r.deps.extend(
                        value
                            .trim_start_matches('[')
                            .trim_end_matches(']')
                            .split(',')
                            .map(|d| d.trim().trim_matches('"'))
                            .filter(|d| !d.is_empty()),
                    ),
                    _ => {}
                }
                r.keys.push(k);
            }
            ("Resources", 6) if depends_block && body.starts_with("- ") => {
                if let Some(r) = resources.last_mut() {
                    r.deps.insert(body[2..].trim().trim_matches('"'));
                }
            }
            _ => {}
        }
        if !body.contains('!') {
            continue;
        }
        intrinsics(body, &mut found);
        let at = if in_resources { resources.len().checked_sub(1) } else { None };
        refs.extend(found.drain(..).map(|(kind, target)| (at, kind, target)));
    }
    check_order(&sections, SECTION_ORDER, "template sections", &mut problems);
    if !sections.contains(&"Resources") {
        problems.push("template has no Resources".into());
    }
    for r in &resources {
        check_order(&r.keys, RESOURCE_KEY_ORDER, &format!("attributes of {}", r.id), &mut problems);
        if r.ty.is_empty() {
            problems.push(format!("resource {} has no Type", r.id));
        }
    }
    if resources.len() > resource_limit {
        problems.push(format!("{} resources; the limit is {resource_limit}", resources.len()));
    }
    let ids: HashMap<&str, usize> = resources.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    if ids.len() != resources.len() {
        problems.push("duplicate logical IDs".into());
    }
    let params_set: HashSet<&str> = params.iter().copied().collect();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = resources.iter().map(|r| (r.id, r.deps.clone())).collect();
    for (at, kind, target) in &refs {
        let known = ids.get_key_value(target.as_ref()).map(|(id, _)| *id);
        let ok = known.is_some()
            || (*kind != "GetAtt" && (params_set.contains(target.as_ref()) || target.starts_with("AWS::")));
        if !ok {
            problems.push(format!("{kind} to `{target}`, which the template does not define"));
        }
        if let (Some(i), Some(id)) = (at, known) {
            edges.entry(resources[*i].id).or_default().insert(id);
        }
    }
    if let Some(cycle) = cycle_in(&edges) {
        problems.push(format!("circular dependency: {}", cycle.join(" -> ")));
    }
    if problems.is_empty() {
        Ok(Verified {
            resources: resources.into_iter().map(|r| (r.id.to_string(), r.ty.to_string())).collect(),
            parameters: params.iter().map(|p| p.to_string()).collect(),
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::super::verify;
    use super::*;

    /// Both verifiers on `text`: the same verdict, the same resources and parameters, and the
    /// same problems (the full one may only add its YAML error).
    fn agree(text: &str) {
        match (verify(text, 500), scan(text, 500)) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.resources, b.resources);
                assert_eq!(a.parameters, b.parameters);
            }
            (Err(mut a), Err(mut b)) => {
                a.sort();
                b.sort();
                assert_eq!(a, b, "for\n{text}");
            }
            (a, b) => panic!("verdicts differ: full {:?}, scan {:?}\n{text}", a.err(), b.err()),
        }
    }

    #[test]
    fn the_scan_agrees_with_the_full_verifier() {
        agree("Resources:\n  A:\n    Type: X\n    Properties: { P: !GetAtt B.Arn }\n  B:\n    Type: X\n    Properties: { P: !Sub \"${A}\" }\n");
        agree("AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  A:\n    Properties: {}\n    Type: X\n  B:\n    Type: Y\n    Properties:\n      P: !Ref C\n      Q: !Sub \"${A.Arn}-${AWS::Region}-${D}-${!Literal}\"\n");
        agree("Parameters:\n  P:\n    Type: String\nResources:\n  A:\n    Type: X\n    DependsOn: [B]\n    Properties:\n      Name: !Ref P\n      Text: \"not a tag: !Ref Nothing, it's ${quoted}\"\n      Plain: it's !Ref-free\n  B:\n    Type: X\n    DependsOn:\n      - A\n");
        agree("Description: x\nResources:\n  A:\n    Type: X\n    Properties:\n      L: [!Ref A2, !GetAtt \"B.Arn\", !Sub 'x']\n");
        agree("Outputs:\n  O:\n    Value: !Ref Missing\n");
    }

    #[test]
    fn the_scan_agrees_on_every_built_template_and_its_breakages() {
        let mut texts = Vec::new();
        for config in [
            include_str!("../../../flowform.yaml"),
            include_str!("../../../tests/fixtures/fifo-pipeline.yaml"),
            include_str!("../../../tests/fixtures/no-http-no-db.yaml"),
            include_str!("../../../tests/fixtures/scheduled-jobs.yaml"),
        ] {
            let b = crate::build(config).unwrap();
            texts.extend(b.files.iter().filter(|(k, _)| k.ends_with("template.yaml")).map(|(_, v)| v.clone()));
        }
        assert!(!texts.is_empty());
        for t in &texts {
            agree(t);
            // Breakages a template bug could make: a dangling Ref, a swapped attribute, a
            // cycle, a resource without Type.
            agree(&t.replacen("!Ref ", "!Ref Missing", 1));
            agree(&t.replacen("    Type: AWS::SQS::Queue\n", "    Condition: C\n    Type: AWS::SQS::Queue\n", 1));
            agree(&t.replacen("DependsOn: [", "DependsOn: [OutboxRelayRule, ", 1));
        }
    }
}
