use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::crd::{self, is_istio_group};
use crate::model::gvk::CUSTOM_RESOURCE_DEFINITION;
use crate::model::Field;
use crate::model::Version;
use crate::release::reached;

crate::declare_rule! {
    /// ## What it does
    /// With `--target`, compares every Istio CustomResourceDefinition in the input with the
    /// same CRD of the target release (`rules/crds.yaml`, generated from Istio's
    /// `crd-all.gen.yaml`) and fires, at `spec.versions`, when the installed CRD does not
    /// serve an API version that the target's serves.
    ///
    /// ## Why it matters during an upgrade
    /// A new istiod reads and writes its resources at the versions its own CRDs serve (for
    /// example `networking.istio.io/v1`, added in 1.22). Against older CRDs its informers
    /// fail and the resources in that version cannot be applied. The CRDs (the `istio-base`
    /// chart) must be upgraded before the new istiod.
    ///
    /// ## Example that fires
    /// `virtualservices.networking.istio.io` serving only `v1alpha3` and `v1beta1` (Istio
    /// 1.21's CRD) with `--target 1.30.3`, whose CRD also serves `v1`.
    ///
    /// ## Example that does not fire
    /// The same CRD from Istio 1.22 or later, or any CRD without `--target`.
    ///
    /// ## Fix
    /// Upgrade the CRDs to the target release first, then install the new istiod. How
    /// depends on the target's istio-base chart (`rules/install-settings.yaml`
    /// `chart_changes`, `kind: crd_helm_ownership`): from 1.24 its templates carry the CRDs,
    /// so `helm upgrade istio-base istio/base -n istio-system --version <target>` upgrades
    /// them (IPF311 covers CRDs Helm does not own yet); up to 1.23 they sit in the chart's
    /// `crds/` directory, which Helm installs once and never upgrades, so the fix says
    /// `kubectl apply --server-side -f manifests/charts/base/crds/` from the target's
    /// release, then `helm upgrade istio-base ... --skip-crds`, as Istio's own upgrade guide
    /// for those releases does.
    ///
    /// ## References
    /// - Helm upgrade, CRDs first: <https://istio.io/latest/docs/setup/upgrade/helm/>
    /// - Up to 1.23, "kubectl apply -f manifests/charts/base/crds": <https://istio.io/v1.23/docs/setup/upgrade/helm/>, <https://istio.io/v1.22/docs/ambient/upgrade/helm-upgrade/>
    /// - Helm never upgrades a chart's `crds/` directory: <https://helm.sh/docs/chart_best_practices/custom_resource_definitions/>
    /// - Ambient upgrade ("must be upgraded prior to the deployment of a new version of the control plane"): <https://istio.io/latest/docs/ambient/upgrade/helm/>
    /// - Istio's CRD bundle: istio/istio `manifests/charts/base/files/crd-all.gen.yaml`
    /// - Release data: `rules/crds.yaml`
    code: "IPF303",
    name: "crds-behind-target",
    severity: Error,
    summary: "Installed Istio CRDs do not serve the API versions the target control plane needs: upgrade the CRDs first",
    fix: None,
    reads: [CUSTOM_RESOURCE_DEFINITION],
}

/// Where a CRD lists the versions it serves.
const VERSIONS: Field = Field::new("/spec/versions");

fn check(cx: &Context, sink: &mut Sink) {
    let Some(target) = cx.upgrade.target.as_ref() else {
        return;
    };
    let data = cx.release;
    let Some(wanted) = data.crds(target) else {
        return;
    };
    for c in crd::installed(cx.inventory) {
        if !is_istio_group(c.group) {
            continue;
        }
        // By group and kind, not name: the name is always `<plural>.<group>` in a real cluster.
        let Some(want) = wanted
            .crds
            .iter()
            .find(|w| w.group == c.group && w.kind == c.kind)
        else {
            continue;
        };
        let lacking: Vec<&str> = want
            .served
            .iter()
            .map(String::as_str)
            .filter(|v| !c.serves(v))
            .collect();
        if lacking.is_empty() {
            continue;
        }
        let served = c.served();
        let storage = if lacking.contains(&want.storage.as_str()) {
            format!(", including its storage version {}", want.storage)
        } else {
            String::new()
        };
        sink.object(
            c.id,
            VERSIONS,
            format!(
                "CRD {} serves {}; Istio {}'s serves {} too{storage} ({}): upgrade istio-base / the CRDs before the new istiod",
                want.name,
                if served.is_empty() { "no version".to_string() } else { served.join(", ") },
                wanted.minor,
                lacking.join(", "),
                wanted.source
            ),
        )
        .with_fix(Fix::display_only(upgrade_command(cx, target, &wanted.git_ref)));
    }
}

/// How to bring the CRDs to the target's, per the target's own upgrade guide: from the
/// release whose istio-base chart templates the CRDs, `helm upgrade` of the chart does it;
/// before it the CRDs sit in the chart's `crds/` directory, which Helm never upgrades, so
/// they are applied from the target's release.
fn upgrade_command(cx: &Context, target: &Version, git_ref: &str) -> String {
    let templated = cx
        .release
        .install_settings
        .crd_templates_change()
        .is_some_and(|c| reached(target, Some(&c.release)));
    if templated {
        format!("helm upgrade istio-base istio/base -n istio-system --version {target} (its templates carry the CRDs), or kubectl apply --server-side -f manifests/charts/base/files/crd-all.gen.yaml of Istio {git_ref}, before installing istiod {target}")
    } else {
        format!("kubectl apply --server-side -f manifests/charts/base/crds/ of Istio {git_ref} (helm upgrade istio-base leaves CRDs in the chart's crds/ directory untouched; then helm upgrade istio-base istio/base -n istio-system --version {target} --skip-crds), before installing istiod {target}")
    }
}
