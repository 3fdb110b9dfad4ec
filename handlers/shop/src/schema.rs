//! Schema migrations and seed data of the stock database and the customer database.
//! Statements are idempotent (`IF NOT EXISTS`, `INSERT IGNORE`), so running them twice is safe.
//! They create tables; they do not alter tables made by an older version (there is no deployed
//! older version yet; the first schema change after a release brings versioned migrations).

use sqlx::MySqlPool;

pub const STOCK: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS factory (
        factory_id BINARY(16) PRIMARY KEY,
        identifier VARCHAR(32) NOT NULL UNIQUE,
        name VARCHAR(100) NOT NULL,
        manager_email VARCHAR(255) NOT NULL,
        api VARCHAR(255) NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS advertisement (
        ad_id BINARY(16) PRIMARY KEY,
        status BOOLEAN NOT NULL DEFAULT TRUE,
        manager_email VARCHAR(255) NOT NULL,
        paused_at TIMESTAMP NULL
    )",
    "CREATE TABLE IF NOT EXISTS product (
        product_id BINARY(16) PRIMARY KEY,
        sku VARCHAR(32) NOT NULL UNIQUE,
        name VARCHAR(100) NOT NULL UNIQUE,
        price INT NOT NULL,
        stock INT NOT NULL,
        factory_id BINARY(16) NOT NULL,
        ad_id BINARY(16) NULL,
        reorder_quantity INT NOT NULL DEFAULT 10,
        max_per_order INT NOT NULL DEFAULT 500,
        restock_deadline_seconds INT NOT NULL DEFAULT 3600,
        restock_cycle BIGINT NOT NULL DEFAULT 0,
        restocking BOOLEAN NOT NULL DEFAULT FALSE,
        CONSTRAINT stock_not_negative CHECK (stock >= 0),
        CONSTRAINT reorder_positive CHECK (reorder_quantity > 0 AND max_per_order > 0 AND restock_deadline_seconds > 0),
        FOREIGN KEY (factory_id) REFERENCES factory (factory_id),
        FOREIGN KEY (ad_id) REFERENCES advertisement (ad_id)
    )",
    "CREATE TABLE IF NOT EXISTS restock_order (
        order_id CHAR(36) PRIMARY KEY,
        product_id BINARY(16) NOT NULL,
        cycle BIGINT NOT NULL,
        quantity INT NOT NULL,
        requester VARCHAR(64) NOT NULL,
        status VARCHAR(16) NOT NULL,
        claim_token CHAR(36) NULL,
        claimed_until TIMESTAMP NULL,
        attempts INT NOT NULL DEFAULT 0,
        reminders INT NOT NULL DEFAULT 0,
        produced BIGINT NOT NULL DEFAULT 0,
        created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        due_at TIMESTAMP(3) NOT NULL,
        ordered_at TIMESTAMP(3) NULL,
        delivered_at TIMESTAMP(3) NULL,
        UNIQUE KEY one_order_per_cycle (product_id, cycle),
        KEY open_orders (status, due_at),
        FOREIGN KEY (product_id) REFERENCES product (product_id)
    )",
    // One row per send of an order to the factory. Its id is in the signed callback URL, so
    // every production the factory confirms is counted once, even after an ambiguous failure
    // (timeout, 5xx) made the order go out again.
    "CREATE TABLE IF NOT EXISTS factory_attempt (
        attempt_id CHAR(36) PRIMARY KEY,
        order_id CHAR(36) NOT NULL,
        outcome VARCHAR(16) NOT NULL,
        sent_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        produced INT NULL,
        counted_at TIMESTAMP(3) NULL,
        KEY by_order (order_id),
        FOREIGN KEY (order_id) REFERENCES restock_order (order_id)
    )",
    // Every sale, written in the same transaction as the stock decrement.
    "CREATE TABLE IF NOT EXISTS sale (
        purchase_id CHAR(36) PRIMARY KEY,
        product_id BINARY(16) NOT NULL,
        customer_id VARCHAR(64) NOT NULL,
        quantity INT NOT NULL,
        sold_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        FOREIGN KEY (product_id) REFERENCES product (product_id)
    )",
    OUTBOX,
    CLAIM,
    "CREATE TABLE IF NOT EXISTS ad_stop_notice (
        product_id BINARY(16) NOT NULL,
        cycle BIGINT NOT NULL,
        status VARCHAR(16) NOT NULL,
        sent_at TIMESTAMP NULL,
        PRIMARY KEY (product_id, cycle)
    )",
];

/// The tables of the runtime's outbox and claim helpers, next to the code that uses them.
const OUTBOX: &str = flowform_runtime::outbox::TABLE;
const CLAIM: &str = flowform_runtime::claim::TABLE;

pub const CUSTOMER: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS customer (
        customer_id VARCHAR(64) PRIMARY KEY,
        email VARCHAR(255) NULL,
        type ENUM('normal', 'vip') NOT NULL DEFAULT 'normal',
        purchase_total BIGINT NOT NULL DEFAULT 0,
        updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
    )",
    "CREATE TABLE IF NOT EXISTS vip_promotion (
        purchase_id CHAR(36) PRIMARY KEY,
        customer_id VARCHAR(64) NOT NULL,
        quantity INT NOT NULL,
        promoted_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        marketing_notified_at TIMESTAMP NULL
    )",
    CLAIM,
];

/// The seed product of the course material.
pub const SEED_SKU: &str = "CP-502101";
pub const SEED_PRODUCT_ID: &str = "0b7e6c2a-5d1f-4c1e-9a55-3d0c2b7e5021";
pub const SEED_FACTORY_ID: &str = "6f1d2e3c-4b5a-4978-8d6e-5f4a3b2c5002";
pub const SEED_AD_ID: &str = "a1b2c3d4-e5f6-4789-8abc-def012345678";
pub const SEED_AD_MANAGER: &str = "ad-manager@donut.example.com";

fn id(s: &str) -> Vec<u8> {
    uuid::Uuid::parse_str(s).expect("seed ids are UUIDs").as_bytes().to_vec()
}

pub async fn migrate(pool: &MySqlPool, statements: &[&'static str]) -> Result<(), sqlx::Error> {
    for s in statements {
        sqlx::raw_sql(*s).execute(pool).await?;
    }
    Ok(())
}

/// Seed rows of the stock database: factory FF-500293, the ad, and 부산도너츠 with `stock`.
pub async fn seed_stock(pool: &MySqlPool, stock: i64, factory_api: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT IGNORE INTO factory (factory_id, identifier, name, manager_email, api) VALUES (?, 'FF-500293', '부산도너츠공장', 'factory@donut.example.com', ?)")
        .bind(id(SEED_FACTORY_ID))
        .bind(factory_api)
        .execute(pool)
        .await?;
    sqlx::query("INSERT IGNORE INTO advertisement (ad_id, status, manager_email) VALUES (?, TRUE, ?)")
        .bind(id(SEED_AD_ID))
        .bind(SEED_AD_MANAGER)
        .execute(pool)
        .await?;
    sqlx::query("INSERT IGNORE INTO product (product_id, sku, name, price, stock, factory_id, ad_id, reorder_quantity) VALUES (?, ?, '부산도너츠', 19900, ?, ?, ?, 10)")
        .bind(id(SEED_PRODUCT_ID))
        .bind(SEED_SKU)
        .bind(stock)
        .bind(id(SEED_FACTORY_ID))
        .bind(id(SEED_AD_ID))
        .execute(pool)
        .await?;
    Ok(())
}

/// Seed customers: all `normal`.
pub async fn seed_customers(pool: &MySqlPool) -> Result<(), sqlx::Error> {
    for (cid, email) in [("c-1001", "kim@example.com"), ("c-1002", "lee@example.com"), ("c-1003", "park@example.com")] {
        sqlx::query("INSERT IGNORE INTO customer (customer_id, email, type) VALUES (?, ?, 'normal')")
            .bind(cid)
            .bind(email)
            .execute(pool)
            .await?;
    }
    Ok(())
}
