//! The Tera environment over `templates/`, and the one escaping filter.
//!
//! Templates are compiled into the binary (`include_str!`), so output never depends on the
//! working directory. `.yaml.tera` files are not auto-escaped: every interpolated value goes
//! through the `yaml` filter, which prints a view-model value as a YAML flow scalar or
//! collection, with CloudFormation intrinsics in short form (`!Ref X`, `!GetAtt X.Arn`,
//! `!Sub "..."`).

use crate::cfn::StackView;
use serde_json::Value as Json;
use std::fmt::Write as _;
use tera::{Context, Kwargs, State, Tera};

const TEMPLATES: &[(&str, &str)] = &[
    ("stack.yaml.tera", include_str!("../../templates/stack.yaml.tera")),
    ("metadata.yaml.tera", include_str!("../../templates/metadata.yaml.tera")),
    ("statements.yaml.tera", include_str!("../../templates/statements.yaml.tera")),
    ("key.yaml.tera", include_str!("../../templates/key.yaml.tera")),
    ("topic.yaml.tera", include_str!("../../templates/topic.yaml.tera")),
    ("queue.yaml.tera", include_str!("../../templates/queue.yaml.tera")),
    ("subscription.yaml.tera", include_str!("../../templates/subscription.yaml.tera")),
    ("function.yaml.tera", include_str!("../../templates/function.yaml.tera")),
    ("http.yaml.tera", include_str!("../../templates/http.yaml.tera")),
    ("email.yaml.tera", include_str!("../../templates/email.yaml.tera")),
    ("secret.yaml.tera", include_str!("../../templates/secret.yaml.tera")),
];

/// A template failed to render: flowform's bug, never the user's.
#[derive(Debug)]
pub struct RenderError(pub String);

pub struct Renderer {
    tera: Tera,
}

impl Renderer {
    pub fn new() -> Result<Self, RenderError> {
        let mut tera = Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        tera.register_filter("yaml", |v: &tera::Value, _: Kwargs, _: &State| -> String {
            let mut out = String::new();
            write_flow(&mut out, v);
            out
        });
        tera.register_filter("comment", |v: &tera::Value, _: Kwargs, _: &State| -> String {
            comment(v.as_str().unwrap_or_default())
        });
        tera.add_raw_templates(TEMPLATES.iter().copied()).map_err(|e| RenderError(format!("{e:?}")))?;
        Ok(Renderer { tera })
    }

    pub fn render(&self, view: &StackView) -> Result<String, RenderError> {
        let ctx = crate::timing::time("render: context", || {
            let mut ctx = Context::new();
            ctx.insert("s", view);
            ctx.insert("generated_by", &format!("flowform {}", env!("CARGO_PKG_VERSION")));
            ctx
        });
        crate::timing::time("render: Tera", || self.tera.render("stack.yaml.tera", &ctx))
            .map_err(|e| RenderError(format!("{e:?}")))
    }
}

/// Text for a `#` comment line: control characters (a newline would end the comment) as `?`.
pub fn comment(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// Prints a value as YAML in flow style. Strings that YAML would read back as the same string
/// stay plain; everything else is a JSON string (a valid YAML double-quoted scalar).
pub fn yaml_flow(v: &Json) -> String {
    let mut out = String::new();
    write_flow(&mut out, &tera::Value::from_serializable(v));
    out
}

/// [`yaml_flow`] on a value as Tera holds it (the `yaml` filter walks the view in place).
fn write_flow(out: &mut String, v: &tera::Value) {
    if let Some(s) = v.as_str() {
        scalar(out, s);
    } else if let Some(b) = v.as_bool() {
        out.push_str(if b { "true" } else { "false" });
    } else if let Some(items) = v.as_array() {
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_flow(out, item);
        }
        out.push(']');
    } else if let Some(map) = v.as_map() {
        if let Some(intrinsic) =
            map.iter().next().filter(|_| map.len() == 1).and_then(|(k, val)| short_form(k.as_str()?, val))
        {
            out.push_str(&intrinsic);
            return;
        }
        out.push('{');
        for (i, (k, val)) in map.iter().enumerate() {
            out.push_str(if i > 0 { ", " } else { " " });
            scalar(out, &k.to_string());
            out.push_str(": ");
            write_flow(out, val);
        }
        out.push_str(if map.is_empty() { "}" } else { " }" });
    } else if let Some(i) = v.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = v.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = v.as_f64() {
        out.push_str(&serde_json::Number::from_f64(f).map_or_else(|| "null".to_string(), |n| n.to_string()));
    } else {
        out.push_str("null");
    }
}

/// A one-key mapping that is a CloudFormation intrinsic, in short form (`!Ref A`,
/// `!GetAtt A.Arn`, `!Sub "..."`).
fn short_form(key: &str, val: &tera::Value) -> Option<String> {
    match key {
        "Ref" => val.as_str().map(|id| format!("!Ref {id}")),
        "Fn::GetAtt" => match val.as_array()? {
            [a, b] => Some(format!("!GetAtt {}.{}", a.as_str()?, b.as_str()?)),
            _ => None,
        },
        "Fn::ImportValue" => val.as_str().map(|name| {
            let mut out = "!ImportValue ".to_string();
            scalar(&mut out, name);
            out
        }),
        "Fn::Sub" => val.as_str().map(|s| {
            let mut out = "!Sub ".to_string();
            quoted(&mut out, s);
            out
        }),
        _ => None,
    }
}

/// `s` plain when YAML reads it back as the same string, else double-quoted.
fn scalar(out: &mut String, s: &str) {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain = s.as_bytes().first().is_some_and(|c| c.is_ascii_alphabetic())
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || b"_./-".contains(&c))
        && !WORDS.iter().any(|w| w.eq_ignore_ascii_case(s));
    if plain {
        out.push_str(s);
    } else {
        quoted(out, s);
    }
}

/// A YAML double-quoted scalar: JSON's escapes (which YAML shares), plus `\uXXXX` for what
/// JSON leaves raw but YAML readers refuse or read as a line break (DEL, C1 controls, NEL, the
/// line and paragraph separators, a byte-order mark, noncharacters).
fn quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intrinsics_print_in_short_form() {
        assert_eq!(yaml_flow(&json!({"Ref": "A"})), "!Ref A");
        assert_eq!(yaml_flow(&json!({"Fn::GetAtt": ["A", "Arn"]})), "!GetAtt A.Arn");
        assert_eq!(yaml_flow(&json!({"Fn::Sub": "x-${A}"})), "!Sub \"x-${A}\"");
        assert_eq!(yaml_flow(&json!({"Fn::ImportValue": "p-dev-ATopicArn"})), "!ImportValue p-dev-ATopicArn");
        assert_eq!(yaml_flow(&json!([{"Ref": "A"}, "b"])), "[!Ref A, b]");
    }

    #[test]
    fn strings_that_yaml_would_change_are_quoted() {
        assert_eq!(yaml_flow(&json!("plain-name.fifo")), "plain-name.fifo");
        assert_eq!(yaml_flow(&json!("yes")), "\"yes\"");
        assert_eq!(yaml_flow(&json!("10")), "\"10\"");
        assert_eq!(yaml_flow(&json!("a: b")), "\"a: b\"");
        assert_eq!(yaml_flow(&json!("sqs:SendMessage")), "\"sqs:SendMessage\"");
        assert_eq!(yaml_flow(&json!("line\nbreak \"q\"")), "\"line\\nbreak \\\"q\\\"\"");
        assert_eq!(yaml_flow(&json!({"a": 1})), "{ a: 1 }");
        assert_eq!(yaml_flow(&json!("\u{7f}\u{85}\u{2028}\u{feff}\u{1}")), "\"\\u007f\\u0085\\u2028\\ufeff\\u0001\"");
    }
}
