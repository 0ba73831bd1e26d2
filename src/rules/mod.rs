//! The rule set: one file per rule, and the one explicit registry below.

use crate::diagnostic::{Diagnostic, Fix, Severity, Subject};
use crate::load::files::ReadProblem;
use crate::model::gvk::Reads;
use crate::model::workload::ShapeError;
use crate::model::{FieldPath, Inventory, ObjectId};

pub mod ipf001_invalid_manifest;
pub mod ipf002_incomplete_read;
pub mod ipf101_proxy_version_skew;
pub mod ipf102_upgrade_hop_too_large;
pub mod ipf103_kubernetes_version_unsupported;
pub mod ipf104_component_version_mismatch;
pub mod ipf105_istio_version_eol;
pub mod ipf106_downgrade;
pub mod ipf107_compatibility_version_unsupported;
pub mod ipf201_stale_injection_webhook;
pub mod ipf202_stale_validation_webhook;
pub mod ipf203_conflicting_injection_labels;
pub mod ipf204_overlapping_injectors;
pub mod ipf205_revision_not_found;
pub mod ipf206_injection_label_pins_default;
pub mod ipf301_crd_missing;
pub mod ipf302_crd_not_established;
pub mod ipf303_crds_behind_target;
pub mod ipf304_api_version_not_served;
pub mod ipf305_schema_invalid_for_target;
pub mod ipf306_deprecated_annotation;
pub mod ipf307_removed_install_setting;
pub mod ipf308_envoyfilter_needs_review;
pub mod ipf309_behavior_change;
pub mod ipf310_removed_component;
pub mod ipf311_helm_crd_ownership;
pub mod ipf312_kubernetes_api_removed;
pub mod ipf401_pdb_blocks_eviction;
pub mod ipf402_missing_pdb;
pub mod ipf403_rolling_update_capacity_loss;
pub mod ipf404_single_replica_meshed_workload;
pub mod ipf405_grace_period_shorter_than_drain;
pub mod ipf406_proxy_start_not_held;
pub mod ipf407_long_lived_connections_drain;
pub mod ipf501_no_capacity_for_second_control_plane;
pub mod ipf502_istiod_pdb_blocks_drain;
pub mod ipf503_gateway_in_place_upgrade;
pub mod ipf504_duplicate_gateway_loadbalancer;

/// Every rule, in code order. Adding a rule means adding its file and one line here.
pub static RULES: &[&Rule] = &[
    &ipf001_invalid_manifest::RULE,
    &ipf002_incomplete_read::RULE,
    &ipf101_proxy_version_skew::RULE,
    &ipf102_upgrade_hop_too_large::RULE,
    &ipf103_kubernetes_version_unsupported::RULE,
    &ipf104_component_version_mismatch::RULE,
    &ipf105_istio_version_eol::RULE,
    &ipf106_downgrade::RULE,
    &ipf107_compatibility_version_unsupported::RULE,
    &ipf201_stale_injection_webhook::RULE,
    &ipf202_stale_validation_webhook::RULE,
    &ipf203_conflicting_injection_labels::RULE,
    &ipf204_overlapping_injectors::RULE,
    &ipf205_revision_not_found::RULE,
    &ipf206_injection_label_pins_default::RULE,
    &ipf301_crd_missing::RULE,
    &ipf302_crd_not_established::RULE,
    &ipf303_crds_behind_target::RULE,
    &ipf304_api_version_not_served::RULE,
    &ipf305_schema_invalid_for_target::RULE,
    &ipf306_deprecated_annotation::RULE,
    &ipf307_removed_install_setting::RULE,
    &ipf308_envoyfilter_needs_review::RULE,
    &ipf309_behavior_change::RULE,
    &ipf310_removed_component::RULE,
    &ipf311_helm_crd_ownership::RULE,
    &ipf312_kubernetes_api_removed::RULE,
    &ipf401_pdb_blocks_eviction::RULE,
    &ipf402_missing_pdb::RULE,
    &ipf403_rolling_update_capacity_loss::RULE,
    &ipf404_single_replica_meshed_workload::RULE,
    &ipf405_grace_period_shorter_than_drain::RULE,
    &ipf406_proxy_start_not_held::RULE,
    &ipf407_long_lived_connections_drain::RULE,
    &ipf501_no_capacity_for_second_control_plane::RULE,
    &ipf502_istiod_pdb_blocks_drain::RULE,
    &ipf503_gateway_in_place_upgrade::RULE,
    &ipf504_duplicate_gateway_loadbalancer::RULE,
];

/// A rule: its metadata, its documentation (the doc comment of its declaration) and its check.
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// Markdown, from the rule's doc comment.
    raw_docs: &'static str,
    pub fix: FixAvailability,
    /// The kinds the rule reads (what a live read must list for it).
    pub reads: Reads,
    pub check: fn(&Context, &mut Sink),
}

/// Whether a rule's findings carry a fix that `--fix` can apply (safe or unsafe edits; a
/// display-only suggestion does not count), as ruff's `FixAvailability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixAvailability {
    /// Never: findings say what to do, but nothing applies itself.
    None,
    /// For some findings (where the value to write is known and the edit stays inside the
    /// field the finding is about).
    Sometimes,
    /// For every finding.
    Always,
}

impl FixAvailability {
    pub fn as_str(self) -> &'static str {
        match self {
            FixAvailability::None => "none",
            FixAvailability::Sometimes => "sometimes",
            FixAvailability::Always => "always",
        }
    }
}

/// The part of the upgrade a rule is about: the hundreds of its code (SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// IPF0xx: what could not be read or parsed.
    Input,
    /// IPF1xx: Istio and Kubernetes versions and the upgrade path.
    Versions,
    /// IPF2xx: injection webhooks, injection labels and revisions.
    Webhooks,
    /// IPF3xx: CRDs, API versions, annotations, install settings and changed defaults.
    CrdsAndConfig,
    /// IPF4xx: how meshed workloads restart and drain.
    Workloads,
    /// IPF5xx: room and disruption budgets for the control plane and gateways.
    ControlPlane,
    /// IPF6xx: several clusters of one mesh.
    Multicluster,
    /// IPF7xx: ambient mode (ztunnel, istio-cni, waypoints).
    Ambient,
    /// IPF8xx: the Gateway API.
    GatewayApi,
}

impl Category {
    /// The category of a code `IPFnxx`. A code outside the catalog's ranges is a mistake in
    /// a rule declaration, so this fails the build (the registry is a `static`).
    pub const fn of_code(code: &str) -> Category {
        let b = code.as_bytes();
        assert!(
            b.len() == 6 && b[0] == b'I' && b[1] == b'P' && b[2] == b'F',
            "a rule code is IPF and three digits"
        );
        match b[3] {
            b'0' => Category::Input,
            b'1' => Category::Versions,
            b'2' => Category::Webhooks,
            b'3' => Category::CrdsAndConfig,
            b'4' => Category::Workloads,
            b'5' => Category::ControlPlane,
            b'6' => Category::Multicluster,
            b'7' => Category::Ambient,
            b'8' => Category::GatewayApi,
            _ => panic!("no category for this code range (SPEC §4)"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Input => "input",
            Category::Versions => "versions",
            Category::Webhooks => "webhooks",
            Category::CrdsAndConfig => "crds-and-config",
            Category::Workloads => "workloads",
            Category::ControlPlane => "control-plane",
            Category::Multicluster => "multicluster",
            Category::Ambient => "ambient",
            Category::GatewayApi => "gateway-api",
        }
    }
}

impl Rule {
    /// The part of the upgrade the rule is about, from its code.
    pub fn category(&self) -> Category {
        Category::of_code(self.code)
    }

    /// Whether `pattern` stands for this rule: its code, a prefix of it (case-insensitive)
    /// or its name, as people write them in `--select`, `--ignore` and the config file.
    pub fn matches(&self, pattern: &str) -> bool {
        code_matches(self.code, pattern) || self.name == pattern.trim()
    }

    /// The rule's documentation, with the doc comment's leading spaces removed.
    pub fn docs(&self) -> String {
        self.raw_docs
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Declares a rule: the doc comment is its user documentation, then its metadata. The
/// module must define `fn check(cx: &Context, sink: &mut Sink)`.
///
/// - `fix:` is a [`FixAvailability`] variant: `None`, `Sometimes` or `Always`.
/// - `reads:` lists the kinds the rule needs, as [`crate::model::gvk`] constants, optionally
///   followed by `+ EVERY_CHECKED_KIND` for a rule that also looks at every kind some rule
///   interprets. The category follows from the code.
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        code: $code:literal,
        name: $name:literal,
        severity: $severity:ident,
        summary: $summary:literal,
        fix: $fix:ident,
        reads: [$($kind:expr),* $(,)?] $(+ $every:ident)? $(,)?
    ) => {
        $(#[doc = $doc])*
        pub static RULE: $crate::rules::Rule = $crate::rules::Rule::new(
            $code,
            $name,
            $crate::diagnostic::Severity::$severity,
            $summary,
            concat!($($doc, "\n"),*),
            $crate::rules::FixAvailability::$fix,
            $crate::model::gvk::Reads {
                kinds: &[$($kind),*],
                every_checked_kind: $crate::__reads_every!($($every)?),
            },
            check,
        );
    };
}

/// `+ EVERY_CHECKED_KIND` in `declare_rule!`; any other word there fails to compile.
#[doc(hidden)]
#[macro_export]
macro_rules! __reads_every {
    () => {
        false
    };
    (EVERY_CHECKED_KIND) => {
        true
    };
}

impl Rule {
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        code: &'static str,
        name: &'static str,
        severity: Severity,
        summary: &'static str,
        raw_docs: &'static str,
        fix: FixAvailability,
        reads: Reads,
        check: fn(&Context, &mut Sink),
    ) -> Rule {
        // Checked here so that a code outside the catalog's ranges fails the build.
        let _ = Category::of_code(code);
        Rule {
            code,
            name,
            severity,
            summary,
            raw_docs,
            fix,
            reads,
            check,
        }
    }
}

pub use crate::settings::{Strategy, Upgrade};

/// What a rule sees.
pub struct Context<'a> {
    /// The run date (`ISTIO_PREFLIGHT_TODAY` overrides the clock), for end-of-life checks.
    pub today: crate::model::date::Date,
    /// Istio release facts from `rules/` (versions, support, CRDs, removed settings).
    pub release: &'a crate::release::ReleaseData,
    pub inventory: &'a Inventory,
    pub upgrade: &'a Upgrade,
    pub read_problems: &'a [ReadProblem],
    /// Paths that could not be read at all (missing, permission denied).
    pub unreadable: &'a [String],
    /// Helm values files given with `--values`.
    pub values: &'a [crate::model::install::ValuesFile],
    pub shape_errors: &'a [ShapeError],
    /// The rules selected for this run, including any that did not run because a kind
    /// they read could not be read (IPF002 names them).
    pub selected_rules: &'a [&'static Rule],
}

impl Context<'_> {
    /// The running Istio version and the planned target, when both are known: the pair the
    /// upgrade-path rules judge.
    pub fn current_and_target(&self) -> Option<(&crate::model::Version, &crate::model::Version)> {
        Some((
            self.inventory.mesh.current_version()?,
            self.upgrade.target.as_ref()?,
        ))
    }

    /// The release whose facts apply to the estate: the planned target, else the running
    /// version (a check without `--target` judges what runs).
    pub fn target_or_current(&self) -> Option<&crate::model::Version> {
        self.upgrade
            .target
            .as_ref()
            .or(self.inventory.mesh.current_version())
    }
}

/// Where a rule puts its findings.
pub struct Sink {
    rule: &'static Rule,
    pub diagnostics: Vec<Diagnostic>,
}

impl Sink {
    pub fn new(rule: &'static Rule) -> Sink {
        Sink {
            rule,
            diagnostics: Vec::new(),
        }
    }

    fn push(&mut self, subject: Subject, message: String) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic {
            code: self.rule.code,
            name: self.rule.name,
            severity: self.rule.severity,
            message,
            subject,
            fix: None,
            baseline_state: None,
        });
        self.diagnostics.last_mut().expect("just pushed")
    }

    /// A finding about a field of an object.
    pub fn object(
        &mut self,
        object: ObjectId,
        field: impl Into<FieldPath>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let field = field.into();
        self.push(Subject::Object { object, field }, message.into())
    }

    pub fn estate(&mut self, message: impl Into<String>) -> &mut Diagnostic {
        self.push(Subject::Estate, message.into())
    }

    pub fn file(
        &mut self,
        file: usize,
        span: crate::yaml::Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(Subject::File { file, span }, message.into())
    }
}

impl Diagnostic {
    pub fn with_fix(&mut self, fix: Fix) -> &mut Diagnostic {
        self.fix = Some(fix);
        self
    }

    pub fn with_severity(&mut self, severity: Severity) -> &mut Diagnostic {
        self.severity = severity;
        self
    }
}

/// Whether `pattern`, a rule code or code prefix (`IPF4`, `ipf405`, surrounding spaces
/// ignored), covers `code`. The one place codes are matched against what people write:
/// selections, severity overrides, suppressions and ignore annotations.
pub fn code_matches(code: &str, pattern: &str) -> bool {
    let p = pattern.trim();
    !p.is_empty()
        && code
            .get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
}

/// Looks a rule up by its exact code (any case) or name.
pub fn find(code: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code) || r.name == code)
}

/// Runs one rule over YAML documents, for rule unit tests that need inputs a fixture folder
/// cannot hold (objects whose names Istio fixes, cases that need an otherwise empty input).
#[cfg(test)]
pub(crate) fn run_rule(
    rule: &'static Rule,
    docs: &[&str],
    upgrade: &Upgrade,
) -> (Inventory, Vec<Diagnostic>) {
    let (inventory, shape_errors) = crate::model::inventory_of(docs);
    let cx = Context {
        today: crate::model::date::Date::today_utc(),
        release: crate::release::data(),
        inventory: &inventory,
        upgrade,
        read_problems: &[],
        unreadable: &[],
        values: &[],
        shape_errors: &shape_errors,
        selected_rules: &[],
    };
    let mut sink = Sink::new(rule);
    (rule.check)(&cx, &mut sink);
    (inventory, sink.diagnostics)
}

#[cfg(test)]
mod code_tests {
    use super::*;

    #[test]
    fn patterns_match_codes_by_prefix_in_any_case_and_rules_by_name() {
        assert!(code_matches("IPF405", "IPF4"));
        assert!(code_matches("IPF405", " ipf405 "));
        assert!(!code_matches("IPF405", "IPF4051"));
        assert!(!code_matches("IPF405", ""));
        assert!(!code_matches("IPF405", "  "));
        // A multi-byte pattern is compared, not sliced through.
        assert!(!code_matches("IPF405", "IPé"));
        let rule = find("IPF405").expect("registered");
        assert!(rule.matches("grace-period-shorter-than-drain"));
        assert!(rule.matches("IPF"));
        assert!(!rule.matches("IPF406"));
    }
}
