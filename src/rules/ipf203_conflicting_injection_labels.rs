use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix};
use crate::model::gvk::{
    CRON_JOB, DAEMON_SET, DEPLOYMENT, JOB, NAMESPACE, POD, REPLICA_SET, STATEFUL_SET,
};
use crate::model::membership::Membership;
use crate::model::path::LABELS;
use crate::model::Labels;

crate::declare_rule! {
    /// ## What it does
    /// Finds namespaces and pod templates whose mesh labels contradict each other, so that a
    /// label asking for injection or ambient is silently ignored:
    /// - a namespace with `istio-injection` and `istio.io/rev` (`istio-injection` wins;
    ///   with `disabled`, nothing is injected at all);
    /// - sidecar injection and `istio.io/dataplane-mode=ambient` on the same namespace or pod;
    /// - a pod asking for injection (`sidecar.istio.io/inject: "true"` or `istio.io/rev`)
    ///   in a namespace that disables it or selects another revision;
    /// - the `sidecar.istio.io/inject` label and the deprecated annotation disagreeing (the
    ///   label wins).
    ///
    /// A label that only opts out — `sidecar.istio.io/inject: "false"` on a pod in an
    /// injected namespace, `istio.io/dataplane-mode: none` in an ambient one, or a namespace
    /// that disables everything — is a deliberate exception, not a conflict.
    ///
    /// ## Why it matters during an upgrade
    /// A canary upgrade moves workloads by relabelling namespaces with `istio.io/rev`. Where
    /// `istio-injection` is still present it takes precedence, so pods restart on the old
    /// control plane (or without a sidecar) while everyone believes they moved.
    ///
    /// ## Example that fires
    /// ```yaml
    /// kind: Namespace
    /// metadata:
    ///   name: payments
    ///   labels: {istio-injection: enabled, istio.io/rev: canary}
    /// ```
    ///
    /// ## Example that does not fire
    /// A pod labelled `sidecar.istio.io/inject: "false"` in a namespace labelled
    /// `istio-injection: enabled`.
    ///
    /// ## Fix
    /// Keep one way of selecting injection: for revision-based upgrades,
    /// `kubectl label namespace payments istio-injection- istio.io/rev=canary`.
    ///
    /// ## References
    /// - Canary upgrades, "the istio-injection label must be removed": <https://istio.io/latest/docs/setup/upgrade/canary/>
    /// - Sidecar injection precedence: <https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/>
    /// - `istioctl analyze` IST0123 NamespaceMultipleInjectionLabels
    code: "IPF203",
    name: "conflicting-injection-labels",
    severity: Error,
    summary: "A namespace or pod carries contradictory mesh labels",
    fix: Sometimes,
    reads: [NAMESPACE, POD, DEPLOYMENT, STATEFUL_SET, DAEMON_SET, REPLICA_SET, JOB, CRON_JOB],
}

const INJECTION: &str = "istio-injection";
const REV: &str = "istio.io/rev";
const MODE: &str = "istio.io/dataplane-mode";
const INJECT: &str = "sidecar.istio.io/inject";

fn get<'a>(labels: &'a Labels, key: &str) -> Option<&'a str> {
    labels.get(key)
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    for (id, ns) in inv.of_kind("Namespace") {
        let labels = ns.labels();
        let (injection, rev, mode) = (
            get(&labels, INJECTION),
            get(&labels, REV),
            get(&labels, MODE),
        );
        if let (Some(injection), Some(rev)) = (injection, rev) {
            let message = if injection == "enabled" {
                format!("namespace {} has both istio-injection=enabled and istio.io/rev={rev}: istio-injection takes precedence, so pods get the default revision, not `{rev}`", ns.name())
            } else {
                format!("namespace {} has istio-injection={injection}, which turns injection off, and istio.io/rev={rev}, which is ignored: pods restart without a sidecar", ns.name())
            };
            sink.object(id, LABELS.key(INJECTION), message)
                .with_fix(Fix::unsafe_(
                    format!("remove istio-injection so istio.io/rev={rev} takes effect"),
                    vec![Edit::Remove {
                        path: LABELS.key(INJECTION),
                    }],
                ));
        }
        let sidecar = injection == Some("enabled") || (injection.is_none() && rev.is_some());
        if sidecar && mode == Some("ambient") {
            sink.object(
                id,
                LABELS.key(MODE),
                format!("namespace {} asks for both sidecar injection and ambient mode (istio.io/dataplane-mode=ambient): pods get a sidecar and ambient skips them", ns.name()),
            )
            .with_fix(Fix::display_only("keep either the sidecar injection label or istio.io/dataplane-mode=ambient"));
        }
    }

    for w in &inv.workloads {
        if w.has_controller_in_inventory {
            continue;
        }
        let o = inv.object(w.object);
        let ns_labels = inv.namespace_labels(o.namespace()).unwrap_or_default();
        let meta = w.pod_metadata_path();
        let pod_labels = meta.clone().key("labels");
        let label = get(&w.pod_labels, INJECT);
        let annotation = get(&w.pod_annotations, INJECT);
        let pod_rev = get(&w.pod_labels, REV);
        let pod_mode = get(&w.pod_labels, MODE);
        let ns_injection = get(&ns_labels, INJECTION);
        let ns_rev = get(&ns_labels, REV);

        if let (Some(l), Some(a)) = (label, annotation) {
            if l != a {
                sink.object(
                    w.object,
                    meta.clone().key("annotations").key(INJECT),
                    format!("label sidecar.istio.io/inject={l} and the deprecated annotation sidecar.istio.io/inject={a} disagree; the label wins"),
                )
                .with_fix(Fix::safe(
                    "remove the deprecated annotation; the label decides",
                    vec![Edit::Remove { path: meta.clone().key("annotations").key(INJECT) }],
                ));
            }
        }
        let wants_sidecar =
            label == Some("true") || (annotation == Some("true") && label.is_none());
        if wants_sidecar && pod_mode == Some("ambient") {
            sink.object(
                w.object,
                pod_labels.clone().key(MODE),
                "the pod asks for a sidecar (sidecar.istio.io/inject=true) and for ambient mode (istio.io/dataplane-mode=ambient)",
            )
            .with_fix(Fix::display_only("keep either sidecar injection or istio.io/dataplane-mode=ambient"));
        } else if pod_mode == Some("ambient") && matches!(w.membership, Membership::Sidecar { .. })
        {
            sink.object(
                w.object,
                pod_labels.clone().key(MODE),
                format!("the pod asks for ambient mode but namespace {} injects a sidecar, so ambient skips it", o.namespace()),
            )
            .with_fix(Fix::display_only("add sidecar.istio.io/inject: \"false\" to the pod, or drop istio.io/dataplane-mode=ambient"));
        }
        if label == Some("false") {
            continue;
        }
        if let Some(injection) = ns_injection.filter(|v| *v != "enabled") {
            if label == Some("true") || pod_rev.is_some() {
                let (field, what) = match pod_rev {
                    Some(r) => (pod_labels.clone().key(REV), format!("istio.io/rev={r}")),
                    None => (
                        pod_labels.clone().key(INJECT),
                        "sidecar.istio.io/inject=true".to_string(),
                    ),
                };
                sink.object(
                    w.object,
                    field,
                    format!("the pod asks for injection ({what}) but namespace {} has istio-injection={injection}, which wins: no sidecar is injected", o.namespace()),
                )
                .with_fix(Fix::display_only(format!("remove istio-injection={injection} from namespace {} or the pod's request", o.namespace())));
                continue;
            }
        }
        if let Some(r) = pod_rev {
            let mesh = &inv.mesh;
            let effective = if ns_injection == Some("enabled") {
                Some("default")
            } else {
                ns_rev
            };
            let effective = effective
                .filter(|e| mesh.resolve_revision(e) != mesh.resolve_revision(r))
                .map(str::to_string);
            if let Some(effective) = effective {
                sink.object(
                    w.object,
                    pod_labels.clone().key(REV),
                    format!("the pod asks for revision `{r}` but namespace {}'s labels take precedence and inject revision `{effective}`", o.namespace()),
                )
                .with_fix(Fix::display_only(format!("label namespace {} with istio.io/rev={r} (and remove istio-injection), or drop the pod's istio.io/rev", o.namespace())));
            }
        }
    }
}
