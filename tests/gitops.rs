//! GitOps inputs beyond kustomize: Argo CD multi-source Applications whose values come from
//! the repository being checked (`$values/...`).

mod common;

#[test]
fn argo_values_refs_are_read_from_the_checked_repository_or_noted() {
    let report = istio_preflight::check(&common::check_args(&[
        "fixtures/argo-values",
        "--target",
        "1.26.0",
    ]))
    .expect("checks");
    // The file that is there is checked like a --values file, at its own lines.
    let removed: Vec<(String, u32)> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == "IPF307")
        .filter_map(|d| report.location(d))
        .map(|l| (l.file.path.clone(), l.span.start.line))
        .collect();
    assert_eq!(
        removed,
        [("fixtures/argo-values/values/istiod.yaml".to_string(), 5)]
    );
    // The one that is not is named in a note, at its valueFiles entry.
    let notes: Vec<(String, u32, &str)> = report
        .notes
        .iter()
        .filter(|n| n.message.contains("$values"))
        .map(|n| {
            (
                report.files[n.file.unwrap()].path.clone(),
                n.line,
                n.message.as_str(),
            )
        })
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].0, "fixtures/argo-values/app.yaml");
    assert_eq!(notes[0].1, 22);
    assert!(notes[0].2.contains("`$values/clusters/other.yaml`"));
}
