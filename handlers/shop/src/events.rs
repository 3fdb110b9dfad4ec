//! The donut shop's messages that cross SNS and SQS (the SNS envelope they travel in is
//! `flowform_runtime::sns`'s).

use contracts::attributes as attr;
pub use flowform_runtime::sns::{publish_raw, unwrap, Attributes, Envelope, EnvelopeAttribute};
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::Failure;

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
