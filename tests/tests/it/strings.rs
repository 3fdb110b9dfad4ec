//! Every free text of the config reaches the template as written (#10, class 4): arbitrary
//! strings (quotes, newlines, `${}`, `{{ }}`, `{% %}`, `!Ref`, `---`, unicode, control
//! characters) go into every text field; the template must parse, add no key or resource,
//! hold each string unchanged, and pass cfn-lint. Texts CloudFormation would interpret where
//! flowform cannot keep them literal are refused with E036 at the field.
//!
//! `FLOWFORM_STRING_CASES=<n>` runs n generated configs instead of the default (the seed is
//! fixed, so a failure names a case that reproduces).

use generator::{build, Failure};
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::process::Command;
use tests::{run, template_json, tool, Rng};

/// Pieces a string is made of: what YAML, Tera, CloudFormation or a linter could read as
/// something else, and plain and unusual characters.
const PIECES: &[&str] = &[
    "${x}",
    "${AWS::Region}",
    "${!Literal}",
    "${AWS::AccountId}",
    "${KeyAlias}",
    "$",
    "{",
    "}",
    "{{ x }}",
    "{%",
    "%}",
    "{% if a %}",
    "{#",
    "!Ref AWS::Region",
    "!Sub",
    "---",
    "...",
    "\"",
    "'",
    "\\",
    "\n",
    "\r\n",
    "\t",
    ": ",
    "# ",
    " #",
    "&a",
    "*a",
    "|",
    ">",
    "-",
    "?",
    "@",
    "`",
    "[",
    "]",
    ",",
    "%",
    "=",
    "null",
    "true",
    "0x1",
    "~",
    "é",
    "도넛",
    "🍩",
    "\u{200b}",
    "\u{feff}",
    "\u{1}",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "a",
    "b c",
    " ",
    "Fn::Join",
];

/// Texts made of [`PIECES`].
trait TextGen {
    fn text(&mut self, plain: bool) -> String;
}

impl TextGen for Rng {
    /// 1..=8 pieces; `plain` leaves out `${` (for fields that cannot keep it literal).
    fn text(&mut self, plain: bool) -> String {
        loop {
            let mut s = String::new();
            for _ in 0..1 + self.below(8) {
                s.push_str(PIECES[self.below(PIECES.len())]);
            }
            let blank = s.trim().is_empty();
            let refused = plain && s.contains("${");
            if !blank && !refused && s.chars().count() <= 200 {
                return s;
            }
        }
    }
}

/// The texts of one case, one per field.
struct Texts {
    system: String,
    topic: String,
    queue: String,
    function: String,
    env: String,
    stage_env: String,
    filter: String,
    database: String,
    endpoint: String,
    endpoint_default: String,
    secret: String,
}

impl Texts {
    /// One plain letter per field; `endpoint_default` as given.
    fn plain(endpoint_default: &str) -> Self {
        Texts {
            system: "s".into(),
            topic: "t".into(),
            queue: "q".into(),
            function: "f".into(),
            env: "e".into(),
            stage_env: "e".into(),
            filter: "k".into(),
            database: "d".into(),
            endpoint: "p".into(),
            endpoint_default: endpoint_default.into(),
            secret: "x".into(),
        }
    }

    fn new(rng: &mut Rng) -> Texts {
        Texts {
            system: rng.text(true),
            topic: rng.text(false),
            queue: rng.text(false),
            function: rng.text(false),
            env: rng.text(false),
            stage_env: rng.text(false),
            filter: rng.text(false),
            database: rng.text(true),
            endpoint: rng.text(true),
            // A URL (validated as one): the text without whitespace and control characters.
            endpoint_default: loop {
                let path = rng.text(true).replace(|c: char| c.is_whitespace() || c.is_control(), "");
                if !path.contains("${") {
                    break format!("https://partner.example.com/{path}");
                }
            },
            secret: rng.text(false),
        }
    }

    /// A config with every text as a YAML double-quoted scalar (JSON's escapes are YAML's).
    fn config(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).unwrap();
        format!(
            r#"version: 1
system: txt
description: {system}
stages:
  dev:
    functions:
      work: {{ env: {{ STAGE_NOTE: {stage_env} }} }}
topics:
  events: {{ description: {topic} }}
queues:
  inbox:
    description: {queue}
    subscribe:
      - topic: events
        filter: {{ kind: [{filter}] }}
databases:
  main: {{ name: app, description: {database} }}
endpoints:
  partner: {{ description: {endpoint}, default: {endpoint_default} }}
secrets:
  signing: {{ description: {secret} }}
functions:
  work:
    description: {function}
    trigger: {{ queue: inbox }}
    publishes: [events]
    databases: [main]
    endpoints: [partner]
    secrets: [signing]
    env: {{ NOTE: {env} }}
"#,
            system = q(&self.system),
            stage_env = q(&self.stage_env),
            topic = q(&self.topic),
            queue = q(&self.queue),
            filter = q(&self.filter),
            database = q(&self.database),
            endpoint = q(&self.endpoint),
            endpoint_default = q(&self.endpoint_default),
            secret = q(&self.secret),
            function = q(&self.function),
            env = q(&self.env),
        )
    }
}

/// The string a template value stands for: itself, or the `Fn::Join` of literal parts.
fn literal(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Object(m) if m.len() == 1 => {
            let p = m.get("Fn::Join")?.as_array()?;
            let parts: Option<Vec<String>> = p.get(1)?.as_array()?.iter().map(literal).collect();
            Some(parts?.join(p.first()?.as_str()?))
        }
        _ => None,
    }
}

/// Every key path of a template whose value is not a text of the case (the shape).
fn shape(v: &Json, path: String, out: &mut BTreeSet<String>) {
    if literal(v).is_some() {
        out.insert(path);
        return;
    }
    match v {
        Json::Object(m) => m.iter().for_each(|(k, x)| shape(x, format!("{path}/{k}"), out)),
        Json::Array(a) => a.iter().enumerate().for_each(|(i, x)| shape(x, format!("{path}/{i}"), out)),
        _ => {
            out.insert(path);
        }
    }
}

/// Builds one case and checks that each text is held unchanged; returns the template.
fn check_case(n: usize, t: &Texts, want_shape: &BTreeSet<String>) -> String {
    let config = t.config();
    let built = match build(&config) {
        Ok(b) => b,
        Err(Failure::Invalid(d)) => panic!("case {n} refused:\n{d:#?}\nconfig:\n{config}"),
        Err(Failure::Internal(e)) => panic!("case {n}: internal error {e}\nconfig:\n{config}"),
    };
    let text = built.files.get("dev/template.yaml").expect("dev template").clone();
    let tpl = template_json(&text);
    let mut got_shape = BTreeSet::new();
    shape(&tpl, String::new(), &mut got_shape);
    assert_eq!(&got_shape, want_shape, "case {n}: the texts changed the template's keys\nconfig:\n{config}");
    let f = &tpl["Resources"]["WorkFunction"]["Properties"];
    let params = &tpl["Parameters"];
    let held = [
        ("system description", literal(&tpl["Description"]), format!("{} (dev, generated by flowform)", t.system)),
        ("function description", literal(&f["Description"]), t.function.clone()),
        ("env value", literal(&f["Environment"]["Variables"]["NOTE"]), t.env.clone()),
        ("stage env value", literal(&f["Environment"]["Variables"]["STAGE_NOTE"]), t.stage_env.clone()),
        (
            "filter value",
            literal(&tpl["Resources"]["EventsToInboxSubscription"]["Properties"]["FilterPolicy"]["kind"][0]),
            t.filter.clone(),
        ),
        (
            "secret description",
            literal(&tpl["Resources"]["SigningSecret"]["Properties"]["Description"]),
            t.secret.clone(),
        ),
        ("endpoint default", literal(&params["PartnerUrl"]["Default"]), t.endpoint_default.clone()),
    ];
    for (what, got, want) in held {
        assert_eq!(got.as_deref(), Some(want.as_str()), "case {n}: {what} changed\nconfig:\n{config}");
    }
    let descriptions: Vec<String> =
        params.as_object().unwrap().values().filter_map(|p| p["Description"].as_str().map(String::from)).collect();
    for (what, want) in [("database description", &t.database), ("endpoint description", &t.endpoint)] {
        assert!(
            descriptions.iter().any(|d| d.contains(want.as_str())),
            "case {n}: {what} not found in any parameter description\nconfig:\n{config}"
        );
    }
    text
}

fn cases() -> usize {
    std::env::var("FLOWFORM_STRING_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

/// Many generated cases in process; the first 24 templates also through cfn-lint (one run).
#[test]
fn every_text_reaches_the_template_as_written() {
    let plain = Texts::plain("https://partner.example.com");
    let base =
        template_json(build(&plain.config()).expect("plain case builds").files.get("dev/template.yaml").unwrap());
    let mut want_shape = BTreeSet::new();
    shape(&base, String::new(), &mut want_shape);

    let dir = std::env::temp_dir().join(format!("flowform-strings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(0x5eed_f10f_0f0f);
    let mut linted = Vec::new();
    for n in 0..cases() {
        let t = Texts::new(&mut rng);
        let text = check_case(n, &t, &want_shape);
        if linted.len() < 24 {
            let path = dir.join(format!("case-{n}.yaml"));
            std::fs::write(&path, text).unwrap();
            linted.push(path);
        }
    }
    let _one = tests::alone_blocking();
    let (code, out, err) = run(Command::new(tool("FLOWFORM_CFN_LINT"))
        .args(["-r", "ap-northeast-2", "-c", "I", "-f", "parseable", "--"])
        .args(&linted));
    assert!(
        code == 0 && out.trim().is_empty(),
        "cfn-lint exit {code} on {} case templates in {dir:?}:\n{out}\n{err}",
        linted.len()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `${` where no function can keep it literal, and `{{resolve:` anywhere: E036 at the field.
#[test]
fn texts_cloudformation_would_interpret_are_refused_where_they_are() {
    let ok = "https://partner.example.com";
    for (field, value) in [
        ("description: \"s\"", "description: \"costs ${AWS::Region}\""),
        (&format!("default: \"{ok}\""), "default: \"https://${x}.example.com\""),
        ("env: { NOTE: \"e\" }", "env: { NOTE: \"{{resolve:ssm:/db/password}}\" }"),
        ("description: \"f\"", "description: \"{{resolve:secretsmanager:s}}\""),
    ] {
        let config = Texts::plain(ok).config().replacen(field, value, 1);
        assert!(config.contains(value), "the case did not apply {value}");
        let line = config.lines().position(|l| l.contains(value)).unwrap() + 1;
        match build(&config) {
            Err(Failure::Invalid(d)) => {
                let errors: Vec<_> = d.iter().filter(|d| d.is_error()).collect();
                assert!(
                    errors.len() == 1 && errors[0].code == "E036" && errors[0].span.line == line,
                    "{value}: want one E036 at line {line}, got {errors:#?}"
                );
            }
            other => panic!("{value}: want E036, got {other:?}"),
        }
    }
}
