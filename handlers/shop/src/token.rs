//! Callback tokens: the factory gets a CallbackUrl carrying the order id and an HMAC-SHA256
//! of it under the stack's generated callback key. Only someone holding the key can make a
//! URL that the stock-arrival function accepts.

use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

pub fn sign(key: &[u8], order_id: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(b"flowform-callback-v1:");
    mac.update(order_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time check of a token.
pub fn verify(key: &[u8], order_id: &str, token: &str) -> bool {
    let Ok(raw) = hex::decode(token) else { return false };
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(b"flowform-callback-v1:");
    mac.update(order_id.as_bytes());
    mac.verify_slice(&raw).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_forgery() {
        let t = sign(b"k", "order-1");
        assert!(verify(b"k", "order-1", &t));
        assert!(!verify(b"k", "order-2", &t));
        assert!(!verify(b"other", "order-1", &t));
        assert!(!verify(b"k", "order-1", "zz"));
    }
}
