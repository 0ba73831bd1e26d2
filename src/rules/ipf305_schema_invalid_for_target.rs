use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::crd::is_istio_group;
use crate::model::schema::validate_spec;

crate::declare_rule! {
    /// ## What it does
    /// With `--target`, validates the `spec` of every Istio resource (networking, security,
    /// telemetry, extensions) against the OpenAPI v3 schema of the target release's CRD for
    /// the resource's apiVersion (`rules/schemas/`, taken from Istio's `crd-all.gen.yaml`),
    /// as `kubectl apply --validate=strict` would: a field the schema does not list is an
    /// error (except under `x-kubernetes-preserve-unknown-fields`, e.g. EnvoyFilter patch
    /// values), and so are wrong types, values outside an `enum`, and violated `oneOf`,
    /// `required`, `pattern`, `minimum`/`maximum` constraints. Each error is reported at the
    /// offending field. CEL rules (`x-kubernetes-validations`) are not evaluated, so what
    /// this rule accepts the API server may still reject, never the other way round.
    ///
    /// Resources at an apiVersion the target does not serve are IPF304's.
    ///
    /// ## Why it matters during an upgrade
    /// Once the CRDs are upgraded, a manifest with a field the new schema no longer has
    /// (removed or renamed) is rejected by `kubectl apply` and GitOps syncs start failing;
    /// with non-strict clients the field is silently dropped and its behaviour lost.
    ///
    /// ## Example that fires
    /// A VirtualService route with `websocketUpgrade: true` (removed long ago; WebSocket
    /// works without it), or an EnvoyFilter using `workloadLabels` instead of
    /// `workloadSelector`.
    ///
    /// ## Example that does not fire
    /// A VirtualService whose `timeout: 5s` and `retries.attempts: 3` match the schema, or
    /// an EnvoyFilter patch `value` with arbitrary Envoy fields.
    ///
    /// ## Fix
    /// Remove or rename the field as the target's API reference says.
    ///
    /// ## References
    /// - Istio API reference: <https://istio.io/latest/docs/reference/config/>
    /// - Kubernetes field validation: <https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation>
    /// - Structural schemas: <https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema>
    /// - Release data: `rules/schemas/index.yaml`
    code: "IPF305",
    name: "schema-invalid-for-target",
    severity: Error,
    summary: "A resource fails the target release's CRD schema (removed, renamed or mistyped fields)",
    fix: None,
    reads: [] + EVERY_CHECKED_KIND,
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some(target) = cx.upgrade.target.as_ref() else {
        return;
    };
    let data = cx.release;
    let Some(crds) = data.crds(target) else {
        return;
    };
    for (id, o) in cx.inventory.objects.iter().enumerate() {
        let group = o.group();
        if !is_istio_group(group) {
            continue;
        }
        let version = o.api_version().rsplit('/').next().unwrap_or("");
        let Some(crd) = crds
            .crds
            .iter()
            .find(|c| c.group == group && c.kind == o.kind() && c.serves(version))
        else {
            continue;
        };
        let Some(spec) = o.root().get("spec") else {
            continue;
        };
        let Some(validator) = data.spec_validator(target, &crd.name, version) else {
            continue;
        };
        for e in validate_spec(validator, &spec.to_json()) {
            sink.object(
                id,
                e.field,
                format!(
                    "Istio {}'s {} schema ({version}) rejects this: {}",
                    crds.minor,
                    o.kind(),
                    e.message
                ),
            )
            .with_fix(Fix::display_only(format!(
                "fix or remove the field; see https://istio.io/v{}/docs/reference/config/",
                crds.minor
            )));
        }
    }
}
