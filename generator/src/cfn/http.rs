//! The HTTP API: integrations, routes (with their auth), access logs and throttling.
use super::expr::{arn, r as reference, sub, Expr, LogicalId};
use super::policy::Meta;
use crate::model::*;
use serde::Serialize;

#[derive(Serialize, Clone, Debug)]
pub struct HttpView {
    pub api_id: LogicalId,
    pub name: String,
    pub stage_id: LogicalId,
    pub log_group_id: LogicalId,
    pub log_group_name: String,
    pub log_retention: u64,
    pub access_log_format: String,
    pub throttle_rate: u64,
    pub throttle_burst: u64,
    pub authorizers: Vec<AuthorizerView>,
    pub integrations: Vec<IntegrationView>,
    pub routes: Vec<RouteView>,
    /// Routes with their own throttling, by route key (the stage waits for them: API
    /// Gateway refuses settings for a route it does not have yet).
    pub route_settings: Vec<RouteSetting>,
}

#[derive(Serialize, Clone, Debug)]
pub struct RouteSetting {
    pub route_id: LogicalId,
    pub key: String,
    pub rate: u64,
    pub burst: u64,
}

/// A JWT authorizer: API Gateway verifies the bearer token of `Authorization` against the
/// issuer's keys, `iss` and the audiences (both parameters).
#[derive(Serialize, Clone, Debug)]
pub struct AuthorizerView {
    pub id: LogicalId,
    pub name: String,
    pub issuer: Expr,
    pub audience: Expr,
}

#[derive(Serialize, Clone, Debug)]
pub struct IntegrationView {
    pub id: LogicalId,
    pub function_arn: Expr,
    pub timeout_ms: u64,
}

#[derive(Serialize, Clone, Debug)]
pub struct RouteView {
    pub id: LogicalId,
    pub key: String,
    pub target: Expr,
    /// `AuthorizationType`: NONE, AWS_IAM or JWT.
    pub auth: String,
    /// JWT routes: their authorizer and the scopes of which a token needs one.
    pub authorizer: Option<LogicalId>,
    pub scopes: Vec<String>,
    pub meta: Meta,
}

const LOG_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength","integrationError":"$context.integrationErrorMessage"}"#;

pub(super) fn http(sys: &System, h: &HttpApi) -> HttpView {
    let mut integrations = Vec::new();
    let mut routes = Vec::new();
    let mut route_settings = Vec::new();
    for f in &sys.functions {
        let Trigger::Http { auth, routes: rs } = &f.trigger else { continue };
        let integration_id = LogicalId::integration(&f.identity);
        integrations.push(IntegrationView {
            id: integration_id.clone(),
            function_arn: arn(&LogicalId::function(&f.identity)),
            timeout_ms: (f.timeout * 1000).min(30_000),
        });
        for route in rs {
            let mut meta = Meta::default();
            match auth {
                RouteAuth::Public => {
                    meta = meta.checkov(
                        "CKV_AWS_309",
                        format!("`auth: public` in the config: `{}` is meant to be called by anyone", route.key()),
                    );
                }
                RouteAuth::Signed => {
                    meta = meta.checkov(
                        "CKV_AWS_309",
                        format!("`auth: signed` in the config: function `{}` rejects calls without a valid signature made with its secret", f.name),
                    );
                }
                RouteAuth::Iam | RouteAuth::Jwt { .. } => {}
            }
            if let Some(t) = f.route_throttle {
                route_settings.push(RouteSetting {
                    route_id: LogicalId::route(&route.method, &route.path),
                    key: route.key(),
                    rate: t.rate.unwrap_or(h.throttle_rate),
                    burst: t.burst.unwrap_or(h.throttle_burst),
                });
            }
            routes.push(RouteView {
                id: LogicalId::route(&route.method, &route.path),
                key: route.key(),
                target: sub(&format!("integrations/${{{integration_id}}}")),
                auth: match auth {
                    RouteAuth::Iam => "AWS_IAM".into(),
                    RouteAuth::Jwt { .. } => "JWT".into(),
                    RouteAuth::Public | RouteAuth::Signed => "NONE".into(),
                },
                authorizer: f.authorizer().map(LogicalId::authorizer),
                scopes: match auth {
                    RouteAuth::Jwt { scopes, .. } => scopes.clone(),
                    _ => Vec::new(),
                },
                meta,
            });
        }
    }
    routes.sort_by(|a, b| a.id.cmp(&b.id));
    route_settings.sort_by(|a, b| a.key.cmp(&b.key));
    HttpView {
        api_id: LogicalId::http_api(),
        name: sys.naming().http_api(),
        stage_id: LogicalId::http_stage(),
        log_group_id: LogicalId::http_log_group(),
        log_group_name: sys.naming().http_log_group(),
        log_retention: sys.log_retention_days,
        access_log_format: LOG_FORMAT.into(),
        throttle_rate: h.throttle_rate,
        throttle_burst: h.throttle_burst,
        authorizers: sys
            .authorizers
            .iter()
            .map(|a| AuthorizerView {
                id: LogicalId::authorizer(&a.name),
                name: a.name.clone(),
                issuer: reference(&LogicalId::jwt_param(&a.name, "Issuer")),
                audience: reference(&LogicalId::jwt_param(&a.name, "Audience")),
            })
            .collect(),
        integrations,
        routes,
        route_settings,
    }
}

#[cfg(test)]
mod tests {
    use crate::cfn::table::lowered;

    #[test]
    fn jwt_routes_name_their_authorizer_and_scopes_and_its_issuer_is_a_parameter() {
        let config = "authorizers:\n  users: { issuer: \"https://id.example.com\", audience: [web, ios] }\n\
            functions:\n  f: { trigger: { http: { auth: jwt, scopes: [shop/buy], routes: [\"POST /a\"] } } }\n\
            \x20 g: { trigger: { http: { auth: public, routes: [\"GET /b\"] } } }\n";
        let view = lowered("", config);
        let h = view.http.unwrap();
        let a = &h.authorizers[0];
        assert_eq!((h.authorizers.len(), a.id.as_str(), a.name.as_str()), (1, "UsersAuthorizer", "users"));
        assert_eq!(serde_json::to_string(&a.issuer).unwrap(), r#"{"Ref":"UsersJwtIssuer"}"#);
        assert_eq!(serde_json::to_string(&a.audience).unwrap(), r#"{"Ref":"UsersJwtAudience"}"#);
        // (route, AuthorizationType, authorizer, scopes)
        let routes: Vec<(&str, &str, Option<&str>, Vec<&str>)> = h
            .routes
            .iter()
            .map(|r| {
                let scopes = r.scopes.iter().map(String::as_str).collect();
                (r.key.as_str(), r.auth.as_str(), r.authorizer.as_ref().map(|a| a.as_str()), scopes)
            })
            .collect();
        assert_eq!(
            routes,
            [("GET /b", "NONE", None, vec![]), ("POST /a", "JWT", Some("UsersAuthorizer"), vec!["shop/buy"])]
        );
        let param = |id: &str| view.parameters.iter().find(|p| p.id.as_str() == id).unwrap();
        assert_eq!(param("UsersJwtIssuer").default.as_deref(), Some("https://id.example.com"));
        assert_eq!(param("UsersJwtAudience").kind, "CommaDelimitedList");
        assert_eq!(param("UsersJwtAudience").default.as_deref(), Some("web,ios"));
        // An authorizer no route uses makes neither a resource nor parameters.
        let unused = lowered("", "authorizers:\n  staff: { audience: [ops] }\nfunctions:\n  g: { trigger: { http: { auth: public, routes: [\"GET /b\"] } } }\n");
        assert!(unused.http.unwrap().authorizers.is_empty());
        assert!(!unused.parameters.iter().any(|p| p.id.as_str().starts_with("Staff")));
    }

    #[test]
    fn routes_get_the_stage_throttle_unless_their_function_sets_one() {
        let f = |t: &str| {
            format!("functions:\n  f: {{ trigger: {{ http: {{ auth: public, routes: [\"GET /a\", \"POST /b\"]{t} }} }} }}\n")
        };
        // (config, the stage's rate and burst, the routes with their own)
        type Row<'a> = (String, (u64, u64), Vec<(&'a str, u64, u64)>);
        let rows: &[Row] = &[
            (f(""), (crate::schema::DEFAULT_THROTTLE_RATE, crate::schema::DEFAULT_THROTTLE_BURST), vec![]),
            (format!("http: {{ throttle: {{ rate: 70, burst: 140 }} }}\n{}", f("")), (70, 140), vec![]),
            (
                f(", throttle: { rate: 5, burst: 10 }"),
                (crate::schema::DEFAULT_THROTTLE_RATE, crate::schema::DEFAULT_THROTTLE_BURST),
                vec![("GET /a", 5, 10), ("POST /b", 5, 10)],
            ),
        ];
        for (extra, stage, routes) in rows {
            let view = lowered("", extra);
            let h = view.http.unwrap();
            assert_eq!((h.throttle_rate, h.throttle_burst), *stage, "{extra}");
            let got: Vec<(&str, u64, u64)> =
                h.route_settings.iter().map(|r| (r.key.as_str(), r.rate, r.burst)).collect();
            assert_eq!(got, *routes, "{extra}");
        }
    }
}
