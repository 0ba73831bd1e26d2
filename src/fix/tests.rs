use serde_json::json;

use super::*;

fn set(path: &str, value: Json) -> Edit {
    Edit::Set {
        path: FieldPath::parse(path),
        value,
    }
}

fn remove(path: FieldPath) -> Edit {
    Edit::Remove { path }
}

fn edit_doc(text: &str, document: usize, edits: &[Edit]) -> Result<String, String> {
    apply_fix(
        "t.yaml",
        text,
        Place {
            document,
            item: None,
        },
        edits,
    )
}

fn edit(text: &str, edits: &[Edit]) -> String {
    edit_doc(text, 0, edits).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

const DEPLOYMENT: &str = "\
# leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart   # trailing comment
  labels:
    app: cart
spec:
  replicas: 2
  template:
    metadata:
      labels: {app: cart}
    spec:
      # the grace period
      terminationGracePeriodSeconds: 10
      containers:
        - name: app
          image: cart:1
";

#[test]
fn replaces_a_scalar_in_place() {
    let out = edit(
        DEPLOYMENT,
        &[set(
            "/spec/template/spec/terminationGracePeriodSeconds",
            json!(45),
        )],
    );
    assert_eq!(
        out,
        DEPLOYMENT.replace(
            "terminationGracePeriodSeconds: 10",
            "terminationGracePeriodSeconds: 45"
        )
    );
}

#[test]
fn inserts_missing_parents_in_the_files_indentation() {
    let out = edit(
        DEPLOYMENT,
        &[set("/spec/strategy/rollingUpdate/maxUnavailable", json!(0))],
    );
    assert!(
        out.ends_with(
            "          image: cart:1\n  strategy:\n    rollingUpdate:\n      maxUnavailable: 0\n"
        ),
        "{out}"
    );
    let four = "spec:\n    replicas: 1\n    template:\n        spec:\n            containers: []\n";
    let out = edit(
        four,
        &[set(
            "/spec/template/metadata/annotations/a.b~1c",
            json!("x"),
        )],
    );
    assert_eq!(
        out,
        format!("{four}        metadata:\n            annotations:\n                a.b/c: x\n")
    );
}

#[test]
fn inserts_into_flow_mappings() {
    let out = edit(
        DEPLOYMENT,
        &[set("/spec/template/metadata/labels/version", json!("v1"))],
    );
    assert!(
        out.contains("      labels: {app: cart, version: v1}\n"),
        "{out}"
    );
    let out = edit("a: {}\n", &[set("/a/b", json!("on"))]);
    assert_eq!(out, "a: {b: 'on'}\n");
    let out = edit("a: {b: 1}\n", &[set("/a/c/d", json!({"e": [1, "x y"]}))]);
    assert_eq!(out, "a: {b: 1, c: {d: {e: [1, x y]}}}\n");
}

#[test]
fn removes_block_and_flow_entries() {
    let out = edit(DEPLOYMENT, &[remove(FieldPath::parse("/metadata/name"))]);
    assert_eq!(
        out,
        DEPLOYMENT.replace("  name: cart   # trailing comment\n", "")
    );
    let out = edit(
        "m: {a: 1, b: 2, c: 3}\n",
        &[remove(FieldPath::parse("/m/b"))],
    );
    assert_eq!(out, "m: {a: 1, c: 3}\n");
    let out = edit("m: {a: 1, b: 2}\n", &[remove(FieldPath::parse("/m/b"))]);
    assert_eq!(out, "m: {a: 1}\n");
    let out = edit("m: {a: 1, b: 2}\n", &[remove(FieldPath::parse("/m/a"))]);
    assert_eq!(out, "m: {b: 2}\n");
    let out = edit("m: {a: 1}\n", &[remove(FieldPath::parse("/m/a"))]);
    assert_eq!(out, "m: {}\n");
}

#[test]
fn removing_the_only_entry_leaves_an_empty_mapping() {
    let text =
        "metadata:\n  annotations: # keep me\n    sidecar.istio.io/inject: \"true\"\n  name: x\n";
    let out = edit(
        text,
        &[remove(
            FieldPath::parse("/metadata/annotations").key("sidecar.istio.io/inject"),
        )],
    );
    assert_eq!(out, "metadata:\n  annotations: {} # keep me\n  name: x\n");
}

#[test]
fn removes_the_first_entry_of_a_list_item() {
    let text = "l:\n- a: 1\n  b: 2\n";
    assert_eq!(
        edit(text, &[remove(FieldPath::parse("/l/0/a"))]),
        "l:\n- b: 2\n"
    );
    assert!(edit_doc("l:\n- a: 1\n", 0, &[remove(FieldPath::parse("/l/0/a"))]).is_err());
}

#[test]
fn removes_an_entry_with_a_block_scalar() {
    let text = "a:\n  b: |\n    x\n    y\n\n  # about c\n  c: 1\n";
    let out = edit(text, &[remove(FieldPath::parse("/a/b"))]);
    assert_eq!(out, "a:\n\n  # about c\n  c: 1\n");
}

#[test]
fn replaces_a_block_scalar() {
    let text = "a:\n  b: |\n    x: false\n  c: 1\n";
    let out = edit(text, &[set("/a/b", json!("{\"x\":true}"))]);
    assert_eq!(out, "a:\n  b: '{\"x\":true}'\n  c: 1\n");
}

#[test]
fn keeps_the_quoting_style() {
    let out = edit(
        "a: 'x'\nb: \"y\"\n",
        &[set("/a", json!("p")), set("/b", json!("q"))],
    );
    assert_eq!(out, "a: 'p'\nb: \"q\"\n");
}

#[test]
fn fills_an_empty_value() {
    assert_eq!(
        edit("a:\nb: 1\n", &[set("/a/c", json!(true))]),
        "a:\n  c: true\nb: 1\n"
    );
    assert_eq!(
        edit("a: ~ # x\nb: 1\n", &[set("/a/c", json!(1))]),
        "a: # x\n  c: 1\nb: 1\n"
    );
    assert_eq!(edit("a:\nb: 1\n", &[set("/a", json!("v"))]), "a: v\nb: 1\n");
}

#[test]
fn keeps_crlf_line_endings() {
    let text = "a:\r\n  b: 1\r\nc: 2\r\n";
    let out = edit(
        text,
        &[set("/a/d", json!("x")), remove(FieldPath::parse("/c"))],
    );
    assert_eq!(out, "a:\r\n  b: 1\r\n  d: x\r\n");
}

#[test]
fn handles_a_missing_final_newline() {
    assert_eq!(
        edit("a:\n  b: 1", &[set("/a/c", json!(2))]),
        "a:\n  b: 1\n  c: 2"
    );
    assert_eq!(
        edit("a:\n  b: 1\n  c: 2", &[remove(FieldPath::parse("/a/c"))]),
        "a:\n  b: 1\n"
    );
}

#[test]
fn edits_only_its_own_document() {
    let text = "a: 1\n---\n# doc 2\na: 1\nb:\n  c: 2\n---\na: 1\n";
    let out = edit_doc(text, 1, &[set("/a", json!(5)), set("/b/d", json!(3))]).unwrap();
    assert_eq!(
        out,
        "a: 1\n---\n# doc 2\na: 5\nb:\n  c: 2\n  d: 3\n---\na: 1\n"
    );
}

#[test]
fn block_collections_follow_the_files_sequence_style() {
    let text = "spec:\n  containers:\n    - name: a\n";
    let out = edit(text, &[set("/spec/args", json!(["x", {"k": "v", "w": 1}]))]);
    assert_eq!(
        out,
        format!("{text}  args:\n    - x\n    - k: v\n      w: 1\n")
    );
}

#[test]
fn refuses_to_edit_through_aliases_and_merge_keys() {
    let text = "base: &b\n  x: 1\nuse: *b\n";
    let err = edit_doc(text, 0, &[set("/use/x", json!(2))]).unwrap_err();
    assert!(err.contains("alias"), "{err}");
    let err = edit_doc(text, 0, &[set("/base/x", json!(2))]).unwrap_err();
    assert!(err.contains("anchor"), "{err}");
    let err = edit_doc("a: &x 1\nb: *x\n", 0, &[set("/a", json!(2))]).unwrap_err();
    assert!(err.contains("anchor"), "{err}");
    let err = edit_doc("m:\n  <<: {a: 1}\n  b: 2\n", 0, &[set("/m/a", json!(2))]).unwrap_err();
    assert!(err.contains("merge"), "{err}");
    // An anchor nothing refers to is harmless.
    assert_eq!(
        edit("a: &x 1\nb: 2\n", &[set("/b", json!(3))]),
        "a: &x 1\nb: 3\n"
    );
}

#[test]
fn unchanged_when_the_value_is_already_there() {
    assert_eq!(edit("a: 1\n", &[set("/a", json!(1))]), "a: 1\n");
    assert_eq!(edit("a: 1\n", &[remove(FieldPath::parse("/b"))]), "a: 1\n");
}

#[test]
fn list_items_are_never_added() {
    assert!(edit_doc("a: [1]\n", 0, &[set("/a/3", json!(1))]).is_err());
    assert_eq!(
        edit("a: [1, 'x']\n", &[set("/a/1", json!("y"))]),
        "a: [1, 'y']\n"
    );
}

#[test]
fn merge_patch_for_cluster_objects() {
    let root = yaml::parse_str(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cart, namespace: shop}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: x}]\n",
    )
    .unwrap()
    .unwrap();
    let object = Object::from_cluster(&root.root().to_json());
    let cmd = kubectl_patch(
        &object,
        &[
            set(
                "/spec/template/spec/terminationGracePeriodSeconds",
                json!(45),
            ),
            remove(FieldPath::parse("/metadata/annotations").key("it's")),
            set("/spec/template/spec/containers/0/image", json!("y")),
        ],
    );
    assert_eq!(
        cmd,
        r#"kubectl patch deployment.apps/cart -n shop --type merge -p '{"spec":{"template":{"spec":{"terminationGracePeriodSeconds":45,"containers":[{"name":"a","image":"y"}]}}},"metadata":{"annotations":{"it'\''s":null}}}'"#
    );
}

#[test]
fn sarif_replacement_covers_whole_lines() {
    assert_eq!(
        line_range("a: 1\nb: 2\nc: 3\n", "a: 1\nb: 5\nc: 3\n"),
        (5, 10, 10)
    );
    assert_eq!(
        line_range("a: 1\nb: 2\n", "a: 1\n  x: y\nb: 2\n"),
        (5, 5, 12)
    );
    assert_eq!(pos_of("a: 1\nb: 2\n", 5), Pos { line: 2, col: 0 });
}

#[test]
fn json_documents_stay_json() {
    let text = "{\n  \"apiVersion\": \"v1\",\n  \"metadata\": {\"name\": \"x\", \"labels\": {\"a\": \"b\"}}\n}\n";
    let out = edit(
        text,
        &[
            set("/metadata/annotations/a.b~1c", json!("on")),
            set("/metadata/name", json!("y z")),
            remove(FieldPath::parse("/metadata/labels/a")),
            set("/spec/x", json!({"k": [1, "v"]})),
        ],
    );
    assert_eq!(
        out,
        "{\n  \"apiVersion\": \"v1\",\n  \"metadata\": {\"name\": \"y z\", \"labels\": {}, \"annotations\": {\"a.b/c\": \"on\"}},\n  \"spec\": {\"x\": {\"k\": [1, \"v\"]}}\n}\n"
    );
    serde_json::from_str::<Json>(&out).expect("still JSON");
}

const ENV: &str = "\
spec:
  containers:
    - name: discovery
      env:
        - name: A
          value: \"1\"
        # keep this comment
        - name: B
          value: \"2\"
      ports: [8080, 15010, 15017]
";

#[test]
fn removes_block_list_items_with_their_lines_only() {
    let first = edit(ENV, &[remove(FieldPath::parse("/spec/containers/0/env/0"))]);
    assert_eq!(
        first,
        ENV.replace("        - name: A\n          value: \"1\"\n", "")
    );
    let last = edit(ENV, &[remove(FieldPath::parse("/spec/containers/0/env/1"))]);
    assert_eq!(
        last,
        ENV.replace("        - name: B\n          value: \"2\"\n", "")
    );
}

#[test]
fn removes_flow_list_items_with_their_comma() {
    let middle = edit(
        ENV,
        &[remove(FieldPath::parse("/spec/containers/0/ports/1"))],
    );
    assert!(middle.contains("ports: [8080, 15017]"), "{middle}");
    let last = edit(
        ENV,
        &[remove(FieldPath::parse("/spec/containers/0/ports/2"))],
    );
    assert!(last.contains("ports: [8080, 15010]"), "{last}");
}

#[test]
fn removing_the_only_block_item_leaves_an_empty_list() {
    let text = "env:\n  - name: A\n    value: x\nother: 1\n";
    assert_eq!(
        edit(text, &[remove(FieldPath::parse("/env/0"))]),
        "env: []\nother: 1\n"
    );
}

#[test]
fn replaced_collections_keep_their_style() {
    assert_eq!(
        edit(
            "m:\n  l: {a: b}\n",
            &[set("/m/l", json!({"a": "b", "c": "d"}))]
        ),
        "m:\n  l: {a: b, c: d}\n"
    );
    assert_eq!(
        edit(
            "m:\n  l:\n    a: b\n  n: 1\n",
            &[set("/m/l", json!({"c": "d"}))]
        ),
        "m:\n  l:\n    c: d\n  n: 1\n"
    );
    assert_eq!(
        edit("m:\n  l: x # note\n", &[set("/m/l", json!(["p", "q"]))]),
        "m:\n  l:\n  - p\n  - q # note\n"
    );
}

#[test]
fn pretty_printed_json_gets_a_line_per_new_key() {
    let text = "{\n  \"metadata\": {\n    \"name\": \"x\",\n    \"labels\": {\n      \"a\": \"b\"\n    }\n  }\n}\n";
    let out = edit(text, &[set("/metadata/annotations/k", json!("v"))]);
    assert_eq!(
        out,
        "{\n  \"metadata\": {\n    \"name\": \"x\",\n    \"labels\": {\n      \"a\": \"b\"\n    },\n    \"annotations\": {\"k\": \"v\"}\n  }\n}\n"
    );
    serde_json::from_str::<Json>(&out).expect("still JSON");
}
