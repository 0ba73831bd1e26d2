use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix, Severity};
use crate::model::crd::is_istio_group;
use crate::model::gvk::Gvk;
use crate::model::path::API_VERSION;
use crate::model::Version;
use crate::release::{reached, ReleaseData};

crate::declare_rule! {
    /// ## What it does
    /// Fires at `apiVersion` when a resource uses an Istio API that the target release does
    /// not serve:
    /// - a retired API group (`authentication.istio.io`, `rbac.istio.io`, `config.istio.io`)
    ///   when the target is the release that removed it or a later one, or without `--target`
    ///   (`rules/removed-apis.yaml`: `config.istio.io`, Mixer's, is gone from 1.8; a 1.5 → 1.6
    ///   upgrade still serves it);
    /// - with `--target`, a version of an Istio kind that the target's CRD does not serve, or
    ///   a kind the target ships no CRD for (`rules/crds.yaml`);
    /// - with `--target`, a Gateway API or inference version that the target's istiod no
    ///   longer processes (warning: the object stays, Istio ignores it).
    ///
    /// `IstioOperator` (`install.istio.io`) is not reported: it remains valid input for
    /// `istioctl install`.
    ///
    /// ## Why it matters during an upgrade
    /// The API server rejects an apiVersion that no CRD serves, so the manifest fails to
    /// apply after the CRDs are upgraded; resources of a retired group were silently ignored
    /// long before, so the policy they express is not enforced.
    ///
    /// ## Example that fires
    /// `apiVersion: rbac.istio.io/v1alpha1`, `kind: ServiceRole`.
    ///
    /// ## Example that does not fire
    /// `networking.istio.io/v1alpha3` VirtualService with `--target 1.30.3`: 1.30's CRD
    /// still serves `v1alpha3`, `v1beta1` and `v1`.
    ///
    /// ## Fix
    /// For a version the target does not serve: the apiVersion it serves (`v1` where it
    /// exists). The fix is safe when the target's schema for the new version is the one the
    /// old version had; otherwise it must be reviewed. Retired groups need a migration to
    /// the replacement API named in the message.
    ///
    /// ## References
    /// - Migrating from the alpha security policy: <https://istio.io/latest/blog/2021/migrate-alpha-policy/>
    /// - Mixer removal, Telemetry API: <https://istio.io/latest/docs/tasks/observability/telemetry/>
    /// - CRD versions: <https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definition-versioning/>
    /// - Release data: `rules/removed-apis.yaml`, `rules/crds.yaml`
    code: "IPF304",
    name: "api-version-not-served",
    severity: Error,
    summary: "A resource uses an apiVersion the target's Istio CRDs do not serve",
    fix: Sometimes,
    // Besides every kind other rules read, the removed kinds a cluster still holds where
    // their old CRDs were never deleted (rules/removed-apis.yaml).
    reads: [
        Gvk::new("authentication.istio.io", "v1alpha1", "Policy"),
        Gvk::new("authentication.istio.io", "v1alpha1", "MeshPolicy"),
        Gvk::new("rbac.istio.io", "v1alpha1", "ClusterRbacConfig"),
        Gvk::new("rbac.istio.io", "v1alpha1", "RbacConfig"),
        Gvk::new("rbac.istio.io", "v1alpha1", "ServiceRole"),
        Gvk::new("rbac.istio.io", "v1alpha1", "ServiceRoleBinding"),
        Gvk::new("config.istio.io", "v1alpha2", "HTTPAPISpec"),
        Gvk::new("config.istio.io", "v1alpha2", "HTTPAPISpecBinding"),
        Gvk::new("config.istio.io", "v1alpha2", "QuotaSpec"),
        Gvk::new("config.istio.io", "v1alpha2", "QuotaSpecBinding"),
        Gvk::new("config.istio.io", "v1alpha2", "attributemanifest"),
        Gvk::new("config.istio.io", "v1alpha2", "handler"),
        Gvk::new("config.istio.io", "v1alpha2", "instance"),
        Gvk::new("config.istio.io", "v1alpha2", "rule"),
        Gvk::new("config.istio.io", "v1alpha2", "adapter"),
        Gvk::new("config.istio.io", "v1alpha2", "template"),
        Gvk::new("gateway.networking.k8s.io", "v1alpha3", "BackendTLSPolicy"),
        Gvk::new("inference.networking.x-k8s.io", "v1alpha2", "InferencePool"),
    ] + EVERY_CHECKED_KIND,
}

fn check(cx: &Context, sink: &mut Sink) {
    let data = cx.release;
    let field = || API_VERSION.path();
    for (id, o) in cx.inventory.objects.iter().enumerate() {
        let group = o.group();
        let version = o.api_version().rsplit('/').next().unwrap_or("");
        if let Some(removed) = data.removed_apis.group(group) {
            // A target that still ships the group (the data reaches back to 1.5) serves it.
            if cx
                .upgrade
                .target
                .as_ref()
                .is_some_and(|t| !reached(t, Some(&removed.removed_in)))
            {
                continue;
            }
            let source = removed
                .sources
                .iter()
                .find_map(|s| s.find("https://").map(|i| &s[i..]))
                .map(|s| s.split([' ', '\'', '"']).next().unwrap_or(s))
                .unwrap_or("rules/removed-apis.yaml");
            sink.object(
                id,
                field(),
                format!(
                    "{} {} belongs to {group}, which Istio removed in {} (last shipped in {}; {source}); nothing serves or enforces it",
                    o.api_version(), o.kind(), removed.removed_in, removed.last_shipped_in
                ),
            )
            .with_fix(Fix::display_only(format!(
                "migrate it: {}",
                removed.replacement.trim()
            )));
            continue;
        }
        let Some(target) = cx.upgrade.target.as_ref() else {
            continue;
        };
        if let Some(np) = data.removed_apis.no_longer_processed.iter().find(|n| {
            n.group == group && n.kind == o.kind() && n.versions.iter().any(|v| v == version)
        }) {
            if reached(target, Some(&np.since)) {
                sink.object(
                    id,
                    field(),
                    format!(
                        "Istio {} and later no longer process {} {}: {}",
                        np.since,
                        o.kind(),
                        o.api_version(),
                        np.statement.trim()
                    ),
                )
                .with_severity(Severity::Warning)
                .with_fix(Fix::display_only(format!("use {}", np.replacement)));
            }
            continue;
        }
        if !is_istio_group(group) || group == "install.istio.io" {
            continue;
        }
        let Some(crds) = data.crds(target) else {
            continue;
        };
        match crds
            .crds
            .iter()
            .find(|c| c.group == group && c.kind == o.kind())
        {
            Some(crd) if crd.serves(version) => {}
            Some(crd) => {
                let new = if crd.serves("v1") {
                    "v1".to_string()
                } else {
                    crd.storage.clone()
                };
                let message = format!(
                    "Istio {}'s CRD {} serves {}, not {version} ({})",
                    crds.minor,
                    crd.name,
                    crd.served.join(", "),
                    crds.source
                );
                let edit = vec![Edit::Set {
                    path: field(),
                    value: serde_json::Value::String(format!("{group}/{new}")),
                }];
                let title = format!("change apiVersion to {group}/{new}");
                let fix = match same_schema_as_before(data, cx, target, &crd.name, version, &new) {
                    Some(true) => Fix::safe(format!("{title} (the schema is identical)"), edit),
                    Some(false) => Fix::unsafe_(
                        format!("{title}; its schema differs, review the fields"),
                        edit,
                    ),
                    None => Fix::unsafe_(
                        format!("{title}; no release in the data served {version}, so review the fields against {new}"),
                        edit,
                    ),
                };
                sink.object(id, field(), message).with_fix(fix);
            }
            None => {
                // A kind of a current Istio group that some release had but the target lacks.
                if let Some((rel, known)) = data.crd_any_release(group, o.kind()) {
                    if crds.crds.iter().any(|c| c.group == group) {
                        sink.object(
                            id,
                            field(),
                            format!(
                                "Istio {} ships no CRD for {} (last in {}: {})",
                                crds.minor,
                                o.kind(),
                                rel.minor,
                                known.name
                            ),
                        )
                        .with_fix(Fix::display_only(
                            "remove the resource or migrate it before the upgrade",
                        ));
                    }
                }
            }
        }
    }
}

/// Whether the schema of `old` in the newest release that served it (the current release
/// when it does) is the target's schema of `new`: only then is rewriting the apiVersion
/// sure to keep the object's meaning and validity. `None` when no release served `old`.
fn same_schema_as_before(
    data: &ReleaseData,
    cx: &Context,
    target: &Version,
    crd: &str,
    old: &str,
    new: &str,
) -> Option<bool> {
    let serves_old = |v: &Version| {
        data.crds(v)
            .is_some_and(|r| r.crds.iter().any(|c| c.name == crd && c.serves(old)))
    };
    let from = cx
        .inventory
        .mesh
        .current_version()
        .filter(|v| serves_old(v))
        .cloned()
        .or_else(|| {
            data.releases
                .iter()
                .rev()
                .filter_map(|r| Version::parse(&r.minor))
                .find(|v| serves_old(v))
        });
    from.map(|from| data.same_schema((&from, crd, old), (target, crd, new)))
}
