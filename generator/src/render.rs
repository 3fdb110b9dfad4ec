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
            let json = serde_json::to_value(v).unwrap_or(Json::Null);
            yaml_flow(&json)
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
    write_flow(&mut out, v);
    out
}

fn write_flow(out: &mut String, v: &Json) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Json::String(s) => out.push_str(&scalar(s)),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_flow(out, item);
            }
            out.push(']');
        }
        Json::Object(map) => {
            if map.len() == 1 {
                let (k, val) = map.iter().next().expect("one entry");
                match (k.as_str(), val) {
                    ("Ref", Json::String(id)) => {
                        let _ = write!(out, "!Ref {id}");
                        return;
                    }
                    ("Fn::GetAtt", Json::Array(parts)) if parts.len() == 2 => {
                        if let (Some(a), Some(b)) = (parts[0].as_str(), parts[1].as_str()) {
                            let _ = write!(out, "!GetAtt {a}.{b}");
                            return;
                        }
                    }
                    ("Fn::Sub", Json::String(s)) => {
                        let _ = write!(out, "!Sub {}", quoted(s));
                        return;
                    }
                    _ => {}
                }
            }
            out.push('{');
            for (i, (k, val)) in map.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                out.push_str(&scalar(k));
                out.push_str(": ");
                write_flow(out, val);
            }
            out.push_str(if map.is_empty() { "}" } else { " }" });
        }
    }
}

fn scalar(s: &str) -> String {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_string()
    } else {
        quoted(s)
    }
}

/// A YAML double-quoted scalar: JSON's escapes (which YAML shares), plus `\uXXXX` for what
/// JSON leaves raw but YAML readers refuse or read as a line break (DEL, C1 controls, NEL, the
/// line and paragraph separators, a byte-order mark, noncharacters).
fn quoted(s: &str) -> String {
    let json = Json::String(s.to_string()).to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}') {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
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
