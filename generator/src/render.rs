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
            write_flow(&mut out, &Flow::Tera(v));
            out
        });
        tera.add_raw_templates(TEMPLATES.iter().copied()).map_err(|e| RenderError(format!("{e:?}")))?;
        Ok(Renderer { tera })
    }

    pub fn render(&self, view: &StackView) -> Result<String, RenderError> {
        let mut ctx = Context::new();
        ctx.insert("s", view);
        ctx.insert("generated_by", &format!("flowform {}", env!("CARGO_PKG_VERSION")));
        self.tera.render("stack.yaml.tera", &ctx).map_err(|e| RenderError(format!("{e:?}")))
    }
}

/// Prints a value as YAML in flow style. Strings that YAML would read back as the same string
/// stay plain; everything else is a JSON string (a valid YAML double-quoted scalar).
pub fn yaml_flow(v: &Json) -> String {
    let mut out = String::new();
    write_flow(&mut out, &Flow::Json(v));
    out
}

/// A value the `yaml` filter prints: a view-model value as Tera holds it (walked in place, no
/// copy), or a JSON value.
#[derive(Clone, Copy)]
enum Flow<'a> {
    Tera(&'a tera::Value),
    Json(&'a Json),
}

/// What [`write_flow`] needs to know of a value, from either representation.
enum Shape<'a> {
    Null,
    Bool(bool),
    Number(String),
    Str(&'a str),
    Seq(Vec<Flow<'a>>),
    Map(Vec<(std::borrow::Cow<'a, str>, Flow<'a>)>),
}

impl<'a> Flow<'a> {
    fn shape(self) -> Shape<'a> {
        match self {
            Flow::Json(v) => match v {
                Json::Null => Shape::Null,
                Json::Bool(b) => Shape::Bool(*b),
                Json::Number(n) => Shape::Number(n.to_string()),
                Json::String(s) => Shape::Str(s),
                Json::Array(items) => Shape::Seq(items.iter().map(Flow::Json).collect()),
                Json::Object(map) => Shape::Map(map.iter().map(|(k, v)| (k.as_str().into(), Flow::Json(v))).collect()),
            },
            Flow::Tera(v) => {
                if let Some(s) = v.as_str() {
                    Shape::Str(s)
                } else if let Some(b) = v.as_bool() {
                    Shape::Bool(b)
                } else if let Some(items) = v.as_array() {
                    Shape::Seq(items.iter().map(Flow::Tera).collect())
                } else if let Some(map) = v.as_map() {
                    Shape::Map(map.iter().map(|(k, v)| (k.to_string().into(), Flow::Tera(v))).collect())
                } else if let Some(i) = v.as_i64() {
                    Shape::Number(i.to_string())
                } else if let Some(u) = v.as_u64() {
                    Shape::Number(u.to_string())
                } else if let Some(f) = v.as_f64() {
                    Shape::Number(serde_json::Number::from_f64(f).map_or_else(|| "null".to_string(), |n| n.to_string()))
                } else {
                    Shape::Null
                }
            }
        }
    }
}

fn write_flow(out: &mut String, v: &Flow) {
    match v.shape() {
        Shape::Null => out.push_str("null"),
        Shape::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Shape::Number(n) => out.push_str(&n),
        Shape::Str(s) => scalar(out, s),
        Shape::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_flow(out, item);
            }
            out.push(']');
        }
        Shape::Map(map) => {
            if let [(k, val)] = map.as_slice() {
                match (k.as_ref(), val.shape()) {
                    ("Ref", Shape::Str(id)) => {
                        let _ = write!(out, "!Ref {id}");
                        return;
                    }
                    ("Fn::GetAtt", Shape::Seq(parts)) if parts.len() == 2 => {
                        if let (Shape::Str(a), Shape::Str(b)) = (parts[0].shape(), parts[1].shape()) {
                            let _ = write!(out, "!GetAtt {a}.{b}");
                            return;
                        }
                    }
                    ("Fn::Sub", Shape::Str(s)) => {
                        out.push_str("!Sub ");
                        quoted(out, s);
                        return;
                    }
                    _ => {}
                }
            }
            out.push('{');
            for (i, (k, val)) in map.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                scalar(out, k);
                out.push_str(": ");
                write_flow(out, val);
            }
            out.push_str(if map.is_empty() { "}" } else { " }" });
        }
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
