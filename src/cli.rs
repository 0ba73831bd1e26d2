//! The command line (SPEC §2).

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diagnostic::Severity;
use crate::settings::{
    self, ClusterTarget, FixMode, Format, Input, Output, Selection, Settings, Strategy, Upgrade,
};

#[derive(Parser, Debug)]
#[command(
    name = "istio-preflight",
    version,
    about = "Checks a Kubernetes estate before an Istio upgrade and says what will break or disrupt traffic"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check manifests (files, directories, `-` for stdin) for upgrade risks.
    Check(CheckArgs),
    /// List the rules, or explain one (`istio-preflight rules IPF405`).
    Rules(RulesArgs),
    /// Save what `check --cluster` reads from a live cluster as one YAML file (read-only;
    /// Secret data is never written). `check FILE` reads it offline with the same results.
    Snapshot(SnapshotArgs),
}

/// Which cluster to read and how long to wait (`check --cluster`, `snapshot`).
#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Kube context to use (default: the kubeconfig's current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Read namespaced kinds only in these namespaces (repeat or comma-separate). Include
    /// the control-plane namespace (istio-system) so the mesh is seen.
    #[arg(
        short = 'n',
        long = "namespace",
        value_delimiter = ',',
        value_name = "NS"
    )]
    pub namespaces: Vec<String>,
    /// Longest time the whole cluster read may take (30s, 2m); kinds not read by then are
    /// reported as IPF002 incomplete-read.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

impl ClusterArgs {
    /// The cluster these flags name.
    pub fn target(&self, progress: bool) -> ClusterTarget {
        ClusterTarget {
            context: self.context.clone(),
            kubeconfig: self.kubeconfig.clone(),
            namespaces: self.namespaces.clone(),
            timeout: self.timeout,
            progress,
        }
    }
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    crate::model::duration::parse_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} is not a duration like 30s, 2m or 1m30s"))
}

#[derive(Args, Debug, Clone)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Write the snapshot to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Files or directories to read (directories recursively: .yaml, .yml, .json); `-` is stdin.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Read the live cluster of the kube context instead of files (only GET requests).
    #[arg(long, conflicts_with = "paths")]
    pub cluster: bool,
    #[command(flatten)]
    pub cluster_args: ClusterArgs,
    /// Istio version being upgraded to (e.g. 1.27.2 or 1.27).
    #[arg(long, value_name = "VERSION")]
    pub target: Option<String>,
    /// Override the detected current Istio version.
    #[arg(long, value_name = "VERSION")]
    pub current: Option<String>,
    /// How the upgrade will be done [default: canary].
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    /// Helm values file used to install Istio (repeatable); checked for removed settings.
    #[arg(long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Kubernetes version, when it cannot be read from Node objects.
    #[arg(long, value_name = "VERSION")]
    pub kube_version: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only run these rules (codes or prefixes, comma-separated: IPF4,IPF101).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub select: Vec<String>,
    /// Skip these rules (codes or prefixes).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub ignore: Vec<String>,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Apply the safe fixes to the files in place, then report the findings that remain.
    #[arg(long, conflicts_with = "diff")]
    pub fix: bool,
    /// Print the fixes as a unified diff and change nothing.
    #[arg(long)]
    pub diff: bool,
    /// With --fix or --diff, include fixes marked unsafe (review them).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Config file [default: the nearest .istio-preflight.yaml in the current directory or above].
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore every .istio-preflight.yaml.
    #[arg(long)]
    pub no_config: bool,
    /// Report only findings that are not in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings (after suppressions) in FILE, to adopt them as known.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Pre-merge mode: the same paths at git REF (the pull request's base) are the current
    /// state. Versions there are the current ones and the working tree's the target (unless
    /// --current/--target say otherwise); findings that already exist at REF are marked
    /// pre-existing and do not fail the run.
    #[arg(long, value_name = "REF", conflicts_with = "cluster")]
    pub base: Option<String>,
    /// With --base: findings that already existed at REF fail the run too.
    #[arg(long, requires = "base")]
    pub fail_on_existing: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    #[default]
    Human,
    Json,
    Markdown,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// A rule code or name to explain.
    pub code: Option<String>,
    #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
    pub format: RulesFormat,
}

// The domain's choices as clap values; clap stays in this module.
impl ValueEnum for Strategy {
    fn value_variants<'a>() -> &'a [Self] {
        &Strategy::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let help = match self {
            Strategy::Canary => {
                "A new control-plane revision beside the old one; workloads move by relabelling"
            }
            Strategy::InPlace => {
                "The running control plane is replaced; every proxy follows on restart"
            }
        };
        Some(PossibleValue::new(self.as_str()).help(help))
    }
}

impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &Format::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Github => "github",
            Format::Junit => "junit",
            Format::Gitlab => "gitlab",
        }))
    }
}

impl FailOn {
    fn severity(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

impl CheckArgs {
    /// Resolves the flags into [`Settings`]: the config file (`--config`, or the nearest
    /// `.istio-preflight.yaml`) supplies defaults that flags override, a list given on the
    /// command line replaces the file's list, and the run date is read once.
    pub fn settings(&self) -> Result<Settings, String> {
        let config = if self.no_config {
            None
        } else {
            crate::settings::config::discover(self.config.as_deref())?
                .map(|p| crate::settings::config::load(&p))
                .transpose()?
        };
        let c = config.as_ref();
        let version = |flag: &str, given: &Option<String>, file: Option<&String>| {
            settings::parse_version(flag, given.as_deref().or(file.map(String::as_str)))
        };
        let upgrade = Upgrade {
            target: version("--target", &self.target, c.and_then(|c| c.target.as_ref()))?,
            strategy: self
                .strategy
                .or(c.and_then(|c| c.strategy))
                .unwrap_or_default(),
        };
        let mesh = crate::model::mesh::MeshOptions {
            current: version(
                "--current",
                &self.current,
                c.and_then(|c| c.current.as_ref()),
            )?,
            kube_version: version(
                "--kube-version",
                &self.kube_version,
                c.and_then(|c| c.kube_version.as_ref()),
            )?,
        };
        let pick = |flag: &Vec<String>, file: Option<&Vec<String>>| {
            if flag.is_empty() {
                file.cloned().unwrap_or_default()
            } else {
                flag.clone()
            }
        };
        let selection = Selection::new(
            pick(&self.select, c.map(|c| &c.select)),
            pick(&self.ignore, c.map(|c| &c.ignore)),
        )?;
        let ca = &self.cluster_args;
        let input = if self.cluster {
            Input::Cluster(ca.target(self.format == Format::Human))
        } else if ca.context.is_some() || ca.kubeconfig.is_some() || !ca.namespaces.is_empty() {
            return Err("--context, --kubeconfig and --namespace need --cluster".to_string());
        } else {
            Input::Files(self.paths.clone())
        };
        Ok(Settings {
            input,
            values: self.values.clone(),
            upgrade,
            mesh,
            selection,
            config,
            baseline: self.baseline.clone(),
            base: self.base.as_ref().map(|reference| settings::Base {
                reference: reference.clone(),
                fail_on_existing: self.fail_on_existing,
            }),
            today: crate::model::date::Date::run_date()?,
            limits: crate::settings::Limits::default(),
            output: Output {
                format: self.format,
                path: self.output.clone(),
                fail_on: self.fail_on.severity(),
                fix: if self.fix {
                    FixMode::Apply
                } else if self.diff {
                    FixMode::Diff
                } else {
                    FixMode::Report
                },
                unsafe_fixes: self.unsafe_fixes,
                write_baseline: self.write_baseline.clone(),
            },
        })
    }
}
