use super::{Context, Sink};

crate::declare_rule! {
    /// ## What it does
    /// Reports input that cannot be read as Kubernetes objects: YAML that does not parse,
    /// binary or non-UTF-8 files, unrendered Helm templates, alias bombs, absurd nesting,
    /// empty files, and known fields of the wrong shape (`spec: 3` on a Deployment).
    ///
    /// ## Why it matters during an upgrade
    /// A manifest that cannot be read cannot be checked: every other rule is blind to it, and
    /// `kubectl apply` will reject it in the middle of the upgrade. The rest of the input is
    /// still checked; each problem is reported once, at its position.
    ///
    /// ## Example that fires
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata: {name: cart}
    /// spec: 3          # expected a mapping
    /// ```
    ///
    /// ## Example that does not fire
    /// ```yaml
    /// apiVersion: v1
    /// kind: ConfigMap
    /// metadata: {name: dashboards}
    /// data:
    ///   legend: "{{ pod }}"   # braces inside a string are just text
    /// ```
    ///
    /// ## Fix
    /// Correct the YAML at the reported position. For Helm charts, check the rendered output:
    /// `helm template <release> <chart> | istio-preflight check -`.
    ///
    /// ## References
    /// - YAML 1.2 specification, <https://yaml.org/spec/1.2.2/>
    /// - Kubernetes API conventions, <https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md>
    code: "IPF001",
    name: "invalid-manifest",
    severity: Error,
    summary: "A document cannot be parsed or is not a Kubernetes object of the expected shape",
    fix: None,
    reads: [],
}

fn check(cx: &Context, sink: &mut Sink) {
    for path in cx.unreadable {
        sink.estate(format!("cannot read {path}"));
    }
    for p in cx.read_problems {
        sink.file(p.file, p.span, p.message.clone())
            .with_severity(p.severity);
    }
    for e in cx.shape_errors {
        sink.object(e.object, e.path.clone(), e.message.clone());
    }
}
