//! Callback tokens: the factory gets a CallbackUrl carrying the order id, the id of this send
//! attempt and an HMAC-SHA256 of both under the stack's generated callback key. Only someone
//! holding the key can make a URL that the stock-arrival function accepts, and each attempt
//! has its own token, so each production the factory confirms is counted once.

use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn mac(key: &[u8], order_id: &str, attempt_id: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(b"flowform-callback-v2:");
    mac.update(order_id.as_bytes());
    mac.update(b"/");
    mac.update(attempt_id.as_bytes());
    mac
}

pub fn sign(key: &[u8], order_id: &str, attempt_id: &str) -> String {
    hex::encode(mac(key, order_id, attempt_id).finalize().into_bytes())
}

/// Constant-time check of a token.
pub fn verify(key: &[u8], order_id: &str, attempt_id: &str, token: &str) -> bool {
    let Ok(raw) = hex::decode(token) else { return false };
    mac(key, order_id, attempt_id).verify_slice(&raw).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_forgery() {
        let t = sign(b"k", "order-1", "a-1");
        assert!(verify(b"k", "order-1", "a-1", &t));
        assert!(!verify(b"k", "order-2", "a-1", &t));
        assert!(!verify(b"k", "order-1", "a-2", &t), "a token is bound to its attempt");
        assert!(!verify(b"other", "order-1", "a-1", &t));
        assert!(!verify(b"k", "order-1", "a-1", "zz"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert!(!verify(b"k", "a", "bc", &sign(b"k", "ab", "c")));
    }
}
