//! API Gateway HTTP API (payload 2.0) responses, and reading requests.

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

pub fn json(status: u16, body: &impl Serialize) -> Response {
    Response {
        status_code: status,
        headers: BTreeMap::from([("content-type".to_string(), "application/json".to_string())]),
        body: serde_json::to_string(body).unwrap_or_else(|_| "{}".into()),
        is_base64_encoded: false,
    }
}

pub fn error(status: u16, code: &str, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": code, "message": message }))
}

/// `POST /checkout`, from the route key (or method and path when the route key is absent).
pub fn route(req: &ApiGatewayV2httpRequest) -> String {
    if let Some(k) = req.route_key.as_deref().filter(|k| !k.is_empty() && *k != "$default") {
        return k.to_string();
    }
    format!("{} {}", req.request_context.http.method, req.raw_path.as_deref().unwrap_or("/"))
}

/// The request body as text (API Gateway base64-encodes binary bodies).
pub fn body(req: &ApiGatewayV2httpRequest) -> Option<String> {
    let b = req.body.as_deref()?;
    if req.is_base64_encoded {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(b).ok().and_then(|v| String::from_utf8(v).ok())
    } else {
        Some(b.to_string())
    }
}

pub fn query<'a>(req: &'a ApiGatewayV2httpRequest, key: &str) -> Option<&'a str> {
    req.query_string_parameters.first(key)
}

/// The subject (`sub`) of the bearer token API Gateway verified for a route with `auth: jwt`
/// (signature, issuer, audience, expiry and scopes checked before the function runs). None
/// when the route is not behind a JWT authorizer: a handler that needs a verified caller
/// refuses then, so a route reconfigured as public fails closed.
pub fn jwt_subject(req: &ApiGatewayV2httpRequest) -> Option<&str> {
    let jwt = req.request_context.authorizer.as_ref()?.jwt.as_ref()?;
    jwt.claims.get("sub").map(String::as_str).filter(|s| !s.is_empty())
}
