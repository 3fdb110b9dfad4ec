//! Logical IDs: derived from config names, never from positions, so reordering a config never
//! renames (and so never replaces) a resource.

/// `stock_request` / `stock-request` -> `StockRequest`.
pub fn pascal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if c == '_' || c == '-' || c == '/' || c == '{' || c == '}' || c == '.' || c == ' ' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Logical ID of a route: `POST /factory/callback/{order}` -> `PostFactoryCallbackOrder`.
pub fn route_id(method: &str, path: &str) -> String {
    let m = pascal(&method.to_ascii_lowercase());
    let p = pascal(path);
    if p.is_empty() {
        format!("{m}Root")
    } else {
        format!("{m}{p}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_case() {
        assert_eq!(pascal("stock_request"), "StockRequest");
        assert_eq!(pascal("stock-request"), "StockRequest");
        assert_eq!(pascal("vip"), "Vip");
        assert_eq!(route_id("POST", "/factory/callback/{order}"), "PostFactoryCallbackOrder");
        assert_eq!(route_id("GET", "/"), "GetRoot");
    }
}
