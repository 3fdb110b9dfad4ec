//! `flowform package`: build every handler binary the config names for Lambda
//! (`provided.al2023`) and zip each as `bootstrap` where the templates' `Code` points.
//!
//! Builds go through `cargo zigbuild` with a glibc-versioned target
//! (`x86_64-unknown-linux-gnu.2.34`), so the binaries need nothing newer than Amazon Linux
//! 2023's glibc 2.34 whatever the build machine has. Zips are deterministic: `bootstrap` first
//! (mode 0755), then the CA bundles the config names for the databases of the handler's
//! functions (`ca/<db>.pem`, mode 0644), fixed timestamp (1980-01-01), deflate; same inputs,
//! same bytes.

use crate::model::{Architecture, System};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What to build: handler binary -> architecture, over all stages.
pub fn plan(systems: &[System]) -> Result<BTreeMap<String, Architecture>, String> {
    let mut out: BTreeMap<String, Architecture> = BTreeMap::new();
    for sys in systems {
        for f in &sys.functions {
            if let Some(prev) = out.insert(f.handler.clone(), f.architecture) {
                if prev != f.architecture {
                    return Err(format!(
                        "handler `{}` is used with both {} and {}; one binary has one architecture",
                        f.handler,
                        prev.as_aws(),
                        f.architecture.as_aws()
                    ));
                }
            }
        }
    }
    Ok(out)
}

pub fn rust_target(arch: Architecture) -> &'static str {
    match arch {
        Architecture::X86_64 => "x86_64-unknown-linux-gnu",
        Architecture::Arm64 => "aarch64-unknown-linux-gnu",
    }
}

/// AL2023's glibc.
pub const GLIBC: &str = "2.34";

pub struct Options {
    pub crate_name: String,
    pub profile: String,
    pub dist: PathBuf,
    pub zigbuild: PathBuf,
    pub target_dir: PathBuf,
    /// The config's directory: `ca_bundle` paths are relative to it.
    pub config_dir: PathBuf,
    /// The handlers crate's manifest when it is a workspace of its own (what `flowform new
    /// handlers` writes); `None`: the crate is a member of the workspace `package` runs in.
    pub manifest: Option<PathBuf>,
}

/// `handlers/<crate>/Cargo.toml` beside the config, when that crate is its own workspace.
pub fn own_workspace(config_dir: &Path, crate_name: &str) -> Option<PathBuf> {
    let manifest = config_dir.join("handlers").join(crate_name).join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).ok()?;
    text.lines().any(|l| l.trim() == "[workspace]").then_some(manifest)
}

/// The files a handler's zip carries beside `bootstrap`: for each database of its functions
/// whose config names a `ca_bundle` file, (name in the zip, path relative to the config).
pub fn ca_files(systems: &[System], handler: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for sys in systems {
        for f in sys.functions.iter().filter(|f| f.handler == handler) {
            for d in &f.databases {
                if let Some(path) = sys.database(d).and_then(|db| db.ca_bundle.as_ref()) {
                    out.insert(contracts::db_ca_file(d), path.clone());
                }
            }
        }
    }
    out
}

/// A `ca_bundle` file, read and checked: PEM with at least one certificate.
pub fn read_ca(config_dir: &Path, path: &str) -> Result<Vec<u8>, String> {
    let full = config_dir.join(path);
    let pem = std::fs::read(&full).map_err(|e| format!("ca_bundle `{path}`: cannot read {}: {e}", full.display()))?;
    if pem.windows(11).any(|w| w == b"PRIVATE KEY") {
        return Err(format!(
            "ca_bundle `{path}` ({}) holds a private key: only the CA certificates belong in every handler's zip",
            full.display()
        ));
    }
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "ca_bundle `{path}` ({}) holds no `-----BEGIN CERTIFICATE-----` block: the handlers need the CA certificates in PEM",
            full.display()
        ));
    }
    Ok(pem)
}

/// Builds and zips; returns (zip path, size in bytes) per handler.
pub fn run(systems: &[System], o: &Options, progress: &mut dyn FnMut(&str)) -> Result<Vec<(PathBuf, u64)>, String> {
    let plan = plan(systems)?;
    // Read every CA file before the long build: a missing one fails in a second.
    let mut extras: BTreeMap<&str, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for h in plan.keys() {
        for (name, path) in ca_files(systems, h) {
            let pem = read_ca(&o.config_dir, &path)?;
            extras.entry(h).or_default().push((name, pem));
        }
    }
    let mut by_arch: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
    for (h, a) in &plan {
        by_arch.entry(rust_target(*a)).or_default().push(h);
    }
    // cargo-zigbuild runs `python3 -m ziglang` when there is no `zig`: put its venv first.
    let mut path = o.zigbuild.parent().map(Path::to_path_buf).unwrap_or_default().into_os_string();
    if let Some(p) = std::env::var_os("PATH") {
        path.push(":");
        path.push(p);
    }
    for (target, bins) in &by_arch {
        progress(&format!(
            "building {} handler{} for {target} (glibc {GLIBC}, profile {}): {}",
            bins.len(),
            if bins.len() == 1 { "" } else { "s" },
            o.profile,
            bins.join(", ")
        ));
        let mut cmd = Command::new(&o.zigbuild);
        cmd.arg("zigbuild").args(["--locked", "--profile", &o.profile, "-p", &o.crate_name]);
        if let Some(m) = &o.manifest {
            cmd.arg("--manifest-path").arg(m);
        }
        cmd.args(["--target", &format!("{target}.{GLIBC}")]);
        for b in bins {
            cmd.args(["--bin", b]);
        }
        cmd.env("PATH", &path).env("CARGO_TARGET_DIR", &o.target_dir);
        let status = cmd.status().map_err(|e| {
            format!("cannot run {}: {e} (scripts/tools.sh installs cargo-zigbuild)", o.zigbuild.display())
        })?;
        if !status.success() {
            return Err(format!("cargo zigbuild failed for {target} ({status})"));
        }
    }
    std::fs::create_dir_all(&o.dist).map_err(|e| format!("cannot create {}: {e}", o.dist.display()))?;
    let mut out = Vec::new();
    for (h, a) in &plan {
        let bin = o.target_dir.join(rust_target(*a)).join(&o.profile).join(h);
        let data = std::fs::read(&bin).map_err(|e| format!("cannot read {}: {e}", bin.display()))?;
        let mut entries = vec![Entry { name: "bootstrap", data: &data, mode: 0o755 }];
        for (name, pem) in extras.get(h.as_str()).into_iter().flatten() {
            entries.push(Entry { name, data: pem, mode: 0o644 });
        }
        let zip = zip(&entries);
        let dest = o.dist.join(format!("{h}.zip"));
        let tmp = dest.with_extension("zip.tmp");
        std::fs::write(&tmp, &zip)
            .and_then(|_| std::fs::rename(&tmp, &dest))
            .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
        progress(&format!(
            "{}  {:.2} MB (binary {:.2} MB)",
            dest.display(),
            zip.len() as f64 / 1e6,
            data.len() as f64 / 1e6
        ));
        out.push((dest, zip.len() as u64));
    }
    Ok(out)
}

/// One file of a zip.
pub struct Entry<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
    /// Unix permission bits (0o755, 0o644).
    pub mode: u32,
}

/// A zip archive holding `data` as `bootstrap`, mode 0755, dated 1980-01-01 00:00.
pub fn zip_bootstrap(data: &[u8]) -> Vec<u8> {
    zip(&[Entry { name: "bootstrap", data, mode: 0o755 }])
}

/// A zip archive of `entries` in order, deflated, each dated 1980-01-01 00:00 and made by Unix
/// (so the external attributes carry the mode).
pub fn zip(entries: &[Entry]) -> Vec<u8> {
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = (1 << 5) | 1; // 1980-01-01
    let u16le = |z: &mut Vec<u8>, v: u16| z.extend_from_slice(&v.to_le_bytes());
    let u32le = |z: &mut Vec<u8>, v: u32| z.extend_from_slice(&v.to_le_bytes());
    let mut z = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(e.data).expect("writing to memory");
        let packed = enc.finish().expect("writing to memory");
        let (crc, csize, usize_) = (crc32fast::hash(e.data), packed.len() as u32, e.data.len() as u32);
        let name = e.name.as_bytes();
        let offset = z.len() as u32;
        // Local file header.
        u32le(&mut z, 0x0403_4b50);
        for v in [20u16, 0, 8, DOS_TIME, DOS_DATE] {
            u16le(&mut z, v);
        }
        for v in [crc, csize, usize_] {
            u32le(&mut z, v);
        }
        u16le(&mut z, name.len() as u16);
        u16le(&mut z, 0);
        z.extend_from_slice(name);
        z.extend_from_slice(&packed);
        // Its central directory record.
        u32le(&mut central, 0x0201_4b50);
        for v in [(3u16 << 8) | 20, 20, 0, 8, DOS_TIME, DOS_DATE] {
            u16le(&mut central, v);
        }
        for v in [crc, csize, usize_] {
            u32le(&mut central, v);
        }
        for v in [name.len() as u16, 0, 0, 0, 0] {
            u16le(&mut central, v);
        }
        u32le(&mut central, (0o100_000 | e.mode) << 16);
        u32le(&mut central, offset);
        central.extend_from_slice(name);
    }
    let (cd_start, cd_size) = (z.len() as u32, central.len() as u32);
    z.extend_from_slice(&central);
    // End of central directory.
    u32le(&mut z, 0x0605_4b50);
    let n = entries.len() as u16;
    for v in [0u16, 0, n, n] {
        u16le(&mut z, v);
    }
    u32le(&mut z, cd_size);
    u32le(&mut z, cd_start);
    u16le(&mut z, 0);
    z
}

/// The files of a zip written by [`zip`], in order: (name, contents), each CRC-checked.
pub fn entries(z: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    use std::io::Read as _;
    let bad = || "not a flowform Lambda zip (deflated entries)".to_string();
    let mut out = Vec::new();
    let mut at = 0;
    while z.get(at..at + 4) == Some(b"PK\x03\x04") {
        let h = z.get(at..at + 30).ok_or_else(bad)?;
        let u16at = |o: usize| u16::from_le_bytes([h[o], h[o + 1]]) as usize;
        let u32at = |o: usize| u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        if u16at(8) != 8 {
            return Err(bad());
        }
        let (csize, name_len, extra) = (u32at(18) as usize, u16at(26), u16at(28));
        let name = z.get(at + 30..at + 30 + name_len).ok_or_else(bad)?;
        let start = at + 30 + name_len + extra;
        let packed = z.get(start..start + csize).ok_or_else(bad)?;
        let mut data = Vec::new();
        flate2::read::DeflateDecoder::new(packed).read_to_end(&mut data).map_err(|_| bad())?;
        if crc32fast::hash(&data) != u32at(14) {
            return Err(bad());
        }
        out.push((String::from_utf8_lossy(name).into_owned(), data));
        at = start + csize;
    }
    Ok(out)
}

/// The `bootstrap` binary inside a zip written by [`zip`] (its first entry).
pub fn read_bootstrap(z: &[u8]) -> Result<Vec<u8>, String> {
    match entries(z)?.into_iter().next() {
        Some((name, data)) if name == "bootstrap" => Ok(data),
        _ => Err("not a flowform Lambda zip (`bootstrap` first)".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_are_deterministic_and_well_formed() {
        let data = b"#!/bin/sh\necho hi\n".repeat(100);
        let a = zip_bootstrap(&data);
        assert_eq!(a, zip_bootstrap(&data));
        assert_eq!(&a[..4], b"PK\x03\x04");
        assert_eq!(&a[a.len() - 22..a.len() - 18], b"PK\x05\x06");
        assert!(a.len() < data.len());
        assert_eq!(read_bootstrap(&a).unwrap(), data);
        assert!(read_bootstrap(b"nope").is_err());
    }

    #[test]
    fn ca_bundles_ride_after_bootstrap_with_their_own_mode() {
        let (bin, pem) = (b"\x7fELF binary".repeat(50), b"-----BEGIN CERTIFICATE-----\nMIIB\n".to_vec());
        let z = zip(&[
            Entry { name: "bootstrap", data: &bin, mode: 0o755 },
            Entry { name: "ca/stock.pem", data: &pem, mode: 0o644 },
        ]);
        let got = entries(&z).unwrap();
        assert_eq!(got, vec![("bootstrap".to_string(), bin.clone()), ("ca/stock.pem".to_string(), pem)]);
        assert_eq!(read_bootstrap(&z).unwrap(), bin);
        // End of central directory: two entries; the second record's mode is 0644.
        let eocd = z.len() - 22;
        assert_eq!(&z[eocd + 8..eocd + 12], &[2, 0, 2, 0]);
        let cd = u32::from_le_bytes(z[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
        let second = cd + 46 + "bootstrap".len();
        let u32at = |o: usize| u32::from_le_bytes(z[o..o + 4].try_into().unwrap());
        assert_eq!(u32at(second + 38) >> 16, 0o100_644);
        // Each central record points at its own local header, which names the same file.
        for (record, name) in [(cd, "bootstrap"), (second, "ca/stock.pem")] {
            let local = u32at(record + 42) as usize;
            assert_eq!(&z[local..local + 4], b"PK\x03\x04");
            assert_eq!(&z[local + 30..local + 30 + name.len()], name.as_bytes());
            assert_eq!(&z[record + 46..record + 46 + name.len()], name.as_bytes());
        }
        assert_eq!(cd + u32at(eocd + 12) as usize, eocd, "the central directory ends where its end record starts");
        let mut damaged = z.clone();
        damaged[60] ^= 0xff; // inside bootstrap's deflated data
        assert!(entries(&damaged).is_err(), "a damaged entry is noticed");
    }

    #[test]
    fn a_named_ca_bundle_reaches_the_env_and_the_zips_of_its_handlers() {
        // The donut shop with the stock database trusting a file of its own.
        let text = include_str!("../../../flowform.yaml").replace(
            "    description: the stock database (product, factory, advertisement)",
            "    description: the stock database (product, factory, advertisement)\n    ca_bundle: certs/stock-ca.pem",
        );
        let b = crate::build(&text).unwrap();
        let t = &b.files["dev/template.yaml"];
        assert!(t.contains("FLOWFORM_DB_STOCK_CA: ca/stock.pem"), "the stock functions name the zipped file");
        assert!(t.contains("FLOWFORM_DB_CUSTOMER_CA: rds"), "the customer database keeps the RDS bundle");
        // Every handler of a function with the stock database carries the file; the VIP
        // promotion (customer database only) does not.
        for f in &b.systems[0].functions {
            let files = ca_files(&b.systems, &f.handler);
            let stock = f.databases.iter().any(|d| d == "stock");
            assert_eq!(
                files.get("ca/stock.pem").map(String::as_str),
                stock.then_some("certs/stock-ca.pem"),
                "{}",
                f.handler
            );
            assert!(!files.contains_key("ca/customer.pem"));
        }
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = std::env::temp_dir().join(format!("flowform-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("csr.pem"), "-----BEGIN CERTIFICATE REQUEST-----\nMIIC\n").unwrap();
        std::fs::write(dir.join("ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").unwrap();
        assert!(read_ca(&dir, "ca.pem").is_ok());
        let e = read_ca(&dir, "csr.pem").unwrap_err();
        assert!(e.contains("no `-----BEGIN CERTIFICATE-----`"), "{e}");
        std::fs::write(
            dir.join("both.pem"),
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE\n",
        )
        .unwrap();
        let e = read_ca(&dir, "both.pem").unwrap_err();
        assert!(e.contains("holds a private key"), "{e}");
        let e = read_ca(&dir, "missing.pem").unwrap_err();
        assert!(e.contains("ca_bundle `missing.pem`: cannot read"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
