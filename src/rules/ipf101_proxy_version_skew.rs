use super::{Context, Sink, Strategy};
use crate::diagnostic::{Edit, Fix};
use crate::model::gvk::{
    CONFIG_MAP, CRON_JOB, DAEMON_SET, DEPLOYMENT, JOB, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE,
    NODE, POD, REPLICA_SET, STATEFUL_SET,
};
use crate::model::workload::WorkloadKind;
use crate::model::{Field, Version};

crate::declare_rule! {
    /// ## What it does
    /// Compares every proxy whose version is fixed — injected `istio-proxy` containers of
    /// running pods (classic or native sidecar), gateway Deployments with an explicit
    /// `proxyv2` image, and templates pinned with `sidecar.istio.io/proxyImage` — with the
    /// istiod revision that serves it (pod label `istio.io/rev`, the injector's
    /// `sidecar.istio.io/status` revision, or the namespace's injection labels; tags resolved).
    /// It fires when the proxy is newer than its control plane, or more than one minor older.
    /// With `--target` it also fires for proxies that the upgrade will leave out of skew: with
    /// `--strategy in-place` the serving revision becomes the target, so proxies that are
    /// already one minor behind will be two behind until they restart; with a canary upgrade,
    /// pinned proxy images keep their version when the workload moves to the new revision.
    /// Registries do not matter, only the image tag's version.
    ///
    /// ## Why it matters during an upgrade
    /// Istio supports a control plane at most one minor ahead of its proxies and never behind
    /// them. Outside that window, xDS configuration may use fields the proxy does not know:
    /// listeners get rejected and traffic fails in ways that are hard to trace.
    ///
    /// ## Example that fires
    /// istiod at `pilot:1.29.1`, and a running pod of the default revision with
    /// `image: docker.io/istio/proxyv2:1.27.4` (two minors behind).
    ///
    /// ## Example that does not fire
    /// A pod at `gcr.io/istio-release/proxyv2:1.29.0-distroless` served by istiod 1.29.1, or a
    /// Deployment without a pinned image (the injector gives it the control plane's version).
    ///
    /// ## Fix
    /// Restart the workload so it is re-injected (`kubectl rollout restart`) before the
    /// upgrade, remove `sidecar.istio.io/proxyImage` pins, and update templates that name
    /// their `istio-proxy` image (istioctl-style gateways) or use `image: auto`.
    ///
    /// ## References
    /// - Istio supported releases, control plane/data plane skew: <https://istio.io/latest/docs/releases/supported-releases/>
    /// - Canary upgrades: <https://istio.io/latest/docs/setup/upgrade/canary/>
    /// - In-place upgrades: <https://istio.io/latest/docs/setup/upgrade/in-place/>
    code: "IPF101",
    name: "proxy-version-skew",
    severity: Error,
    summary: "A sidecar or gateway proxy is outside the supported skew of its control plane, now or after the upgrade",
    fix: Sometimes,
    reads: [POD, DEPLOYMENT, STATEFUL_SET, DAEMON_SET, REPLICA_SET, JOB, CRON_JOB, NAMESPACE, CONFIG_MAP, MUTATING_WEBHOOK_CONFIGURATION, NODE],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let mesh = &inv.mesh;
    for w in &inv.workloads {
        if w.kind == WorkloadKind::ReplicaSet && w.has_controller_in_inventory {
            continue;
        }
        if w.membership.sidecar_revision().is_none() {
            continue;
        }
        let (proxy, field, pinned) = if let Some((c, path, _)) = w.proxy_container() {
            let Some(v) = c.image.as_deref().and_then(Version::from_image) else {
                continue;
            };
            (v, path.key("image"), false)
        } else if let Some(image) = w.annotation("sidecar.istio.io/proxyImage") {
            let Some(v) = Version::from_image(image) else {
                continue;
            };
            (
                v,
                w.pod_metadata_path()
                    .key("annotations")
                    .key("sidecar.istio.io/proxyImage"),
                true,
            )
        } else {
            continue;
        };
        let Some(cp) = mesh.control_plane_for(inv, w) else {
            continue;
        };
        let Some(cp_version) = cp.version.as_ref() else {
            continue;
        };
        let o = inv.object(w.object);
        let behind = proxy.minors_to(cp_version);
        let max_behind = max_proxy_behind(cx);
        let restart = restart_hint(o, w.kind);
        let message = if behind < 0 {
            Some(format!(
                "proxy {proxy} is newer than istiod {cp_version} (revision `{}`) that serves it; a proxy must never run ahead of its control plane",
                cp.revision
            ))
        } else if behind > max_behind {
            Some(format!(
                "proxy {proxy} is {behind} minor versions behind istiod {cp_version} (revision `{}`); Istio supports at most {max_behind}",
                cp.revision
            ))
        } else {
            after_upgrade(cx, &proxy, &cp.revision, pinned)
        };
        let Some(message) = message else { continue };
        let fix = if pinned {
            Fix::unsafe_(
                "remove the sidecar.istio.io/proxyImage pin so the injector supplies the control plane's proxy",
                vec![Edit::Remove { path: field.clone() }],
            )
        } else if w.kind == WorkloadKind::Pod {
            Fix::display_only(restart)
        } else {
            // The template names its proxy image: a restart brings back the same version.
            Fix::display_only(format!(
                "set the istio-proxy image to the control plane's version ({cp_version}), or to `auto` so the injector supplies it"
            ))
        };
        sink.object(w.object, field, message).with_fix(fix);
    }
}

/// How many minors the data plane may trail its control plane: Istio's skew policy, from
/// `rules/releases.yaml` (`policy.skew.proxy`).
fn max_proxy_behind(cx: &Context) -> i64 {
    cx.release.policy.skew.proxy.max_minors_behind_control_plane
}

/// Skew that only the planned upgrade creates.
fn after_upgrade(cx: &Context, proxy: &Version, revision: &str, pinned: bool) -> Option<String> {
    let target = cx.upgrade.target.as_ref()?;
    let behind = proxy.minors_to(target);
    let max_behind = max_proxy_behind(cx);
    if behind <= max_behind {
        return None;
    }
    match cx.upgrade.strategy {
        Strategy::InPlace => {
            let upgraded = cx.inventory.mesh.control_planes.len() == 1 || revision == "default";
            upgraded.then(|| {
                format!(
                    "after the in-place upgrade of revision `{revision}` to {target}, proxy {proxy} will be {behind} minor versions behind until it restarts; Istio supports at most {max_behind}"
                )
            })
        }
        Strategy::Canary => pinned.then(|| {
            format!(
                "the pinned proxy {proxy} keeps its version when this workload moves to the {target} revision: {behind} minor versions behind, Istio supports at most {max_behind}"
            )
        }),
    }
}

const OWNER_REFERENCES: Field = Field::new("/metadata/ownerReferences");

fn restart_hint(o: &crate::model::Object, kind: WorkloadKind) -> String {
    let owner = OWNER_REFERENCES
        .read(o.root())
        .and_then(|n| n.as_seq())
        .and_then(|owners| owners.first())
        .and_then(|owner| {
            let field = |key| owner.get(key).and_then(|n| n.as_str());
            Some((field("kind")?, field("name")?))
        });
    let target = match (kind, owner) {
        (WorkloadKind::Pod, Some(("ReplicaSet", rs))) => match rs.rsplit_once('-') {
            Some((deployment, _)) => format!("deployment/{deployment}"),
            None => format!("replicaset/{rs}"),
        },
        (WorkloadKind::Pod, Some((kind, name))) => format!("{}/{name}", kind.to_ascii_lowercase()),
        (WorkloadKind::Pod, None) => {
            return format!(
                "delete and recreate pod {}/{} so it is re-injected with the current proxy",
                o.namespace(),
                o.name()
            )
        }
        (kind, _) => format!("{}/{}", format!("{kind:?}").to_ascii_lowercase(), o.name()),
    };
    format!(
        "restart it so it is re-injected with the current proxy: kubectl rollout restart {target} -n {}",
        o.namespace()
    )
}
