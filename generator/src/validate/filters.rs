//! SNS filter policies.

use super::Validator;
use crate::codes::Code;
use crate::config::Sp;
use crate::diag::{did_you_mean, Diagnostic, Span};
use serde_json::Value as Json;

/// SNS's limit of value combinations in one filter policy.
pub const MAX_COMBINATIONS: u64 = 150;
/// SNS's limit of a filter policy's size (bytes).
pub const MAX_BYTES: usize = 256 * 1024;

/// A filter policy with every mapping's keys sorted (lists keep their order: a `numeric`
/// condition's order is its meaning), so reordering keys in the config changes no byte of the
/// template.
pub(crate) fn canonical(v: &Json) -> Json {
    match v {
        Json::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Json::Object(keys.into_iter().map(|k| (k.clone(), canonical(&m[k]))).collect())
        }
        Json::Array(items) => Json::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Value combinations of a filter policy, as SNS counts them: the product of the lengths of
/// its lists (nested keys of a body filter multiply too).
fn combinations(v: &Json) -> u64 {
    match v {
        Json::Object(m) => m.values().map(combinations).fold(1, u64::saturating_mul),
        Json::Array(items) => items.len().max(1) as u64,
        _ => 1,
    }
}

impl Validator {
    /// SNS filter policy rules: attribute scope is flat, body scope may nest; every leaf is a
    /// list of values or operator objects; at most 5 keys at the top (SNS's limit).
    pub(super) fn filter(&mut self, f: &Sp<Json>, body: bool) {
        let Json::Object(map) = &f.value else {
            self.err(
                Diagnostic::error(
                    Code::BadFilter,
                    f.span,
                    "a filter policy must be a mapping of attribute names to conditions",
                )
                .with_help("e.g. `filter: { quantity: [{ numeric: [\">=\", 100] }] }`"),
            );
            return;
        };
        if map.is_empty() || map.len() > 5 {
            self.err(
                Diagnostic::error(
                    Code::BadFilter,
                    f.span,
                    format!("a filter policy has {} keys; SNS allows 1 to 5", map.len()),
                )
                .with_help("split the subscription, or match fewer attributes"),
            );
        }
        let combinations = combinations(&f.value);
        if combinations > MAX_COMBINATIONS {
            self.err(
                Diagnostic::error(
                    Code::BadFilter,
                    f.span,
                    format!("a filter policy with {combinations} combinations of values; SNS allows {MAX_COMBINATIONS}"),
                )
                .with_help("the combinations are the product of the lengths of its lists: match fewer values, e.g. with `prefix` or a `numeric` range instead of a list"),
            );
        }
        let size = f.value.to_string().len();
        if size > MAX_BYTES {
            self.err(
                Diagnostic::error(
                    Code::BadFilter,
                    f.span,
                    format!("a filter policy of {size} bytes; SNS allows {MAX_BYTES}"),
                )
                .with_help("match fewer values"),
            );
        }
        self.filter_object(map, body, f.span, 0);
    }

    pub(super) fn filter_object(&mut self, map: &serde_json::Map<String, Json>, body: bool, span: Span, depth: usize) {
        for (k, v) in map {
            match v {
                Json::Array(items) => {
                    if items.is_empty() {
                        self.err(
                            Diagnostic::error(
                                Code::BadFilter,
                                span,
                                format!("filter condition `{k}` is an empty list"),
                            )
                            .with_help("list at least one value"),
                        );
                    }
                    for item in items {
                        self.filter_leaf(k, item, span);
                    }
                }
                Json::Object(inner) if body && depth < 4 => self.filter_object(inner, body, span, depth + 1),
                Json::Object(_) => self.err(
                    Diagnostic::error(Code::BadFilter, span, format!("filter condition `{k}` nests a mapping"))
                        .with_help(if body {
                            "body filters nest at most 5 levels"
                        } else {
                            "attribute filters are flat; use `filter_scope: body` to match nested JSON"
                        }),
                ),
                _ => self.err(
                    Diagnostic::error(Code::BadFilter, span, format!("filter condition `{k}` must be a list"))
                        .with_help(format!("write `{k}: [{}]`", v)),
                ),
            }
        }
    }

    pub(super) fn filter_leaf(&mut self, key: &str, item: &Json, span: Span) {
        let Json::Object(op) = item else { return };
        let ops = ["numeric", "prefix", "suffix", "anything-but", "exists", "equals-ignore-case", "cidr"];
        for (name, arg) in op {
            if !ops.contains(&name.as_str()) {
                self.err(
                    Diagnostic::error(Code::BadFilter, span, format!("unknown filter operator `{name}` in `{key}`"))
                        .with_help(did_you_mean(name, ops).unwrap_or_else(|| format!("operators: {}", ops.join(", ")))),
                );
                continue;
            }
            if name == "numeric" {
                let valid = match arg {
                    Json::Array(parts) if parts.len() == 2 || parts.len() == 4 => parts.chunks(2).all(|c| {
                        matches!(&c[0], Json::String(s) if ["<", "<=", "=", ">", ">="].contains(&s.as_str()))
                            && c[1].is_number()
                    }),
                    _ => false,
                };
                if !valid {
                    self.err(
                        Diagnostic::error(Code::BadFilter, span, format!("`numeric` condition on `{key}` is malformed"))
                            .with_help("write `numeric: [\">=\", 100]` or `numeric: [\">\", 0, \"<=\", 5]`, with the operator quoted"),
                    );
                }
            }
            if name == "exists" && !arg.is_boolean() {
                self.err(
                    Diagnostic::error(Code::BadFilter, span, format!("`exists` on `{key}` takes `true` or `false`"))
                        .with_help("write `exists: true`"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::combinations;
    use serde_json::json;

    #[test]
    fn combinations_multiply_list_lengths() {
        assert_eq!(combinations(&json!({"a": ["x"]})), 1);
        assert_eq!(combinations(&json!({"a": ["x", "y"], "b": [1, 2, 3]})), 6);
        assert_eq!(combinations(&json!({"a": {"b": ["x", "y"], "c": [{"numeric": [">", 0]}, "z"]}})), 4);
    }
}
