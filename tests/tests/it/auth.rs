//! The donut shop's `auth: jwt` checkout under `flowform-local dev`, attacked the way a
//! caller on the internet would: no token, an expired one, one for another application, one
//! from another issuer, one signed by another key under the issuer's `kid`, one without the
//! route's scope, a body that names someone else. Each is refused as API Gateway refuses it,
//! nothing is sold; a signed-in customer buys as themself; the product read stays public.

use serde_json::{json, Value as Json};
use shop::schema;
use std::sync::Arc;
use tests::services::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_checkout_refuses_what_api_gateway_refuses_and_sells_to_the_token_subject() {
    // Alone: the donut shop's queues and topics have fixed names.
    let alone = tests::alone().await;
    reset_moto(&alone);
    let text = std::fs::read_to_string(tests::root().join("flowform.yaml")).unwrap();
    let sys = generator::build(&text).unwrap().systems.into_iter().find(|s| s.stage == "dev").unwrap();
    let provisioned = local::provision::up(&sys, &aws_alone(&alone).await).await.unwrap();
    let shop = LocalShop::start(&sys, provisioned, "auth", 10, Arc::new(|_: &str, _: &str| {})).await;
    let (dev, stock_db) = (&shop.dev, &shop.stock_db);
    let issuer = dev.issuer.clone().unwrap();
    let url = dev.http_url.clone();
    let http = reqwest::Client::new();
    let body = json!({ "sku": schema::SEED_SKU, "quantity": 1 });
    let post = |auth: Option<String>, body: Json| {
        let mut r = http.post(format!("{url}/checkout")).json(&body);
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };

    // The issuer's discovery document names the key set; the key set holds the signing key.
    let iss = issuer.url("customers");
    let discovery: Json =
        http.get(format!("{iss}/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["issuer"], json!(iss));
    let jwks: Json = http.get(discovery["jwks_uri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kid"], json!(issuer.jwk().kid));

    let now = local::jwt::now();
    let claims = json!({ "iss": iss, "aud": "donut-shop-web", "sub": "c-1001", "scope": "donut/checkout", "iat": now, "exp": now + 300 });
    let with = |k: &str, v: Json| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    let bearer = |t: String| Some(format!("Bearer {t}"));
    let impostor = local::jwt::Issuer::generate("http://127.0.0.1:1").unwrap();
    let refused: Vec<(&str, Option<String>, u16)> = vec![
        ("no token", None, 401),
        ("not a JWT", bearer("c-1001".into()), 401),
        ("expired", bearer(issuer.sign(&with("exp", json!(now - 1)))), 401),
        ("not yet valid", bearer(issuer.sign(&with("nbf", json!(now + 600)))), 401),
        ("another application", bearer(issuer.sign(&with("aud", json!("donut-admin")))), 401),
        ("the config's real issuer", bearer(issuer.sign(&with("iss", json!("https://auth.donut.example.com")))), 401),
        (
            "another key under the issuer's kid",
            bearer(impostor.sign_with_header(&json!({ "alg": "RS256", "kid": issuer.jwk().kid }), &claims)),
            401,
        ),
        ("an ID token without the scope", bearer(issuer.sign(&with("scope", json!("openid profile")))), 403),
    ];
    for (what, auth, want) in refused {
        let (code, answer) = post(auth, body.clone()).await;
        assert_eq!(code, want, "{what}: {answer}");
        let message = if want == 401 { "Unauthorized" } else { "Forbidden" };
        assert_eq!(serde_json::from_str::<Json>(&answer).unwrap()["message"], message, "{what}");
    }
    let (code, answer) =
        post(bearer(issuer.sign(&claims)), json!({ "sku": schema::SEED_SKU, "quantity": 1, "customer": "c-2002" }))
            .await;
    assert_eq!(code, 400, "a body that names a customer: {answer}");
    let sales = |db: &TestDb| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT customer_id FROM sale ORDER BY customer_id")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    assert!(sales(stock_db).await.is_empty(), "nothing was sold to a refused request");

    // A signed-in customer buys as themself, in either `Authorization` form.
    let (code, answer) = post(bearer(issuer.sign(&claims)), body.clone()).await;
    assert_eq!(code, 200, "{answer}");
    let (code, answer) = post(Some(issuer.sign(&with("sub", json!("c-1002")))), body.clone()).await;
    assert_eq!(code, 200, "a bare token: {answer}");
    assert_eq!(sales(stock_db).await, ["c-1001", "c-1002"]);
    let product = http.get(format!("{url}/product/donut")).send().await.unwrap();
    assert_eq!(product.status().as_u16(), 200, "GET /product/donut stays public");

    shop.stop().await;
}
