//! What a function may do and what it is told: its IAM statements and env vars, derived
//! from the wiring (trigger, topics, email, databases, secrets, endpoints, callbacks).

use super::expr::{arn, one_or_many, r, sub, Expr, LogicalId};
use super::functions::EnvVar;
use super::policy::{allow, Statement};
use super::topics::{imported_key_arn, topic_arn};
use crate::ids::pascal;
use crate::model::*;
use serde_json::json;

/// The function's statements (ending with the stack key's) and its env, sorted by name.
pub(super) fn access(sys: &System, f: &Function, log_group_id: &LogicalId) -> (Vec<Statement>, Vec<EnvVar>) {
    let mut st = vec![allow("WriteOwnLogs", &["logs:CreateLogStream", "logs:PutLogEvents"], arn(log_group_id))];
    let mut env: Vec<EnvVar> = vec![EnvVar { name: contracts::STAGE.into(), value: Expr::lit(sys.stage.clone()) }];
    let mut kms_actions: Vec<&str> = vec!["kms:Decrypt"];
    // The services through which the function uses the stack key: Lambda for its encrypted
    // environment, and each encrypted thing it touches. Sorted, once each.
    let mut via = std::collections::BTreeSet::from(["lambda"]);

    if let Trigger::Queue { queue, .. } = &f.trigger {
        st.push(allow(
            "ConsumeOwnQueue",
            &["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
            arn(&LogicalId::queue(sys.queue_identity(queue))),
        ));
        via.insert("sqs");
    }
    if let Trigger::Schedule { .. } = &f.trigger {
        // Lambda writes failed asynchronous runs to the DLQ with the execution role; the
        // queue is encrypted with the stack key, so the role also needs to make data keys.
        st.push(allow("SendToOwnDeadLetterQueue", &["sqs:SendMessage"], arn(&LogicalId::dlq(&f.identity))));
        kms_actions.push("kms:GenerateDataKey");
        via.insert("sqs");
    }
    if !f.publishes.is_empty() {
        st.push(allow(
            "PublishToTopics",
            &["sns:Publish"],
            one_or_many(f.publishes.iter().map(|t| topic_arn(sys, t)).collect()),
        ));
        // The stack key through SNS for its own topics; another system's topics are encrypted
        // with that system's key (`imported_keys`).
        if f.publishes.iter().any(|t| sys.topic(t).is_some_and(|t| t.imported.is_none())) {
            if !kms_actions.contains(&"kms:GenerateDataKey") {
                kms_actions.push("kms:GenerateDataKey");
            }
            via.insert("sns");
        }
        for t in &f.publishes {
            // The env var has the config's name (the code's); the resource, the name it keeps.
            env.push(EnvVar { name: contracts::topic_arn(t), value: topic_arn(sys, t) });
        }
        imported_keys(sys, f, &mut st);
    }
    for e in &f.emails {
        email(sys, e, &mut st, &mut env);
    }
    databases(sys, f, &mut st, &mut env);
    secrets(sys, f, &mut st, &mut env);
    for ep in &f.endpoints {
        env.push(EnvVar { name: contracts::endpoint_url(ep), value: r(&LogicalId::endpoint_param(ep)) });
    }
    if let Some(q) = f.queue().and_then(|q| sys.queues.iter().find(|x| x.name == q)) {
        env.push(EnvVar {
            name: contracts::RETRY_BASE_SECONDS.into(),
            value: Expr::lit(q.visibility_timeout.to_string()),
        });
    }
    if !f.callbacks.is_empty() {
        env.push(EnvVar {
            name: contracts::HTTP_API_URL.into(),
            value: sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"),
        });
    }
    for (k, v) in &f.env {
        env.push(EnvVar { name: k.clone(), value: Expr::text(v) });
    }
    env.sort_by(|a, b| a.name.cmp(&b.name));
    if f.secrets.iter().any(|s| sys.secrets.iter().any(|x| &x.name == s && !x.existing)) {
        via.insert("secretsmanager");
    }
    let mut kms = allow("UseStackKey", &[], arn(&LogicalId::key()));
    kms_actions.sort();
    kms.actions = kms_actions.iter().map(|s| s.to_string()).collect();
    // Only through those services: the role cannot decrypt or make data keys by calling KMS
    // itself (a stolen session cannot read what it copies out of a queue's storage).
    let services: Vec<Expr> = via.iter().map(|s| sub(&format!("{s}.${{AWS::Region}}.amazonaws.com"))).collect();
    kms.condition = Some(json!({ "StringEquals": { "kms:ViaService": one_or_many(services) } }));
    st.push(kms);

    (st, env)
}

/// Publishing to another system's topic encrypts with that system's stack key: a data key
/// through SNS only, on the keys of the systems whose topics the function publishes to.
fn imported_keys(sys: &System, f: &Function, st: &mut Vec<Statement>) {
    let systems: std::collections::BTreeSet<&str> =
        (f.publishes.iter()).filter_map(|t| Some(sys.topic(t)?.imported.as_ref()?.system.as_str())).collect();
    if systems.is_empty() {
        return;
    }
    let keys = one_or_many(systems.iter().map(|s| imported_key_arn(sys, s)).collect());
    let mut kms = allow("UseKeysOfImportedTopics", &["kms:Decrypt", "kms:GenerateDataKey"], keys);
    kms.condition = Some(json!({ "StringEquals": { "kms:ViaService": sub("sns.${AWS::Region}.amazonaws.com") } }));
    st.push(kms);
}

/// Sending as one SES identity: the identity and configuration set, From limited to its senders.
fn email(sys: &System, e: &str, st: &mut Vec<Statement>, env: &mut Vec<EnvVar>) {
    let Some(email) = sys.email(e) else { return };
    let identity =
        sub(&format!("arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:identity/{}", email.identity));
    let cs = sub(&format!(
        "arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:configuration-set/${{{}}}",
        LogicalId::email_config_set(e)
    ));
    let mut s = allow(&format!("SendEmailAs{}", pascal(e)), &["ses:SendEmail"], Expr::List(vec![identity, cs]));
    s.condition = Some(
        json!({ "StringEquals": { "ses:FromAddress": one_or_many(email.senders.iter().map(|a| Expr::lit(a.as_str())).collect()) } }),
    );
    st.push(s);
    env.push(EnvVar { name: contracts::email_identity(e), value: Expr::lit(email.identity.clone()) });
    env.push(EnvVar { name: contracts::email_configuration_set(e), value: r(&LogicalId::email_config_set(e)) });
    env.push(EnvVar {
        name: contracts::email_from(e),
        value: Expr::lit(email.senders.first().cloned().unwrap_or_default()),
    });
}

/// Secrets: the generated ones by their resource, existing ones by their ARN parameter (and
/// their own key, usable only through Secrets Manager).
fn secrets(sys: &System, f: &Function, st: &mut Vec<Statement>, env: &mut Vec<EnvVar>) {
    let (existing, generated): (Vec<&Secret>, Vec<&Secret>) =
        f.secrets.iter().filter_map(|s| sys.secrets.iter().find(|x| &x.name == s)).partition(|s| s.existing);
    let arn = |s: &Secret| {
        if s.existing {
            r(&LogicalId::secret_param(&s.name, "Arn"))
        } else {
            r(&LogicalId::secret(&s.name))
        }
    };
    for (sid, list) in [("ReadGeneratedSecrets", &generated), ("ReadExistingSecrets", &existing)] {
        if !list.is_empty() {
            st.push(allow(sid, &["secretsmanager:GetSecretValue"], one_or_many(list.iter().map(|s| arn(s)).collect())));
        }
    }
    // Each own key: only through Secrets Manager, and only for that secret.
    for s in existing.iter().filter(|s| s.own_key) {
        let mut decrypt = allow(
            &format!("Decrypt{}", pascal(&s.name)),
            &["kms:Decrypt"],
            r(&LogicalId::secret_param(&s.name, "KeyArn")),
        );
        decrypt.condition = Some(json!({ "StringEquals": {
            "kms:ViaService": { "Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com" },
            "kms:EncryptionContext:SecretARN": { "Ref": LogicalId::secret_param(&s.name, "Arn").as_str() },
        } }));
        st.push(decrypt);
    }
    for s in &f.secrets {
        if let Some(secret) = sys.secrets.iter().find(|x| &x.name == s) {
            env.push(EnvVar { name: contracts::secret_arn(s), value: arn(secret) });
        }
    }
}

/// Existing databases: their parameters as env, their secrets readable, IAM auth if configured.
fn databases(sys: &System, f: &Function, st: &mut Vec<Statement>, env: &mut Vec<EnvVar>) {
    let mut secret_arns = Vec::new();
    for d in &f.databases {
        let Some(db) = sys.database(d) else { continue };
        secret_arns.push(r(&LogicalId::db_param(d, "SecretArn")));
        env.push(EnvVar { name: contracts::db_host(d), value: r(&LogicalId::db_param(d, "Host")) });
        env.push(EnvVar { name: contracts::db_port(d), value: Expr::lit(db.port.to_string()) });
        env.push(EnvVar { name: contracts::db_name(d), value: Expr::lit(db.db_name.clone()) });
        env.push(EnvVar { name: contracts::db_secret_arn(d), value: r(&LogicalId::db_param(d, "SecretArn")) });
        let ca = db.ca_bundle.as_ref().map_or(contracts::DB_CA_RDS.to_string(), |_| contracts::db_ca_file(d));
        env.push(EnvVar { name: contracts::db_ca(d), value: Expr::lit(ca) });
        if let Some(user) = &db.iam_user {
            env.push(EnvVar { name: contracts::db_iam_user(d), value: Expr::lit(user.clone()) });
            st.push(allow(
                &format!("ConnectTo{}DbWithIam", pascal(d)),
                &["rds-db:connect"],
                sub(&format!(
                    "arn:${{AWS::Partition}}:rds-db:${{AWS::Region}}:${{AWS::AccountId}}:dbuser:${{{}}}/{user}",
                    LogicalId::db_param(d, "ResourceId")
                )),
            ));
        }
    }
    if !secret_arns.is_empty() {
        st.push(allow("ReadDatabaseSecrets", &["secretsmanager:GetSecretValue"], one_or_many(secret_arns)));
    }
}

#[cfg(test)]
mod tests {
    use crate::cfn::table::{condition, lowered};

    #[test]
    fn the_stack_key_only_through_the_wired_services() {
        let svc = |s: &str| format!(r#"{{"Fn::Sub":"{s}.${{AWS::Region}}.amazonaws.com"}}"#);
        let rows: &[(&str, Vec<String>)] = &[
            ("functions:\n  f: { trigger: { http: { auth: public, routes: [\"GET /a\"] } } }\n", vec![svc("lambda")]),
            ("queues:\n  q: {}\nfunctions:\n  f: { trigger: { queue: q } }\n", vec![svc("lambda"), svc("sqs")]),
            (
                "topics:\n  t: {}\nfunctions:\n  f: { trigger: { schedule: rate(1 day) }, publishes: [t] }\n",
                vec![svc("lambda"), svc("sns"), svc("sqs")],
            ),
            (
                "secrets:\n  k: {}\nfunctions:\n  f: { trigger: { schedule: rate(1 day) }, secrets: [k] }\n",
                vec![svc("lambda"), svc("secretsmanager"), svc("sqs")],
            ),
        ];
        for (extra, want) in rows {
            let view = lowered("", extra);
            let key = view.functions[0].statements.iter().find(|s| s.sid == "UseStackKey").unwrap();
            let via = if want.len() == 1 { want[0].clone() } else { format!("[{}]", want.join(",")) };
            assert_eq!(condition(key), format!(r#"{{"StringEquals":{{"kms:ViaService":{via}}}}}"#), "{extra}");
        }
    }
}
