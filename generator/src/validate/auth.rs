//! JWT authorizers (`authorizers:`) and the routes that use them (`auth: jwt`).
//!
//! API Gateway checks a bearer token's signature against the issuer's published keys and its
//! `iss`, `aud` (or `client_id`), `exp` and `nbf`; a route's `scopes` then need one match in
//! the token's `scope`/`scp`. Here: an issuer is an https URL (API Gateway fetches its
//! discovery document over TLS), every authorizer names at least one audience (without one,
//! any token of the issuer, for any application, would pass), and scopes are single words.

use super::names::{Declared, Kind};
use super::Validator;
use crate::codes::Code;
use crate::config::{Name, RawConfig, Sp};
use crate::diag::Diagnostic;
use crate::model::{Authorizer, RouteAuth};
use std::collections::BTreeSet;

impl Validator {
    /// The declared authorizers, checked.
    pub(super) fn authorizers(&mut self, raw: &RawConfig, declared: &Declared) -> Vec<Authorizer> {
        let mut out = Vec::new();
        for (n, a) in raw.authorizers.iter().filter(|(n, _)| declared.authorizers.contains(&n.value)) {
            if let Some(i) = &a.issuer {
                let host = i.value.strip_prefix("https://").map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
                if host.is_none_or(|h| h.is_empty()) || i.value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    self.err(
                        Diagnostic::error(
                            Code::BadAddress,
                            i.span,
                            format!("issuer `{}` of authorizer `{}` is not an https:// URL", i.value.escape_debug(), n.value),
                        )
                        .with_help("write the issuer exactly as tokens carry it in `iss`, e.g. `https://cognito-idp.<region>.amazonaws.com/<user-pool-id>`; API Gateway reads its keys over TLS only"),
                    );
                }
            }
            if a.audience.is_empty() {
                self.err(
                    Diagnostic::error(Code::Missing, n.span, format!("authorizer `{}` names no `audience`", n.value))
                        .with_help("add `audience: [<client id>]`: without one, a token the issuer made for any other application would be accepted"),
                );
            }
            let audience = self.words(&a.audience, "audience", &n.value, &[',']);
            out.push(Authorizer {
                name: n.value.clone(),
                issuer: a.issuer.as_ref().map(|i| i.value.clone()),
                audience,
                description: a.description.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// `auth: jwt` on function `fname`'s trigger: the authorizer it names (or the only one
    /// declared) and its scopes.
    pub(super) fn jwt_route(
        &mut self,
        fname: &str,
        at: &Sp<String>,
        authorizer: Option<&Name>,
        scopes: &[Sp<String>],
        raw: &RawConfig,
        declared: &Declared,
    ) -> Option<RouteAuth> {
        let from = format!("function `{fname}`");
        let authorizer = match authorizer {
            Some(a) => self.refs(Kind::Authorizer, std::slice::from_ref(a), &declared.authorizers, &from).pop()?,
            None => match raw.authorizers.as_slice() {
                [(only, _)] => declared.authorizers.contains(&only.value).then(|| only.value.clone())?,
                [] => {
                    self.err(
                        Diagnostic::error(Code::Undefined, at.span, format!("`auth: jwt` on {from}, but no `authorizers` are declared"))
                            .with_help("declare the issuer: `authorizers: { customers: { issuer: https://..., audience: [<client id>] } }`"),
                    );
                    return None;
                }
                several => {
                    let names: Vec<&str> = several.iter().map(|(n, _)| n.value.as_str()).collect();
                    self.err(
                        Diagnostic::error(
                            Code::Missing,
                            at.span,
                            format!("`auth: jwt` on {from} does not say which authorizer verifies its tokens"),
                        )
                        .with_help(format!("add `authorizer:` with one of {}", names.join(", "))),
                    );
                    return None;
                }
            },
        };
        let scopes = self.words(scopes, "scope", fname, &[]);
        Some(RouteAuth::Jwt { authorizer, scopes })
    }

    /// `authorizer` and `scopes` belong to `auth: jwt`.
    pub(super) fn not_jwt(&mut self, auth: &str, authorizer: Option<&Name>, scopes: &[Sp<String>]) {
        let stray = authorizer.map(|a| ("authorizer", a.span)).or(scopes.first().map(|s| ("scopes", s.span)));
        if let Some((key, span)) = stray {
            self.err(
                Diagnostic::error(
                    Code::Conflict,
                    span,
                    format!("`{key}` with `auth: {auth}`: only JWT routes have it"),
                )
                .with_help(format!("write `auth: jwt` for API Gateway to verify tokens, or remove `{key}`")),
            );
        }
    }

    /// Non-empty words without whitespace (nor any of `also`), each once.
    fn words(&mut self, items: &[Sp<String>], what: &str, owner: &str, also: &[char]) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for w in items {
            if w.value.is_empty() || w.value.chars().any(|c| c.is_whitespace() || c.is_control() || also.contains(&c)) {
                self.err(
                    Diagnostic::error(
                        Code::NotAllowed,
                        w.span,
                        format!("{what} `{}` of `{owner}` is not one word", w.value.escape_debug()),
                    )
                    .with_help(format!(
                        "a token lists {what}s separated by spaces, so each is one word without spaces{}",
                        if also.is_empty() { "" } else { " or commas" }
                    )),
                );
            } else if !seen.insert(w.value.clone()) {
                self.err(
                    Diagnostic::error(
                        Code::Duplicate,
                        w.span,
                        format!("{what} `{}` is listed twice in `{owner}`", w.value),
                    )
                    .with_help("list it once"),
                );
            } else {
                out.push(w.value.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::check;
    use crate::codes::Code::*;

    #[test]
    fn authorizer_and_jwt_route_rules() {
        let route = |extra: &str| {
            format!("functions:\n  f: {{ trigger: {{ http: {{ auth: jwt, routes: [\"POST /a\"]{extra} }} }} }}\n")
        };
        let one = "authorizers:\n  users: { issuer: \"https://id.example.com\", audience: [web] }\n";
        let two = format!("{one}  staff: {{ issuer: \"https://staff.example.com\", audience: [ops] }}\n");
        check(&[
            (&format!("{one}{}", route("")), &[]),
            (&format!("{one}{}", route(", authorizer: users, scopes: [shop/buy, shop/admin]")), &[]),
            (&route(""), &[Undefined]),
            (&format!("{two}{}", route("")), &[Unused, Unused, Missing]),
            (&format!("{two}{}", route(", authorizer: staff")), &[Unused]),
            (&format!("{one}{}", route(", authorizer: user")), &[Unused, Undefined]),
            (&format!("{one}{}", route(", scopes: [\"a b\"]")), &[NotAllowed]),
            (&format!("{one}{}", route(", scopes: [a, a]")), &[Duplicate]),
            ("authorizers:\n  users: { issuer: \"http://id.example.com\", audience: [web] }\n", &[Unused, BadAddress]),
            ("authorizers:\n  users: { issuer: \"https://\", audience: [web] }\n", &[Unused, BadAddress]),
            ("authorizers:\n  users: { issuer: \"https://id.example.com\" }\n", &[Missing, Unused]),
            ("authorizers:\n  users: { audience: [\"a,b\"] }\n", &[Unused, NotAllowed]),
            (
                &format!("{one}functions:\n  f: {{ trigger: {{ http: {{ auth: public, scopes: [a], routes: [\"GET /a\"] }} }} }}\n"),
                &[Unused, Conflict],
            ),
        ]);
    }
}
