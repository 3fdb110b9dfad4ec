//! The local stand-in for an OIDC issuer and for API Gateway's JWT authorizer.
//!
//! [`Issuer`] holds an RSA-2048 key generated at start, publishes it as a JWKS (with an OIDC
//! discovery document per authorizer) and mints RS256 tokens. [`verify`] decides a request
//! the way API Gateway documents for HTTP API JWT authorizers: the token from
//! `Authorization` (bare or after `Bearer `), an RSA algorithm and a signature by a key of
//! the issuer's key set (matched by `kid`), `iss` equal to the issuer, `aud` (or, without
//! one, `client_id`) one of the audiences, `exp` after now, `nbf` and `iat` not after now;
//! anything else is 401. A route with scopes then needs one of them in `scope` (space
//! separated) or `scp`, else 403.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, RsaParameters};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{json, Map, Value as Json};
use std::path::Path;

/// What a local issuer needs to mint tokens from another process (`flowform-local token`):
/// written by `flowform-local dev` to [`STATE_FILE`] (mode 0600), removed on exit.
pub const STATE_FILE: &str = "run/local-issuer.json";

/// A signing key and the base URL its issuers live under (`<base>/<authorizer>`).
pub struct Issuer {
    key: KeyPair,
    kid: String,
    base: String,
}

/// A public key of a key set.
#[derive(Clone, Debug)]
pub struct Jwk {
    pub kid: String,
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

impl Issuer {
    /// A fresh key; `base` is where [`serve`] publishes it (e.g. `http://127.0.0.1:40123`).
    pub fn generate(base: &str) -> Result<Issuer, String> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(|_| "cannot generate an RSA key".to_string())?;
        Ok(Issuer {
            kid: format!("local-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            key,
            base: base.into(),
        })
    }

    /// The issuer URL (`iss`) of one authorizer.
    pub fn url(&self, authorizer: &str) -> String {
        format!("{}/{authorizer}", self.base)
    }

    pub fn jwk(&self) -> Jwk {
        let c: PublicKeyComponents<Vec<u8>> = signature::KeyPair::public_key(&self.key).into();
        Jwk { kid: self.kid.clone(), n: c.n, e: c.e }
    }

    /// The key set as served at `<issuer>/.well-known/jwks.json`.
    pub fn jwks(&self) -> Json {
        let k = self.jwk();
        json!({ "keys": [{ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid, "n": B64.encode(&k.n), "e": B64.encode(&k.e) }] })
    }

    /// Signs `claims` (RS256, this key's `kid`).
    pub fn sign(&self, claims: &Json) -> String {
        sign_with(&self.key, &json!({ "alg": "RS256", "typ": "JWT", "kid": self.kid }), claims)
    }

    /// Signs `claims` (RS256) under any header, e.g. another issuer's `kid` (tests of forgery).
    pub fn sign_with_header(&self, header: &Json, claims: &Json) -> String {
        sign_with(&self.key, header, claims)
    }

    /// A token of `authorizer` for `sub`: its issuer, the first of `audience`, `scopes`,
    /// valid from now for `ttl` seconds.
    pub fn mint(&self, authorizer: &str, audience: &str, sub: &str, scopes: &[String], ttl: u64) -> String {
        let now = now();
        self.sign(&json!({
            "iss": self.url(authorizer),
            "aud": audience,
            "sub": sub,
            "scope": scopes.join(" "),
            "iat": now,
            "exp": now + ttl,
            "jti": uuid::Uuid::new_v4().to_string(),
        }))
    }

    /// Saves what `flowform-local token` needs (the private key: this machine's user only).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt;
        let der = self.key.as_der().map_err(|_| "cannot encode the key".to_string())?;
        let state = json!({ "base": self.base, "kid": self.kid, "pkcs8": B64.encode(der.as_ref()) });
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let _ = std::fs::remove_file(path);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut f| f.write_all(state.to_string().as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The issuer a running `flowform-local dev` saved.
    pub fn load(path: &Path) -> Result<Issuer, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e} (is `flowform-local dev` running in this directory?)", path.display()))?;
        let s: Json = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let der = B64.decode(s["pkcs8"].as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
        let key = KeyPair::from_pkcs8(&der).map_err(|e| format!("{}: {e}", path.display()))?;
        let field = |k: &str| s[k].as_str().unwrap_or_default().to_string();
        Ok(Issuer { key, kid: field("kid"), base: field("base") })
    }
}

fn sign_with(key: &KeyPair, header: &Json, claims: &Json) -> String {
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    let mut sig = vec![0; key.public_modulus_len()];
    let rng = aws_lc_rs::rand::SystemRandom::new();
    key.sign(&signature::RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig).expect("RSA signing of a short message");
    format!("{input}.{}", B64.encode(sig))
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// What API Gateway answers instead of calling the function.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// 401 `{"message":"Unauthorized"}`: no token, or one that fails a check (the reason is
    /// for the local log only).
    Unauthorized(String),
    /// 403 `{"message":"Forbidden"}`: a valid token without any of the route's scopes.
    Forbidden,
}

/// A verified token: what reaches the function in `requestContext.authorizer.jwt`.
#[derive(Debug)]
pub struct Verified {
    /// Every claim, as API Gateway passes them: strings as they are, other values as text.
    pub claims: Map<String, Json>,
    pub scopes: Option<Vec<String>>,
}

/// The route's authorizer settings.
pub struct Rule<'a> {
    pub issuer: &'a str,
    pub audience: &'a [String],
    pub scopes: &'a [String],
    pub keys: &'a [Jwk],
}

/// Decides a request with `authorization` (the header's value) at time `now`.
pub fn verify(authorization: Option<&str>, rule: &Rule, now: u64) -> Result<Verified, Denied> {
    let no = |why: &str| Err(Denied::Unauthorized(why.to_string()));
    let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else { return no("no token") };
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    let parts: Vec<&str> = token.split('.').collect();
    let [h, c, s] = parts[..] else { return no("not a JWS compact token") };
    let decode = |p: &str| B64.decode(p).ok();
    let (Some(header), Some(claims), Some(sig)) = (decode(h), decode(c), decode(s)) else {
        return no("not base64url");
    };
    let (Ok(header), Ok(Json::Object(claims))) =
        (serde_json::from_slice::<Json>(&header), serde_json::from_slice::<Json>(&claims))
    else {
        return no("header or claims are not JSON objects");
    };
    let params: &RsaParameters = match header["alg"].as_str() {
        Some("RS256") => &signature::RSA_PKCS1_2048_8192_SHA256,
        Some("RS384") => &signature::RSA_PKCS1_2048_8192_SHA384,
        Some("RS512") => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => return no("not an RSA signature algorithm"),
    };
    let Some(key) = rule.keys.iter().find(|k| Some(k.kid.as_str()) == header["kid"].as_str()) else {
        return no("kid matches no key of the issuer");
    };
    let public = PublicKeyComponents { n: key.n.as_slice(), e: key.e.as_slice() };
    if public.verify(params, format!("{h}.{c}").as_bytes(), &sig).is_err() {
        return no("bad signature");
    }
    if claims.get("iss").and_then(Json::as_str) != Some(rule.issuer) {
        return no("iss is not the issuer");
    }
    let present = |k: &str| claims.get(k).filter(|v| !v.is_null());
    let audiences: Vec<&str> = match present("aud").or_else(|| present("client_id")) {
        Some(Json::String(a)) => vec![a.as_str()],
        Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.iter().any(|a| rule.audience.iter().any(|r| r == a)) {
        return no("aud/client_id is none of the audiences");
    }
    // NumericDate: seconds, possibly with a fraction.
    let now = now as f64;
    let time = |k: &str| present(k).map(|v| v.as_f64().ok_or(()));
    match time("exp") {
        Some(Ok(exp)) if exp > now => {}
        _ => return no("expired, or no exp"),
    }
    for k in ["nbf", "iat"] {
        match time(k) {
            None => {}
            Some(Ok(t)) if t <= now => {}
            _ => return no(&format!("{k} is in the future")),
        }
    }
    // `scope` (space separated, OAuth 2.0) and `scp` (a list or a string, some issuers).
    let mut has: Vec<String> = Vec::new();
    for k in ["scope", "scp"] {
        match present(k) {
            Some(Json::String(s)) => has.extend(s.split(' ').filter(|w| !w.is_empty()).map(str::to_string)),
            Some(Json::Array(a)) => has.extend(a.iter().filter_map(Json::as_str).map(str::to_string)),
            _ => {}
        }
    }
    if !rule.scopes.is_empty() && !rule.scopes.iter().any(|s| has.contains(s)) {
        return Err(Denied::Forbidden);
    }
    let claims = claims
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Json::String(s) => s,
                Json::Array(a) => format!(
                    "[{}]",
                    a.iter().map(|x| x.as_str().map_or(x.to_string(), str::to_string)).collect::<Vec<_>>().join(" ")
                ),
                other => other.to_string(),
            };
            (k, Json::String(text))
        })
        .collect();
    Ok(Verified { claims, scopes: (!has.is_empty()).then_some(has) })
}

/// The issuer's discovery document and key set, per authorizer, on a loopback port:
/// `<base>/<authorizer>/.well-known/openid-configuration` and `.../jwks.json`.
pub async fn serve(listener: tokio::net::TcpListener, issuer: std::sync::Arc<Issuer>) {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let issuer = issuer.clone();
        async move {
            use axum::response::IntoResponse;
            let path = uri.path();
            let name = path.trim_start_matches('/').split('/').next().unwrap_or_default();
            if path.ends_with("/.well-known/openid-configuration") {
                let iss = issuer.url(name);
                axum::Json(json!({ "issuer": iss, "jwks_uri": format!("{iss}/.well-known/jwks.json"), "id_token_signing_alg_values_supported": ["RS256"] }))
                    .into_response()
            } else if path.ends_with("/.well-known/jwks.json") {
                axum::Json(issuer.jwks()).into_response()
            } else {
                axum::http::StatusCode::NOT_FOUND.into_response()
            }
        }
    });
    let _ = axum::serve(listener, app).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule<'a>(issuer: &'a Issuer, keys: &'a [Jwk], scopes: &'a [String], aud: &'a [String]) -> Rule<'a> {
        let _ = issuer;
        Rule { issuer: "http://127.0.0.1:1/users", audience: aud, scopes, keys }
    }

    /// Every check API Gateway makes, one way to fail each.
    #[test]
    fn tokens_are_refused_as_api_gateway_refuses_them() {
        let i = Issuer::generate("http://127.0.0.1:1").unwrap();
        let other = Issuer::generate("http://127.0.0.1:1").unwrap();
        let keys = [i.jwk()];
        let aud = ["web".to_string()];
        let scopes = ["shop/buy".to_string()];
        let r = rule(&i, &keys, &scopes, &aud);
        let now = now();
        let base = json!({ "iss": i.url("users"), "aud": "web", "sub": "alice", "scope": "openid shop/buy", "iat": now, "exp": now + 60 });
        let with = |k: &str, v: Json| {
            let mut c = base.clone();
            c[k] = v;
            c
        };
        let without = |k: &str| {
            let mut c = base.clone();
            c.as_object_mut().unwrap().remove(k);
            c
        };
        let good = i.sign(&base);
        let ok = verify(Some(&format!("Bearer {good}")), &r, now).unwrap();
        assert_eq!(ok.claims["sub"], "alice");
        assert_eq!(ok.claims["exp"], json!((now + 60).to_string()));
        assert!(verify(Some(&good), &r, now).is_ok(), "the bare token is accepted too");
        // The classic forgeries: alg none, HS256 keyed with the public key, another key
        // under this kid, a changed claim under the old signature.
        let none = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode(base.to_string()));
        let hs = {
            use hmac::{KeyInit, Mac};
            let input = format!(
                "{}.{}",
                B64.encode(json!({ "alg": "HS256", "kid": keys[0].kid }).to_string()),
                B64.encode(base.to_string())
            );
            let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(&keys[0].n).unwrap();
            m.update(input.as_bytes());
            format!("{input}.{}", B64.encode(m.finalize().into_bytes()))
        };
        let foreign = sign_with(&other.key, &json!({ "alg": "RS256", "kid": keys[0].kid }), &base);
        let tampered = {
            let p: Vec<&str> = good.split('.').collect();
            format!("{}.{}.{}", p[0], B64.encode(with("sub", json!("mallory")).to_string()), p[2])
        };
        let refused = [
            ("", "no token".to_string()),
            ("Bearer", "empty".to_string()),
            ("none", none),
            ("hs256", hs),
            ("foreign key", foreign),
            ("tampered", tampered),
            ("garbage", "a.b.c".to_string()),
            ("expired", i.sign(&with("exp", json!(now)))),
            ("no exp", i.sign(&without("exp"))),
            ("nbf ahead", i.sign(&with("nbf", json!(now + 30)))),
            ("iat ahead", i.sign(&with("iat", json!(now + 30)))),
            ("wrong aud", i.sign(&with("aud", json!("mobile")))),
            ("no aud", i.sign(&without("aud"))),
            ("wrong iss", i.sign(&with("iss", json!("http://127.0.0.1:1/staff")))),
            ("unknown kid", sign_with(&i.key, &json!({ "alg": "RS256", "kid": "k2" }), &base)),
        ];
        for (what, token) in refused {
            assert!(
                matches!(verify(Some(&token), &r, now), Err(Denied::Unauthorized(_))),
                "{what}: {:?}",
                verify(Some(&token), &r, now)
            );
        }
        assert!(matches!(verify(None, &r, now), Err(Denied::Unauthorized(_))));
        // Audience from client_id when there is no aud (Cognito access tokens); aud lists.
        let mut cid = without("aud");
        cid["client_id"] = json!("web");
        assert!(verify(Some(&i.sign(&cid)), &r, now).is_ok());
        assert!(verify(Some(&i.sign(&with("aud", json!(["x", "web"])))), &r, now).is_ok());
        // Scopes: none of the route's is 403; `scp` lists count; a route without scopes
        // takes any valid token.
        assert_eq!(verify(Some(&i.sign(&with("scope", json!("openid")))), &r, now).unwrap_err(), Denied::Forbidden);
        let mut scp = without("scope");
        scp["scp"] = json!(["shop/buy"]);
        assert!(verify(Some(&i.sign(&scp)), &r, now).is_ok());
        let mut both = with("scope", json!("openid"));
        both["scp"] = json!(["shop/buy"]);
        assert!(verify(Some(&i.sign(&both)), &r, now).is_ok(), "scope and scp both count");
        // `aud: null` is no audience: client_id decides; NumericDate may have a fraction.
        let mut null_aud = with("aud", Json::Null);
        null_aud["client_id"] = json!("web");
        assert!(verify(Some(&i.sign(&null_aud)), &r, now).is_ok());
        assert!(verify(Some(&i.sign(&with("exp", json!(now as f64 + 30.5)))), &r, now).is_ok());
        assert!(verify(Some(&i.sign(&with("exp", json!(now as f64 - 0.5)))), &r, now).is_err());
        let open = Rule { scopes: &[], ..rule(&i, &keys, &scopes, &aud) };
        assert!(verify(Some(&i.sign(&with("scope", json!("")))), &open, now).is_ok());
    }

    #[test]
    fn a_saved_issuer_mints_tokens_its_key_set_verifies() {
        let dir = std::env::temp_dir().join(format!("flowform-jwt-{}", uuid::Uuid::new_v4()));
        let path = dir.join("issuer.json");
        let i = Issuer::generate("http://127.0.0.1:1").unwrap();
        i.save(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let loaded = Issuer::load(&path).unwrap();
        let token = loaded.mint("users", "web", "bob", &["shop/buy".into()], 60);
        let (keys, aud, scopes) = ([i.jwk()], ["web".to_string()], ["shop/buy".to_string()]);
        let v = verify(Some(&token), &rule(&i, &keys, &scopes, &aud), now()).unwrap();
        assert_eq!(v.claims["sub"], "bob");
        let _ = std::fs::remove_dir_all(dir);
    }
}
