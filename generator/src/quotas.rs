//! Quotas a config can push past, checked on the lowered stack before anything is written
//! (and, for the body size, on the rendered template): CloudFormation's per-template limits
//! (resources, outputs, parameters, logical-ID length, body size), IAM's inline-policy size
//! per role, SQS's queue-policy size and statement count, KMS's key-policy size, and Lambda's
//! environment size. Each error is at the name that grows the quantity (or at the stage) and
//! says what to change. Limits of single values (ranges, name lengths, filter policies) are
//! checked in `validate`; templates declare no `Mappings`, so that limit cannot be reached.
//!
//! Policy and environment sizes count what AWS counts: the text after deployment, when every
//! `Ref`, `Fn::GetAtt` and `Fn::Sub` is resolved. [`Resolved`] estimates that from above: the
//! ARN or URL of a resource flowform names is at most [`ARN_PREFIX`] characters plus its name
//! (the longest partition, service, region and account), anything else (a parameter's value,
//! a role's generated name) [`OTHER_VALUE`].

use crate::cfn::{self, LogicalId, StackView, Statement};
use crate::codes::Code;
use crate::config::{RawConfig, RawTrigger, Sp};
use crate::diag::{Diagnostic, Span};
use crate::ids;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Outputs per template.
pub const MAX_OUTPUTS: usize = 200;
/// Parameters per template.
pub const MAX_PARAMETERS: usize = 200;
/// Characters of a logical ID.
pub const MAX_LOGICAL_ID: usize = 255;
/// Bytes of a template body: S3 holds at most 1,000,000 for `aws cloudformation deploy
/// --s3-bucket` (cfn-lint's E1002 uses the same number), less a tenth for `aws
/// cloudformation package`, which writes the template again in its own YAML style.
pub const MAX_TEMPLATE_BYTES: usize = 900_000;
/// Characters (whitespace not counted) of all inline policies of one IAM role.
pub const MAX_ROLE_POLICY: usize = 10_240;
/// Bytes of an SQS queue policy (its statements stay two or three: the subscribed topics share
/// one, so SQS's 20 statements are not reached).
pub const MAX_QUEUE_POLICY: usize = 8_192;
/// Bytes of a KMS key policy.
pub const MAX_KEY_POLICY: usize = 32_768;
/// Bytes of a Lambda function's environment variables, as Lambda measures them: the JSON
/// object `{"NAME":"value",...}`.
pub const MAX_FUNCTION_ENV: usize = 4_096;
/// Bytes of a Lambda function's resource policy (one statement per permission: per route).
pub const MAX_FUNCTION_POLICY: usize = 20_480;
/// Longest ARN or URL prefix before a name flowform gives: e.g.
/// `arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:` (65) or
/// `https://sqs.us-gov-west-1.amazonaws.com/123456789012/` (53), plus a secret's `-AbCdEf`.
pub const ARN_PREFIX: usize = 80;
/// What a reference to anything else counts: a parameter (an ARN, URL or host the deployer
/// passes; its default when that is longer) or a resource whose name CloudFormation
/// generates (an IAM role, up to 64).
pub const OTHER_VALUE: usize = 128;

/// Every quota of one lowered stack, at the stage's name or at the config name that grows it.
pub(crate) fn check(raw: &RawConfig, view: &StackView) -> Vec<Diagnostic> {
    let stage = stage_span(raw, &view.stage);
    // Nested stacks: the counts hold per template, after the split (`nested_template`).
    let mut out = if raw.nested_stacks.is_some() { Vec::new() } else { counts(view, stage) };
    out.extend(long_ids(&producers(raw), view, stage));
    let resolved = Resolved::of(view);
    let naming = crate::model::Naming { system: &view.system, stage: &view.stage };
    // Physical name -> the config name it comes from (one pass, not one per function).
    let by_physical: std::collections::HashMap<String, &crate::config::Name> =
        raw.functions.iter().map(|(n, _)| (naming.of(&n.value), n)).collect();
    for f in &view.functions {
        let (at, name) = by_physical.get(&f.name).map_or((stage, f.name.as_str()), |n| (n.span, n.value.as_str()));
        out.extend(function_quotas(&resolved, f, at, name));
    }
    for q in &view.queues {
        let size = resolved.policy(&q.statements);
        if size > MAX_QUEUE_POLICY {
            let (at, name) = raw
                .queues
                .iter()
                .find(|(n, q2)| naming.fifo(&n.value, q2.fifo.as_ref().is_some_and(|f| f.value)) == q.name)
                .map_or((stage, q.name.as_str()), |(n, _)| (n.span, n.value.as_str()));
            out.push(too_big(at, format!("the policy of queue `{name}`"), size, MAX_QUEUE_POLICY, "bytes")
                .with_help("it names every topic the queue subscribes to, twice (who may send, and the deny of everyone else), and the stage's operators: subscribe fewer topics, e.g. publish to one topic with a message attribute and filter on it"));
        }
    }
    let key = resolved.policy(&view.key.statements);
    if key > MAX_KEY_POLICY {
        out.push(
            too_big(stage, "the stack key's policy".into(), key, MAX_KEY_POLICY, "bytes")
                .with_help("it names every service that uses the key: split the system into several configs"),
        );
    }
    out
}

/// Resources, outputs and parameters of the template.
fn counts(view: &StackView, stage: Span) -> Vec<Diagnostic> {
    // About 250 resources a nested stack leaves room for the hash's uneven spread.
    let nested = format!(
        "add `nested_stacks: {}` at the top level: a root stack plus nested stacks the functions hash into (on a deployed stage that moves every function, which needs stack refactoring: see docs/config.md), or split the system into several configs",
        view.resource_count.div_ceil(250).max(2)
    );
    let counts = [
        (view.resource_count, cfn::MAX_RESOURCES, "resources", nested.as_str()),
        (view.outputs.len(), MAX_OUTPUTS, "outputs", "every queue, dead-letter queue and topic has one output: add `nested_stacks` (each nested stack holds its queues' outputs), or split the system into several configs"),
        (view.parameters.len(), MAX_PARAMETERS, "parameters", "every endpoint has one parameter and every database three: share endpoints and databases between functions, or split the system"),
    ];
    counts
        .into_iter()
        .filter(|(n, max, _, _)| n > max)
        .map(|(n, max, what, help)| {
            Diagnostic::error(
                Code::Quota,
                stage,
                format!("stage `{}` needs {n} {what}; one CloudFormation template holds at most {max}", view.stage),
            )
            .with_help(help)
        })
        .collect()
}

/// A function's role policy, environment and resource policy, at its name.
fn function_quotas(resolved: &Resolved, f: &cfn::FunctionView, at: Span, name: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let policy = resolved.policy(&f.statements);
    if policy > MAX_ROLE_POLICY {
        out.push(too_big(at, format!("the role of function `{name}`"), policy, MAX_ROLE_POLICY, "characters")
            .with_help("the role grows with every topic, queue, secret, database and email the function uses: split the function's work between two functions"));
    }
    let env = 2
        + f.env.iter().map(|e| e.name.len() + 3 + resolved.len(&json(&e.value))).sum::<usize>()
        + f.env.len().saturating_sub(1);
    if env > MAX_FUNCTION_ENV {
        out.push(too_big(at, format!("the environment of function `{name}`"), env, MAX_FUNCTION_ENV, "bytes")
            .with_help("every `env` entry, topic, queue, database, endpoint and secret adds a variable: shorten `env` values, or move large settings to a secret"));
    }
    let permissions = resolved.permissions(f);
    if permissions > MAX_FUNCTION_POLICY {
        out.push(
            too_big(at, format!("the resource policy of function `{name}`"), permissions, MAX_FUNCTION_POLICY, "bytes")
                .with_help("every route adds a statement: split the routes between functions"),
        );
    }
    out
}

/// The template body's size, once rendered.
pub(crate) fn template_size(raw: &RawConfig, stage: &str, text: &str) -> Option<Diagnostic> {
    (text.len() > MAX_TEMPLATE_BYTES).then(|| {
        too_big(
            stage_span(raw, stage),
            format!("the template of stage `{stage}`"),
            text.len(),
            MAX_TEMPLATE_BYTES,
            "bytes",
        )
        .with_help("shorten descriptions and `env` values, or split the system into several configs")
    })
}

/// Resources, parameters, outputs and size of one template of a stage split into nested
/// stacks (`file`: `template.yaml`, the root, or a nested one), at `nested_stacks`.
pub(crate) fn nested_template(raw: &RawConfig, stage: &str, file: &str, text: &str) -> Vec<Diagnostic> {
    let at = raw.nested_stacks.as_ref().map_or_else(|| stage_span(raw, stage), |n| n.span);
    let (mut section, mut counts) = ("", BTreeMap::<&str, usize>::new());
    for line in text.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') {
            section = line.split(':').next().unwrap_or_default();
        } else if line.len() > 2 && line.starts_with("  ") && !line[2..].starts_with([' ', '#']) {
            *counts.entry(section).or_default() += 1;
        }
    }
    let hashed = file
        .strip_prefix("nested-")
        .and_then(|f| f.strip_suffix(".yaml"))
        .map(|k| k.chars().all(|c| c.is_ascii_digit()));
    let help = match hashed {
        None => "the root holds the key, the topics, the HTTP API, the secrets and email, and one resource per nested stack: split the system into several configs (one stack each), e.g. by domain".to_string(),
        Some(true) => {
            // About 250 resources a nested stack leaves room for the hash's uneven spread.
            let n = raw.nested_stacks.as_ref().map_or(1, |n| n.value as usize);
            let resources = counts.get("Resources").copied().unwrap_or_default();
            format!(
                "raise it to about `nested_stacks: {}`: functions hash into more, smaller nested stacks (on a deployed stage that moves functions between stacks, which needs stack refactoring first: `flowform plan` lists the moves)",
                (n * resources).div_ceil(250).max(n + 1)
            )
        }
        Some(false) => format!("pin fewer functions to it with `stack:` ({file}); the others hash into the `nested_stacks` buckets"),
    };
    let help = help.as_str();
    let mut out: Vec<Diagnostic> = [
        ("Resources", cfn::MAX_RESOURCES, "resources"),
        ("Parameters", MAX_PARAMETERS, "parameters"),
        ("Outputs", MAX_OUTPUTS, "outputs"),
    ]
    .into_iter()
    .filter_map(|(section, max, what)| {
        let n = counts.get(section).copied().unwrap_or_default();
        (n > max).then(|| {
            Diagnostic::error(
                Code::Quota,
                at,
                format!("stage `{stage}`: {file} needs {n} {what}; one CloudFormation template holds at most {max}"),
            )
            .with_help(help)
        })
    })
    .collect();
    if text.len() > MAX_TEMPLATE_BYTES {
        out.push(
            too_big(at, format!("{file} of stage `{stage}`"), text.len(), MAX_TEMPLATE_BYTES, "bytes").with_help(help),
        );
    }
    out
}

fn too_big(at: Span, what: String, size: usize, max: usize, unit: &str) -> Diagnostic {
    Diagnostic::error(Code::Quota, at, format!("{what} would be about {size} {unit} once deployed; AWS allows {max}"))
}

fn stage_span(raw: &RawConfig, stage: &str) -> Span {
    raw.stages.iter().find(|(n, _)| n.value == stage).map_or(raw.top, |(n, _)| n.span)
}

fn json(v: &impl serde::Serialize) -> Json {
    serde_json::to_value(v).unwrap_or_default()
}

/// What produces logical IDs: the config's names (an ID starts with the PascalCase name) and
/// HTTP routes.
fn producers(raw: &RawConfig) -> Vec<(String, Span, &str)> {
    let mut producers: Vec<(String, Span, &str)> =
        raw.names().map(|n| (ids::pascal(&n.value), n.span, n.value.as_str())).collect();
    for (_, f) in &raw.functions {
        if let Some(Sp { value: RawTrigger::Http { routes, .. }, .. }) = &f.trigger {
            for r in routes {
                let (method, path) = r.value.split_once(' ').unwrap_or((&r.value, ""));
                producers.push((ids::route_id(method, path.trim()), r.span, r.value.as_str()));
            }
        }
    }
    producers
}

/// The producer of `id` most specifically (the longest that starts it): its position and name.
fn producer<'a>(producers: &[(String, Span, &'a str)], id: &LogicalId) -> Option<(Span, &'a str)> {
    producers
        .iter()
        .filter(|(p, _, _)| id.as_str().starts_with(p.as_str()))
        .max_by_key(|(p, _, _)| p.len())
        .map(|(_, s, n)| (*s, *n))
}

/// Logical IDs over 255 characters, at the name or route that produces them, once per
/// producer (its longest ID).
fn long_ids(producers: &[(String, Span, &str)], view: &StackView, stage: Span) -> Vec<Diagnostic> {
    let all = cfn::logical_ids(view)
        .into_iter()
        .chain(view.parameters.iter().map(|p| p.id.clone()))
        .chain(view.outputs.iter().map(|o| o.id.clone()));
    let mut longest: BTreeMap<Span, LogicalId> = BTreeMap::new();
    for id in all.filter(|id| id.as_str().len() > MAX_LOGICAL_ID) {
        let at = producer(producers, &id).map_or(stage, |(s, _)| s);
        let entry = longest.entry(at).or_insert_with(|| id.clone());
        if id.as_str().len() > entry.as_str().len() {
            *entry = id;
        }
    }
    longest
        .into_iter()
        .map(|(at, id)| {
            Diagnostic::error(
                Code::Quota,
                at,
                format!(
                    "this makes a logical ID of {} characters (`{}…`); CloudFormation allows {MAX_LOGICAL_ID}",
                    id.as_str().len(),
                    &id.as_str()[..40]
                ),
            )
            .with_help("shorten the name or route; a logical ID is its letters and digits plus a kind suffix")
        })
        .collect()
}

/// Estimated lengths of values once CloudFormation resolves their intrinsic functions.
struct Resolved {
    /// Logical ID -> most characters its `Ref` or `GetAtt` resolves to, where known.
    lengths: BTreeMap<String, usize>,
}

impl Resolved {
    fn of(view: &StackView) -> Self {
        let mut lengths = BTreeMap::new();
        let mut named = |id: &LogicalId, name: &str| lengths.insert(id.as_str().to_string(), ARN_PREFIX + name.len());
        for t in view.alarm_topic.iter().chain(&view.topics) {
            named(&t.id, &t.name);
        }
        for q in &view.queues {
            named(&q.id, &q.name);
        }
        for s in &view.secrets {
            named(&s.id, &s.name);
        }
        for f in &view.functions {
            named(&f.id, &f.name);
            named(&f.log_group_id, &f.log_group_name);
        }
        if let Some(h) = &view.http {
            lengths.insert(h.api_id.as_str().to_string(), 10); // an HTTP API's ID
        }
        for p in &view.parameters {
            let default = p.default.as_ref().map_or(0, |d| d.len());
            lengths.insert(p.id.as_str().to_string(), default.max(OTHER_VALUE));
        }
        Resolved { lengths }
    }

    /// A function's resource policy: one statement per permission, e.g.
    /// `{"Sid":"<stack>-<PermissionId>-<random>","Effect":"Allow","Principal":{"Service":
    /// "apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"<function
    /// ARN>","Condition":{"ArnLike":{"AWS:SourceArn":"<source ARN>"}}}`.
    fn permissions(&self, f: &cfn::FunctionView) -> usize {
        let fixed = r#"{"Sid":"","Effect":"Allow","Principal":{"Service":""},"Action":"lambda:InvokeFunction","Resource":"","Condition":{"ArnLike":{"AWS:SourceArn":}}},"#.len();
        let statements: usize = f
            .permissions
            .iter()
            .map(|p| {
                fixed
                    + OTHER_VALUE
                    + p.id.as_str().len()
                    + p.principal.len()
                    + ARN_PREFIX
                    + f.name.len()
                    + self.len(&json(&p.source_arn))
            })
            .sum();
        r#"{"Version":"2012-10-17","Id":"default","Statement":[]}"#.len() + statements
    }

    /// A policy document `{"Version":"2012-10-17","Statement":[...]}` without whitespace.
    fn policy(&self, statements: &[Statement]) -> usize {
        let list: Vec<Json> = statements.iter().map(json).collect();
        r#"{"Version":"2012-10-17","Statement":}"#.len() + self.len(&Json::Array(list))
    }

    fn reference(&self, id: &str) -> usize {
        let id = id.split('.').next().unwrap_or(id);
        if id.starts_with("AWS::") {
            return 16; // AWS::URLSuffix `amazonaws.com.cn`; partition, region and account are shorter
        }
        self.lengths.get(id).copied().unwrap_or(OTHER_VALUE)
    }

    /// Compact JSON length with each intrinsic replaced by (quotes around) its resolved length;
    /// null fields (absent in the template) count nothing.
    fn len(&self, v: &Json) -> usize {
        match v {
            Json::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one entry");
                match (k.as_str(), arg) {
                    ("Ref", Json::String(id)) => 2 + self.reference(id),
                    ("Fn::GetAtt", Json::Array(a)) => {
                        2 + self.reference(a.first().and_then(Json::as_str).unwrap_or(""))
                    }
                    ("Fn::Sub", Json::String(s)) => 2 + self.sub(s),
                    // Another stack's ARN: its export name is longer than the physical name
                    // the ARN ends in (`<system>-<stage>-<Name>TopicArn`).
                    ("Fn::ImportValue", Json::String(name)) => 2 + ARN_PREFIX + name.len(),
                    ("Fn::Join", Json::Array(a)) if a.len() == 2 => {
                        let delim = a[0].as_str().map_or(0, str::len);
                        let parts = a[1].as_array().map_or(&[][..], Vec::as_slice);
                        let inner: usize = parts.iter().map(|p| self.len(p).saturating_sub(2)).sum();
                        2 + inner + delim * parts.len().saturating_sub(1)
                    }
                    _ => self.object(m),
                }
            }
            Json::Object(m) => self.object(m),
            Json::Array(items) => 2 + items.iter().map(|i| self.len(i)).sum::<usize>() + items.len().saturating_sub(1),
            other => other.to_string().len(),
        }
    }

    fn object(&self, m: &serde_json::Map<String, Json>) -> usize {
        let fields: Vec<usize> = m
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| Json::String(k.clone()).to_string().len() + 1 + self.len(v))
            .collect();
        2 + fields.iter().sum::<usize>() + fields.len().saturating_sub(1)
    }

    /// `Fn::Sub` text: literal characters plus each `${X}` resolved.
    fn sub(&self, s: &str) -> usize {
        let mut n = 0;
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            n += i;
            let Some(end) = rest[i..].find('}') else { break };
            let name = &rest[i + 2..i + end];
            n += if name.starts_with('!') { name.len() + 2 } else { self.reference(name) };
            rest = &rest[i + end + 1..];
        }
        n + rest.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolved() -> Resolved {
        Resolved { lengths: [("ShopQueue".to_string(), ARN_PREFIX + 20)].into() }
    }

    #[test]
    fn intrinsics_count_as_their_resolved_text() {
        let r = resolved();
        // Literals are their compact JSON.
        assert_eq!(r.len(&json!({"a": [1, "x"]})), r#"{"a":[1,"x"]}"#.len());
        // A named resource: the longest prefix plus its name, quoted.
        assert_eq!(r.len(&json!({"Ref": "ShopQueue"})), 2 + ARN_PREFIX + 20);
        assert_eq!(r.len(&json!({"Fn::GetAtt": ["ShopQueue", "Arn"]})), 2 + ARN_PREFIX + 20);
        // Anything else: a parameter or a generated name.
        assert_eq!(r.len(&json!({"Ref": "FactoryUrl"})), 2 + OTHER_VALUE);
        assert_eq!(r.len(&json!({"Fn::ImportValue": "p-dev-PaidTopicArn"})), 2 + ARN_PREFIX + 18);
        // Sub: literal text plus each placeholder; `${!x}` stays as `${x}`.
        assert_eq!(
            r.len(&json!({"Fn::Sub": "a:${AWS::Region}:${ShopQueue.Arn}/${!x}"})),
            2 + 2 + 16 + 1 + ARN_PREFIX + 20 + 1 + 4
        );
        // Join: parts and delimiters.
        assert_eq!(r.len(&json!({"Fn::Join": ["$", ["ab", "cd"]]})), 2 + 5);
        // Absent fields count nothing.
        assert_eq!(r.len(&json!({"a": null, "b": 1})), r#"{"b":1}"#.len());
    }
}
