//! Nested stacks (`nested_stacks: N`): a stage's template, rendered and verified whole, split
//! into a root template and nested ones (`AWS::CloudFormation::Stack` resources whose
//! `TemplateURL` is a file beside the root, which `aws cloudformation package` uploads): one
//! per hash bucket in use (at most N) and one per `stack` pin.
//!
//! **What goes where.** A *function unit* is a function with everything that exists only for
//! it: role, log group, event source mapping, permissions, schedule rule with its invoke config
//! and dead-letter queue, security group and ingress rules, its HTTP integration and routes,
//! and the queue it consumes with that queue's policy, dead-letter queue, alarm and
//! subscriptions. Each unit goes to the nested stack its function's `stack` names, else to
//! the one its identity (`renamed_from`, else its name) hashes to ([`bucket`]: FNV-1a, 64
//! bit, modulo N): adding or removing a function never moves another (a deploy cannot move a
//! named resource between stacks; `plan` calls a move destructive), and a rename with
//! `renamed_from` keeps its stack. Everything shared (the key, topics and their policies, the
//! alarm topic, the HTTP API and stage, authorizers, secrets, email) stays in the root.
//! Buckets no function hashes to are not emitted.
//!
//! **Wiring across templates**, from the references in the text, so nothing is special-cased:
//! a nested template's reference to something outside it becomes a parameter of that template
//! (`!Ref X` keeps its text with a parameter `X`; `!GetAtt X.Arn` becomes `!Ref XArn`;
//! `${X.Arn}` in a `!Sub` becomes `${XArn}`), which the root passes (`!Ref X`, `!GetAtt X.Arn`,
//! a root parameter as is, a list parameter joined, or another nested stack's output). A root
//! reference into a nested stack reads that stack's output (`!GetAtt NestedStack3.Outputs.X`).
//! A `DependsOn` across templates becomes a `DependsOn` of the nested stack resource. A stack
//! output about one nested stack's resources moves into that template.
//!
//! The whole template has already passed [`crate::verify`] (every reference resolves, no
//! cycle), so a reference that resolves nowhere is flowform's bug: [`split`] returns it as an
//! error, and every template it writes is verified again by the caller.

use crate::cfn::{LogicalId, StackView};
use crate::model::{System, Trigger};
use crate::verify::{quoted_end, token_start};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

/// The nested stack a function identity hashes to, in `0..n`: FNV-1a (64 bit) of its bytes,
/// modulo `n`. Fixed forever: changing it would move every function of every deployed system.
pub fn bucket(identity: &str, n: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in identity.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % u64::from(n.max(1))) as u32
}

/// The logical ID of bucket `k` (0-based) of `n`: `NestedStack07`, numbered from 1 with as many
/// digits as `n` has.
pub fn stack_id(k: u32, n: u32) -> String {
    format!("NestedStack{:0width$}", k + 1, width = n.to_string().len())
}

/// The file of bucket `k`, beside the root's `template.yaml`: `nested-07.yaml`.
pub fn stack_file(k: u32, n: u32) -> String {
    format!("nested-{:0width$}.yaml", k + 1, width = n.to_string().len())
}

/// One nested stack of a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nested {
    /// Its logical ID in the root (`NestedStack07`).
    pub id: String,
    /// Its template's file name, beside the root's.
    pub file: String,
    /// The config names of the functions it holds, sorted.
    pub functions: Vec<String>,
}

/// Which nested stack each resource goes to.
#[derive(Debug)]
pub struct Assignment {
    /// The nested stacks that hold something, in bucket order.
    pub stacks: Vec<Nested>,
    /// Resource logical ID -> index into `stacks`; resources not listed stay in the root.
    pub owner: HashMap<String, usize>,
}

/// Every resource logical ID of a function unit (see the module doc).
fn unit_ids(sys: &System, view: &StackView, index: usize) -> Vec<LogicalId> {
    let (f, fv) = (&sys.functions[index], &view.functions[index]);
    let mut ids = crate::cfn::function_ids(fv);
    if let Trigger::Queue { queue, .. } = &f.trigger {
        let identity = sys.queue_identity(queue);
        let own = [LogicalId::queue(identity), LogicalId::dlq(identity)];
        for q in view.queues.iter().filter(|q| own.contains(&q.id)) {
            ids.extend([q.id.clone(), q.policy_id.clone()]);
            ids.extend(q.alarm.iter().map(|a| a.id.clone()));
        }
        let queue_id = own[0].as_str().to_string();
        ids.extend(
            view.subscriptions.iter().filter(|s| s.queue.target().as_deref() == Some(&queue_id)).map(|s| s.id.clone()),
        );
    }
    if let Some(h) = &view.http {
        let integration = LogicalId::integration(&f.identity);
        for i in h.integrations.iter().filter(|i| i.id == integration) {
            ids.push(i.id.clone());
            let id = i.id.as_str().to_string();
            ids.extend(h.routes.iter().filter(|r| r.target.target().as_deref() == Some(&id)).map(|r| r.id.clone()));
        }
    }
    ids
}

/// Where a function unit goes: a hash bucket, or the nested stack its `stack` names.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Bucket(u32),
    Named(String),
}

impl Slot {
    fn of(f: &crate::model::Function, n: u32) -> Slot {
        match &f.stack {
            Some(name) => Slot::Named(name.clone()),
            None => Slot::Bucket(bucket(&f.identity, n)),
        }
    }

    /// Its nested stack's logical ID and file.
    fn names(&self, n: u32) -> (String, String) {
        match self {
            Slot::Bucket(k) => (stack_id(*k, n), stack_file(*k, n)),
            Slot::Named(name) => (format!("NestedStack{}", crate::ids::pascal(name)), format!("nested-{name}.yaml")),
        }
    }
}

/// The nested template file a function's unit goes to, with `nested_stacks: n`.
pub fn file_of(f: &crate::model::Function, n: u32) -> String {
    Slot::of(f, n).names(n).1
}

/// The nested stack of every function unit's resources, for `nested_stacks: n`: the one its
/// `stack` names (`NestedStackBilling`, `nested-billing.yaml`), else its bucket's.
pub fn assign(sys: &System, view: &StackView, n: u32) -> Assignment {
    let mut by_slot: BTreeMap<Slot, Vec<usize>> = BTreeMap::new();
    for (i, f) in sys.functions.iter().enumerate() {
        by_slot.entry(Slot::of(f, n)).or_default().push(i);
    }
    let mut stacks = Vec::new();
    let mut owner = HashMap::new();
    for (slot, members) in by_slot {
        let index = stacks.len();
        let mut functions: Vec<String> = members.iter().map(|&i| sys.functions[i].name.clone()).collect();
        functions.sort();
        let (id, file) = slot.names(n);
        stacks.push(Nested { id, file, functions });
        for i in members {
            owner.extend(unit_ids(sys, view, i).into_iter().map(|id| (id.as_str().to_string(), index)));
        }
    }
    Assignment { stacks, owner }
}

/// A stage's templates: the root's text and each nested one's (file name, text).
#[derive(Debug)]
pub struct Split {
    pub root: String,
    pub nested: Vec<(String, String)>,
}

/// One `  Id:` block of a section, with its lines.
struct Block<'a> {
    id: &'a str,
    lines: Vec<&'a str>,
}

/// The rendered template by section: the lines before `Parameters`/`Resources`, then blocks.
#[derive(Default)]
struct Sections<'a> {
    head: Vec<&'a str>,
    params: Vec<Block<'a>>,
    resources: Vec<Block<'a>>,
    outputs: Vec<Block<'a>>,
}

fn sections(text: &str) -> Result<Sections<'_>, String> {
    let mut s = Sections::default();
    let mut section = "";
    for line in text.lines() {
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        if indent == 0 && !body.starts_with('#') {
            let key = body.split(':').next().unwrap_or_default();
            match key {
                "Parameters" | "Resources" | "Outputs" => section = key,
                "AWSTemplateFormatVersion" | "Description" if section.is_empty() => s.head.push(line),
                _ => return Err(format!("unexpected top-level line `{line}`")),
            }
            continue;
        }
        let list = match section {
            "" => {
                s.head.push(line);
                continue;
            }
            "Parameters" => &mut s.params,
            "Resources" => &mut s.resources,
            _ => &mut s.outputs,
        };
        if indent == 2 && !body.starts_with('#') {
            list.push(Block { id: body.trim_end_matches(':'), lines: vec![line] });
        } else if let Some(b) = list.last_mut() {
            b.lines.push(line);
        } else {
            return Err(format!("line outside a block: `{line}`"));
        }
    }
    Ok(s)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Ref,
    GetAtt,
    /// `${X}` or `${X.Attr}` inside a `!Sub` string.
    Sub,
}

/// A reference in a line: the bytes it spans and what it names.
struct Token<'a> {
    start: usize,
    end: usize,
    kind: Kind,
    target: &'a str,
    attr: Option<&'a str>,
}

/// The references of one line, in order (the layout `verify::scan` relies on: intrinsics in
/// short form, plain logical IDs, `!Sub` strings plain or JSON-quoted).
fn tokens(line: &str) -> Result<Vec<Token<'_>>, String> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' if token_start(b, i) => i = quoted_end(b, i),
            b'!' if token_start(b, i) => {
                let tag_end = line[i..].find(' ').map_or(b.len(), |n| i + n);
                if !matches!(&line[i..tag_end], "!Ref" | "!GetAtt" | "!Sub") {
                    // Not an intrinsic the templates write (a `!` inside plain text): as the scan.
                    i = tag_end;
                    continue;
                }
                let arg = tag_end + 1;
                let arg_end = match b.get(arg) {
                    Some(b'"' | b'\'') => quoted_end(b, arg),
                    Some(_) => line[arg..].find([',', ']', '}']).map_or(b.len(), |n| arg + n),
                    None => return Err(format!("an intrinsic without argument: `{line}`")),
                };
                let value = line[arg..arg_end].trim_end();
                match &line[i..tag_end] {
                    "!Ref" => {
                        out.push(Token { start: i, end: arg + value.len(), kind: Kind::Ref, target: value, attr: None })
                    }
                    "!GetAtt" => {
                        let (target, attr) = value.split_once('.').ok_or_else(|| format!("bad GetAtt in `{line}`"))?;
                        out.push(Token {
                            start: i,
                            end: arg + value.len(),
                            kind: Kind::GetAtt,
                            target,
                            attr: Some(attr),
                        });
                    }
                    "!Sub" => {
                        let mut j = arg;
                        while let Some(n) = line[j..arg_end].find("${") {
                            let open = j + n;
                            let close = line[open..arg_end].find('}').map(|c| open + c).ok_or("an open ${ in a Sub")?;
                            let inner = &line[open + 2..close];
                            if !inner.starts_with('!') {
                                let (target, attr) = inner.split_once('.').map_or((inner, None), |(t, a)| (t, Some(a)));
                                out.push(Token { start: open, end: close + 1, kind: Kind::Sub, target, attr });
                            }
                            j = close + 1;
                        }
                    }
                    _ => {}
                }
                i = arg_end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    Ok(out)
}

/// Where a logical ID lives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Home {
    Root,
    /// A parameter of the root template.
    Param,
    Nested(usize),
}

/// What the root passes for a nested template's parameter.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Source {
    /// The root's own parameter of that name.
    Param(String),
    /// A root resource: `!Ref X` or `!GetAtt X.Attr`.
    Resource(String, Option<String>),
    /// Another nested stack's output.
    Output(usize, String),
}

/// The name a reference gets across templates: `X` for `!Ref X`, `XArn` for `X.Arn`.
fn wire_name(target: &str, attr: Option<&str>) -> String {
    let mut name = target.to_string();
    name.extend(attr.unwrap_or_default().chars().filter(char::is_ascii_alphanumeric));
    name
}

/// Per template: what it takes, what it gives, what it waits for.
#[derive(Default)]
struct Wiring {
    inputs: BTreeMap<String, Source>,
    /// Output name -> (resource, attribute).
    outputs: BTreeMap<String, (String, Option<String>)>,
    depends_on: BTreeSet<String>,
}

/// Inserts `value` under `name` once; the same name for another value is flowform's bug.
fn insert_once<V: PartialEq + std::fmt::Debug>(
    map: &mut BTreeMap<String, V>,
    what: &str,
    name: String,
    value: V,
) -> Result<(), String> {
    match map.get(&name) {
        Some(existing) if *existing != value => {
            Err(format!("two references would become one {what} `{name}`: {existing:?} and {value:?}"))
        }
        _ => {
            map.insert(name, value);
            Ok(())
        }
    }
}

fn add_input(w: &mut Wiring, name: String, source: Source) -> Result<(), String> {
    insert_once(&mut w.inputs, "parameter", name, source)
}

fn add_output(w: &mut Wiring, name: String, target: &str, attr: Option<&str>) -> Result<(), String> {
    insert_once(&mut w.outputs, "output", name, (target.to_string(), attr.map(str::to_string)))
}

struct Splitter<'a> {
    homes: HashMap<&'a str, Home>,
    stacks: &'a [Nested],
    wiring: Vec<Wiring>,
}

impl<'a> Splitter<'a> {
    fn home(&self, id: &str) -> Result<Home, String> {
        self.homes.get(id).copied().ok_or_else(|| format!("`{id}` is referenced but defined nowhere"))
    }

    /// One line of a block that lives in `at`, with its references across templates rewired,
    /// onto `out`.
    fn line(&mut self, line: &'a str, at: Home, out: &mut String) -> Result<(), String> {
        if !line.contains('!') {
            out.push_str(line);
            return Ok(());
        }
        let mut last = 0;
        for t in tokens(line)? {
            if t.target.starts_with("AWS::") {
                continue;
            }
            let home = self.home(t.target)?;
            let replacement = match (at, home) {
                (Home::Root, Home::Root | Home::Param) => continue,
                (Home::Nested(k), Home::Nested(h)) if k == h => continue,
                (Home::Nested(k), _) => {
                    let name = wire_name(t.target, t.attr);
                    let source = match home {
                        Home::Param => Source::Param(t.target.to_string()),
                        Home::Root => Source::Resource(t.target.to_string(), t.attr.map(str::to_string)),
                        Home::Nested(h) => {
                            add_output(&mut self.wiring[h], name.clone(), t.target, t.attr)?;
                            Source::Output(h, name.clone())
                        }
                    };
                    add_input(&mut self.wiring[k], name.clone(), source)?;
                    match t.kind {
                        Kind::Ref | Kind::GetAtt => format!("!Ref {name}"),
                        Kind::Sub => format!("${{{name}}}"),
                    }
                }
                (Home::Root | Home::Param, Home::Nested(h)) => {
                    let name = wire_name(t.target, t.attr);
                    add_output(&mut self.wiring[h], name.clone(), t.target, t.attr)?;
                    let stack = &self.stacks[h].id;
                    match t.kind {
                        Kind::Ref | Kind::GetAtt => format!("!GetAtt {stack}.Outputs.{name}"),
                        Kind::Sub => format!("${{{stack}.Outputs.{name}}}"),
                    }
                }
                (Home::Param, _) => continue,
            };
            out.push_str(&line[last..t.start]);
            out.push_str(&replacement);
            last = t.end;
        }
        out.push_str(&line[last..]);
        Ok(())
    }

    /// A `    DependsOn: ...` line of a block in `at`: targets elsewhere leave it (a nested
    /// template's become its stack's), a root resource's on a nested resource name the stack.
    fn depends_on(&mut self, line: &str, at: Home) -> Result<Option<String>, String> {
        let value = line.split_once(':').map(|(_, v)| v.trim()).unwrap_or_default();
        if value.is_empty() {
            return Err("a block DependsOn list is not handled by the split".into());
        }
        let mut kept: Vec<String> = Vec::new();
        for target in value.trim_start_matches('[').trim_end_matches(']').split(',') {
            let target = target.trim().trim_matches('"');
            let home = self.home(target)?;
            let name = match (at, home) {
                (Home::Nested(k), Home::Nested(h)) if k == h => target.to_string(),
                (Home::Nested(k), other) => {
                    let dep = match other {
                        Home::Nested(h) => self.stacks[h].id.clone(),
                        _ => target.to_string(),
                    };
                    self.wiring[k].depends_on.insert(dep);
                    continue;
                }
                (_, Home::Nested(h)) => self.stacks[h].id.clone(),
                _ => target.to_string(),
            };
            if !kept.contains(&name) {
                kept.push(name);
            }
        }
        Ok(match kept.as_slice() {
            [] => None,
            [one] => Some(format!("    DependsOn: {one}")),
            many => Some(format!("    DependsOn: [{}]", many.join(", "))),
        })
    }

    fn block(&mut self, b: &Block<'a>, at: Home, out: &mut String) -> Result<(), String> {
        for &line in &b.lines {
            if line.starts_with("    DependsOn:") {
                if let Some(l) = self.depends_on(line, at)? {
                    out.push_str(&l);
                    out.push('\n');
                }
                continue;
            }
            self.line(line, at, out)?;
            out.push('\n');
        }
        Ok(())
    }
}

/// The homes of an output's references: `Some(k)` when every one is in nested stack `k`.
fn output_home(b: &Block, homes: &HashMap<&str, Home>) -> Result<Option<usize>, String> {
    let mut home = None;
    for line in &b.lines {
        for t in tokens(line)?.iter().filter(|t| !t.target.starts_with("AWS::")) {
            match (homes.get(t.target), home) {
                (Some(Home::Nested(k)), None) => home = Some(*k),
                (Some(Home::Nested(k)), Some(h)) if *k == h => {}
                _ => return Ok(None),
            }
        }
    }
    Ok(home)
}

/// How the description of a nested template's output ends when it exists for other templates
/// (not one of the stage's own outputs moved there): [`join`] tells them apart by it.
const WIRE_OUTPUT: &str = ", for the root stack";

/// A nested stack resource's Metadata: why cfn-lint's W3002 does not apply.
const STACK_METADATA: &str = "    Metadata:
      cfn-lint:
        config:
          ignore_checks:
            - W3002
      flowform:
        cfn-lint-reasons:
          W3002: \"TemplateURL is the nested template beside this one; `aws cloudformation package` uploads it and rewrites this property\"
";

fn quote(s: &str) -> String {
    crate::render::yaml_flow(&serde_json::Value::String(s.to_string()))
}

/// Splits the verified whole template `text` of `view`'s stage by `assignment`.
pub fn split(text: &str, view: &StackView, assignment: &Assignment) -> Result<Split, String> {
    let s = sections(text)?;
    let mut homes: HashMap<&str, Home> = HashMap::new();
    for p in &s.params {
        homes.insert(p.id, Home::Param);
    }
    for r in &s.resources {
        let home = assignment.owner.get(r.id).map_or(Home::Root, |&k| Home::Nested(k));
        if homes.insert(r.id, home).is_some() {
            return Err(format!("`{}` is defined twice", r.id));
        }
    }
    for n in &assignment.stacks {
        if homes.contains_key(n.id.as_str()) {
            return Err(format!("nested stack `{}` has the logical ID of a resource or parameter", n.id));
        }
    }
    let stacks = &assignment.stacks;
    let mut sp = Splitter { homes, stacks, wiring: stacks.iter().map(|_| Wiring::default()).collect() };

    // Resources and outputs, each in its template.
    let mut bodies: Vec<String> = vec![String::new(); stacks.len()];
    let mut moved: Vec<Vec<(String, String)>> = vec![Vec::new(); stacks.len()];
    let mut root_resources = String::new();
    for r in &s.resources {
        match sp.homes[r.id] {
            Home::Nested(k) => {
                let mut out = std::mem::take(&mut bodies[k]);
                sp.block(r, Home::Nested(k), &mut out)?;
                bodies[k] = out;
            }
            _ => sp.block(r, Home::Root, &mut root_resources)?,
        }
    }
    let mut root_outputs = String::new();
    for o in &s.outputs {
        match output_home(o, &sp.homes)? {
            Some(k) => {
                let mut out = String::new();
                sp.block(o, Home::Nested(k), &mut out)?;
                moved[k].push((o.id.to_string(), out));
            }
            None => sp.block(o, Home::Root, &mut root_outputs)?,
        }
    }

    // The root: its own blocks, then one stack resource per nested template.
    let params: HashMap<&str, &Block> = s.params.iter().map(|p| (p.id, p)).collect();
    let lists: BTreeSet<&str> = view
        .parameters
        .iter()
        .filter(|p| p.kind.starts_with("List<") || p.kind == "CommaDelimitedList")
        .map(|p| p.id.as_str())
        .collect();
    for (k, n) in stacks.iter().enumerate() {
        stack_resource(n, &sp.wiring[k], stacks, &lists, &mut root_resources);
    }
    let mut root = String::new();
    for line in &s.head {
        let _ = writeln!(root, "{line}");
    }
    if !s.params.is_empty() {
        root.push_str("Parameters:\n");
        for line in s.params.iter().flat_map(|p| &p.lines) {
            let _ = writeln!(root, "{line}");
        }
    }
    root.push_str("Resources:\n");
    root.push_str(&root_resources);
    if !root_outputs.is_empty() {
        root.push_str("Outputs:\n");
        root.push_str(&root_outputs);
    }
    let mut nested = Vec::new();
    for (k, n) in stacks.iter().enumerate() {
        let parts = NestedParts { body: &bodies[k], moved: &moved[k], wiring: &sp.wiring[k] };
        nested.push((n.file.clone(), nested_template(view, n, &parts, stacks, &params)?));
    }
    Ok(Split { root, nested })
}

/// The root's `AWS::CloudFormation::Stack` resource of nested stack `n`: what it waits for
/// beyond what its parameters imply, and the parameters it passes.
fn stack_resource(n: &Nested, w: &Wiring, stacks: &[Nested], lists: &BTreeSet<&str>, out: &mut String) {
    let implied: BTreeSet<&str> = w
        .inputs
        .values()
        .filter_map(|src| match src {
            Source::Resource(id, _) => Some(id.as_str()),
            Source::Output(h, _) => Some(stacks[*h].id.as_str()),
            Source::Param(_) => None,
        })
        .collect();
    let deps: Vec<&str> = w.depends_on.iter().map(String::as_str).filter(|d| !implied.contains(d)).collect();
    let _ = writeln!(out, "  {}:\n    Type: AWS::CloudFormation::Stack", n.id);
    match deps.as_slice() {
        [] => {}
        [one] => {
            let _ = writeln!(out, "    DependsOn: {one}");
        }
        many => {
            let _ = writeln!(out, "    DependsOn: [{}]", many.join(", "));
        }
    }
    // Deleting or replacing a nested stack deletes what it holds, except what keeps itself:
    // its queues, log groups and secrets are `Retain` on their own.
    out.push_str("    DeletionPolicy: Delete\n    UpdateReplacePolicy: Delete\n");
    out.push_str(STACK_METADATA);
    let _ = writeln!(out, "    Properties:\n      TemplateURL: {}", n.file);
    if !w.inputs.is_empty() {
        out.push_str("      Parameters:\n");
    }
    for (name, src) in &w.inputs {
        let value = match src {
            // A nested stack's parameters are strings: a list travels joined with commas.
            Source::Param(p) if lists.contains(p.as_str()) => format!("!Join [\",\", !Ref {p}]"),
            Source::Param(p) => format!("!Ref {p}"),
            Source::Resource(id, None) => format!("!Ref {id}"),
            Source::Resource(id, Some(a)) => format!("!GetAtt {id}.{a}"),
            Source::Output(h, o) => format!("!GetAtt {}.Outputs.{o}", stacks[*h].id),
        };
        let _ = writeln!(out, "        {name}: {value}");
    }
}

/// What a nested template is made of: its resource blocks, the stack outputs moved into it,
/// and its wiring.
struct NestedParts<'s> {
    body: &'s str,
    moved: &'s [(String, String)],
    wiring: &'s Wiring,
}

/// A nested template's Description: the functions it holds, as many as CloudFormation's
/// 1,024 characters allow, then how many more.
fn description(view: &StackView, n: &Nested) -> String {
    let head = format!("{}-{} {}: functions ", view.system, view.stage, n.id);
    const TAIL: &str = " (generated by flowform)";
    let mut names = String::new();
    for (i, f) in n.functions.iter().enumerate() {
        let more = format!(" and {} more", n.functions.len() - i);
        let sep = if i == 0 { "" } else { ", " };
        if head.len() + names.len() + sep.len() + f.len() + more.len() + TAIL.len() > 1024 {
            names.push_str(&more);
            break;
        }
        names.push_str(sep);
        names.push_str(f);
    }
    format!("{head}{names}{TAIL}")
}

/// The text of nested template `n`: header, parameters (a root parameter's declaration as
/// the root has it, else a string naming where it comes from), resources, outputs.
fn nested_template(
    view: &StackView,
    n: &Nested,
    parts: &NestedParts,
    stacks: &[Nested],
    params: &HashMap<&str, &Block>,
) -> Result<String, String> {
    let w = parts.wiring;
    let mut t = format!(
        "# Generated by flowform from {} (system {}, stage {}): nested stack {} of template.yaml.\n\
         # Do not edit: change {} and run `{}`.\n\
         AWSTemplateFormatVersion: \"2010-09-09\"\n",
        crate::render::comment(&view.source),
        view.system,
        view.stage,
        n.id,
        crate::render::comment(&view.source),
        crate::render::comment(&view.regenerate)
    );
    let _ = writeln!(t, "Description: {}", quote(&description(view, n)));
    if !w.inputs.is_empty() {
        t.push_str("Parameters:\n");
    }
    for (name, src) in &w.inputs {
        let what = match src {
            Source::Param(p) => {
                for line in &params[p.as_str()].lines {
                    let _ = writeln!(t, "{line}");
                }
                continue;
            }
            Source::Resource(id, Some(a)) => format!("{id}.{a} of the root stack"),
            Source::Resource(id, None) => format!("{id} of the root stack"),
            Source::Output(h, o) => format!("output {o} of {}", stacks[*h].id),
        };
        let _ = writeln!(t, "  {name}:\n    Type: String\n    Description: {}", quote(&what));
    }
    t.push_str("Resources:\n");
    t.push_str(parts.body);
    if !w.outputs.is_empty() || !parts.moved.is_empty() {
        t.push_str("Outputs:\n");
        for (id, block) in parts.moved {
            if w.outputs.contains_key(id) {
                return Err(format!("output `{id}` of {} is also a wire's name", n.id));
            }
            t.push_str(block);
        }
        for (name, (id, attr)) in &w.outputs {
            let value = match attr {
                Some(a) => format!("!GetAtt {id}.{a}"),
                None => format!("!Ref {id}"),
            };
            let what = match attr {
                Some(a) => format!("{id}.{a}{WIRE_OUTPUT}"),
                None => format!("{id}{WIRE_OUTPUT}"),
            };
            let _ = writeln!(t, "  {name}:\n    Description: {}\n    Value: {value}", quote(&what));
        }
    }
    Ok(t)
}

/// The stage's templates joined back into the one template they were split from (as JSON,
/// long-form intrinsics): each nested stack's resources and moved outputs in the root, its
/// parameters replaced by what the root passes, the root's reads of its outputs by the outputs'
/// values. `DependsOn` on a nested stack cannot name the resource it stood for and is dropped.
/// Review and test tools read a stage through this; a stage without nested stacks is its
/// root as is.
pub fn join(root: &Json, nested: &BTreeMap<String, Json>) -> Result<Json, String> {
    let resources = root["Resources"].as_object().ok_or("the root has no Resources")?;
    let stacks: BTreeMap<&str, &Json> =
        resources.iter().filter(|(_, r)| r["Type"] == STACK_TYPE).map(|(id, r)| (id.as_str(), r)).collect();
    // Each nested stack's outputs, by (stack, output name).
    let mut outputs: HashMap<(String, String), Json> = HashMap::new();
    for (id, r) in &stacks {
        let file = r["Properties"]["TemplateURL"].as_str().ok_or("a nested stack without TemplateURL")?;
        let child = nested.get(file).ok_or_else(|| format!("{id}: {file} is missing"))?;
        for (name, o) in child["Outputs"].as_object().into_iter().flatten() {
            outputs.insert((id.to_string(), name.clone()), o["Value"].clone());
        }
    }
    let read_output = |target: &str, attr: Option<&str>| -> Option<Json> {
        let name = attr?.strip_prefix("Outputs.")?;
        stacks.contains_key(target).then(|| outputs.get(&(target.to_string(), name.to_string())).cloned())?
    };
    let mut joined_resources = serde_json::Map::new();
    let mut joined_outputs = serde_json::Map::new();
    for (id, r) in resources {
        if stacks.contains_key(id.as_str()) {
            continue;
        }
        let mut r = substitute(r, &read_output);
        if let Some(deps) = r.get_mut("DependsOn") {
            let kept: Vec<Json> = one_or_many(deps)
                .into_iter()
                .filter(|d| !stacks.contains_key(d.as_str().unwrap_or_default()))
                .collect();
            match kept.len() {
                0 => {
                    r.as_object_mut().map(|o| o.remove("DependsOn"));
                }
                1 => *deps = kept[0].clone(),
                _ => *deps = Json::Array(kept),
            }
        }
        joined_resources.insert(id.clone(), r);
    }
    for (name, o) in root["Outputs"].as_object().into_iter().flatten() {
        joined_outputs.insert(name.clone(), substitute(o, &read_output));
    }
    for (id, r) in &stacks {
        let file = r["Properties"]["TemplateURL"].as_str().unwrap_or_default();
        let child = &nested[file];
        let passed = r["Properties"]["Parameters"].as_object().cloned().unwrap_or_default();
        let param = |target: &str, attr: Option<&str>| -> Option<Json> {
            if attr.is_some() {
                return None;
            }
            let value = passed.get(target)?;
            // A list parameter travels joined with commas: the child reads the root's list.
            if let Some([sep, list]) = value["Fn::Join"].as_array().map(Vec::as_slice) {
                if sep == "," && list.get("Ref").is_some() {
                    return Some(list.clone());
                }
            }
            Some(substitute(value, &read_output))
        };
        for (rid, res) in child["Resources"].as_object().into_iter().flatten() {
            if joined_resources.insert(rid.clone(), substitute(res, &param)).is_some() {
                return Err(format!("{rid} of {id} is also defined elsewhere"));
            }
        }
        for (name, o) in child["Outputs"].as_object().into_iter().flatten() {
            if !o["Description"].as_str().is_some_and(|d| d.ends_with(WIRE_OUTPUT)) {
                joined_outputs.insert(name.clone(), substitute(o, &param));
            }
        }
    }
    let mut out = root.clone();
    out["Resources"] = Json::Object(joined_resources);
    if !joined_outputs.is_empty() {
        out["Outputs"] = Json::Object(joined_outputs);
    }
    Ok(out)
}

const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

fn one_or_many(v: &Json) -> Vec<Json> {
    match v {
        Json::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// `v` with every `Ref`/`GetAtt`/`Sub` placeholder that `f` resolves replaced by its value.
fn substitute(v: &Json, f: &dyn Fn(&str, Option<&str>) -> Option<Json>) -> Json {
    match v {
        Json::Object(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next().unwrap_or_else(|| unreachable!());
            let resolved = match (k.as_str(), inner) {
                ("Ref", Json::String(t)) => f(t, None),
                ("Fn::GetAtt", Json::Array(a)) => {
                    match (a.first().and_then(Json::as_str), a.get(1).and_then(Json::as_str)) {
                        (Some(t), Some(attr)) => f(t, Some(attr)),
                        _ => None,
                    }
                }
                ("Fn::Sub", Json::String(s)) => Some(serde_json::json!({ "Fn::Sub": substitute_sub(s, f) })),
                _ => None,
            };
            resolved.unwrap_or_else(|| Json::Object(m.iter().map(|(k, v)| (k.clone(), substitute(v, f))).collect()))
        }
        Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), substitute(v, f))).collect()),
        Json::Array(a) => Json::Array(a.iter().map(|v| substitute(v, f)).collect()),
        other => other.clone(),
    }
}

/// A `Sub` string's placeholders resolved by `f` (to a `Ref` or `GetAtt`, written back as one).
fn substitute_sub(s: &str, f: &dyn Fn(&str, Option<&str>) -> Option<Json>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find("${") {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else { break };
        let inner = &rest[open + 2..close];
        out.push_str(&rest[..open]);
        let (target, attr) = inner.split_once('.').map_or((inner, None), |(t, a)| (t, Some(a)));
        let value = if inner.starts_with('!') { None } else { f(target, attr) };
        match value.as_ref().map(|v| (v["Ref"].as_str(), v["Fn::GetAtt"].as_array())) {
            Some((Some(r), _)) => {
                let _ = write!(out, "${{{r}}}");
            }
            Some((_, Some(a))) => {
                let _ = write!(out, "${{{}.{}}}", a[0].as_str().unwrap_or_default(), a[1].as_str().unwrap_or_default());
            }
            _ => out.push_str(&rest[open..=close]),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// A stage of built files as one template: the root joined with its nested templates
/// ([`join`]); `None` when the stage has no `template.yaml`.
pub fn stage_template(files: &crate::emit::Files, stage: &str) -> Option<Result<Json, String>> {
    let root = crate::verify::template_json(files.get(&format!("{stage}/template.yaml"))?);
    let prefix = format!("{stage}/nested-");
    let nested: Result<BTreeMap<String, Json>, String> = files
        .iter()
        .filter(|(f, _)| f.starts_with(&prefix))
        .map(|(f, text)| Ok((f[stage.len() + 1..].to_string(), crate::verify::template_json(text)?)))
        .collect();
    Some(root.and_then(|root| join(&root, &nested?)))
}

/// A stage read back from its files (committed, on disk or just built): the one template its
/// files join into ([`join`]), the template file that holds each resource, and the root's
/// nested stack resources. A stage without nested stacks is its `template.yaml` as is.
#[derive(Debug)]
pub struct Stage {
    pub template: Json,
    /// Resource logical ID -> `template.yaml` or the nested template's file.
    pub homes: BTreeMap<String, String>,
    /// The root's `AWS::CloudFormation::Stack` resources (not in `template`).
    pub stacks: BTreeMap<String, Json>,
}

/// Reads a stage from its root's text and a reader of the nested templates beside it (by
/// their `TemplateURL`). Errors say which file is missing or not a template.
pub fn read_stage(root: &str, nested: impl Fn(&str) -> Result<String, String>) -> Result<Stage, String> {
    let root = crate::verify::template_json(root).map_err(|e| format!("is {e}"))?;
    let resources = root["Resources"].as_object().ok_or("is not a CloudFormation template (no `Resources` mapping)")?;
    let mut homes = BTreeMap::new();
    let mut stacks = BTreeMap::new();
    let mut files = BTreeMap::new();
    for (id, r) in resources {
        if r["Type"] != STACK_TYPE {
            homes.insert(id.clone(), "template.yaml".to_string());
            continue;
        }
        stacks.insert(id.clone(), r.clone());
        let file = r["Properties"]["TemplateURL"].as_str().ok_or_else(|| format!("has {id} without a TemplateURL"))?;
        let text = nested(file).map_err(|e| format!("names nested template {file}, which cannot be read: {e}"))?;
        let child =
            crate::verify::template_json(&text).map_err(|e| format!("names nested template {file}, which is {e}"))?;
        for cid in child["Resources"].as_object().into_iter().flatten().map(|(k, _)| k) {
            homes.insert(cid.clone(), file.to_string());
        }
        files.insert(file.to_string(), child);
    }
    let template = if stacks.is_empty() {
        root
    } else {
        join(&root, &files).map_err(|e| format!("does not join with its nested templates: {e}"))?
    };
    Ok(Stage { template, homes, stacks })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a 64 of each name, modulo 16, computed independently (a few lines of Python).
    const BUCKETS_OF_16: [u32; 5] = [9, 3, 11, 8, 12];

    /// The hash is part of every deployed split stage: a change would move every function.
    #[test]
    fn buckets_are_fixed_forever() {
        let got: Vec<u32> =
            ["checkout", "stock_request", "f0", "f1", "api300"].iter().map(|id| bucket(id, 16)).collect();
        assert_eq!(got, BUCKETS_OF_16);
        assert_eq!((stack_id(6, 40), stack_file(6, 40)), ("NestedStack07".to_string(), "nested-07.yaml".to_string()));
        assert_eq!((stack_id(0, 3), stack_file(2, 3)), ("NestedStack1".to_string(), "nested-3.yaml".to_string()));
    }

    /// A nested template with more functions than its Description holds names as many as fit
    /// and says how many more, never cutting a name.
    #[test]
    fn a_long_description_names_what_fits_and_counts_the_rest() {
        let view = crate::cfn::table::lowered("", "topics:\n  t: {}\n");
        let n = Nested {
            id: "NestedStack01".into(),
            file: "nested-01.yaml".into(),
            functions: (0..400).map(|i| format!("function_{i}")).collect(),
        };
        let d = description(&view, &n);
        assert!(d.len() <= 1024, "{}", d.len());
        assert!(d.ends_with(" more (generated by flowform)"), "{d}");
        let listed = d.matches("function_").count();
        assert!(d.contains(&format!(" and {} more", 400 - listed)), "{d}");
    }

    /// The references of a line, wherever the layout puts them: flow lists and mappings,
    /// `!Sub` strings (the `yaml` filter always JSON-quotes them; with `${!Literal}` and pseudo
    /// parameters), and nothing inside other quoted scalars.
    #[test]
    fn tokens_find_every_reference_and_only_those() {
        type Found<'a> = &'a [(&'a str, Option<&'a str>)];
        let rows: &[(&str, Found)] = &[
            ("      TopicArn: !Ref OrdersTopic", &[("OrdersTopic", None)]),
            ("      Role: !GetAtt FRole.Arn", &[("FRole", Some("Arn"))]),
            ("        Resource: [!GetAtt A.Arn, !Ref B]", &[("A", Some("Arn")), ("B", None)]),
            ("        X: { a: !Ref A, b: \"!Ref NotMe\" }", &[("A", None)]),
            (
                "        Y: !Sub \"arn:${AWS::Partition}:x:${Api}/*/${!Stage}/${Q.Arn}\"",
                &[("AWS::Partition", None), ("Api", None), ("Q", Some("Arn"))],
            ),
            ("    Description: \"a !Ref in text, ${NotMe}\"", &[]),
        ];
        for (line, want) in rows {
            let got: Vec<(&str, Option<&str>)> = tokens(line).unwrap().iter().map(|t| (t.target, t.attr)).collect();
            assert_eq!(got, *want, "{line}");
        }
        assert!(tokens("    Description: Wow !Important").unwrap().is_empty(), "a `!` in plain text");
    }
}
