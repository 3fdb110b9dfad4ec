//! Stack outputs: the API URL, queue URLs and topic ARNs; exported topics' ARNs (and the key's,
//! when other systems publish) as CloudFormation exports.
use super::expr::{arn, r, sub, Expr, LogicalId};
use crate::model::*;
use serde::Serialize;

#[derive(Serialize, Clone, Debug)]
pub struct OutputView {
    pub id: LogicalId,
    pub description: String,
    pub value: Expr,
    /// The export name (`<system>-<stage>-<output>`) other stacks import it by.
    pub export: Option<String>,
}

pub(super) fn outputs(sys: &System, http: bool, scheduled: &[&Function]) -> Vec<OutputView> {
    let mut outputs = Vec::new();
    if http {
        outputs.push(OutputView {
            id: LogicalId::http_url_output(),
            description: "Base URL of the HTTP API".into(),
            value: sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"),
            export: None,
        });
    }
    for q in &sys.queues {
        outputs.push(OutputView {
            id: LogicalId::queue_url_output(&q.identity),
            description: format!("URL of queue `{}`", q.name),
            value: r(&LogicalId::queue(&q.identity)),
            export: None,
        });
        if q.dlq.is_some() {
            outputs.push(OutputView {
                id: LogicalId::dlq_url_output(&q.identity),
                description: format!("URL of the dead-letter queue of `{}`", q.name),
                value: r(&LogicalId::dlq(&q.identity)),
                export: None,
            });
        }
    }
    for f in scheduled {
        outputs.push(OutputView {
            id: LogicalId::dlq_url_output(&f.identity),
            description: format!("URL of the dead-letter queue of scheduled function `{}`", f.name),
            value: r(&LogicalId::dlq(&f.identity)),
            export: None,
        });
    }
    let naming = sys.naming();
    for t in sys.topics.iter().filter(|t| t.imported.is_none()) {
        let id = LogicalId::topic_arn_output(&t.identity);
        outputs.push(OutputView {
            description: format!("ARN of topic `{}`", t.name),
            value: r(&LogicalId::topic(&t.identity)),
            export: t.export.any().then(|| naming.export(id.as_str())),
            id,
        });
    }
    // Publishers of other systems encrypt with this key (through SNS): their roles name it.
    if sys.topics.iter().any(|t| !t.export.publish.is_empty()) {
        let id = LogicalId::key_arn_output();
        outputs.push(OutputView {
            description: "ARN of the stack key, for the systems that publish to exported topics".into(),
            value: arn(&LogicalId::key()),
            export: Some(naming.export(id.as_str())),
            id,
        });
    }
    outputs
}

#[cfg(test)]
mod tests {
    use crate::cfn::table::lowered;

    #[test]
    fn one_output_per_queue_dlq_topic_and_the_api() {
        let rows: &[(&str, &[&str])] = &[
            ("topics:\n  t: {}\n", &["TTopicArn"]),
            ("topics:\n  t: { export: { publish: [x] } }\n", &["EncryptionKeyArn", "TTopicArn"]),
            ("queues:\n  q: {}\nfunctions:\n  f: { trigger: { queue: q } }\n", &["QDeadLetterQueueUrl", "QQueueUrl"]),
            ("functions:\n  f: { trigger: { http: { auth: public, routes: [\"GET /a\"] } } }\n", &["HttpApiUrl"]),
        ];
        for (extra, want) in rows {
            let view = lowered("", extra);
            let mut got: Vec<&str> = view.outputs.iter().map(|o| o.id.as_str()).collect();
            got.sort();
            assert_eq!(got, *want, "{extra}");
        }
    }

    #[test]
    fn exported_topics_and_the_key_are_cloudformation_exports() {
        let view =
            lowered("", "topics:\n  t: { export: { subscribe: [x] } }\n  u: {}\n  v: { export: { publish: [x] } }\n");
        let exports: Vec<(&str, Option<&str>)> =
            view.outputs.iter().map(|o| (o.id.as_str(), o.export.as_deref())).collect();
        assert_eq!(
            exports,
            [
                ("TTopicArn", Some("shop-dev-TTopicArn")),
                ("UTopicArn", None),
                ("VTopicArn", Some("shop-dev-VTopicArn")),
                ("EncryptionKeyArn", Some("shop-dev-EncryptionKeyArn")),
            ]
        );
    }
}
