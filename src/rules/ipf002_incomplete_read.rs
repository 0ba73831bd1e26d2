use super::{Context, Sink};
use crate::diagnostic::{Fix, Severity};
use crate::model::read_gap::{GapReason, ReadGap, READ_GAP};
use crate::model::Field;

crate::declare_rule! {
    /// ## What it does
    /// Reports a kind that a live read (`check --cluster`, or a `snapshot` taken from one)
    /// could not read although a selected rule needs it: the API server refused the list
    /// (403: RBAC), the list failed after retries (5xx, dropped connections) or did not
    /// finish within `--timeout`, or the server does not serve a built-in kind at all. It
    /// names the rules that therefore did not run. Everything else is still read and checked.
    ///
    /// A custom resource whose CRD is not installed is not a gap in the read — there are none
    /// of it — so the rules that read it do run; this is reported as information only.
    ///
    /// ## Why it matters during an upgrade
    /// A rule that cannot see part of the cluster would say "no problem" where there may be
    /// one: a PodDisruptionBudget it could not list cannot be found to block a drain, a
    /// webhook it could not list cannot be found to point at a deleted revision. A clean
    /// report must mean "checked and clean", so the parts that were not checked are said out
    /// loud.
    ///
    /// ## Example that fires
    /// A read as a user who may not list ConfigMaps, with the mesh-config rules selected (the
    /// snapshot file records the refusal like this):
    /// ```yaml
    /// apiVersion: istio-preflight.io/v1
    /// kind: ReadGap
    /// metadata: {name: configmaps}
    /// spec:
    ///   kind: ConfigMap
    ///   reason: Forbidden
    ///   code: 403
    ///   message: 'configmaps is forbidden: User "ci" cannot list resource "configmaps" in API group "" at the cluster scope'
    /// ```
    ///
    /// ## Example that does not fire
    /// The same refusal when no selected rule reads ConfigMaps (`--select IPF203`): nothing
    /// that ran depended on them.
    ///
    /// ## Fix
    /// Run with a user that may `get` and `list` the kinds the rules read (the README has a
    /// read-only ClusterRole; `kubectl auth can-i list configmaps --all-namespaces` shows
    /// the gap), raise `--timeout` for large clusters, or deselect the rules with `--ignore`
    /// if their part of the check is not wanted.
    ///
    /// ## References
    /// - Kubernetes RBAC, <https://kubernetes.io/docs/reference/access-authn-authz/rbac/>
    /// - API concepts, retrieving large results in chunks (`limit`, `continue`, 410 Gone),
    ///   <https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks>
    /// - `istioctl analyze` reads the same kinds from a live cluster: istio/istio
    ///   `pkg/config/analysis/analyzers`
    code: "IPF002",
    name: "incomplete-read",
    severity: Warning,
    summary: "Part of the cluster could not be read; names the rules that could not run",
    fix: None,
    reads: [],
}

fn check(cx: &Context, sink: &mut Sink) {
    for (id, object) in cx.inventory.of_kind(READ_GAP) {
        let Some(gap) = ReadGap::from_object(object) else {
            continue;
        };
        let readers: Vec<String> = cx
            .selected_rules
            .iter()
            .filter(|r| r.reads.kinds.iter().any(|k| k.kind == gap.kind))
            .map(|r| format!("{} {}", r.code, r.name))
            .collect();
        // A gap no selected rule depends on changed nothing that was checked.
        if readers.is_empty() {
            continue;
        }
        let place = match &gap.namespace {
            Some(ns) => format!("{} in namespace {ns}", gap.kind),
            None => gap.kind.clone(),
        };
        let answer = match gap.code {
            Some(code) => format!("HTTP {code}: {}", gap.message),
            None => gap.message.clone(),
        };
        let rules = readers.join(", ");
        let field = Field::new("/spec/reason");
        match gap.reason {
            GapReason::Forbidden => {
                sink.object(
                    id,
                    field,
                    format!("cannot read {place}: the API server refused the list ({answer}); did not run: {rules}"),
                )
                .with_fix(Fix::display_only(format!(
                    "grant get and list on {} to this user (see the read-only ClusterRole in the README), or --ignore the rules",
                    gap.kind
                )));
            }
            GapReason::Failed => {
                sink.object(
                    id,
                    field,
                    format!(
                        "cannot read {place}: the list failed ({answer}); did not run: {rules}"
                    ),
                )
                .with_fix(Fix::display_only(
                    "run again, with a longer --timeout for a large or busy cluster",
                ));
            }
            GapReason::NotServed => {
                sink.object(
                    id,
                    field,
                    format!("cannot read {place}: {answer}; did not run: {rules}"),
                );
            }
            GapReason::NotInstalled => {
                sink.object(
                    id,
                    field,
                    format!(
                        "{place} is not installed ({answer}); ran as if there were none: {rules}"
                    ),
                )
                .with_severity(Severity::Info);
            }
        }
    }
}
