//! One test per rule fixture folder: the objects named `fire-*` must be reported by the
//! folder's rule, the ones named `dont-fire-*` must not, and the human and JSON output must
//! match the insta snapshots beside the input (`human.snap`, `json.snap`). A failing case
//! names its folder; `cargo insta review` (or `INSTA_UPDATE=always`) takes new output.

mod common;

use std::path::Path;

use common::*;
use istio_preflight::emit::{self, Format};

/// One `#[test]` per fixture folder, so `cargo test --test fixtures ipf405` runs one case.
/// `every_fixture_folder_has_a_test` fails when a folder is missing from this list.
macro_rules! fixture_tests {
    ($($test:ident => $folder:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_fixture($folder);
            }
        )*
        const FOLDERS: &[&str] = &[$($folder),*];
    };
}

fixture_tests! {
    ipf001_invalid_manifest => "IPF001-invalid-manifest",
    ipf002_incomplete_read => "IPF002-incomplete-read",
    ipf101_proxy_version_skew => "IPF101-proxy-version-skew",
    ipf102_upgrade_hop_too_large => "IPF102-upgrade-hop-too-large",
    ipf102_upgrade_hop_too_large_in_place => "IPF102-upgrade-hop-too-large-in-place",
    ipf103_kubernetes_version_unsupported => "IPF103-kubernetes-version-unsupported",
    ipf104_component_version_mismatch => "IPF104-component-version-mismatch",
    ipf104_component_version_mismatch_helm_releases => "IPF104-component-version-mismatch-helm-releases",
    ipf105_istio_version_eol => "IPF105-istio-version-eol",
    ipf106_downgrade => "IPF106-downgrade",
    ipf106_downgrade_rollback => "IPF106-downgrade-rollback",
    ipf107_compatibility_version_unsupported => "IPF107-compatibility-version-unsupported",
    ipf201_stale_injection_webhook => "IPF201-stale-injection-webhook",
    ipf202_stale_validation_webhook => "IPF202-stale-validation-webhook",
    ipf203_conflicting_injection_labels => "IPF203-conflicting-injection-labels",
    ipf204_overlapping_injectors => "IPF204-overlapping-injectors",
    ipf205_revision_not_found => "IPF205-revision-not-found",
    ipf206_injection_label_pins_default => "IPF206-injection-label-pins-default",
    ipf301_crd_missing => "IPF301-crd-missing",
    ipf302_crd_not_established => "IPF302-crd-not-established",
    ipf303_crds_behind_target => "IPF303-crds-behind-target",
    ipf303_crds_behind_target_in_crds_dir => "IPF303-crds-behind-target-in-crds-dir",
    ipf304_api_version_not_served => "IPF304-api-version-not-served",
    ipf304_api_version_not_served_before_removal => "IPF304-api-version-not-served-before-removal",
    ipf305_schema_invalid_for_target => "IPF305-schema-invalid-for-target",
    ipf306_deprecated_annotation => "IPF306-deprecated-annotation",
    ipf307_removed_install_setting => "IPF307-removed-install-setting",
    ipf307_removed_install_setting_1_5 => "IPF307-removed-install-setting-1-5",
    ipf307_removed_install_setting_helm_releases => "IPF307-removed-install-setting-helm-releases",
    ipf308_envoyfilter_needs_review => "IPF308-envoyfilter-needs-review",
    ipf309_behavior_change => "IPF309-behavior-change",
    ipf309_behavior_change_1_25 => "IPF309-behavior-change-1.25",
    ipf309_behavior_change_1_30 => "IPF309-behavior-change-1.30",
    ipf310_removed_component => "IPF310-removed-component",
    ipf311_helm_crd_ownership => "IPF311-helm-crd-ownership",
    ipf311_helm_crd_ownership_gitops => "IPF311-helm-crd-ownership-gitops",
    ipf312_kubernetes_api_removed => "IPF312-kubernetes-api-removed",
    ipf401_pdb_blocks_eviction => "IPF401-pdb-blocks-eviction",
    ipf402_missing_pdb => "IPF402-missing-pdb",
    ipf403_rolling_update_capacity_loss => "IPF403-rolling-update-capacity-loss",
    ipf404_single_replica_meshed_workload => "IPF404-single-replica-meshed-workload",
    ipf405_grace_period_shorter_than_drain => "IPF405-grace-period-shorter-than-drain",
    ipf405_grace_period_shorter_than_drain_native_default => "IPF405-grace-period-shorter-than-drain-native-default",
    ipf406_proxy_start_not_held => "IPF406-proxy-start-not-held",
    ipf406_proxy_start_not_held_after_upgrade => "IPF406-proxy-start-not-held-after-upgrade",
    ipf406_proxy_start_not_held_compatibility_version => "IPF406-proxy-start-not-held-compatibility-version",
    ipf406_proxy_start_not_held_old_kubelets => "IPF406-proxy-start-not-held-old-kubelets",
    ipf407_long_lived_connections_drain => "IPF407-long-lived-connections-drain",
    ipf501_no_capacity_for_second_control_plane => "IPF501-no-capacity-for-second-control-plane",
    ipf502_istiod_pdb_blocks_drain => "IPF502-istiod-pdb-blocks-drain",
    ipf503_gateway_in_place_upgrade => "IPF503-gateway-in-place-upgrade",
    ipf503_gateway_in_place_upgrade_operator_era => "IPF503-gateway-in-place-upgrade-operator-era",
    ipf504_duplicate_gateway_loadbalancer => "IPF504-duplicate-gateway-loadbalancer",
}

#[test]
fn every_fixture_folder_has_a_test() {
    let on_disk: Vec<String> = rule_fixture_dirs()
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        on_disk, FOLDERS,
        "add each fixture folder to fixture_tests! in tests/fixtures.rs"
    );
}

/// The report of a fixture folder's input, checked with its rule only and its `args`.
fn fixture_report(name: &str) -> istio_preflight::report::Report {
    let dir = Path::new("fixtures").join(name);
    let code = &name[..6];
    let mut args: Vec<String> = fixture_inputs(&dir);
    args.extend(["--select".to_string(), code.to_string()]);
    args.extend(fixture_args(&dir));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    istio_preflight::check(&check_args(&argv)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The `fire-*` and `dont-fire-*` names in a fixture's report, split by whether `code`
/// reported them: objects through their findings, and documents that hold no object (a
/// manifest that does not parse) through the findings placed in their lines.
fn reported_case_names(
    report: &istio_preflight::report::Report,
    code: &str,
) -> (Vec<String>, Vec<String>) {
    use istio_preflight::diagnostic::Subject;
    let mut names: Vec<(String, bool)> = Vec::new();
    for (id, o) in report.inventory.objects.iter().enumerate() {
        let hit = report
            .diagnostics
            .iter()
            .any(|d| d.code == code && d.object() == Some(id));
        names.push((o.name().to_string(), hit));
    }
    for d in report.diagnostics.iter().filter(|d| d.code == code) {
        let Subject::File { file, span } = &d.subject else {
            continue;
        };
        let bytes = std::fs::read(&report.files[*file].path).expect("fixture file");
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        let at = (span.start.line as usize)
            .saturating_sub(1)
            .min(lines.len());
        let start = lines[..at]
            .iter()
            .rposition(|l| l.starts_with("---"))
            .map_or(0, |i| i + 1);
        let end = lines[at..]
            .iter()
            .position(|l| l.starts_with("---"))
            .map_or(lines.len(), |i| at + i);
        for line in &lines[start..end] {
            if let Some(n) = line.trim().strip_prefix("name: ") {
                names.push((n.trim_matches(['"', '\'']).to_string(), true));
            }
        }
    }
    let mut fired = Vec::new();
    let mut quiet = Vec::new();
    for (n, hit) in names {
        if hit && n.starts_with("fire-") {
            fired.push(n);
        } else if !hit && n.starts_with("dont-fire-") {
            quiet.push(n);
        }
    }
    (fired, quiet)
}

/// The guard against rules shipped without a check that works: every registered rule needs
/// a fixture folder where a `fire-*` case really produces its code and a `dont-fire-*`
/// case really does not (judged on the findings, not on the file names).
#[test]
fn every_rule_fires_on_a_fire_case_and_not_on_a_dont_fire_case() {
    let mut missing = Vec::new();
    for rule in istio_preflight::rules::RULES {
        let (mut fired, mut quiet) = (Vec::new(), Vec::new());
        for name in FOLDERS
            .iter()
            .filter(|f| f.starts_with(&format!("{}-", rule.code)))
        {
            let (f, q) = reported_case_names(&fixture_report(name), rule.code);
            fired.extend(f);
            quiet.extend(q);
        }
        if fired.is_empty() {
            missing.push(format!(
                "{}: no fire-* object in fixtures/{}-* is reported by it",
                rule.code, rule.code
            ));
        }
        if quiet.is_empty() {
            missing.push(format!(
                "{}: fixtures/{}-* have no dont-fire-* object that it leaves alone",
                rule.code, rule.code
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

fn check_fixture(name: &str) {
    let dir = Path::new("fixtures").join(name);
    let code = &name[..6];
    let report = fixture_report(name);

    let reported: std::collections::HashSet<usize> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .filter_map(|d| d.object())
        .collect();
    let mut failures = Vec::new();
    let mut fire = 0;
    for (id, o) in report.inventory.objects.iter().enumerate() {
        if o.name().starts_with("fire-") {
            fire += 1;
            if !reported.contains(&id) {
                failures.push(format!(
                    "{} should be reported by {code} but is not",
                    o.display_name()
                ));
            }
        } else if reported.contains(&id) {
            let why = if o.name().starts_with("dont-fire-") {
                "must not be reported"
            } else {
                "is a supporting object and should not be reported (name the case fire-* if it should)"
            };
            let messages: Vec<&str> = report
                .diagnostics
                .iter()
                .filter(|d| d.object() == Some(id))
                .map(|d| d.message.as_str())
                .collect();
            failures.push(format!(
                "{} {why}, but {code} says: {}",
                o.display_name(),
                messages.join(" | ")
            ));
        }
    }
    if fire == 0 && code != "IPF001" {
        failures.push("has no fire-* object".to_string());
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(std::env::current_dir().expect("cwd").join(&dir));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::assert_snapshot!("human", emit::render(&report, Format::Human, false));
        insta::assert_snapshot!("json", emit::render(&report, Format::Json, false));
    });
    assert!(
        failures.is_empty(),
        "{name}: fixture expectations failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_a_fixture_and_complete_docs() {
    let dirs: Vec<String> = rule_fixture_dirs()
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    let mut codes = std::collections::HashSet::new();
    for rule in istio_preflight::rules::RULES {
        assert!(codes.insert(rule.code), "duplicate code {}", rule.code);
        let expected = format!("{}-{}", rule.code, rule.name);
        assert!(
            dirs.contains(&expected),
            "rule {} has no fixture folder fixtures/{expected}",
            rule.code
        );
        let docs = rule.docs();
        for section in [
            "## What it does",
            "## Why it matters during an upgrade",
            "## Example that fires",
            "## Example that does not fire",
            "## Fix",
            "## References",
        ] {
            assert!(
                docs.contains(section),
                "{} docs lack the section {section:?}",
                rule.code
            );
        }
        assert!(
            !docs.contains("TODO(new-rule)") && !rule.summary.contains("TODO(new-rule)"),
            "{} still has the TODO(new-rule) placeholders of tools/new-rule",
            rule.code
        );
        assert!(
            rule.code.len() == 6 && rule.code.starts_with("IPF"),
            "bad code {}",
            rule.code
        );
        assert!(
            rule.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-'),
            "{} name is not kebab-case",
            rule.code
        );
    }
}

#[test]
fn generated_rule_docs_and_readme_table_are_fresh() {
    for rule in istio_preflight::rules::RULES {
        let path = std::path::Path::new("rules/docs").join(format!("{}.md", rule.code));
        if updating() {
            std::fs::create_dir_all("rules/docs").unwrap();
        }
        assert_snapshot(&path, &istio_preflight::rule_page(rule));
    }
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let (start, end) = ("<!-- rules:start -->\n", "<!-- rules:end -->");
    let (Some(a), Some(b)) = (readme.find(start), readme.find(end)) else {
        panic!("README.md lacks the rule table markers");
    };
    let table = istio_preflight::rules_markdown();
    let current = &readme[a + start.len()..b];
    if current != table {
        if updating() {
            let updated = format!("{}{table}{}", &readme[..a + start.len()], &readme[b..]);
            std::fs::write("README.md", updated).unwrap();
        } else {
            panic!("README.md's rule table is stale; run `UPDATE_SNAPSHOTS=1 cargo test`");
        }
    }
}
