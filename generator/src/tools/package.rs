//! `flowform package`: build every handler binary the config names for Lambda
//! (`provided.al2023`) and zip each as `bootstrap` where the templates' `Code` points.
//!
//! Builds go through `cargo zigbuild` with a glibc-versioned target
//! (`x86_64-unknown-linux-gnu.2.34`), so the binaries need nothing newer than Amazon Linux
//! 2023's glibc 2.34 whatever the build machine has. Zips are deterministic: one entry,
//! fixed timestamp (1980-01-01), mode 0755, deflate; same binary, same bytes.

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
}

/// Builds and zips; returns (zip path, size in bytes) per handler.
pub fn run(systems: &[System], o: &Options, progress: &mut dyn FnMut(&str)) -> Result<Vec<(PathBuf, u64)>, String> {
    let plan = plan(systems)?;
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
        cmd.arg("zigbuild").args([
            "--locked",
            "--profile",
            &o.profile,
            "-p",
            &o.crate_name,
            "--target",
            &format!("{target}.{GLIBC}"),
        ]);
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
        let zip = zip_bootstrap(&data);
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

/// A zip archive holding `data` as `bootstrap`, mode 0755, dated 1980-01-01 00:00.
pub fn zip_bootstrap(data: &[u8]) -> Vec<u8> {
    const NAME: &[u8] = b"bootstrap";
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = (1 << 5) | 1; // 1980-01-01
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).expect("writing to memory");
    let packed = enc.finish().expect("writing to memory");
    let crc = crc32fast::hash(data);
    let (csize, usize_) = (packed.len() as u32, data.len() as u32);
    let mut z = Vec::with_capacity(packed.len() + 128);
    let u16le = |z: &mut Vec<u8>, v: u16| z.extend_from_slice(&v.to_le_bytes());
    let u32le = |z: &mut Vec<u8>, v: u32| z.extend_from_slice(&v.to_le_bytes());
    // Local file header.
    u32le(&mut z, 0x0403_4b50);
    for v in [20u16, 0, 8, DOS_TIME, DOS_DATE] {
        u16le(&mut z, v);
    }
    for v in [crc, csize, usize_] {
        u32le(&mut z, v);
    }
    u16le(&mut z, NAME.len() as u16);
    u16le(&mut z, 0);
    z.extend_from_slice(NAME);
    z.extend_from_slice(&packed);
    // Central directory: made by Unix (3), so the external attributes carry the mode.
    let cd_start = z.len() as u32;
    u32le(&mut z, 0x0201_4b50);
    for v in [(3u16 << 8) | 20, 20, 0, 8, DOS_TIME, DOS_DATE] {
        u16le(&mut z, v);
    }
    for v in [crc, csize, usize_] {
        u32le(&mut z, v);
    }
    for v in [NAME.len() as u16, 0, 0, 0, 0] {
        u16le(&mut z, v);
    }
    u32le(&mut z, 0o100_755 << 16);
    u32le(&mut z, 0);
    z.extend_from_slice(NAME);
    let cd_size = z.len() as u32 - cd_start;
    // End of central directory.
    u32le(&mut z, 0x0605_4b50);
    for v in [0u16, 0, 1, 1] {
        u16le(&mut z, v);
    }
    u32le(&mut z, cd_size);
    u32le(&mut z, cd_start);
    u16le(&mut z, 0);
    z
}

/// The `bootstrap` binary inside a zip written by [`zip_bootstrap`].
pub fn read_bootstrap(z: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let bad = || "not a flowform Lambda zip (one deflated `bootstrap` entry)".to_string();
    if z.len() < 30 + 22 || z[..4] != *b"PK\x03\x04" || z[8..10] != [8, 0] {
        return Err(bad());
    }
    let u16at = |o: usize| u16::from_le_bytes([z[o], z[o + 1]]) as usize;
    let csize = u32::from_le_bytes([z[18], z[19], z[20], z[21]]) as usize;
    let start = 30 + u16at(26) + u16at(28);
    let packed = z.get(start..start + csize).ok_or_else(bad)?;
    let mut data = Vec::new();
    flate2::read::DeflateDecoder::new(packed).read_to_end(&mut data).map_err(|_| bad())?;
    if crc32fast::hash(&data) != u32::from_le_bytes([z[14], z[15], z[16], z[17]]) {
        return Err(bad());
    }
    Ok(data)
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
}
