//! The handlers' database TLS against a real MariaDB with TLS on: a server of its own
//! (`mariadbd` from the machine's MariaDB packages, started on a free loopback port with
//! `require_secure_transport`) and a test PKI made with `openssl` for this run: a CA, a server
//! certificate it signs for `localhost` only, and an unrelated CA. What must hold:
//! - the right CA and host name connect, and the session is TLS;
//! - another CA, the RDS bundle, or a host name the certificate does not carry are refused
//!   during the handshake, before a password is sent;
//! - a server without TLS (a second mariadbd, `--skip-ssl`) is refused, never a plaintext
//!   fallback;
//! - the unmodified `product` Lambda binary, given a CA file in its task root
//!   (`FLOWFORM_DB_STOCK_CA=ca/stock.pem`, what `flowform package` zips) and its password in
//!   moto's Secrets Manager, answers over verified TLS, fails to start with the wrong CA, and
//!   never prints the password.

use serde_json::Value as Json;
use shop::db::Server;
use sqlx::mysql::MySqlPoolOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tests::services;

const USER: &str = "shop";
const SCHEMA: &str = "donut";

/// `openssl` with `args` in `dir`; fails the test with its stderr.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("openssl (the machine's OpenSSL command line) is needed for the test PKI: {e}"));
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA (`<name>.pem`, `<name>.key`) valid two days.
fn ca(dir: &Path, name: &str) {
    let subject = format!("/CN=flowform test {name}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &subject,
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// The test PKI: `ca.pem` signs `server.pem` (SAN `DNS:localhost` only); `other-ca.pem` is
/// unrelated.
fn pki(dir: &Path) {
    ca(dir, "ca");
    ca(dir, "other-ca");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
}

/// A MariaDB server of its own: TLS on with the test PKI and plaintext TCP refused
/// (`require_secure_transport`), or with `tls: false` no TLS at all (`--skip-ssl`); TCP on
/// 127.0.0.1 only, a user `shop` with a random password and schema `donut`. Stopped (and its
/// files removed) on drop.
struct TlsMariaDb {
    dir: PathBuf,
    port: u16,
    password: String,
    server: Child,
}

impl TlsMariaDb {
    fn start(tls: bool) -> TlsMariaDb {
        let kind = if tls { "tls" } else { "plain" };
        let dir = std::env::temp_dir().join(format!("flowform-dbtls-{kind}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        pki(&dir);
        let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false);
        let user: &[&str] = if root { &["--user=root"] } else { &[] };
        let install = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--datadir={}", dir.join("data").display()))
            .args(user)
            .output()
            .unwrap_or_else(|e| panic!("mariadb-install-db (the machine's MariaDB server package) is needed: {e}"));
        assert!(install.status.success(), "mariadb-install-db: {}", String::from_utf8_lossy(&install.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let path = |f: &str| dir.join(f).display().to_string();
        let server = Command::new("mariadbd")
            .arg("--no-defaults")
            .args(user)
            .arg(format!("--datadir={}", path("data")))
            .arg(format!("--socket={}", path("sock")))
            .arg(format!("--pid-file={}", path("pid")))
            .arg(format!("--log-error={}", path("error.log")))
            .arg(format!("--port={port}"))
            .args(["--bind-address=127.0.0.1", "--skip-name-resolve"])
            .args(["--innodb-buffer-pool-size=16M", "--performance-schema=OFF", "--skip-log-bin"])
            .args(if tls {
                vec![
                    "--require-secure-transport=ON".to_string(),
                    format!("--ssl-ca={}", path("ca.pem")),
                    format!("--ssl-cert={}", path("server.pem")),
                    format!("--ssl-key={}", path("server.key")),
                ]
            } else {
                vec!["--skip-ssl".to_string()]
            })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("mariadbd (the machine's MariaDB server package) is needed: {e}"));
        let password = format!("pw-{:016x}", tests::Rng(std::process::id() as u64 ^ 0x5eed).next_u64());
        let db = TlsMariaDb { dir, port, password, server };
        let sql = format!(
            "CREATE DATABASE {SCHEMA}; CREATE USER '{USER}'@'%' IDENTIFIED BY '{}'; GRANT ALL ON {SCHEMA}.* TO '{USER}'@'%';",
            db.password
        );
        let mut last = String::new();
        for _ in 0..120 {
            // The Unix socket is a secure transport: root sets the server up without TLS.
            let out = Command::new("mariadb")
                .args(["--no-defaults", "-uroot"])
                .arg(format!("--socket={}", db.dir.join("sock").display()))
                .args(["-e", &sql])
                .output()
                .unwrap();
            if out.status.success() {
                return db;
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            std::thread::sleep(Duration::from_millis(250));
        }
        let log = std::fs::read_to_string(db.dir.join("error.log")).unwrap_or_default();
        panic!("the {kind} MariaDB did not come up in 30 s: {last}\n{log}");
    }

    fn pem(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(file)).unwrap()
    }

    fn server(&self, host: &str, ca: &str) -> Server {
        Server { host: host.into(), port: self.port, database: SCHEMA.into(), ca_pem: self.pem(ca) }
    }

    /// Connects as the handlers do (`Server::options`): the error text when refused.
    async fn connect(&self, server: &Server) -> Result<sqlx::MySqlPool, String> {
        MySqlPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(server.options(USER).password(&self.password))
            .await
            .map_err(|e| format!("{e} / {e:?}"))
    }
}

impl Drop for TlsMariaDb {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn database_tls_proves_the_server_or_refuses() {
    let (db, plain) = (TlsMariaDb::start(true), TlsMariaDb::start(false));

    // The right CA and host name: a TLS session, as the user the secret names.
    let pool = db.connect(&db.server("localhost", "ca.pem")).await.expect("the test CA and `localhost` connect");
    let (version,): (String,) = sqlx::query_as(
        "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(version.starts_with("TLSv1."), "the session is not TLS: Ssl_version `{version}`");
    let (user,): (String,) = sqlx::query_as("SELECT CURRENT_USER()").fetch_one(&pool).await.unwrap();
    assert_eq!(user, format!("{USER}@%"));
    pool.close().await;

    // Refused in the handshake: a CA that did not sign the certificate (a man in the middle
    // with a certificate of his own), the RDS bundle the handlers trust by default, and the
    // right CA with a host name the certificate does not name.
    let cases = [
        ("another CA", db.server("localhost", "other-ca.pem"), &["UnknownIssuer", "invalid peer certificate"][..]),
        (
            "the RDS bundle",
            Server { ca_pem: shop::db::RDS_CA_BUNDLE.to_vec(), ..db.server("localhost", "ca.pem") },
            &["UnknownIssuer", "invalid peer certificate"][..],
        ),
        ("a host the certificate does not name", db.server("127.0.0.1", "ca.pem"), &["NotValidForName"][..]),
    ];
    for (what, server, expect) in cases {
        let e = db.connect(&server).await.err().unwrap_or_else(|| panic!("{what}: connected"));
        assert!(expect.iter().any(|x| e.contains(x)), "{what}: refused for another reason: {e}");
        assert!(!e.contains(&db.password), "{what}: the error shows the password: {e}");
    }

    // A server that offers no TLS at all (`--skip-ssl`): refused, not a plaintext fallback,
    // with the same CA and host name that pass above.
    let e = plain
        .connect(&plain.server("localhost", "ca.pem"))
        .await
        .map(|_| ())
        .expect_err("a server without TLS must be refused");
    assert!(e.to_lowercase().contains("tls") || e.to_lowercase().contains("ssl"), "refused for another reason: {e}");
    assert!(!e.contains(&plain.password), "the error shows the password: {e}");

    // The unmodified Lambda binary, configured as a template configures it.
    lambda_binary_verifies_its_database(&db).await;
}

/// Runs the `product` handler (from dist/lambda, under the local Lambda runtime) against the
/// TLS server with its CA file under `LAMBDA_TASK_ROOT`: 200 with the right CA; with the other
/// CA it cannot start (every invocation fails) and says why; its password appears in no log.
async fn lambda_binary_verifies_its_database(db: &TlsMariaDb) {
    let aws = services::aws().await;
    let sys = generator::build(&std::fs::read_to_string(tests::root().join("flowform.yaml")).unwrap())
        .unwrap()
        .systems
        .remove(0);
    let bins = services::unpack_handlers(&sys, "dbtls");
    let secret = aws_sdk_secretsmanager::Client::new(&aws)
        .create_secret()
        .name(format!("flowform-dbtls-{}", std::process::id()))
        .secret_string(serde_json::json!({ "username": USER, "password": db.password }).to_string())
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    // The schema the product read needs, created over the verified connection.
    let pool = db.connect(&db.server("localhost", "ca.pem")).await.unwrap();
    shop::schema::migrate(&pool, shop::schema::STOCK).await.unwrap();
    shop::schema::seed_stock(&pool, 7, "http://factory.local").await.unwrap();
    pool.close().await;

    for (ca, works) in [("ca.pem", true), ("other-ca.pem", false)] {
        let task_root = db.dir.join(format!("task-{ca}"));
        std::fs::create_dir_all(task_root.join("ca")).unwrap();
        std::fs::copy(db.dir.join(ca), task_root.join(contracts::db_ca_file("stock"))).unwrap();
        let env = vec![
            (contracts::STAGE.to_string(), "dev".to_string()),
            (contracts::db_host("stock"), "localhost".to_string()),
            (contracts::db_port("stock"), db.port.to_string()),
            (contracts::db_name("stock"), SCHEMA.to_string()),
            (contracts::db_secret_arn("stock"), secret.clone()),
            (contracts::db_ca("stock"), contracts::db_ca_file("stock")),
            ("LAMBDA_TASK_ROOT".to_string(), task_root.display().to_string()),
            ("AWS_ENDPOINT_URL".to_string(), services::moto_url()),
            ("AWS_ACCESS_KEY_ID".to_string(), "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "testing".to_string()),
            ("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string()),
        ];
        let logs = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = logs.clone();
        let f = local::runtime::Function::start(
            local::runtime::Spec {
                name: format!("donut-shop-dbtls-product-{}", if works { "good" } else { "bad" }),
                binary: bins.join("product"),
                env,
                timeout: Duration::from_secs(5),
                memory: 128,
                region: "ap-northeast-2".into(),
                concurrency: 1,
            },
            Arc::new(move |_: &str, line: &str| sink.lock().unwrap().push(line.to_string())),
        )
        .await
        .unwrap();
        let event = serde_json::to_value(services::http_event("GET", "/product/donut", "", None)).unwrap();
        let answer = f.invoke(&event).await;
        f.stop().await;
        let logs = logs.lock().unwrap().join("\n");
        assert!(!logs.contains(&db.password), "the database password reached the function's log:\n{logs}");
        if works {
            let answer: Json = answer.unwrap_or_else(|e| panic!("the product read failed: {e:?}\n{logs}"));
            assert_eq!(answer["statusCode"], 200, "{answer}\n{logs}");
            let body: Json = serde_json::from_str(answer["body"].as_str().unwrap_or_default()).unwrap();
            assert_eq!(body["stock"], 7, "{body}");
        } else {
            assert!(answer.is_err(), "the product read answered with a CA that did not sign the server: {answer:?}");
            assert!(
                logs.contains("UnknownIssuer") || logs.contains("invalid peer certificate"),
                "the function does not say the certificate was refused:\n{logs}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&bins);
}
