//! Parameters in words: what a deployer must now pass, defaults that change, and patterns
//! that loosen (an endpoint that accepts plain HTTP is weaker TLS, like a removed policy).

use serde_json::Value as Json;
use std::collections::BTreeSet;

/// (changes in words, protections weakened) between two templates' `Parameters`.
pub(super) fn parameters(before: &Json, after: &Json) -> (Vec<String>, Vec<String>) {
    let empty = serde_json::Map::new();
    let (b, a) =
        (before["Parameters"].as_object().unwrap_or(&empty), after["Parameters"].as_object().unwrap_or(&empty));
    let ids: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    let (mut changes, mut weakened) = (Vec::new(), Vec::new());
    for id in ids {
        match (b.get(id), a.get(id)) {
            (None, Some(p)) => changes.push(match p.get("Default") {
                Some(d) => format!("new parameter {id} (default {})", text(d)),
                None => format!("new parameter {id}: every deploy must now pass it ({})", text(&p["Description"])),
            }),
            (Some(_), None) => changes.push(format!("parameter {id} removed (a deploy passing it now fails)")),
            (Some(pb), Some(pa)) => {
                if pb["Default"] != pa["Default"] {
                    changes.push(format!(
                        "parameter {id} defaults to {} (was {})",
                        text(&pa["Default"]),
                        text(&pb["Default"])
                    ));
                }
                if pb["AllowedPattern"] != pa["AllowedPattern"] {
                    changes.push(format!(
                        "parameter {id} accepts {} (was {})",
                        text(&pa["AllowedPattern"]),
                        text(&pb["AllowedPattern"])
                    ));
                    let tls = |p: &Json| p["AllowedPattern"].as_str().is_some_and(|s| s.starts_with("^https://"));
                    if tls(pb) && !tls(pa) {
                        weakened.push(format!("parameter {id} now accepts plain http:// URLs"));
                    }
                }
            }
            (None, None) => {}
        }
    }
    (changes, weakened)
}

fn text(v: &Json) -> String {
    match v {
        Json::Null => "none".into(),
        Json::String(s) => format!("`{s}`"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_endpoint_that_accepts_plain_http_is_weaker_tls() {
        let p = |pattern: &str, default: &str| json!({"Parameters": {"BankUrl": {"Type": "String", "AllowedPattern": pattern, "Default": default}}});
        let (changes, weakened) =
            parameters(&p("^https://.+$", "https://bank.example.com"), &p("^https?://.+$", "http://bank.example.com"));
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(weakened, vec!["parameter BankUrl now accepts plain http:// URLs"]);
        let (changes, _) =
            parameters(&json!({}), &json!({"Parameters": {"KeySecretArn": {"Type": "String", "Description": "ARN"}}}));
        assert_eq!(changes, vec!["new parameter KeySecretArn: every deploy must now pass it (`ARN`)"]);
    }
}
