//! What a replacement drags along. A replaced resource gets a new physical ID, ARN and name;
//! every resource whose properties reference it (`Ref`, `Fn::GetAtt`, `${...}` in `Fn::Sub`)
//! receives the new value when CloudFormation applies the change, so it is updated in place,
//! or replaced too where that property cannot change in place (an event source mapping's
//! `EventSourceArn`, a subscription's `Endpoint`), and what it drags follows. The templates'
//! text of those resources does not change, so a plain diff never shows them.

use super::{behaviour, stateful, Update};
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Serialize, PartialEq)]
pub struct Dragged {
    pub logical_id: String,
    pub resource_type: String,
    /// The replaced resource it references (the root, or one the root drags along).
    pub because_of: String,
    /// Its properties that reference it.
    pub properties: Vec<String>,
    pub update: Update,
    /// What is lost when a resource that holds data or wiring is replaced this way.
    pub loss: Option<&'static str>,
    /// It is replaced by a change of its own (listed as its own entry, with what it drags).
    pub own_entry: bool,
}

/// Everything `root`'s replacement drags along in the new template, in the order found
/// (breadth first, by logical ID within a level); each resource once. A resource in
/// `replaced` has its own entry: it is named, not followed.
pub(super) fn dragged(root: &str, after: &BTreeMap<String, Json>, replaced_anyway: &BTreeSet<String>) -> Vec<Dragged> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::from([root.to_string()]);
    let mut replaced = vec![root.to_string()];
    let mut next = 0;
    while next < replaced.len() {
        let target = replaced[next].clone();
        next += 1;
        for (id, r) in after {
            if seen.contains(id) {
                continue;
            }
            let ty = r["Type"].as_str().unwrap_or_default();
            let properties: Vec<String> = r["Properties"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| references(v, &target))
                .map(|(k, _)| k.clone())
                .collect();
            let Some(update) = properties.iter().map(|p| behaviour(ty, p).unwrap_or(Update::Replacement)).max() else {
                continue;
            };
            seen.insert(id.clone());
            let own_entry = replaced_anyway.contains(id);
            let update = if own_entry { Update::Replacement } else { update };
            let is_replaced = update == Update::Replacement;
            if is_replaced && !own_entry {
                replaced.push(id.clone());
            }
            out.push(Dragged {
                logical_id: id.clone(),
                resource_type: ty.to_string(),
                because_of: target.clone(),
                properties,
                update,
                loss: if is_replaced && !own_entry { stateful(ty) } else { None },
                own_entry,
            });
        }
    }
    out
}

/// Whether a property value references the resource `id`.
fn references(v: &Json, id: &str) -> bool {
    match v {
        Json::Object(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next().expect("one entry");
            match (k.as_str(), arg) {
                ("Ref", Json::String(r)) => r == id,
                ("Fn::GetAtt", Json::Array(a)) => a.first().is_some_and(|r| r == id),
                ("Fn::GetAtt", Json::String(s)) => s.split('.').next() == Some(id),
                ("Fn::Sub", Json::String(s)) => sub_names(s).any(|n| n == id),
                ("Fn::Sub", Json::Array(a)) => {
                    a.first().and_then(Json::as_str).is_some_and(|s| sub_names(s).any(|n| n == id))
                        || a.get(1).is_some_and(|vars| references(vars, id))
                }
                _ => references(arg, id),
            }
        }
        Json::Object(m) => m.values().any(|x| references(x, id)),
        Json::Array(items) => items.iter().any(|x| references(x, id)),
        _ => false,
    }
}

/// The resource names of `${Name}` / `${Name.Attribute}` placeholders (not `${!literal}`).
fn sub_names(s: &str) -> impl Iterator<Item = &str> {
    s.split("${").skip(1).filter_map(|rest| {
        let inner = rest.split('}').next()?;
        (!inner.starts_with('!')).then(|| inner.split('.').next().unwrap_or(inner))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_replaced_queue_drags_its_mapping_subscription_and_policy() {
        let after: BTreeMap<String, Json> = serde_json::from_value(json!({
            "BillingQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "b.fifo"}},
            "BillingEventSourceMapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {"EventSourceArn": {"Fn::GetAtt": ["BillingQueue", "Arn"]}, "FunctionName": {"Ref": "BillingFunction"}}},
            "TripsToBillingSubscription": {"Type": "AWS::SNS::Subscription", "Properties": {"Endpoint": {"Fn::GetAtt": ["BillingQueue", "Arn"]}, "Protocol": "sqs"}},
            "BillingQueuePolicy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "BillingQueue"}]}},
            "BillingRole": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {"Statement": [{"Resource": {"Fn::Sub": "${BillingQueue.Arn}"}}]}}]}},
            "Other": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "${!BillingQueue}"}}}
        }))
        .unwrap();
        let d = dragged("BillingQueue", &after, &BTreeSet::new());
        let ids: Vec<(&str, Update)> = d.iter().map(|x| (x.logical_id.as_str(), x.update)).collect();
        assert_eq!(
            ids,
            vec![
                ("BillingEventSourceMapping", Update::Replacement),
                ("BillingQueuePolicy", Update::InPlace),
                ("BillingRole", Update::InPlace),
                ("TripsToBillingSubscription", Update::Replacement),
            ]
        );
        assert!(d[3].loss.is_some(), "a recreated subscription drops messages published meanwhile");
    }

    #[test]
    fn replacements_chain() {
        let after: BTreeMap<String, Json> = serde_json::from_value(json!({
            "A": {"Type": "AWS::SNS::Topic", "Properties": {}},
            "B": {"Type": "AWS::SNS::Subscription", "Properties": {"TopicArn": {"Ref": "A"}}},
            "C": {"Type": "AWS::Unknown::Thing", "Properties": {"X": {"Ref": "B"}}}
        }))
        .unwrap();
        let d = dragged("A", &after, &BTreeSet::new());
        // B replaced by its own change: named, not followed.
        let own = dragged("A", &after, &BTreeSet::from(["B".to_string()]));
        assert_eq!(own.iter().map(|x| (x.logical_id.as_str(), x.own_entry)).collect::<Vec<_>>(), vec![("B", true)]);
        assert_eq!(
            d.iter().map(|x| (x.logical_id.as_str(), x.because_of.as_str())).collect::<Vec<_>>(),
            vec![("B", "A"), ("C", "B")]
        );
    }
}
