//! Kustomize roots: a directory with a kustomization file is checked as what it builds,
//! never as its raw files (SPEC §3a).
//!
//! The builder applies the kustomization fields listed in [`BUILT_IN`] itself, so every node
//! of a built object keeps the file and bytes it came from (a field a patch set points into
//! the patch). A root that uses anything else is built by `kustomize build` or `kubectl
//! kustomize` when one is on `PATH` (its objects then point at the kustomization file), and
//! otherwise reported as not built, naming the field.
//!
//! Each kustomization that no other one includes is an estate of its own: its objects carry
//! it in [`crate::model::Origin::Built`], so a base under two overlays is checked once per
//! overlay and each finding says which overlay it is in.

mod build;
mod external;
mod generator;
mod merge;
mod transform;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::Severity;
use crate::load::files::{display_path, Note, ReadProblem, SourceFile};
use crate::model::{Object, Origin, StrRef};
use crate::yaml::owned::Owned;
use crate::yaml::{self, Span, Text, Tree};

/// The names kustomize looks for, in its order.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Kustomization fields the builder applies itself. Any other field sends the root to an
/// installed kustomize.
pub const BUILT_IN: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "images",
    "replicas",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "helmCharts",
    "helmGlobals",
    "sortOptions",
    "buildMetadata",
];

/// The kustomization file of `dir`, if it has one.
pub fn kustomization_in(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

/// What building the kustomize roots gave: objects (with their estates), files read (to be
/// appended to the loader's files, in order), problems and notes.
#[derive(Default)]
pub struct Output {
    pub objects: Vec<Object>,
    pub problems: Vec<ReadProblem>,
    pub notes: Vec<Note>,
}

/// The files the builder read, each once, with their parsed documents.
pub(crate) struct Files<'f> {
    pub(crate) files: &'f mut Vec<SourceFile>,
    by_path: HashMap<PathBuf, usize>,
    docs: HashMap<usize, Arc<Documents>>,
    pub(crate) problems: Vec<ReadProblem>,
}

/// A file's documents: roots in trees (or why one could not be read, reported once).
pub(crate) struct Documents {
    pub(crate) trees: Vec<(Arc<Tree>, yaml::NodeId)>,
}

impl<'f> Files<'f> {
    fn new(files: &'f mut Vec<SourceFile>) -> Files<'f> {
        Files {
            files,
            by_path: HashMap::new(),
            docs: HashMap::new(),
            problems: Vec::new(),
        }
    }

    /// The index of the file at `path`, read once.
    pub(crate) fn read(&mut self, path: &Path) -> Result<usize, String> {
        let key =
            std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", display_path(path)))?;
        if let Some(&i) = self.by_path.get(&key) {
            return Ok(i);
        }
        let meta = std::fs::metadata(&key).map_err(|e| format!("{}: {e}", display_path(path)))?;
        if meta.len() > crate::load::files::MAX_FILE_BYTES {
            return Err(format!("{}: file too large to read", display_path(path)));
        }
        let text =
            std::fs::read_to_string(&key).map_err(|e| format!("{}: {e}", display_path(path)))?;
        self.files
            .push(SourceFile::new(display_path(&lexical(path)), text));
        let i = self.files.len() - 1;
        self.by_path.insert(key, i);
        Ok(i)
    }

    pub(crate) fn text(&self, file: usize) -> &Text {
        &self.files[file].text
    }

    /// The documents of file `file`, parsed once; broken ones are reported (IPF001) and left
    /// out.
    pub(crate) fn documents(&mut self, file: usize) -> Arc<Documents> {
        if let Some(d) = self.docs.get(&file) {
            return d.clone();
        }
        let text = self.files[file].text.clone();
        let split = yaml::split_documents(&text);
        let mut trees = Vec::new();
        for run in crate::load::files::runs(&split) {
            let (tree, roots) = yaml::parse_documents(&text, run);
            let tree = Arc::new(tree);
            for root in roots {
                match root {
                    Ok(Some(id)) if !tree.node(id).is_null() => trees.push((tree.clone(), id)),
                    Ok(_) => {}
                    Err(e) => self.problems.push(ReadProblem {
                        file,
                        span: Span {
                            start: e.pos,
                            end: yaml::Pos {
                                line: e.pos.line,
                                col: e.pos.col + 1,
                            },
                        },
                        severity: Severity::Error,
                        message: format!("invalid YAML: {}", e.message),
                    }),
                }
            }
        }
        let docs = Arc::new(Documents { trees });
        self.docs.insert(file, docs.clone());
        docs
    }
}

/// `path` without `.` and `dir/..` steps, so that `overlays/prod/../../base/x.yaml` is
/// shown as `base/x.yaml`.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The kustomize roots under `inputs` (directories given, walked as the loader walks them),
/// in path order.
pub fn roots(inputs: &[PathBuf], excluded: &(dyn Fn(&Path) -> bool + Sync)) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            continue;
        }
        let walker = walkdir::WalkDir::new(input)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker.flatten() {
            if entry.file_type().is_dir() && !excluded(entry.path()) {
                if let Some(k) = kustomization_in(entry.path()) {
                    if !excluded(&k) {
                        roots.push(entry.into_path());
                    }
                }
            }
        }
    }
    roots
}

/// Whether `path` is inside one of `roots` (its files are what the root builds, not objects).
pub fn under_root(path: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|r| path.starts_with(r))
}

/// Builds every root that no other root includes, each as an estate of its own. Files read
/// are appended to `files`.
pub fn build_all(roots: &[PathBuf], files: &mut Vec<SourceFile>) -> Output {
    let mut out = Output::default();
    let mut store = Files::new(files);
    // Which roots some other kustomization includes (as a resource, base or component).
    let canonical: Vec<PathBuf> = roots
        .iter()
        .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()))
        .collect();
    let mut included: HashSet<PathBuf> = HashSet::new();
    for root in &canonical {
        for dir in build::referenced_dirs(root) {
            if &dir != root {
                included.insert(dir);
            }
        }
    }
    let mut seen = HashSet::new();
    for (root, canon) in roots.iter().zip(&canonical) {
        if included.contains(canon) || !seen.insert(canon.clone()) {
            continue;
        }
        build_estate(root, &mut store, &mut out);
    }
    out.problems.append(&mut store.problems);
    out
}

/// Builds one top-level root into objects of its own estate.
fn build_estate(root: &Path, store: &mut Files<'_>, out: &mut Output) {
    let Some(kfile) = kustomization_in(root) else {
        return;
    };
    let estate = match store.read(&kfile) {
        Ok(i) => i,
        Err(e) => {
            out.notes.push(Note {
                file: None,
                line: 0,
                message: format!("kustomize root {}: cannot read it: {e}", display_path(root)),
            });
            return;
        }
    };
    let mut cx = build::Context::new(store);
    let built = cx.build_root(root);
    let notes = std::mem::take(&mut cx.notes);
    out.notes.extend(notes);
    let resources = match built {
        Ok(resources) => resources,
        Err(build::Failure::Unsupported(feature)) => {
            match external::build(root, estate, store, out) {
                Some(resources) => resources,
                None => {
                    out.notes.push(Note {
                        file: Some(estate),
                        line: 1,
                        message: format!(
                            "kustomize root {} not built: it uses `{feature}`, which istio-preflight does not apply itself, and neither `kustomize` nor `kubectl` is on PATH; its objects were not checked",
                            display_path(root)
                        ),
                    });
                    return;
                }
            }
        }
        Err(build::Failure::Error(message)) => {
            out.notes.push(Note {
                file: Some(estate),
                line: 1,
                message: format!(
                    "kustomize root {} not built: {message}; its objects were not checked",
                    display_path(root)
                ),
            });
            return;
        }
    };
    let texts: Vec<Text> = store.files.iter().map(|f| f.text.clone()).collect();
    for mut r in resources {
        // Secret values never reach a report: no rule reads a Secret's base64 `data`, and
        // generated Secrets would otherwise carry the values of their literals and files.
        if r.kind() == "Secret" && r.group().is_empty() {
            r.object.remove("data");
        }
        if let Some(o) = object_of(&r.object, r.file, estate, &texts) {
            out.objects.push(o);
        }
    }
}

/// The object a built resource is, positions kept.
fn object_of(resource: &Owned, file: usize, estate: usize, texts: &[Text]) -> Option<Object> {
    let tree = resource.into_tree(&|f| texts.get(f as usize).cloned());
    let root = tree.root();
    let api_version = StrRef::at(root, &["apiVersion"])?;
    let kind = StrRef::at(root, &["kind"])?;
    let name = StrRef::at(root, &["metadata", "name"]);
    let namespace = StrRef::at(root, &["metadata", "namespace"]);
    let id = root.id();
    Some(Object::new(
        Arc::new(tree),
        id,
        Origin::Built {
            file: file as u32,
            estate: estate as u32,
        },
        api_version,
        kind,
        name,
        namespace,
    ))
}

/// What the builder itself makes of the root at `root`, as JSON objects (no fallback to an
/// installed kustomize): `Err` names the field it does not apply or why it failed. For the
/// tests that compare it with `kubectl kustomize`.
pub fn build_json(root: &Path) -> Result<Vec<serde_json::Value>, String> {
    let mut files = Vec::new();
    let mut store = Files::new(&mut files);
    let mut cx = build::Context::new(&mut store);
    match cx.build_root(root) {
        Ok(resources) => Ok(resources.iter().map(|r| r.object.to_json()).collect()),
        Err(build::Failure::Unsupported(field)) => Err(format!("unsupported: {field}")),
        Err(build::Failure::Error(e)) => Err(e),
    }
}
