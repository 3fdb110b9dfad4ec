//! `flowform-local up`: creates, through the service APIs, everything of the model that
//! moto's CloudFormation ignores or that only exists in AWS, idempotently: topics, queues
//! with their DLQs and redrive, SNS->SQS subscriptions with filter policies and raw delivery,
//! generated secrets, SES identities. It also disables the event source mappings a template
//! deploy created in moto, because the local runner polls the queues itself (moto would
//! otherwise "invoke" through Docker and burn receive counts).
//!
//! Every name and attribute comes from the lowered stack (`cfn::lower`), the view the templates
//! are rendered from, so what is provisioned here is what the template declares.

use generator::cfn::{self, LogicalId, QueueView, StackView};
use generator::model::System;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    /// topic name -> ARN
    pub topics: BTreeMap<String, String>,
    /// queue name -> (URL, ARN)
    pub queues: BTreeMap<String, (String, String)>,
    /// queue name -> URL of its dead-letter queue
    pub dlqs: BTreeMap<String, String>,
    /// queue name -> the redrive policy's maxReceiveCount (queues with a DLQ)
    pub max_receives: BTreeMap<String, u64>,
    /// secret name -> ARN (generated, or the local stand-in of an existing one)
    pub secrets: BTreeMap<String, String>,
}

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attrs: BTreeMap<&str, String>,
) -> Result<(String, String), String> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let url = match sqs.get_queue_url().queue_name(name).send().await {
        Ok(r) => r.queue_url.unwrap_or_default(),
        Err(_) => {
            let mut req = sqs.create_queue().queue_name(name);
            for (k, v) in attrs {
                req = req.attributes(A::from(k), v);
            }
            req.send()
                .await
                .map_err(|e| format!("create queue {name}: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?
                .queue_url
                .unwrap_or_default()
        }
    };
    let a = sqs.get_queue_attributes().queue_url(&url).attribute_names(A::QueueArn).send().await.map_err(err(name))?;
    let arn = a.attributes.and_then(|m| m.get(&A::QueueArn).cloned()).unwrap_or_default();
    Ok((url, arn))
}

/// The template's queue with this ID (every queue of the model has one).
fn queue_view<'v>(view: &'v StackView, id: &LogicalId) -> Result<&'v QueueView, String> {
    view.queues.iter().find(|q| &q.id == id).ok_or_else(|| format!("the stack has no queue {id}"))
}

/// SQS attributes of a queue as the template sets them.
fn queue_attributes(q: &QueueView) -> BTreeMap<&'static str, String> {
    let mut attrs = BTreeMap::from([
        ("VisibilityTimeout", q.visibility_timeout.to_string()),
        ("MessageRetentionPeriod", q.retention.to_string()),
    ]);
    if q.fifo {
        attrs.insert("FifoQueue", "true".into());
        if q.content_based_dedup {
            attrs.insert("ContentBasedDeduplication", "true".into());
        }
        if q.options.high_throughput {
            attrs.insert("DeduplicationScope", "messageGroup".into());
            attrs.insert("FifoThroughputLimit", "perMessageGroupId".into());
        }
    }
    if q.options.delay_seconds > 0 {
        attrs.insert("DelaySeconds", q.options.delay_seconds.to_string());
    }
    if let Some(size) = q.options.max_message_size {
        attrs.insert("MaximumMessageSize", size.to_string());
    }
    attrs
}

pub async fn up(sys: &System, aws: &aws_config::SdkConfig) -> Result<Provisioned, String> {
    let view = cfn::lower(sys);
    let sns = aws_sdk_sns::Client::new(aws);
    let sqs = aws_sdk_sqs::Client::new(aws);
    let mut p = Provisioned::default();
    for topic in &sys.topics {
        // Another system's topic (`import`) gets a stand-in under that system's name: its
        // deliveries to this stage's queues and this stage's publishes to it run locally.
        let (name, fifo, dedup) = if topic.imported.is_some() {
            (topic.physical_name(sys), topic.fifo, false)
        } else {
            let id = LogicalId::topic(&topic.identity);
            let Some(t) = view.topics.iter().find(|v| v.id == id) else {
                return Err(format!("the stack has no topic {id}"));
            };
            (t.name.clone(), t.fifo, t.content_based_dedup)
        };
        let mut req = sns.create_topic().name(&name);
        if fifo {
            req = req.attributes("FifoTopic", "true");
        }
        if dedup {
            req = req.attributes("ContentBasedDeduplication", "true");
        }
        let arn = req
            .send()
            .await
            .map_err(|e| format!("create topic {name}: {}", aws_sdk_sns::error::DisplayErrorContext(e)))?
            .topic_arn
            .unwrap_or_default();
        p.topics.insert(topic.name.clone(), arn);
    }
    for q in &sys.queues {
        let qv = queue_view(&view, &LogicalId::queue(&q.identity))?;
        let mut attrs = queue_attributes(qv);
        if q.dlq.is_some() {
            let dv = queue_view(&view, &LogicalId::dlq(&q.identity))?;
            let (durl, darn) = queue(&sqs, &dv.name, queue_attributes(dv)).await?;
            p.dlqs.insert(q.name.clone(), durl);
            let receives = qv.redrive.as_ref().and_then(|r| r["maxReceiveCount"].as_u64()).unwrap_or_default();
            p.max_receives.insert(q.name.clone(), receives);
            attrs.insert(
                "RedrivePolicy",
                serde_json::json!({ "deadLetterTargetArn": darn, "maxReceiveCount": receives }).to_string(),
            );
        }
        let (url, arn) = queue(&sqs, &qv.name, attrs).await?;
        p.queues.insert(q.name.clone(), (url, arn));
    }
    for q in &sys.queues {
        let (_, queue_arn) = &p.queues[&q.name];
        for s in &q.subscriptions {
            let id = LogicalId::subscription(sys.topic_identity(&s.topic), &q.identity);
            let Some(sv) = view.subscriptions.iter().find(|v| v.id == id) else {
                return Err(format!("the stack has no subscription {id}"));
            };
            let topic_arn = &p.topics[&s.topic];
            let existing = sns
                .list_subscriptions_by_topic()
                .topic_arn(topic_arn)
                .send()
                .await
                .map_err(err("list subscriptions"))?;
            if existing.subscriptions().iter().any(|x| x.endpoint() == Some(queue_arn.as_str())) {
                continue;
            }
            let mut req = sns
                .subscribe()
                .topic_arn(topic_arn)
                .protocol("sqs")
                .endpoint(queue_arn)
                .attributes("RawMessageDelivery", sv.raw.to_string());
            if let (Some(f), Some(scope)) = (&sv.filter, &sv.filter_scope) {
                req = req.attributes("FilterPolicy", f.to_string()).attributes("FilterPolicyScope", scope);
            }
            req.send().await.map_err(|e| {
                format!("subscribe {} to {}: {}", q.name, s.topic, aws_sdk_sns::error::DisplayErrorContext(e))
            })?;
        }
    }
    let sm = aws_sdk_secretsmanager::Client::new(aws);
    for s in &sys.secrets {
        // An existing secret gets a local stand-in of the same shape under flowform's name.
        let (name, length) = match view.secrets.iter().find(|v| v.id == LogicalId::secret(&s.name)) {
            Some(sv) => (sv.name.clone(), sv.length),
            None if s.existing => (sys.naming().secret(&s.name), s.length),
            None => return Err(format!("the stack has no secret {}", s.name)),
        };
        let arn = match sm.describe_secret().secret_id(&name).send().await {
            Ok(d) => d.arn.unwrap_or_default(),
            Err(_) => {
                let value: String = (0..length.div_ceil(32))
                    .map(|_| uuid::Uuid::new_v4().simple().to_string())
                    .collect::<String>()[..length as usize]
                    .to_string();
                sm.create_secret()
                    .name(&name)
                    .secret_string(value)
                    .send()
                    .await
                    .map_err(|e| {
                        format!("create secret {name}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e))
                    })?
                    .arn
                    .unwrap_or_default()
            }
        };
        p.secrets.insert(s.name.clone(), arn);
    }
    let ses = aws_sdk_sesv2::Client::new(aws);
    for e in &view.emails {
        let _ = ses.create_email_identity().email_identity(&e.identity).send().await;
        let _ = ses.create_configuration_set().configuration_set_name(&e.config_set).send().await;
    }
    // The runner polls the queues; mappings created by a template deploy must not compete.
    let lambda = aws_sdk_lambda::Client::new(aws);
    for f in &sys.functions {
        let Ok(list) = lambda.list_event_source_mappings().function_name(f.physical_name(sys)).send().await else {
            continue;
        };
        for m in list.event_source_mappings() {
            if let Some(uuid) = m.uuid() {
                let _ = lambda.update_event_source_mapping().uuid(uuid).enabled(false).send().await;
            }
        }
    }
    Ok(p)
}
