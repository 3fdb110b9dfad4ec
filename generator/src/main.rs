//! The `flowform` command line. Only wiring: the work happens in the library.

use clap::{Parser, Subcommand};
use generator::codes::Code;
use generator::diag::{self, Diagnostic};
use generator::{emit, Failure};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit codes are interface (documented in the README).
mod exit {
    pub const OK: u8 = 0;
    pub const INVALID_CONFIG: u8 = 1;
    pub const STALE: u8 = 2;
    pub const IO: u8 = 3;
    pub const DESTRUCTIVE: u8 = 4;
    pub const BUG: u8 = 70;
}

#[derive(Parser)]
#[command(name = "flowform", version, about = "One config file describing an event-driven AWS system -> reviewable CloudFormation", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Paths {
    /// The system description.
    #[arg(long, short, default_value = "flowform.yaml")]
    config: PathBuf,
    /// Where generated templates go (one directory per stage).
    #[arg(long, short, default_value = "out")]
    out: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the config and write out/<stage>/template.yaml for every stage, beside it
    /// flowform.guard (its invariants as CloudFormation Guard rules) and graph.mmd/.dot.
    /// Writes nothing when the config has errors.
    Generate(Paths),
    /// Exit 2, with a diff, when out/ differs from what the config generates (each template is
    /// also parsed back as YAML, a check `generate` leaves to the tests).
    Check(Paths),
    /// Build every handler the config names for Lambda (cargo zigbuild, glibc 2.34) and
    /// write dist/lambda/<handler>.zip (one `bootstrap`, deterministic bytes).
    Package {
        /// The system description.
        #[arg(long, short, default_value = "flowform.yaml")]
        config: PathBuf,
        /// Where the zips go (the templates' Code paths point here).
        #[arg(long, default_value = "dist/lambda")]
        dist: PathBuf,
        /// Cargo profile of the build.
        #[arg(long, default_value = "dist")]
        profile: String,
        /// cargo-zigbuild to use [default: $FLOWFORM_CARGO_ZIGBUILD, else the one scripts/tools.sh
        /// installed, else cargo-zigbuild on PATH].
        #[arg(long)]
        zigbuild: Option<PathBuf>,
    },
    /// Draw the topology (routes, functions, topics, filtered subscriptions, queues, DLQs,
    /// databases, email, external endpoints). `generate` also writes it to out/<stage>/.
    Graph {
        /// The system description.
        #[arg(long, short, default_value = "flowform.yaml")]
        config: PathBuf,
        #[arg(long, default_value = "dev")]
        stage: String,
        /// mermaid (renders on GitHub) or dot (Graphviz).
        #[arg(long, default_value = "mermaid", value_parser = ["mermaid", "dot"])]
        format: String,
    },
    /// What deploying the current config would do to the stack committed at a git revision:
    /// additions, removals, replacements (and what they mean for data), permission changes in
    /// words, new public routes, weakened encryption or TLS.
    Plan {
        /// The system description.
        #[arg(long, short, default_value = "flowform.yaml")]
        config: PathBuf,
        /// The stage to compare [default: dev, or the config's only stage].
        #[arg(long)]
        stage: Option<String>,
        /// Compare with out/<stage>/template.yaml at this git revision (e.g. the merge base).
        #[arg(long, default_value = "HEAD")]
        base: String,
        /// Compare with this template file instead of a git revision.
        #[arg(long, conflicts_with = "base")]
        before: Option<PathBuf>,
        /// The generated output directory inside the repository.
        #[arg(long, short, default_value = "out")]
        out: PathBuf,
        /// text, markdown (a PR comment) or json (for bots).
        #[arg(long, default_value = "text", value_parser = ["text", "markdown", "json"])]
        format: String,
        /// Exit 4 when a change replaces or removes a stateful resource or weakens encryption/TLS.
        #[arg(long)]
        fail_on_destructive: bool,
    },
    /// Scaffold code for the config. `flowform new handlers` writes a handlers crate (the
    /// config's `handlers_crate`) that compiles as written: one binary per handler reading its
    /// function's wiring from the generated out/bindings.rs, one module per function whose
    /// logic you replace, each with a test of a recorded event of its trigger. Files that exist
    /// are left alone (--force FILE to overwrite one).
    New {
        /// What to scaffold.
        #[arg(value_parser = ["handlers"])]
        what: String,
        /// The system description.
        #[arg(long, short, default_value = "flowform.yaml")]
        config: PathBuf,
        /// The crate's directory [default: handlers/<handlers_crate> beside the config].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The generated output directory (the crate includes its bindings.rs).
        #[arg(long, short, default_value = "out")]
        out: PathBuf,
        /// The flowform-runtime crate the handlers depend on [default: the one of the flowform
        /// checkout this binary was built from].
        #[arg(long)]
        runtime: Option<PathBuf>,
        /// Overwrite this file of the crate (a path relative to it, e.g. src/lib.rs); repeatable.
        #[arg(long)]
        force: Vec<String>,
    },
    /// Print the JSON Schema of flowform.yaml (docs/flowform.schema.json is this output).
    Schema,
    /// Report every problem in the config; write nothing.
    Validate {
        /// The system description.
        #[arg(long, short, default_value = "flowform.yaml")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Generate(p) => generate(&p, true),
        Command::Check(p) => generate(&p, false),
        Command::Package { config, dist, profile, zigbuild } => package(&config, dist, profile, zigbuild),
        Command::Graph { config, stage, format } => match load_and_build(&config) {
            Ok((name, b)) => match b.systems.iter().find(|s| s.stage == stage) {
                Some(sys) => {
                    say(&if format == "dot" { generator::graph::dot(sys) } else { generator::graph::mermaid(sys) });
                    exit::OK
                }
                None => {
                    eprintln!("error: no stage `{stage}` in {name}");
                    exit::INVALID_CONFIG
                }
            },
            Err(code) => code,
        },
        Command::Plan { config, stage, base, before, out, format, fail_on_destructive } => {
            plan(&config, stage.as_deref(), &base, before, &out, &format, fail_on_destructive)
        }
        Command::New { what: _, config, dir, out, runtime, force } => new_handlers(&config, dir, &out, runtime, &force),
        Command::Schema => {
            say(&format!("{}\n", serde_json::to_string_pretty(&generator::schema::json_schema()).unwrap_or_default()));
            exit::OK
        }
        Command::Validate { config } => match load_and_build(&config) {
            Ok((name, b)) => {
                eprintln!("{name}: valid ({} stage{})", b.systems.len(), if b.systems.len() == 1 { "" } else { "s" });
                exit::OK
            }
            Err(code) => code,
        },
    };
    ExitCode::from(code)
}

/// Writes to stdout. A closed pipe (`flowform schema | head -1`) ends the program quietly with
/// success, as Unix tools do; any other write error is an I/O failure.
fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(i32::from(exit::OK));
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(i32::from(exit::IO));
    }
}

/// A file that is not UTF-8: the position of the first bad byte, as a config error.
fn not_utf8(name: &str, bytes: &[u8], e: &std::str::Utf8Error) -> u8 {
    let good = &bytes[..e.valid_up_to()];
    let line = good.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
    let d = Diagnostic::error(
        Code::NotUtf8,
        diag::Span::new(line, col, 1),
        format!("the file is not UTF-8: byte 0x{:02x} at line {line}, column {col}", bytes[e.valid_up_to()]),
    )
    .with_help("flowform reads UTF-8 only: save the file as UTF-8 (most editors: \"Save with encoding\")");
    report(name, &String::from_utf8_lossy(bytes), std::slice::from_ref(&d));
    eprintln!("{name}: 1 error, 0 warnings; nothing was written");
    exit::INVALID_CONFIG
}

fn load(path: &PathBuf) -> Result<(String, String), u8> {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => match std::str::from_utf8(&bytes) {
            // A byte-order mark is not part of the config; stripped here so reports and the
            // parser see the same columns.
            Ok(t) => Ok((name, t.strip_prefix('\u{feff}').unwrap_or(t).to_string())),
            Err(e) => Err(not_utf8(&name, &bytes, &e)),
        },
        Err(e) => {
            eprintln!("error: cannot read {name}: {e}");
            eprintln!("   = help: run flowform in the directory that holds flowform.yaml, or pass --config <file>");
            Err(exit::IO)
        }
    }
}

/// Reads and builds the config; on failure prints the report and gives the exit code.
fn load_and_build(config: &PathBuf) -> Result<(String, generator::Build), u8> {
    load_and_build_with(config, generator::Options::default())
}

fn load_and_build_with(config: &PathBuf, options: generator::Options) -> Result<(String, generator::Build), u8> {
    let (name, text) = load(config)?;
    // Imports are read relative to the config's directory; the headers cite its name.
    let file = generator::Options::of_file(config);
    let options = generator::Options { base: file.base, source: file.source, ..options };
    match generator::build_opts(&text, options) {
        Ok(b) => {
            report(&name, &text, &b.warnings);
            Ok((name, b))
        }
        Err(f) => Err(failure(&name, &text, f)),
    }
}

fn report(name: &str, text: &str, diags: &[Diagnostic]) {
    if !diags.is_empty() {
        eprint!("{}", diag::render(name, text, diags));
    }
}

fn failure(name: &str, text: &str, f: Failure) -> u8 {
    match f {
        Failure::Invalid(d) => {
            report(name, text, &d);
            exit::INVALID_CONFIG
        }
        Failure::Internal(msg) => {
            eprintln!("internal error (a bug in flowform, not in {name}): {msg}");
            eprintln!("   = help: please report it with your config; nothing was written");
            exit::BUG
        }
    }
}

fn generate(p: &Paths, write: bool) -> u8 {
    // FLOWFORM_TIMINGS=1: each phase's wall time on stderr (docs/BENCHMARKS.md).
    let timings = std::env::var_os("FLOWFORM_TIMINGS").is_some_and(|v| v == "1");
    if timings {
        generator::timing::enable();
    }
    let start = std::time::Instant::now();
    let code = generate_timed(p, write);
    if timings {
        let phases: Vec<String> = generator::timing::take()
            .iter()
            .map(|(name, d)| format!("{name} {:.2} ms", d.as_secs_f64() * 1000.0))
            .collect();
        eprintln!("timings: {}; all {:.2} ms", phases.join(", "), start.elapsed().as_secs_f64() * 1000.0);
    }
    code
}

fn generate_timed(p: &Paths, write: bool) -> u8 {
    // `check` (what CI runs) also parses every template back as YAML; `generate` trusts the
    // line scan, which the tests hold to the same verdicts.
    let options = generator::Options { full_verify: !write || cfg!(debug_assertions), ..Default::default() };
    let (name, build) = match load_and_build_with(&p.config, options) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let out = p.out.display();
    if write {
        if let Err(e) = generator::timing::time("write", || emit::write(&p.out, &build.files)) {
            eprintln!("error: cannot write {out}: {e}");
            return exit::IO;
        }
        // A stage's nested templates in one line (there can be a hundred).
        let mut nested: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for f in build.files.keys() {
            match f.split_once('/').filter(|(_, file)| file.starts_with("nested-")) {
                Some((stage, file)) => nested.entry(stage).or_default().push(file),
                None => say(&format!("wrote {out}/{f}\n")),
            }
        }
        for (stage, files) in nested {
            let (first, last) = (files[0], files[files.len() - 1]);
            let range = if files.len() == 1 { first.to_string() } else { format!("{first} .. {last}") };
            say(&format!("wrote {out}/{stage}/{range} ({} nested stacks)\n", files.len()));
        }
        return exit::OK;
    }
    match emit::check(&p.out, &build.files) {
        Ok(drift) if drift.is_empty() => {
            say(&format!("{out}/ is up to date with {name}\n"));
            exit::OK
        }
        Ok(drift) => {
            for d in &drift {
                match d {
                    emit::Drift::Missing(f) => eprintln!("missing: {out}/{f}"),
                    emit::Drift::Stale(f) => eprintln!("not generated by {name}: {out}/{f}"),
                    emit::Drift::Changed { diff, .. } => eprint!("{diff}"),
                }
            }
            eprintln!("{out}/ is stale: run `flowform generate` and commit the result");
            exit::STALE
        }
        Err(e) => {
            eprintln!("error: cannot read {out}: {e}");
            exit::IO
        }
    }
}

fn package(config: &PathBuf, dist: PathBuf, profile: String, zigbuild: Option<PathBuf>) -> u8 {
    let (_, build) = match load_and_build(config) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let Some(sys) = build.systems.first() else { return exit::OK };
    // --zigbuild, else $FLOWFORM_CARGO_ZIGBUILD, else the one scripts/tools.sh installs, else PATH.
    let installed = std::env::var_os("FLOWFORM_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/flowform-tools")))
        .map(|d| d.join("build/bin/cargo-zigbuild"))
        .filter(|p| p.exists());
    let zigbuild = zigbuild
        .or_else(|| std::env::var_os("FLOWFORM_CARGO_ZIGBUILD").map(PathBuf::from))
        .or(installed)
        .unwrap_or_else(|| PathBuf::from("cargo-zigbuild"));
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    let config_dir = config.parent().map(Path::to_path_buf).unwrap_or_default();
    let manifest = generator::package::own_workspace(&config_dir, &sys.handlers_crate);
    let opts = generator::package::Options {
        manifest,
        crate_name: sys.handlers_crate.clone(),
        profile,
        dist,
        zigbuild,
        target_dir,
        config_dir,
    };
    match generator::package::run(&build.systems, &opts, &mut |line| eprintln!("package: {line}")) {
        Ok(zips) => {
            eprintln!("package: {} zip{} ready", zips.len(), if zips.len() == 1 { "" } else { "s" });
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::IO
        }
    }
}

/// `path` (relative to the current directory) as committed at `base`: `None` when that revision
/// does not have it; an error when `base` is not a revision or this is not a git checkout (a
/// plan against nothing would call every resource new and pass `--fail-on-destructive`).
fn committed(base: &str, path: &str) -> Result<Option<String>, String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git").args(args).output().map_err(|e| format!("cannot run git: {e}"))
    };
    let rev = git(&["rev-parse", "--verify", "--quiet", &format!("{base}^{{commit}}")])?;
    if !rev.status.success() {
        let why = git(&["rev-parse", "--git-dir"])?;
        return Err(if why.status.success() {
            format!("`{base}` is not a revision of this repository (--base)")
        } else {
            "not inside a git checkout: plan compares with the committed out/ (or pass --before FILE)".to_string()
        });
    }
    // `./` makes the path relative to the current directory, as the user typed it.
    let spec = format!("{base}:./{path}");
    if !git(&["cat-file", "-e", &spec])?.status.success() {
        return Ok(None);
    }
    let shown = git(&["show", &spec])?;
    if !shown.status.success() {
        return Err(format!("git show {spec}: {}", String::from_utf8_lossy(&shown.stderr).trim()));
    }
    Ok(Some(String::from_utf8_lossy(&shown.stdout).into_owned()))
}

fn plan(
    config: &PathBuf,
    stage: Option<&str>,
    base: &str,
    before: Option<PathBuf>,
    out: &std::path::Path,
    format: &str,
    fail: bool,
) -> u8 {
    let (name, build) = match load_and_build(config) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Without --stage: `dev`, or the only stage; said on stderr, so a plan of the wrong stage
    // is never taken for the right one.
    let stages: Vec<&str> = build.systems.iter().map(|s| s.stage.as_str()).collect();
    let stage = match stage {
        Some(s) => s,
        None => {
            let chosen = if stages.len() == 1 { stages[0] } else { "dev" };
            let others: Vec<&str> = stages.iter().copied().filter(|s| *s != chosen).collect();
            if !others.is_empty() {
                eprintln!("plan: stage `{chosen}` (--stage {} for another)", others.join(" | "));
            }
            chosen
        }
    };
    let Some(after) = build.files.get(&format!("{stage}/template.yaml")) else {
        eprintln!("error: no stage `{stage}` in {name}");
        return exit::INVALID_CONFIG;
    };
    let rel = format!("{}/{stage}/template.yaml", out.display());
    let (before_text, what) = match &before {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => (t, p.display().to_string()),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", p.display());
                return exit::IO;
            }
        },
        None => match committed(base, &rel) {
            Ok(Some(text)) => (text, format!("{rel} at {base}")),
            Ok(None) => {
                // Not in that revision (a new stage or a first commit): everything is new.
                eprintln!("plan: {rel} does not exist at {base}: every resource is new");
                ("Resources: {}\n".to_string(), format!("{rel} (absent at {base})"))
            }
            Err(e) => {
                eprintln!("error: {e}");
                return exit::IO;
            }
        },
    };
    // A stage split into nested stacks is read whole: its root and the nested templates the
    // root names, from the same place (the built files; beside `--before`; the same revision).
    let after_stage = generator::split::read_stage(after, |f| {
        build.files.get(&format!("{stage}/{f}")).cloned().ok_or_else(|| format!("{f} was not generated"))
    });
    let before_dir = before.as_ref().map(|p| p.parent().unwrap_or(Path::new(".")).to_path_buf());
    let before_stage = generator::split::read_stage(&before_text, |f| match &before_dir {
        Some(dir) => std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{}: {e}", dir.join(f).display())),
        None => match committed(base, &format!("{}/{stage}/{f}", out.display())) {
            Ok(Some(text)) => Ok(text),
            Ok(None) => Err(format!("{f} does not exist at {base}")),
            Err(e) => Err(e),
        },
    });
    let (b, a) = match (before_stage, after_stage) {
        (Ok(b), Ok(a)) => (b, a),
        (Err(e), _) => {
            eprintln!("error: {what} {e}; pass out/<stage>/template.yaml");
            return exit::IO;
        }
        (_, Err(e)) => {
            eprintln!("error: the generated template of stage `{stage}` {e}");
            return exit::IO;
        }
    };
    if let (Some(x), Some(y)) = (generator::plan::stack_prefix(&b.template), generator::plan::stack_prefix(&a.template))
    {
        if x != y {
            eprintln!("warning: {what} is the template of `{x}`, compared here with `{y}` (--stage {stage})");
        }
    }
    let p = generator::plan::plan_stage(&b, &a);
    match format {
        "json" => say(&format!("{}\n", serde_json::to_string_pretty(&p).unwrap_or_default())),
        "markdown" => {
            say(&generator::plan::markdown(&p, &format!("flowform plan: stage `{stage}` ({what} -> {name})")))
        }
        _ => say(&generator::plan::text(&p)),
    }
    if fail && p.destructive() {
        eprintln!("plan: destructive changes (see the lines marked !); acknowledge them before merging");
        return exit::DESTRUCTIVE;
    }
    exit::OK
}

/// A path from directory `from` to `to` (both absolute and normalised): `../../out/bindings.rs`.
fn relative(from: &Path, to: &Path) -> String {
    let (f, t): (Vec<_>, Vec<_>) = (from.components().collect(), to.components().collect());
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    if common <= 1 {
        return to.display().to_string(); // only `/` in common: the absolute path reads better
    }
    let mut parts: Vec<String> = vec!["..".to_string(); f.len() - common];
    parts.extend(t[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    parts.join("/")
}

fn new_handlers(config: &PathBuf, dir: Option<PathBuf>, out: &Path, runtime: Option<PathBuf>, force: &[String]) -> u8 {
    let (_, build) = match load_and_build(config) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let Some(sys) = build.systems.first() else { return exit::INVALID_CONFIG };
    let config_dir = config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = dir.unwrap_or_else(|| config_dir.join("handlers").join(&sys.handlers_crate));
    let runtime = runtime.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../handlers/runtime"));
    let io = |what: &str, e: std::io::Error| {
        eprintln!("error: {what}: {e}");
        exit::IO
    };
    let runtime = match runtime.canonicalize() {
        Ok(r) if r.join("Cargo.toml").exists() => r,
        _ => {
            eprintln!("error: no flowform-runtime crate at {}: pass --runtime <its directory>", runtime.display());
            return exit::IO;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return io(&format!("cannot create {}", dir.display()), e);
    }
    let (Ok(abs_dir), Ok(cwd)) = (dir.canonicalize(), std::env::current_dir()) else {
        eprintln!("error: cannot resolve {}", dir.display());
        return exit::IO;
    };
    let bindings = cwd.join(out).join("bindings.rs");
    // The runtime lives outside the project: its absolute path survives moving the project.
    let layout = generator::tools::scaffold::Layout {
        bindings: relative(&abs_dir, &bindings),
        runtime: runtime.display().to_string(),
    };
    let files = match generator::tools::scaffold::files(sys, &layout) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID_CONFIG;
        }
    };
    if let Some(unknown) = force.iter().find(|f| !files.contains_key(f.as_str())) {
        eprintln!(
            "error: --force {unknown}: the scaffold has no such file (it writes {})",
            files.keys().cloned().collect::<Vec<_>>().join(", ")
        );
        return exit::IO;
    }
    let (mut wrote, mut kept) = (0, 0);
    for (rel, content) in &files {
        let path = dir.join(rel);
        if path.exists() && !force.iter().any(|f| f == rel) {
            eprintln!("kept {} (exists; --force {rel} overwrites it)", path.display());
            kept += 1;
            continue;
        }
        if let Some(parent) = path.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                return io(&format!("cannot create {}", parent.display()), e);
            }
        }
        if let Err(e) = std::fs::write(&path, content) {
            return io(&format!("cannot write {}", path.display()), e);
        }
        eprintln!("wrote {}", path.display());
        wrote += 1;
    }
    eprintln!("new handlers: {wrote} written, {kept} kept, in {}", dir.display());
    // A kept lib.rs written for fewer functions: say which modules it must declare.
    if let Ok(lib) = std::fs::read_to_string(dir.join("src/lib.rs")) {
        let wanted = files.get("src/lib.rs").map(String::as_str).unwrap_or_default();
        let missing: Vec<&str> =
            wanted.lines().filter(|l| l.starts_with("pub mod ") && !lib.lines().any(|k| k.trim() == *l)).collect();
        if !missing.is_empty() {
            let lines = missing.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ");
            eprintln!("warning: the kept src/lib.rs lacks {lines}: add them (or pass --force src/lib.rs), else the new functions' binaries do not build");
        }
    }
    if !bindings.exists() {
        eprintln!("next: `flowform generate` writes {} (the crate includes it), then `cargo test --manifest-path {}/Cargo.toml`", bindings.display(), dir.display());
    } else {
        eprintln!("next: `cargo test --manifest-path {}/Cargo.toml`", dir.display());
    }
    exit::OK
}
