//! The config's keys, their types and docs, as data: the parser takes its allowed keys from
//! here (so an unknown key is exactly a key this table lacks), and `flowform schema` prints
//! the JSON Schema built from it (committed as docs/flowform.schema.json, referenced by
//! flowform.yaml for editor completion through yaml-language-server).

use serde_json::{json, Map, Value as Json};

#[derive(Clone, Copy, Debug)]
pub enum T {
    Str,
    /// A whole number in a range.
    Int(u64, u64),
    Bool,
    StrList,
    Enum(&'static [&'static str]),
    /// A mapping with the keys of the named object.
    Obj(&'static str),
    /// A mapping of user-chosen names to the named object.
    Named(&'static str),
    /// A list of the named object or plain names (topic subscriptions).
    SubList,
    /// Env vars: UPPER_SNAKE_CASE names to strings.
    Env,
    /// An SNS filter policy.
    Filter,
    /// `false` or the named object.
    FalseOr(&'static str),
}

pub struct K {
    pub name: &'static str,
    pub ty: T,
    pub doc: &'static str,
    /// The value when the key is absent (whole numbers); validation reads it from here.
    pub default: Option<u64>,
}

const fn k(name: &'static str, ty: T, doc: &'static str) -> K {
    K { name, ty, doc, default: None }
}

/// A whole number with its range and default.
const fn int(name: &'static str, min: u64, max: u64, default: u64, doc: &'static str) -> K {
    K { name, ty: T::Int(min, max), doc, default: Some(default) }
}

// Defaults, named for the code that applies them; the table below is where they are set.
pub const DEFAULT_TIMEOUT: u64 = 10;
pub const DEFAULT_MEMORY: u64 = 256;
pub const DEFAULT_LOG_RETENTION: u64 = 30;
pub const DEFAULT_QUEUE_RETENTION_DAYS: u64 = 4;
pub const DEFAULT_DLQ_RETENTION_DAYS: u64 = 14;
pub const DEFAULT_MAX_RECEIVES: u64 = 5;
pub const DEFAULT_BATCH_SIZE: u64 = 10;
pub const DEFAULT_BATCH_WINDOW: u64 = 0;
pub const DEFAULT_THROTTLE_RATE: u64 = 50;
pub const DEFAULT_THROTTLE_BURST: u64 = 100;
/// Lambda's default for asynchronous invocations.
pub const DEFAULT_SCHEDULE_RETRIES: u64 = 2;
/// An hour: a run that cannot start within it has been overtaken by later runs anyway.
pub const DEFAULT_MAX_EVENT_AGE: u64 = 3600;
pub const DEFAULT_DB_PORT: u64 = 3306;
pub const DEFAULT_SECRET_LENGTH: u64 = 64;

pub const OBJECTS: &[(&str, &[K])] = &[
    (
        "config",
        &[
            k("version", T::Int(1, 1), "Config format version; this flowform reads 1."),
            k("system", T::Str, "System name: prefixes every physical name (`<system>-<stage>-<name>`); lowercase, digits, `-`, at most 24."),
            k("description", T::Str, "Shown in each template's Description."),
            k("handlers_crate", T::Str, "Cargo package with one binary per handler (`flowform package` builds it). Default `handlers`."),
            k("defaults", T::Obj("defaults"), "Defaults for every function."),
            k("stages", T::Named("stage"), "Stages (e.g. dev, prod); each gets out/<stage>/template.yaml."),
            k("http", T::Obj("http"), "HTTP API settings."),
            k("topics", T::Named("topic"), "SNS topics."),
            k("queues", T::Named("queue"), "SQS queues, each with a dead-letter queue unless `dlq: false`."),
            k("functions", T::Named("function"), "Lambda functions (Rust, provided.al2023)."),
            k("email", T::Named("email"), "SES senders."),
            k("databases", T::Named("database"), "Existing RDS MySQL databases, reached by parameters."),
            k("endpoints", T::Named("endpoint"), "External HTTP endpoints, as parameters."),
            k("secrets", T::Named("secret"), "Secrets the stack generates (Secrets Manager)."),
        ],
    ),
    (
        "defaults",
        &[
            int("timeout", 1, 900, DEFAULT_TIMEOUT, "Seconds."),
            int("memory", 128, 10240, DEFAULT_MEMORY, "MB."),
            k("architecture", T::Enum(&["x86_64", "arm64"]), "Default x86_64."),
            int("log_retention_days", 1, 3653, DEFAULT_LOG_RETENTION, "One of CloudWatch's values (1, 3, 5, 7, 14, 30, ...)."),
        ],
    ),
    (
        "stage",
        &[
            k("log_retention_days", T::Int(1, 3653), "Overrides `defaults.log_retention_days`."),
            k("http", T::Obj("http"), "Overrides `http`."),
            k("functions", T::Named("function_override"), "Per-function overrides."),
            k("queues", T::Named("queue_override"), "Per-queue overrides (and of its DLQ)."),
        ],
    ),
    (
        "queue_override",
        &[
            k("retention_days", T::Int(1, 14), "Message retention in days."),
            k("delay_seconds", T::Int(0, 900), "Seconds each message waits before its first delivery."),
            k("max_message_size", T::Int(1024, 1_048_576), "Largest message in bytes."),
            k("visibility_timeout", T::Int(0, 43_200), "Seconds a received message stays hidden; at least the derived floor."),
            k("dlq", T::Obj("dlq"), "DLQ settings of this stage (the queue must have a DLQ)."),
        ],
    ),
    (
        "function_override",
        &[
            k("timeout", T::Int(1, 900), "Seconds."),
            k("memory", T::Int(128, 10240), "MB."),
            k("reserved_concurrency", T::Int(0, 1000), "Reserved concurrent executions."),
            k("env", T::Env, "Env vars added or replaced in this stage."),
        ],
    ),
    ("http", &[k("throttle", T::Obj("throttle"), "Default route throttling of the stage.")]),
    ("throttle", &[int("rate", 1, 10000, DEFAULT_THROTTLE_RATE, "Requests per second."), int("burst", 1, 5000, DEFAULT_THROTTLE_BURST, "Burst.")]),
    (
        "topic",
        &[
            k("fifo", T::Bool, "FIFO topic (name gets `.fifo`)."),
            k("content_based_dedup", T::Bool, "FIFO only: deduplicate by content."),
            k("description", T::Str, "For readers of the config."),
        ],
    ),
    (
        "queue",
        &[
            k("fifo", T::Bool, "FIFO queue (name gets `.fifo`); its DLQ is FIFO too."),
            k("content_based_dedup", T::Bool, "FIFO only: deduplicate by content."),
            k("high_throughput", T::Bool, "FIFO only: high throughput (deduplication and the throughput limit per message group)."),
            int("retention_days", 1, 14, DEFAULT_QUEUE_RETENTION_DAYS, "Message retention in days."),
            k("delay_seconds", T::Int(0, 900), "Seconds each message waits before its first delivery (DelaySeconds). Default 0."),
            k("max_message_size", T::Int(1024, 1_048_576), "Largest message in bytes (MaximumMessageSize). Default SQS's 1 MiB; SNS delivers at most 256 KiB."),
            k("visibility_timeout", T::Int(0, 43_200), "Seconds a received message stays hidden; at least the derived 6 x the consumer's timeout + its batching window. Default that floor."),
            k("dlq", T::FalseOr("dlq"), "Dead-letter queue settings, or `false` for none."),
            k("subscribe", T::SubList, "Topics this queue subscribes to: names, or mappings with a filter."),
            k("description", T::Str, "For readers of the config."),
        ],
    ),
    ("dlq", &[int("max_receives", 1, 1000, DEFAULT_MAX_RECEIVES, "Receives before a message moves to the DLQ."), int("retention_days", 1, 14, DEFAULT_DLQ_RETENTION_DAYS, "Days; must exceed the queue's."), k("retry_window", T::Int(60, 1_209_600), "Seconds a failing message keeps being retried (waits doubling from the visibility timeout up to 15 min) before it moves to the DLQ; sets maxReceiveCount. Instead of max_receives.")]),
    (
        "subscription",
        &[
            k("topic", T::Str, "The topic."),
            k("raw", T::Bool, "Raw message delivery (no SNS envelope); default false."),
            k("filter_scope", T::Enum(&["attributes", "body"]), "What the filter matches; default attributes."),
            k("filter", T::Filter, "SNS filter policy, e.g. `{ quantity: [{ numeric: [\">=\", 100] }] }`."),
        ],
    ),
    (
        "function",
        &[
            k("handler", T::Str, "Binary of the handlers crate; default the function name with `-`."),
            k("description", T::Str, "Lambda description."),
            k("timeout", T::Int(1, 900), "Seconds; at most 30 for HTTP functions."),
            k("memory", T::Int(128, 10240), "MB."),
            k("architecture", T::Enum(&["x86_64", "arm64"]), "CPU architecture."),
            k("reserved_concurrency", T::Int(0, 1000), "Reserved concurrent executions."),
            k("trigger", T::Obj("trigger"), "`queue: <name>` (with batching), `http: { auth, routes }` or `schedule: rate(...)|cron(...)`."),
            k("publishes", T::StrList, "Topics it publishes to."),
            k("databases", T::StrList, "Databases it reaches (puts it in the VPC)."),
            k("emails", T::StrList, "SES senders it sends through."),
            k("endpoints", T::StrList, "External endpoints it calls."),
            k("secrets", T::StrList, "Generated secrets it reads."),
            k("callbacks", T::StrList, "Routes whose URL it hands out (`METHOD /path`); gives it the API's base URL."),
            k("env", T::Env, "Plain env vars (no secrets: use `secrets`)."),
        ],
    ),
    (
        "trigger",
        &[
            k("queue", T::Str, "The queue it consumes."),
            int("batch_size", 1, 10000, DEFAULT_BATCH_SIZE, "At most 10 for FIFO; over 10 needs a window."),
            int("batch_window", 0, 300, DEFAULT_BATCH_WINDOW, "Seconds to gather a batch."),
            k("max_concurrency", T::Int(2, 1000), "Most concurrent invocations from this queue."),
            k("http", T::Obj("http_trigger"), "HTTP routes."),
            k("schedule", T::Str, "EventBridge schedule: `rate(N minute[s]|hour[s]|day[s])` or `cron(min hour day-of-month month day-of-week year)` (UTC)."),
            int("retries", 0, 2, DEFAULT_SCHEDULE_RETRIES, "Schedule: Lambda's retries of a failed run (async invocation)."),
            int("max_event_age", 60, 21600, DEFAULT_MAX_EVENT_AGE, "Schedule: seconds a run may wait (throttled or retried) before it goes to the DLQ."),
        ],
    ),
    ("http_trigger", &[k("auth", T::Enum(&["public", "iam", "signed"]), "Who may call: anyone, SigV4 callers, or callers the handler verifies with its secret."), k("routes", T::StrList, "`METHOD /path` entries.")]),
    (
        "email",
        &[
            k("identity", T::Str, "Domain or address SES sends as."),
            k("configuration_set", T::Str, "Configuration set name; default `<system>-<stage>-<name>`."),
            k("senders", T::StrList, "From addresses allowed (IAM condition)."),
        ],
    ),
    (
        "database",
        &[
            k("engine", T::Enum(&["mysql"]), "MySQL / MariaDB."),
            int("port", 1, 65535, DEFAULT_DB_PORT, "Port."),
            k("name", T::Str, "Schema name; default the database's config name."),
            k("iam_user", T::Str, "Use IAM authentication as this database user."),
            k("description", T::Str, "Used in parameter descriptions."),
        ],
    ),
    ("endpoint", &[k("default", T::Str, "Default URL of the parameter."), k("description", T::Str, "Used in the parameter description.")]),
    ("secret", &[int("length", 32, 4096, DEFAULT_SECRET_LENGTH, "Generated length."), k("description", T::Str, "Secret description.")]),
];

pub fn object(name: &str) -> &'static [K] {
    OBJECTS.iter().find(|(n, _)| *n == name).map(|(_, ks)| *ks).unwrap_or(&[])
}

/// The range of a whole-number key; the parser checks values against it (E012).
pub fn range(object_name: &str, key: &str) -> Option<(u64, u64)> {
    object(object_name).iter().find(|k| k.name == key).and_then(|k| match k.ty {
        T::Int(min, max) => Some((min, max)),
        _ => None,
    })
}

/// Where each object sits in the config, in the words of an error message.
const PLACES: &[(&str, &str)] = &[
    ("config", "the top level"),
    ("defaults", "`defaults`"),
    ("stage", "a stage (`stages.<stage>`)"),
    ("function_override", "a stage's function (`stages.<stage>.functions.<function>`)"),
    ("queue_override", "a stage's queue (`stages.<stage>.queues.<queue>`)"),
    ("http", "`http` (top level or a stage's)"),
    ("throttle", "`http.throttle`"),
    ("topic", "a topic"),
    ("queue", "a queue"),
    ("dlq", "a queue's `dlq`"),
    ("subscription", "a queue's subscription (`subscribe: [{ topic: <topic>, ... }]`)"),
    ("function", "a function"),
    ("trigger", "a function's `trigger`"),
    ("http_trigger", "an HTTP trigger (`trigger: { http: { ... } }`)"),
    ("email", "an email sender"),
    ("database", "a database"),
    ("endpoint", "an endpoint"),
    ("secret", "a secret"),
];

/// The other objects that take `key`, as places in the config (for "`batch_size` belongs to a
/// function's `trigger`" instead of a guess among this object's keys).
pub fn places_of(key: &str, except: &str) -> Vec<&'static str> {
    OBJECTS
        .iter()
        .filter(|(o, ks)| *o != except && ks.iter().any(|k| k.name == key))
        .map(|(o, _)| PLACES.iter().find(|(p, _)| p == o).map_or(*o, |(_, w)| *w))
        .collect()
}

/// The allowed keys of one config object.
pub fn keys(name: &str) -> Vec<&'static str> {
    object(name).iter().map(|k| k.name).collect()
}

const NAME_PATTERN: &str = "^[a-z][a-z0-9_-]*$";
/// The system name: the first part of every physical name.
pub const SYSTEM_PATTERN: &str = "^[a-z][a-z0-9-]*$";
/// Longest system name (it prefixes names AWS limits to 64 or 80 characters).
pub const MAX_SYSTEM_NAME: usize = 24;
/// Values CloudWatch Logs accepts for RetentionInDays.
pub const LOG_RETENTION_DAYS: &[u64] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
/// Stage names: lowercase letters and digits.
const STAGE_PATTERN: &str = "^[a-z][a-z0-9]*$";

/// Keys without which an object means nothing (E004 in the parser); the schema requires them.
const REQUIRED: &[(&str, &[&str])] = &[
    ("config", &["version", "system", "stages"]),
    ("function", &["trigger"]),
    ("subscription", &["topic"]),
    ("http_trigger", &["auth", "routes"]),
    ("email", &["identity", "senders"]),
];

fn ty(t: T) -> Json {
    match t {
        T::Str => json!({ "type": "string" }),
        T::Int(min, max) => json!({ "type": "integer", "minimum": min, "maximum": max }),
        T::Bool => json!({ "type": "boolean" }),
        T::StrList => json!({ "type": "array", "items": { "type": "string" } }),
        T::Enum(v) => json!({ "enum": v }),
        T::Obj(o) => json!({ "$ref": format!("#/$defs/{o}") }),
        T::Named(o) => {
            json!({ "type": ["object", "null"], "propertyNames": { "pattern": NAME_PATTERN }, "additionalProperties": { "$ref": format!("#/$defs/{o}") } })
        }
        T::SubList => {
            json!({ "type": "array", "items": { "oneOf": [{ "type": "string" }, { "$ref": "#/$defs/subscription" }] } })
        }
        T::Env => {
            json!({ "type": "object", "propertyNames": { "pattern": "^[A-Z][A-Z0-9_]*$" }, "additionalProperties": { "type": "string" } })
        }
        T::Filter => json!({ "type": "object", "minProperties": 1, "maxProperties": 5 }),
        T::FalseOr(o) => json!({ "oneOf": [{ "const": false }, { "$ref": format!("#/$defs/{o}") }] }),
    }
}

/// JSON Schema (draft 2020-12) of flowform.yaml.
pub fn json_schema() -> Json {
    let mut defs = Map::new();
    for (name, ks) in OBJECTS.iter().filter(|(n, _)| *n != "config") {
        defs.insert(name.to_string(), object_schema(ks));
    }
    let mut top = object_schema(object("config"));
    let m = top.as_object_mut().expect("object");
    let mut head = Map::new();
    head.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    head.insert("$id".into(), json!("https://flowform.dev/schema/flowform.schema.json"));
    head.insert("title".into(), json!("flowform.yaml"));
    head.insert(
        "description".into(),
        json!("One config file describing an event-driven AWS system (generated by `flowform schema`)."),
    );
    for (k, v) in std::mem::take(m) {
        head.insert(k, v);
    }
    // As strict as the parser where a schema can say it: the document is a mapping, the system
    // name follows its rule, at least one stage, and a trigger names exactly one kind.
    head.insert("type".into(), json!("object"));
    let props = head["properties"].as_object_mut().expect("properties");
    props.insert(
        "system".into(),
        json!({ "type": "string", "pattern": SYSTEM_PATTERN, "maxLength": MAX_SYSTEM_NAME, "description": props["system"]["description"] }),
    );
    let stages = props["stages"].as_object_mut().expect("stages");
    stages.insert("type".into(), json!("object"));
    stages.insert("minProperties".into(), json!(1));
    stages.insert("propertyNames".into(), json!({ "pattern": STAGE_PATTERN }));
    for object in ["defaults", "stage"] {
        defs[object]["properties"]["log_retention_days"]["enum"] = json!(LOG_RETENTION_DAYS);
    }
    defs["trigger"]["oneOf"] =
        json!([{ "required": ["queue"] }, { "required": ["http"] }, { "required": ["schedule"] }]);
    defs["http_trigger"]["properties"]["routes"]["minItems"] = json!(1);
    defs["email"]["properties"]["senders"]["minItems"] = json!(1);
    for (object, keys) in REQUIRED {
        let target = if *object == "config" {
            &mut head
        } else {
            defs.get_mut(*object).and_then(Json::as_object_mut).expect("object")
        };
        target.insert("required".into(), json!(keys));
    }
    head.insert("$defs".into(), Json::Object(defs));
    Json::Object(head)
}

fn object_schema(ks: &[K]) -> Json {
    let mut props = Map::new();
    for k in ks {
        let mut s = ty(k.ty);
        let m = s.as_object_mut().expect("object");
        m.insert("description".into(), json!(k.doc));
        if let Some(d) = k.default {
            m.insert("default".into(), json!(d));
        }
        props.insert(k.name.to_string(), s);
    }
    json!({ "type": ["object", "null"], "additionalProperties": false, "properties": props })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves() {
        let text = json_schema().to_string();
        for (name, _) in OBJECTS {
            if *name != "config" {
                assert!(text.contains(&format!("#/$defs/{name}")), "object {name} is never used");
            }
        }
        for r in text.split("#/$defs/").skip(1) {
            let name: String = r.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            assert!(!object(&name).is_empty(), "dangling $ref {name}");
        }
    }
}

#[cfg(test)]
mod place_tests {
    use super::{places_of, OBJECTS, PLACES};

    #[test]
    fn every_object_has_a_place_in_words() {
        for (o, _) in OBJECTS {
            assert!(PLACES.iter().any(|(p, _)| p == o), "object `{o}` has no entry in PLACES");
        }
        assert_eq!(places_of("batch_size", "queue"), vec!["a function's `trigger`"]);
        assert_eq!(
            places_of("filter", "queue"),
            vec!["a queue's subscription (`subscribe: [{ topic: <topic>, ... }]`)"]
        );
    }
}
