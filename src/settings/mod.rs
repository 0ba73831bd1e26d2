//! What one run does, resolved once before any work starts (ripgrep's `HiArgs`): the command
//! line merged with the config file, rule patterns checked against the registry, versions
//! parsed, the run date read. Everything below the command line takes a [`Settings`] and
//! never the argument parser's types; `cli` is the only module that knows clap.

use std::path::PathBuf;
use std::time::Duration;

pub mod config;

use crate::diagnostic::Severity;
use crate::model::date::Date;
use crate::model::mesh::MeshOptions;
use crate::model::Version;
use crate::rules::{Rule, RULES};
use crate::settings::config::Config;

/// Everything `check` needs to know, already validated.
#[derive(Debug)]
pub struct Settings {
    /// Where the estate is read from.
    pub input: Input,
    /// Helm values files used to install Istio (`--values`); checked for removed settings.
    pub values: Vec<PathBuf>,
    pub upgrade: Upgrade,
    /// `--current` and `--kube-version`, given or from the config file.
    pub mesh: MeshOptions,
    pub selection: Selection,
    /// The config file, when one was found: its severity overrides, suppressions and
    /// excludes are applied by the policy stage.
    pub config: Option<Config>,
    /// Report only findings that are not in this baseline file.
    pub baseline: Option<PathBuf>,
    /// Pre-merge mode (`--base REF`): the same paths at a git commit are the current state.
    pub base: Option<Base>,
    /// The run date (`ISTIO_PREFLIGHT_TODAY`, else today in UTC): the one clock that rules
    /// and suppression expiry both read.
    pub today: Date,
    /// How the cluster read behaves.
    pub limits: Limits,
    pub output: Output,
}

/// Where the estate is read from.
#[derive(Clone, Debug)]
pub enum Input {
    /// Files or directories (`-` is stdin).
    Files(Vec<PathBuf>),
    /// A live cluster, read-only.
    Cluster(ClusterTarget),
}

/// Pre-merge mode (SPEC §3a): compare with the estate at a git commit.
#[derive(Clone, Debug)]
pub struct Base {
    /// The revision (branch, tag, commit id) whose tree is the current state.
    pub reference: String,
    /// Findings that already exist at the base fail the run too.
    pub fail_on_existing: bool,
}

/// Which cluster to read and how long to wait (`check --cluster`, `snapshot`).
#[derive(Clone, Debug)]
pub struct ClusterTarget {
    /// Kube context (default: the kubeconfig's current context).
    pub context: Option<String>,
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster).
    pub kubeconfig: Option<PathBuf>,
    /// Read namespaced kinds only in these namespaces; empty means all.
    pub namespaces: Vec<String>,
    /// Longest time the whole read may take.
    pub timeout: Duration,
    /// Show progress on standard error while reading.
    pub progress: bool,
}

/// How the cluster read behaves; the defaults are what the command line uses.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Items per list page (`limit=`).
    pub page_size: usize,
    /// Lists in flight at once. API servers apply priority and fairness per user; a handful
    /// of concurrent lists keeps a read fast without looking like a flood.
    pub concurrency: usize,
    /// Longest wait for one response.
    pub request_timeout: Duration,
    /// Further attempts after a 429, a 5xx or a dropped connection.
    pub retries: u32,
    /// First pause before a retry; doubled each time.
    pub backoff: Duration,
    /// Fresh starts of a list whose continue token expired (410 Gone).
    pub relists: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            page_size: 500,
            concurrency: 8,
            request_timeout: Duration::from_secs(30),
            retries: 4,
            backoff: Duration::from_millis(250),
            relists: 3,
        }
    }
}

/// How the upgrade will be done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// A new control-plane revision beside the old one; workloads move by relabelling.
    #[default]
    Canary,
    /// The running control plane is replaced; every proxy follows on restart.
    InPlace,
}

impl Strategy {
    pub const ALL: [Strategy; 2] = [Strategy::Canary, Strategy::InPlace];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Canary => "canary",
            Strategy::InPlace => "in-place",
        }
    }

    /// The strategy spelled as on the command line (`canary`, `in-place`).
    pub fn parse(text: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The planned upgrade, as given on the command line or in the config file.
#[derive(Clone, Debug, Default)]
pub struct Upgrade {
    pub target: Option<Version>,
    pub strategy: Strategy,
}

/// Which rules run: `select` and `ignore` hold codes, code prefixes (`IPF4`) or rule names.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

impl Selection {
    /// A selection whose every pattern stands for at least one rule.
    pub fn new(select: Vec<String>, ignore: Vec<String>) -> Result<Selection, String> {
        for pattern in select.iter().chain(&ignore) {
            // `--select IPF4,` leaves an empty pattern, which stands for nothing.
            if !pattern.trim().is_empty() && !RULES.iter().any(|r| r.matches(pattern)) {
                return Err(format!(
                    "no rule matches {pattern:?} (see `istio-preflight rules`)"
                ));
            }
        }
        Ok(Selection { select, ignore })
    }

    /// The selected rules, in registry order.
    pub fn rules(&self) -> Vec<&'static Rule> {
        RULES
            .iter()
            .copied()
            .filter(|r| self.select.is_empty() || self.select.iter().any(|p| r.matches(p)))
            .filter(|r| !self.is_ignored(r))
            .collect()
    }

    /// Whether `--ignore` (or the config's `ignore`) names the rule.
    pub fn is_ignored(&self, rule: &Rule) -> bool {
        self.ignore.iter().any(|p| rule.matches(p))
    }
}

/// Output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Human,
    Json,
    Sarif,
    Github,
    Junit,
    Gitlab,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Human,
        Format::Json,
        Format::Sarif,
        Format::Github,
        Format::Junit,
        Format::Gitlab,
    ];
}

/// What to do with the fixes the findings carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FixMode {
    /// Only report.
    #[default]
    Report,
    /// Print the fixes as a unified diff and change nothing.
    Diff,
    /// Apply them to the files, then report what remains.
    Apply,
}

/// What the run writes and how it ends.
#[derive(Clone, Debug, Default)]
pub struct Output {
    pub format: Format,
    /// Write the report here instead of standard output.
    pub path: Option<PathBuf>,
    /// Lowest severity that makes the exit code 1; `None` never fails.
    pub fail_on: Option<Severity>,
    pub fix: FixMode,
    /// With `--fix` or `--diff`, include fixes marked unsafe.
    pub unsafe_fixes: bool,
    /// Record the findings (after suppressions) as a baseline in this file.
    pub write_baseline: Option<PathBuf>,
}

/// Parses a version given as `flag` (`--target`), with an error that names the flag.
pub fn parse_version(flag: &str, text: Option<&str>) -> Result<Option<Version>, String> {
    text.map(|t| {
        Version::parse(t)
            .ok_or_else(|| format!("{flag} {t:?} is not a version like 1.27 or 1.27.2"))
    })
    .transpose()
}
