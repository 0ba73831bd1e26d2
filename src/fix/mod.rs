//! Applying fixes: `check --diff`, `check --fix`, `--unsafe-fixes`, SARIF `fixes`.
//!
//! Rules describe fixes as edits at field paths. Here they become byte edits on the text
//! each object was read from ([`text`]), one fix at a time: after every edit the document
//! is parsed again and must hold exactly the intended object (the original with the edit
//! applied as JSON) and every other document must be byte-for-byte unchanged, or the fix
//! is reverted and reported as not applied. Objects read from a cluster are never changed;
//! their fixes become `kubectl patch` commands for a person to review and run.

pub mod diff;
mod pieces;
pub mod render;
pub mod text;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde_json::Value as Json;

use crate::diagnostic::{Applicability, Edit, Fix};
use crate::load::files::SourceFile;
use crate::model::path::Segment;
use crate::model::{FieldPath, Object, Origin};
use crate::report::Report;
use crate::rules::RULES;
use crate::yaml::{self, Pos};
use text::{Doc, Place};

/// What happened to one diagnostic's fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// The file text changed.
    Applied,
    /// The file already says what the fix asks (an identical fix came first).
    AlreadyApplied,
    /// Not applied, and why.
    NotApplied(String),
}

#[derive(Clone, Debug)]
pub struct Outcome {
    /// Index into `report.diagnostics`.
    pub diagnostic: usize,
    pub status: Status,
}

/// A file whose text the applied fixes change.
#[derive(Clone, Debug)]
pub struct FileChange {
    pub file: usize,
    pub path: String,
    pub before: String,
    pub after: String,
}

impl FileChange {
    pub fn diff(&self) -> String {
        diff::unified(&self.path, &self.before, &self.after)
    }
}

/// A fix for an object read from a cluster: shown, never run.
#[derive(Clone, Debug)]
pub struct ClusterPatch {
    pub diagnostic: usize,
    pub command: String,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub changes: Vec<FileChange>,
    pub patches: Vec<ClusterPatch>,
    pub outcomes: Vec<Outcome>,
    /// Fixes left out because they are unsafe and `--unsafe-fixes` was not given.
    pub unsafe_skipped: usize,
}

impl Plan {
    pub fn applied(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.status == Status::Applied)
            .count()
    }
}

/// `--diff` output: a unified diff per changed file, then the `kubectl patch` commands for
/// objects read from a cluster.
pub fn render_diff(report: &Report, plan: &Plan) -> String {
    let mut out: String = plan.changes.iter().map(FileChange::diff).collect();
    out.push_str(&render_patches(report, plan));
    out
}

fn render_patches(report: &Report, plan: &Plan) -> String {
    let mut out = String::new();
    for p in &plan.patches {
        let d = &report.diagnostics[p.diagnostic];
        let title = d.fix.as_ref().map_or("", |f| f.title.as_str());
        out.push_str(&format!(
            "# {} (read from the cluster, never changed here): {} {title}\n{}\n",
            report.subject_name(d).unwrap_or_default(),
            d.code,
            p.command
        ));
    }
    out
}

/// What was (or would be) fixed and what was not, for standard error. `failed` lists files
/// that could not be written.
pub fn summary(report: &Report, plan: &Plan, failed: &[(usize, String)], applying: bool) -> String {
    let mut out = String::new();
    let written = |o: &Outcome| {
        let file = report.diagnostics[o.diagnostic].object().and_then(|id| {
            match report.inventory.object(id).origin {
                Origin::File { file, .. } => Some(file as usize),
                Origin::Built { .. } | Origin::Cluster => None,
            }
        });
        !failed.iter().any(|(f, _)| Some(*f) == file)
    };
    let fixed = plan
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Applied && written(o))
        .count();
    let files = plan
        .changes
        .iter()
        .filter(|c| !failed.iter().any(|(f, _)| *f == c.file))
        .count();
    out.push_str(&format!(
        "{} {fixed} finding{} in {files} file{}.\n",
        if applying { "Fixed" } else { "Would fix" },
        if fixed == 1 { "" } else { "s" },
        if files == 1 { "" } else { "s" },
    ));
    for (_, e) in failed {
        out.push_str(&format!("error: {e}\n"));
    }
    for o in &plan.outcomes {
        if let Status::NotApplied(reason) = &o.status {
            let d = &report.diagnostics[o.diagnostic];
            let at = report
                .location(d)
                .map(|l| format!("{}:{}: ", l.file.path, l.span.start.line))
                .unwrap_or_default();
            out.push_str(&format!(
                "not fixed: {at}{} {}: {reason}\n",
                d.code,
                d.fix.as_ref().map_or("", |f| f.title.as_str())
            ));
        }
    }
    if plan.unsafe_skipped > 0 {
        out.push_str(&format!(
            "{} more fix{} available with --unsafe-fixes (review them first).\n",
            plan.unsafe_skipped,
            if plan.unsafe_skipped == 1 {
                " is"
            } else {
                "es are"
            }
        ));
    }
    if applying && !plan.patches.is_empty() {
        out.push_str(
            "Objects read from a cluster are never changed; review and run these yourself:\n",
        );
        out.push_str(&render_patches(report, plan));
    }
    out
}

/// Whether `--fix` applies a fix of this applicability.
pub fn is_applicable(fix: &Fix, unsafe_fixes: bool) -> bool {
    !fix.edits.is_empty()
        && match fix.applicability {
            Applicability::Safe => true,
            Applicability::Unsafe => unsafe_fixes,
            Applicability::DisplayOnly => false,
        }
}

/// Works out every applicable fix of the report against the texts that were read.
/// Fixes are tried in rule order (then in report order); on a field that an earlier fix
/// already changed, a different edit is a conflict and is not applied.
pub fn plan(report: &Report, unsafe_fixes: bool) -> Plan {
    let mut plan = Plan::default();
    let mut by_file: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut order: Vec<usize> = (0..report.diagnostics.len()).collect();
    order.sort_by_key(|&i| {
        let code = report.diagnostics[i].code;
        (
            RULES
                .iter()
                .position(|r| r.code == code)
                .unwrap_or(usize::MAX),
            i,
        )
    });
    for i in order {
        let d = &report.diagnostics[i];
        let (Some(fix), Some(id)) = (&d.fix, d.object()) else {
            continue;
        };
        if fix.applicability == Applicability::Unsafe && !unsafe_fixes && !fix.edits.is_empty() {
            plan.unsafe_skipped += 1;
            continue;
        }
        if !is_applicable(fix, unsafe_fixes) {
            continue;
        }
        let object = report.inventory.object(id);
        match object.origin {
            Origin::File { file, .. } => by_file.entry(file as usize).or_default().push(i),
            // The fix belongs in whichever file set the value, which other overlays may
            // share: changing it there could change what they run too.
            Origin::Built { .. } => plan.outcomes.push(Outcome {
                diagnostic: i,
                status: Status::NotApplied(
                    "the object is built by kustomize; change the file the finding points at by hand (other overlays may share it)".into(),
                ),
            }),
            Origin::Cluster => plan.patches.push(ClusterPatch {
                diagnostic: i,
                command: kubectl_patch(object, &fix.edits),
            }),
        }
    }
    let mut files: Vec<_> = by_file.into_iter().collect();
    files.sort();
    for (file, diagnostics) in files {
        fix_file(report, file, &diagnostics, &mut plan);
    }
    plan.outcomes.sort_by_key(|o| o.diagnostic);
    plan
}

fn edit_path(edit: &Edit) -> &FieldPath {
    match edit {
        Edit::Set { path, .. } | Edit::Remove { path } => path,
    }
}

/// A different edit already made to the same field, one of its parents or children.
fn conflict(
    report: &Report,
    done: &[(Place, FieldPath, Edit, usize)],
    place: Place,
    edits: &[Edit],
) -> Option<String> {
    for edit in edits {
        let path = edit_path(edit);
        for (p, other_path, other, by) in done {
            let overlaps = other_path.0.starts_with(&path.0) || path.0.starts_with(&other_path.0);
            if *p == place && overlaps && other != edit {
                let winner = &report.diagnostics[*by];
                return Some(format!(
                    "conflicts with the fix of {} at {other_path}, which comes first",
                    winner.code
                ));
            }
        }
    }
    None
}

/// The document index and root span of an object read from a file.
fn origin(object: &Object) -> Option<(usize, usize, crate::yaml::Span)> {
    match object.origin {
        Origin::File { file, document } => {
            Some((file as usize, document as usize, object.root().span()))
        }
        Origin::Built { .. } | Origin::Cluster => None,
    }
}

/// Applies the fixes of one file in order, each to the piece of text holding its object,
/// then checks every edited document as a whole.
fn fix_file(report: &Report, file: usize, diagnostics: &[usize], plan: &mut Plan) {
    let source = &report.files[file];
    let object_of = |i: usize| {
        report
            .inventory
            .object(report.diagnostics[i].object().expect("object fix"))
    };
    let wanted: Vec<(usize, crate::yaml::Span)> = diagnostics
        .iter()
        .filter_map(|&i| origin(object_of(i)).map(|(_, d, s)| (d, s)))
        .collect();
    let mut pieces = pieces::cut(&source.path, &source.text, &wanted);
    let mut texts: Vec<String> = pieces.parts.iter().map(|p| p.text.clone()).collect();
    // (place, path, edit, diagnostic) of every edit applied so far in this file.
    let mut done: Vec<(Place, FieldPath, Edit, usize)> = Vec::new();
    let mut outcomes = Vec::new();
    for &i in diagnostics {
        let fix = report.diagnostics[i].fix.as_ref().expect("filtered above");
        let place = origin(object_of(i)).and_then(|(_, d, s)| pieces.places.get(&(d, s)).copied());
        let status = match place.and_then(|p| pieces.slots.get(&p).map(|s| (p, *s))) {
            None => Status::NotApplied("cannot find the object in its file".into()),
            Some((place, slot)) => match conflict(report, &done, place, &fix.edits) {
                Some(reason) => Status::NotApplied(reason),
                None => {
                    let part = &pieces.parts[slot.part];
                    match pieces::edit_part(
                        &source.path,
                        part,
                        &texts[slot.part],
                        slot.item,
                        &fix.edits,
                    ) {
                        Err(e) => Status::NotApplied(e),
                        Ok(text) => {
                            let status = if text == texts[slot.part] {
                                Status::AlreadyApplied
                            } else {
                                Status::Applied
                            };
                            texts[slot.part] = text;
                            done.extend(
                                fix.edits
                                    .iter()
                                    .map(|e| (place, edit_path(e).clone(), e.clone(), i)),
                            );
                            status
                        }
                    }
                }
            },
        };
        outcomes.push(Outcome {
            diagnostic: i,
            status,
        });
    }
    // Each piece was checked on its own; check each edited document as a whole too, and
    // give it back untouched if it does not read as the original with the edits made.
    let edited: std::collections::BTreeSet<usize> = pieces
        .parts
        .iter()
        .zip(&texts)
        .filter(|(p, t)| p.text != **t)
        .map(|(p, _)| p.document)
        .collect();
    for document in edited {
        let mut expected = pieces
            .documents
            .get(&document)
            .cloned()
            .unwrap_or(Json::Null);
        let mut applied_here = Vec::new();
        for (place, path, edit, by) in &done {
            if place.document != document {
                continue;
            }
            let full = match place.item {
                Some(item) => FieldPath::root().key("items").index(item).join(path),
                None => path.clone(),
            };
            let edit = match edit {
                Edit::Set { value, .. } => Edit::Set {
                    path: full,
                    value: value.clone(),
                },
                Edit::Remove { .. } => Edit::Remove { path: full },
            };
            let _ = apply_json(&mut expected, &edit);
            applied_here.push(*by);
        }
        let new_text: String = pieces
            .parts
            .iter()
            .zip(&texts)
            .filter(|(p, _)| p.document == document)
            .map(|(_, t)| t.as_str())
            .collect();
        let reread = yaml::split_documents(&new_text);
        let ok = reread.len() == 1
            && yaml::parse_str(&new_text)
                .ok()
                .flatten()
                .is_some_and(|tree| tree.root().to_json() == expected);
        if !ok {
            for (part, text) in pieces.parts.iter_mut().zip(texts.iter_mut()) {
                if part.document == document {
                    text.clone_from(&part.text);
                }
            }
            for o in outcomes
                .iter_mut()
                .filter(|o| applied_here.contains(&o.diagnostic))
            {
                o.status = Status::NotApplied(
                    "the fixes for this document do not read back as intended together; change it by hand".into(),
                );
            }
        }
    }
    let after: String = texts.concat();
    if after != *source.text {
        plan.changes.push(FileChange {
            file,
            path: source.path.clone(),
            before: source.text.to_string(),
            after,
        });
    }
    plan.outcomes.extend(outcomes);
}

/// Applies one fix's edits to `text`, each checked by parsing the result again.
pub fn apply_fix(path: &str, text: &str, place: Place, edits: &[Edit]) -> Result<String, String> {
    let mut current = text.to_string();
    for edit in edits {
        let file = SourceFile::new(path.to_string(), current.clone());
        let doc = Doc::open(&file, place)?;
        let byte_edits = match edit {
            Edit::Set { path, value } => doc.set(path, value)?,
            Edit::Remove { path } => doc.remove(path)?,
        };
        if byte_edits.is_empty() {
            continue;
        }
        let mut expected = doc.root().to_json();
        apply_json(&mut expected, edit)?;
        let next = text::apply(&current, &byte_edits);
        verify(&current, &next, place, &expected)?;
        current = next;
    }
    Ok(current)
}

/// The edited text must parse to exactly the intended object, leave every other document
/// byte-for-byte alone and keep the document count.
fn verify(before: &str, after: &str, place: Place, expected: &Json) -> Result<(), String> {
    let (old_docs, new_docs) = (yaml::split_documents(before), yaml::split_documents(after));
    let others_kept = old_docs.len() == new_docs.len()
        && old_docs
            .iter()
            .zip(&new_docs)
            .enumerate()
            .all(|(i, (a, b))| i == place.document || before[a.1.clone()] == after[b.1.clone()]);
    let file = SourceFile::new(String::new(), after.to_string());
    let reread = Doc::open(&file, place).map(|d| d.root().to_json());
    if others_kept && reread.as_ref() == Ok(expected) {
        Ok(())
    } else {
        Err("this layout cannot be edited safely (the result would not read back as intended); change it by hand".into())
    }
}

/// The edit applied to the object's JSON: what the YAML must read back as.
pub fn apply_json(root: &mut Json, edit: &Edit) -> Result<(), String> {
    let (path, value) = match edit {
        Edit::Set { path, value } => (path, Some(value)),
        Edit::Remove { path } => (path, None),
    };
    let Some((last, parents)) = path.0.split_last() else {
        return Err("cannot replace a whole object".into());
    };
    let mut node = root;
    for seg in parents {
        node = match seg {
            Segment::Key(k) => {
                if value.is_some() && (node.is_null() || node.get(k).is_none_or(Json::is_null)) {
                    if node.is_null() {
                        *node = Json::Object(serde_json::Map::new());
                    }
                    if let Some(map) = node.as_object_mut() {
                        map.insert(k.clone(), Json::Object(serde_json::Map::new()));
                    }
                }
                match node.get_mut(k.as_str()) {
                    Some(n) => n,
                    None => return Ok(()),
                }
            }
            Segment::Index(i) => match node.get_mut(*i) {
                Some(n) => n,
                None if value.is_none() => return Ok(()),
                None => return Err(format!("{path}: no list item {i}")),
            },
        };
    }
    match (last, value) {
        (Segment::Key(k), Some(v)) => {
            if node.is_null() {
                *node = Json::Object(serde_json::Map::new());
            }
            node.as_object_mut()
                .ok_or_else(|| format!("{path}: the parent is not a mapping"))?
                .insert(k.clone(), v.clone());
        }
        (Segment::Key(k), None) => {
            if let Some(map) = node.as_object_mut() {
                map.shift_remove(k);
            }
        }
        (Segment::Index(i), Some(v)) => {
            *node
                .get_mut(*i)
                .ok_or_else(|| format!("{path}: no list item {i}"))? = v.clone();
        }
        (Segment::Index(i), None) => {
            if let Some(items) = node.as_array_mut().filter(|items| *i < items.len()) {
                items.remove(*i);
            }
        }
    }
    Ok(())
}

/// `kubectl patch` with a JSON merge patch that makes the fix's edits. Lists cannot be
/// merged item by item, so an edit inside a list sends the whole edited list.
pub fn kubectl_patch(object: &Object, edits: &[Edit]) -> String {
    let original = object.root().to_json();
    let mut edited = original.clone();
    for e in edits {
        let _ = apply_json(&mut edited, e);
    }
    let mut patch = Json::Object(serde_json::Map::new());
    for e in edits {
        let path = edit_path(e);
        let keys: Vec<&str> = path
            .0
            .iter()
            .map_while(|s| match s {
                Segment::Key(k) => Some(k.as_str()),
                Segment::Index(_) => None,
            })
            .collect();
        let whole_list = keys.len() < path.0.len();
        let value = match e {
            Edit::Set { value, .. } if !whole_list => value.clone(),
            Edit::Remove { .. } if !whole_list => Json::Null,
            _ => keys
                .iter()
                .try_fold(&edited, |n, k| n.get(*k))
                .cloned()
                .unwrap_or(Json::Null),
        };
        let mut node = &mut patch;
        for (i, k) in keys.iter().enumerate() {
            let map = match node {
                Json::Object(map) => map,
                _ => break,
            };
            if i + 1 == keys.len() {
                map.insert(k.to_string(), value.clone());
                break;
            }
            node = map
                .entry(k.to_string())
                .or_insert_with(|| Json::Object(serde_json::Map::new()));
        }
    }
    let resource = match object.group() {
        "" => object.kind().to_ascii_lowercase(),
        group => format!("{}.{group}", object.kind().to_ascii_lowercase()),
    };
    let namespace = if object.is_cluster_scoped() {
        String::new()
    } else {
        format!(" -n {}", shell_quote(object.namespace()))
    };
    format!(
        "kubectl patch {}{namespace} --type merge -p {}",
        shell_quote(&format!("{resource}/{}", object.name())),
        shell_quote(&patch.to_string())
    )
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '='))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Each applicable fix on its own, against the text that was read: the whole lines it
/// replaces (for SARIF `fixes`), by diagnostic index.
pub fn replacements(report: &Report) -> HashMap<usize, Replacement> {
    let mut by_file: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, d) in report.diagnostics.iter().enumerate() {
        let applicable = d.fix.as_ref().is_some_and(|f| is_applicable(f, true));
        if let Some((file, _, _)) = d
            .object()
            .filter(|_| applicable)
            .and_then(|id| origin(report.inventory.object(id)))
        {
            by_file.entry(file).or_default().push(i);
        }
    }
    let mut out = HashMap::new();
    for (file, diagnostics) in by_file {
        let source = &report.files[file];
        let object_of = |i: usize| {
            report
                .inventory
                .object(report.diagnostics[i].object().expect("object fix"))
        };
        let wanted: Vec<_> = diagnostics
            .iter()
            .filter_map(|&i| origin(object_of(i)).map(|(_, d, s)| (d, s)))
            .collect();
        let pieces = pieces::cut(&source.path, &source.text, &wanted);
        for i in diagnostics {
            let fix = report.diagnostics[i].fix.as_ref().expect("filtered above");
            let Some(slot) = origin(object_of(i))
                .and_then(|(_, d, s)| pieces.places.get(&(d, s)))
                .and_then(|p| pieces.slots.get(p))
            else {
                continue;
            };
            let part = &pieces.parts[slot.part];
            let Ok(after) =
                pieces::edit_part(&source.path, part, &part.text, slot.item, &fix.edits)
            else {
                continue;
            };
            if after != part.text {
                let (start, old_end, new_end) = line_range(&part.text, &after);
                out.insert(
                    i,
                    Replacement {
                        file,
                        start: pos_of(&source.text, part.start + start),
                        end: pos_of(&source.text, part.start + old_end),
                        inserted: after[start..new_end].to_string(),
                    },
                );
            }
        }
    }
    out
}

/// Whole lines `start..end` (bytes of the old text) replaced by `inserted`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replacement {
    pub file: usize,
    pub start: Pos,
    pub end: Pos,
    pub inserted: String,
}

/// The smallest run of whole lines that differs: (start, end in old, end in new), bytes.
fn line_range(old: &str, new: &str) -> (usize, usize, usize) {
    let common = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let start = old[..common].rfind('\n').map_or(0, |i| i + 1);
    let tail = old[start..]
        .bytes()
        .rev()
        .zip(new[start..].bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    // Widen to the end of the line so the region is whole lines in both texts.
    let old_cut = old.len() - tail;
    let old_end = if old_cut == start || old[..old_cut].ends_with('\n') {
        old_cut
    } else {
        old[old_cut..]
            .find('\n')
            .map_or(old.len(), |i| old_cut + i + 1)
    };
    (start, old_end, new.len() - (old.len() - old_end))
}

/// The position of a byte offset (1-based line, column in characters).
fn pos_of(text: &str, offset: usize) -> Pos {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Pos {
        line: before.matches('\n').count() as u32 + 1,
        col: before[line_start..].chars().count() as u32,
    }
}

/// Writes `change.after` over the file, unless the file no longer holds `change.before`.
/// The new text goes to a temporary file beside it that is then renamed over it, so a
/// crash leaves either the old or the new file; permissions and a UTF-8 BOM are kept.
pub fn write(change: &FileChange) -> Result<(), String> {
    if change.path == "-" {
        return Err("standard input cannot be changed in place; use --diff".into());
    }
    let given = Path::new(&change.path);
    // Write through a symbolic link to its target rather than replacing the link.
    let path = std::fs::canonicalize(given).map_err(|e| format!("{}: {e}", change.path))?;
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", change.path))?;
    let bom = bytes.starts_with(b"\xEF\xBB\xBF");
    let on_disk = std::str::from_utf8(if bom { &bytes[3..] } else { &bytes });
    if on_disk != Ok(change.before.as_str()) {
        return Err(format!(
            "{} changed on disk since it was read; not overwritten (run again)",
            change.path
        ));
    }
    let permissions = std::fs::metadata(&path)
        .map_err(|e| format!("{}: {e}", change.path))?
        .permissions();
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(
        ".{name}.istio-preflight-{}.tmp",
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        if bom {
            f.write_all(b"\xEF\xBB\xBF")?;
        }
        f.write_all(change.after.as_bytes())?;
        f.set_permissions(permissions)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&temp, &path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("{}: cannot write: {e}", change.path)
    })
}

#[cfg(test)]
mod tests;
