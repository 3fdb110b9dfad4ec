//! flowform: one config file describing an event-driven AWS system -> reviewable,
//! deterministic CloudFormation.
//!
//! Pipeline: [`config`] (spanned YAML) -> [`validate`] (model + every diagnostic) ->
//! [`cfn`] (view model: names, ARNs, IAM, derived values) -> [`render`] (Tera) ->
//! [`verify`] (parse back) -> [`emit`] (atomic write / freshness check). [`schema`] is the
//! config's key table (keys, types, ranges, defaults) the parser reads; [`codes`] the
//! diagnostic codes. Beside the pipeline, [`tools`]: `plan`, `graph`, `package`.
//!
//! I/O happens in three places only: [`emit`] (writes out/ atomically, or compares it),
//! [`tools::package`] (runs cargo, writes zips) and [`config::imports`] (reads the configs
//! this one imports topics from). [`build`] is a pure function of the config text and those
//! files.

pub mod cfn;
pub mod codes;
pub mod config;
pub mod diag;
pub mod emit;
pub mod ids;
pub mod model;
pub mod quotas;
pub mod render;
pub mod schema;
pub mod split;
pub mod synthetic;
pub mod timing;
pub mod tools;
pub mod validate;
pub mod verify;

pub use tools::{graph, package, plan};

use crate::codes::Code;
use diag::Diagnostic;
use emit::Files;
use std::collections::BTreeMap;

/// The result of a successful build: every file for `out/`, and the warnings.
#[derive(Debug)]
pub struct Build {
    pub files: Files,
    pub systems: Vec<model::System>,
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug)]
pub enum Failure {
    /// The config is wrong: the diagnostics say where and why.
    Invalid(Vec<Diagnostic>),
    /// flowform produced something it could not verify: a bug in flowform.
    Internal(String),
}

/// Config text -> generated files. Nothing is written; the caller decides. Imports are read
/// relative to the current directory ([`Options::base`] says otherwise).
pub fn build(text: &str) -> Result<Build, Failure> {
    build_opts(text, Options::default())
}

/// [`build`] of the config file at `path`: its imports are read relative to its directory,
/// and the generated files cite its name.
pub fn build_file(path: &std::path::Path, text: &str) -> Result<Build, Failure> {
    build_opts(text, Options::of_file(path))
}

/// [`build`] with explicit options.
pub fn build_opts(text: &str, options: Options) -> Result<Build, Failure> {
    // The templates compile on a second thread while the config is read, checked and lowered.
    std::thread::scope(|scope| {
        let templates = scope.spawn(|| timing::time("templates", render::Renderer::new));
        let front = front(text, options);
        let renderer = timing::time("templates (waited for)", || templates.join())
            .map_err(|_| Failure::Internal("compiling the templates panicked".into()))?
            .map_err(|e| Failure::Internal(format!("templates do not compile: {}", e.0)))?;
        back(&renderer, front?, options)
    })
}

/// Knobs of a build. The default is what `flowform generate` uses.
#[derive(Clone, Copy, Debug)]
pub struct Options<'a> {
    /// Check the stack quotas ([`quotas`]: 500 resources, 200 outputs, ...). Benchmarks turn
    /// it off to measure how generation scales past what one stack can deploy.
    pub quotas: bool,
    /// Also parse each rendered template back as YAML ([`verify::verify`]) and require the
    /// same verdict as the line scan ([`verify::scan`]) every build runs. On in debug builds
    /// (every test) and in `flowform check`; a release `generate` trusts the scan.
    pub full_verify: bool,
    /// The directory `imports` paths are relative to: the config file's (`None`: the current
    /// directory).
    pub base: Option<&'a std::path::Path>,
    /// The config file's name, cited in the generated files' headers (`None`:
    /// [`model::CONFIG_FILE`]).
    pub source: Option<&'a str>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options { quotas: true, full_verify: cfg!(debug_assertions), base: None, source: None }
    }
}

impl<'a> Options<'a> {
    /// The default options for the config file at `path`.
    pub fn of_file(path: &'a std::path::Path) -> Self {
        Options { base: path.parent(), source: path.file_name().and_then(|n| n.to_str()), ..Options::default() }
    }
}

/// Logical IDs that two things of the config both produce, once per producer over all stages,
/// at the producer whose ID it is most specifically (queue `a_dead_letter` rather than queue
/// `a` for `ADeadLetterQueue`). Producers are the config's names (an ID starts with the
/// PascalCase name) and HTTP routes (`GET /a-b` and `GET /a_b` are both `GetAB...`).
fn id_clashes(raw: &config::RawConfig, views: &[cfn::StackView]) -> Vec<Diagnostic> {
    let mut producers: Vec<(String, String, diag::Span)> =
        raw.names().map(|n| (ids::pascal(&n.value), format!("`{}`", n.value), n.span)).collect();
    for (_, f) in &raw.functions {
        if let Some(config::Sp { value: config::RawTrigger::Http { routes, .. }, .. }) = &f.trigger {
            for r in routes {
                let (method, path) = r.value.split_once(' ').unwrap_or((&r.value, ""));
                producers.push((ids::route_id(method, path.trim()), format!("route `{}`", r.value), r.span));
            }
        }
    }
    // A renamed entry's IDs are made of its `renamed_from`: a clash is reported there.
    let renamed = (raw.topics.iter().map(|(n, t)| (n, t.renamed_from.as_ref())))
        .chain(raw.queues.iter().map(|(n, q)| (n, q.renamed_from.as_ref())))
        .chain(raw.functions.iter().map(|(n, f)| (n, f.renamed_from.as_ref())));
    for (name, old) in renamed.filter_map(|(n, o)| Some((n, o?))) {
        producers.push((
            ids::pascal(&old.value),
            format!("`{}` (`renamed_from: {}`)", name.value, old.value),
            old.span,
        ));
    }
    let mut by_producer: BTreeMap<diag::Span, (String, Vec<String>, Vec<cfn::LogicalId>)> = BTreeMap::new();
    for id in views.iter().flat_map(cfn::clashing_ids) {
        let mut owners: Vec<&(String, String, diag::Span)> =
            producers.iter().filter(|(p, _, _)| id.as_str().starts_with(p.as_str())).collect();
        owners.sort_by_key(|(p, _, span)| std::cmp::Reverse((p.len(), *span)));
        let (at, what) = owners.first().map_or((raw.top, "the config".to_string()), |(_, w, s)| (*s, w.clone()));
        let others = owners.iter().skip(1).map(|(_, w, s)| format!("{w} (line {})", s.line)).collect();
        let entry = by_producer.entry(at).or_insert_with(|| (what, others, Vec::new()));
        if !entry.2.contains(&id) {
            entry.2.push(id);
        }
    }
    by_producer
        .into_iter()
        .map(|(at, (what, others, mut ids))| {
            ids.sort();
            let list = ids.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ");
            let s = if ids.len() == 1 { "" } else { "s" };
            let example = if what.starts_with("route") {
                "IDs keep only the letters and digits of a route: `GET /a-b` and `GET /a_b` are both `GetABRoute`"
            } else {
                "e.g. queue `a_dead_letter` and the dead-letter queue of queue `a` are both `ADeadLetterQueue`"
            };
            Diagnostic::error(
                Code::Duplicate,
                at,
                format!("{what} produces logical ID{s} {list}, which something else in the config also produces"),
            )
            .with_help(if others.is_empty() {
                format!("rename it: {example}")
            } else {
                format!("rename it or {}: {example}", others.join(", "))
            })
        })
        .collect()
}

/// The line scan's verdict on one rendered template (and, with `full_verify`, the YAML
/// verifier's, which must agree); a failure is flowform's bug.
fn verified(text: &str, stage: &str, what: &str, limit: usize, options: Options) -> Result<(), Failure> {
    let verdict = timing::time("verify (scan)", || verify::scan(text, limit).map(|_| ()));
    if options.full_verify {
        let full = timing::time("verify (YAML)", || verify::verify(text, limit).map(|_| ()));
        if full.is_ok() != verdict.is_ok() {
            return Err(Failure::Internal(format!(
                "stage {stage}, {what}: the line scan and the YAML verifier disagree: scan {verdict:?}, YAML {full:?}"
            )));
        }
    }
    verdict.map_err(|problems| {
        Failure::Internal(format!(
            "stage {stage}, {what}: generated template failed verification:\n  {}",
            problems.join("\n  ")
        ))
    })
}

/// [`build`] with a prepared renderer (benchmarks reuse one) and explicit options.
pub fn build_with(renderer: &render::Renderer, text: &str, options: Options) -> Result<Build, Failure> {
    back(renderer, front(text, options)?, options)
}

/// What the checks before rendering leave: the config, each stage's model and lowered view,
/// and the warnings.
struct Front {
    raw: config::RawConfig,
    systems: Vec<model::System>,
    views: Vec<cfn::StackView>,
    warnings: Vec<Diagnostic>,
}

/// `f` on each item, on one thread per item when there are several (stages), results in
/// item order. A panic on a thread is flowform's bug, reported as such.
fn each_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Result<Vec<R>, Failure> {
    if items.len() < 2 {
        return Ok(items.iter().map(&f).collect());
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = items.iter().map(|item| scope.spawn(|| f(item))).collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| Failure::Internal("a stage's thread panicked".into())))
            .collect()
    })
}

/// Parse, validate, lower each stage (in parallel) and check its quotas, and the logical-ID
/// clashes across stages: every diagnostic with a config position.
fn front(text: &str, options: Options) -> Result<Front, Failure> {
    let (raw, mut diags) = timing::time("parse", || config::parse(text));
    let parsed_ok = !diags.iter().any(Diagnostic::is_error) || raw.system.is_some();
    let mut systems = Vec::new();
    if parsed_ok {
        let exporters = timing::time("imports", || config::imports::load(&raw, options.base));
        let (s, more) = timing::time("validate", || validate::validate(&raw, &exporters));
        diags.extend(more);
        systems = s;
        if let Some(source) = options.source {
            systems.iter_mut().for_each(|sys| sys.source = source.to_string());
        }
    }
    let mut views = Vec::new();
    if !diags.iter().any(Diagnostic::is_error) {
        let lowered = each_parallel(&systems, |sys| {
            let view = timing::time("lower", || cfn::lower(sys));
            let checked =
                if options.quotas { timing::time("quotas", || quotas::check(&raw, &view)) } else { Vec::new() };
            (view, checked)
        })?;
        for (view, checked) in lowered {
            diags.extend(checked);
            views.push(view);
        }
        diags.extend(id_clashes(&raw, &views));
    }
    diag::sort(&mut diags);
    // A check that runs per stage reports the same problem once.
    diags.dedup_by(|a, b| (a.span, a.code, &a.message) == (b.span, b.code, &b.message));
    if diags.iter().any(Diagnostic::is_error) {
        return Err(Failure::Invalid(diags));
    }
    Ok(Front { raw, systems, views, warnings: diags })
}

/// Render, verify (and split) each stage, in parallel, then the graphs, guard rules and
/// bindings: the files for out/.
fn back(renderer: &render::Renderer, f: Front, options: Options) -> Result<Build, Failure> {
    let stages: Vec<(&model::System, &cfn::StackView)> = f.systems.iter().zip(&f.views).collect();
    let mut files = Files::new();
    for stage in each_parallel(&stages, |(sys, view)| stage_files(renderer, &f.raw, sys, view, options))? {
        files.extend(stage?);
    }
    timing::time("graphs, guard, bindings", || {
        for sys in &f.systems {
            files.insert(format!("{}/graph.mmd", sys.stage), graph::mermaid(sys));
            files.insert(format!("{}/graph.dot", sys.stage), graph::dot(sys));
            files.insert(format!("{}/flowform.guard", sys.stage), tools::guard::rules(sys));
        }
        files.insert("bindings.rs".into(), tools::bindings::rust(&f.systems));
    });
    Ok(Build { files, systems: f.systems, warnings: f.warnings })
}

/// One stage's templates (path under out/, text): rendered and verified; with
/// `nested_stacks`, the whole template verified, split, and each part verified and checked
/// against the quotas.
fn stage_files(
    renderer: &render::Renderer,
    raw: &config::RawConfig,
    sys: &model::System,
    view: &cfn::StackView,
    options: Options,
) -> Result<Vec<(String, String)>, Failure> {
    let stage = &view.stage;
    let text = timing::time("render", || renderer.render(view))
        .map_err(|e| Failure::Internal(format!("stage {stage}: template rendering failed: {}", e.0)))?;
    let Some(n) = sys.nested_stacks else {
        let limit = if options.quotas { cfn::MAX_RESOURCES } else { usize::MAX };
        verified(&text, stage, "template.yaml", limit, options)?;
        if let Some(d) = quotas::template_size(raw, stage, &text).filter(|_| options.quotas) {
            return Err(Failure::Invalid(vec![d]));
        }
        return Ok(vec![(format!("{stage}/template.yaml"), text)]);
    };
    // Nested stacks: the whole template is verified (every reference resolves, no cycle)
    // while it is split, then each part (two at a time), and the quotas hold per part.
    let (whole, parts) = std::thread::scope(|scope| {
        let whole = scope.spawn(|| verified(&text, stage, "the whole template", usize::MAX, options));
        let parts = timing::time("split", || split::split(&text, view, &split::assign(sys, view, n)));
        (whole.join(), parts)
    });
    whole.map_err(|_| Failure::Internal("verifying the whole template panicked".into()))??;
    let parts = parts.map_err(|e| Failure::Internal(format!("stage {stage}: splitting into nested stacks: {e}")))?;
    let parts: Vec<(String, String)> =
        std::iter::once(("template.yaml".to_string(), parts.root)).chain(parts.nested).collect();
    let halves: Vec<&[(String, String)]> = parts.chunks(parts.len().div_ceil(2)).collect();
    let checked = each_parallel(&halves, |half| -> Result<Vec<Diagnostic>, Failure> {
        let mut diags = Vec::new();
        for (file, part) in *half {
            verified(part, stage, file, usize::MAX, options)?;
            if options.quotas {
                diags.extend(quotas::nested_template(raw, stage, file, part));
            }
        }
        Ok(diags)
    })?;
    let mut quota_diags = Vec::new();
    for half in checked {
        quota_diags.extend(half?);
    }
    if !quota_diags.is_empty() {
        return Err(Failure::Invalid(quota_diags));
    }
    Ok(parts.into_iter().map(|(file, part)| (format!("{stage}/{file}"), part)).collect())
}
