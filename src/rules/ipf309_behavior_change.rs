use serde_json::Value as J;

use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::install::{compatibility_version, find_setting};
use crate::model::membership::Membership;
use crate::model::mesh::MESH_CONFIG;
use crate::model::path::{LABELS, SPEC};
use crate::model::{Field, FieldPath, Inventory, ObjectId, Version};
use crate::release::{reached, BehaviorChange, ReleaseData};
use crate::yaml::{Node, Value};

crate::declare_rule! {
    /// ## What it does
    /// With a current version and `--target`, takes every changed default of the releases
    /// the upgrade crosses (`rules/behavior-changes.yaml`: the flags Istio's
    /// `compatibilityVersion` profiles pin, and other default changes from the upgrade
    /// notes) and names the resources in the input it affects:
    /// - where the data describes the affected objects precisely (a VirtualService with a
    ///   wildcard host, an `ExternalName` Service, a VirtualService that mirrors traffic, a
    ///   mesh config with `discoverySelectors`, ...), each matching object is reported at the
    ///   matching field (warning);
    /// - where a change affects every sidecar, gateway or ambient pod, one finding on the
    ///   estate counts them and names a few (warning too, as `istio-preflight rules` says:
    ///   the change alters what these pods do after the upgrade, so it is worth testing
    ///   even though no single object is at fault).
    ///
    /// Istio's own exceptions are honoured: ServiceEntries with `resolution: NONE` (the
    /// default) get no auto-allocated address; native sidecars become the default only
    /// where every kubelet is 1.33+ (the oldest node's `kubeletVersion`, or
    /// `--kube-version`), and not for pods that set `sidecar.istio.io/nativeSidecar`;
    /// istio-cni's `excludeNamespaces` only matters for ambient pods in those namespaces.
    ///
    /// A change is skipped when the estate already keeps the old behaviour: its flag is set
    /// on istiod (or in `pilot.env` of an IstioOperator or `--values` file), or a
    /// `compatibilityVersion` that pins it is set and still shipped by the target. Changes
    /// whose affected objects cannot be told from manifests (debug clients, cross-namespace
    /// host conflicts) are not reported.
    ///
    /// ## Why it matters during an upgrade
    /// A changed default alters traffic without any change to your configuration: mirrored
    /// requests get another Host, wildcard routes resolve differently, proxies become native
    /// sidecars. Knowing which resources are touched tells you what to test, and Istio's
    /// `compatibilityVersion` lets you upgrade first and adopt the new behaviour later.
    ///
    /// ## Example that fires
    /// A VirtualService with `http[].mirror`, upgrading 1.27.3 → 1.28.0: from 1.28 mirrored
    /// requests no longer get the `-shadow` Host suffix.
    ///
    /// ## Example that does not fire
    /// The same VirtualService when Helm values set `compatibilityVersion: "1.27"` (a
    /// `--values` file, or the values of a Flux HelmRelease or Argo CD Application of
    /// Istio's charts), or an upgrade 1.28.0 → 1.29.0 (the change is not crossed).
    ///
    /// ## Fix
    /// Test the named resources against the new behaviour, or install the target with
    /// `--set compatibilityVersion=<current minor>` (IstioOperator
    /// `spec.values.compatibilityVersion`) to keep the old defaults for now; the message
    /// gives the flag for a per-setting opt-out.
    ///
    /// ## References
    /// - Compatibility versions: <https://istio.io/latest/docs/setup/additional-setup/compatibility-versions/>
    /// - Upgrade notes per release: <https://istio.io/latest/news/releases/>
    /// - `istioctl x precheck` upgrade checks (IST0169): istio/istio `istioctl/pkg/precheck/precheck.go`
    /// - Release data: `rules/behavior-changes.yaml` (each change's `sources`)
    code: "IPF309",
    name: "behavior-change",
    severity: Warning,
    summary: "The upgrade crosses a release whose changed default affects resources in the input",
    fix: None,
    reads: [] + EVERY_CHECKED_KIND,
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let Some((current, target)) = cx.current_and_target() else {
        return;
    };
    let data = cx.release;
    let compatibility = compatibility_version(cx.inventory, cx.values);
    for change in data.changes_between(current, target) {
        if pinned(cx, data, change, target, compatibility.as_deref()) {
            continue;
        }
        let message = describe(change);
        let fix = Fix::display_only(escape(data, change, target));
        match precise_matches(inv, change) {
            Some(hits) => {
                for (object, field) in hits {
                    sink.object(
                        object,
                        field,
                        format!("{message}. Affected here: {}", change.affects_when.trim()),
                    )
                    .with_fix(fix.clone());
                }
            }
            None => {
                if let Some(population) = population(inv, change) {
                    sink.estate(format!("{message}. {population}"))
                        .with_fix(fix);
                }
            }
        }
    }
}

fn describe(c: &BehaviorChange) -> String {
    let setting = c
        .setting
        .name
        .as_deref()
        .map(|n| {
            format!(
                " ({n}: {} → {})",
                c.old_default.trim(),
                c.new_default.trim()
            )
        })
        .unwrap_or_default();
    let source = c
        .sources
        .iter()
        .find(|s| s.starts_with("https://"))
        .or(c.sources.first())
        .map(String::as_str)
        .unwrap_or("rules/behavior-changes.yaml");
    format!(
        "Istio {} changed a default{setting}: {} ({source})",
        c.release,
        c.summary.trim().trim_end_matches('.')
    )
}

/// How to keep the old behaviour through the upgrade.
fn escape(data: &ReleaseData, c: &BehaviorChange, target: &Version) -> String {
    let shipped = data
        .release(target)
        .map(|r| r.compatibility_versions.as_slice())
        .unwrap_or_default();
    let still_exists = !reached(target, c.setting.removed_in.as_deref());
    let compat = c
        .compatibility_version
        .iter()
        .flat_map(|p| p.pinned_by.iter())
        .filter(|v| shipped.contains(v))
        .max_by_key(|v| Version::parse(v).map(|v| v.semver.minor))
        .filter(|_| still_exists);
    let opt_out = c.opt_out.as_deref().map(str::trim).filter(|_| still_exists);
    match (compat, opt_out) {
        (Some(v), Some(o)) => format!(
            "test the affected resources, or keep the old behaviour for now: install with compatibilityVersion={v} (Helm --set compatibilityVersion={v}, IstioOperator spec.values.compatibilityVersion), or {o}"
        ),
        (Some(v), None) => format!(
            "test the affected resources, or keep the old behaviour for now: install with compatibilityVersion={v}"
        ),
        (None, Some(o)) => format!("test the affected resources, or opt out: {o}"),
        (None, None) => "test the affected resources: the target has no switch back".to_string(),
    }
}

/// Whether a Helm release of Istio's charts declared as an object sets `pattern` in its
/// values (or as a parameter).
fn set_by_chart_release(cx: &Context, pattern: &str) -> bool {
    cx.inventory.mesh.chart_releases.iter().any(|r| {
        r.values(cx.inventory)
            .iter()
            .any(|v| !find_setting(v.node, pattern).is_empty())
            || r.parameters().any(|(name, ..)| name == pattern)
    })
}

/// Whether the estate already keeps the old behaviour through the target.
fn pinned(
    cx: &Context,
    data: &ReleaseData,
    c: &BehaviorChange,
    target: &Version,
    compatibility: Option<&str>,
) -> bool {
    if reached(target, c.setting.removed_in.as_deref()) {
        return false; // A pin on a removed setting no longer holds (IPF307 says so).
    }
    if let (Some(v), Some(pin)) = (compatibility, &c.compatibility_version) {
        let shipped = data
            .release(target)
            .is_some_and(|r| r.compatibility_versions.iter().any(|s| s == v));
        if shipped && pin.pinned_by.iter().any(|p| p == v) {
            return true;
        }
    }
    let Some(name) = c.setting.name.as_deref() else {
        return false;
    };
    match c.setting.kind.as_str() {
        "pilot_env" => {
            let inv = cx.inventory;
            let on_istiod = inv.mesh.control_planes.iter().any(|cp| {
                let (Some(object), Some(image)) = (cp.object, cp.image_field(inv)) else {
                    return false;
                };
                image
                    .parent()
                    .map(|p| p.key("env"))
                    .and_then(|p| p.resolve(inv.object(object).root()))
                    .and_then(Node::as_seq)
                    .is_some_and(|env| {
                        env.iter()
                            .any(|e| e.get("name").and_then(Node::as_str) == Some(name))
                    })
            });
            on_istiod
                || inv.of_kind("IstioOperator").any(|(_, o)| {
                    Field::new("/spec/values/pilot/env")
                        .read(o.root())
                        .and_then(|env| env.get(name))
                        .is_some()
                })
                || cx.values.iter().any(|v| {
                    Field::new("/pilot/env")
                        .read(v.tree.root())
                        .and_then(|env| env.get(name))
                        .is_some()
                })
                || set_by_chart_release(cx, &format!("pilot.env.{name}"))
        }
        "helm_value" => {
            let iop = c.setting.iop_path.as_deref();
            cx.inventory.of_kind("IstioOperator").any(|(_, o)| {
                iop.zip(o.root().get("spec"))
                    .is_some_and(|(p, spec)| !find_setting(spec, p).is_empty())
            }) || cx
                .values
                .iter()
                .any(|v| !find_setting(v.tree.root(), name).is_empty())
                || set_by_chart_release(cx, name)
        }
        _ => false,
    }
}

/// Objects the change affects, when every match hint can be evaluated; `None` otherwise.
fn precise_matches(inv: &Inventory, c: &BehaviorChange) -> Option<Vec<(ObjectId, FieldPath)>> {
    if c.match_hints.is_empty() {
        return None;
    }
    let mut hits = Vec::new();
    for hint in &c.match_hints {
        hits.extend(evaluate(inv, hint)?);
    }
    hits.sort();
    hits.dedup_by(|a, b| a.0 == b.0);
    Some(hits)
}

fn evaluate(inv: &Inventory, hint: &J) -> Option<Vec<(ObjectId, FieldPath)>> {
    let kind = hint.get("kind")?.as_str()?;
    // Conditions in words cannot be evaluated; the caller falls back to a summary.
    if hint.get("condition").is_some() || hint.get("and").is_some() {
        return None;
    }
    let mut hits = Vec::new();
    if kind == "MeshConfig" {
        for (id, o) in inv.of_kind("ConfigMap") {
            if o.name() != "istio" && !o.name().starts_with("istio-") {
                continue;
            }
            let Some(mesh) = crate::model::mesh::mesh_config_of(o) else {
                continue;
            };
            if matches_node(mesh.root(), hint)?.is_some() {
                hits.push((id, MESH_CONFIG.path()));
            }
        }
        return Some(hits);
    }
    if kind == "AmbientWorkload" && hint.get("in_cni_excluded_namespace") == Some(&J::Bool(true)) {
        return Some(ambient_in_cni_excluded_namespaces(inv));
    }
    if kind == "Pod" {
        let keys: Vec<&str> = hint
            .get("annotations_any")?
            .as_array()?
            .iter()
            .filter_map(J::as_str)
            .collect();
        for w in &inv.workloads {
            if w.has_controller_in_inventory || w.membership.sidecar_revision().is_none() {
                continue;
            }
            if let Some(k) = keys.iter().find(|k| w.pod_annotations.contains_key(k)) {
                hits.push((w.object, w.pod_metadata_path().key("annotations").key(k)));
            }
        }
        return Some(hits);
    }
    for (id, o) in inv.of_kind(kind) {
        if let Some(ns) = hint.get("namespace").and_then(J::as_str) {
            if o.namespace() != ns {
                continue;
            }
        }
        if let Some(name) = hint.get("name").and_then(J::as_str) {
            if o.name() != name {
                continue;
            }
        }
        if let Some(field) = matches_node(o.root(), hint)? {
            if !excluded(o.root(), hint)? {
                hits.push((id, field));
            }
        }
    }
    Some(hits)
}

/// Ambient workloads in a namespace istio-cni is told to exclude, at what enrols them (the
/// pod's `istio.io/dataplane-mode` label, else the namespace's). The excluded namespaces
/// come from the `istio-cni-config` ConfigMap (`EXCLUDE_NAMESPACES`, comma-separated) and
/// IstioOperator `values.cni.excludeNamespaces`; without either, istio-cni excludes only
/// `kube-system`, where nothing is enrolled.
fn ambient_in_cni_excluded_namespaces(inv: &Inventory) -> Vec<(ObjectId, FieldPath)> {
    let mut excluded: Vec<String> = Vec::new();
    for (_, o) in inv.of_kind("ConfigMap") {
        if o.name() == "istio-cni-config" {
            if let Some(list) = Field::new("/data/EXCLUDE_NAMESPACES").read_str(o.root()) {
                excluded.extend(list.split(',').map(|n| n.trim().to_string()));
            }
        }
    }
    for (_, o) in inv.of_kind("IstioOperator") {
        if let Some(list) = Field::new("/spec/values/cni/excludeNamespaces")
            .read(o.root())
            .and_then(Node::as_seq)
        {
            excluded.extend(list.iter().filter_map(|n| n.as_str()).map(str::to_string));
        }
    }
    let mode_label = "istio.io/dataplane-mode";
    let mut hits = Vec::new();
    for w in &inv.workloads {
        let namespace = inv.object(w.object).namespace();
        if w.has_controller_in_inventory
            || w.membership != Membership::Ambient
            || !excluded.iter().any(|n| n == namespace)
        {
            continue;
        }
        if w.label(mode_label).is_some() {
            hits.push((
                w.object,
                w.pod_metadata_path().key("labels").key(mode_label),
            ));
        } else if let Some(id) = inv.all("Namespace", "", namespace).next() {
            hits.push((id, LABELS.key(mode_label)));
        }
    }
    hits
}

/// Whether one of the hint's `not` conditions holds for the object (Istio leaves such
/// objects alone); `None` when one cannot be evaluated.
fn excluded(root: Node, hint: &J) -> Option<bool> {
    let Some(exceptions) = hint.get("not") else {
        return Some(false);
    };
    for exception in exceptions.as_array()? {
        if exception.get("not").is_some() || matches_node(root, exception)?.is_some() {
            return Some(true);
        }
    }
    Some(false)
}

/// Whether `root` satisfies the hint's field conditions, and where. `None` for a condition
/// this code does not know (the hint is then not evaluable).
fn matches_node(root: Node, hint: &J) -> Option<Option<FieldPath>> {
    let known = [
        "kind",
        "namespace",
        "name",
        "path",
        "equals",
        "starts_with",
        "present",
        "paths_any",
        "any_string_contains",
        "annotations_any",
        "not",
    ];
    if hint
        .as_object()?
        .keys()
        .any(|k| !known.contains(&k.as_str()))
    {
        return None;
    }
    if let Some(path) = hint.get("path").and_then(J::as_str) {
        let found = find_pointer(root, path);
        if let Some(want) = hint.get("equals").and_then(J::as_str) {
            return Some(
                found
                    .into_iter()
                    .find(|(_, n)| n.as_str() == Some(want))
                    .map(|(p, _)| p),
            );
        }
        if let Some(prefix) = hint.get("starts_with").and_then(J::as_str) {
            return Some(
                found
                    .into_iter()
                    .find(|(_, n)| n.as_str().is_some_and(|s| s.starts_with(prefix)))
                    .map(|(p, _)| p),
            );
        }
        return match hint.get("present").and_then(J::as_bool) {
            Some(true) => Some(found.into_iter().next().map(|(p, _)| p)),
            Some(false) => Some(found.is_empty().then(|| SPEC.path())),
            None => None,
        };
    }
    if let Some(paths) = hint.get("paths_any").and_then(J::as_array) {
        return Some(
            paths
                .iter()
                .filter_map(J::as_str)
                .find_map(|p| find_pointer(root, p).into_iter().next().map(|(p, _)| p)),
        );
    }
    if let Some(needles) = hint.get("any_string_contains").and_then(J::as_array) {
        let needles: Vec<&str> = needles.iter().filter_map(J::as_str).collect();
        let mut found = None;
        strings(root, FieldPath::root(), &mut |path, s| {
            if found.is_none() && needles.iter().any(|n| s.contains(n)) {
                found = Some(path.clone());
            }
        });
        return Some(found);
    }
    // Only a namespace/name selection: the object itself.
    Some(Some(Field::new("/metadata/name").path()))
}

/// Nodes at a `/`-separated path where `*` is any list item or map key.
fn find_pointer<'a>(root: Node<'a>, path: &str) -> Vec<(FieldPath, Node<'a>)> {
    let mut current = vec![(FieldPath::root(), root)];
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        // JSON-pointer escapes, for keys with a `/` (labels, annotations).
        let seg = seg.replace("~1", "/").replace("~0", "~");
        let seg = seg.as_str();
        let mut next = Vec::new();
        for (p, n) in current {
            match n.value() {
                Value::Map(entries) => {
                    for e in entries.iter().filter(|e| seg == "*" || e.key == seg) {
                        next.push((p.clone().key(e.key), e.value));
                    }
                }
                Value::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if seg == "*" || seg.parse::<usize>().ok() == Some(i) {
                            next.push((p.clone().index(i), item));
                        }
                    }
                }
                _ => {}
            }
        }
        current = next;
    }
    current
}

fn strings(node: Node, path: FieldPath, f: &mut dyn FnMut(&FieldPath, &str)) {
    match node.value() {
        Value::Str(s) => f(&path, s),
        Value::Map(entries) => {
            for e in entries {
                strings(e.value, path.clone().key(e.key), f);
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, path.clone().index(i), f);
            }
        }
        _ => {}
    }
}

/// For changes that touch every proxy of a kind: how many the input has, and a few names.
fn population(inv: &Inventory, c: &BehaviorChange) -> Option<String> {
    let mut groups: Vec<String> = Vec::new();
    let mut name_some = |(one, many): (&str, &str), names: Vec<String>| {
        if names.is_empty() {
            return;
        }
        let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
        let more = if names.len() > 3 {
            format!(" and {} more", names.len() - 3)
        } else {
            String::new()
        };
        let label = if names.len() == 1 { one } else { many };
        groups.push(format!(
            "{} {label} ({}{more})",
            names.len(),
            shown.join(", ")
        ));
    };
    let workloads = |pred: &dyn Fn(&crate::model::Workload) -> bool| -> Vec<String> {
        inv.workloads
            .iter()
            .filter(|w| !w.has_controller_in_inventory && pred(w))
            .map(|w| inv.object(w.object).display_name())
            .collect()
    };
    // A change Istio makes only where every kubelet is new enough (native sidecars): none
    // of it applies on older kubelets, and pods that choose for themselves are not
    // affected. The kubelet floor is the model's (the oldest node's kubeletVersion, or
    // --kube-version); unknown, the message's condition says what it depends on.
    if let (Some(min), Some(kube)) = (c.kubelet_min_minor_for_auto, &inv.mesh.kube_version) {
        if kube.semver.minor < min {
            return None;
        }
    }
    let decides_itself = |w: &crate::model::Workload| {
        c.kubelet_min_minor_for_auto.is_some()
            && (w.annotation("sidecar.istio.io/nativeSidecar").is_some()
                || w.proxy_container().is_some_and(|(_, _, native)| native))
    };
    for a in &c.affects {
        match a.as_str() {
            "pods" => name_some(
                ("sidecar workload", "sidecar workloads"),
                workloads(&|w| {
                    w.membership.sidecar_revision().is_some()
                        && !w.is_gateway()
                        && !decides_itself(w)
                }),
            ),
            "gateways" => name_some(("gateway", "gateways"), workloads(&|w| w.is_gateway())),
            "ambient_pods" => name_some(
                ("ambient workload", "ambient workloads"),
                workloads(&|w| w.membership == Membership::Ambient),
            ),
            // The node agent only counts when no workloads are named: for changes that
            // touch ambient pods through it, the pods are what is affected.
            "istio-cni"
                if !c
                    .affects
                    .iter()
                    .any(|a| matches!(a.as_str(), "pods" | "gateways" | "ambient_pods")) =>
            {
                name_some(
                    ("istio-cni agent", "istio-cni agents"),
                    inv.of_kind("DaemonSet")
                        .filter(|(_, o)| o.name().starts_with("istio-cni"))
                        .map(|(_, o)| o.display_name())
                        .collect(),
                )
            }
            _ => {}
        }
    }
    (!groups.is_empty()).then(|| {
        format!(
            "It applies to {} in the input: {}",
            groups.join(", "),
            c.affects_when.trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(docs: &[&str]) -> Inventory {
        crate::model::inventory_of(docs).0
    }

    fn change(id: &str) -> &'static BehaviorChange {
        crate::release::data()
            .behavior_changes
            .iter()
            .find(|c| c.id == id)
            .unwrap()
    }

    #[test]
    fn mesh_config_and_named_objects() {
        let inv = inventory(&[
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: 'discoverySelectors: [{matchLabels: {a: b}}]'\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-canary, namespace: istio-system}\ndata:\n  mesh: 'accessLogFile: /dev/stdout'\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: zipkin, namespace: istio-system}\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: zipkin, namespace: tracing}\n",
        ]);
        let scoping = precise_matches(&inv, change("enhanced-resource-scoping")).unwrap();
        assert_eq!(scoping, vec![(0, FieldPath::parse("/data/mesh"))]);
        let zipkin = precise_matches(&inv, change("default-zipkin-tracing-removed")).unwrap();
        assert_eq!(zipkin.iter().map(|h| h.0).collect::<Vec<_>>(), vec![2]);
        // A condition in words is not guessed at.
        assert!(precise_matches(&inv, change("serviceentry-none-target-port")).is_none());
    }

    #[test]
    fn native_sidecars_need_every_kubelet_at_the_minimum() {
        let node = |v: &str| {
            format!("apiVersion: v1\nkind: Node\nmetadata: {{name: n-{v}}}\nstatus: {{nodeInfo: {{kubeletVersion: v1.{v}.2}}}}\n")
        };
        let pod = |name: &str, annotations: &str| {
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  template:\n    metadata: {{labels: {{sidecar.istio.io/inject: 'true'}}, annotations: {{{annotations}}}}}\n    spec: {{containers: [{{name: app, image: a}}]}}\n")
        };
        let native = change("native-sidecars");
        let (a, b) = (
            pod("cart", ""),
            pod("pinned", "sidecar.istio.io/nativeSidecar: 'false'"),
        );
        // Every kubelet 1.33+: the pods that do not choose for themselves are affected.
        let (n33, n34) = (node("33"), node("34"));
        let inv = inventory(&[&n33, &n34, &a, &b]);
        let found = population(&inv, native).expect("affected");
        assert!(
            found.contains("1 sidecar workload (Deployment shop/cart)"),
            "{found}"
        );
        // One kubelet below 1.33: Istio keeps classic sidecars, nothing is affected.
        let n32 = node("32");
        let inv = inventory(&[&n33, &n32, &a, &b]);
        assert_eq!(population(&inv, native), None);
    }

    #[test]
    fn wildcards_in_paths() {
        let inv = inventory(&[
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\nspec: {hosts: [cart, '*.example.com']}\n",
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: b}\nspec: {hosts: [cart]}\n",
        ]);
        let hits = precise_matches(&inv, change("vs-wildcard-most-specific-wins")).unwrap();
        assert_eq!(hits, vec![(0, FieldPath::parse("/spec/hosts/1"))]);
    }
}
