//! The template's references resolved to what runs on this machine: `Ref` and `Fn::GetAtt` of
//! the provisioned topics, queues, dead-letter queues and secrets, the stage's parameters
//! (database hosts, endpoint URLs, configuration sets) and the pseudo parameters of moto's
//! account. The functions' env ([`crate::dev::function_env`]) and their role statements for
//! the IAM gate ([`roles`]) are resolved here, from the same lowering the templates are
//! rendered from.

use crate::iam::{self, Role, Rule, ACCOUNT};
use crate::provision::Provisioned;
use generator::cfn::{Expr, LogicalId, StackView};
use generator::model::System;
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};

pub struct Locals {
    refs: BTreeMap<LogicalId, String>,
    /// Export name -> value: the stand-ins of imported topics.
    imports: BTreeMap<String, String>,
    atts: BTreeMap<(LogicalId, &'static str), String>,
    region: String,
}

impl Locals {
    pub fn new(sys: &System, p: &Provisioned, endpoint_urls: &BTreeMap<String, String>, region: &str) -> Locals {
        let mut refs = BTreeMap::new();
        let mut atts = BTreeMap::new();
        let mut imports = BTreeMap::new();
        for t in &sys.topics {
            let arn = p.topics.get(&t.name).cloned().unwrap_or_default();
            if let Some(export) = generator::cfn::imported_topic_export(sys, t) {
                imports.insert(export, arn);
                continue;
            }
            atts.insert((LogicalId::topic(&t.identity), "TopicArn"), arn.clone());
            refs.insert(LogicalId::topic(&t.identity), arn);
        }
        for (q, (url, arn)) in &p.queues {
            let id = LogicalId::queue(sys.queue_identity(q));
            refs.insert(id.clone(), url.clone());
            atts.insert((id.clone(), "QueueUrl"), url.clone());
            atts.insert((id, "Arn"), arn.clone());
        }
        for (q, url) in &p.dlqs {
            let id = LogicalId::dlq(sys.queue_identity(q));
            refs.insert(id.clone(), url.clone());
            atts.insert((id.clone(), "QueueUrl"), url.clone());
            atts.insert((id, "Arn"), iam::queue_arn(url, region));
        }
        for s in &sys.secrets {
            let arn = p.secrets.get(&s.name).cloned().unwrap_or_default();
            refs.insert(LogicalId::secret_param(&s.name, "Arn"), arn.clone());
            refs.insert(LogicalId::secret(&s.name), arn);
        }
        for d in &sys.databases {
            refs.insert(LogicalId::db_param(&d.name, "Host"), "127.0.0.1".into());
            refs.insert(
                LogicalId::db_param(&d.name, "SecretArn"),
                format!("arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{}/{}/db/{}", sys.name, sys.stage, d.name),
            );
        }
        for e in &sys.endpoints {
            refs.insert(
                LogicalId::endpoint_param(&e.name),
                endpoint_urls.get(&e.name).cloned().or_else(|| e.default.clone()).unwrap_or_default(),
            );
        }
        for e in &sys.emails {
            refs.insert(LogicalId::email_config_set(&e.name), e.configuration_set.replace("{stage}", &sys.stage));
        }
        Locals { refs, imports, atts, region: region.to_string() }
    }

    /// One value (an env var's): a list is joined with commas; what is not local is empty.
    pub fn value(&self, v: &Expr) -> String {
        self.values(v).join(",")
    }

    /// Every value of `v` (a list's elements; one otherwise).
    pub fn values(&self, v: &Expr) -> Vec<String> {
        match v {
            Expr::Lit(Json::String(s)) => vec![s.clone()],
            Expr::Lit(Json::Array(items)) => items.iter().map(|i| i.as_str().unwrap_or_default().to_string()).collect(),
            Expr::Lit(other) => vec![other.to_string()],
            Expr::Ref(id) => vec![self.refs.get(id).cloned().unwrap_or_default()],
            Expr::GetAtt(id, attr) => vec![self
                .atts
                .iter()
                .find(|((i, a), _)| i == id && a == attr)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()],
            Expr::Sub(template) => vec![self.sub(template)],
            Expr::Join(delimiter, parts) => {
                vec![parts.iter().map(|p| self.value(p)).collect::<Vec<_>>().join(delimiter)]
            }
            Expr::List(items) => items.iter().flat_map(|i| self.values(i)).collect(),
            Expr::Import(name) => vec![self.imports.get(name).cloned().unwrap_or_default()],
        }
    }

    fn sub(&self, template: &str) -> String {
        let mut s = template.to_string();
        for (k, val) in [
            ("AWS::Region", self.region.as_str()),
            ("AWS::AccountId", ACCOUNT),
            ("AWS::Partition", "aws"),
            ("AWS::URLSuffix", "amazonaws.com"),
        ] {
            s = s.replace(&format!("${{{k}}}"), val);
        }
        for ((id, attr), val) in &self.atts {
            s = s.replace(&format!("${{{id}.{attr}}}"), val);
        }
        for (k, val) in &self.refs {
            s = s.replace(&format!("${{{k}}}"), val);
        }
        s
    }

    /// A statement's condition with its references resolved (values stay strings or lists).
    pub fn condition(&self, c: &Json) -> Json {
        match c {
            Json::Object(m) => match Expr::parse(c) {
                Some(e) if !matches!(e, Expr::Lit(_)) => Json::String(self.value(&e)),
                _ => Json::Object(m.iter().map(|(k, v)| (k.clone(), self.condition(v))).collect()),
            },
            Json::Array(items) => Json::Array(items.iter().map(|i| self.condition(i)).collect()),
            other => other.clone(),
        }
    }
}

/// Each function's role as the IAM gate enforces it, by the access key the function signs with.
/// (The generator's statements have Action/Resource/Condition only, never NotAction,
/// NotResource or NotPrincipal, so a [`Rule`] needs nothing else.)
pub fn roles(sys: &System, view: &StackView, locals: &Locals) -> HashMap<String, Role> {
    sys.functions
        .iter()
        .zip(&view.functions)
        .map(|(f, fv)| {
            let rules = fv
                .statements
                .iter()
                .map(|st| Rule {
                    sid: st.sid.clone(),
                    allow: st.effect == "Allow",
                    actions: st.actions.clone(),
                    resources: locals.values(&st.resources),
                    condition: st.condition.as_ref().map_or(Json::Null, |c| locals.condition(c)),
                })
                .collect();
            let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{}/{}", fv.role_id, fv.name);
            (iam::access_key(&f.name), Role { function: fv.name.clone(), arn, rules })
        })
        .collect()
}
