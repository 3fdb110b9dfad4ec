//! Input read whole or refused: bounded size and nesting before the YAML loader, exactly one
//! YAML document, and the loader's own errors as diagnostics.

use super::reader::scalar_span;
use crate::codes::Code;
use crate::diag::{Diagnostic, Span};

/// The largest config flowform reads (the donut shop is 5 KB; 1,000 functions are about 200 KB).
pub const MAX_CONFIG_BYTES: usize = 1 << 20;
/// The deepest nesting of collections flowform reads (the schema needs 8).
pub const MAX_NESTING: usize = 64;

/// E031 for a file over [`MAX_CONFIG_BYTES`] (at the line where the limit is crossed) or nested
/// deeper than [`MAX_NESTING`] (at the collection that goes too deep).
pub(super) fn too_big_or_deep(text: &str) -> Option<Diagnostic> {
    let line_of = |offset: usize| text[..offset].bytes().filter(|b| *b == b'\n').count() + 1;
    if text.len() > MAX_CONFIG_BYTES {
        let mut at = MAX_CONFIG_BYTES;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        return Some(
            Diagnostic::error(
                Code::TooLarge,
                Span::new(line_of(at), 1, 1),
                format!("the file is {} bytes; flowform reads configs of at most {MAX_CONFIG_BYTES} bytes", text.len()),
            )
            .with_help("a config this large is not a system description: check that this is the right file"),
        );
    }
    let deep = |line: usize, col: usize| {
        Diagnostic::error(
            Code::TooLarge,
            Span::new(line, col, 1),
            format!("collections nested more than {MAX_NESTING} levels deep"),
        )
        .with_help("flowform configs nest a few levels; flatten this value")
    };
    let (mut flow, mut quote) = (0usize, None::<char>);
    for (i, l) in text.lines().enumerate() {
        // Block nesting: indentation plus `- ` list markers at the start of the line.
        let indent = l.len() - l.trim_start_matches(' ').len();
        let mut rest = l.trim_start_matches(' ');
        let mut dashes = 0;
        while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("-\t")) {
            dashes += 1;
            rest = r.trim_start_matches(' ');
        }
        if quote.is_none() && (indent + 2 * dashes) / 2 > MAX_NESTING {
            return Some(deep(i + 1, indent + 1));
        }
        // Flow nesting: `[` and `{` outside quotes and comments.
        for (col, c) in l.chars().enumerate() {
            match (quote, c) {
                (None, '#')
                    if col == 0
                        || l[..l.char_indices().nth(col).map_or(l.len(), |(b, _)| b)].ends_with([' ', '\t']) =>
                {
                    break
                }
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '[' | '{') => {
                    flow += 1;
                    if flow > MAX_NESTING {
                        return Some(deep(i + 1, col + 1));
                    }
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
        if quote == Some('\'') || flow == 0 {
            quote = None; // single-quoted scalars rarely span lines; never let one hide the rest
        }
    }
    None
}

/// The line of a document marker (`---` or `...` at column 1) that has config content both
/// before and after it: a second document, which the loader would silently drop.
pub(super) fn second_document(text: &str) -> Option<usize> {
    let is_marker = |l: &str| {
        let t = l.trim_end();
        ["---", "..."].iter().any(|m| t == *m || t.strip_prefix(m).is_some_and(|rest| rest.starts_with([' ', '\t'])))
    };
    let is_content = |l: &str| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#') && !l.starts_with('%')
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut seen_content = false;
    for (i, l) in lines.iter().enumerate() {
        if is_marker(l) {
            let inline = l.trim_end().len() > 3 && is_content(&l[3..]);
            if seen_content && (inline || lines[i + 1..].iter().any(|l| is_content(l) && !is_marker(l))) {
                return Some(i + 1);
            }
            seen_content |= inline;
        } else if is_content(l) {
            seen_content = true;
        }
    }
    None
}

pub(super) fn load_error(e: &marked_yaml::LoadError) -> Diagnostic {
    use marked_yaml::LoadError::*;
    let at = |m: &marked_yaml::Marker| Span::new(m.line(), m.column(), 1);
    match e {
        TopLevelMustBeMapping(m) => Diagnostic::error(Code::Yaml, at(m), "the config must be a mapping of sections")
            .with_help("start with `version: 1` and `system: <name>`"),
        TopLevelMustBeSequence(m) => Diagnostic::error(Code::Yaml, at(m), "unexpected top-level sequence"),
        UnexpectedAnchor(m) => Diagnostic::error(Code::Yaml, at(m), "YAML anchors are not supported")
            .with_help("write the value out in full; flowform configs do not use anchors or aliases"),
        MappingKeyMustBeScalar(m) => Diagnostic::error(Code::Yaml, at(m), "mapping keys must be plain names"),
        UnexpectedTag(m) => Diagnostic::error(Code::Yaml, at(m), "YAML tags (`!tag`) are not supported in the config")
            .with_help("CloudFormation intrinsics are generated by flowform; write plain values"),
        ScanError(m, err) => {
            let msg = err.to_string();
            let msg = msg.split(" at byte").next().and_then(|m| m.split(" at line").next()).unwrap_or(&msg).to_string();
            Diagnostic::error(Code::Yaml, at(m), format!("invalid YAML: {msg}"))
                .with_help("check indentation and quoting around this place")
        }
        DuplicateKey(inner) => {
            let k = &inner.key;
            let prev = inner.prev_key.span().start().map(|m| m.line()).unwrap_or(0);
            Diagnostic::error(Code::Duplicate, scalar_span(k), format!("`{}` is defined twice", k.as_str()))
                .with_help(format!("the first definition is on line {prev}; keep one"))
        }
    }
}

#[cfg(test)]
mod document_tests {
    #[test]
    fn a_second_document_is_found_and_a_leading_marker_is_not() {
        let cases: &[(&str, Option<usize>)] = &[
            ("version: 1\n", None),
            ("---\nversion: 1\n", None),
            ("# c\n---\nversion: 1\n...\n# trailing comment\n", None),
            ("version: 1\n---\nsystem: s\n", Some(2)),
            ("version: 1\n...\nsystem: s\n", Some(2)),
            ("version: 1\n--- {system: s}\n", Some(2)),
            ("version: 1\n---\n", None),
            ("description: |\n  ---\n  text\n", None),
            ("a: 1\n----\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(super::second_document(text), *want, "{text:?}");
        }
    }

    #[test]
    fn size_and_nesting_are_bounded_before_loading() {
        let deep_flow = format!("version: 1\nx: {}{}\n", "[".repeat(65), "]".repeat(65));
        let d = super::too_big_or_deep(&deep_flow).expect("65 levels");
        assert_eq!((d.code.as_str(), d.span.line, d.span.col), ("E031", 2, 68));
        assert!(super::too_big_or_deep(&format!("x: {}{}\n", "[".repeat(64), "]".repeat(64))).is_none());
        assert!(
            super::too_big_or_deep("x: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\n")
                .is_none(),
            "inside quotes"
        );
        let deep_block = format!("x:\n{}y\n", "- ".repeat(70));
        assert_eq!(super::too_big_or_deep(&deep_block).map(|d| d.span.line), Some(2));
        let big = "# padding\n".repeat(120_000);
        let d = super::too_big_or_deep(&big).expect("over 1 MiB");
        assert_eq!(d.span.line, super::MAX_CONFIG_BYTES / 10 + 1);
        assert!(super::too_big_or_deep(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../flowform.yaml")).unwrap()
        )
        .is_none());
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let (_, diags) = crate::config::parse("\u{feff}version: 1\nsystem: s\nstages: { dev: {} }\n");
        assert!(diags.iter().all(|d| d.code != "E003" && d.code != "E004"), "{diags:?}");
    }
}
