//! The generated IAM, enforced on this machine: a loopback HTTP gate between the function
//! processes and moto. Each function signs with an access key of its own ([`access_key`]);
//! the gate reads the key from the SigV4 `Authorization` header, works out the IAM action,
//! resources and condition keys of the request ([`describe`]), and evaluates them against
//! that function's role statements from the same lowering the templates are rendered from,
//! resolved to the local resources ([`decide`]: an explicit Deny wins, else an Allow whose
//! action, resource and conditions match, else denied). Allowed requests go to moto
//! unchanged; denied ones get the service's own AccessDenied answer, so a handler that needs
//! a permission the config does not grant fails here as it would after deploy. moto enforces
//! no IAM for these calls; LocalStack does only in its paid tier.
//!
//! Only the function processes go through the gate; the runner's own clients (queue pollers,
//! provisioning) talk to moto directly with the operator's key.

use crate::runtime::LogSink;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The account moto answers for.
pub const ACCOUNT: &str = "123456789012";

/// The access key a function signs with locally (its role, as far as the gate is concerned).
pub fn access_key(function: &str) -> String {
    format!("FLOWFORMLOCAL-{function}")
}

/// One statement of a role, its references resolved to local ARNs.
#[derive(Clone, Debug)]
pub struct Rule {
    pub sid: String,
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// `{operator: {key: value or [values]}}`, values resolved.
    pub condition: Json,
}

/// What the gate knows of a function: its name, the ARN AWS would name it by, its statements.
#[derive(Clone, Debug)]
pub struct Role {
    pub function: String,
    pub arn: String,
    pub rules: Vec<Rule>,
}

/// One AWS request as IAM sees it: every resource must be allowed. A resource is a list of the
/// ARNs it may go by (an SES sender is authorised by its address identity or its domain's).
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub action: String,
    pub resources: Vec<Vec<String>>,
    pub context: BTreeMap<String, String>,
}

/// `*` matches any run of characters, `?` one, as in IAM's action and ARN patterns.
pub fn matches(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether one condition operator holds for `call`. IAM's rules: a key the request lacks makes
/// a negated operator (and any `...IfExists`) hold and every other fail; an operator this gate
/// does not know holds in a Deny and fails in an Allow, so it never grants by accident.
fn operator_holds(op: &str, keys: &Json, call: &Call, allow: bool) -> bool {
    let Some(keys) = keys.as_object() else { return !allow };
    let (base, if_exists) = match op.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (op, false),
    };
    let negated = base.contains("Not");
    keys.iter().all(|(key, want)| {
        let wants: Vec<&str> = match want {
            Json::Array(a) => a.iter().filter_map(Json::as_str).collect(),
            Json::String(s) => vec![s.as_str()],
            Json::Bool(b) => vec![if *b { "true" } else { "false" }],
            _ => return !allow,
        };
        let found = call.context.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str());
        let Some(have) = found else { return negated || if_exists };
        let any = |f: &dyn Fn(&str) -> bool| wants.iter().any(|w| f(w));
        match base {
            "StringEquals" | "ArnEquals" | "Bool" => any(&|w| w == have),
            "StringNotEquals" | "ArnNotEquals" => !any(&|w| w == have),
            "StringEqualsIgnoreCase" => any(&|w| w.eq_ignore_ascii_case(have)),
            "StringLike" | "ArnLike" => any(&|w| matches(w, have)),
            "StringNotLike" | "ArnNotLike" => !any(&|w| matches(w, have)),
            _ => !allow,
        }
    })
}

fn applies(rule: &Rule, action: &str, resource: &str, call: &Call) -> bool {
    rule.actions.iter().any(|a| matches(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
        && rule.resources.iter().any(|r| matches(r, resource))
        && rule
            .condition
            .as_object()
            .is_none_or(|ops| ops.iter().all(|(op, keys)| operator_holds(op, keys, call, rule.allow)))
}

/// IAM's verdict for `call` under `rules`: Ok, or why not (the Deny's Sid, or the resource no
/// Allow covers).
pub fn decide(rules: &[Rule], call: &Call) -> Result<(), String> {
    for names in &call.resources {
        for name in names {
            if let Some(d) = rules.iter().find(|r| !r.allow && applies(r, &call.action, name, call)) {
                return Err(format!("an explicit deny in statement {} applies to {name}", d.sid));
            }
        }
        if !names.iter().any(|name| rules.iter().any(|r| r.allow && applies(r, &call.action, name, call))) {
            return Err(format!("no statement of the role allows {} on {}", call.action, names.join(" or ")));
        }
    }
    Ok(())
}

/// The access key and service of a SigV4 `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...`).
pub fn credential(headers: &HeaderMap) -> Option<(String, String)> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split([',', ' ']).next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    (parts.len() == 5).then(|| (parts[0].to_string(), parts[3].to_string()))
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default().into_iter().collect()
}

/// The queue ARN of an SQS queue URL (`<scheme>://<host>/<account>/<name>`).
pub fn queue_arn(url: &str, region: &str) -> String {
    let mut parts = url.trim_end_matches('/').rsplit('/');
    let name = parts.next().unwrap_or_default();
    let account = parts.next().unwrap_or(ACCOUNT);
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

/// The IAM action, resources and condition keys of a request to `service` (the SigV4 scope's
/// service name). Operations the donut shop's handlers make are spelled out; anything else is
/// `<service>:<operation>` on `*`, which only a statement granting it everywhere allows.
pub fn describe(service: &str, headers: &HeaderMap, uri: &Uri, body: &[u8], region: &str) -> Call {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let op = target.rsplit('.').next().unwrap_or_default().to_string();
    let doc: Json = serde_json::from_slice(body).unwrap_or(Json::Null);
    let field = |k: &str| doc.get(k).and_then(Json::as_str).map(str::to_string);
    let mut context = BTreeMap::from([("aws:SecureTransport".to_string(), "true".to_string())]);
    let (action, resources) = match service {
        "sns" => {
            let f = form(if body.is_empty() { uri.query().unwrap_or_default().as_bytes() } else { body });
            let op = f.get("Action").cloned().unwrap_or_default();
            let action = if op == "PublishBatch" { "Publish".to_string() } else { op };
            let arn = f.get("TopicArn").or_else(|| f.get("TargetArn")).cloned().unwrap_or_else(|| "*".into());
            (format!("sns:{action}"), vec![vec![arn]])
        }
        "sqs" => {
            let action = op.strip_suffix("Batch").unwrap_or(&op).to_string();
            let arn = field("QueueUrl").map_or_else(|| "*".to_string(), |u| queue_arn(&u, region));
            (format!("sqs:{action}"), vec![vec![arn]])
        }
        "secretsmanager" => {
            let id = field("SecretId").unwrap_or_else(|| "*".into());
            let arn = if id.starts_with("arn:") || id == "*" {
                id
            } else {
                format!("arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{id}")
            };
            (format!("secretsmanager:{op}"), vec![vec![arn]])
        }
        "ses" if uri.path() == "/v2/email/outbound-emails" => {
            let from = field("FromEmailAddress").unwrap_or_default();
            let address = from.rsplit('<').next().unwrap_or_default().trim_end_matches('>').trim().to_string();
            let domain = address.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
            context.insert("ses:FromAddress".into(), address.clone());
            // The identity that authorises the sender: the address when it is verified itself,
            // else its domain.
            let identity = |name: &str| format!("arn:aws:ses:{region}:{ACCOUNT}:identity/{name}");
            let mut resources = vec![vec![identity(&address), identity(&domain)]];
            if let Some(set) = field("ConfigurationSetName") {
                resources.push(vec![format!("arn:aws:ses:{region}:{ACCOUNT}:configuration-set/{set}")]);
            }
            ("ses:SendEmail".to_string(), resources)
        }
        other => {
            let op = if op.is_empty() { uri.path().trim_matches('/') } else { &op };
            (format!("{other}:{op}"), vec![vec!["*".to_string()]])
        }
    };
    Call { action, resources, context }
}

/// The service's own AccessDenied answer, shaped so the AWS SDK surfaces the error code.
pub fn denied(service: &str, message: &str) -> Response {
    let mut headers = HeaderMap::new();
    let (status, content_type, body) = match service {
        "sns" => (
            StatusCode::FORBIDDEN,
            "text/xml",
            format!(
                "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>{}</Message></Error><RequestId>flowform-local</RequestId></ErrorResponse>",
                message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
            ),
        ),
        "sqs" => {
            headers.insert("x-amzn-query-error", HeaderValue::from_static("AccessDenied;Sender"));
            (
                StatusCode::BAD_REQUEST,
                "application/x-amz-json-1.0",
                json!({ "__type": "com.amazonaws.sqs#AccessDenied", "message": message }).to_string(),
            )
        }
        "secretsmanager" => {
            headers.insert("x-amzn-errortype", HeaderValue::from_static("AccessDeniedException"));
            (
                StatusCode::BAD_REQUEST,
                "application/x-amz-json-1.1",
                json!({ "__type": "AccessDeniedException", "Message": message }).to_string(),
            )
        }
        _ => {
            headers.insert("x-amzn-errortype", HeaderValue::from_static("AccessDeniedException"));
            (StatusCode::FORBIDDEN, "application/json", json!({ "message": message }).to_string())
        }
    };
    headers.insert("content-type", HeaderValue::from_static(content_type));
    (status, headers, body).into_response()
}

/// The gate's state: who signs with which key, where moto is, what was denied.
pub struct Gate {
    pub upstream: String,
    pub region: String,
    pub roles: HashMap<String, Role>,
    pub log: LogSink,
    /// One line per denied request, for `Dev::denials`.
    pub denials: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
}

impl Gate {
    pub fn new(upstream: String, region: String, roles: HashMap<String, Role>, log: LogSink) -> Gate {
        Gate { upstream, region, roles, log, denials: Arc::default(), client: reqwest::Client::new() }
    }

    async fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let Some((key, service)) = credential(&headers) else {
            return denied("", "flowform-local IAM gate: the request is not signed with SigV4");
        };
        let Some(role) = self.roles.get(&key) else {
            return denied(&service, &format!("flowform-local IAM gate: the access key {key} belongs to no function"));
        };
        let call = describe(&service, &headers, &uri, &body, &self.region);
        if let Err(why) = decide(&role.rules, &call) {
            let message = format!(
                "User: {} is not authorized to perform: {} on resource: {} because {why}",
                role.arn,
                call.action,
                call.resources.iter().map(|r| r.join(" or ")).collect::<Vec<_>>().join(", ")
            );
            (self.log)("iam", &format!("denied {}: {message}", role.function));
            let resources: Vec<&str> = call.resources.iter().filter_map(|r| r.first().map(String::as_str)).collect();
            self.denials.lock().expect("denials").push(format!(
                "{} {} {}",
                role.function,
                call.action,
                resources.join(",")
            ));
            return denied(&service, &message);
        }
        self.forward(method, uri, headers, body).await
    }

    async fn forward(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let url =
            format!("{}{}", self.upstream.trim_end_matches('/'), uri.path_and_query().map_or("/", |p| p.as_str()));
        let mut request = self.client.request(method, url).body(body);
        for (name, value) in &headers {
            if !matches!(name.as_str(), "host" | "content-length" | "connection" | "transfer-encoding") {
                request = request.header(name, value);
            }
        }
        match request.send().await {
            Ok(r) => {
                let status = r.status();
                let mut out = HeaderMap::new();
                for (name, value) in r.headers() {
                    if !matches!(name.as_str(), "content-length" | "connection" | "transfer-encoding") {
                        out.append(name, value.clone());
                    }
                }
                let body = r.bytes().await.unwrap_or_default();
                (status, out, body).into_response()
            }
            Err(e) => (StatusCode::BAD_GATEWAY, format!("flowform-local IAM gate: moto: {e}")).into_response(),
        }
    }
}

/// Serves `gate` on `listener` until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, gate: Arc<Gate>) {
    let app = axum::Router::new()
        .fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let gate = gate.clone();
            async move { gate.handle(method, uri, headers, body).await }
        })
        .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024));
    let _ = axum::serve(listener, app).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(allow: bool, actions: &[&str], resources: &[&str], condition: Json) -> Rule {
        Rule {
            sid: "S".into(),
            allow,
            actions: actions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            condition,
        }
    }

    fn call(action: &str, resources: &[&str], context: &[(&str, &str)]) -> Call {
        Call {
            action: action.into(),
            resources: resources.iter().map(|s| vec![s.to_string()]).collect(),
            context: context.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn patterns_match_as_iam_does() {
        assert!(matches("arn:aws:sqs:*:123456789012:shop-*", "arn:aws:sqs:eu-west-1:123456789012:shop-dev-vip"));
        assert!(matches("sqs:*", "sqs:SendMessage"));
        assert!(matches("a?c", "abc") && !matches("a?c", "ac"));
        assert!(!matches("arn:aws:sns:r:1:topic", "arn:aws:sns:r:1:topic-2"));
        assert!(matches("*", ""));
    }

    #[test]
    fn allow_needs_action_resource_and_conditions_deny_wins() {
        let topic = "arn:aws:sns:r:123456789012:shop-dev-purchases";
        let rules = vec![rule(true, &["sns:Publish"], &[topic], Json::Null)];
        assert!(decide(&rules, &call("sns:Publish", &[topic], &[])).is_ok());
        assert!(decide(&rules, &call("SNS:publish", &[topic], &[])).is_ok(), "actions are case-insensitive");
        let e = decide(&rules, &call("sns:Publish", &["arn:aws:sns:r:123456789012:other"], &[])).unwrap_err();
        assert!(e.contains("no statement of the role allows sns:Publish"), "{e}");
        assert!(decide(&rules, &call("sns:Subscribe", &[topic], &[])).is_err());
        let mut with_deny = rules.clone();
        with_deny.push(rule(false, &["sns:*"], &["*"], json!({ "Bool": { "aws:SecureTransport": "false" } })));
        assert!(decide(&with_deny, &call("sns:Publish", &[topic], &[("aws:SecureTransport", "true")])).is_ok());
        let e = decide(&with_deny, &call("sns:Publish", &[topic], &[("aws:SecureTransport", "false")])).unwrap_err();
        assert!(e.contains("explicit deny"), "{e}");
    }

    #[test]
    fn every_resource_of_a_call_must_be_allowed_and_conditions_bind() {
        let (identity, set) = ("arn:aws:ses:r:1:identity/donut.example.com", "arn:aws:ses:r:1:configuration-set/shop");
        let rules = vec![rule(
            true,
            &["ses:SendEmail"],
            &[identity, set],
            json!({ "StringEquals": { "ses:FromAddress": ["ads@donut.example.com"] } }),
        )];
        let from = |a: &str| Call {
            resources: vec![vec![format!("arn:aws:ses:r:1:identity/{a}"), identity.to_string()], vec![set.to_string()]],
            ..call("ses:SendEmail", &[], &[("ses:FromAddress", a)])
        };
        assert!(decide(&rules, &from("ads@donut.example.com")).is_ok());
        assert!(decide(&rules, &from("ceo@donut.example.com")).is_err(), "another sender of the domain");
        assert!(decide(&rules, &call("ses:SendEmail", &[identity], &[])).is_err(), "a missing key fails StringEquals");
        let other_set = call(
            "ses:SendEmail",
            &[identity, "arn:aws:ses:r:1:configuration-set/x"],
            &[("ses:FromAddress", "ads@donut.example.com")],
        );
        assert!(decide(&rules, &other_set).is_err());
        // A negated operator holds when the key is missing; an unknown operator never grants.
        let negated =
            vec![rule(true, &["sqs:SendMessage"], &["*"], json!({ "ArnNotEquals": { "aws:SourceArn": "x" } }))];
        assert!(decide(&negated, &call("sqs:SendMessage", &["q"], &[])).is_ok());
        let unknown = vec![rule(
            true,
            &["sqs:SendMessage"],
            &["*"],
            json!({ "DateGreaterThan": { "aws:CurrentTime": "2020-01-01" } }),
        )];
        assert!(decide(&unknown, &call("sqs:SendMessage", &["q"], &[])).is_err());
    }

    #[test]
    fn requests_are_described_as_iam_sees_them() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=FLOWFORMLOCAL-checkout/20261207/ap-northeast-2/sns/aws4_request, SignedHeaders=host, Signature=00"),
        );
        assert_eq!(credential(&h), Some(("FLOWFORMLOCAL-checkout".into(), "sns".into())));
        let uri: Uri = "/".parse().unwrap();
        let sns = describe(
            "sns",
            &h,
            &uri,
            b"Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Ar%3A1%3At&Message=hi",
            "r",
        );
        assert_eq!(
            (sns.action.as_str(), sns.resources.clone()),
            ("sns:Publish", vec![vec!["arn:aws:sns:r:1:t".to_string()]])
        );
        h.insert("x-amz-target", HeaderValue::from_static("AmazonSQS.ChangeMessageVisibilityBatch"));
        let sqs =
            describe("sqs", &h, &uri, br#"{"QueueUrl":"https://sqs.r.amazonaws.com/123456789012/shop-dev-vip"}"#, "r");
        assert_eq!(sqs.action, "sqs:ChangeMessageVisibility");
        assert_eq!(sqs.resources, vec![vec!["arn:aws:sqs:r:123456789012:shop-dev-vip".to_string()]]);
        h.insert("x-amz-target", HeaderValue::from_static("secretsmanager.GetSecretValue"));
        let sm =
            describe("secretsmanager", &h, &uri, br#"{"SecretId":"arn:aws:secretsmanager:r:1:secret:k-AbCdEf"}"#, "r");
        assert_eq!(
            (sm.action.as_str(), sm.resources[0][0].as_str()),
            ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:r:1:secret:k-AbCdEf")
        );
        let ses = describe(
            "ses",
            &HeaderMap::new(),
            &"/v2/email/outbound-emails".parse().unwrap(),
            br#"{"FromEmailAddress":"Donut Ads <ads@donut.example.com>","ConfigurationSetName":"shop-dev"}"#,
            "r",
        );
        assert_eq!(ses.action, "ses:SendEmail");
        assert_eq!(
            ses.resources,
            vec![
                vec![
                    format!("arn:aws:ses:r:{ACCOUNT}:identity/ads@donut.example.com"),
                    format!("arn:aws:ses:r:{ACCOUNT}:identity/donut.example.com")
                ],
                vec![format!("arn:aws:ses:r:{ACCOUNT}:configuration-set/shop-dev")]
            ]
        );
        assert_eq!(ses.context["ses:FromAddress"], "ads@donut.example.com");
    }
}
