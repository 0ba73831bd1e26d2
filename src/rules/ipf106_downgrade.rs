use super::{Context, Sink};
use crate::diagnostic::{Fix, Severity};
use crate::model::gvk::DEPLOYMENT;
use crate::model::mesh::ControlPlane;
use crate::model::Version;

crate::declare_rule! {
    /// ## What it does
    /// Compares the current Istio version (`--current`, else the `default` revision's istiod
    /// image, else the oldest running istiod) with `--target`, and fires when the target is
    /// older. A target given as a minor (`--target 1.27`) is older only when its minor is.
    ///
    /// When another control-plane revision in the estate still runs the target version, the
    /// finding says so: going back to a revision that is still installed is a **rollback**
    /// (move the namespaces and tags back to it, then remove the newer revision), which Istio's
    /// canary procedure supports, and the finding is a warning. Without such a revision it is
    /// a **downgrade** of the running control plane, an error.
    ///
    /// ## Why it matters during an upgrade
    /// Istio documents going forward. The way back it documents is the canary rollback:
    /// keep the old revision installed, and return workloads to it. Installing an older
    /// istiod over a newer one (in place, or as a new revision after the old one was removed)
    /// runs a control plane against CRDs, webhooks and configuration written by a newer
    /// release: fields it does not know are dropped, proxies already on the newer version
    /// are ahead of their control plane (never supported), and the older chart may not accept
    /// the values the newer one needed. `istioctl install` itself only warns ("Istio is being
    /// downgraded"). A `--target` older than what runs is also a common slip (a stale CI
    /// variable), and every other rule would then judge the wrong direction.
    ///
    /// ## Example that fires
    /// istiod `pilot:1.28.2` as the only revision and `--target 1.27.4` (error: downgrade);
    /// revisions `1-28-2` (default tag) and `1-27-4` both installed and `--target 1.27.4`
    /// (warning: rollback to revision `1-27-4`).
    ///
    /// ## Example that does not fire
    /// istiod `pilot:1.27.4` and `--target 1.28.2`, `--target 1.28` with istiod `1.28.2`
    /// (same minor, no patch given), or any run without `--target`.
    ///
    /// ## Fix
    /// If the target is a typo or a stale variable, set `--target` to the release you are
    /// upgrading to. To go back after a canary upgrade, relabel the namespaces (or move the
    /// revision tags) to the revision still running the older version, restart the
    /// workloads, then uninstall the newer revision. To go back without an older revision
    /// installed, install the older version as a new revision beside the running one
    /// (`istioctl install --set revision=...` with the older `istioctl`, or the older charts
    /// with `revision=`), move workloads to it, and remove the newer one; keep the CRDs at
    /// the newer release.
    ///
    /// ## References
    /// - Canary upgrades, rollback: <https://istio.io/latest/docs/setup/upgrade/canary/#rollback>
    /// - Helm upgrades, canary rollback: <https://istio.io/latest/docs/setup/upgrade/helm/>
    /// - In-place upgrades (downgrade with the older `istioctl`, at most one minor): <https://istio.io/latest/docs/setup/upgrade/in-place/>
    /// - Supported proxy/control-plane skew: <https://istio.io/latest/docs/releases/supported-releases/#control-planedata-plane-skew>
    code: "IPF106",
    name: "downgrade",
    severity: Error,
    summary: "The target Istio version is older than the running control plane",
    fix: None,
    reads: [DEPLOYMENT],
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some((current, target)) = cx.current_and_target() else {
        return;
    };
    let mesh = &cx.inventory.mesh;
    if !older(target, current) {
        return;
    }
    let rollback_to: Vec<&ControlPlane> = mesh
        .control_planes
        .iter()
        .filter(|cp| cp.object.is_some())
        .filter(|cp| cp.version.as_ref().is_some_and(|v| runs(v, target)))
        .collect();
    let subject = mesh
        .current_control_plane()
        .and_then(|cp| Some((cp.object?, cp.image_field(cx.inventory)?)));
    let (message, fix, severity) = match rollback_to.as_slice() {
        [] => (
            format!(
                "the target {target} is older than the running control plane ({current}), and no installed revision runs {target}: this is a downgrade, which Istio supports only as a canary rollback to a revision that is still installed"
            ),
            Fix::display_only(
                "if the target is a mistake, pass the version you are upgrading to; to go back, install the older release as a new revision beside the running one, move workloads to it, then remove the newer revision (keep the newer CRDs)",
            ),
            Severity::Error,
        ),
        found => {
            let names: Vec<String> = found
                .iter()
                .map(|cp| format!("`{}` in {}", cp.revision, cp.namespace))
                .collect();
            (
                format!(
                    "the target {target} is older than the running control plane ({current}); revision {} still runs it, so this is a rollback, not a downgrade",
                    names.join(", ")
                ),
                Fix::display_only(format!(
                    "roll back: relabel namespaces (`istio.io/rev={}`) or move the revision tags to it, restart the workloads, then uninstall the newer revision",
                    found[0].revision
                )),
                Severity::Warning,
            )
        }
    };
    match subject {
        Some((object, field)) => sink.object(object, field, message),
        None => sink.estate(message),
    }
    .with_severity(severity)
    .with_fix(fix);
}

/// Whether `target` is older than `current`. A target without a patch names the whole
/// minor, so only an older minor is older.
fn older(target: &Version, current: &Version) -> bool {
    if target.patch_known && current.patch_known {
        target.semver < current.semver
    } else {
        target.minors_to(current) > 0
    }
}

/// Whether a control plane at `version` runs what `target` names.
fn runs(version: &Version, target: &Version) -> bool {
    if target.patch_known {
        version.semver.major == target.semver.major
            && version.semver.minor == target.semver.minor
            && version.semver.patch == target.semver.patch
    } else {
        version.minor_string() == target.minor_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_versions_as_named() {
        let v = |t: &str| Version::parse(t).unwrap();
        assert!(older(&v("1.27.4"), &v("1.28.0")));
        assert!(older(&v("1.28.0"), &v("1.28.2")));
        assert!(!older(&v("1.28"), &v("1.28.2")));
        assert!(older(&v("1.27"), &v("1.28.2")));
        assert!(!older(&v("1.29.0"), &v("1.28.2")));
        assert!(!older(&v("1.28.2"), &v("1.28")));
        assert!(runs(&v("1.27.4"), &v("1.27")));
        assert!(!runs(&v("1.27.3"), &v("1.27.4")));
    }
}
