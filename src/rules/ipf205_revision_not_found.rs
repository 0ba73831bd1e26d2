use std::collections::BTreeSet;

use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::gvk::{
    DAEMON_SET, DEPLOYMENT, GATEWAY_API_GATEWAY, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE, POD,
    REPLICA_SET, SERVICE, STATEFUL_SET,
};
use crate::model::path::LABELS;
use crate::model::webhook::{self, WebhookConfig, REV};
use crate::model::{FieldPath, Labels, ObjectId};

crate::declare_rule! {
    /// ## What it does
    /// Finds `istio.io/rev` labels — on Namespaces, pod templates (Deployments, StatefulSets,
    /// DaemonSets, Jobs, bare Pods) and Gateway API `Gateway`s — naming neither a control-plane
    /// revision nor a revision tag. Revisions come from the istiod Deployments in the input
    /// (their `istio.io/rev` label or `REVISION` env, `default` otherwise); tags from
    /// `istio-revision-tag-*` webhooks labelled `istio.io/tag` and, since 1.28, from the
    /// Services `istiod-revision-tag-<tag>`. When the input has no istiod Deployment but has
    /// injection webhooks, the revisions those webhooks serve count instead.
    ///
    /// It only judges when the input holds at least one control plane or injection webhook:
    /// a folder of application manifests says nothing about which revisions exist. Tags made
    /// with `istioctl tag set` live only in the cluster; export them with the rest
    /// (`kubectl get mutatingwebhookconfigurations -l istio.io/tag -o yaml`).
    ///
    /// ## Why it matters during an upgrade
    /// A canary upgrade moves workloads by relabelling them with the new revision or a tag.
    /// A typo, a tag that was never created, or a revision that was already uninstalled means
    /// no injector selects the pods: they restart without a sidecar and silently leave the
    /// mesh (mTLS, policies and telemetry stop applying), or they go to a stale injector.
    ///
    /// ## Example that fires
    /// ```yaml
    /// kind: Namespace
    /// metadata:
    ///   name: payments
    ///   labels: {istio.io/rev: canary}
    /// ```
    /// when the only istiod is revision `1-28` and there is no tag `canary`.
    ///
    /// ## Example that does not fire
    /// `istio.io/rev: prod-stable` when `istio-revision-tag-prod-stable` (labelled
    /// `istio.io/tag: prod-stable`) is in the input.
    ///
    /// ## Fix
    /// Label with an existing revision or tag (`kubectl label namespace payments
    /// istio.io/rev=1-28 --overwrite`), or create the tag: `istioctl tag set canary
    /// --revision 1-28`.
    ///
    /// ## References
    /// - Canary upgrades and revision tags: <https://istio.io/latest/docs/setup/upgrade/canary/>
    /// - `istio.io/rev` label: <https://istio.io/latest/docs/reference/config/labels/>
    /// - istioctl tag: <https://istio.io/latest/docs/reference/commands/istioctl/#istioctl-tag>
    code: "IPF205",
    name: "revision-not-found",
    severity: Error,
    summary: "An istio.io/rev label names a revision or tag that has no control plane or tag webhook",
    fix: None,
    reads: [NAMESPACE, DEPLOYMENT, STATEFUL_SET, DAEMON_SET, REPLICA_SET, POD, MUTATING_WEBHOOK_CONFIGURATION, SERVICE, GATEWAY_API_GATEWAY],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let mesh = &inv.mesh;
    let injectors = webhook::injection_webhooks(inv);
    let control_planes: BTreeSet<&str> = mesh
        .control_planes
        .iter()
        .filter(|cp| cp.object.is_some())
        .map(|cp| cp.revision.as_str())
        .collect();
    let revisions: BTreeSet<String> = if control_planes.is_empty() {
        injectors
            .iter()
            .filter(|c| c.tag.is_none() && c.webhooks.iter().any(|e| !e.is_deactivated()))
            .flat_map(WebhookConfig::revisions)
            .collect()
    } else {
        control_planes.iter().map(|s| s.to_string()).collect()
    };
    if revisions.is_empty() && injectors.is_empty() {
        return;
    }
    let known = |r: &str| revisions.contains(r) || mesh.tags.contains_key(r);
    let list = |set: Vec<&str>| {
        if set.is_empty() {
            "none".to_string()
        } else {
            set.join(", ")
        }
    };
    let inventory = format!(
        "revisions: {}; tags: {}",
        list(revisions.iter().map(String::as_str).collect()),
        list(mesh.tags.keys().map(String::as_str).collect())
    );
    // The newest running revision is the likely intent (a typo, or a revision uninstalled
    // after the move).
    let suggestion = mesh
        .control_planes
        .iter()
        .filter(|cp| cp.object.is_some())
        .max_by(|a, b| match (&a.version, &b.version) {
            (Some(x), Some(y)) => x.semver.cmp(&y.semver),
            (x, y) => x.is_some().cmp(&y.is_some()),
        })
        .map(|cp| cp.revision.clone())
        .or_else(|| {
            (revisions.len() == 1)
                .then(|| revisions.iter().next().cloned())
                .flatten()
        });
    let mut report = |object: ObjectId,
                      field: FieldPath,
                      what: String,
                      rev: &str,
                      effect: String,
                      relabel: String| {
        let target = suggestion.as_deref().unwrap_or("<revision>");
        sink.object(
            object,
            field,
            format!("{what}istio.io/rev={rev} names no istiod revision or revision tag in the input ({inventory}){effect}"),
        )
        .with_fix(Fix::display_only(format!(
            "label it with an existing revision or tag ({}), or create the tag: istioctl tag set {rev} --revision {target}",
            relabel.replace("{}", target)
        )));
    };

    let labels_path = LABELS.key(REV);
    for (id, ns) in inv.of_kind("Namespace") {
        let Some(rev) = ns.label(REV).filter(|r| !known(r)) else {
            continue;
        };
        let effect = effect(&injectors, &ns.labels(), &Labels::new(), &known);
        report(
            id,
            labels_path.clone(),
            String::new(),
            rev,
            effect,
            format!(
                "kubectl label namespace {} istio.io/rev={{}} --overwrite",
                ns.name()
            ),
        );
    }
    for w in inv
        .workloads
        .iter()
        .filter(|w| !w.has_controller_in_inventory)
    {
        let Some(rev) = w.label(REV).filter(|r| !known(r)) else {
            continue;
        };
        let o = inv.object(w.object);
        let ns_labels = inv.namespace_labels(o.namespace()).unwrap_or_else(|| {
            [(
                "kubernetes.io/metadata.name".to_string(),
                o.namespace().to_string(),
            )]
            .into()
        });
        let effect = effect(&injectors, &ns_labels, &w.pod_labels, &known);
        report(
            w.object,
            w.pod_metadata_path().key("labels").key(REV),
            "the pod template's ".to_string(),
            rev,
            effect,
            "set istio.io/rev: {} in the pod template".to_string(),
        );
    }
    for (id, gw) in inv.of_kind("Gateway") {
        if gw.group() != "gateway.networking.k8s.io" {
            continue;
        }
        let Some(rev) = gw.label(REV).filter(|r| !known(r)) else {
            continue;
        };
        report(
            id,
            labels_path.clone(),
            String::new(),
            rev,
            ": no istiod reconciles it, so its gateway Deployment is not created or updated"
                .to_string(),
            format!(
                "kubectl label gateway {} -n {} istio.io/rev={{}} --overwrite",
                gw.name(),
                gw.namespace()
            ),
        );
    }
}

/// What happens to pods with these labels today, from the injection webhooks in the input.
fn effect(
    injectors: &[WebhookConfig],
    namespace: &Labels,
    pod: &Labels,
    known: &dyn Fn(&str) -> bool,
) -> String {
    if injectors.is_empty() {
        return String::new();
    }
    let selecting = injectors.iter().find(|c| {
        c.webhooks
            .iter()
            .any(|e| !e.is_deactivated() && e.selects(namespace, pod))
    });
    match selecting {
        None => ": no injection webhook selects its pods, so they start without a sidecar and leave the mesh".to_string(),
        Some(c) => match c.tag.as_deref().or(c.revision.as_deref()) {
            Some(r) if known(r) => format!(
                ": today {} (revision `{r}`) injects its pods because other labels take precedence; once they are removed, pods start without a sidecar",
                c.name
            ),
            _ => format!(
                ": its pods go to injector {}, whose control plane is not in the input",
                c.name
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{run_rule, Upgrade};

    const NAMESPACE: &str =
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio.io/rev: canary}}\n";

    #[test]
    fn needs_a_control_plane_or_injector_to_judge() {
        // Application manifests alone say nothing about which revisions exist.
        let (_, found) = run_rule(&RULE, &[NAMESPACE], &Upgrade::default());
        assert!(found.is_empty());
        // Webhooks only (no istiod): the revisions they serve are the known ones.
        let injector = "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: istio-sidecar-injector-stable, labels: {istio.io/rev: stable}}\nwebhooks:\n- name: rev.namespace.sidecar-injector.istio.io\n  namespaceSelector: {matchLabels: {istio.io/rev: stable}}\n";
        let (_, found) = run_rule(&RULE, &[NAMESPACE, injector], &Upgrade::default());
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("revisions: stable"));
        let served = NAMESPACE.replace("canary", "stable");
        let (_, found) = run_rule(&RULE, &[&served, injector], &Upgrade::default());
        assert!(found.is_empty());
    }
}
