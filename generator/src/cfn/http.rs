//! The HTTP API: integrations, routes (with their auth), access logs and throttling.
use super::expr::{arn, sub, Expr, LogicalId};
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
    pub auth: String,
    pub meta: Meta,
}

const LOG_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength","integrationError":"$context.integrationErrorMessage"}"#;

pub(super) fn http(sys: &System, h: &HttpApi) -> HttpView {
    let mut integrations = Vec::new();
    let mut routes = Vec::new();
    let mut route_settings = Vec::new();
    for f in &sys.functions {
        let Trigger::Http { auth, routes: rs } = &f.trigger else { continue };
        let integration_id = LogicalId::integration(&f.name);
        integrations.push(IntegrationView {
            id: integration_id.clone(),
            function_arn: arn(&LogicalId::function(&f.name)),
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
                RouteAuth::Iam => {}
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
                    _ => "NONE".into(),
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
        integrations,
        routes,
        route_settings,
    }
}

#[cfg(test)]
mod tests {
    use crate::cfn::table::lowered;

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
