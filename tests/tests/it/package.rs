//! The Lambda artifacts `flowform package` builds (scripts/test.sh runs it before the tests):
//! one zip per handler, holding only `bootstrap` (mode 0755), under 5 MB, runnable on Amazon
//! Linux 2023 (no glibc symbol newer than 2.34), and byte-for-byte reproducible from the binary.

use std::io::Read as _;
use std::process::Command;
use tests::{root, run};

struct Entry {
    name: String,
    mode: u32,
    data: Vec<u8>,
}

/// Reads a single-entry deflate zip (what `flowform package` writes) with its mode.
fn read_zip(z: &[u8]) -> Entry {
    let u16at = |o: usize| u16::from_le_bytes([z[o], z[o + 1]]);
    let u32at = |o: usize| u32::from_le_bytes([z[o], z[o + 1], z[o + 2], z[o + 3]]);
    let eocd = z.len() - 22;
    assert_eq!(u32at(eocd), 0x0605_4b50, "end of central directory");
    assert_eq!(u16at(eocd + 10), 1, "exactly one entry");
    let cd = u32at(eocd + 16) as usize;
    assert_eq!(u32at(cd), 0x0201_4b50);
    let mode = u32at(cd + 38) >> 16;
    let name_len = u16at(cd + 28) as usize;
    let name = String::from_utf8(z[cd + 46..cd + 46 + name_len].to_vec()).unwrap();
    assert_eq!(u16at(10), 0, "fixed DOS time");
    assert_eq!(u16at(12), 0x21, "fixed DOS date 1980-01-01");
    let csize = u32at(18) as usize;
    let start = 30 + u16at(26) as usize + u16at(28) as usize;
    let mut data = Vec::new();
    flate2::read::DeflateDecoder::new(&z[start..start + csize]).read_to_end(&mut data).unwrap();
    assert_eq!(crc32fast::hash(&data), u32at(14), "CRC");
    Entry { name, mode, data }
}

fn glibc_floor(bin: &std::path::Path) -> String {
    let (code, out, err) = run(Command::new("objdump").arg("-T").arg(bin));
    assert_eq!(code, 0, "objdump: {err}");
    let mut versions: Vec<Vec<u32>> = out
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter_map(|w| w.strip_prefix("GLIBC_"))
        .map(|v| v.split('.').filter_map(|p| p.parse().ok()).collect())
        .collect();
    versions.sort();
    versions.last().map(|v| v.iter().map(u32::to_string).collect::<Vec<_>>().join(".")).unwrap_or_default()
}

#[test]
fn every_handler_zip_is_small_reproducible_and_al2023_compatible() {
    let text = std::fs::read_to_string(root().join("flowform.yaml")).unwrap();
    let b = generator::build(&text).unwrap();
    let plan = generator::package::plan(&b.systems).unwrap();
    let handlers: std::collections::BTreeSet<&str> =
        b.systems.iter().flat_map(|s| s.functions.iter().map(|f| f.handler.as_str())).collect();
    assert_eq!(plan.len(), handlers.len(), "one zip per handler of the config");
    assert_eq!(plan.len(), 8);
    let scratch = std::env::temp_dir().join(format!("flowform-package-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    for handler in plan.keys() {
        let path = root().join("dist/lambda").join(format!("{handler}.zip"));
        let zip = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; `scripts/test.sh` builds the zips with `flowform package` before the tests",
                path.display()
            )
        });
        assert!(zip.len() < 5_000_000, "{handler}.zip is {} bytes; the budget is 5 MB", zip.len());
        let e = read_zip(&zip);
        assert_eq!(e.name, "bootstrap");
        assert_eq!(e.mode, 0o100_755, "{handler}: bootstrap must be an executable file");
        assert_eq!(&e.data[..4], b"\x7fELF", "{handler}: bootstrap is an ELF binary");
        assert_eq!(u16::from_le_bytes([e.data[18], e.data[19]]), 62, "{handler}: x86-64 (EM_X86_64)");
        assert_eq!(
            generator::package::zip_bootstrap(&e.data),
            zip,
            "{handler}: the zip is not reproducible from its binary"
        );
        let bin = scratch.join(handler);
        std::fs::write(&bin, &e.data).unwrap();
        let floor = glibc_floor(&bin);
        let parts: Vec<u32> = floor.split('.').map(|p| p.parse().unwrap()).collect();
        assert!(parts <= vec![2, 34], "{handler} needs GLIBC_{floor}; Amazon Linux 2023 has 2.34");
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
