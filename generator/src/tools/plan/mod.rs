//! `flowform plan`: what a change to the generated templates does when CloudFormation applies
//! it. Resources added, removed, changed (with the changed properties); for each change
//! whether CloudFormation updates in place, interrupts or REPLACES the resource (from the
//! [`UPDATE_BEHAVIOUR`] table) and what that means for data; IAM changes per function in
//! words; new or changed routes and schedules; weakened encryption or TLS policies; entries
//! renamed with `renamed_from`, and removals that look like a rename without it.

mod behaviour;
mod drag;
mod filters;
mod params;
mod renames;
mod report;
mod wiring;

pub use behaviour::{behaviour, Update, UPDATE_BEHAVIOUR};
pub use drag::Dragged;
pub use report::{markdown, text};

use serde::Serialize;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use Update::*;

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
    /// What the change means for data and wiring; none when nothing is at risk.
    pub consequence: Option<Consequence>,
    /// Replaces or removes a resource that holds data or wiring (itself, or one it drags).
    pub destructive: bool,
    /// For a replacement: the resources that reference it and are updated or replaced with it.
    pub dragged: Vec<Dragged>,
}

/// What happens to a resource's data or wiring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// A resource that holds data or wiring goes (removed, or replaced by a new one); `loss`
    /// says what is lost for its type.
    Lost { replaced: bool, loss: &'static str },
    /// A queue's dead-letter queue is removed while the queue stays.
    QueueDlqRemoved,
    /// A scheduled function's dead-letter queue is removed while its schedule stays.
    ScheduleDlqRemoved,
    /// A queue loses its RedrivePolicy (and may be replaced too).
    DlqDetached { replaced: Option<&'static str> },
    /// CloudFormation generates a new value for a generated secret.
    SecretRegenerated,
    /// Moves to another template of a split stage (`nested_stacks`): a plain deploy fails.
    Moved,
    /// Removed; nothing it held is lost (only said when the resource is retained).
    Removed,
}

/// A change's consequence: classified by resource type and property, so whether it is
/// destructive never depends on the words; the words are its serialised form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consequence {
    pub fate: Fate,
    /// DeletionPolicy Retain keeps the removed resource.
    pub retained: bool,
}

impl Consequence {
    pub fn destructive(&self) -> bool {
        self.fate != Fate::Removed
    }

    pub fn text(&self) -> String {
        let words = match self.fate {
            Fate::Lost { replaced: true, loss } => format!("replaced: {loss}"),
            Fate::Lost { replaced: false, loss } => format!("removed: {loss}"),
            Fate::QueueDlqRemoved => "removed dead-letter queue: failed messages of its queue will be retried until they expire, then lost".into(),
            Fate::ScheduleDlqRemoved => "removed dead-letter queue: failed scheduled runs of its function will be dropped after their retries".into(),
            Fate::DlqDetached { replaced } => format!(
                "{}its dead-letter queue is detached: failed messages are retried until they expire",
                replaced.map_or(String::new(), |loss| format!("replaced: {loss}; "))
            ),
            Fate::SecretRegenerated => "GenerateSecretString changed: CloudFormation generates a new secret value; tokens signed with the old one stop working".into(),
            Fate::Moved => "moves to another nested stack: a plain deploy fails (see the hint on moves)".into(),
            Fate::Removed => "removed".into(),
        };
        if self.retained {
            format!("{words} (DeletionPolicy Retain keeps the old resource)")
        } else {
            words
        }
    }
}

impl Serialize for Consequence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

#[derive(Debug, Serialize, Default, PartialEq)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// "checkout can now publish to topic purchases"
    pub permissions: Vec<String>,
    /// What each queue receives from each topic, where a subscription or its filter changed.
    pub deliveries: Vec<String>,
    /// Parameters added, removed, or with a new default or pattern.
    pub parameters: Vec<String>,
    /// New, removed or changed HTTP routes and who may call them.
    pub routes: Vec<String>,
    /// New, removed or changed schedules of functions.
    pub schedules: Vec<String>,
    /// Encryption or TLS protections removed.
    pub weakened: Vec<String>,
    /// Topics, queues and functions renamed in the config that keep their resources
    /// (`renamed_from`).
    pub renamed: Vec<String>,
    /// Removals that may be a rename gone wrong: a `renamed_from` dropped or misdirected, or
    /// a removed and an added entry with the same settings.
    pub hints: Vec<String>,
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

/// `<system>-<stage>` of a generated template (from its stack key's alias), to tell a reviewer
/// when the two templates compared are of different stages or systems.
pub fn stack_prefix(t: &Json) -> Option<String> {
    renames::stage_prefix(&resources(t))
}

/// Compares two templates (before -> after).
pub fn plan(before: &Json, after: &Json) -> Plan {
    let (b, a) = (resources(before), resources(after));
    let mut p = Plan::default();
    let ids: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for id in ids {
        match (b.get(id), a.get(id)) {
            (None, Some(r)) => p.changes.push(bare(id, r, ChangeKind::Added)),
            (Some(r), None) => {
                p.changes.push(removed(id, r, &a));
            }
            (Some(rb), Some(ra)) => {
                p.changes.extend(modified(id, rb, ra));
            }
            (None, None) => {}
        }
    }
    let replaced: BTreeSet<String> =
        p.changes.iter().filter(|c| c.update == Some(Replacement)).map(|c| c.logical_id.clone()).collect();
    for c in p.changes.iter_mut().filter(|c| c.update == Some(Replacement)) {
        c.dragged = drag::dragged(&c.logical_id, &a, &replaced);
        c.destructive |= c.dragged.iter().any(|d| d.loss.is_some());
    }
    p.permissions = wiring::permissions(&b, &a);
    p.deliveries = filters::deliveries(&b, &a);
    p.routes = wiring::routes(&b, &a);
    p.schedules = wiring::schedules(&b, &a);
    p.weakened = wiring::weakened(&b, &a);
    p.renamed = renames::renamed(&b, &a);
    p.hints = renames::hints(&b, &a);
    let (parameters, weaker) = params::parameters(before, after);
    p.parameters = parameters;
    p.weakened.extend(weaker);
    p
}

/// Compares two stages that may be split into nested stacks ([`crate::split::Stage`]): the
/// joined templates as [`plan`] does, plus what moves between templates (the pseudo-property
/// `(template)`). An update cannot move a resource between stacks: the new stack would
/// create it while the old one still holds its physical name (a function, queue or log
/// group name, an event source mapping, a route key), so the deploy fails; a move is
/// [`Fate::Moved`], destructive, and says to use stack refactoring first. Nested stacks added
/// or removed are listed as such.
pub fn plan_stage(before: &crate::split::Stage, after: &crate::split::Stage) -> Plan {
    let mut p = plan(&before.template, &after.template);
    let a = resources(&after.template);
    let mut moves: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (id, to) in &after.homes {
        let Some(from) = before.homes.get(id).filter(|from| *from != to) else { continue };
        let moved = PropChange {
            property: "(template)".into(),
            update: Replacement,
            before: json_str(from),
            after: json_str(to),
        };
        let at = p.changes.iter().position(|c| c.logical_id == *id);
        let c = match at {
            Some(i) => &mut p.changes[i],
            None => {
                p.changes.push(bare(id, a.get(id).unwrap_or(&Json::Null), ChangeKind::Modified));
                p.changes.last_mut().unwrap_or_else(|| unreachable!())
            }
        };
        // Not a replacement: stack refactoring moves it as it is; the hint says how.
        c.properties.push(PropChange { update: InPlace, ..moved });
        c.update = c.properties.iter().map(|pc| pc.update).max();
        c.consequence = Some(Consequence { fate: Fate::Moved, retained: false });
        c.destructive = true;
        *moves.entry((from.clone(), to.clone())).or_default() += 1;
    }
    if !moves.is_empty() {
        let pairs: Vec<String> = moves.iter().map(|((from, to), n)| format!("{from} -> {to}: {n}")).collect();
        let stacks: BTreeSet<&String> = moves.keys().flat_map(|(f, t)| [f, t]).collect();
        p.hints.push(format!(
            "{} resources move between templates ({}). A plain deploy of this fails: the stack a resource moves to creates it while the old one still holds its name (function, queue, log group, event source mapping, route key). Move them first with CloudFormation stack refactoring (`aws cloudformation create-stack-refactor` with the old and new templates; {} stacks are involved and one refactor takes at most 5, nothing created, deleted or changed in it), then deploy the rest.",
            moves.values().sum::<usize>(),
            pairs.join(", "),
            stacks.len()
        ));
    }
    for (id, r) in &after.stacks {
        if !before.stacks.contains_key(id) {
            p.changes.push(bare(id, r, ChangeKind::Added));
        }
    }
    for (id, r) in &before.stacks {
        if !after.stacks.contains_key(id) {
            p.changes.push(removed(id, r, &a));
        }
    }
    // A move is no replacement, so what `plan` dragged along stands.
    p.changes.sort_by(|x, y| x.logical_id.cmp(&y.logical_id));
    p
}

/// A change of resource `r` with nothing said about it yet.
fn bare(id: &str, r: &Json, kind: ChangeKind) -> Change {
    Change {
        logical_id: id.to_string(),
        resource_type: r["Type"].as_str().unwrap_or_default().into(),
        kind,
        update: None,
        properties: Vec::new(),
        consequence: None,
        destructive: false,
        dragged: Vec::new(),
    }
}

fn json_str(s: &str) -> Json {
    Json::String(s.to_string())
}

/// A resource the new template no longer has.
fn removed(id: &str, r: &Json, a: &BTreeMap<String, Json>) -> Change {
    let ty = r["Type"].as_str().unwrap_or_default().to_string();
    let source_stays = id.strip_suffix("DeadLetterQueue").is_some_and(|base| a.contains_key(&format!("{base}Queue")));
    let schedule_stays =
        id.strip_suffix("DeadLetterQueue").is_some_and(|base| a.contains_key(&format!("{base}ScheduleRule")));
    let what = if ty == "AWS::SQS::Queue" && schedule_stays {
        Fate::ScheduleDlqRemoved
    } else if ty == "AWS::SQS::Queue" && source_stays {
        Fate::QueueDlqRemoved
    } else {
        stateful(&ty).map_or(Fate::Removed, |loss| Fate::Lost { replaced: false, loss })
    };
    let retained = r["DeletionPolicy"] == "Retain";
    let consequence = (what != Fate::Removed || retained).then_some(Consequence { fate: what, retained });
    Change {
        logical_id: id.to_string(),
        destructive: consequence.as_ref().is_some_and(Consequence::destructive),
        resource_type: ty,
        kind: ChangeKind::Removed,
        update: None,
        properties: Vec::new(),
        consequence,
        dragged: Vec::new(),
    }
}

/// A resource in both templates: its changed properties, or `None` when nothing changed.
fn modified(id: &str, rb: &Json, ra: &Json) -> Option<Change> {
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
        return None;
    }
    let update = props.iter().map(|c| c.update).max();
    let replaced = update == Some(Replacement);
    let detached = ty == "AWS::SQS::Queue" && props.iter().any(|c| c.property == "RedrivePolicy" && c.after.is_null());
    // Updated in place, but CloudFormation generates a new value.
    let regenerated = ty == "AWS::SecretsManager::Secret" && props.iter().any(|c| c.property == "GenerateSecretString");
    let loss = if replaced { stateful(&ty) } else { None };
    let fate = if detached {
        Some(Fate::DlqDetached { replaced: loss })
    } else if let Some(loss) = loss {
        Some(Fate::Lost { replaced: true, loss })
    } else if regenerated {
        Some(Fate::SecretRegenerated)
    } else {
        None
    };
    let consequence = fate.map(|fate| Consequence { fate, retained: false });
    Some(Change {
        logical_id: id.to_string(),
        destructive: consequence.as_ref().is_some_and(Consequence::destructive),
        resource_type: ty,
        kind: ChangeKind::Modified,
        update,
        properties: props,
        consequence,
        dragged: Vec::new(),
    })
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
