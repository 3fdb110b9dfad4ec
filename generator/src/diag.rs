//! Diagnostics: what went wrong, where (file:line:column), and what to do about it.
//!
//! Every problem found in a config becomes one [`Diagnostic`]; validation collects all of them
//! before anything is written. Rendering is plain text (no colours) so reports are stable and
//! snapshot-tested.

pub use crate::codes::Code;
use std::fmt::Write as _;

/// A 1-based position range in the config file. `line == 0` means "no position" (e.g. a
/// whole-file problem).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub line: usize,
    pub col: usize,
    /// Width of the underline in characters (at least 1 when rendered).
    pub len: usize,
}

impl Span {
    pub const NONE: Span = Span { line: 0, col: 0, len: 0 };

    pub fn new(line: usize, col: usize, len: usize) -> Self {
        Span { line, col, len }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem. `code` is stable and documented in docs/config.md.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub span: Span,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, code, message: message.into(), span, help: None }
    }

    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, code, message: message.into(), span, help: None }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics by position, then code, so reports are stable whatever order the
/// checks ran in.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| (a.span, a.severity, a.code, &a.message).cmp(&(b.span, b.severity, b.code, &b.message)));
}

/// Renders diagnostics like rustc does:
///
/// ```text
/// error[E005]: queue `stock_queu` is not defined
///   --> flowform.yaml:12:14
///    |
/// 12 |     queue: stock_queu
///    |            ^^^^^^^^^^
///    = help: did you mean `stock_queue`?
/// ```
/// The widest source line a report echoes, in characters.
pub const MAX_ECHO: usize = 120;

/// The part of `line` a report shows: all of it when short, else `MAX_ECHO` characters around
/// the span with `…` where it was cut; and the span's start and length within what is shown.
fn window(line: &str, start: usize, len: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line.chars().collect();
    let width = chars.len();
    let start = start.min(width);
    let len = len.min(width.saturating_sub(start).max(1));
    if width <= MAX_ECHO {
        return (line.to_string(), start, len);
    }
    let from = start.saturating_sub(MAX_ECHO / 3).min(width - MAX_ECHO);
    let to = from + MAX_ECHO;
    let mut shown: String = chars[from..to].iter().collect();
    let mut at = start - from;
    if from > 0 {
        shown.insert(0, '…');
        at += 1;
    }
    if to < width {
        shown.push('…');
    }
    (shown, at, len.min(to - start).max(1))
}

pub fn render(file: &str, source: &str, diags: &[Diagnostic]) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::new();
    for d in diags {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{kind}[{}]: {}", d.code, d.message);
        // rustc's layout: the arrow, the gutter's `|` and `= help` line up with the width of
        // the line number.
        let num = d.span.line.to_string();
        let pad = " ".repeat(if d.span.line == 0 { 1 } else { num.len() });
        if d.span.line == 0 {
            let _ = writeln!(out, "{pad}--> {file}");
        } else {
            let _ = writeln!(out, "{pad}--> {file}:{}:{}", d.span.line, d.span.col);
            if let Some(text) = lines.get(d.span.line - 1) {
                let (text, start, len) = window(text.trim_end(), d.span.col.saturating_sub(1), d.span.len.max(1));
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{num} | {text}");
                let _ = writeln!(out, "{pad} | {}{}", " ".repeat(start), "^".repeat(len));
            }
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out.push('\n');
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    if errors > 0 {
        let _ = writeln!(
            out,
            "{file}: {errors} error{}, {warnings} warning{}; nothing was written",
            plural(errors),
            plural(warnings)
        );
    } else if warnings > 0 {
        let _ = writeln!(out, "{file}: {warnings} warning{}", plural(warnings));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// "did you mean `x`?" for the closest candidate, if one is close enough.
pub fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    similar(wrong, candidates, 0.8)
}

/// [`did_you_mean`] for near-certain matches only (a plural, one typo): `queue` for `queues`.
pub fn surely_meant<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    similar(wrong, candidates, 0.9)
}

fn similar<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>, threshold: f64) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(wrong, c);
        if score > threshold && best.is_none_or(|(s, b)| score > s || (score == s && c < b)) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {

    #[test]
    fn long_lines_are_cut_around_the_span() {
        assert_eq!(super::window("short", 1, 2), ("short".to_string(), 1, 2));
        let long = format!("{}X{}", "a".repeat(500), "b".repeat(500));
        let (shown, at, len) = super::window(&long, 500, 1);
        assert_eq!(shown.chars().count(), super::MAX_ECHO + 2, "the window and two ellipses");
        assert_eq!(shown.chars().nth(at), Some('X'));
        assert_eq!(len, 1);
        let (shown, at, _) = super::window(&long, 0, 3);
        assert!(shown.starts_with("aaa") && shown.ends_with('…') && at == 0);
    }

    use super::*;

    #[test]
    fn renders_gutter_and_underline() {
        let src = "queues:\n  a:\n    bogus: 1\n";
        let d = Diagnostic::error(Code::UnknownKey, Span::new(3, 5, 5), "unknown key `bogus`")
            .with_help("expected one of `fifo`, `dlq`");
        let text = render("f.yaml", src, &[d]);
        assert_eq!(
            text,
            "error[E003]: unknown key `bogus`\n --> f.yaml:3:5\n  |\n3 |     bogus: 1\n  |     ^^^^^\n  = help: expected one of `fifo`, `dlq`\n\nf.yaml: 1 error, 0 warnings; nothing was written\n"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("stock_queu", ["stock_queue", "vip"]).as_deref(), Some("did you mean `stock_queue`?"));
        assert_eq!(did_you_mean("zzz", ["stock_queue"]), None);
    }
}
