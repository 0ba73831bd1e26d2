//! istio-preflight: checks a Kubernetes estate before an Istio upgrade and says, with exact
//! locations and concrete fixes, what will break or disrupt traffic.
//!
//! ```text
//! cli ─> settings ─> load ─────────────> model ──────> analyze ──────> policy ─────────> emit / fix
//! (clap   (Settings:  files, cluster      Inventory,    engine runs     suppressions,     human, json,
//!  only)   flags +    (load::files,       mesh, the     the rules       severity, the     sarif, github;
//!          config,    load::cluster)      helpers       (rules/),       baseline          --diff / --fix
//!          today)                         rules share   sorted
//! ```
//! Each stage uses only the stages to its left. `check` runs load → model → analyze →
//! policy; the command line (`run`) adds the baseline step and the output. In pre-merge
//! mode (`--base REF`, module `premerge`) the same stages run over the paths at the base
//! commit first, and the working tree's run takes its versions and finding identities from
//! there.

pub mod analyze;
pub mod cli;
pub mod diagnostic;
pub mod duplicates;
pub mod emit;
#[cfg(test)]
mod fingerprint;
pub mod fix;
pub mod glob;
pub mod kustomize;
pub mod load;
pub mod model;
pub mod policy;
mod premerge;
pub mod release;
pub mod report;
pub mod rules;
pub mod settings;
pub mod yaml;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use cli::{CheckArgs, Command, RulesArgs, RulesFormat};
use model::mesh::MeshOptions;
use model::Inventory;
use report::Report;
use rules::Context;
use settings::{FixMode, Input, Settings};

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

/// Reads the estate and runs the selected rules, then applies the team's decisions (config
/// severity overrides and suppressions, the baseline): everything `check` does but printing.
/// The stages run left to right: load → model → analyze → policy.
pub fn check(settings: &Settings) -> Result<Report, String> {
    let baseline = read_baseline(settings)?;
    let mut report = findings(settings)?;
    apply_baseline(&mut report, settings, baseline.as_ref());
    Ok(report)
}

/// The findings after the config file's severity overrides and suppressions, before the
/// baseline: what a baseline records. In pre-merge mode (`--base`) each finding also says
/// whether it exists at the base commit.
pub fn findings(settings: &Settings) -> Result<Report, String> {
    let selected = settings.selection.rules();
    prewarm_release_data();
    let base = match &settings.base {
        Some(b) => Some(premerge::read_base(settings, b, &selected)?),
        None => None,
    };
    let (mut loaded, cluster_context) = load(settings, &selected)?;
    let mut value_paths = settings.values.clone();
    value_paths.extend(argo_values_files(settings, &mut loaded));
    let values = load_values(&value_paths, &mut loaded.files)?;
    let mut estate = Modelled::build(loaded, values, &settings.mesh);
    estate.cluster = cluster_context;
    let Some(base) = base else {
        return Ok(analyze_estate(
            settings,
            estate,
            &selected,
            &settings.upgrade,
        ));
    };
    let upgrade = premerge::upgrade(settings, &base, &mut estate);
    let mut report = analyze_estate(settings, estate, &selected, &upgrade.upgrade);
    premerge::mark(&mut report, &base, upgrade.note);
    Ok(report)
}

/// One estate read and modelled, ready for the rules.
struct Modelled {
    loaded: load::files::Loaded,
    values: Vec<model::install::ValuesFile>,
    options: MeshOptions,
    inventory: Inventory,
    shape_errors: Vec<model::workload::ShapeError>,
    cluster: Option<String>,
}

impl Modelled {
    /// The model stage: the inventory and mesh of what was read. The Kubernetes version
    /// comes from `--kube-version`, else from the input.
    fn build(
        loaded: load::files::Loaded,
        values: Vec<model::install::ValuesFile>,
        mesh: &MeshOptions,
    ) -> Modelled {
        let mut loaded = loaded;
        let options = MeshOptions {
            kube_version: mesh
                .kube_version
                .clone()
                .or_else(|| model::read_gap::server_version(&loaded.objects)),
            ..mesh.clone()
        };
        let (inventory, shape_errors) =
            Inventory::build(std::mem::take(&mut loaded.objects), &options);
        Modelled {
            loaded,
            values,
            options,
            inventory,
            shape_errors,
            cluster: None,
        }
    }
}

/// The analyze and policy stages over one estate: the selected rules, sorted, then the config
/// file's severity overrides and suppressions.
fn analyze_estate(
    settings: &Settings,
    estate: Modelled,
    selected: &[&'static rules::Rule],
    upgrade: &settings::Upgrade,
) -> Report {
    let Modelled {
        loaded,
        values,
        options,
        inventory,
        shape_errors,
        cluster,
    } = estate;
    let run = |inventory: &Inventory, shape_errors: &[model::workload::ShapeError]| {
        let ran = analyze::runnable(selected, inventory, &settings.selection);
        let cx = Context {
            today: settings.today,
            release: release::data(),
            inventory,
            upgrade,
            read_problems: &loaded.problems,
            unreadable: &loaded.unreadable,
            values: &values,
            shape_errors,
            selected_rules: selected,
        };
        (analyze::run(&ran, &cx), ran)
    };
    let groups = estate_groups(&inventory);
    let (mut diagnostics, runnable, estates) = if groups.len() < 2 {
        let (diagnostics, runnable) = run(&inventory, &shape_errors);
        (diagnostics, runnable, Vec::new())
    } else {
        // Each kustomize overlay is an estate of its own (SPEC §3a), and so are the files
        // read as they are: each gets its own inventory and run, so one overlay's istiod is
        // not another's.
        let mut diagnostics = Vec::new();
        let mut runnable: Vec<&'static rules::Rule> = Vec::new();
        let mut estates = Vec::new();
        let mut run_level: Vec<(diagnostic::Diagnostic, Vec<Option<String>>)> = Vec::new();
        for (estate, ids) in &groups {
            let objects = ids.iter().map(|&id| inventory.object(id).clone()).collect();
            let (part, shape_errors) = Inventory::build(objects, &options);
            let overlay = estate.map(|e| report::overlay_name(&loaded.files, e));
            estates.push(report::EstateBlock {
                overlay: overlay.clone(),
                facts: report::estate_facts(&part, upgrade),
            });
            let (found, ran) = run(&part, &shape_errors);
            for mut d in found {
                // The estate's object ids are positions in its group.
                if let diagnostic::Subject::Object { object, .. } = &mut d.subject {
                    *object = ids[*object];
                    diagnostics.push(d);
                    continue;
                }
                // Findings about a file or the whole run: once, with the estates that gave
                // them.
                match run_level.iter_mut().find(|(seen, _)| *seen == d) {
                    Some((_, from)) => from.push(overlay.clone()),
                    None => run_level.push((d, vec![overlay.clone()])),
                }
            }
            for rule in ran {
                if !runnable.iter().any(|r| r.code == rule.code) {
                    runnable.push(rule);
                }
            }
        }
        // An estate finding that not every estate gave says which ones did.
        for (mut d, from) in run_level {
            if matches!(d.subject, diagnostic::Subject::Estate) && from.len() < groups.len() {
                let names: Vec<String> = from
                    .iter()
                    .map(|o| match o {
                        Some(dir) => format!("kustomize overlay {dir}"),
                        None => "the files read as they are".to_string(),
                    })
                    .collect();
                d.message = format!("{} (in {})", d.message, names.join(", "));
            }
            diagnostics.push(d);
        }
        runnable.sort_by_key(|r| r.code);
        (diagnostics, runnable, estates)
    };
    analyze::sort(&mut diagnostics, &inventory, &loaded.files);
    let mut report = Report {
        files: loaded.files,
        inventory,
        diagnostics,
        notes: loaded.notes,
        upgrade: upgrade.clone(),
        rules: runnable,
        root: report::repo_root(),
        cluster,
        base: None,
        estates,
    };
    if let Some(config) = &settings.config {
        policy::apply_config(&mut report, config, settings.today);
    }
    report
}

/// The objects of each estate, by id, in the order the estates first appear: one group per
/// kustomize overlay, one for everything read as it is (files, a cluster).
fn estate_groups(inventory: &Inventory) -> Vec<(Option<u32>, Vec<model::ObjectId>)> {
    let mut groups: Vec<(Option<u32>, Vec<model::ObjectId>)> = Vec::new();
    for (id, o) in inventory.objects.iter().enumerate() {
        let estate = match o.origin {
            model::Origin::Built { estate, .. } => Some(estate),
            model::Origin::File { .. } | model::Origin::Cluster => None,
        };
        match groups.iter_mut().find(|(e, _)| *e == estate) {
            Some((_, group)) => group.push(id),
            None => groups.push((estate, vec![id])),
        }
    }
    groups
}

/// Parses the embedded release data beside the input rather than when the first rule asks;
/// rules wait for it through the same `OnceLock`. On the thread pool rather than a thread of
/// its own, which would be a third busy thread on two cores while the input is parsed.
fn prewarm_release_data() {
    rayon::spawn(|| {
        // A panic would be a bug in the embedded data, which the tests parse; the first rule
        // to ask reports it again. Caught: rayon aborts the process on a spawned job's panic.
        let _ = std::panic::catch_unwind(release::data);
    });
}

/// The load stage: files (minus the config's excludes) or a live cluster, read for the
/// kinds the selected rules need, with the kube context read from. `Err` when nothing at
/// all could be read.
fn load(
    settings: &Settings,
    selected: &[&'static rules::Rule],
) -> Result<(load::files::Loaded, Option<String>), String> {
    let (loaded, context) = match &settings.input {
        Input::Cluster(target) => {
            let kinds = load::cluster::kinds_for(selected);
            let read = load::cluster::read(target, &kinds, &settings.limits)?;
            let loaded = load::files::Loaded {
                objects: read.objects,
                ..load::files::Loaded::default()
            };
            (loaded, Some(read.context))
        }
        Input::Files(paths) => match &settings.config {
            Some(c) => (load::files::load_excluding(paths, &|p| c.excludes(p)), None),
            None => (load::files::load(paths), None),
        },
    };
    if loaded.files.is_empty() && !loaded.unreadable.is_empty() {
        return Err(format!(
            "nothing could be read: {}",
            loaded.unreadable.join("; ")
        ));
    }
    Ok((loaded, context))
}

fn read_baseline(settings: &Settings) -> Result<Option<policy::baseline::Baseline>, String> {
    settings
        .baseline
        .as_deref()
        .map(policy::baseline::Baseline::read)
        .transpose()
}

fn apply_baseline(
    report: &mut Report,
    settings: &Settings,
    baseline: Option<&policy::baseline::Baseline>,
) {
    if let (Some(b), Some(path)) = (baseline, &settings.baseline) {
        policy::apply_baseline(report, b, &path.display().to_string());
    }
}

/// Records the report's findings as a baseline in `path`, and says so in the report.
pub fn write_baseline(report: &mut Report, path: &std::path::Path) -> Result<(), String> {
    let written = policy::baseline_of(report);
    written.write(path)?;
    let n = written.findings.len();
    report.notes.push(load::files::Note {
        file: None,
        line: 0,
        message: format!(
            "wrote {n} {} to the baseline {}",
            if n == 1 { "finding" } else { "findings" },
            path.display()
        ),
    });
    Ok(())
}

/// Reads the `--values` files. They are not manifests, so they are not part of the input
/// paths; they join the report's files so findings can point into them.
/// The values files Argo CD multi-source Applications read from a repository (`$values/x`):
/// checked like `--values` files when the path exists under a checked directory (the
/// repository being checked is the one the ref names, as far as can be known offline); a
/// note names each that does not.
fn argo_values_files(settings: &Settings, loaded: &mut load::files::Loaded) -> Vec<PathBuf> {
    let Input::Files(inputs) = &settings.input else {
        return Vec::new();
    };
    let dirs: Vec<&PathBuf> = inputs.iter().filter(|p| p.is_dir()).collect();
    let mut out: Vec<PathBuf> = Vec::new();
    for r in model::chart_release::argo_values_refs(&loaded.objects) {
        let o = &loaded.objects[r.object];
        let file = match o.origin {
            model::Origin::File { file, .. } | model::Origin::Built { file, .. } => {
                Some(file as usize)
            }
            model::Origin::Cluster => None,
        };
        let found = dirs.iter().map(|d| d.join(&r.path)).find(|p| p.is_file());
        match found {
            Some(p) => {
                if !out.contains(&p) && !settings.values.contains(&p) {
                    out.push(p);
                }
            }
            None => loaded.notes.push(load::files::Note {
                file,
                line: r.line,
                message: format!(
                    "{}: values file `{}` (from the source its `$` ref names) was not found under the checked paths; its values were not checked",
                    o.display_name(),
                    r.entry,
                ),
            }),
        }
    }
    out
}

fn load_values(
    paths: &[PathBuf],
    files: &mut Vec<load::files::SourceFile>,
) -> Result<Vec<model::install::ValuesFile>, String> {
    let mut out = Vec::new();
    for path in paths {
        let shown = load::files::display_path(path);
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--values {shown}: cannot read it: {e}"))?;
        let file = load::files::SourceFile::new(shown, text);
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
    match args.settings() {
        Ok(settings) => check_and_report(&settings),
        Err(e) => Outcome::Failed(e),
    }
}

/// `check` with its output: fixes, the baseline written when asked, the report.
fn check_and_report(settings: &Settings) -> Outcome {
    let output = &settings.output;
    // With --fix the baseline is written after the fixes, from what the files say then.
    let first = if output.fix == FixMode::Apply {
        check(settings)
    } else {
        check_writing_baseline(settings)
    };
    let mut report = match first {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e),
    };
    if output.fix != FixMode::Report {
        let plan = fix::plan(&report, output.unsafe_fixes);
        if output.fix == FixMode::Diff {
            if let Err(e) = write_output(output.path.as_ref(), &fix::render_diff(&report, &plan)) {
                return e;
            }
            eprint!("{}", fix::summary(&report, &plan, &[], false));
            return outcome(&report, settings);
        }
        let failed: Vec<(usize, String)> = plan
            .changes
            .iter()
            .filter_map(|c| fix::write(c).err().map(|e| (c.file, e)))
            .collect();
        eprint!("{}", fix::summary(&report, &plan, &failed, true));
        // Report what the files say now, so the findings and the exit code are current.
        report = match check_writing_baseline(settings) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e),
        };
    }
    let to_terminal = output.path.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none();
    let text = emit::render_gated(&report, output.format, color, gate(settings));
    if let Err(e) = write_output(output.path.as_ref(), &text) {
        return e;
    }
    if output.format == emit::Format::Github {
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
            // The summary is a convenience: failing to write it must not hide the findings.
            if let Err(e) = append(&PathBuf::from(&path), &emit::github::step_summary(&report)) {
                eprintln!("istio-preflight: cannot write the step summary: {e}");
            }
        }
    }
    outcome(&report, settings)
}

/// [`check`], writing the baseline when asked: it records the findings after suppressions
/// and before the old baseline is applied.
fn check_writing_baseline(settings: &Settings) -> Result<Report, String> {
    let baseline = read_baseline(settings)?;
    let mut report = findings(settings)?;
    if let Some(path) = &settings.output.write_baseline {
        write_baseline(&mut report, path)?;
    }
    apply_baseline(&mut report, settings, baseline.as_ref());
    Ok(report)
}

/// The exit code's verdict. In pre-merge mode only new findings count, unless
/// `--fail-on-existing`.
fn outcome(report: &Report, settings: &Settings) -> Outcome {
    let gate = gate(settings);
    if report.diagnostics.iter().any(|d| gate.fails(d)) {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

fn gate(settings: &Settings) -> emit::Gate {
    emit::Gate {
        fail_on: settings.output.fail_on,
        count_existing: settings.base.as_ref().is_none_or(|b| b.fail_on_existing),
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
    let kinds = load::cluster::kinds_for(rules::RULES);
    let target = args.cluster.target(true);
    let read = match load::cluster::read(&target, &kinds, &settings::Limits::default()) {
        Ok(read) => read,
        Err(e) => return Outcome::Failed(e),
    };
    let text = load::cluster::snapshot::render(&read.objects, &read.context);
    match write_output(args.output.as_ref(), &text) {
        Ok(()) => Outcome::Clean,
        Err(e) => e,
    }
}

/// The rule table as Markdown (README and `rules --format markdown`).
pub fn rules_markdown() -> String {
    let mut s = String::from(
        "| code | name | category | severity | fix | summary |\n|---|---|---|---|---|---|\n",
    );
    for r in rules::RULES {
        s.push_str(&format!(
            "| [{code}](rules/docs/{code}.md) | {} | {} | {} | {} | {} |\n",
            r.name,
            r.category().as_str(),
            r.severity.as_str(),
            r.fix.as_str(),
            r.summary,
            code = r.code
        ));
    }
    s
}

/// A rule's documentation page.
pub fn rule_page(rule: &rules::Rule) -> String {
    format!(
        "# {} {}\n\nCategory: {}. Severity: {}. Fix: {}.\n\n{}\n\n{}",
        rule.code,
        rule.name,
        rule.category().as_str(),
        rule.severity.as_str(),
        rule.fix.as_str(),
        rule.summary,
        rule.docs().trim_end()
    ) + "\n"
}

/// A rule's metadata as JSON. `fixable` (whether any finding can carry an applicable fix)
/// stays beside `fix` for readers written before fix availability had three values.
fn rule_json(rule: &rules::Rule) -> serde_json::Value {
    serde_json::json!({
        "code": rule.code, "name": rule.name, "category": rule.category(),
        "severity": rule.severity, "summary": rule.summary, "fix": rule.fix,
        "fixable": rule.fix != rules::FixAvailability::None,
    })
}

fn rules_command(args: &RulesArgs) -> Outcome {
    let text = match &args.code {
        Some(code) => match rules::find(code) {
            Some(rule) => match args.format {
                RulesFormat::Json => {
                    let mut json = rule_json(rule);
                    json["docs"] = rule.docs().into();
                    serde_json::to_string_pretty(&json).expect("json") + "\n"
                }
                _ => rule_page(rule),
            },
            None => {
                return Outcome::Failed(format!("no rule {code:?} (see `istio-preflight rules`)"))
            }
        },
        None => match args.format {
            RulesFormat::Json => {
                let list: Vec<_> = rules::RULES.iter().map(|r| rule_json(r)).collect();
                serde_json::to_string_pretty(&serde_json::json!({ "rules": list })).expect("json")
                    + "\n"
            }
            RulesFormat::Markdown => rules_markdown(),
            RulesFormat::Human => rules::RULES
                .iter()
                .map(|r| {
                    format!(
                        "{}  {:<34} {:<15} {:<8} {}\n",
                        r.code,
                        r.name,
                        r.category().as_str(),
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
