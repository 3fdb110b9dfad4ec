//! The configs of the systems this one imports topics from (`imports`), read from beside it.
//!
//! Only the exporter's shape is read ([`super::parse`]): its topics, their `export`, its
//! stages and its system name are what an import needs. Its own references and imports are
//! its own `flowform generate`'s business, so imports never recurse and a cycle of imports
//! is harmless.

use super::{parse, RawConfig, MAX_CONFIG_BYTES};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// An exporting system's config, read.
#[derive(Debug)]
pub struct Exporter {
    /// The path as the importing config writes it (for messages).
    pub file: String,
    pub raw: RawConfig,
}

/// Each `imports` entry's exporter, or why it could not be read.
pub type Exporters = BTreeMap<String, Result<Exporter, String>>;

/// Reads every `imports` entry's file, relative to `base` (the importing config's
/// directory; the current directory when `None`). At most [`MAX_CONFIG_BYTES`] + 1 bytes of
/// a file are read, so any path costs bounded time and memory.
pub fn load(raw: &RawConfig, base: Option<&Path>) -> Exporters {
    raw.imports
        .iter()
        .filter_map(|(name, import)| Some((name.value.clone(), read(base, &import.config.as_ref()?.value))))
        .collect()
}

fn read(base: Option<&Path>, file: &str) -> Result<Exporter, String> {
    if file.trim().is_empty() {
        return Err("`config` is empty: give the path of the exporting system's config file".into());
    }
    let path = base.unwrap_or(Path::new("")).join(file);
    if path.is_dir() {
        return Err(format!("`{file}` is a directory; name the exporting system's config file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&path).and_then(|f| f.take(MAX_CONFIG_BYTES as u64 + 1).read_to_end(&mut bytes)).map_err(
        |e| match base.filter(|b| !b.as_os_str().is_empty()) {
            Some(_) => format!("cannot read `{file}` ({}): {e}", path.display()),
            None => format!("cannot read `{file}`: {e}"),
        },
    )?;
    let text = String::from_utf8(bytes).map_err(|_| format!("`{file}` is not a UTF-8 config"))?;
    let (raw, diags) = parse(&text);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        let s = if errors == 1 { "" } else { "s" };
        return Err(format!("`{file}` has {errors} error{s} (`flowform validate -c {}` shows them)", path.display()));
    }
    Ok(Exporter { file: file.to_string(), raw })
}
