//! `flowform plan`: what a change to the generated templates does when CloudFormation applies
//! it. Resources added, removed, changed (with the changed properties); for each change
//! whether CloudFormation updates in place, interrupts or REPLACES the resource (from the
//! [`UPDATE_BEHAVIOUR`] table) and what that means for data; IAM changes per function in
//! words; new or changed routes and schedules; weakened encryption or TLS policies.

use serde::Serialize;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Update {
    /// Updated in place, no interruption.
    InPlace,
    /// Updated in place with some interruption.
    Interruption,
    /// A new physical resource replaces the old one.
    Replacement,
}

use Update::*;

/// How CloudFormation updates each property flowform emits, per resource type (from the
/// resource type reference's "Update requires"). A test checks that every property in the
/// generated templates has an entry; an unknown property counts as Replacement.
pub const UPDATE_BEHAVIOUR: &[(&str, &[(&str, Update)])] = &[
    ("AWS::KMS::Key", &[("Description", InPlace), ("EnableKeyRotation", InPlace), ("KeyPolicy", InPlace)]),
    ("AWS::KMS::Alias", &[("AliasName", Replacement), ("TargetKeyId", InPlace)]),
    (
        "AWS::SecretsManager::Secret",
        &[("Name", Replacement), ("Description", InPlace), ("KmsKeyId", InPlace), ("GenerateSecretString", InPlace)],
    ),
    (
        "AWS::SNS::Topic",
        &[
            ("TopicName", Replacement),
            ("FifoTopic", Replacement),
            ("ContentBasedDeduplication", InPlace),
            ("KmsMasterKeyId", InPlace),
        ],
    ),
    ("AWS::SNS::TopicPolicy", &[("Topics", InPlace), ("PolicyDocument", InPlace)]),
    (
        "AWS::SNS::Subscription",
        &[
            ("TopicArn", Replacement),
            ("Protocol", Replacement),
            ("Endpoint", Replacement),
            ("RawMessageDelivery", InPlace),
            ("FilterPolicy", InPlace),
            ("FilterPolicyScope", InPlace),
        ],
    ),
    (
        "AWS::SQS::Queue",
        &[
            ("QueueName", Replacement),
            ("FifoQueue", Replacement),
            ("ContentBasedDeduplication", InPlace),
            ("KmsMasterKeyId", InPlace),
            ("KmsDataKeyReusePeriodSeconds", InPlace),
            ("MessageRetentionPeriod", InPlace),
            ("VisibilityTimeout", InPlace),
            ("RedrivePolicy", InPlace),
            ("RedriveAllowPolicy", InPlace),
        ],
    ),
    ("AWS::SQS::QueuePolicy", &[("Queues", InPlace), ("PolicyDocument", InPlace)]),
    (
        "AWS::CloudWatch::Alarm",
        &[
            ("AlarmName", Replacement),
            ("AlarmDescription", InPlace),
            ("Namespace", InPlace),
            ("MetricName", InPlace),
            ("Dimensions", InPlace),
            ("Statistic", InPlace),
            ("Period", InPlace),
            ("EvaluationPeriods", InPlace),
            ("Threshold", InPlace),
            ("ComparisonOperator", InPlace),
            ("TreatMissingData", InPlace),
            ("AlarmActions", InPlace),
        ],
    ),
    ("AWS::IAM::Role", &[("Description", InPlace), ("AssumeRolePolicyDocument", InPlace), ("Policies", InPlace)]),
    ("AWS::Logs::LogGroup", &[("LogGroupName", Replacement), ("RetentionInDays", InPlace), ("KmsKeyId", InPlace)]),
    (
        "AWS::Lambda::Function",
        &[
            ("FunctionName", Replacement),
            ("Description", InPlace),
            ("Runtime", InPlace),
            ("Handler", InPlace),
            ("Architectures", InPlace),
            ("Code", InPlace),
            ("MemorySize", InPlace),
            ("Timeout", InPlace),
            ("ReservedConcurrentExecutions", InPlace),
            ("Role", InPlace),
            ("LoggingConfig", InPlace),
            ("KmsKeyArn", InPlace),
            ("Environment", InPlace),
            ("VpcConfig", InPlace),
            ("DeadLetterConfig", InPlace),
        ],
    ),
    (
        "AWS::Lambda::EventSourceMapping",
        &[
            ("EventSourceArn", Replacement),
            ("FunctionName", InPlace),
            ("Enabled", InPlace),
            ("BatchSize", InPlace),
            ("MaximumBatchingWindowInSeconds", InPlace),
            ("FunctionResponseTypes", InPlace),
            ("ScalingConfig", InPlace),
        ],
    ),
    (
        "AWS::Lambda::Permission",
        &[
            ("Action", Replacement),
            ("FunctionName", Replacement),
            ("Principal", Replacement),
            ("SourceArn", Replacement),
        ],
    ),
    (
        "AWS::Lambda::EventInvokeConfig",
        &[
            ("FunctionName", Replacement),
            ("Qualifier", Replacement),
            ("MaximumRetryAttempts", InPlace),
            ("MaximumEventAgeInSeconds", InPlace),
        ],
    ),
    (
        "AWS::Events::Rule",
        &[
            ("Name", Replacement),
            ("Description", InPlace),
            ("ScheduleExpression", InPlace),
            ("State", InPlace),
            ("Targets", InPlace),
        ],
    ),
    (
        "AWS::EC2::SecurityGroup",
        &[("GroupDescription", Replacement), ("VpcId", Replacement), ("SecurityGroupEgress", InPlace)],
    ),
    (
        "AWS::EC2::SecurityGroupIngress",
        &[
            ("Description", InPlace),
            ("GroupId", Replacement),
            ("IpProtocol", Replacement),
            ("FromPort", Replacement),
            ("ToPort", Replacement),
            ("SourceSecurityGroupId", Replacement),
        ],
    ),
    ("AWS::ApiGatewayV2::Api", &[("Name", InPlace), ("ProtocolType", Replacement)]),
    (
        "AWS::ApiGatewayV2::Stage",
        &[
            ("ApiId", Replacement),
            ("StageName", Replacement),
            ("AutoDeploy", InPlace),
            ("AccessLogSettings", InPlace),
            ("DefaultRouteSettings", InPlace),
        ],
    ),
    (
        "AWS::ApiGatewayV2::Integration",
        &[
            ("ApiId", Replacement),
            ("IntegrationType", InPlace),
            ("IntegrationUri", InPlace),
            ("PayloadFormatVersion", InPlace),
            ("TimeoutInMillis", InPlace),
        ],
    ),
    (
        "AWS::ApiGatewayV2::Route",
        &[("ApiId", Replacement), ("RouteKey", InPlace), ("AuthorizationType", InPlace), ("Target", InPlace)],
    ),
    ("AWS::SES::ConfigurationSet", &[("Name", Replacement), ("DeliveryOptions", InPlace)]),
    ("AWS::SES::EmailIdentity", &[("EmailIdentity", Replacement), ("ConfigurationSetAttributes", InPlace)]),
];

pub fn behaviour(ty: &str, prop: &str) -> Option<Update> {
    UPDATE_BEHAVIOUR
        .iter()
        .find(|(t, _)| *t == ty)
        .and_then(|(_, props)| props.iter().find(|(p, _)| *p == prop))
        .map(|(_, u)| *u)
}

#[derive(Debug, Serialize, PartialEq)]
pub struct PropChange {
    pub property: String,
    pub update: Update,
    pub before: Json,
    pub after: Json,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Modified,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Change {
    pub logical_id: String,
    pub resource_type: String,
    pub kind: ChangeKind,
    /// The strongest update behaviour among the changed properties (modified resources).
    pub update: Option<Update>,
    pub properties: Vec<PropChange>,
    /// What the change means for data and wiring, in words; empty when nothing is at risk.
    pub consequence: Option<String>,
    /// Replaces or removes a resource that holds data or wiring.
    pub destructive: bool,
}

#[derive(Debug, Serialize, Default, PartialEq)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// "checkout can now publish to topic purchases"
    pub permissions: Vec<String>,
    /// New, removed or changed HTTP routes and who may call them.
    pub routes: Vec<String>,
    /// New, removed or changed schedules of functions.
    pub schedules: Vec<String>,
    /// Encryption or TLS protections removed.
    pub weakened: Vec<String>,
}

impl Plan {
    pub fn destructive(&self) -> bool {
        self.changes.iter().any(|c| c.destructive) || !self.weakened.is_empty()
    }
}

fn resources(t: &Json) -> BTreeMap<String, Json> {
    t["Resources"].as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

fn stateful(ty: &str) -> Option<&'static str> {
    match ty {
        "AWS::SQS::Queue" => {
            Some("the queue's messages are left behind in the retained old queue, which nothing reads any more")
        }
        "AWS::SNS::Topic" => {
            Some("subscriptions made outside this stack are dropped, and publishers must use the new ARN")
        }
        "AWS::Logs::LogGroup" => Some("logs so far stay in the retained old log group; new logs start empty"),
        "AWS::KMS::Key" => Some("data encrypted with the old key needs the retained old key to be read"),
        "AWS::SecretsManager::Secret" => Some("a new secret value: tokens signed with the old one stop working"),
        "AWS::SNS::Subscription" => Some("messages published while the subscription is recreated are not delivered"),
        _ => None,
    }
}

/// Compares two templates (before -> after).
pub fn plan(before: &Json, after: &Json) -> Plan {
    let (b, a) = (resources(before), resources(after));
    let mut p = Plan::default();
    let ids: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for id in ids {
        match (b.get(id), a.get(id)) {
            (None, Some(r)) => p.changes.push(Change {
                logical_id: id.clone(),
                resource_type: r["Type"].as_str().unwrap_or_default().into(),
                kind: ChangeKind::Added,
                update: None,
                properties: Vec::new(),
                consequence: None,
                destructive: false,
            }),
            (Some(r), None) => {
                let ty = r["Type"].as_str().unwrap_or_default().to_string();
                let retained = r["DeletionPolicy"] == "Retain";
                let mut consequence = stateful(&ty).map(|c| format!("removed: {c}"));
                let source_stays =
                    id.strip_suffix("DeadLetterQueue").is_some_and(|base| a.contains_key(&format!("{base}Queue")));
                if ty == "AWS::SQS::Queue" && source_stays {
                    consequence = Some("removed dead-letter queue: failed messages of its queue will be retried until they expire, then lost".into());
                }
                let schedule_stays = id
                    .strip_suffix("DeadLetterQueue")
                    .is_some_and(|base| a.contains_key(&format!("{base}ScheduleRule")));
                if ty == "AWS::SQS::Queue" && schedule_stays {
                    consequence = Some("removed dead-letter queue: failed scheduled runs of its function will be dropped after their retries".into());
                }
                if retained {
                    consequence = Some(format!(
                        "{} (DeletionPolicy Retain keeps the old resource)",
                        consequence.unwrap_or_else(|| "removed".into())
                    ));
                }
                p.changes.push(Change {
                    logical_id: id.clone(),
                    destructive: stateful(&ty).is_some(),
                    resource_type: ty,
                    kind: ChangeKind::Removed,
                    update: None,
                    properties: Vec::new(),
                    consequence,
                });
            }
            (Some(rb), Some(ra)) => {
                let ty = ra["Type"].as_str().unwrap_or_default().to_string();
                let empty = serde_json::Map::new();
                let pb = rb["Properties"].as_object().unwrap_or(&empty);
                let pa = ra["Properties"].as_object().unwrap_or(&empty);
                let names: BTreeSet<&String> = pb.keys().chain(pa.keys()).collect();
                let mut props = Vec::new();
                for n in names {
                    let (x, y) = (pb.get(n).cloned().unwrap_or(Json::Null), pa.get(n).cloned().unwrap_or(Json::Null));
                    if x != y {
                        props.push(PropChange {
                            property: n.clone(),
                            update: behaviour(&ty, n).unwrap_or(Replacement),
                            before: x,
                            after: y,
                        });
                    }
                }
                if rb["Type"] != ra["Type"] {
                    props.push(PropChange {
                        property: "Type".into(),
                        update: Replacement,
                        before: rb["Type"].clone(),
                        after: ra["Type"].clone(),
                    });
                }
                if props.is_empty() {
                    continue;
                }
                let update = props.iter().map(|c| c.update).max();
                let replaced = update == Some(Replacement);
                let mut consequence = if replaced { stateful(&ty).map(|c| format!("replaced: {c}")) } else { None };
                if ty == "AWS::SQS::Queue" && props.iter().any(|c| c.property == "RedrivePolicy" && c.after.is_null()) {
                    consequence = Some(
                        consequence.map_or(String::new(), |c| format!("{c}; "))
                            + "its dead-letter queue is detached: failed messages are retried until they expire",
                    );
                }
                // Updated in place, but CloudFormation generates a new value.
                let regenerated =
                    ty == "AWS::SecretsManager::Secret" && props.iter().any(|c| c.property == "GenerateSecretString");
                if regenerated && !replaced {
                    consequence = Some("GenerateSecretString changed: CloudFormation generates a new secret value; tokens signed with the old one stop working".into());
                }
                p.changes.push(Change {
                    logical_id: id.clone(),
                    destructive: replaced && stateful(&ty).is_some()
                        || regenerated
                        || consequence.as_deref().is_some_and(|c| c.contains("detached")),
                    resource_type: ty,
                    kind: ChangeKind::Modified,
                    update,
                    properties: props,
                    consequence,
                });
            }
            (None, None) => {}
        }
    }
    p.permissions = permissions(&b, &a);
    p.routes = routes(&b, &a);
    p.schedules = schedules(&b, &a);
    p.weakened = weakened(&b, &a);
    p
}

/// `donut-shop-dev-out-of-stock` style words for a policy resource.
fn noun(r: &Json) -> String {
    let id_of = |s: &str| s.to_string();
    let name = if let Some(x) = r.get("Ref").and_then(Json::as_str) {
        id_of(x)
    } else if let Some(x) = r.get("Fn::GetAtt").and_then(|g| g[0].as_str()) {
        id_of(x)
    } else if let Some(x) = r.get("Fn::Sub").and_then(Json::as_str) {
        x.rsplit([':', '/']).next().unwrap_or(x).trim_start_matches("${").trim_end_matches('}').to_string()
    } else {
        r.as_str().unwrap_or("?").to_string()
    };
    for (suffix, kind) in [
        ("DeadLetterQueue", "dead-letter queue"),
        ("Queue", "queue"),
        ("Topic", "topic"),
        ("Secret", "secret"),
        ("DbSecretArn", "database secret"),
        ("LogGroup", "log group"),
        ("ConfigurationSet", "configuration set"),
        ("SecurityGroup", "security group"),
    ] {
        if let Some(base) = name.strip_suffix(suffix) {
            if !base.is_empty() {
                return format!("{kind} {}", snake(base));
            }
        }
    }
    if name == "EncryptionKey" {
        return "the stack key".into();
    }
    name
}

fn snake(pascal: &str) -> String {
    let mut out = String::new();
    for (i, c) in pascal.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn verb(action: &str) -> String {
    match action {
        "sns:Publish" => "publish to".into(),
        "sqs:ReceiveMessage" | "sqs:DeleteMessage" | "sqs:ChangeMessageVisibility" | "sqs:GetQueueAttributes" => {
            "consume".into()
        }
        "sqs:SendMessage" => "send to".into(),
        "ses:SendEmail" => "send email through".into(),
        "secretsmanager:GetSecretValue" => "read".into(),
        "logs:CreateLogStream" | "logs:PutLogEvents" => "write to".into(),
        "kms:Decrypt" => "decrypt with".into(),
        "kms:GenerateDataKey" => "encrypt with".into(),
        "rds-db:connect" => "connect (IAM auth) to".into(),
        a if a.starts_with("ec2:") => "manage network interfaces in".into(),
        other => format!("`{other}` on"),
    }
}

/// (function, verb, noun) grants of each role.
fn grants(res: &BTreeMap<String, Json>) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for (id, r) in res {
        if r["Type"] != "AWS::IAM::Role" {
            continue;
        }
        let func = snake(id.strip_suffix("Role").unwrap_or(id));
        for pol in r["Properties"]["Policies"].as_array().into_iter().flatten() {
            for s in pol["PolicyDocument"]["Statement"].as_array().into_iter().flatten() {
                let actions: Vec<&str> = match &s["Action"] {
                    Json::Array(a) => a.iter().filter_map(Json::as_str).collect(),
                    Json::String(x) => vec![x.as_str()],
                    _ => vec![],
                };
                let resources: Vec<Json> = match &s["Resource"] {
                    Json::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                for a in &actions {
                    for r in &resources {
                        out.insert((func.clone(), verb(a), noun(r)));
                    }
                }
            }
        }
    }
    out
}

fn permissions(b: &BTreeMap<String, Json>, a: &BTreeMap<String, Json>) -> Vec<String> {
    let (gb, ga) = (grants(b), grants(a));
    let mut out = Vec::new();
    for (f, v, n) in ga.difference(&gb) {
        out.push(format!("{f} can now {v} {n}"));
    }
    for (f, v, n) in gb.difference(&ga) {
        out.push(format!("{f} can no longer {v} {n}"));
    }
    out.dedup();
    out
}

fn route_table(res: &BTreeMap<String, Json>) -> BTreeMap<String, String> {
    res.values()
        .filter(|r| r["Type"] == "AWS::ApiGatewayV2::Route")
        .map(|r| {
            (
                r["Properties"]["RouteKey"].as_str().unwrap_or_default().to_string(),
                r["Properties"]["AuthorizationType"].as_str().unwrap_or("NONE").to_string(),
            )
        })
        .collect()
}

fn who(auth: &str) -> &'static str {
    if auth == "NONE" {
        "open to anyone at the gateway"
    } else {
        "signed (IAM) callers only"
    }
}

fn routes(b: &BTreeMap<String, Json>, a: &BTreeMap<String, Json>) -> Vec<String> {
    let (rb, ra) = (route_table(b), route_table(a));
    let mut out = Vec::new();
    for (k, auth) in &ra {
        match rb.get(k) {
            None => out.push(format!("new route {k}: {}", who(auth))),
            Some(old) if old != auth => out.push(format!("route {k} changes from {} to {}", who(old), who(auth))),
            _ => {}
        }
    }
    for k in rb.keys().filter(|k| !ra.contains_key(*k)) {
        out.push(format!("route {k} is removed"));
    }
    out
}

/// Schedule expression per function, from the schedule rules (`<Fn>ScheduleRule`).
fn schedule_table(res: &BTreeMap<String, Json>) -> BTreeMap<String, String> {
    res.iter()
        .filter(|(_, r)| r["Type"] == "AWS::Events::Rule")
        .map(|(id, r)| {
            let func = snake(id.strip_suffix("ScheduleRule").unwrap_or(id));
            (func, r["Properties"]["ScheduleExpression"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

fn schedules(b: &BTreeMap<String, Json>, a: &BTreeMap<String, Json>) -> Vec<String> {
    let (sb, sa) = (schedule_table(b), schedule_table(a));
    let mut out = Vec::new();
    for (f, expr) in &sa {
        match sb.get(f) {
            None => out.push(format!("{f} now runs on {expr}")),
            Some(old) if old != expr => out.push(format!("{f} runs on {expr} instead of {old}")),
            _ => {}
        }
    }
    for (f, old) in sb.iter().filter(|(f, _)| !sa.contains_key(*f)) {
        out.push(format!("{f} no longer runs on a schedule (was {old})"));
    }
    out
}

fn denies_insecure(r: &Json) -> bool {
    r["Properties"]["PolicyDocument"]["Statement"].as_array().is_some_and(|s| {
        s.iter().any(|st| st["Effect"] == "Deny" && st["Condition"]["Bool"]["aws:SecureTransport"] == "false")
    })
}

fn weakened(b: &BTreeMap<String, Json>, a: &BTreeMap<String, Json>) -> Vec<String> {
    let mut out = Vec::new();
    for (id, ra) in a {
        let Some(rb) = b.get(id) else { continue };
        let ty = ra["Type"].as_str().unwrap_or_default();
        for key in ["KmsMasterKeyId", "KmsKeyId", "KmsKeyArn"] {
            if !rb["Properties"][key].is_null() && ra["Properties"][key].is_null() {
                out.push(format!("{id} ({ty}) is no longer encrypted with the stack key ({key} removed)"));
            }
        }
        if ty == "AWS::KMS::Key"
            && rb["Properties"]["EnableKeyRotation"] == true
            && ra["Properties"]["EnableKeyRotation"] != true
        {
            out.push(format!("{id}: key rotation turned off"));
        }
        if (ty == "AWS::SQS::QueuePolicy" || ty == "AWS::SNS::TopicPolicy")
            && denies_insecure(rb)
            && !denies_insecure(ra)
        {
            out.push(format!("{id} no longer denies requests without TLS"));
        }
    }
    // A removed policy weakens TLS only when what it protected stays.
    let protected = |r: &Json| -> Vec<String> {
        ["Queues", "Topics"]
            .iter()
            .flat_map(|k| r["Properties"][*k].as_array().cloned().unwrap_or_default())
            .filter_map(|x| x["Ref"].as_str().map(String::from))
            .collect()
    };
    for (id, rb) in b {
        if !a.contains_key(id)
            && (rb["Type"] == "AWS::SQS::QueuePolicy" || rb["Type"] == "AWS::SNS::TopicPolicy")
            && denies_insecure(rb)
        {
            let kept: Vec<String> = protected(rb).into_iter().filter(|t| a.contains_key(t)).collect();
            if !kept.is_empty() {
                out.push(format!("{id} is removed: {} no longer refuse requests without TLS", kept.join(", ")));
            }
        }
    }
    out
}

fn short(v: &Json) -> String {
    let s = match v {
        Json::Null => "(none)".to_string(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(79).collect::<String>())
    } else {
        s
    }
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
    if p.changes.is_empty() {
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
                let _ = writeln!(o, "      {path}: {} -> {}{tag}", short(&before), short(&after));
            }
        }
        if let Some(cq) = &c.consequence {
            let _ = writeln!(o, "      => {cq}");
        }
    }
    for (title, items) in [
        ("permissions", &p.permissions),
        ("routes", &p.routes),
        ("schedules", &p.schedules),
        ("encryption and TLS weakened", &p.weakened),
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
        "{add} to add, {modi} to change, {rem} to remove{}",
        if p.destructive() { "; DESTRUCTIVE changes marked with !" } else { "" }
    );
    o
}

fn counts(p: &Plan) -> (usize, usize, usize) {
    let n = |k: ChangeKind| p.changes.iter().filter(|c| c.kind == k).count();
    (n(ChangeKind::Added), n(ChangeKind::Removed), n(ChangeKind::Modified))
}

/// Markdown for a pull-request comment.
pub fn markdown(p: &Plan, title: &str) -> String {
    let mut o = format!("### {title}\n\n");
    if p.changes.is_empty() {
        o.push_str("No changes to the stack.\n");
        return o;
    }
    let (add, rem, modi) = counts(p);
    let _ = writeln!(
        o,
        "{add} to add, {modi} to change, {rem} to remove.{}\n",
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
        let cq = c.consequence.clone().unwrap_or_default().replace('|', "\\|");
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
        ("Routes", &p.routes),
        ("Schedules", &p.schedules),
        ("Encryption and TLS weakened", &p.weakened),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renaming_a_queue_is_a_destructive_replacement() {
        let before = json!({"Resources": {"AQueue": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Retain", "Properties": {"QueueName": "a", "VisibilityTimeout": 60}}}});
        let after = json!({"Resources": {"AQueue": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Retain", "Properties": {"QueueName": "b", "VisibilityTimeout": 60}}}});
        let p = plan(&before, &after);
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].update, Some(Replacement));
        assert!(p.destructive());
        let p = plan(&before, &before);
        assert!(p.changes.is_empty() && !p.destructive());
    }

    #[test]
    fn schedule_changes_are_described_in_words() {
        let rule = |e: &str| json!({"Type": "AWS::Events::Rule", "Properties": {"Name": "s-dev-relay", "ScheduleExpression": e}});
        let t = |r: Option<Json>| json!({"Resources": r.map(|r| json!({"RelayScheduleRule": r})).unwrap_or(json!({}))});
        let p = plan(&t(Some(rule("rate(1 minute)"))), &t(Some(rule("rate(5 minutes)"))));
        assert_eq!(p.schedules, vec!["relay runs on rate(5 minutes) instead of rate(1 minute)".to_string()]);
        assert_eq!(p.changes[0].update, Some(InPlace));
        assert!(!p.destructive());
        assert_eq!(
            plan(&t(None), &t(Some(rule("rate(1 hour)")))).schedules,
            vec!["relay now runs on rate(1 hour)".to_string()]
        );
        assert_eq!(
            plan(&t(Some(rule("rate(1 hour)"))), &t(None)).schedules,
            vec!["relay no longer runs on a schedule (was rate(1 hour))".to_string()]
        );
    }

    #[test]
    fn a_new_secret_length_regenerates_the_value() {
        let s = |n: u64| json!({"Resources": {"KSecret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "k", "GenerateSecretString": {"PasswordLength": n}}}}});
        let p = plan(&s(64), &s(32));
        assert_eq!(p.changes[0].update, Some(InPlace));
        assert!(p.changes[0].destructive, "{:?}", p.changes[0]);
    }
}
