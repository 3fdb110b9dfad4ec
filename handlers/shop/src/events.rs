//! Messages that cross SNS and SQS, and the SNS envelope they travel in.

use crate::Failure;
use contracts::attributes as attr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The out-of-stock event: one per restock cycle. The original system's four attributes are
/// message attributes (so filters can use them) and also in the body with the order id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutOfStock {
    pub order_id: String,
    pub product_id: String,
    pub sku: String,
    pub factory_id: String,
    pub count: i64,
    pub requester: String,
    pub cycle: i64,
}

/// A successful checkout. `quantity` is also a `Number` message attribute, so the VIP
/// subscription's numeric filter can route it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Purchase {
    pub purchase_id: String,
    pub sku: String,
    pub customer: String,
    pub quantity: i64,
}

/// A UUID stored as `BINARY(16)`, as text (empty if the bytes are not a UUID).
pub fn uuid_text(bytes: &[u8]) -> String {
    uuid::Uuid::from_slice(bytes).map(|u| u.to_string()).unwrap_or_default()
}

/// One SNS message attribute: `("Number", "150")`.
pub type Attributes = BTreeMap<String, (String, String)>;

impl OutOfStock {
    pub fn attributes(&self) -> Attributes {
        BTreeMap::from([
            (attr::PRODUCT_ID.into(), ("String".into(), self.product_id.clone())),
            (attr::FACTORY_ID.into(), ("String".into(), self.factory_id.clone())),
            (attr::PRODUCT_CNT.into(), ("Number".into(), self.count.to_string())),
            (attr::REQUESTER.into(), ("String".into(), self.requester.clone())),
        ])
    }
}

impl Purchase {
    pub fn attributes(&self) -> Attributes {
        BTreeMap::from([
            (attr::QUANTITY.into(), ("Number".into(), self.quantity.to_string())),
            (attr::CUSTOMER.into(), ("String".into(), self.customer.clone())),
        ])
    }
}

/// What SNS puts in an SQS message body when raw delivery is off.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_and_classifies() {
        let ok = r#"{"Type":"Notification","MessageId":"m1","Message":"{\"purchase_id\":\"p\",\"sku\":\"s\",\"customer\":\"c\",\"quantity\":150}","MessageAttributes":{"quantity":{"Type":"Number","Value":"150"}}}"#;
        let (env, p): (Envelope, Purchase) = unwrap(Some(ok)).unwrap();
        assert_eq!(p.quantity, 150);
        assert_eq!(env.message_attributes["quantity"].value, "150");
        assert!(matches!(unwrap::<Purchase>(Some("garbage")), Err(Failure::Permanent(_))));
        assert!(matches!(unwrap::<Purchase>(None), Err(Failure::Permanent(_))));
    }
}
