use super::{Context, Sink};
use crate::diagnostic::{Edit, Fix, Severity};
use crate::model::membership::Membership;
use crate::model::workload::WorkloadKind;
use crate::model::{Field, FieldPath, Inventory, Labels, ObjectId, Version, Workload};
use crate::release::{reached, Annotation};

crate::declare_rule! {
    /// ## What it does
    /// Looks for Istio annotations that the target release (`--target`, else the current
    /// version, else the newest release in the data) deprecates, ignores or no longer knows,
    /// from `rules/annotations.yaml` (built from istio/api's annotation registry at every
    /// release tag, and checked against the code that reads each annotation). It reads pod
    /// templates and Pods for pod annotations, Services for service annotations, and every
    /// object for annotations Istio's installer wrote. It fires at the annotation.
    ///
    /// As in `istioctl analyze`, `sidecar.istio.io/inject` is not reported on a pod that
    /// also carries the `sidecar.istio.io/inject` label: the label wins. Annotations written
    /// by Istio's own tooling are reported as info only.
    ///
    /// A pod annotation from the data placed on a controller's **own** metadata (a
    /// Deployment's, StatefulSet's, DaemonSet's, ReplicaSet's, Job's or CronJob's
    /// `metadata.annotations` instead of its pod template's) is reported as misplaced: Istio
    /// reads pod annotations from pods only, so it does nothing there, whatever the release
    /// (`istioctl analyze` reports IST0107 misplaced annotation beside IST0135 for
    /// Deployments; istio/istio `pkg/config/analysis/analyzers/annotations/annotations.go`).
    ///
    /// ## Why it matters during an upgrade
    /// An annotation the new release ignores silently stops doing its job: a stats setting,
    /// a traffic exclusion or an opt-out disappears after the workloads restart onto the new
    /// proxies. Deprecated ones are the next to go.
    ///
    /// ## Example that fires
    /// `sidecar.istio.io/statsCompression: "false"` on a pod template with `--target 1.29.0`
    /// (removed in 1.29: use `statsCompression` in `proxy.istio.io/config`).
    ///
    /// `sidecar.istio.io/inject: "false"` in a Deployment's own `metadata.annotations`
    /// (misplaced: it never reached the pods).
    ///
    /// ## Example that does not fire
    /// `sidecar.istio.io/inject: "false"` as both label and annotation, or
    /// `sidecar.istio.io/statsCompression` with `--target 1.28.0`.
    ///
    /// ## Fix
    /// Where the replacement is a label or annotation with the same meaning, the fix moves
    /// the value there (safe). Moving `sidecar.istio.io/inject` to the label is safe only
    /// where it leaves the pod's mesh membership as it is: the injection webhooks select
    /// pods by label only and the injector reads the annotation only for pods a webhook
    /// already selected, so `"true"` as a label turns injection on in a namespace without
    /// an injection label (or one that is not in the input). There the fix is unsafe and
    /// says so; `"false"` always moves safely. Where it is a ProxyConfig field, the message names it. An
    /// annotation that has no effect in the target can be removed (after the old revision is
    /// gone).
    ///
    /// A misplaced annotation gets no applied fix: moving it into the pod template changes
    /// the pods at their next rollout (for `sidecar.istio.io/inject`, whether they are
    /// injected), and deleting it hides what someone meant. The fix says both options.
    ///
    /// ## References
    /// - Istio annotations: <https://istio.io/latest/docs/reference/config/annotations/>
    /// - Analyzer messages IST0135 (deprecated), IST0107 (misplaced) and IST0108 (unknown annotation): <https://istio.io/latest/docs/reference/config/analysis/>
    /// - Registry: istio/api `annotation/annotations.yaml`
    /// - Release data: `rules/annotations.yaml` (each entry's `sources`)
    code: "IPF306",
    name: "deprecated-annotation",
    severity: Warning,
    summary: "A resource uses an Istio annotation that the target release deprecates, ignores or removed",
    fix: Sometimes,
    reads: [] + EVERY_CHECKED_KIND,
}

fn check(cx: &Context, sink: &mut Sink) {
    let data = cx.release;
    let inv = cx.inventory;
    let newest = Version::parse(&data.newest().minor);
    let Some(version) = cx.target_or_current().or(newest.as_ref()) else {
        return;
    };
    let applying: Vec<&Annotation> = data
        .annotations
        .iter()
        .filter(|a| {
            reached(version, a.deprecated_in.as_deref())
                || reached(version, a.ignored_from.as_deref())
                || reached(version, a.removed_in.as_deref())
        })
        .collect();
    if applying.is_empty() {
        return;
    }
    for w in &inv.workloads {
        if w.has_controller_in_inventory {
            continue;
        }
        let meta = w.pod_metadata_path();
        for a in applying.iter().filter(|a| applies_to(a, "Pod")) {
            let Some(value) = w.pod_annotations.get(&a.name) else {
                continue;
            };
            if a.skip_when_label_present
                .as_ref()
                .is_some_and(|l| w.pod_labels.contains_key(l))
            {
                continue;
            }
            let moved = moving_changes_membership(inv, w, a, value);
            report(sink, w.object, &meta, a, value, version, moved.as_deref());
        }
        if w.kind == WorkloadKind::Pod {
            continue;
        }
        let o = inv.object(w.object);
        let own = o.annotations();
        for a in applying
            .iter()
            .filter(|a| applies_to(a, "Pod") && !applies_to(a, "Any") && !applies_to(a, o.kind()))
        {
            if own.get(&a.name).is_some() {
                report_misplaced(sink, w.object, o.kind(), a, version);
            }
        }
    }
    for (id, o) in inv.objects.iter().enumerate() {
        let annotations = o.annotations();
        if annotations.is_empty() {
            continue;
        }
        let meta = Field::new("/metadata").path();
        for a in &applying {
            let on_object = a.resources.iter().any(|r| r == "Any")
                || (o.kind() != "Pod" && applies_to(a, o.kind()));
            if !on_object {
                continue;
            }
            if let Some(value) = annotations.get(&a.name) {
                report(sink, id, &meta, a, value, version, None);
            }
        }
    }
}

fn applies_to(a: &Annotation, kind: &str) -> bool {
    a.resources.iter().any(|r| r == kind)
}

/// When moving a pod annotation to its replacement label would put the pod in or out of
/// the mesh (or onto another revision): how, in words. The injection webhooks select pods
/// by labels only (Istio's `mutatingwebhook.yaml`: `object.sidecar-injector.istio.io`
/// selects `sidecar.istio.io/inject=true` pods in namespaces without an injection label),
/// and the injector reads the annotation only for pods a webhook already sent it. So
/// `sidecar.istio.io/inject: "true"` as an annotation in an unlabelled namespace injects
/// nothing, and the same value as a label turns injection on.
fn moving_changes_membership(
    inv: &Inventory,
    w: &Workload,
    a: &Annotation,
    value: &str,
) -> Option<String> {
    let label = a
        .replacement
        .as_ref()
        .filter(|r| r.kind == "label")?
        .name
        .as_deref()?;
    let mut labels = w.pod_labels.clone();
    labels.insert(label, value);
    let annotations: Labels = w
        .pod_annotations
        .iter()
        .filter(|(k, _)| *k != a.name)
        .collect();
    let after = inv.mesh.membership_with(inv, w, &labels, &annotations);
    if after == w.membership {
        return None;
    }
    let namespace = inv.object(w.object).namespace();
    let why = if inv.namespace_labels(namespace).is_none() {
        format!("namespace `{namespace}` is not in the input, so its labels are unknown")
    } else {
        format!("namespace `{namespace}` has no injection label that selects the pod already")
    };
    Some(format!(
        "unsafe: {} → {}; injection webhooks select pods by label only and {why}",
        describe(&w.membership),
        describe(&after)
    ))
}

fn describe(m: &Membership) -> String {
    match m {
        Membership::None => "no sidecar".to_string(),
        Membership::Ambient => "ambient".to_string(),
        Membership::Sidecar { revision, .. } => format!("sidecar from revision `{revision}`"),
    }
}

fn report(
    sink: &mut Sink,
    object: ObjectId,
    metadata: &FieldPath,
    a: &Annotation,
    value: &str,
    version: &Version,
    moving_changes_membership: Option<&str>,
) {
    let field = metadata.clone().key("annotations").key(&a.name);
    let message = format!("annotation `{}` {}", a.name, standing(a, version));
    let ineffective = a
        .removed_in
        .as_deref()
        .is_some_and(|r| reached(version, Some(r)))
        || a.ignored_from
            .as_deref()
            .is_some_and(|r| reached(version, Some(r)));
    let fix = fix(
        metadata,
        &field,
        a,
        value,
        ineffective,
        moving_changes_membership,
    );
    let d = sink.object(object, field, message);
    if a.set_by_istio {
        d.with_severity(Severity::Info);
    }
    if let Some(fix) = fix {
        d.with_fix(fix);
    }
}

/// A pod annotation on a controller's own metadata (a Deployment's `metadata.annotations`
/// rather than its pod template's): Istio reads pod annotations from pods only, so it does
/// nothing there. `istioctl analyze` reports it as IST0107 (misplaced) beside IST0135.
fn report_misplaced(
    sink: &mut Sink,
    object: ObjectId,
    kind: &str,
    a: &Annotation,
    version: &Version,
) {
    let field = FieldPath::root()
        .key("metadata")
        .key("annotations")
        .key(&a.name);
    let instead = match a.replacement.as_ref() {
        Some(r) if !a.replacement_derived => r.describe(),
        _ => format!("`{}`", a.name),
    };
    let message = format!(
        "annotation `{}` is on the {kind}'s own metadata, where Istio never reads it: it is a pod annotation and takes effect only in the pod template (istioctl analyze: IST0107 misplaced annotation); besides, it {}",
        a.name,
        standing(a, version)
    );
    let d = sink.object(object, field, message);
    if a.set_by_istio {
        d.with_severity(Severity::Info);
    }
    // Moving it into the pod template changes the pods at their next rollout (for
    // sidecar.istio.io/inject, whether they are injected): never safe, so only said.
    d.with_fix(Fix::display_only(format!(
        "it does nothing here: if the pods should have it, set {instead} for them (pod annotations and labels go in spec.template.metadata), which changes them at their next rollout; otherwise delete it from the {kind}'s metadata"
    )));
}

/// What the target makes of the annotation, its replacement and the source:
/// `is deprecated since Istio 1.15 (still honoured in 1.30); use the label … (source)`.
fn standing(a: &Annotation, version: &Version) -> String {
    let target = version.minor_string();
    let status = if let Some(r) = a
        .removed_in
        .as_deref()
        .filter(|r| reached(version, Some(r)))
    {
        format!("was removed in Istio {r} (istioctl analyze reports it as unknown, IST0108) and has no effect")
    } else if let Some(r) = a
        .ignored_from
        .as_deref()
        .filter(|r| reached(version, Some(r)))
    {
        if a.never_effective {
            format!(
                "never had an effect and is gone from the registry since {}",
                a.removed_in.as_deref().unwrap_or(r)
            )
        } else {
            format!("is ignored from Istio {r} on")
        }
    } else {
        format!(
            "is deprecated since Istio {} (still honoured in {target})",
            a.deprecated_in.as_deref().unwrap_or("?")
        )
    };
    let replacement = a
        .replacement
        .as_ref()
        .map(|r| {
            format!(
                "; use {}{}",
                r.describe(),
                if a.replacement_derived {
                    " (the equivalent setting)"
                } else {
                    ""
                }
            )
        })
        .unwrap_or_default();
    // A page people can open beats a repository path.
    let source = a
        .sources
        .iter()
        .find(|s| s.starts_with("https://"))
        .or(a.sources.first())
        .map(String::as_str)
        .unwrap_or("rules/annotations.yaml");
    format!("{status}{replacement} ({source})")
}

fn fix(
    metadata: &FieldPath,
    field: &FieldPath,
    a: &Annotation,
    value: &str,
    ineffective: bool,
    moving_changes_membership: Option<&str>,
) -> Option<Fix> {
    let remove = Edit::Remove {
        path: field.clone(),
    };
    let moved = |map: &str, name: &str| {
        vec![
            Edit::Set {
                path: metadata.clone().key(map).key(name),
                value: serde_json::Value::String(value.to_string()),
            },
            remove.clone(),
        ]
    };
    match a.replacement.as_ref() {
        // Same meaning under a new name: moving the value keeps the behaviour, unless the
        // label is read where the annotation was not (injection webhook selectors).
        Some(r) if r.kind == "label" && !a.replacement_derived && matches!(value, "true" | "false") => {
            let name = r.name.as_deref()?;
            let title = format!("move it to the label `{name}`");
            Some(match moving_changes_membership {
                None => Fix::safe(title, moved("labels", name)),
                Some(change) => Fix::unsafe_(format!("{title} ({change})"), moved("labels", name)),
            })
        }
        Some(r) if r.kind == "annotation" && !a.replacement_derived => {
            let name = r.name.as_deref()?;
            Some(Fix::safe(format!("rename it to `{name}`"), moved("annotations", name)))
        }
        Some(r) if r.kind == "annotation" => {
            let name = r.name.as_deref()?;
            Some(Fix::unsafe_(
                format!("rename it to `{name}`, which does what this name was meant to"),
                moved("annotations", name),
            ))
        }
        Some(r) => Some(Fix::display_only(format!("set {} instead", r.describe()))),
        None if ineffective => Some(Fix::unsafe_(
            "remove it: it has no effect in the target (keep it while an older revision still serves the workload)",
            vec![remove],
        )),
        None => None,
    }
}
