//! istio-preflight: checks a Kubernetes estate before an Istio upgrade and says, with exact
//! locations and concrete fixes, what will break or disrupt traffic.
//!
//! ```text
//! files ─> source ─> Inventory ─> engine (rules, parallel, sorted) ─> emit (human, json, sarif, github)
//! ```

pub mod cli;
pub mod cluster;
pub mod diagnostic;
pub mod emit;
pub mod engine;
pub mod model;
pub mod report;
pub mod rules;
pub mod source;
pub mod yaml;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use cli::{CheckArgs, Command, FailOn, RulesArgs, RulesFormat};
use diagnostic::Severity;
use model::mesh::MeshOptions;
use model::{Inventory, Version};
use report::Report;
use rules::{Context, Upgrade};

/// How a run ended, mapped to the process exit code by `main`.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing at or above `--fail-on` (exit 0).
    Clean,
    /// Findings at or above `--fail-on` (exit 1).
    Findings,
    /// Usage error or nothing could be read (exit 2), with the reason.
    Failed(String),
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Findings => 1,
            Outcome::Failed(_) => 2,
        }
    }
}

pub fn run(cli: cli::Cli) -> Outcome {
    match cli.command {
        Command::Check(args) => check_command(&args),
        Command::Rules(args) => rules_command(&args),
        Command::Snapshot(args) => snapshot_command(&args),
    }
}

fn parse_version(flag: &str, text: &Option<String>) -> Result<Option<Version>, String> {
    text.as_deref()
        .map(|t| {
            Version::parse(t)
                .ok_or_else(|| format!("{flag} {t:?} is not a version like 1.27 or 1.27.2"))
        })
        .transpose()
}

/// Reads the inputs and runs the selected rules: everything `check` does but printing.
pub fn check(args: &CheckArgs) -> Result<Report, String> {
    check_with(args, &cluster::Limits::default())
}

/// [`check`] with the cluster read's limits given (tests make retries fast).
pub fn check_with(args: &CheckArgs, limits: &cluster::Limits) -> Result<Report, String> {
    let upgrade = Upgrade {
        target: parse_version("--target", &args.target)?,
        strategy: args.strategy,
    };
    let options = MeshOptions {
        current: parse_version("--current", &args.current)?,
        kube_version: parse_version("--kube-version", &args.kube_version)?,
    };
    let selection = engine::Selection {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
    };
    for code in selection.select.iter().chain(&selection.ignore) {
        if !rules::RULES
            .iter()
            .any(|r| r.code.starts_with(&code.to_ascii_uppercase()) || r.name == code.as_str())
        {
            return Err(format!(
                "no rule matches {code:?} (see `istio-preflight rules`)"
            ));
        }
    }
    if !args.cluster {
        let ca = &args.cluster_args;
        if ca.context.is_some() || ca.kubeconfig.is_some() || !ca.namespaces.is_empty() {
            return Err("--context, --kubeconfig and --namespace need --cluster".to_string());
        }
    }
    let selected = selection.rules();
    let (loaded, cluster_context) = if args.cluster {
        let kinds = cluster::kinds_for(&selected);
        let progress = args.format == emit::Format::Human;
        let read = cluster::read(&args.cluster_args, &kinds, limits, progress)?;
        (
            source::Loaded {
                objects: read.objects,
                ..source::Loaded::default()
            },
            Some(read.context),
        )
    } else {
        (source::load(&args.paths), None)
    };
    if loaded.files.is_empty() && !loaded.unreadable.is_empty() {
        return Err(format!(
            "nothing could be read: {}",
            loaded.unreadable.join("; ")
        ));
    }
    let options = MeshOptions {
        kube_version: options
            .kube_version
            .or_else(|| model::read_gap::server_version(&loaded.objects)),
        ..options
    };
    let (inventory, shape_errors) = Inventory::build(loaded.objects, &options);
    // Rules that read a kind the read could not see would report a false picture: they do
    // not run, and IPF002 names them.
    let blocked: Vec<String> = inventory
        .of_kind(model::read_gap::READ_GAP)
        .filter_map(|(_, o)| model::read_gap::ReadGap::from_object(o))
        .filter(|g| g.reason.blocks_rules())
        .map(|g| g.kind)
        .collect();
    let mut runnable: Vec<&'static rules::Rule> = selected
        .iter()
        .copied()
        .filter(|r| !r.reads.iter().any(|k| blocked.iter().any(|b| b == k)))
        .collect();
    // A report that skipped a selected rule must say so, even when `--select` did not name
    // IPF002; only an explicit `--ignore` silences it.
    let incomplete = &rules::ipf002_incomplete_read::RULE;
    let ignored = args.ignore.iter().any(|c| {
        let c = c.trim();
        c == incomplete.name
            || (!c.is_empty() && incomplete.code.starts_with(&c.to_ascii_uppercase()))
    });
    if runnable.len() < selected.len()
        && !ignored
        && !runnable.iter().any(|r| r.code == incomplete.code)
    {
        runnable.push(incomplete);
        runnable.sort_by_key(|r| r.code);
    }
    let cx = Context {
        inventory: &inventory,
        upgrade: &upgrade,
        read_problems: &loaded.problems,
        shape_errors: &shape_errors,
        selected_rules: &selected,
    };
    let mut diagnostics = engine::run(&runnable, &cx);
    if selected.iter().any(|r| r.code == "IPF001") {
        for path in &loaded.unreadable {
            diagnostics.push(diagnostic::Diagnostic {
                code: "IPF001",
                name: "invalid-manifest",
                severity: Severity::Error,
                message: format!("cannot read {path}"),
                subject: diagnostic::Subject::Estate,
                fix: None,
            });
        }
    }
    engine::sort(&mut diagnostics, &inventory, &loaded.files);
    Ok(Report {
        files: loaded.files,
        inventory,
        diagnostics,
        notes: loaded.notes,
        upgrade,
        rules: runnable,
        cluster: cluster_context,
    })
}

fn check_command(args: &CheckArgs) -> Outcome {
    let report = match check(args) {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e),
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none();
    let text = emit::render(&report, args.format, color);
    if let Err(e) = write_output(args.output.as_ref(), &text) {
        return e;
    }
    let fail_on = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    if engine::fails(&report.diagnostics, fail_on) {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

/// Writes to the file or stdout. A closed pipe (`| head`) is not an error.
fn write_output(path: Option<&PathBuf>, text: &str) -> Result<(), Outcome> {
    match path {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| Outcome::Failed(format!("cannot write {}: {e}", p.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(Outcome::Failed(format!("cannot write output: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}

fn snapshot_command(args: &cli::SnapshotArgs) -> Outcome {
    let kinds = cluster::kinds_for(rules::RULES);
    let read = match cluster::read(&args.cluster, &kinds, &cluster::Limits::default(), true) {
        Ok(read) => read,
        Err(e) => return Outcome::Failed(e),
    };
    let text = cluster::snapshot::render(&read.objects, &read.context);
    match write_output(args.output.as_ref(), &text) {
        Ok(()) => Outcome::Clean,
        Err(e) => e,
    }
}

/// The rule table as Markdown (README and `rules --format markdown`).
pub fn rules_markdown() -> String {
    let mut s =
        String::from("| code | name | severity | fixable | summary |\n|---|---|---|---|---|\n");
    for r in rules::RULES {
        s.push_str(&format!(
            "| [{code}](rules/docs/{code}.md) | {} | {} | {} | {} |\n",
            r.name,
            r.severity.as_str(),
            if r.fixable { "yes" } else { "no" },
            r.summary,
            code = r.code
        ));
    }
    s
}

/// A rule's documentation page.
pub fn rule_page(rule: &rules::Rule) -> String {
    format!(
        "# {} {}\n\nSeverity: {}. Fixable: {}.\n\n{}\n\n{}",
        rule.code,
        rule.name,
        rule.severity.as_str(),
        if rule.fixable { "yes" } else { "no" },
        rule.summary,
        rule.docs().trim_end()
    ) + "\n"
}

fn rules_command(args: &RulesArgs) -> Outcome {
    let text = match &args.code {
        Some(code) => match rules::find(code) {
            Some(rule) => match args.format {
                RulesFormat::Json => {
                    serde_json::to_string_pretty(&serde_json::json!({
                        "code": rule.code, "name": rule.name, "severity": rule.severity,
                        "summary": rule.summary, "fixable": rule.fixable, "docs": rule.docs(),
                    }))
                    .expect("json")
                        + "\n"
                }
                _ => rule_page(rule),
            },
            None => {
                return Outcome::Failed(format!("no rule {code:?} (see `istio-preflight rules`)"))
            }
        },
        None => match args.format {
            RulesFormat::Json => {
                let list: Vec<_> = rules::RULES
                    .iter()
                    .map(|r| serde_json::json!({"code": r.code, "name": r.name, "severity": r.severity, "summary": r.summary, "fixable": r.fixable}))
                    .collect();
                serde_json::to_string_pretty(&serde_json::json!({ "rules": list })).expect("json")
                    + "\n"
            }
            RulesFormat::Markdown => rules_markdown(),
            RulesFormat::Human => rules::RULES
                .iter()
                .map(|r| {
                    format!(
                        "{}  {:<34} {:<8} {}\n",
                        r.code,
                        r.name,
                        r.severity.as_str(),
                        r.summary
                    )
                })
                .collect(),
        },
    };
    match write_output(None, &text) {
        Ok(()) => Outcome::Clean,
        Err(e) => e,
    }
}
