//! SES senders: the identity, the configuration set (named per stage), and senders that
//! belong to the identity.

use super::Validator;
use crate::codes::Code;
use crate::config::{Name, RawConfig, RawEmail};
use crate::diag::Diagnostic;
use crate::model::{Email, Naming};
use std::collections::BTreeSet;

impl Validator {
    pub(super) fn emails(&mut self, raw: &RawConfig, known: &BTreeSet<String>, system: &str) -> Vec<Email> {
        let mut out = Vec::new();
        for (n, e) in &raw.email {
            if !known.contains(&n.value) {
                continue;
            }
            let identity = self.identity(n, e);
            let configuration_set = self.configuration_set(raw, n, e, system);
            let senders = self.senders(n, e, &identity);
            out.push(Email { name: n.value.clone(), identity, configuration_set, senders });
        }
        out
    }

    /// The domain or address SES sends as.
    fn identity(&mut self, n: &Name, e: &RawEmail) -> String {
        match e.identity.as_ref().filter(|i| !i.value.is_empty()) {
            Some(i) => {
                let ok = !i.value.is_empty()
                    && i.value.chars().all(|c| c.is_ascii_alphanumeric() || ".-_@+".contains(c))
                    && i.value.contains('.');
                if !ok {
                    self.err(
                        Diagnostic::error(
                            Code::BadAddress,
                            i.span,
                            format!("`{}` is not an email address or domain", i.value),
                        )
                        .with_help("write a domain (`donut.example.com`) or an address (`ads@donut.example.com`)"),
                    );
                }
                i.value.clone()
            }
            None if e.identity_refused => String::new(),
            None => {
                self.err(
                    Diagnostic::error(Code::Missing, n.span, format!("email `{}` has no `identity`", n.value))
                        .with_help("add `identity: <domain or address>` that SES sends as"),
                );
                String::new()
            }
        }
    }

    /// The named configuration set (`{stage}` in it becomes the stage's name), or
    /// `<system>-{stage}-<name>` (within 64 for every stage).
    fn configuration_set(&mut self, raw: &RawConfig, n: &Name, e: &RawEmail, system: &str) -> String {
        match &e.configuration_set {
            Some(c) => {
                // `{stage}` stands for the stage's name, so stages sharing an account get a
                // configuration set each; the rules apply to the name of every stage.
                let longest = raw.stages.iter().map(|(s, _)| s.value.as_str()).max_by_key(|s| s.len()).unwrap_or("");
                let name = c.value.replace("{stage}", longest);
                if name.is_empty()
                    || name.len() > 64
                    || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
                {
                    self.err(
                        Diagnostic::error(
                            Code::BadName,
                            c.span,
                            format!("invalid configuration set name `{}`", c.value),
                        )
                        .with_help(
                            "use up to 64 letters, digits, `-` and `_` (with the longest stage name for `{stage}`)",
                        ),
                    );
                }
                c.value.clone()
            }
            None => {
                let longest = raw.stages.iter().map(|(s, _)| s.value.len()).max().unwrap_or(0);
                let len = system.len() + longest + n.value.len() + 2;
                if len > 64 {
                    self.err(
                        Diagnostic::error(Code::NameTooLong, n.span, format!("the default configuration set name of email `{}` would be {len} characters; SES allows 64", n.value))
                            .with_help("set `configuration_set:` to a shorter name"),
                    );
                }
                Naming { system, stage: "{stage}" }.config_set(&n.value)
            }
        }
    }

    /// From addresses: at least one, each of the identity, each once.
    fn senders(&mut self, n: &Name, e: &RawEmail, identity: &str) -> Vec<String> {
        if e.senders.is_empty() {
            self.err(
                Diagnostic::error(Code::Missing, n.span, format!("email `{}` lists no `senders`", n.value))
                    .with_help("list the From addresses functions may use; the IAM policy allows only these"),
            );
        }
        for s in &e.senders {
            let domain_ok = match s.value.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && (identity == s.value || domain == identity || domain.ends_with(&format!(".{identity}")))
                }
                None => false,
            };
            if !domain_ok {
                self.err(
                    Diagnostic::error(
                        Code::BadAddress,
                        s.span,
                        format!("sender `{}` is not an address of identity `{identity}`", s.value),
                    )
                    .with_help(format!("SES sends only as verified identities: use an address `@{identity}`")),
                );
            }
        }
        let mut senders: Vec<String> = Vec::new();
        for s in &e.senders {
            if senders.contains(&s.value) {
                self.err(
                    Diagnostic::error(Code::Duplicate, s.span, format!("sender `{}` is listed twice", s.value))
                        .with_help("list it once"),
                );
            } else {
                senders.push(s.value.clone());
            }
        }
        senders
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::check;
    use crate::codes::Code::*;

    #[test]
    fn identities_and_senders() {
        let used = "functions:\n  f: { trigger: { schedule: rate(1 day) }, emails: [e] }\n";
        check(&[
            (&format!("email:\n  e: {{ identity: donut.example.com, senders: [ads@donut.example.com] }}\n{used}"), &[]),
            (
                &format!("email:\n  e: {{ identity: donut.example.com, senders: [ads@other.example.com] }}\n{used}"),
                &[BadAddress],
            ),
            (
                &format!("email:\n  e: {{ identity: not an address, senders: [a@b.c] }}\n{used}"),
                &[BadAddress, BadAddress],
            ),
            ("email:\n  e: { identity: donut.example.com, senders: [ads@donut.example.com] }\n", &[Unused]),
        ]);
    }
}
