use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::gvk::{
    DAEMON_SET, DEPLOYMENT, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE, POD, REPLICA_SET, SERVICE,
    STATEFUL_SET,
};
use crate::model::webhook::{
    self, FailurePolicy, StaleCheck, Staleness, WebhookConfig, WebhookEntry,
};
use crate::model::Inventory;

crate::declare_rule! {
    /// ## What it does
    /// Finds sidecar-injection MutatingWebhookConfigurations (labelled `istio.io/rev` or
    /// `app: sidecar-injector`, or with webhooks named `*sidecar-injector.istio.io`) whose
    /// webhooks cannot be served:
    /// - `clientConfig.service` names a Service that is not in the input, or a port the
    ///   Service does not expose;
    /// - the configuration's revision (its `istio.io/rev` label; for a revision tag, the
    ///   revision the tag points at) has no istiod Deployment.
    ///
    /// It only judges what the input can prove: a missing Service is reported only when the
    /// input holds other Services of the webhook's namespace, and a missing revision only
    /// when it holds istiod Deployments in that namespace. A GitOps repository that keeps
    /// the webhooks but not the control plane's Services and Deployments gets no finding.
    /// Webhooks that call a `url` (a remote istiod) are not checked.
    ///
    /// ## Why it matters during an upgrade
    /// Uninstalling an old revision, or a tag left pointing at it, leaves the injector
    /// configuration behind. With `failurePolicy: Fail` (what Istio renders) the API server
    /// rejects every new pod the webhook selects — rollouts, scale-ups and the pods
    /// rescheduled while nodes drain — with `failed calling webhook
    /// "namespace.sidecar-injector.istio.io"`. With `Ignore`, those pods start silently
    /// without a sidecar and fall out of the mesh.
    ///
    /// ## Example that fires
    /// ```yaml
    /// kind: MutatingWebhookConfiguration
    /// metadata:
    ///   name: istio-sidecar-injector-1-26
    ///   labels: {istio.io/rev: 1-26}
    /// webhooks:
    /// - name: rev.namespace.sidecar-injector.istio.io
    ///   clientConfig:
    ///     service: {name: istiod-1-26, namespace: istio-system, path: /inject}
    ///   failurePolicy: Fail
    /// ```
    /// while `istio-system` only has the Service `istiod`.
    ///
    /// ## Example that does not fire
    /// The default injector calling `istio-system/istiod` when that Service and the istiod
    /// Deployment are in the input; or any injector when the input has no Services in
    /// `istio-system` at all.
    ///
    /// ## Fix
    /// Delete the leftover configuration:
    /// `kubectl delete mutatingwebhookconfiguration istio-sidecar-injector-1-26`. For a
    /// revision tag, point it at a running revision instead:
    /// `istioctl tag set <tag> --revision <revision> --overwrite`.
    ///
    /// ## References
    /// - Canary upgrades, uninstalling the old control plane: <https://istio.io/latest/docs/setup/upgrade/canary/>
    /// - Troubleshooting injection, "failed calling webhook": <https://istio.io/latest/docs/ops/common-problems/injection/>
    /// - istio/istio `pkg/config/analysis/analyzers/webhook/webhook.go` (istioctl analyze IST0139)
    /// - Kubernetes failure policy: <https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#failure-policy>
    code: "IPF201",
    name: "stale-injection-webhook",
    severity: Error,
    summary: "A sidecar-injection webhook calls a Service or revision that does not exist",
    fix: None,
    reads: [MUTATING_WEBHOOK_CONFIGURATION, SERVICE, DEPLOYMENT, NAMESPACE, POD, STATEFUL_SET, DAEMON_SET, REPLICA_SET],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let stale = StaleCheck::new(inv);
    for config in webhook::injection_webhooks(inv) {
        let found: Vec<(&WebhookEntry, Staleness)> = config
            .webhooks
            .iter()
            .filter_map(|e| stale.check(&config, e).map(|s| (e, s)))
            .collect();
        let Some((first, why)) = found.first() else {
            continue;
        };
        let calls = config
            .webhooks
            .iter()
            .filter(|e| e.service.is_some())
            .count();
        let message = format!(
            "{}{}; {}",
            why.describe(first),
            webhook::also_stale(&found),
            consequence(inv, &found)
        );
        let field = match why {
            Staleness::MissingService => {
                first.path().key("clientConfig").key("service").key("name")
            }
            Staleness::MissingPort { .. } => {
                first.path().key("clientConfig").key("service").key("port")
            }
            Staleness::MissingControlPlane { .. } => crate::model::path::LABELS.key(webhook::REV),
        };
        sink.object(config.object, field, message)
            .with_fix(fix(&config, &found, calls, cx));
    }
}

/// Which pods a webhook's selectors take, in words.
fn selection(entry: &WebhookEntry) -> String {
    match (
        entry.namespace_selector.is_empty(),
        entry.object_selector.is_empty(),
    ) {
        (true, true) => "every pod".to_string(),
        (false, true) => format!("pods in namespaces matching `{}`", entry.namespace_selector),
        (true, false) => format!("pods labelled `{}` in any namespace", entry.object_selector),
        (false, false) => format!(
            "pods labelled `{}` in namespaces matching `{}`",
            entry.object_selector, entry.namespace_selector
        ),
    }
}

/// What the API server does with the pods these webhooks select, in words and with the
/// workloads of the input they select today.
fn consequence(inv: &Inventory, found: &[(&WebhookEntry, Staleness)]) -> String {
    let ns_labels: std::collections::HashMap<String, crate::model::Labels> =
        webhook::namespace_labels(inv).into_iter().collect();
    let mut hit = Vec::new();
    for w in inv
        .workloads
        .iter()
        .filter(|w| !w.has_controller_in_inventory)
    {
        let o = inv.object(w.object);
        let labels = ns_labels.get(o.namespace()).cloned().unwrap_or_else(|| {
            [(
                "kubernetes.io/metadata.name".to_string(),
                o.namespace().to_string(),
            )]
            .into()
        });
        if found.iter().any(|(e, _)| e.selects(&labels, &w.pod_labels)) {
            hit.push(format!("{}/{}", o.namespace(), o.name()));
        }
    }
    let (first, _) = &found[0];
    let selection = selection(first);
    let today = match hit.len() {
        0 => "no workload in the input is selected today".to_string(),
        n => {
            let shown: Vec<&str> = hit.iter().take(5).map(String::as_str).collect();
            format!(
                "today that is {n} workload{} in the input ({}{})",
                if n == 1 { "" } else { "s" },
                shown.join(", "),
                if n > 5 { ", …" } else { "" }
            )
        }
    };
    match first.failure_policy {
        FailurePolicy::Fail => format!(
            "with failurePolicy Fail the API server rejects every new pod it selects ({selection}), so rollouts, scale-ups and pods rescheduled by node drains fail; {today}"
        ),
        FailurePolicy::Ignore => format!(
            "with failurePolicy Ignore the pods it selects ({selection}) are created without a sidecar, silently; {today}"
        ),
    }
}

fn fix(
    config: &WebhookConfig,
    found: &[(&WebhookEntry, Staleness)],
    calls: usize,
    cx: &Context,
) -> Fix {
    if let (Some(tag), Some(Staleness::MissingControlPlane { present, .. })) =
        (&config.tag, found.first().map(|(_, s)| s))
    {
        let target = newest_revision(cx, present);
        return Fix::display_only(format!(
            "point tag `{tag}` at a running revision: istioctl tag set {tag} --revision {target} --overwrite (or remove it: istioctl tag remove {tag})"
        ));
    }
    let stale: Vec<&str> = found.iter().map(|(e, _)| e.name.as_str()).collect();
    Fix::display_only(webhook::leftover_remedy(
        "mutatingwebhookconfiguration",
        &config.name,
        &stale,
        calls,
    ))
}

/// The newest running revision among `present`, for a suggestion.
fn newest_revision<'a>(cx: &'a Context, present: &'a [String]) -> &'a str {
    cx.inventory
        .mesh
        .control_planes
        .iter()
        .filter(|cp| present.contains(&cp.revision))
        .max_by(|a, b| match (&a.version, &b.version) {
            (Some(x), Some(y)) => x.semver.cmp(&y.semver),
            (Some(_), None) => std::cmp::Ordering::Greater,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (None, None) => std::cmp::Ordering::Equal,
        })
        .map(|cp| cp.revision.as_str())
        .unwrap_or("<revision>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{run_rule, Upgrade};

    const INJECTOR: &str = "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: istio-sidecar-injector, labels: {istio.io/rev: default}}\nwebhooks:\n- name: namespace.sidecar-injector.istio.io\n  clientConfig: {service: {name: istiod, namespace: istio-system}}\n  namespaceSelector: {matchLabels: {istio-injection: enabled}}\n";

    #[test]
    fn a_repo_with_only_webhooks_proves_nothing() {
        let (_, found) = run_rule(&RULE, &[INJECTOR], &Upgrade::default());
        assert!(found.is_empty());
    }

    #[test]
    fn another_service_of_the_namespace_makes_the_absence_visible() {
        let other = "apiVersion: v1\nkind: Service\nmetadata: {name: istiod-1-28, namespace: istio-system}\nspec: {ports: [{port: 443}]}\n";
        let (_, found) = run_rule(&RULE, &[INJECTOR, other], &Upgrade::default());
        assert_eq!(found.len(), 1);
        assert!(found[0]
            .message
            .contains("istio-system/istiod, which is not in the input"));
        assert!(found[0].message.contains("failurePolicy Fail"));
    }
}
