//! Embeds the CRD schema files under `rules/schemas/` so that adding an Istio release is a
//! data change: the generator writes new files and the index, and the next build picks
//! them up without a Rust edit.
//!
//! Also embeds the release data files with their JSON form from `rules/generated/` when that
//! is fresh (the hash recorded beside it matches the YAML): parsing JSON costs a tenth of
//! parsing the YAML, a fixed cost every run pays. When a YAML file has changed since its
//! JSON was made, the build warns and the tool parses that YAML file instead, so a run is
//! never wrong, only slower; `UPDATE_SNAPSHOTS=1 cargo test` brings the JSON up to date.

use std::path::{Path, PathBuf};

#[path = "src/fingerprint.rs"]
mod fingerprint;

use fingerprint::{hash_line, json_name};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.join("rules").join("schemas");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut out = String::from("/// `(path relative to rules/schemas, JSON text)` of every schema file.\npub static SCHEMA_FILES: &[(&str, &str)] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file
            .strip_prefix(&root)
            .expect("under root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        out.push_str(&format!(
            "    ({relative:?}, include_str!({:?})),\n",
            file.display().to_string()
        ));
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out_dir.join("schemas.rs"), out).expect("write schemas.rs");
    std::fs::write(out_dir.join("release_data.rs"), release_data(&manifest))
        .expect("write release_data.rs");
}

/// The release data files, relative to `rules/`.
const RELEASE_DATA: &[&str] = &[
    "releases.yaml",
    "crds.yaml",
    "schemas/index.yaml",
    "removed-apis.yaml",
    "annotations.yaml",
    "install-settings.yaml",
    "behavior-changes.yaml",
];

fn release_data(manifest: &Path) -> String {
    let rules = manifest.join("rules");
    let generated = rules.join("generated");
    let hashes_file = generated.join("hashes.txt");
    println!("cargo:rerun-if-changed={}", hashes_file.display());
    let hashes = std::fs::read_to_string(&hashes_file).unwrap_or_default();
    let mut out = String::from(
        "/// `(file under rules/, YAML text, its JSON form when fresh)` of every release data file.
pub static RELEASE_DATA: &[(&str, &str, Option<&str>)] = &[
",
    );
    for name in RELEASE_DATA {
        let yaml = rules.join(name);
        let json = generated.join(json_name(name));
        println!("cargo:rerun-if-changed={}", yaml.display());
        println!("cargo:rerun-if-changed={}", json.display());
        let text = std::fs::read(&yaml).expect("release data file");
        let recorded = hash_line(name, &text);
        let fresh = json.is_file() && hashes.lines().any(|l| l == recorded);
        if !fresh {
            println!("cargo:warning=rules/{name} changed since rules/generated/{} was made; it is parsed as YAML on every run until `UPDATE_SNAPSHOTS=1 cargo test` refreshes it", json_name(name));
        }
        let json = if fresh {
            format!("Some(include_str!({:?}))", json.display().to_string())
        } else {
            "None".to_string()
        };
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?}), {json}),\n",
            yaml.display().to_string()
        ));
    }
    out.push_str("];\n");
    out
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
}
