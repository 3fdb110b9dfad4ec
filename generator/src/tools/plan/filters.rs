//! Subscription filters in the config's own words: "queue vip now receives from topic
//! purchases only messages with quantity >= 50 (was: quantity >= 100)".

use super::wiring::noun;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// What each queue receives from each topic, before and after, where it changed.
pub(super) fn deliveries(b: &BTreeMap<String, Json>, a: &BTreeMap<String, Json>) -> Vec<String> {
    let (before, after) = (subscriptions(b), subscriptions(a));
    let keys: BTreeSet<&(String, String)> = before.keys().chain(after.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let (queue, topic) = k;
        match (before.get(k), after.get(k)) {
            (Some(x), Some(y)) if x != y => {
                out.push(format!("{queue} now receives from {topic} {} (was: {})", receives(y), receives(x)))
            }
            (None, Some(y)) => out.push(format!("{queue} now receives from {topic} {}", receives(y))),
            (Some(x), None) => out.push(format!("{queue} no longer receives from {topic} (was: {})", receives(x))),
            _ => {}
        }
    }
    out
}

/// (queue, topic) -> (filter policy, body scope) of each SQS subscription.
fn subscriptions(res: &BTreeMap<String, Json>) -> BTreeMap<(String, String), (Json, bool)> {
    res.values()
        .filter(|r| r["Type"] == "AWS::SNS::Subscription" && r["Properties"]["Protocol"] == "sqs")
        .map(|r| {
            let p = &r["Properties"];
            let key = (noun(&p["Endpoint"]), noun(&p["TopicArn"]));
            (key, (p["FilterPolicy"].clone(), p["FilterPolicyScope"] == "MessageBody"))
        })
        .collect()
}

fn receives((policy, body): &(Json, bool)) -> String {
    match policy {
        Json::Null => "every message".into(),
        p => {
            let scope = if *body { " (matched in the message body)" } else { "" };
            format!("only messages with {}{scope}", words(&literal(p), ""))
        }
    }
}

/// The policy as the config wrote it: `Fn::Join` pieces (how flowform keeps `${` literal)
/// joined back into their text.
fn literal(v: &Json) -> Json {
    match v {
        Json::Object(m) if m.len() == 1 && m.contains_key("Fn::Join") => {
            let parts = m["Fn::Join"].as_array().map(Vec::as_slice).unwrap_or_default();
            match parts {
                [Json::String(delimiter), Json::Array(pieces)] if pieces.iter().all(Json::is_string) => {
                    Json::String(pieces.iter().filter_map(Json::as_str).collect::<Vec<_>>().join(delimiter))
                }
                _ => v.clone(),
            }
        }
        Json::Object(m) => Json::Object(m.iter().map(|(k, x)| (k.clone(), literal(x))).collect()),
        Json::Array(items) => Json::Array(items.iter().map(literal).collect()),
        other => other.clone(),
    }
}

/// A filter policy as conditions joined by "and"; a condition with alternatives in
/// parentheses joined by "or", so the reading is never ambiguous.
fn words(p: &Json, prefix: &str) -> String {
    let Json::Object(m) = p else { return p.to_string() };
    let several = m.len() > 1;
    m.iter()
        .map(|(k, v)| {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                Json::Array(alternatives) => {
                    let any: Vec<String> = alternatives.iter().map(|alt| condition(&key, alt)).collect();
                    if any.len() > 1 && several {
                        format!("({})", any.join(" or "))
                    } else {
                        any.join(" or ")
                    }
                }
                Json::Object(_) => words(v, &key),
                other => format!("{key} = {}", plain(other)),
            }
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

fn condition(key: &str, alt: &Json) -> String {
    let Json::Object(op) = alt else { return format!("{key} = {}", plain(alt)) };
    op.iter()
        .map(|(name, arg)| match (name.as_str(), arg) {
            ("numeric", Json::Array(parts)) => parts
                .chunks(2)
                .map(|c| format!("{key} {} {}", plain(&c[0]), c.get(1).map(plain).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(" and "),
            ("prefix", v) => format!("{key} starting with {}", plain(v)),
            ("suffix", v) => format!("{key} ending with {}", plain(v)),
            ("anything-but", Json::Array(values)) => {
                format!("{key} none of {}", values.iter().map(plain).collect::<Vec<_>>().join(", "))
            }
            ("anything-but", Json::Object(inner)) => inner
                .iter()
                .map(|(op, v)| match op.as_str() {
                    "prefix" => format!("{key} not starting with {}", plain(v)),
                    "suffix" => format!("{key} not ending with {}", plain(v)),
                    other => format!("{key} not {other} {}", plain(v)),
                })
                .collect::<Vec<_>>()
                .join(" and "),
            ("anything-but", v) => format!("{key} other than {}", plain(v)),
            ("exists", Json::Bool(true)) => format!("any {key}"),
            ("exists", _) => format!("no {key}"),
            ("equals-ignore-case", v) => format!("{key} = {} (any case)", plain(v)),
            ("cidr", v) => format!("{key} in {}", plain(v)),
            (other, v) => format!("{key} {other} {}", plain(v)),
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

fn plain(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sub(filter: Option<Json>) -> BTreeMap<String, Json> {
        let mut p = json!({"Protocol": "sqs", "Endpoint": {"Fn::GetAtt": ["VipQueue", "Arn"]}, "TopicArn": {"Ref": "PurchasesTopic"}});
        if let Some(f) = filter {
            p["FilterPolicy"] = f;
        }
        BTreeMap::from([(
            "PurchasesToVipSubscription".to_string(),
            json!({"Type": "AWS::SNS::Subscription", "Properties": p}),
        )])
    }

    #[test]
    fn a_filter_change_reads_in_the_configs_words() {
        let f = |n: u64| Some(json!({"quantity": [{"numeric": [">=", n]}]}));
        assert_eq!(
            deliveries(&sub(f(100)), &sub(f(50))),
            vec!["queue vip now receives from topic purchases only messages with quantity >= 50 (was: only messages with quantity >= 100)"]
        );
        assert_eq!(
            deliveries(&sub(None), &sub(Some(json!({"plan": ["paid", {"prefix": "team-"}], "seats": [{"numeric": [">", 0, "<=", 500]}]})))),
            vec!["queue vip now receives from topic purchases only messages with (plan = paid or plan starting with team-) and seats > 0 and seats <= 500 (was: every message)"]
        );
        assert!(deliveries(&sub(f(1)), &sub(f(1))).is_empty());
        let odd = json!({"kind": [{"anything-but": {"prefix": "test"}}, {"exists": false}], "name": [{"Fn::Join": ["$", ["a", "{x}"]]}]});
        assert_eq!(
            deliveries(&sub(None), &sub(Some(odd))),
            vec!["queue vip now receives from topic purchases only messages with (kind not starting with test or no kind) and name = a${x} (was: every message)"]
        );
    }
}
