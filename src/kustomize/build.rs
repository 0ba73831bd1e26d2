//! One kustomization built as kustomize builds it: resources and bases, components,
//! patches, then the transformers in kustomize's order.

use std::path::{Path, PathBuf};

use super::{generator, kustomization_in, merge, transform, Files, BUILT_IN};
use crate::load::files::{display_path, Note};
use crate::yaml::owned::{At, Owned, OwnedValue};

/// A resource being built: the object so far, the file its document came from, and every
/// namespace/name it had before (patches and name references find it by any of them).
#[derive(Clone, Debug)]
pub(crate) struct Resource {
    pub(crate) object: Owned,
    pub(crate) file: usize,
    pub(crate) previous: Vec<(String, String)>,
    /// A generated ConfigMap or Secret whose name gets kustomize's content hash once the
    /// root is built.
    pub(crate) needs_hash: bool,
}

impl Resource {
    pub(crate) fn kind(&self) -> &str {
        self.object.str_at(&["kind"]).unwrap_or_default()
    }

    pub(crate) fn api_version(&self) -> &str {
        self.object.str_at(&["apiVersion"]).unwrap_or_default()
    }

    pub(crate) fn group(&self) -> &str {
        self.api_version().split_once('/').map_or("", |(g, _)| g)
    }

    pub(crate) fn name(&self) -> &str {
        self.object
            .str_at(&["metadata", "name"])
            .unwrap_or_default()
    }

    pub(crate) fn namespace(&self) -> &str {
        self.object
            .str_at(&["metadata", "namespace"])
            .unwrap_or_default()
    }

    /// Remembers the current namespace and name before a transformer changes them.
    pub(crate) fn remember(&mut self) {
        let id = (self.namespace().to_string(), self.name().to_string());
        if !self.previous.contains(&id) {
            self.previous.push(id);
        }
    }

    /// Whether the resource has, or had, this name (and namespace, when one is given;
    /// kustomize treats no namespace and `default` as the same).
    pub(crate) fn known_as(&self, namespace: Option<&str>, name: &str) -> bool {
        let same_ns = |ns: &str| {
            namespace.is_none_or(|want| {
                let norm = |s: &str| if s.is_empty() { "default" } else { s }.to_string();
                norm(want) == norm(ns)
            })
        };
        (self.name() == name && same_ns(self.namespace()))
            || self.previous.iter().any(|(ns, n)| n == name && same_ns(ns))
    }
}

/// Why a root could not be built here.
pub(crate) enum Failure {
    /// A field the builder does not apply itself (an installed kustomize may).
    Unsupported(String),
    /// What kustomize would refuse too (a missing file, a broken patch).
    Error(String),
}

pub(crate) struct Context<'s, 'f> {
    pub(crate) files: &'s mut Files<'f>,
    pub(crate) notes: Vec<Note>,
    /// Kustomizations being built, to refuse cycles.
    stack: Vec<PathBuf>,
}

/// A kustomization, read: its fields and the file index it is in.
pub(crate) struct Kustomization {
    pub(crate) dir: PathBuf,
    pub(crate) file: usize,
    pub(crate) fields: Owned,
}

impl Kustomization {
    pub(crate) fn get(&self, key: &str) -> Option<&Owned> {
        self.fields.get(key).filter(|v| !v.is_null())
    }

    /// The strings of a list field.
    pub(crate) fn strings(&self, key: &str) -> Result<Vec<(String, Option<At>)>, Failure> {
        let Some(list) = self.get(key) else {
            return Ok(Vec::new());
        };
        if !matches!(list.value, OwnedValue::Seq(_)) {
            return Err(Failure::Error(format!("`{key}` must be a list")));
        }
        list.items()
            .iter()
            .map(|i| match i.as_str() {
                Some(s) => Ok((s.to_string(), i.at)),
                None => Err(Failure::Error(format!(
                    "`{key}` must list strings, found {}",
                    type_name(i)
                ))),
            })
            .collect()
    }
}

pub(crate) fn type_name(node: &Owned) -> &'static str {
    match node.value {
        OwnedValue::Null => "null",
        OwnedValue::Bool(_) => "a boolean",
        OwnedValue::Int(_) | OwnedValue::Float(_) => "a number",
        OwnedValue::Str(_) => "a string",
        OwnedValue::Seq(_) => "a list",
        OwnedValue::Map(_) => "a mapping",
    }
}

/// Whether a resource entry names something on the network (kustomize's remote targets).
pub(crate) fn is_remote(entry: &str) -> bool {
    const SCHEMES: &[&str] = &[
        "http://",
        "https://",
        "git::",
        "git@",
        "ssh://",
        "github.com/",
        "gitlab.com/",
        "bitbucket.org/",
        "oci://",
    ];
    SCHEMES.iter().any(|s| entry.starts_with(s)) || entry.contains("?ref=")
}

/// The directories a kustomization names as resources, bases or components, canonical:
/// what makes another root a base rather than an estate of its own.
pub(crate) fn referenced_dirs(root: &Path) -> Vec<PathBuf> {
    let Some(file) = kustomization_in(root) else {
        return Vec::new();
    };
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Vec::new();
    };
    let Ok(Some(tree)) = crate::yaml::parse_str(&text) else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    for key in ["resources", "bases", "components"] {
        for item in tree
            .root()
            .get(key)
            .and_then(|n| n.as_seq())
            .unwrap_or_default()
        {
            let Some(entry) = item.as_str() else { continue };
            if is_remote(entry) {
                continue;
            }
            if let Ok(p) = std::fs::canonicalize(root.join(entry)) {
                if p.is_dir() {
                    dirs.push(p);
                }
            }
        }
    }
    dirs
}

impl<'s, 'f> Context<'s, 'f> {
    pub(crate) fn new(files: &'s mut Files<'f>) -> Context<'s, 'f> {
        Context {
            files,
            notes: Vec::new(),
            stack: Vec::new(),
        }
    }

    /// Everything the root at `dir` builds.
    pub(crate) fn build_root(&mut self, dir: &Path) -> Result<Vec<Resource>, Failure> {
        let mut resources = Vec::new();
        // A component can be built on its own (over no resources), as kustomize does.
        let component = self.read_kustomization(dir)?.fields.str_at(&["kind"]) == Some("Component");
        self.build_dir(dir, &mut resources, component)?;
        generator::add_hashes(&mut resources);
        transform::fix_name_references(&mut resources);
        for r in &mut resources {
            transform::tidy_metadata(&mut r.object);
        }
        Ok(resources)
    }

    pub(crate) fn read_kustomization(&mut self, dir: &Path) -> Result<Kustomization, Failure> {
        let Some(path) = kustomization_in(dir) else {
            return Err(Failure::Error(format!(
                "{} has no kustomization.yaml, kustomization.yml or Kustomization",
                display_path(dir)
            )));
        };
        let file = self.files.read(&path).map_err(Failure::Error)?;
        let docs = self.files.documents(file);
        let fields = match docs.trees.first() {
            Some((tree, id)) => Owned::from_node(tree.node(*id), file as u32),
            None => Owned::map(None),
        };
        if !matches!(fields.value, OwnedValue::Map(_)) {
            return Err(Failure::Error(format!(
                "{}: a kustomization must be a mapping",
                display_path(&path)
            )));
        }
        for (key, _) in fields.entries() {
            let key = key.as_str().unwrap_or_default();
            if !BUILT_IN.contains(&key) {
                return Err(Failure::Unsupported(key.to_string()));
            }
        }
        Ok(Kustomization {
            dir: dir.to_path_buf(),
            file,
            fields,
        })
    }

    /// Adds what the kustomization in `dir` builds to `resources`. A component works on the
    /// resources built so far; any other kustomization starts from none.
    fn build_dir(
        &mut self,
        dir: &Path,
        resources: &mut Vec<Resource>,
        component: bool,
    ) -> Result<(), Failure> {
        let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if self.stack.contains(&canonical) {
            return Err(Failure::Error(format!(
                "{} includes itself (a cycle of kustomizations)",
                display_path(dir)
            )));
        }
        self.stack.push(canonical);
        let result = self.build_kustomization(dir, resources, component);
        self.stack.pop();
        result
    }

    fn build_kustomization(
        &mut self,
        dir: &Path,
        resources: &mut Vec<Resource>,
        component: bool,
    ) -> Result<(), Failure> {
        let k = self.read_kustomization(dir)?;
        let kind = k.fields.str_at(&["kind"]).unwrap_or("Kustomization");
        match (kind, component) {
            ("Component", false) => {
                return Err(Failure::Error(format!(
                    "{} is a Component; list it under `components`, not `resources`",
                    display_path(dir)
                )))
            }
            ("Kustomization", true) => {
                return Err(Failure::Error(format!(
                    "{} is a Kustomization; list it under `resources`, not `components`",
                    display_path(dir)
                )))
            }
            _ => {}
        }
        let mut entries = k.strings("resources")?;
        entries.extend(k.strings("bases")?);
        for (entry, _) in entries {
            if is_remote(&entry) {
                self.remote(&k, &entry);
                continue;
            }
            let path = dir.join(&entry);
            if path.is_dir() {
                let mut built = Vec::new();
                self.build_dir(&path, &mut built, false)?;
                add_all(resources, built)?;
            } else if path.is_file() {
                let file = self.files.read(&path).map_err(Failure::Error)?;
                add_all(resources, self.documents(file)?)?;
            } else {
                return Err(Failure::Error(format!(
                    "resource `{entry}` of {}: no such file or directory",
                    display_path(dir)
                )));
            }
        }
        for (entry, _) in k.strings("components")? {
            if is_remote(&entry) {
                self.remote(&k, &entry);
                continue;
            }
            self.build_dir(&dir.join(&entry), resources, true)?;
        }
        generator::run(&k, resources)?;
        if k.get("helmCharts").is_some() {
            self.notes.push(Note {
                file: Some(k.file),
                line: line_of(self, k.get("helmCharts")),
                message: format!(
                    "kustomization {}: `helmCharts` needs helm (kustomize --enable-helm); the charts were not rendered and their objects not checked",
                    display_path(dir)
                ),
            });
        }
        merge::apply_patches(self, &k, resources)?;
        transform::apply(&k, resources)?;
        merge::apply_json6902_field(self, &k, resources)?;
        transform::replicas_and_images(&k, resources)?;
        Ok(())
    }

    fn remote(&mut self, k: &Kustomization, entry: &str) {
        let line = k
            .fields
            .get("resources")
            .into_iter()
            .chain(k.fields.get("bases"))
            .chain(k.fields.get("components"))
            .flat_map(|l| l.items())
            .find(|i| i.as_str() == Some(entry))
            .map_or(1, |i| line_at(self, i.at));
        self.notes.push(Note {
            file: Some(k.file),
            line,
            message: format!(
                "remote kustomize resource `{entry}` skipped (no network access); the objects it adds were not checked"
            ),
        });
    }

    /// The objects of a resource file (items of a `kind: List` each on their own).
    pub(crate) fn documents(&mut self, file: usize) -> Result<Vec<Resource>, Failure> {
        let docs = self.files.documents(file);
        let mut out = Vec::new();
        for (tree, id) in &docs.trees {
            let node = tree.node(*id);
            if !node.is_map() {
                return Err(Failure::Error(format!(
                    "{}: a resource document must be a mapping",
                    self.files.files[file].path
                )));
            }
            let is_list = node.str_at(&["kind"]).is_some_and(|k| k.ends_with("List"))
                && node.get("items").is_some_and(|i| i.is_seq());
            let items: Vec<_> = if is_list {
                node.get("items")
                    .and_then(|i| i.as_seq())
                    .unwrap_or_default()
                    .iter()
                    .collect()
            } else {
                vec![node]
            };
            for item in items {
                let object = Owned::from_node(item, file as u32);
                if object.str_at(&["kind"]).is_none() || object.str_at(&["apiVersion"]).is_none() {
                    return Err(Failure::Error(format!(
                        "{}:{}: a resource needs apiVersion and kind",
                        self.files.files[file].path,
                        item.span().start.line
                    )));
                }
                out.push(Resource {
                    object,
                    file,
                    previous: Vec::new(),
                    needs_hash: false,
                });
            }
        }
        Ok(out)
    }
}

/// Adds resources, refusing one kustomize would refuse as already there.
pub(crate) fn add_all(resources: &mut Vec<Resource>, new: Vec<Resource>) -> Result<(), Failure> {
    for r in new {
        if let Some(other) = resources.iter().find(|o| {
            o.kind() == r.kind()
                && o.group() == r.group()
                && o.name() == r.name()
                && o.namespace() == r.namespace()
        }) {
            return Err(Failure::Error(format!(
                "{} {} is added twice (kustomize refuses this: may not add resource with an already registered id)",
                other.kind(),
                r.name(),
            )));
        }
        resources.push(r);
    }
    Ok(())
}

/// The line a node is on in its file, for notes (1 when unknown).
pub(crate) fn line_at(cx: &Context<'_, '_>, at: Option<At>) -> u32 {
    at.map_or(1, |at| {
        cx.files.text(at.file as usize).pos(at.start as usize).line
    })
}

fn line_of(cx: &Context<'_, '_>, node: Option<&Owned>) -> u32 {
    line_at(cx, node.and_then(|n| n.at))
}
