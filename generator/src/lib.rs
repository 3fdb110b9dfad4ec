//! flowform: one config file describing an event-driven AWS system -> reviewable,
//! deterministic CloudFormation.
//!
//! Pipeline: [`config`] (spanned YAML) -> [`validate`] (model + every diagnostic) ->
//! [`cfn`] (view model: names, ARNs, IAM, derived values) -> [`render`] (Tera) ->
//! [`verify`] (parse back) -> [`emit`] (atomic write / freshness check).
//!
//! The library does no I/O except in [`emit`]; [`build`] is a pure function of the config text.

pub mod cfn;
pub mod config;
pub mod diag;
pub mod emit;
pub mod graph;
pub mod ids;
pub mod model;
pub mod package;
pub mod plan;
pub mod render;
pub mod schema;
pub mod synthetic;
pub mod validate;
pub mod verify;

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
            if view.resource_count > options.resource_limit {
                diags.push(
                    Diagnostic::error(
                        "E023",
                        raw.top,
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
            for id in cfn::clashing_ids(&view) {
                diags.push(
                    Diagnostic::error(
                        "E006",
                        raw.top,
                        format!("two names of different kinds both become logical ID `{id}` (stage `{}`)", sys.stage),
                    )
                    .with_help(
                        "rename one: e.g. a queue `a_dead_letter` clashes with the dead-letter queue of queue `a`",
                    ),
                );
            }
            views.push(view);
        }
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
