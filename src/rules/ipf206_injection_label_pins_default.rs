use super::{Context, Sink, Strategy};
use crate::diagnostic::{Edit, Fix};
use crate::model::gvk::{DEPLOYMENT, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE};
use crate::model::path::LABELS;
use crate::model::webhook::{self, INJECTION, REV};
use crate::model::Labels;

crate::declare_rule! {
    /// ## What it does
    /// With the canary strategy (the default), reports namespaces labelled
    /// `istio-injection=enabled`. That label always selects whatever serves the `default`
    /// revision, and it takes precedence over `istio.io/rev`, so such a namespace cannot be
    /// moved to the new revision on its own; all of them move together when the `default`
    /// tag is repointed. Nothing is reported with `--strategy in-place`, where every
    /// namespace follows the one control plane anyway.
    ///
    /// ## Why it matters during an upgrade
    /// The canary procedure relabels namespaces one at a time
    /// (`kubectl label namespace shop istio-injection- istio.io/rev=<new>`) and restarts
    /// their workloads, so a bad revision only affects what was moved. Namespaces still on
    /// `istio-injection=enabled` either stay on the old revision until the label is removed,
    /// or all jump at once when someone runs `istioctl tag set default`. Knowing which
    /// namespaces are pinned this way is part of planning the rollout.
    ///
    /// ## Example that fires
    /// ```yaml
    /// kind: Namespace
    /// metadata: {name: shop, labels: {istio-injection: enabled}}
    /// ```
    ///
    /// ## Example that does not fire
    /// A namespace labelled `istio.io/rev: prod-stable` (a tag), or `istio-injection: disabled`.
    ///
    /// ## Fix
    /// Replace the label with a revision label that the same injector serves today,
    /// `kubectl label namespace shop istio-injection- istio.io/rev=default`, then move it
    /// by relabelling with the new revision or a tag (`prod-stable`, `prod-canary`), or by
    /// repointing the `default` tag: `istioctl tag set default --revision <new> --overwrite`.
    /// The fix is unsafe: it changes which label decides injection, though not the revision.
    ///
    /// ## References
    /// - Canary upgrades, "the istio-injection label must be removed": <https://istio.io/latest/docs/setup/upgrade/canary/>
    /// - Stable revision labels and the default tag: <https://istio.io/latest/docs/setup/upgrade/canary/#stable-revision-labels>
    /// - Sidecar injection labels: <https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/>
    code: "IPF206",
    name: "injection-label-pins-default",
    severity: Info,
    summary: "A namespace uses istio-injection=enabled; a canary upgrade needs revision labels or tags",
    fix: Sometimes,
    reads: [NAMESPACE, MUTATING_WEBHOOK_CONFIGURATION, DEPLOYMENT],
}

fn check(cx: &Context, sink: &mut Sink) {
    if cx.upgrade.strategy != Strategy::Canary {
        return;
    }
    let mesh = &cx.inventory.mesh;
    let serving = mesh.resolve_revision("default");
    let served_by = if mesh.tags.contains_key("default") {
        format!("the `default` tag (revision `{serving}`)")
    } else {
        "the default revision".to_string()
    };
    // The fix relabels with istio.io/rev=default: only offer the edit when that label is
    // served, or when the input has no injector to tell.
    let injectors = webhook::injection_webhooks(cx.inventory);
    let by_rev: Labels = [(REV.to_string(), "default".to_string())].into();
    let rev_default_served = injectors.is_empty()
        || injectors.iter().any(|c| {
            c.webhooks
                .iter()
                .any(|e| !e.is_deactivated() && e.selects(&by_rev, &Labels::new()))
        });
    for (id, ns) in cx.inventory.of_kind("Namespace") {
        if ns.label(INJECTION) != Some("enabled") {
            continue;
        }
        let message = format!(
            "namespace {} uses istio-injection=enabled, which always follows {served_by} and overrides istio.io/rev: a canary upgrade cannot move it by itself",
            ns.name()
        );
        let fix = match ns.label(REV) {
            Some(rev) => Fix::display_only(format!(
                "remove istio-injection so that istio.io/rev={rev} decides (see IPF203): kubectl label namespace {} istio-injection-",
                ns.name()
            )),
            None if !rev_default_served => Fix::display_only(format!(
                "no injector in the input serves istio.io/rev=default: create the default tag first (istioctl tag set default --revision {serving}), then kubectl label namespace {} istio-injection- istio.io/rev=default",
                ns.name()
            )),
            None => Fix::unsafe_(
                format!(
                    "select the same injector by revision instead: kubectl label namespace {} istio-injection- istio.io/rev=default; later relabel it with the new revision or a tag",
                    ns.name()
                ),
                vec![
                    Edit::Remove {
                        path: LABELS.key(INJECTION),
                    },
                    Edit::Set {
                        path: LABELS.key(REV),
                        value: "default".into(),
                    },
                ],
            ),
        };
        sink.object(id, LABELS.key(INJECTION), message)
            .with_fix(fix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{run_rule, Upgrade};

    #[test]
    fn only_for_canary_upgrades() {
        let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n";
        let canary = Upgrade::default();
        assert_eq!(run_rule(&RULE, &[ns], &canary).1.len(), 1);
        let in_place = Upgrade {
            strategy: Strategy::InPlace,
            ..Upgrade::default()
        };
        assert!(run_rule(&RULE, &[ns], &in_place).1.is_empty());
    }

    #[test]
    fn no_edit_when_nothing_serves_the_default_revision_label() {
        let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n";
        // An old-style injector that only knows istio-injection=enabled.
        let injector = "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: istio-sidecar-injector, labels: {app: sidecar-injector}}\nwebhooks:\n- name: sidecar-injector.istio.io\n  namespaceSelector: {matchLabels: {istio-injection: enabled}}\n";
        let (_, found) = run_rule(&RULE, &[ns, injector], &Upgrade::default());
        let fix = found[0].fix.as_ref().expect("a fix");
        assert!(fix.edits.is_empty());
        assert!(fix.title.contains("istioctl tag set default"));
    }
}
