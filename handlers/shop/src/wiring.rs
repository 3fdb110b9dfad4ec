//! The donut shop's wiring as the handlers see it: which config names (topics, databases,
//! endpoints, ...) each binary uses, and so which env vars it reads. A test compares this
//! with the generated templates, so a function can never get different env vars than its
//! handler reads, and every function in flowform.yaml has a binary here (and the reverse).

use contracts as c;

pub const OUT_OF_STOCK: &str = "out_of_stock";
pub const PURCHASES: &str = "purchases";
pub const STOCK_DB: &str = "stock";
pub const CUSTOMER_DB: &str = "customer";
pub const FACTORY: &str = "factory";
pub const MARKETING: &str = "marketing";
pub const SHOP_EMAIL: &str = "shop";
pub const CALLBACK_KEY: &str = "callback_key";

fn db(name: &str) -> Vec<String> {
    vec![c::db_host(name), c::db_port(name), c::db_name(name), c::db_secret_arn(name), c::db_ca(name)]
}

/// Every handler binary and the env vars it reads (besides `FLOWFORM_STAGE`).
pub fn handlers() -> Vec<(&'static str, Vec<String>)> {
    let mut v = vec![
        ("product", db(STOCK_DB)),
        ("checkout", [db(STOCK_DB), vec![c::topic_arn(OUT_OF_STOCK), c::topic_arn(PURCHASES)]].concat()),
        (
            "stock-request",
            [
                db(STOCK_DB),
                vec![
                    c::endpoint_url(FACTORY),
                    c::secret_arn(CALLBACK_KEY),
                    c::HTTP_API_URL.to_string(),
                    c::RETRY_BASE_SECONDS.to_string(),
                ],
            ]
            .concat(),
        ),
        ("stock-arrival", [db(STOCK_DB), vec![c::secret_arn(CALLBACK_KEY)]].concat()),
        (
            "ad-stop",
            [
                db(STOCK_DB),
                vec![
                    c::email_identity(SHOP_EMAIL),
                    c::email_configuration_set(SHOP_EMAIL),
                    c::email_from(SHOP_EMAIL),
                    c::RETRY_BASE_SECONDS.to_string(),
                ],
            ]
            .concat(),
        ),
        (
            "vip-promotion",
            [db(CUSTOMER_DB), vec![c::endpoint_url(MARKETING), c::RETRY_BASE_SECONDS.to_string()]].concat(),
        ),
        ("outbox-relay", [db(STOCK_DB), vec![c::topic_arn(OUT_OF_STOCK), c::topic_arn(PURCHASES)]].concat()),
        ("restock-reconciler", db(STOCK_DB)),
    ];
    for (_, vars) in &mut v {
        vars.sort();
    }
    v
}
