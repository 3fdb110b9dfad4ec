//! flowform: one config file describing an event-driven AWS system -> reviewable,
//! deterministic CloudFormation.
//!
//! Pipeline: [`config`] (spanned YAML) -> [`validate`] (model + every diagnostic) ->
//! [`cfn`] (view model: names, ARNs, IAM, derived values) -> [`render`] (Tera) ->
//! [`verify`] (parse back) -> [`emit`] (atomic write / freshness check). [`schema`] is the
//! config's key table (keys, types, ranges, defaults) the parser reads; [`codes`] the
//! diagnostic codes. Beside the pipeline, [`tools`]: `plan`, `graph`, `package`.
//!
//! I/O happens in two places only: [`emit`] (writes out/ atomically, or compares it) and
//! [`tools::package`] (runs cargo, writes zips). [`build`] is a pure function of the config
//! text.

pub mod cfn;
pub mod codes;
pub mod config;
pub mod diag;
pub mod emit;
pub mod ids;
pub mod model;
pub mod render;
pub mod schema;
pub mod synthetic;
pub mod tools;
pub mod validate;
pub mod verify;

pub use tools::{graph, package, plan};

use crate::codes::Code;
use diag::Diagnostic;
use emit::Files;

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

/// Config text -> generated files. Nothing is written; the caller decides.
pub fn build(text: &str) -> Result<Build, Failure> {
    build_with(
        &render::Renderer::new().map_err(|e| Failure::Internal(format!("templates do not compile: {}", e.0)))?,
        text,
        Options::default(),
    )
}

/// Knobs of a build. The default is what `flowform` uses.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Most resources one stack may hold (CloudFormation's limit). Benchmarks raise it to
    /// measure how generation scales past what one stack can deploy.
    pub resource_limit: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { resource_limit: cfn::MAX_RESOURCES }
    }
}

/// The resource limit of one lowered stack, at the stage's name.
fn stack_checks(
    raw: &config::RawConfig,
    sys: &model::System,
    view: &cfn::StackView,
    options: Options,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let stage_span = raw.stages.iter().find(|(n, _)| n.value == sys.stage).map_or(raw.top, |(n, _)| n.span);
    if view.resource_count > options.resource_limit {
        out.push(
            Diagnostic::error(
                Code::TooManyResources,
                stage_span,
                format!(
                    "stage `{}` needs {} resources; one CloudFormation stack holds at most {}",
                    sys.stage,
                    view.resource_count,
                    cfn::MAX_RESOURCES
                ),
            )
            .with_help("split the system into several configs (one stack each), e.g. by domain"),
        );
    }
    out
}

/// Logical IDs that names of different kinds both produce, once per name over all stages, at
/// the name whose ID it is most specifically (queue `a_dead_letter` rather than queue `a` for
/// `ADeadLetterQueue`).
fn id_clashes(raw: &config::RawConfig, views: &[cfn::StackView]) -> Vec<Diagnostic> {
    let mut by_name: std::collections::BTreeMap<diag::Span, (&config::Name, Vec<&config::Name>, Vec<cfn::LogicalId>)> =
        std::collections::BTreeMap::new();
    for id in views.iter().flat_map(cfn::clashing_ids) {
        let mut owners: Vec<&config::Name> =
            raw.names().filter(|n| id.as_str().starts_with(&ids::pascal(&n.value))).collect();
        owners.sort_by_key(|n| std::cmp::Reverse(ids::pascal(&n.value).len()));
        let Some(first) = owners.first() else { continue };
        let entry = by_name.entry(first.span).or_insert_with(|| (first, owners[1..].to_vec(), Vec::new()));
        if !entry.2.contains(&id) {
            entry.2.push(id);
        }
    }
    by_name
        .into_values()
        .map(|(name, others, mut ids)| {
            ids.sort();
            let list = ids.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ");
            let other =
                others.iter().map(|n| format!("`{}` (line {})", n.value, n.span.line)).collect::<Vec<_>>().join(", ");
            Diagnostic::error(
                Code::Duplicate,
                name.span,
                format!("`{}` produces logical ID{} {list}, which a name of another kind also produces", name.value, if ids.len() == 1 { "" } else { "s" }),
            )
            .with_help(if other.is_empty() {
                "rename it: e.g. queue `a_dead_letter` and the dead-letter queue of queue `a` are both `ADeadLetterQueue`"
                    .to_string()
            } else {
                format!("rename it or {other}: e.g. queue `a_dead_letter` and the dead-letter queue of queue `a` are both `ADeadLetterQueue`")
            })
        })
        .collect()
}

/// [`build`] with a prepared renderer (benchmarks reuse one) and explicit options.
pub fn build_with(renderer: &render::Renderer, text: &str, options: Options) -> Result<Build, Failure> {
    let (raw, mut diags) = config::parse(text);
    let parsed_ok = !diags.iter().any(Diagnostic::is_error) || raw.system.is_some();
    let mut systems = Vec::new();
    if parsed_ok {
        let (s, more) = validate::validate(&raw);
        diags.extend(more);
        systems = s;
    }
    let mut views = Vec::new();
    if !diags.iter().any(Diagnostic::is_error) {
        for sys in &systems {
            let view = cfn::lower(sys);
            diags.extend(stack_checks(&raw, sys, &view, options));
            views.push(view);
        }
        diags.extend(id_clashes(&raw, &views));
    }
    diag::sort(&mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(Failure::Invalid(diags));
    }
    let mut files = Files::new();
    for view in &views {
        let text = renderer
            .render(view)
            .map_err(|e| Failure::Internal(format!("stage {}: template rendering failed: {}", view.stage, e.0)))?;
        if let Err(problems) = verify::verify(&text, options.resource_limit) {
            return Err(Failure::Internal(format!(
                "stage {}: generated template failed verification:\n  {}",
                view.stage,
                problems.join("\n  ")
            )));
        }
        files.insert(format!("{}/template.yaml", view.stage), text);
    }
    for sys in &systems {
        files.insert(format!("{}/graph.mmd", sys.stage), graph::mermaid(sys));
        files.insert(format!("{}/graph.dot", sys.stage), graph::dot(sys));
    }
    Ok(Build { files, systems, warnings: diags })
}
