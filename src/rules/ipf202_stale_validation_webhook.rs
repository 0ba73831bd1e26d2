use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::gvk::{DEPLOYMENT, SERVICE, VALIDATING_WEBHOOK_CONFIGURATION};
use crate::model::path::LABELS;
use crate::model::webhook::{self, FailurePolicy, StaleCheck, Staleness, WebhookEntry};

crate::declare_rule! {
    /// ## What it does
    /// Finds Istio ValidatingWebhookConfigurations (`istio-validator[-<rev>]-<namespace>`,
    /// `istiod-default-validator`, or webhooks named `validation.istio.io` /
    /// `rev.validation.istio.io`) whose webhooks cannot be served:
    /// - `clientConfig.service` names a Service that is not in the input, or a port the
    ///   Service does not expose;
    /// - the configuration's revision (`istio.io/rev` label) has no istiod Deployment.
    ///
    /// As for IPF201, it only judges what the input can prove: a missing Service only when
    /// the input holds other Services of that namespace, a missing revision only when it
    /// holds istiod Deployments there. Webhooks that call a `url` are not checked.
    ///
    /// ## Why it matters during an upgrade
    /// With `failurePolicy: Fail`, every create and update of the Istio resources the
    /// webhook selects (`networking.istio.io`, `security.istio.io`, `telemetry.istio.io`,
    /// `extensions.istio.io`) is rejected — including the ones the upgrade itself applies.
    /// Istio charts render `Ignore` (or, from 1.30 on `helm upgrade`, leave the field to
    /// istiod), and istiod flips it to `Fail` once it is ready; a validator whose istiod was
    /// removed keeps whatever it last had, and `base.validationFailurePolicy` or a
    /// `validationCABundle` render `Fail` directly. With `Ignore`, invalid config is accepted
    /// silently and only shows up as istiod rejecting it at push time.
    ///
    /// ## Example that fires
    /// ```yaml
    /// kind: ValidatingWebhookConfiguration
    /// metadata: {name: istiod-default-validator, labels: {istio.io/rev: 1-26}}
    /// webhooks:
    /// - name: validation.istio.io
    ///   clientConfig:
    ///     service: {name: istiod-1-26, namespace: istio-system, path: /validate}
    ///   failurePolicy: Fail
    /// ```
    /// while `istio-system` only has the Service `istiod-1-28`.
    ///
    /// ## Example that does not fire
    /// `istio-validator-istio-system` calling `istio-system/istiod` when that Service is in
    /// the input.
    ///
    /// ## Fix
    /// Delete the leftover configuration
    /// (`kubectl delete validatingwebhookconfiguration istio-validator-1-26-istio-system`).
    /// For `istiod-default-validator`, re-render it for a running revision instead: upgrade
    /// the `base` chart with `defaultRevision=<revision>`, or `istioctl tag set default
    /// --revision <revision> --overwrite`.
    ///
    /// ## References
    /// - Canary upgrades, default revision and validation: <https://istio.io/latest/docs/setup/upgrade/canary/>
    /// - Configuration validation problems: <https://istio.io/latest/docs/ops/common-problems/validation/>
    /// - istio/istio `manifests/charts/base/templates/defaultrevision-validatingwebhookconfiguration.yaml`, `pkg/webhooks/validation/controller/controller.go`
    /// - Kubernetes failure policy: <https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#failure-policy>
    code: "IPF202",
    name: "stale-validation-webhook",
    severity: Error,
    summary: "An Istio validation webhook calls a Service or revision that does not exist",
    fix: None,
    reads: [VALIDATING_WEBHOOK_CONFIGURATION, SERVICE, DEPLOYMENT],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let stale = StaleCheck::new(inv);
    for config in webhook::validation_webhooks(inv) {
        let found: Vec<(&WebhookEntry, Staleness)> = config
            .webhooks
            .iter()
            .filter_map(|e| stale.check(&config, e).map(|s| (e, s)))
            .collect();
        let Some((first, why)) = found.first() else {
            continue;
        };
        let selected = if first.object_selector.is_empty() && first.namespace_selector.is_empty() {
            "every Istio resource".to_string()
        } else if first.namespace_selector.is_empty() {
            format!("Istio resources labelled `{}`", first.object_selector)
        } else {
            format!(
                "Istio resources labelled `{}` in namespaces matching `{}`",
                first.object_selector, first.namespace_selector
            )
        };
        let groups = if first.api_groups.is_empty() {
            String::new()
        } else {
            format!(" ({})", first.api_groups.join(", "))
        };
        let consequence = match first.failure_policy {
            FailurePolicy::Fail => format!(
                "with failurePolicy Fail every create and update of {selected}{groups} is rejected, including the upgrade's own"
            ),
            FailurePolicy::Ignore => format!(
                "with failurePolicy Ignore, writes of {selected}{groups} are accepted without validation, so invalid config is stored and only fails later, in istiod"
            ),
        };
        let field = match why {
            Staleness::MissingService => {
                first.path().key("clientConfig").key("service").key("name")
            }
            Staleness::MissingPort { .. } => {
                first.path().key("clientConfig").key("service").key("port")
            }
            Staleness::MissingControlPlane { .. } => LABELS.key(webhook::REV),
        };
        let calls = config
            .webhooks
            .iter()
            .filter(|e| e.service.is_some())
            .count();
        let fix = if config.name == "istiod-default-validator" {
            Fix::display_only(
                "re-render it for a running revision: helm upgrade istio-base istio/base --set defaultRevision=<revision>, or istioctl tag set default --revision <revision> --overwrite",
            )
        } else {
            let stale: Vec<&str> = found.iter().map(|(e, _)| e.name.as_str()).collect();
            Fix::display_only(webhook::leftover_remedy(
                "validatingwebhookconfiguration",
                &config.name,
                &stale,
                calls,
            ))
        };
        sink.object(
            config.object,
            field,
            format!(
                "{}{}; {consequence}",
                why.describe(first),
                webhook::also_stale(&found)
            ),
        )
        .with_fix(fix);
    }
}
