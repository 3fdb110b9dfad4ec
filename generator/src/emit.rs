//! Writing `out/` atomically, and comparing it with what would be generated (`check`).
//!
//! Everything is rendered and verified in memory first. Each stage directory is written to a
//! sibling temporary directory and swapped in with renames, so an interrupted or failed run
//! never leaves a half-written stage behind.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Generated files: path relative to the output directory -> content.
pub type Files = BTreeMap<String, String>;

/// Writes `files` under `out`, replacing each stage directory as a whole. Stage directories of
/// `out` that flowform made earlier (they hold a `template.yaml`) and that are no longer
/// generated are removed.
pub fn write(out: &Path, files: &Files) -> io::Result<()> {
    fs::create_dir_all(out)?;
    let mut by_dir: BTreeMap<String, Vec<(&str, &str)>> = BTreeMap::new();
    for (path, content) in files {
        let (dir, name) = path.split_once('/').unwrap_or(("", path.as_str()));
        by_dir.entry(dir.to_string()).or_default().push((name, content));
    }
    for (dir, entries) in &by_dir {
        if dir.is_empty() {
            for (name, content) in entries {
                write_file_atomic(&out.join(name), content)?;
            }
            continue;
        }
        let target = out.join(dir);
        let tmp = out.join(format!(".{dir}.flowform-new"));
        let old = out.join(format!(".{dir}.flowform-old"));
        let _ = fs::remove_dir_all(&tmp);
        let _ = fs::remove_dir_all(&old);
        fs::create_dir_all(&tmp)?;
        for (name, content) in entries {
            let p = tmp.join(name);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(&p, content)?;
        }
        if target.exists() {
            fs::rename(&target, &old)?;
        }
        fs::rename(&tmp, &target)?;
        let _ = fs::remove_dir_all(&old);
    }
    for stale in stale_stage_dirs(out, files)? {
        fs::remove_dir_all(stale)?;
    }
    Ok(())
}

fn write_file_atomic(path: &Path, content: &str) -> io::Result<()> {
    let tmp = path.with_extension("flowform-new");
    fs::write(&tmp, content)?;
    fs::rename(&tmp, path)
}

fn stale_stage_dirs(out: &Path, files: &Files) -> io::Result<Vec<PathBuf>> {
    let mut stale = Vec::new();
    let Ok(rd) = fs::read_dir(out) else { return Ok(stale) };
    for entry in rd {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || !entry.file_type()?.is_dir() {
            continue;
        }
        let generated = files.keys().any(|k| k.starts_with(&format!("{name}/")));
        if !generated && entry.path().join("template.yaml").exists() {
            stale.push(entry.path());
        }
    }
    stale.sort();
    Ok(stale)
}

/// One difference between `out/` and what the config generates.
#[derive(Debug, PartialEq, Eq)]
pub enum Drift {
    Missing(String),
    Changed { path: String, diff: String },
    Stale(String),
}

/// Compares `out` with `files`. Empty when `out/` is fresh.
pub fn check(out: &Path, files: &Files) -> io::Result<Vec<Drift>> {
    let mut drift = Vec::new();
    for (path, want) in files {
        match fs::read_to_string(out.join(path)) {
            Ok(have) if &have == want => {}
            Ok(have) => {
                let diff = similar::TextDiff::from_lines(&have, want)
                    .unified_diff()
                    .context_radius(2)
                    .header(
                        &format!("{} (on disk)", out.join(path).display()),
                        &format!("{} (generated)", out.join(path).display()),
                    )
                    .to_string();
                drift.push(Drift::Changed { path: path.clone(), diff });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => drift.push(Drift::Missing(path.clone())),
            Err(e) => return Err(e),
        }
    }
    for dir in stale_stage_dirs(out, files)? {
        drift.push(Drift::Stale(dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()));
    }
    // Files inside generated stage directories that flowform would not write.
    let dirs: std::collections::BTreeSet<&str> =
        files.keys().filter_map(|k| k.split_once('/').map(|(d, _)| d)).collect();
    for d in dirs {
        if let Ok(rd) = fs::read_dir(out.join(d)) {
            let mut extra: Vec<String> = rd
                .filter_map(Result::ok)
                .map(|e| format!("{d}/{}", e.file_name().to_string_lossy()))
                .filter(|p| !files.contains_key(p))
                .collect();
            extra.sort();
            drift.extend(extra.into_iter().map(Drift::Stale));
        }
    }
    Ok(drift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_check_is_fresh_and_detects_edits() {
        let dir = std::env::temp_dir().join(format!("flowform-emit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut files = Files::new();
        files.insert("dev/template.yaml".into(), "a: 1\n".into());
        files.insert("old/template.yaml".into(), "x\n".into());
        write(&dir, &files).unwrap();
        files.remove("old/template.yaml");
        write(&dir, &files).unwrap();
        assert!(!dir.join("old").exists(), "stale stage removed");
        assert_eq!(check(&dir, &files).unwrap(), vec![]);
        fs::write(dir.join("dev/template.yaml"), "a: 2\n").unwrap();
        fs::write(dir.join("dev/notes.txt"), "hand-made\n").unwrap();
        let d = check(&dir, &files).unwrap();
        assert!(matches!(&d[0], Drift::Changed { path, .. } if path == "dev/template.yaml"));
        assert_eq!(d[1], Drift::Stale("dev/notes.txt".into()));
        let _ = fs::remove_dir_all(&dir);
    }
}
