//! Any input ends in a template or in diagnostics: never a panic, never an internal error,
//! never more than [`MEMORY_BOUND`] of memory for one build (#10). Inputs are configs
//! generated from the schema table (every key, with values of the right type in and out of
//! range, of the wrong type, names that clash or dangle, references to what exists), the same
//! with byte-level mutations, and the corpus and fixture files mutated.
//!
//! `FLOWFORM_FUZZ_CASES=<n>` runs n inputs instead of the default 5,000 (about 20 s in a
//! debug build); the seed is fixed, so a failure names a case that reproduces.
//! docs/BENCHMARKS.md records a run of 200,000.

use generator::schema::{object, T};
use generator::Failure;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use tests::Rng;

/// Most heap one build of one input may hold at once (inputs here are at most a few KiB;
/// the loader refuses files over 1 MiB before reading them).
const MEMORY_BOUND: isize = 64 << 20;

/// The system allocator, counting each thread's live bytes and their peak, so a test can
/// measure what one call holds at most.
pub struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call forwards to `System` with the same arguments; the counters are
// thread-local `Cell`s with const initialisers (no allocation, no destructor).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Runs `f`, returning its result and the most heap it held above what was live before.
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, isize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let r = f();
    (r, PEAK.with(Cell::get) - start)
}

/// Names the generated configs use, so references often resolve, sometimes clash
/// (`a_b` / `a-b`), and sometimes break the rules.
const NAMES: &[&str] =
    &["a", "b", "orders", "a_b", "a-b", "alarms", "a_dlq", "x.fifo", "B", "9z", "dev", "long_name_of_a_thing"];
/// Strings for free-text and other string keys.
const STRINGS: &[&str] = &[
    "a",
    "orders",
    "GET /x",
    "POST /factory/callback",
    "GET /a-b",
    "rate(1 hour)",
    "cron(0 12 * * ? *)",
    "rate(0 minutes)",
    "https://factory.example.com",
    "https://id.example.com/pool",
    "http://",
    "ads@donut.example.com",
    "donut.example.com",
    "x86_64",
    "arm64",
    "public",
    "iam",
    "signed",
    "jwt",
    "mysql",
    "body",
    "attributes",
    "${x}",
    "{{resolve:ssm:a}}",
    "",
    "\u{feff}",
    "é",
];

/// The generator: its random source, and whether the config being drawn is *tame* (every
/// value of its key's type and in range, so what can refuse it is how the parts fit
/// together; about a third of the configs, else few would ever build).
struct Gen(Rng, bool);

impl Gen {
    fn name(&mut self) -> String {
        // A tame config draws from the names that follow the naming rules (the first five).
        let names = if self.1 { &NAMES[..5] } else { NAMES };
        self.0.pick(names).to_string()
    }

    /// A YAML value (flow style) for a key of type `ty`, at nesting `depth`.
    fn value(&mut self, ty: T, depth: usize) -> String {
        if (!self.1 && self.0.chance(4)) || depth > 6 {
            return self.wrong();
        }
        match ty {
            T::Str => self.string(),
            // Log retention takes CloudWatch's values only.
            T::Int(1, 3653) if self.1 => {
                let days = generator::schema::LOG_RETENTION_DAYS;
                days[self.0.below(days.len())].to_string()
            }
            T::Int(min, max) if self.1 => (min + self.0.next_u64() % (max - min + 1).max(1)).to_string(),
            T::Int(min, max) => match self.0.below(6) {
                0 => min.to_string(),
                1 => max.to_string(),
                2 => min.saturating_sub(1).to_string(),
                3 => max.saturating_add(1).to_string(),
                4 => format!("\"{}\"", min),
                _ => (min + self.0.next_u64() % (max - min + 1).max(1)).to_string(),
            },
            T::Bool if self.1 => self.0.pick(&["true", "false"]).to_string(),
            T::Bool => self.0.pick(&["true", "false", "yes", "1"]).to_string(),
            T::StrList => self.list(|g| g.name()),
            T::Enum(values) => {
                if self.1 || self.0.chance(80) {
                    self.0.pick(values).to_string()
                } else {
                    "other".into()
                }
            }
            T::Obj(o) => self.object(o, depth + 1),
            T::Named(o) => {
                // Distinct names: a key written twice is E006 before anything else is read
                // (the corpus and the mutations cover it), and would refuse most configs.
                let n = self.0.below(4);
                let mut names: Vec<String> = (0..n).map(|_| self.name()).collect();
                names.sort();
                names.dedup();
                let entries: Vec<String> =
                    names.into_iter().map(|name| format!("{name}: {}", self.object(o, depth + 1))).collect();
                format!("{{ {} }}", entries.join(", "))
            }
            T::SubList => self.list(|g| {
                if g.0.chance(50) {
                    g.name()
                } else {
                    let filter = if g.0.chance(50) { format!(", filter: {}", g.filter()) } else { String::new() };
                    format!("{{ topic: {}{filter} }}", g.name())
                }
            }),
            T::Env => {
                let keys = ["A", "FLAG", "AWS_X", "TOKEN", "ok_lower", "X1"];
                let n = self.0.below(3);
                let mut names: Vec<&str> = (0..n).map(|_| self.0.pick(&keys)).collect();
                names.sort();
                names.dedup();
                let entries: Vec<String> = names.into_iter().map(|k| format!("{k}: {}", self.string())).collect();
                format!("{{ {} }}", entries.join(", "))
            }
            T::Filter => self.filter(),
            T::FalseOr(o) => match self.0.below(3) {
                0 => "false".into(),
                1 => "true".into(),
                _ => self.object(o, depth + 1),
            },
        }
    }

    fn string(&mut self) -> String {
        let s = if self.0.chance(50) { self.name() } else { self.0.pick(STRINGS).to_string() };
        serde_json::to_string(&s).unwrap()
    }

    fn list(&mut self, mut item: impl FnMut(&mut Self) -> String) -> String {
        let n = self.0.below(4);
        let items: Vec<String> = (0..n).map(|_| item(self)).collect();
        format!("[{}]", items.join(", "))
    }

    fn filter(&mut self) -> String {
        let values = [
            "[1]",
            "[a, b]",
            "[{ numeric: [\">=\", 100] }]",
            "[{ prefix: x }]",
            "[{ bogus: 1 }]",
            "[]",
            "{ nested: [1] }",
            "x",
        ];
        let n = 1 + self.0.below(6);
        let entries: Vec<String> = (0..n).map(|i| format!("k{i}: {}", self.0.pick(&values))).collect();
        format!("{{ {} }}", entries.join(", "))
    }

    /// A value of some other shape than asked for.
    fn wrong(&mut self) -> String {
        self.0
            .pick(&["[]", "{}", "[1, 2]", "{ x: 1 }", "\"\"", "null", "~", "-1", "1.5", "18446744073709551616"])
            .to_string()
    }

    /// A mapping with a random subset of the keys of schema object `o` (and sometimes a key
    /// it does not take).
    fn object(&mut self, o: &str, depth: usize) -> String {
        let mut entries = Vec::new();
        for k in object(o) {
            // A function's `stack` needs `nested_stacks` (E004 without), a topic's `import` an
            // `imports` entry whose file reads: rarer, so enough configs still build. An
            // `export` names systems, which random text rarely is.
            let chance = match (o, k.name) {
                (_, "stack" | "import") | ("topic", "topic") => 3,
                (_, "export") => 15,
                _ => 45,
            };
            if self.0.chance(chance) {
                entries.push(format!("{}: {}", k.name, self.value(k.ty, depth)));
            }
        }
        if self.0.chance(5) {
            let key = self.0.pick(&["unknown", "batch_size", "filter", "timeout", "fifo"]);
            if !entries.iter().any(|e| e.starts_with(&format!("{key}:"))) {
                entries.push(format!("{key}: 1"));
            }
        }
        format!("{{ {} }}", entries.join(", "))
    }

    /// A whole config: usually with the required keys, in block style at the top.
    fn config(&mut self) -> String {
        self.1 = self.0.chance(30);
        let mut out = String::new();
        if self.0.chance(95) {
            out.push_str("version: 1\n");
        }
        if self.0.chance(95) {
            out.push_str("system: s\n");
        }
        if self.0.chance(90) {
            out.push_str(if self.0.chance(50) { "stages: { dev: {} }\n" } else { "stages: { dev: {}, prod: {} }\n" });
        }
        for k in object("config") {
            // Authorizers are refused more often than not (an https issuer, an audience) and
            // only `auth: jwt` routes use them: rarer, so enough configs still build.
            // `nested_stacks` is out of range in half its draws (0, 201, a string): rarer too.
            // `imports` names files that do not exist (E039) but in rare draws.
            let chance = match k.name {
                "authorizers" | "nested_stacks" => 25,
                "imports" => 5,
                _ => 60,
            };
            if !matches!(k.name, "version" | "system" | "stages") && self.0.chance(chance) {
                out.push_str(&format!("{}: {}\n", k.name, self.value(k.ty, 0)));
            }
        }
        out
    }

    /// Byte-level damage: flips, cuts, duplications and YAML-significant insertions.
    fn mutate(&mut self, text: &str) -> String {
        let mut b = text.as_bytes().to_vec();
        for _ in 0..1 + self.0.below(3) {
            let at = self.0.below(b.len() + 1);
            match self.0.below(5) {
                0 if at < b.len() => {
                    b[at] = self.0.pick(&[":", " ", "-", "[", "}", "\t", "\"", "*", "&", "!", "#", "\n"]).as_bytes()[0]
                }
                1 => {
                    let end = (at + self.0.below(40)).min(b.len());
                    b.drain(at..end);
                }
                2 => {
                    let end = (at + self.0.below(80)).min(b.len());
                    let copy = b[at..end].to_vec();
                    b.splice(at..at, copy);
                }
                _ => {
                    let piece = self.0.pick(&[
                        "---\n", "&a ", "*a", "<<: ", "!Ref ", "\u{feff}", "[[[[", "{ a: ", "\n  - ", "\r\n", "\0",
                        "\u{2028}", "? ",
                    ]);
                    b.splice(at..at, piece.bytes());
                }
            }
        }
        String::from_utf8_lossy(&b).into_owned()
    }
}

#[test]
fn any_input_ends_in_a_template_or_diagnostics_within_bounded_memory() {
    let cases: u64 = std::env::var("FLOWFORM_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(5_000);
    let mut seeds: Vec<String> = Vec::new();
    for dir in ["tests/corpus/invalid", "tests/corpus/warnings", "tests/fixtures"] {
        for e in std::fs::read_dir(tests::root().join(dir)).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "yaml") {
                seeds.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    seeds.push(std::fs::read_to_string(tests::root().join("flowform.yaml")).unwrap());
    seeds.sort();
    let fixtures = tests::root().join("tests/fixtures");
    let mut g = Gen(Rng(0x9e37_79b9_7f4a_7c15), false);
    let mut failures = Vec::new();
    let (mut built, mut refused, mut peak_max) = (0u64, 0u64, 0isize);
    for case in 0..cases {
        let text = match case % 4 {
            0 | 1 => g.config(),
            2 => {
                let c = g.config();
                g.mutate(&c)
            }
            _ => {
                let seed = &seeds[g.0.below(seeds.len())];
                g.mutate(seed)
            }
        };
        // Imports are read beside the fixtures, so a mutated `shipping.yaml` can still build.
        let options = generator::Options { base: Some(&fixtures), ..Default::default() };
        let (result, peak) = peak_of(|| std::panic::catch_unwind(|| generator::build_opts(&text, options)));
        peak_max = peak_max.max(peak);
        let problem = match result {
            Err(panic) => Some(format!(
                "panic: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or(panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
            Ok(Err(Failure::Internal(m))) => Some(format!("internal error: {m}")),
            Ok(Ok(_)) => {
                built += 1;
                None
            }
            Ok(Err(Failure::Invalid(_))) => {
                refused += 1;
                None
            }
        };
        let problem = problem.or((peak > MEMORY_BOUND).then(|| format!("held {} MiB", peak >> 20)));
        if let Some(p) = problem {
            failures.push(format!("case {case}: {p}\n--- input ---\n{text}\n---"));
            if failures.len() >= 5 {
                break;
            }
        }
        if (case + 1) % 50_000 == 0 {
            // Long runs report as they go, so a run cut short still says how far it got.
            eprintln!(
                "fuzz: {} inputs so far: {built} built, {refused} refused, {} failed; most heap {} KiB",
                case + 1,
                failures.len(),
                peak_max >> 10
            );
        }
    }
    println!("{cases} inputs: {built} built, {refused} refused; most heap held by one build: {} KiB", peak_max >> 10);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        built > cases / 200 && refused > cases / 2,
        "the generator must reach both outcomes: {built} built, {refused} refused"
    );
}
