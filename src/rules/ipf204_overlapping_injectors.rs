use std::collections::BTreeSet;

use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::gvk::{DEPLOYMENT, MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE, SERVICE};
use crate::model::webhook::{self, Probe};
use crate::model::Labels;

crate::declare_rule! {
    /// ## What it does
    /// Tests every sidecar-injection webhook's `namespaceSelector` and `objectSelector`
    /// against the label combinations istioctl's webhook analyzer uses — namespace labels
    /// {none, `istio-injection=enabled`, `istio-injection=disabled`} × pod labels {none,
    /// `sidecar.istio.io/inject=true`, `sidecar.istio.io/inject=false`}, each side also with
    /// `istio.io/rev=<r>` for every revision and tag the webhooks, control planes and tag
    /// Services name — and against the labels of every Namespace in the input. It fires
    /// once per overlap, on the first configuration involved, when one of its webhooks
    /// selects a combination another webhook (of any configuration) selects too, naming the
    /// combination and the other webhooks; the other configurations of that overlap get no
    /// finding of their own.
    ///
    /// Configurations that share a name are copies from manifests of different clusters
    /// (one cluster cannot hold both) and are not compared with each other.
    ///
    /// A webhook deactivated by `istioctl tag set default` (selectors requiring
    /// `istio.io/deactivated: never-match`) selects nothing and never overlaps.
    ///
    /// ## Why it matters during an upgrade
    /// Installing a second revision, or a `default` tag, next to the old default injector
    /// makes both answer for the same pods. The API server calls both; which control plane's
    /// proxy and configuration the pod ends up with then depends on webhook order, and
    /// `istioctl analyze` warns the pod may be injected twice. Moving workloads between
    /// revisions stops being predictable exactly when it has to be.
    ///
    /// ## Example that fires
    /// The chart's `istio-sidecar-injector` (revision `default`) and a hand-made
    /// `istio-revision-tag-default` that `istioctl tag set default` did not produce, both
    /// with a webhook selecting namespaces labelled `istio-injection=enabled`.
    ///
    /// ## Example that does not fire
    /// `istio-sidecar-injector-1-26` next to the default injector: its webhooks select only
    /// `istio.io/rev=1-26` (and require `istio-injection` to be absent), so no combination
    /// reaches both.
    ///
    /// ## Fix
    /// Keep one injector per combination: delete the configuration that is no longer
    /// needed (`kubectl delete mutatingwebhookconfiguration <name>`), or let `istioctl tag
    /// set default --revision <rev> --overwrite` deactivate the old default injector.
    ///
    /// ## References
    /// - istio/istio `pkg/config/analysis/analyzers/webhook/webhook.go` (istioctl analyze IST0139 "Webhook overlaps with others")
    /// - Revision tags and the default tag: <https://istio.io/latest/docs/setup/upgrade/canary/#stable-revision-labels>
    /// - Kubernetes matching requests with selectors: <https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#matching-requests-namespaceselector>
    code: "IPF204",
    name: "overlapping-injectors",
    severity: Error,
    summary: "More than one sidecar-injection webhook selects the same namespace or pods",
    fix: None,
    reads: [MUTATING_WEBHOOK_CONFIGURATION, NAMESPACE, DEPLOYMENT, SERVICE],
}

fn check(cx: &Context, sink: &mut Sink) {
    let inv = cx.inventory;
    let configs = webhook::injection_webhooks(inv);
    let entries: Vec<(usize, usize)> = configs
        .iter()
        .enumerate()
        .flat_map(|(c, config)| {
            config
                .webhooks
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.is_deactivated())
                .map(move |(e, _)| (c, e))
        })
        .collect();
    if entries.len() < 2 {
        return;
    }

    let mut revisions: BTreeSet<String> = configs.iter().flat_map(|c| c.revisions()).collect();
    revisions.extend(inv.mesh.control_planes.iter().map(|cp| cp.revision.clone()));
    revisions.extend(inv.mesh.tags.keys().cloned());

    // Namespaces that look alike to every selector are one probe: project their labels on
    // the keys the selectors test, so a thousand namespaces cost a handful of probes.
    let keys: BTreeSet<&str> = entries
        .iter()
        .flat_map(|&(c, e)| {
            let w = &configs[c].webhooks[e];
            w.namespace_selector
                .requirements
                .iter()
                .map(|r| r.key.as_str())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut seen: BTreeSet<Labels> = BTreeSet::new();
    let real: Vec<(String, Labels)> = webhook::namespace_labels(inv)
        .into_iter()
        .filter_map(|(name, labels)| {
            let projected: Labels = labels.iter().filter(|(k, _)| keys.contains(k)).collect();
            seen.insert(projected.clone()).then_some((name, projected))
        })
        .collect();
    let mut probes = webhook::injection_probes(&revisions, &real);
    // A real namespace makes the better example: try those first.
    probes.sort_by_key(|p| p.real_namespace.is_none());

    // Per configuration, in discovery order (real namespaces first): (its webhook, the
    // webhooks it overlaps with, the first combination that shows it).
    type Overlap = ((usize, usize), BTreeSet<(usize, usize)>, Probe);
    let mut overlaps: Vec<Vec<Overlap>> = vec![Vec::new(); configs.len()];
    for probe in &probes {
        let matches: BTreeSet<(usize, usize)> = entries
            .iter()
            .copied()
            .filter(|&(c, e)| configs[c].webhooks[e].selects(&probe.namespace, &probe.pod))
            .collect();
        if matches.len() < 2 {
            continue;
        }
        for &m in &matches {
            // Two configurations of one name cannot coexist in a cluster: they are copies
            // from manifests of different clusters or environments, not rivals.
            let others: BTreeSet<(usize, usize)> = matches
                .iter()
                .copied()
                .filter(|&o| o != m && (o.0 == m.0 || configs[o.0].name != configs[m.0].name))
                .collect();
            if others.is_empty() {
                continue;
            }
            let found = &mut overlaps[m.0];
            if !found.iter().any(|(w, o, _)| *w == m && *o == others) {
                found.push((m, others, probe.clone()));
            }
        }
    }

    let name =
        |(c, e): (usize, usize)| format!("{}/{}", configs[c].name, configs[c].webhooks[e].name);
    // An overlap is one finding, on the first configuration involved: the webhooks that
    // select the same pods, as a set, are reported once whichever of them is looked at.
    let mut reported: BTreeSet<BTreeSet<(usize, usize)>> = BTreeSet::new();
    for (config, found) in configs.iter().zip(&overlaps) {
        let group = |(w, others, _): &Overlap| -> BTreeSet<(usize, usize)> {
            others.iter().copied().chain([*w]).collect()
        };
        let mut fresh: Vec<&Overlap> = Vec::new();
        for overlap in found {
            let g = group(overlap);
            if !reported.contains(&g) && !fresh.iter().any(|f| group(f) == g) {
                fresh.push(overlap);
            }
        }
        let Some(((_, e), others, probe)) = fresh.first().copied() else {
            continue;
        };
        reported.extend(fresh.iter().map(|f| group(f)));
        let found = &fresh;
        let other_names: Vec<String> = others.iter().map(|&o| name(o)).collect();
        let more = found.len() - 1;
        let message = format!(
            "webhook {} selects the same pods as {}: {}, so {} inject it and which revision's proxy it gets depends on webhook order{}",
            config.webhooks[*e].name,
            other_names.join(", "),
            probe.describe(),
            if others.len() == 1 { "both" } else { "all of them" },
            if more > 0 {
                format!(" (and {more} more overlap{})", if more == 1 { "" } else { "s" })
            } else {
                String::new()
            }
        );
        let involved: BTreeSet<usize> = found
            .iter()
            .flat_map(|(_, o, _)| o.iter().map(|&(c, _)| c))
            .collect();
        let mut names: BTreeSet<&str> =
            involved.iter().map(|&c| configs[c].name.as_str()).collect();
        names.insert(&config.name);
        let default_involved = involved
            .iter()
            .map(|&c| &configs[c])
            .chain([config])
            .any(|c| {
                c.revision.as_deref() == Some("default") || c.tag.as_deref() == Some("default")
            });
        let fix = if names.len() == 1 {
            Fix::display_only(format!(
                "narrow the selectors of {}'s webhooks so that each pod is selected by one of them",
                config.name
            ))
        } else {
            Fix::display_only(format!(
                "keep one injector per pod among {}: delete the configuration no longer used (kubectl delete mutatingwebhookconfiguration <name>){}",
                names.into_iter().collect::<Vec<_>>().join(", "),
                if default_involved {
                    ", or let `istioctl tag set default --revision <rev> --overwrite` deactivate the old default injector"
                } else {
                    ""
                }
            ))
        };
        sink.object(
            config.object,
            config.webhooks[*e].path().key("name"),
            message,
        )
        .with_fix(fix);
    }
}
