//! Which kind of sidecar a workload's pods run, now and after the upgrade.
//!
//! A **classic** sidecar is `istio-proxy` among the pod's containers: it gets SIGTERM with the
//! application, drains for `terminationDrainDuration` and starts in parallel with the
//! application unless `holdApplicationUntilProxyStarts` holds it back. A **native** sidecar is
//! an init container with `restartPolicy: Always`: it starts before the application, drains
//! from a preStop hook when the pod begins to shut down and gets SIGTERM only after the
//! application containers have exited.
//!
//! An upgrade terminates the pods running **now** (injected by the current control plane, or
//! read from the cluster with their proxy) and creates pods that the **target** injects with
//! its own defaults. Rules about shutdown judge the first, rules about start-up the second.
//! The facts (istiod's switch, its default per release, the kubelet minimum, the pod
//! annotation, the `compatibilityVersion` profiles that pin the old default) are release data.

use std::fmt;

use super::install::{compatibility_version, pilot_env, ValuesFile};
use super::mesh::ControlPlane;
use super::workload::{Workload, WorkloadKind};
use super::{Inventory, Version};
use crate::release::ReleaseData;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SidecarKind {
    Classic,
    Native,
}

/// A sidecar's kind and why it is that kind, in words a message can quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SidecarMode {
    /// `None` when it depends on something the input does not show (`basis` says what).
    pub kind: Option<SidecarKind>,
    pub basis: String,
}

impl SidecarMode {
    fn known(kind: SidecarKind, basis: impl Into<String>) -> SidecarMode {
        SidecarMode {
            kind: Some(kind),
            basis: basis.into(),
        }
    }

    fn unknown(basis: impl Into<String>) -> SidecarMode {
        SidecarMode {
            kind: None,
            basis: basis.into(),
        }
    }

    pub fn is_native(&self) -> bool {
        self.kind == Some(SidecarKind::Native)
    }

    pub fn is_classic(&self) -> bool {
        self.kind == Some(SidecarKind::Classic)
    }
}

impl fmt::Display for SidecarMode {
    /// `a native sidecar (…)`, `a classic sidecar (…)`, `a classic or native sidecar (…)`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let kind = match self.kind {
            Some(SidecarKind::Classic) => "a classic sidecar",
            Some(SidecarKind::Native) => "a native sidecar",
            None => "a classic or native sidecar",
        };
        write!(f, "{kind} ({})", self.basis)
    }
}

/// The lowest kubelet version the injector would see, and where it was read.
#[derive(Clone, Debug)]
struct Kubelet {
    version: Version,
    /// Subject and verb for messages: `Node web-1 runs`, `--kube-version gives`.
    seen_on: String,
}

/// The sidecar kind of every workload, now and after the upgrade.
pub struct ProxyModel<'a> {
    inv: &'a Inventory,
    data: &'a ReleaseData,
    target: Option<&'a Version>,
    /// `compatibilityVersion` of the estate's install settings.
    compatibility: Option<String>,
    /// istiod's switch as the install settings (IstioOperator, values files) set it.
    install_env: Option<(String, String)>,
    /// The oldest kubelet of the input's Nodes, else `--kube-version`.
    kubelet: Option<Kubelet>,
}

/// What decides how a control plane injects: its version, its switch and its pins.
struct Injector<'a> {
    /// `Istio 1.28` (or the current control plane's); `None` when unknown.
    version: Option<&'a Version>,
    /// The switch and where it is set, when set explicitly.
    env: Option<(String, String)>,
}

impl<'a> ProxyModel<'a> {
    pub fn new(
        inv: &'a Inventory,
        data: &'a ReleaseData,
        values: &[ValuesFile],
        target: Option<&'a Version>,
    ) -> ProxyModel<'a> {
        let env = &data.policy.native_sidecars.env;
        let nodes = inv
            .of_kind("Node")
            .filter_map(|(_, n)| {
                let v = n
                    .root()
                    .str_at(&["status", "nodeInfo", "kubeletVersion"])
                    .and_then(Version::parse)?;
                Some((v, n.name()))
            })
            .collect::<Vec<_>>();
        let kubelet = match nodes.iter().min_by(|a, b| a.0.semver.cmp(&b.0.semver)) {
            Some((v, name)) if nodes.len() == 1 => Some(Kubelet {
                version: v.clone(),
                seen_on: format!("Node {name} runs"),
            }),
            Some((v, name)) => Some(Kubelet {
                version: v.clone(),
                seen_on: format!("Node {name}, the oldest of {} Nodes, runs", nodes.len()),
            }),
            None => inv.mesh.kube_version.clone().map(|version| Kubelet {
                version,
                seen_on: "--kube-version gives".to_string(),
            }),
        };
        ProxyModel {
            inv,
            data,
            target,
            compatibility: compatibility_version(inv, values),
            install_env: pilot_env(inv, values, env),
            kubelet,
        }
    }

    /// The sidecar the workload's running pods have: the ones an upgrade terminates.
    pub fn now(&self, w: &Workload) -> SidecarMode {
        if let Some(mode) = injected(w) {
            return mode;
        }
        let cp = self.inv.mesh.control_plane_for(self.inv, w);
        let injector = Injector {
            version: cp
                .and_then(|cp| cp.version.as_ref())
                .or_else(|| self.inv.mesh.current_version()),
            env: cp
                .and_then(|cp| self.explicit_env(cp))
                .or_else(|| self.install_env.clone()),
        };
        self.decide(w, &injector)
    }

    /// The sidecar the pods that the upgrade creates get: the target's injection with the
    /// target's defaults (the current control plane's when no target is given).
    pub fn after(&self, w: &Workload) -> SidecarMode {
        // A template that already carries the proxy (`istioctl kube-inject` output) keeps it:
        // the webhook leaves pods that have `sidecar.istio.io/status` alone.
        if w.kind != WorkloadKind::Pod {
            if let Some(mode) = injected(w) {
                return SidecarMode {
                    basis: format!(
                        "{}: the template is already injected, and the webhook leaves injected pods alone",
                        mode.basis
                    ),
                    ..mode
                };
            }
        }
        let Some(target) = self.target else {
            return self.now(w);
        };
        let mesh = &self.inv.mesh;
        // A control plane of the target already in the input (a GitOps bump, a canary
        // revision installed beside the old one) shows the switch the target runs with; else
        // the settings of the serving control plane are carried over.
        let at_target: Vec<&ControlPlane> = mesh
            .control_planes
            .iter()
            .filter(|cp| {
                cp.object.is_some()
                    && cp
                        .version
                        .as_ref()
                        .is_some_and(|v| v.minor() == target.minor())
            })
            .collect();
        let env = match at_target.as_slice() {
            [first, rest @ ..]
                if rest
                    .iter()
                    .all(|cp| cp.native_sidecars == first.native_sidecars) =>
            {
                self.explicit_env(first)
            }
            _ => mesh
                .control_plane_for(self.inv, w)
                .and_then(|cp| self.explicit_env(cp)),
        }
        .or_else(|| self.install_env.clone());
        self.decide(
            w,
            &Injector {
                version: Some(target),
                env,
            },
        )
    }

    fn explicit_env(&self, cp: &ControlPlane) -> Option<(String, String)> {
        let value = cp.native_sidecars.clone()?;
        let o = self.inv.object(cp.object?);
        Some((
            value,
            format!("istiod Deployment {}/{}", o.namespace(), o.name()),
        ))
    }

    /// The injection template's choice: the pod annotation, then istiod's switch, then the
    /// switch's default in the injecting release (or the `compatibilityVersion` pinning the
    /// old one); `auto` looks at the kubelets.
    fn decide(&self, w: &Workload, injector: &Injector) -> SidecarMode {
        use SidecarKind::{Classic, Native};
        let policy = &self.data.policy.native_sidecars;
        let env = policy.env.as_str();
        if let Some(v) = w.annotation(&policy.pod_annotation) {
            let kind = if v == "false" { Classic } else { Native };
            return SidecarMode::known(
                kind,
                format!("pod annotation {}: \"{v}\"", policy.pod_annotation),
            );
        }
        let mut auto_because = String::new();
        if let Some((value, place)) = &injector.env {
            match value.as_str() {
                "true" => return SidecarMode::known(Native, format!("{env}=true in {place}")),
                "false" => return SidecarMode::known(Classic, format!("{env}=false in {place}")),
                _ => auto_because = format!("{env}={value} in {place}"),
            }
        }
        let Some(version) = injector.version else {
            return SidecarMode::unknown(
                "the input does not show the control plane's version; pass --current",
            );
        };
        let minor = version.minor_string();
        if auto_because.is_empty() {
            if let Some(pin) = self.compatibility_pin(version) {
                return SidecarMode::known(
                    Classic,
                    format!("compatibilityVersion {pin} keeps {env}=false on Istio {minor}"),
                );
            }
            let release = self.data.release(version).or_else(|| {
                // Past the newest release the data knows, its default still holds.
                (version.semver > Version::parse(&self.data.newest().minor)?.semver)
                    .then(|| self.data.newest())
            });
            match release.and_then(|r| r.native_sidecars_default.as_deref()) {
                Some("auto") => auto_because = format!("{env} is auto in Istio {minor}"),
                Some("true") => {
                    return SidecarMode::known(
                        Native,
                        format!("{env} defaults to true in Istio {minor}"),
                    )
                }
                _ => {
                    return SidecarMode::known(
                        Classic,
                        format!("Istio {minor} injects classic sidecars unless {env} is set"),
                    )
                }
            }
        }
        let min = policy.auto_min_kubelet_minor;
        // The injector checks the pod's own node when the pod is already scheduled.
        let node = w.spec.node_name.as_deref().and_then(|name| {
            let v = self
                .inv
                .get("Node", "", name)?
                .root()
                .str_at(&["status", "nodeInfo", "kubeletVersion"])
                .and_then(Version::parse)?;
            Some(Kubelet {
                version: v,
                seen_on: format!("its Node {name} runs"),
            })
        });
        match node.as_ref().or(self.kubelet.as_ref()) {
            Some(k) if k.version.minor() >= min => SidecarMode::known(
                Native,
                format!(
                    "{auto_because} and {} kubelet {}, at least 1.{min}",
                    k.seen_on,
                    k.version.minor_string(),
                ),
            ),
            Some(k) => SidecarMode::known(
                Classic,
                format!(
                    "{auto_because} and {} kubelet {}, older than 1.{min}",
                    k.seen_on,
                    k.version.minor_string(),
                ),
            ),
            None => SidecarMode::unknown(format!(
                "{auto_because}, native only where every kubelet is 1.{min} or newer, and the input shows no Node and no --kube-version"
            )),
        }
    }

    /// The estate's `compatibilityVersion`, when the release of `version` ships it and it
    /// pins native sidecars off.
    fn compatibility_pin(&self, version: &Version) -> Option<&str> {
        let pin = self.compatibility.as_deref()?;
        let env = &self.data.policy.native_sidecars.env;
        let shipped = self
            .data
            .release(version)
            .is_some_and(|r| r.compatibility_versions.iter().any(|v| v == pin));
        let pins = self.data.behavior_changes.iter().any(|c| {
            c.setting.name.as_deref() == Some(env.as_str())
                && c.compatibility_version
                    .as_ref()
                    .is_some_and(|p| p.pinned_by.iter().any(|v| v == pin))
        });
        (shipped && pins).then_some(pin)
    }
}

/// The kind of a proxy the pod spec already holds, or that `sidecar.istio.io/status`
/// records the injector put in.
fn injected(w: &Workload) -> Option<SidecarMode> {
    if let Some((c, _, native)) = w.proxy_container() {
        // `image: auto` is the gateway chart's placeholder for the injector to fill in.
        if c.image.as_deref() != Some("auto") {
            return Some(if native {
                SidecarMode::known(
                    SidecarKind::Native,
                    "istio-proxy is an init container with restartPolicy Always",
                )
            } else {
                SidecarMode::known(SidecarKind::Classic, "istio-proxy is one of the containers")
            });
        }
    }
    let status: serde_json::Value =
        serde_json::from_str(w.annotation("sidecar.istio.io/status")?).ok()?;
    let lists = |key: &str| {
        status
            .get(key)
            .and_then(serde_json::Value::as_array)
            .is_some_and(|l| l.iter().any(|c| c.as_str() == Some("istio-proxy")))
    };
    let basis = "as its sidecar.istio.io/status annotation records";
    if lists("initContainers") {
        Some(SidecarMode::known(
            SidecarKind::Native,
            format!("istio-proxy is an init container, {basis}"),
        ))
    } else if lists("containers") {
        Some(SidecarMode::known(
            SidecarKind::Classic,
            format!("istio-proxy is one of the containers, {basis}"),
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::inventory_of;

    const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n";

    fn istiod(version: &str, env: Option<&str>) -> String {
        let env = env
            .map(|v| format!("\n        env: [{{name: ENABLE_NATIVE_SIDECARS, value: \"{v}\"}}]"))
            .unwrap_or_default();
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: istiod, namespace: istio-system}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: discovery\n        image: docker.io/istio/pilot:{version}{env}\n"
        )
    }

    fn node(kubelet: &str) -> String {
        format!("apiVersion: v1\nkind: Node\nmetadata: {{name: n1}}\nstatus: {{nodeInfo: {{kubeletVersion: v{kubelet}}}}}\n")
    }

    fn app(annotations: &str) -> String {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: shop}}\nspec:\n  template:\n    metadata: {{annotations: {{{annotations}}}}}\n    spec:\n      containers: [{{name: web, image: web}}]\n")
    }

    /// (now, after) for the `web` Deployment.
    fn modes(docs: &[&str], target: Option<&str>) -> (Option<SidecarKind>, Option<SidecarKind>) {
        let (inv, _) = inventory_of(docs);
        let target = target.and_then(Version::parse);
        let model = ProxyModel::new(&inv, crate::release::data(), &[], target.as_ref());
        let w = inv
            .workloads
            .iter()
            .find(|w| inv.object(w.object).name() == "web")
            .expect("web");
        (model.now(w).kind, model.after(w).kind)
    }

    use SidecarKind::{Classic, Native};

    #[test]
    fn target_default_decides_new_pods() {
        let cp = istiod("1.26.2", None);
        // 1.27 defaults to auto: native with 1.33 kubelets, classic with older ones.
        assert_eq!(
            modes(&[NS, &cp, &node("1.33.1"), &app("")], Some("1.27")),
            (Some(Classic), Some(Native))
        );
        assert_eq!(
            modes(&[NS, &cp, &node("1.32.4"), &app("")], Some("1.27")),
            (Some(Classic), Some(Classic))
        );
        // Without a kubelet version the answer is unknown, not a guess.
        assert_eq!(
            modes(&[NS, &cp, &app("")], Some("1.28")),
            (Some(Classic), None)
        );
        // Before 1.27 the default is classic whatever the kubelets.
        assert_eq!(
            modes(
                &[NS, &istiod("1.24.1", None), &node("1.34.0"), &app("")],
                Some("1.26")
            ),
            (Some(Classic), Some(Classic))
        );
    }

    #[test]
    fn explicit_settings_win() {
        let on = istiod("1.25.0", Some("true"));
        assert_eq!(
            modes(&[NS, &on, &app("")], Some("1.26")),
            (Some(Native), Some(Native))
        );
        let off = istiod("1.28.0", Some("false"));
        assert_eq!(
            modes(&[NS, &off, &node("1.34.0"), &app("")], Some("1.29")),
            (Some(Classic), Some(Classic))
        );
        // The pod annotation wins over istiod's switch; any value but "false" is native.
        assert_eq!(
            modes(
                &[NS, &off, &app("sidecar.istio.io/nativeSidecar: \"true\"")],
                Some("1.29")
            ),
            (Some(Native), Some(Native))
        );
        assert_eq!(
            modes(
                &[
                    NS,
                    &istiod("1.28.0", None),
                    &node("1.34.0"),
                    &app("sidecar.istio.io/nativeSidecar: \"false\"")
                ],
                Some("1.29")
            ),
            (Some(Classic), Some(Classic))
        );
    }

    #[test]
    fn compatibility_version_pins_classic() {
        let iop = "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata: {name: i, namespace: istio-system}\nspec: {values: {compatibilityVersion: \"1.26\"}}\n";
        assert_eq!(
            modes(
                &[NS, &istiod("1.26.0", None), &node("1.33.0"), iop, &app("")],
                Some("1.27")
            ),
            (Some(Classic), Some(Classic))
        );
        // 1.28 no longer ships the 1.24 profile: the pin is gone (IPF107 reports the render).
        let old = iop.replace("1.26", "1.24");
        assert_eq!(
            modes(
                &[NS, &istiod("1.27.0", None), &node("1.33.0"), &old, &app("")],
                Some("1.28")
            )
            .1,
            Some(Native)
        );
    }

    #[test]
    fn running_pods_are_what_they_are() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  initContainers: [{name: istio-proxy, image: docker.io/istio/proxyv2:1.26.0, restartPolicy: Always}]\n  containers: [{name: web, image: web}]\n";
        // Running native, and the 1.27 target re-injects classic on old kubelets.
        assert_eq!(
            modes(
                &[NS, &istiod("1.26.0", None), &node("1.30.0"), pod],
                Some("1.27")
            ),
            (Some(Native), Some(Classic))
        );
        let status = "sidecar.istio.io/status: '{\"initContainers\":[\"istio-init\"],\"containers\":[\"istio-proxy\"]}'";
        assert_eq!(
            modes(
                &[NS, &istiod("1.28.0", Some("true")), &app(status)],
                Some("1.28")
            )
            .0,
            Some(Classic)
        );
    }
}
