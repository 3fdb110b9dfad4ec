//! Shared helpers of flowform's integration tests: paths, the pinned tools, and templates as
//! JSON (short-form intrinsics turned into their long form).
//!
//! Tests that need a tool or a service fail with a message saying how to get it
//! (`scripts/test.sh` provides everything); they never skip.

pub mod chaos;
pub mod deploy_path;
pub mod services;

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tiny deterministic generator (xorshift64*), so a failing generated case reproduces from
/// its seed without a crate. The chaos runs, the string property test and the fuzz test use it.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// The repository root.
/// moto is one server for the whole test binary (`scripts/with-moto.sh` starts it), and
/// tests share it in two ways. Most create only resources with names of their own and share
/// it: [`services::aws`] hands out its SDK config together with a read guard of this lock.
/// A few need it alone: the runs that reset moto and deploy or provision the donut shop's
/// stack (its physical names are fixed, so a queue left by another test would make the
/// deploy fail with QueueAlreadyExists), and the scanners that keep a core busy for a
/// minute while the chaos runs have time bounds. They hold the write guard, [`Alone`].
/// The lock is fair: a waiting writer stops new readers, so a test takes it once.
pub static MOTO: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Proof that a test has moto (and the machine's cores) to itself.
pub type Alone = tokio::sync::RwLockWriteGuard<'static, ()>;

/// Waits until no other test uses moto, then holds it alone.
pub async fn alone() -> Alone {
    MOTO.write().await
}

/// [`alone`] for a synchronous test.
pub fn alone_blocking() -> Alone {
    MOTO.blocking_write()
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The donut shop with topic `purchases` renamed `sales`, queue `vip` renamed `vip_buyers` and
/// function `vip_promotion` renamed `promote_vips` (its binary keeps its name), each with
/// `renamed_from`; `keep` false leaves `renamed_from` out (a plain rename).
pub fn renamed_donut_shop(keep: bool) -> String {
    let mut text = std::fs::read_to_string(root().join("flowform.yaml")).unwrap();
    let from = |old: &str| if keep { format!("\n    renamed_from: {old}") } else { String::new() };
    for (old, new) in [
        ("  purchases:\n    description: Every", format!("  sales:{}\n    description: Every", from("purchases"))),
        ("      - topic: purchases\n", "      - topic: sales\n".into()),
        ("publishes: [out_of_stock, purchases]", "publishes: [out_of_stock, sales]".into()),
        ("  vip:\n    description: Purchases", format!("  vip_buyers:{}\n    description: Purchases", from("vip"))),
        ("      queue: vip\n", "      queue: vip_buyers\n".into()),
        (
            "  vip_promotion:\n    description: Turns",
            format!("  promote_vips:{}\n    handler: vip-promotion\n    description: Turns", from("vip_promotion")),
        ),
    ] {
        assert!(text.contains(old), "the donut shop no longer has `{old}`");
        text = text.replace(old, &new);
    }
    text
}

/// Path of a pinned tool from `scripts/tools.sh`, read from its env var. Panics (fails the
/// test) with instructions when it is missing.
pub fn tool(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) if Path::new(&p).exists() => PathBuf::from(p),
        _ => panic!("{var} is not set or does not exist: run the tests through `scripts/test.sh`, which installs the pinned tools (scripts/tools.sh) and exports their paths"),
    }
}

/// Runs a command, returning (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A CloudFormation template as JSON (intrinsics in long form).
pub fn template_json(text: &str) -> Json {
    generator::verify::template_json(text).expect("template is YAML")
}

/// Resources of a template of the given type, as (logical id, resource).
pub fn resources_of<'a>(t: &'a Json, ty: &str) -> Vec<(&'a str, &'a Json)> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .map(|(k, r)| (k.as_str(), r))
        .collect()
}

/// A JSON value that may be one item or a list, as a list.
pub fn as_list(v: &Json) -> Vec<Json> {
    match v {
        Json::Array(a) => a.clone(),
        Json::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Every config the generator is tested with: the donut shop and the fixtures.
pub fn fixture_configs() -> Vec<(String, PathBuf)> {
    let mut v = vec![("donut-shop".to_string(), root().join("flowform.yaml"))];
    let mut more: Vec<_> = std::fs::read_dir(root().join("tests/fixtures"))
        .expect("tests/fixtures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    more.sort();
    for p in more {
        v.push((p.file_stem().unwrap().to_string_lossy().to_string(), p));
    }
    v
}

/// Builds the config file at `path` as `flowform generate -c <path>` does (its imports read
/// beside it).
pub fn build_config(path: &Path) -> Result<generator::Build, generator::Failure> {
    generator::build_file(path, &std::fs::read_to_string(path).unwrap())
}

/// Compares `actual` with the committed snapshot at `path`; `FLOWFORM_BLESS=1` rewrites it.
pub fn snapshot(path: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("FLOWFORM_BLESS").is_some() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, actual).unwrap();
        return Ok(());
    }
    match std::fs::read_to_string(path) {
        Ok(expected) if expected == actual => Ok(()),
        Ok(expected) => Err(format!(
            "{} differs (FLOWFORM_BLESS=1 cargo test to accept):\n{}",
            path.display(),
            similar_diff(&expected, actual)
        )),
        Err(_) => Err(format!("{} is missing (FLOWFORM_BLESS=1 cargo test to create it)", path.display())),
    }
}

fn similar_diff(a: &str, b: &str) -> String {
    let mut out = String::new();
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            out.push_str(&format!("line {}:\n- {x}\n+ {y}\n", i + 1));
            if out.len() > 2000 {
                break;
            }
        }
    }
    if a.lines().count() != b.lines().count() {
        out.push_str(&format!("({} lines expected, {} actual)\n", a.lines().count(), b.lines().count()));
    }
    out
}
