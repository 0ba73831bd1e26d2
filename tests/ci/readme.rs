//! The README's examples must work: each fenced block after an `<!-- example: NAME -->`
//! marker is run or checked here.

use super::*;
use serde_json::Value;

fn example(name: &str) -> String {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let marker = format!("<!-- example: {name} -->\n");
    let at = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README.md has no {marker:?}"));
    let rest = &readme[at + marker.len()..];
    let body = rest.split_once('\n').expect("a fence").1;
    body[..body.find("\n```").expect("a closing fence")].to_string() + "\n"
}

#[test]
fn the_config_example_works_on_the_demo_estate() {
    let s = Scratch::new("readme-config");
    s.git_root();
    s.demo(".");
    s.write(".istio-preflight.yaml", &example("config"));
    let suppressed = ".istio-preflight.yaml: 3 findings suppressed by 2 of its suppressions";

    // As written, with every rule: it loads, and its suppressions take effect (none is
    // reported as expired or unused).
    let r = run(&s.dir, &["check", ".", "--format", "json"], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["estate"]["upgrade"]["target"], "1.30.3");
    assert_eq!(j["estate"]["upgrade"]["strategy"], "canary");
    let all = findings(&j);
    assert!(all.contains(&(
        "IPF406".to_string(),
        "Deployment payments/checkout".to_string()
    )));
    assert!(!all
        .iter()
        .any(|(c, o)| c == "IPF406" && o.starts_with("Deployment shop/")));
    assert!(!all.iter().any(|(c, _)| c == "IPF101"), "{all:?}");
    let all_notes = notes(&j);
    assert!(all_notes.contains(&suppressed.to_string()), "{all_notes:?}");
    assert!(
        !all_notes
            .iter()
            .any(|n| n.contains("expired") || n.contains("matched no finding")),
        "{all_notes:?}"
    );

    // Exactly, with DEMO_RULES: its suppressions hide the three findings of IPF406 on shop
    // and IPF101 on the pod dump, and its severity override applies to what is left.
    let r = run(
        &s.dir,
        &["check", ".", "--format", "json", "--select", DEMO_RULES],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let j = r.json();
    assert_eq!(notes(&j), [suppressed]);
    assert_eq!(
        findings(&j),
        pairs(&[
            ("IPF203", "Namespace payments"),
            ("IPF405", "Deployment shop/cart"),
            ("IPF406", "Deployment payments/checkout"),
        ])
    );
    let checkout = j["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "IPF406")
        .unwrap();
    assert_eq!(checkout["severity"], "error");
}

#[test]
fn the_baseline_example_works() {
    let s = Scratch::new("readme-baseline");
    s.git_root();
    s.demo(".");
    let commands: Vec<String> = example("baseline")
        .lines()
        .filter(|l| l.starts_with("istio-preflight "))
        .map(str::to_string)
        .collect();
    assert_eq!(commands.len(), 2);
    let codes: Vec<i32> = commands
        .iter()
        .map(|c| {
            let args: Vec<&str> = c.split_whitespace().skip(1).collect();
            run(&s.dir, &args, &[]).code
        })
        .collect();
    assert_eq!(
        codes,
        [1, 0],
        "writing reports the findings; then nothing is new"
    );
}

#[test]
fn the_workflow_example_uses_the_action_as_declared() {
    let workflow = istio_preflight::yaml::parse_str(&example("workflow"))
        .unwrap()
        .unwrap()
        .root()
        .to_json();
    // Like Kubernetes, the loader reads YAML 1.1 booleans, so the key `on` arrives as `true`;
    // GitHub reads it as `on`.
    let on = workflow.get("on").or(workflow.get("true")).expect("on:");
    assert!(on["push"].is_object());
    assert!(on.get("pull_request").is_some());
    assert_eq!(workflow["permissions"]["security-events"], "write");
    let action = istio_preflight::yaml::parse_str(&std::fs::read_to_string("action.yml").unwrap())
        .unwrap()
        .unwrap()
        .root()
        .to_json();
    let steps = workflow["jobs"]["preflight"]["steps"].as_array().unwrap();
    let using = |action: &str| {
        steps
            .iter()
            .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
            .unwrap_or_else(|| panic!("a step using {action}"))
    };
    let step = using("istio-preflight/istio-preflight@");
    for (key, value) in step["with"].as_object().unwrap() {
        assert!(
            action["inputs"].get(key).is_some(),
            "README passes unknown input {key}"
        );
        if key == "fail-on" {
            assert!(["error", "warning", "info", "never"].contains(&value.as_str().unwrap()));
        }
    }
    // On pull requests the action compares with the base commit, which a default
    // (one-commit) checkout does not have.
    assert_eq!(using("actions/checkout@")["with"]["fetch-depth"], 0);
    // Third-party actions in the example are pinned too.
    for s in steps {
        if let Some(uses) = s["uses"]
            .as_str()
            .filter(|u| !u.starts_with("istio-preflight/"))
        {
            let rev = uses.split_once('@').unwrap().1;
            assert_eq!(rev.len(), 40, "{uses}");
        }
    }
    let _: &Value = &workflow;
}
