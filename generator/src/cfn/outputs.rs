//! Stack outputs: the API URL, queue URLs and topic ARNs.
use super::expr::{r, sub, Expr, LogicalId};
use crate::model::*;
use serde::Serialize;

#[derive(Serialize, Clone, Debug)]
pub struct OutputView {
    pub id: LogicalId,
    pub description: String,
    pub value: Expr,
}

pub(super) fn outputs(sys: &System, http: bool, scheduled: &[&Function]) -> Vec<OutputView> {
    let mut outputs = Vec::new();
    if http {
        outputs.push(OutputView {
            id: LogicalId::http_url_output(),
            description: "Base URL of the HTTP API".into(),
            value: sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"),
        });
    }
    for q in &sys.queues {
        outputs.push(OutputView {
            id: LogicalId::queue_url_output(&q.identity),
            description: format!("URL of queue `{}`", q.name),
            value: r(&LogicalId::queue(&q.identity)),
        });
        if q.dlq.is_some() {
            outputs.push(OutputView {
                id: LogicalId::dlq_url_output(&q.identity),
                description: format!("URL of the dead-letter queue of `{}`", q.name),
                value: r(&LogicalId::dlq(&q.identity)),
            });
        }
    }
    for f in scheduled {
        outputs.push(OutputView {
            id: LogicalId::dlq_url_output(&f.identity),
            description: format!("URL of the dead-letter queue of scheduled function `{}`", f.name),
            value: r(&LogicalId::dlq(&f.identity)),
        });
    }
    for t in &sys.topics {
        outputs.push(OutputView {
            id: LogicalId::topic_arn_output(&t.identity),
            description: format!("ARN of topic `{}`", t.name),
            value: r(&LogicalId::topic(&t.identity)),
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
}
