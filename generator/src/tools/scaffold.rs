//! `flowform new handlers`: a handlers crate for the config, compiling as written. One binary
//! per handler that reads its function's wiring (the generated bindings) and runs the
//! function's module; one module per function with its logic (what a user replaces) and a
//! test of it with a recorded event of its trigger. Pure: the caller writes the files that do
//! not exist yet.

use super::bindings::ident;
use crate::model::{Function, System, Trigger};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Versions of the crates a scaffold depends on: the workspace's (a test compares them with
/// the workspace's Cargo.toml, so the scaffold builds with what flowform is tested with).
pub const DEPENDENCIES: &[(&str, &str)] = &[
    (
        "aws-config",
        r#"{ version = "1.13", default-features = false, features = ["rt-tokio", "default-https-client", "behavior-version-latest"] }"#,
    ),
    ("aws_lambda_events", r#"{ version = "1.2", default-features = false, features = ["apigw", "sqs", "sns"] }"#),
    ("lambda_runtime", r#"{ version = "1.5", default-features = false, features = ["tracing"] }"#),
    ("serde_json", r#"{ version = "1", features = ["preserve_order"] }"#),
    (
        "tokio",
        r#"{ version = "1", features = ["macros", "rt-multi-thread", "time", "sync", "net", "signal", "process", "io-util"] }"#,
    ),
    ("tracing", r#""0.1""#),
];

/// The clients a function's wiring calls for, added when some function has that wire (the
/// workspace's versions and features, as the runtime builds them; the same test checks them).
pub const WIRED: &[(&str, &str, Wire)] = &[
    (
        "aws-sdk-sesv2",
        r#"{ version = "1.145", default-features = false, features = ["rt-tokio", "default-https-client"] }"#,
        Wire::Emails,
    ),
    (
        "aws-sdk-secretsmanager",
        r#"{ version = "1.125", default-features = false, features = ["rt-tokio", "default-https-client"] }"#,
        Wire::Secrets,
    ),
    (
        "aws-sdk-sns",
        r#"{ version = "1.121", default-features = false, features = ["rt-tokio", "default-https-client"] }"#,
        Wire::Publishes,
    ),
    (
        "sqlx",
        r#"{ version = "0.9", default-features = false, features = ["mysql", "runtime-tokio", "tls-rustls-aws-lc-rs", "uuid"] }"#,
        Wire::Databases,
    ),
];

/// A kind of wire that brings a client crate along.
#[derive(Clone, Copy)]
pub enum Wire {
    Publishes,
    Emails,
    /// Secrets, and the databases' passwords (Secrets Manager).
    Secrets,
    Databases,
}

impl Wire {
    fn used(self, sys: &System) -> bool {
        sys.functions.iter().any(|f| match self {
            Wire::Publishes => !f.publishes.is_empty(),
            Wire::Emails => !f.emails.is_empty(),
            Wire::Secrets => !f.secrets.is_empty() || !f.databases.is_empty(),
            Wire::Databases => !f.databases.is_empty(),
        })
    }
}

/// Where things are, relative to the crate's directory.
pub struct Layout {
    /// The generated `out/bindings.rs`, relative to the crate directory.
    pub bindings: String,
    /// The `flowform-runtime` crate's directory (a path dependency).
    pub runtime: String,
}

/// Files of the crate, by path relative to its directory.
pub fn files(sys: &System, layout: &Layout) -> Result<BTreeMap<String, String>, String> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for f in &sys.functions {
        if let Some(other) = seen.insert(&f.handler, &f.name) {
            return Err(format!(
                "functions `{other}` and `{}` share handler `{}`: the scaffold writes one binary per function, reading that function's wiring; give one of them its own `handler` (or write the shared binary by hand)",
                f.name, f.handler
            ));
        }
    }
    let mut out = BTreeMap::new();
    out.insert("Cargo.toml".into(), cargo_toml(sys, layout));
    // flowform's own style, which the files below are written in (`cargo fmt --check` passes).
    out.insert("rustfmt.toml".into(), "max_width = 120\nuse_small_heuristics = \"Max\"\n".into());
    out.insert(
        "src/bindings.rs".into(),
        format!(
            "//! What each function is wired to, generated from the config by `flowform generate`\n\
             //! (`flowform check` fails when it is stale). Do not edit the included file.\n\n\
             include!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {:?}));\n",
            format!("/{}", layout.bindings)
        ),
    );
    let mut lib = format!(
        "//! The Lambda handlers of system `{}`: one module per function with its logic; each\n\
         //! binary in `src/bin/` reads its function's wiring ([`bindings`]) once per container and\n\
         //! hands events to the module. Failures are [`Failure`]s: retryable or permanent, both\n\
         //! end in the dead-letter queue after the queue's `maxReceiveCount`.\n\n",
        sys.name
    );
    let mut mods: Vec<String> = sys.functions.iter().map(|f| ident(&f.name)).chain(["bindings".to_string()]).collect();
    mods.sort_by(|a, b| a.trim_start_matches("r#").cmp(b.trim_start_matches("r#")));
    mods.dedup();
    for m in mods {
        let _ = writeln!(lib, "pub mod {m};");
    }
    for f in &sys.functions {
        out.insert(format!("src/{}.rs", ident(&f.name).trim_start_matches("r#")), module(sys, f));
        out.insert(format!("src/bin/{}.rs", f.handler), binary(sys, f));
    }
    lib.push_str("\npub use flowform_runtime::Failure;\n");
    out.insert("src/lib.rs".into(), lib);
    Ok(out)
}

fn cargo_toml(sys: &System, layout: &Layout) -> String {
    let mut o = format!(
        "[package]\nname = {:?}\nversion = \"0.1.0\"\ndescription = {:?}\nedition = \"2021\"\npublish = false\n\n[dependencies]\n",
        sys.handlers_crate,
        format!("Lambda handlers of {}", sys.name)
    );
    let _ = writeln!(o, "flowform-runtime = {{ path = {:?} }}", layout.runtime);
    for (name, spec) in DEPENDENCIES {
        let _ = writeln!(o, "{name} = {spec}");
    }
    for (name, spec, _) in WIRED.iter().filter(|(_, _, w)| w.used(sys)) {
        let _ = writeln!(o, "{name} = {spec}");
    }
    // Its own workspace; no debug info in debug builds; `flowform package`'s profile.
    o.push_str("\n[workspace]\n\n[profile.dev]\ndebug = false\n\n[profile.dist]\ninherits = \"release\"\nopt-level = \"s\"\nlto = \"fat\"\ncodegen-units = 1\npanic = \"abort\"\nstrip = true\n");
    o
}

/// Whether SNS delivers into queue `q` in its envelope (a subscription without `raw`).
fn enveloped(q: Option<&crate::model::Queue>) -> bool {
    q.is_some_and(|q| q.subscriptions.iter().any(|s| !s.raw))
}

/// The recorded event of `f`'s trigger and the test's expectation.
fn event(sys: &System, f: &Function) -> String {
    match &f.trigger {
        Trigger::Queue { queue, .. } => {
            let q = sys.queue(queue);
            let enveloped = enveloped(q);
            let inner = r#"{"id":"r-1","note":"a recorded message"}"#;
            let body = if enveloped {
                serde_json::json!({"Type": "Notification", "MessageId": "m-1", "Message": inner}).to_string()
            } else {
                inner.to_string()
            };
            let arn = format!("arn:aws:sqs:us-east-1:123456789012:{}", q.map_or(String::new(), |q| q.physical_name(sys)));
            serde_json::json!({"Records": [{
                "messageId": "m-1", "receiptHandle": "h-1", "body": body,
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1"
            }]})
            .to_string()
        }
        Trigger::Http { routes, .. } => {
            let (method, route) = routes.first().map_or(("GET".to_string(), "/".to_string()), |r| (r.method.clone(), r.path.clone()));
            // A request of the route: each path variable `{x}` given the value `x-1`.
            let mut params = serde_json::Map::new();
            let path: Vec<String> = route
                .split('/')
                .map(|seg| match seg.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
                    Some(var) => {
                        params.insert(var.to_string(), format!("{var}-1").into());
                        format!("{var}-1")
                    }
                    None => seg.to_string(),
                })
                .collect();
            let path = path.join("/");
            serde_json::json!({
                "version": "2.0", "routeKey": format!("{method} {route}"), "rawPath": path, "rawQueryString": "",
                "pathParameters": params,
                "headers": {"content-type": "application/json"},
                "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
                    "requestId": "req-1", "routeKey": format!("{method} {route}"), "stage": "$default", "time": "07/Dec/2026:00:00:00 +0000", "timeEpoch": 0},
                "body": "{}", "isBase64Encoded": false
            })
            .to_string()
        }
        Trigger::Schedule { .. } => serde_json::json!({
            "version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-12-07T00:00:00Z", "region": "us-east-1", "resources": [], "detail": {}
        })
        .to_string(),
    }
}

fn module(sys: &System, f: &Function) -> String {
    let m = ident(&f.name);
    let line = f.description.split_whitespace().collect::<Vec<_>>().join(" ");
    let what = if line.is_empty() { String::new() } else { format!(": {line}") };
    let mut o = format!("//! Function `{}`{what}.\n//!\n//! Replace the logic in `handle`; the wiring lives in `ctx.wiring` ([`Wiring`]).\n\n", f.name);
    let ev = event(sys, f);
    match &f.trigger {
        Trigger::Queue { queue, .. } => {
            // SNS delivers in its envelope unless every subscription is raw: unwrap only then.
            let unwrap = if enveloped(sys.queue(queue)) {
                "// SNS delivers a notification in its envelope: the published message is its `Message`.\n    \
                 let message = match message.get(\"Type\").and_then(|t| t.as_str()) {\n        \
                     Some(\"Notification\") => {\n            \
                         let inner = message[\"Message\"].as_str().unwrap_or_default();\n            \
                         serde_json::from_str(inner).map_err(|e| Failure::Permanent(format!(\"not JSON: {e}\")))?\n        \
                     }\n        \
                     _ => message,\n    \
                 };\n    "
            } else {
                ""
            };
            let _ = write!(
                o,
                "use crate::bindings::{m}::Wiring;\n\
                 use aws_lambda_events::event::sqs::{{SqsEvent, SqsMessage}};\n\
                 use flowform_runtime::batch::{{self, BatchResponse, Budget}};\n\
                 use flowform_runtime::Failure;\n\n\
                 /// What the function keeps between invocations: its wiring (and the clients you build from it).\n\
                 pub struct Ctx {{\n    pub wiring: Wiring,\n}}\n\n\
                 /// A batch from queue `{queue}`: each record that fits in the invocation's time, partial\n\
                 /// batch failures for the rest (they come back; after `maxReceiveCount` receives, the DLQ).\n\
                 pub async fn handle(ctx: &Ctx, event: SqsEvent, budget: Budget) -> BatchResponse {{\n    \
                     batch::each(event, budget, |record| async move {{ record_of(ctx, &record).await }}).await\n}}\n\n\
                 /// One message. A message that cannot be read is a permanent failure: retrying cannot fix it.\n\
                 async fn record_of(ctx: &Ctx, record: &SqsMessage) -> Result<(), Failure> {{\n    \
                     let body = record.body.as_deref().ok_or_else(|| Failure::Permanent(\"a record without a body\".into()))?;\n    \
                     let message: serde_json::Value =\n        \
                         serde_json::from_str(body).map_err(|e| Failure::Permanent(format!(\"not JSON: {{e}}\")))?;\n    \
                     {unwrap}\
                     tracing::info!(stage = %ctx.wiring.stage, %message, \"received\");\n    Ok(())\n}}\n"
            );
            test(&mut o, &m, &ev, "SqsEvent", "let out = handle(&ctx, event, Budget::unlimited()).await;\n        assert!(out.batch_item_failures.is_empty(), \"{out:?}\");\n        let mut bad: SqsEvent = serde_json::from_str(EVENT).unwrap();\n        bad.records[0].body = Some(\"not json\".into());\n        assert_eq!(handle(&ctx, bad, Budget::unlimited()).await.batch_item_failures.len(), 1);");
        }
        Trigger::Http { .. } => {
            let _ = write!(
                o,
                "use crate::bindings::{m}::Wiring;\n\
                 use aws_lambda_events::encodings::Body;\n\
                 use aws_lambda_events::event::apigw::{{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse}};\n\n\
                 /// What the function keeps between invocations: its wiring (and the clients you build from it).\n\
                 pub struct Ctx {{\n    pub wiring: Wiring,\n}}\n\n\
                 /// One request of its routes.\n\
                 pub async fn handle(ctx: &Ctx, request: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {{\n    \
                     let route = request.route_key.unwrap_or_default();\n    \
                     let body = serde_json::json!({{ \"function\": {name:?}, \"stage\": ctx.wiring.stage, \"route\": route }});\n    \
                     let mut response = ApiGatewayV2httpResponse::default();\n    \
                     response.status_code = 200;\n    \
                     response.body = Some(Body::Text(body.to_string()));\n    \
                     response.headers.insert(\"content-type\", \"application/json\".parse().expect(\"a header value\"));\n    \
                     response\n}}\n",
                name = f.name
            );
            test(
                &mut o,
                &m,
                &ev,
                "ApiGatewayV2httpRequest",
                "let out = handle(&ctx, event).await;\n        assert_eq!(out.status_code, 200);",
            );
        }
        Trigger::Schedule { .. } => {
            let _ = write!(
                o,
                "use crate::bindings::{m}::Wiring;\n\
                 use flowform_runtime::Failure;\n\n\
                 /// What the function keeps between invocations: its wiring (and the clients you build from it).\n\
                 pub struct Ctx {{\n    pub wiring: Wiring,\n}}\n\n\
                 /// One scheduled run. An error fails the run: Lambda retries it, then its DLQ gets it.\n\
                 pub async fn handle(ctx: &Ctx, event: serde_json::Value) -> Result<(), Failure> {{\n    \
                     tracing::info!(stage = %ctx.wiring.stage, time = %event[\"time\"], \"scheduled run\");\n    Ok(())\n}}\n"
            );
            test(&mut o, &m, &ev, "serde_json::Value", "handle(&ctx, event).await.unwrap();");
        }
    }
    o
}

/// The module's test: the wiring from placeholder env values, the recorded event, `body`.
fn test(o: &mut String, m: &str, event: &str, ty: &str, body: &str) {
    let _ = write!(
        o,
        "\n#[cfg(test)]\nmod tests {{\n    use super::*;\n\n    \
         /// A recorded event of the function's trigger.\n    \
         const EVENT: &str = r#\"{event}\"#;\n\n    \
         #[tokio::test]\n    async fn handles_its_recorded_event() {{\n        \
         flowform_runtime::bind::placeholders(crate::bindings::{m}::ENV);\n        \
         let ctx = Ctx {{ wiring: Wiring::from_env().unwrap() }};\n        \
         let event: {ty} = serde_json::from_str(EVENT).unwrap();\n        {body}\n    }}\n}}\n"
    );
}

fn binary(sys: &System, f: &Function) -> String {
    let m = ident(&f.name);
    let krate = sys.handlers_crate.replace('-', "_");
    let (event_ty, call) = match &f.trigger {
        Trigger::Queue { .. } => (
            "aws_lambda_events::event::sqs::SqsEvent",
            format!(
                "// A record starts only while this much of the invocation is left: what one record may take.\n        let budget = Budget::from_lambda(ev.context.deadline, Duration::from_secs({})).with_backoff(backoff.clone());\n        Ok::<_, Error>({m}::handle(ctx, ev.payload, budget).await)",
                (f.timeout / 2).max(1)
            ),
        ),
        Trigger::Http { .. } => ("aws_lambda_events::event::apigw::ApiGatewayV2httpRequest", format!("Ok::<_, Error>({m}::handle(ctx, ev.payload).await)")),
        Trigger::Schedule { .. } => ("serde_json::Value", format!("{m}::handle(ctx, ev.payload).await.map_err(Error::from)")),
    };
    let queue = matches!(f.trigger, Trigger::Queue { .. });
    let mut o = format!(
        "//! Function `{}`: reads its wiring once per container, then hands each event to `{krate}::{m}`.\n",
        f.name
    );
    let mut uses = vec![
        "use lambda_runtime::{run, service_fn, Error, LambdaEvent};".to_string(),
        format!("use {krate}::bindings::{m}::Wiring;"),
        format!("use {krate}::{m};"),
    ];
    if queue {
        uses.extend([
            "use flowform_runtime::batch::{Backoff, Budget};".to_string(),
            "use std::time::Duration;".to_string(),
        ]);
    }
    uses.sort();
    for u in uses {
        let _ = writeln!(o, "{u}");
    }
    let _ = write!(
        o,
        "\n#[tokio::main]\nasync fn main() -> Result<(), Error> {{\n    \
         flowform_runtime::deps::init_tracing();\n    \
         let ctx = {m}::Ctx {{ wiring: Wiring::from_env()? }};\n"
    );
    if queue {
        o.push_str("    let aws = flowform_runtime::deps::aws().await;\n    let backoff = Backoff::for_queue(&aws, &ctx.wiring.queue);\n    let backoff = &backoff;\n");
    }
    let _ = write!(
        o,
        "    let ctx = &ctx;\n    run(service_fn(move |ev: LambdaEvent<{event_ty}>| async move {{\n        {call}\n    }}))\n    .await\n}}\n"
    );
    o
}

#[cfg(test)]
mod tests {
    /// A route with a path variable gets a recorded request with a value for it.
    #[test]
    fn a_recorded_request_fills_the_path_variables() {
        let text = "version: 1\nsystem: lib\nstages: { dev: {} }\nfunctions:\n  borrow:\n    trigger: { http: { auth: public, routes: [\"POST /books/{isbn}/borrow\"] } }\n";
        let b = crate::build(text).unwrap();
        let layout = super::Layout { bindings: "../../out/bindings.rs".into(), runtime: "/rt".into() };
        let files = super::files(&b.systems[0], &layout).unwrap();
        let module = &files["src/borrow.rs"];
        assert!(module.contains(r#""rawPath":"/books/isbn-1/borrow""#), "{module}");
        assert!(module.contains(r#""pathParameters":{"isbn":"isbn-1"}"#), "{module}");
        assert!(module.contains(r#""routeKey":"POST /books/{isbn}/borrow""#), "{module}");
        // No wire, no client crate.
        assert!(!files["Cargo.toml"].contains("aws-sdk-sns") && !files["Cargo.toml"].contains("sqlx"));
    }

    /// One source of the versions: the workspace's `[workspace.dependencies]`.
    #[test]
    fn the_scaffold_depends_on_what_the_workspace_is_tested_with() {
        let ws = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
        for (name, spec) in super::DEPENDENCIES.iter().copied().chain(super::WIRED.iter().map(|(n, s, _)| (*n, *s))) {
            assert!(ws.contains(&format!("\n{name} = {spec}\n")), "{name} = {spec} is not the workspace's");
        }
        assert!(ws.contains("[profile.dist]\ninherits = \"release\"\nopt-level = \"s\"\nlto = \"fat\"\ncodegen-units = 1\npanic = \"abort\"\nstrip = true\n"));
    }
}
