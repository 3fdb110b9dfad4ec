//! The wiring a change touches, in words: permissions per function, routes and who may call
//! them, schedules, and weakened encryption or TLS.

use crate::cfn::Expr;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// `donut-shop-dev-out-of-stock` style words for a policy resource.
pub(super) fn noun(r: &Json) -> String {
    let name = match Expr::parse(r) {
        Some(Expr::Ref(id) | Expr::GetAtt(id, _)) => id.to_string(),
        // An ARN spelled out: its last segment (a name, or a `${Id}`).
        Some(Expr::Sub(x)) => {
            x.rsplit([':', '/']).next().unwrap_or(&x).trim_start_matches("${").trim_end_matches('}').to_string()
        }
        Some(Expr::Lit(Json::String(x))) => x,
        // Another system's export: `<system>-<stage>-<Output>`.
        Some(Expr::Import(export)) => {
            let (stack, output) = export.rsplit_once('-').unwrap_or(("", &export));
            let system = stack.rsplit_once('-').map_or(stack, |(s, _)| s);
            return match output.strip_suffix("TopicArn") {
                Some(topic) => format!("topic {} of {system}", snake(topic)),
                None if output == "EncryptionKeyArn" => format!("the stack key of {system}"),
                None => export,
            };
        }
        _ => "?".to_string(),
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

pub(super) fn permissions(b: &BTreeMap<String, Json>, a: &BTreeMap<String, Json>) -> Vec<String> {
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

/// Who may call each route, in words: its authorization type, and for JWT routes the
/// authorizer and scopes (a change of either changes who gets in).
fn route_table(res: &BTreeMap<String, Json>) -> BTreeMap<String, String> {
    res.values()
        .filter(|r| r["Type"] == "AWS::ApiGatewayV2::Route")
        .map(|r| {
            let p = &r["Properties"];
            let who = match p["AuthorizationType"].as_str().unwrap_or("NONE") {
                "NONE" => "open to anyone at the gateway".to_string(),
                "AWS_IAM" => "signed (IAM) callers only".to_string(),
                "JWT" => {
                    let by = p["AuthorizerId"]["Ref"].as_str().unwrap_or("?");
                    let scopes: Vec<&str> =
                        p["AuthorizationScopes"].as_array().into_iter().flatten().filter_map(|s| s.as_str()).collect();
                    if scopes.is_empty() {
                        format!("bearers of a JWT {by} verifies")
                    } else {
                        format!("bearers of a JWT {by} verifies, with scope {}", scopes.join(" or "))
                    }
                }
                other => format!("{other} callers"),
            };
            (p["RouteKey"].as_str().unwrap_or_default().to_string(), who)
        })
        .collect()
}

pub(super) fn routes(b: &BTreeMap<String, Json>, a: &BTreeMap<String, Json>) -> Vec<String> {
    let (rb, ra) = (route_table(b), route_table(a));
    let mut out = Vec::new();
    for (k, auth) in &ra {
        match rb.get(k) {
            None => out.push(format!("new route {k}: {auth}")),
            Some(old) if old != auth => out.push(format!("route {k} changes from {old} to {auth}")),
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

pub(super) fn schedules(b: &BTreeMap<String, Json>, a: &BTreeMap<String, Json>) -> Vec<String> {
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

pub(super) fn weakened(b: &BTreeMap<String, Json>, a: &BTreeMap<String, Json>) -> Vec<String> {
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
            .filter_map(|x| match Expr::parse(&x) {
                Some(Expr::Ref(id)) => Some(id.to_string()),
                _ => None,
            })
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

#[cfg(test)]
mod tests {
    use super::noun;
    use serde_json::json;

    #[test]
    fn nouns_name_what_a_statement_reaches() {
        assert_eq!(noun(&json!({"Fn::GetAtt": ["StockRequestQueue", "Arn"]})), "queue stock_request");
        assert_eq!(
            noun(&json!({"Fn::ImportValue": "pay-ments-dev-RefundRequestsTopicArn"})),
            "topic refund_requests of pay-ments"
        );
        assert_eq!(noun(&json!({"Fn::ImportValue": "payments-dev-EncryptionKeyArn"})), "the stack key of payments");
    }
}
