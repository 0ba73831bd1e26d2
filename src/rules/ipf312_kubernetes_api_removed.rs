use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::path::API_VERSION;
use crate::model::Version;

crate::declare_rule! {
    /// ## What it does
    /// Takes the oldest Kubernetes version the target Istio release supports
    /// (`rules/releases.yaml`, `kubernetes.supported.min`) and reports every object in the
    /// input written at a Kubernetes API version that the API server no longer serves at or
    /// before that version: `policy/v1beta1` PodDisruptionBudgets (gone in Kubernetes 1.25),
    /// `autoscaling/v2beta2` HorizontalPodAutoscalers (1.26), `batch/v1beta1` CronJobs
    /// (1.25), `networking.k8s.io/v1beta1` Ingresses (1.22) and the rest of the Kubernetes
    /// deprecation guide's removals (`rules/removed-apis.yaml`,
    /// `kubernetes_apis_removed`). Without `--target` there is nothing to judge.
    ///
    /// A live cluster answers every read at a version it serves, so this rule is about
    /// manifests: files, charts' rendered output, GitOps repositories.
    ///
    /// ## Why it matters during an upgrade
    /// Each Istio release supports a window of Kubernetes versions, and the window moves up:
    /// upgrading Istio past a point means upgrading the cluster as well. Manifests still
    /// written at an API version that the required Kubernetes no longer serves are rejected
    /// on the next apply (`no matches for kind "PodDisruptionBudget" in version
    /// "policy/v1beta1"`), and a Helm release holding them cannot be upgraded. A
    /// PodDisruptionBudget that can no longer be applied is also the one that was meant to
    /// protect the workload while the upgrade restarts it.
    ///
    /// ## Example that fires
    /// A `policy/v1beta1` PodDisruptionBudget and `--target 1.24.0` (Istio 1.24 supports
    /// Kubernetes 1.28 and later; the API was removed in 1.25).
    ///
    /// ## Example that does not fire
    /// A `policy/v1` PodDisruptionBudget, or an `autoscaling/v2beta2` HorizontalPodAutoscaler
    /// with `--target 1.18.0` (Istio 1.18 supports Kubernetes from 1.24; the API was removed
    /// in 1.26).
    ///
    /// ## Fix
    /// Write the object at the replacement API version named in the message, and apply the
    /// changes the message names beyond the `apiVersion` line (for example, Ingress backends
    /// and HorizontalPodAutoscaler metric targets are shaped differently; an empty
    /// PodDisruptionBudget selector selects every pod in `policy/v1`). `kubectl convert` does
    /// the rewrite for most kinds.
    ///
    /// ## References
    /// - Kubernetes deprecated API migration guide: <https://kubernetes.io/docs/reference/using-api/deprecation-guide/>
    /// - Istio supported Kubernetes versions: <https://istio.io/latest/docs/releases/supported-releases/#support-status-of-istio-releases>
    /// - Release data: `rules/removed-apis.yaml` (`kubernetes_apis_removed`), `rules/releases.yaml` (`kubernetes.supported`)
    code: "IPF312",
    name: "kubernetes-api-removed",
    severity: Error,
    summary: "A resource uses a Kubernetes API version removed at or before the oldest Kubernetes version the target supports",
    fix: None,
    reads: [],
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(target) = cx.upgrade.target.as_ref() else {
        return;
    };
    let data = cx.release;
    let Some(release) = data.release(target) else {
        return;
    };
    let (oldest, _) = release.kubernetes_supported();
    let removed: Vec<_> = data
        .removed_apis
        .kubernetes_apis_removed
        .iter()
        .filter(|r| Version::parse(&r.removed_in).is_some_and(|v| v.semver <= oldest.semver))
        .collect();
    if removed.is_empty() {
        return;
    }
    for (id, o) in cx.inventory.objects.iter().enumerate() {
        let Some(api) = removed
            .iter()
            .find(|r| r.api_version == o.api_version() && r.kinds.iter().any(|k| k == o.kind()))
        else {
            continue;
        };
        let target_minor = target.minor_string();
        let oldest_minor = oldest.minor_string();
        let source = api
            .sources
            .first()
            .map(String::as_str)
            .unwrap_or("rules/removed-apis.yaml");
        let message = format!(
            "{} {} is no longer served from Kubernetes {}, and Istio {target_minor} supports Kubernetes {oldest_minor} and later: this object cannot be applied to the cluster the upgrade needs ({source})",
            o.api_version(),
            o.kind(),
            api.removed_in,
        );
        let note = api
            .note
            .as_deref()
            .map(|n| format!("; {n}"))
            .unwrap_or_default();
        let fix = match &api.replacement {
            Some(r) => format!("write it as {r}{note}"),
            None => format!("the API has no successor{note}"),
        };
        sink.object(id, API_VERSION, message)
            .with_fix(Fix::display_only(fix));
    }
}
