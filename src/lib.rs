//! istio-preflight: checks a Kubernetes estate before an Istio upgrade and says, with exact
//! locations and concrete fixes, what will break or disrupt traffic.
//!
//! ```text
//! files ─> source ─> Inventory ─> engine (rules, parallel, sorted) ─> emit (human, json, sarif, github)
//!                                                                  └─> fix (--diff, --fix: byte edits on the files read)
//! ```

pub mod alloc;
pub mod baseline;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod diagnostic;
pub mod emit;
pub mod engine;
#[cfg(test)]
mod fingerprint;
pub mod fix;
pub mod generate;
pub mod glob;
pub mod model;
pub mod policy;
pub mod release;
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
/// The config file (`--config`, or the nearest `.istio-preflight.yaml`) supplies defaults
/// that command-line flags override, then its severity overrides and suppressions and the
/// `--baseline` are applied to the findings.
pub fn check(args: &CheckArgs) -> Result<Report, String> {
    check_with(args, &cluster::Limits::default())
}

/// [`check`] with the cluster read's limits given (tests make retries fast).
pub fn check_with(args: &CheckArgs, limits: &cluster::Limits) -> Result<Report, String> {
    let config = if args.no_config {
        None
    } else {
        config::discover(args.config.as_deref())?
            .map(|p| config::load(&p))
            .transpose()?
    };
    let from_config = |flag: &Option<String>, file: Option<&String>| flag.clone().or(file.cloned());
    let c = config.as_ref();
    let upgrade = Upgrade {
        target: parse_version(
            "--target",
            &from_config(&args.target, c.and_then(|c| c.target.as_ref())),
        )?,
        strategy: args
            .strategy
            .or(c.and_then(|c| c.strategy))
            .unwrap_or_default(),
    };
    let options = MeshOptions {
        current: parse_version(
            "--current",
            &from_config(&args.current, c.and_then(|c| c.current.as_ref())),
        )?,
        kube_version: parse_version(
            "--kube-version",
            &from_config(&args.kube_version, c.and_then(|c| c.kube_version.as_ref())),
        )?,
    };
    // A list given on the command line replaces the file's list.
    let pick = |flag: &Vec<String>, file: Option<&Vec<String>>| {
        if flag.is_empty() {
            file.cloned().unwrap_or_default()
        } else {
            flag.clone()
        }
    };
    let selection = engine::Selection {
        select: pick(&args.select, c.map(|c| &c.select)),
        ignore: pick(&args.ignore, c.map(|c| &c.ignore)),
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
    let baseline = args
        .baseline
        .as_deref()
        .map(baseline::Baseline::read)
        .transpose()?;
    let selected = selection.rules();
    // Parse the embedded release data beside the input rather than when the first rule
    // asks; rules wait for it through the same `OnceLock`. On the thread pool rather than a
    // thread of its own, which would be a third busy thread on two cores while the input is
    // parsed.
    rayon::spawn(|| {
        // A panic would be a bug in the embedded data, which the tests parse; the first rule
        // to ask reports it again. Caught: rayon aborts the process on a spawned job's panic.
        let _ = std::panic::catch_unwind(release::data);
    });
    let (mut loaded, cluster_context) = if args.cluster {
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
        let loaded = match c {
            Some(c) => source::load_excluding(&args.paths, &|p| c.excludes(p)),
            None => source::load(&args.paths),
        };
        (loaded, None)
    };
    if loaded.files.is_empty() && !loaded.unreadable.is_empty() {
        return Err(format!(
            "nothing could be read: {}",
            loaded.unreadable.join("; ")
        ));
    }
    let values = load_values(&args.values, &mut loaded.files)?;
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
    let ignored = selection.ignore.iter().any(|c| {
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
        today: model::date::Date::run_date()?,
        inventory: &inventory,
        upgrade: &upgrade,
        read_problems: &loaded.problems,
        values: &values,
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
    let mut report = Report {
        files: loaded.files,
        inventory,
        diagnostics,
        notes: loaded.notes,
        upgrade,
        rules: runnable,
        root: report::repo_root(),
        cluster: cluster_context,
    };
    if let Some(c) = c {
        policy::apply_config(&mut report, c, config::Date::today());
    }
    if let Some(path) = &args.write_baseline {
        let written = policy::baseline_of(&report);
        written.write(path)?;
        report.notes.push(source::Note {
            file: None,
            line: 0,
            message: format!(
                "wrote {} {} to the baseline {}",
                written.findings.len(),
                if written.findings.len() == 1 {
                    "finding"
                } else {
                    "findings"
                },
                path.display()
            ),
        });
    }
    if let (Some(b), Some(path)) = (&baseline, &args.baseline) {
        policy::apply_baseline(&mut report, b, &path.display().to_string());
    }
    Ok(report)
}

/// Reads the `--values` files. They are not manifests, so they are not part of the input
/// paths; they join the report's files so findings can point into them.
fn load_values(
    paths: &[PathBuf],
    files: &mut Vec<source::SourceFile>,
) -> Result<Vec<model::install::ValuesFile>, String> {
    let mut out = Vec::new();
    for path in paths {
        let shown = source::display_path(path);
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--values {shown}: cannot read it: {e}"))?;
        let file = source::SourceFile::new(shown, text);
        let tree = yaml::parse_document(&file.text, 0, 0..file.text.len())
            .map_err(|e| format!("--values {}:{e}", file.path))?
            .root
            .unwrap_or_default();
        out.push(model::install::ValuesFile {
            file: files.len(),
            tree,
        });
        files.push(file);
    }
    Ok(out)
}

fn check_command(args: &CheckArgs) -> Outcome {
    let mut report = match check(args) {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e),
    };
    if args.diff || args.fix {
        let plan = fix::plan(&report, args.unsafe_fixes);
        if args.diff {
            if let Err(e) = write_output(args.output.as_ref(), &fix::render_diff(&report, &plan)) {
                return e;
            }
            eprint!("{}", fix::summary(&report, &plan, &[], false));
            return outcome(&report, args.fail_on);
        }
        let failed: Vec<(usize, String)> = plan
            .changes
            .iter()
            .filter_map(|c| fix::write(c).err().map(|e| (c.file, e)))
            .collect();
        eprint!("{}", fix::summary(&report, &plan, &failed, true));
        // Report what the files say now, so the findings and the exit code are current.
        report = match check(args) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e),
        };
    }
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none();
    let text = emit::render(&report, args.format, color);
    if let Err(e) = write_output(args.output.as_ref(), &text) {
        return e;
    }
    if args.format == emit::Format::Github {
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
            // The summary is a convenience: failing to write it must not hide the findings.
            if let Err(e) = append(&PathBuf::from(&path), &emit::github::step_summary(&report)) {
                eprintln!("istio-preflight: cannot write the step summary: {e}");
            }
        }
    }
    outcome(&report, args.fail_on)
}

fn outcome(report: &Report, fail_on: FailOn) -> Outcome {
    let fail_on = match fail_on {
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

fn append(path: &PathBuf, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())
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
