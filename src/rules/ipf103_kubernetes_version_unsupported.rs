use super::{Context, Sink};
use crate::diagnostic::{Fix, Severity};
use crate::model::gvk::NODE;
use crate::model::{Field, Version};

crate::declare_rule! {
    /// ## What it does
    /// Compares the cluster's Kubernetes version with the range the target Istio release
    /// supports, from the bundled release data (`rules/releases.yaml`: `kubernetes.supported`
    /// and `kubernetes.minimum_enforced`). The Kubernetes version is `--kube-version`, or else
    /// the lowest `status.nodeInfo.kubeletVersion` of the Node objects in the input (the
    /// oldest kubelet is what the mesh must work with). It fires on that Node, or on the
    /// estate when only the flag gives the version.
    ///
    /// Older than the supported range is an error: below the minimum `istioctl` enforces,
    /// `istioctl x precheck` fails with IST0142 and `istioctl install` warns. Newer than the
    /// range is a warning: the release was not tested on it. Without `--target` there is
    /// nothing to compare.
    ///
    /// ## Why it matters during an upgrade
    /// Each Istio release uses Kubernetes APIs and behaviours that only exist from some
    /// version on (native sidecars, admission and discovery APIs). On an older cluster the
    /// new istiod or its webhooks can fail after the old control plane is gone.
    ///
    /// ## Example that fires
    /// Nodes with kubelet `v1.31.4` and `--target 1.30.3` (1.30 supports Kubernetes 1.32 to
    /// 1.36).
    ///
    /// ## Example that does not fire
    /// Nodes at `v1.33.2-eks-1234` with `--target 1.30.3`, or any run without `--target`.
    ///
    /// ## Fix
    /// Upgrade Kubernetes first, or choose an Istio release that supports the cluster's
    /// version (the message lists them).
    ///
    /// ## References
    /// - Supported releases and Kubernetes versions: <https://istio.io/latest/docs/releases/supported-releases/#support-status-of-istio-releases>
    /// - `istioctl x precheck` minimum version (`MinK8SVersion`): istio/istio `istioctl/pkg/install/k8sversion/version.go`
    /// - Release data: `rules/releases.yaml` (each release's `sources`)
    code: "IPF103",
    name: "kubernetes-version-unsupported",
    severity: Error,
    summary: "The cluster's Kubernetes version is outside the range the target Istio release supports",
    fix: None,
    reads: [NODE],
}

/// Where a Node reports its kubelet's version.
const KUBELET_VERSION: Field = Field::new("/status/nodeInfo/kubeletVersion");

fn check(cx: &Context, sink: &mut Sink) {
    let Some(target) = cx.upgrade.target.as_ref() else {
        return;
    };
    let inv = cx.inventory;
    let Some(kube) = inv.mesh.kube_version.as_ref() else {
        return;
    };
    let data = cx.release;
    let Some(rel) = data.release(target) else {
        return; // IPF105 says the target is unknown to the data.
    };
    let (min, max) = rel.kubernetes_supported();
    let enforced = rel.minimum_enforced(Some(target));
    let kube_minor = kube.minor_string();
    let source = rel
        .web_source()
        .unwrap_or("https://istio.io/latest/docs/releases/supported-releases/");
    let oldest_node = inv
        .of_kind("Node")
        .filter_map(|(id, n)| {
            let v = KUBELET_VERSION
                .read_str(n.root())
                .and_then(Version::parse)?;
            Some((id, v))
        })
        .min_by(|(ia, a), (ib, b)| a.semver.cmp(&b.semver).then(ia.cmp(ib)))
        // The version came from the Nodes (or the flag agrees with them).
        .filter(|(_, v)| v.semver == kube.semver);
    let origin = if oldest_node.is_some() {
        "the oldest kubelet in the input"
    } else {
        "from --kube-version"
    };
    let (message, severity) = if kube.semver.minor < min.semver.minor {
        let precheck = if kube.semver.minor < enforced.semver.minor {
            format!("; `istioctl x precheck` rejects anything below {enforced} (IST0142)")
        } else {
            String::new()
        };
        (
            format!(
                "Kubernetes {kube} ({origin}) is older than Istio {} supports ({min} to {max}, {source}){precheck}",
                rel.minor
            ),
            Severity::Error,
        )
    } else if kube.semver.minor > max.semver.minor {
        (
            format!(
                "Kubernetes {kube} ({origin}) is newer than Istio {} was tested on ({min} to {max}, {source})",
                rel.minor
            ),
            Severity::Warning,
        )
    } else {
        return;
    };
    let current = inv.mesh.current_version();
    let fitting: Vec<&str> = data
        .releases
        .iter()
        .filter(|r| {
            let (lo, hi) = r.kubernetes_supported();
            lo.semver.minor <= kube.semver.minor && kube.semver.minor <= hi.semver.minor
        })
        .filter(|r| r.eol().is_none_or(|eol| eol > cx.today))
        .filter(|r| {
            current.is_none_or(|c| {
                Version::parse(&r.minor).is_some_and(|m| m.semver.minor >= c.semver.minor)
            })
        })
        .map(|r| r.minor.as_str())
        .collect();
    let alternatives = match fitting.as_slice() {
        [] => String::new(),
        [one] => format!(", or upgrade Istio to {one}, which supports Kubernetes {kube_minor}"),
        list => format!(
            ", or upgrade Istio to a supported release that supports Kubernetes {kube_minor} ({})",
            list.join(", ")
        ),
    };
    let fix = if severity == Severity::Error {
        Fix::display_only(format!(
            "upgrade Kubernetes to {min} or later before Istio {}{alternatives}",
            rel.minor
        ))
    } else {
        Fix::display_only(format!(
            "check Istio {} on Kubernetes {kube_minor} in a test cluster first{alternatives}",
            rel.minor
        ))
    };
    let diagnostic = match oldest_node {
        Some((id, _)) => sink.object(id, KUBELET_VERSION, message),
        None => sink.estate(message),
    };
    diagnostic.with_severity(severity).with_fix(fix);
}
