//! The SNS side of a message: its attributes, the envelope SNS wraps it in on the way to a
//! queue, and publishing an already serialised message.

use crate::Failure;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One SNS message attribute: `("Number", "150")`.
pub type Attributes = BTreeMap<String, (String, String)>;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    #[serde(rename = "Type")]
    pub kind: String,
    pub message_id: String,
    pub message: String,
    #[serde(default)]
    pub message_attributes: BTreeMap<String, EnvelopeAttribute>,
}

#[derive(Debug, Deserialize)]
pub struct EnvelopeAttribute {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// Unwraps an SNS notification from an SQS body and parses its message. Anything else is a
/// permanent failure: retrying a malformed message cannot fix it.
pub fn unwrap<T: for<'de> Deserialize<'de>>(body: Option<&str>) -> Result<(Envelope, T), Failure> {
    let body = body.ok_or_else(|| Failure::Permanent("SQS record without a body".into()))?;
    let env: Envelope =
        serde_json::from_str(body).map_err(|e| Failure::Permanent(format!("not an SNS envelope: {e}")))?;
    if env.kind != "Notification" {
        return Err(Failure::Permanent(format!("SNS message of type `{}`, expected `Notification`", env.kind)));
    }
    let msg: T = serde_json::from_str(&env.message)
        .map_err(|e| Failure::Permanent(format!("malformed message {}: {e}", env.message_id)))?;
    Ok((env, msg))
}

/// Publishes an already serialised message through SNS. Errors are retryable (the caller
/// decides what that means); the outbox is the only caller.
pub async fn publish_raw(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    body: &str,
    attrs: &Attributes,
) -> Result<String, Failure> {
    let mut req = sns.publish().topic_arn(topic_arn).message(body);
    for (name, (kind, value)) in attrs {
        let a = aws_sdk_sns::types::MessageAttributeValue::builder()
            .data_type(kind)
            .string_value(value)
            .build()
            .map_err(|e| Failure::Permanent(e.to_string()))?;
        req = req.message_attributes(name, a);
    }
    let out = req.send().await.map_err(|e| {
        Failure::Retryable(format!("SNS publish to {topic_arn}: {}", aws_sdk_sns::error::DisplayErrorContext(&e)))
    })?;
    Ok(out.message_id().unwrap_or_default().to_string())
}
