//! Reading manifests: files, directories, stdin; multi-document streams and `kind: List`.
//! Bad input never stops the run: each problem becomes an IPF001 diagnostic at its position
//! and everything else is still read.

use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::diagnostic::Severity;
use crate::model::{Object, Origin, StrRef};
use crate::yaml::{self, NodeId, Pos, Span, Tree};

/// Files larger than this are refused: no manifest is this big, and reading one would only
/// exhaust memory.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// A file that was read, kept for positions and snippets.
#[derive(Debug)]
pub struct SourceFile {
    /// As shown to people: relative to the current directory, `/`-separated; `-` for stdin.
    pub path: String,
    /// The text, shared with the trees parsed from it.
    pub text: yaml::Text,
}

impl SourceFile {
    pub fn new(path: String, text: String) -> SourceFile {
        SourceFile {
            path,
            text: yaml::Text::new(text),
        }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: u32) -> &str {
        self.text.line(line)
    }

    /// Byte offset of a position (columns count characters).
    pub fn offset(&self, pos: Pos) -> usize {
        self.text.offset(pos)
    }

    /// Column in UTF-16 code units (SARIF's and GitHub's unit), 1-based.
    pub fn utf16_column(&self, pos: Pos) -> u32 {
        self.text.utf16_column(pos)
    }

    pub fn line_count(&self) -> usize {
        self.text.line_count()
    }
}

/// A problem found while reading, before any rule runs (IPF001).
#[derive(Debug, Clone)]
pub struct ReadProblem {
    pub file: usize,
    pub span: Span,
    pub severity: Severity,
    pub message: String,
}

/// Something worth telling that is not a finding (a skipped document).
#[derive(Debug, Clone)]
pub struct Note {
    pub file: Option<usize>,
    pub line: u32,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Loaded {
    pub files: Vec<SourceFile>,
    pub objects: Vec<Object>,
    pub problems: Vec<ReadProblem>,
    pub notes: Vec<Note>,
    /// Paths that could not be read at all (missing, permission denied).
    pub unreadable: Vec<String>,
}

/// Finds the files to read: files as given, directories recursively (`.yaml`, `.yml`,
/// `.json`; hidden entries skipped), in a stable order.
pub fn discover(inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    discover_excluding(inputs, &|_| false)
}

/// [`discover`], leaving out the files `excluded` says no to (config `exclude` globs). Named
/// files are excluded too, so that pre-commit, which passes changed files by name, honours
/// the excludes; standard input never is.
pub fn discover_excluding(
    inputs: &[PathBuf],
    excluded: &(dyn Fn(&Path) -> bool + Sync),
) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            files.push(input.clone());
            continue;
        }
        match std::fs::metadata(input) {
            Ok(m) if m.is_dir() => {
                let walker = walkdir::WalkDir::new(input)
                    .follow_links(true)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| {
                        e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                    });
                for entry in walker {
                    match entry {
                        Ok(e)
                            if e.file_type().is_file()
                                && is_manifest(e.path())
                                && !excluded(e.path()) =>
                        {
                            files.push(e.into_path())
                        }
                        // A FIFO, socket or device named like a manifest: never opened (a
                        // FIFO would block the run), but said, so nobody wonders where it went.
                        Ok(e) if !e.file_type().is_dir() && is_manifest(e.path()) => {
                            errors.push(format!(
                                "{}: not a regular file (a FIFO, socket or device), skipped",
                                display_path(e.path())
                            ))
                        }
                        Ok(_) => {}
                        Err(err) => errors.push(format!(
                            "{}: {}",
                            err.path()
                                .map_or_else(|| input.display().to_string(), display_path),
                            if err.loop_ancestor().is_some() {
                                "symbolic link loop, not followed".to_string()
                            } else {
                                err.to_string()
                            }
                        )),
                    }
                }
            }
            Ok(_) if excluded(input) => {}
            Ok(_) => files.push(input.clone()),
            Err(e) => errors.push(format!("{}: {}", display_path(input), e)),
        }
    }
    (files, errors)
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// A path as people see it: relative to the current directory where possible, `/`-separated.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let rel = cwd
        .as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    let s = rel.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// Reads and parses every input. Each file is parsed as soon as it is read, so only the
/// files in flight on each core are held as raw bytes, never the whole input at once.
pub fn load(inputs: &[PathBuf]) -> Loaded {
    load_excluding(inputs, &|_| false)
}

/// [`load`] without the files `excluded` says no to.
pub fn load_excluding(inputs: &[PathBuf], excluded: &(dyn Fn(&Path) -> bool + Sync)) -> Loaded {
    let (mut paths, unreadable) = discover_excluding(inputs, excluded);
    // Inside a kustomize root, files are what the root builds, not objects of their own;
    // a file named on the command line is still read as it is.
    let roots = crate::kustomize::roots(inputs, excluded);
    if !roots.is_empty() {
        paths.retain(|p| inputs.contains(p) || !crate::kustomize::under_root(p, &roots));
    }
    let parsed: Vec<FileResult> = paths
        .par_iter()
        .enumerate()
        .map(|(file, p)| {
            let path = if p.as_os_str() == "-" {
                "-".to_string()
            } else {
                display_path(p)
            };
            parse_file(file, path, read_bytes(p))
        })
        .collect();
    // Sized up front: the object list is the largest vector of the run, and growing it by
    // doubling would hold up to twice its size at the peak.
    let mut loaded = Loaded {
        unreadable,
        files: Vec::with_capacity(parsed.len()),
        objects: Vec::with_capacity(parsed.iter().map(|r| r.objects.len()).sum()),
        ..Loaded::default()
    };
    for r in parsed {
        if let Some(error) = r.unreadable {
            loaded.unreadable.push(error);
        }
        loaded.files.push(r.file);
        loaded.objects.extend(r.objects);
        loaded.problems.extend(r.problems);
        loaded.notes.extend(r.notes);
    }
    if !roots.is_empty() {
        let built = crate::kustomize::build_all(&roots, &mut loaded.files);
        loaded.objects.extend(built.objects);
        loaded.problems.extend(built.problems);
        loaded.notes.extend(built.notes);
    }
    crate::duplicates::resolve(&mut loaded);
    loaded
}

/// What reading a file gave: its bytes, or only its size when that is over the limit.
enum Bytes {
    Read(Vec<u8>),
    TooLarge(u64),
}

fn read_bytes(path: &Path) -> Result<Bytes, String> {
    let limited = |buf: Vec<u8>| {
        if buf.len() as u64 > MAX_FILE_BYTES {
            Bytes::TooLarge(buf.len() as u64)
        } else {
            Bytes::Read(buf)
        }
    };
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("-: cannot read standard input: {e}"))?;
        return Ok(limited(buf));
    }
    let shown = || display_path(path);
    // Look before opening: opening a FIFO for reading blocks until a writer comes, and a
    // device may never end. Only regular files (or symlinks to them) are read.
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", shown()))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(format!("{}: {what}, skipped", shown()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Ok(Bytes::TooLarge(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", shown()))?;
    let mut buf = Vec::with_capacity(meta.len() as usize);
    // The file may grow between the look and the read: never read past the limit.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{}: {e}", shown()))?;
    Ok(limited(buf))
}

struct FileResult {
    file: SourceFile,
    objects: Vec<Object>,
    problems: Vec<ReadProblem>,
    notes: Vec<Note>,
    unreadable: Option<String>,
}

fn at_line(line: u32, col: u32) -> Span {
    let p = Pos { line, col };
    Span {
        start: p,
        end: Pos { line, col: col + 1 },
    }
}

fn parse_file(index: usize, path: String, bytes: Result<Bytes, String>) -> FileResult {
    let mut result = FileResult {
        file: SourceFile::new(path, String::new()),
        objects: Vec::new(),
        problems: Vec::new(),
        notes: Vec::new(),
        unreadable: None,
    };
    let problem = |span: Span, severity: Severity, message: String| ReadProblem {
        file: index,
        span,
        severity,
        message,
    };
    let bytes = match bytes {
        Ok(Bytes::Read(b)) => b,
        Ok(Bytes::TooLarge(size)) => {
            result.problems.push(problem(
                at_line(1, 0),
                Severity::Error,
                format!(
                    "file is {} MiB, larger than the limit of {} MiB; not read (split it, or check the objects it holds separately)",
                    size.div_ceil(1024 * 1024),
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            ));
            return result;
        }
        Err(e) => {
            result.unreadable = Some(e);
            return result;
        }
    };
    let text = match decode(bytes) {
        Ok(t) => t,
        Err((pos, message)) => {
            result.problems.push(problem(
                at_line(pos.line, pos.col),
                Severity::Error,
                message,
            ));
            return result;
        }
    };
    result.file = SourceFile::new(result.file.path, text);
    let file = result.file.text.clone();
    let text: &str = &file;
    if text.trim().is_empty() {
        result.problems.push(problem(
            at_line(1, 0),
            Severity::Info,
            "file is empty: there is nothing to check".into(),
        ));
        return result;
    }

    let docs = yaml::split_documents(text);
    // Documents are parsed in runs of about CHUNK_BYTES, each run into one tree that its
    // objects share: small documents then cost no tree each, and a large file still keeps
    // every core busy.
    let parsed: Vec<(Arc<Tree>, Vec<yaml::DocumentRoot>)> = runs(&docs)
        .par_iter()
        .map(|chunk| {
            let (tree, roots) = yaml::parse_documents(&file, chunk);
            (Arc::new(tree), roots)
        })
        .collect();

    if parsed
        .iter()
        .any(|(_, roots)| roots.iter().any(Result::is_err))
    {
        if let Some(line) = helm_template_line(text) {
            result.problems.push(problem(
                at_line(line, 0),
                Severity::Warning,
                "unrendered Helm template (`{{ ... }}` outside a string); skipped. Check the rendered output instead: `helm template <release> <chart> | istio-preflight check -`".into(),
            ));
            return result;
        }
    }

    let documents = parsed
        .iter()
        .flat_map(|(tree, roots)| roots.iter().map(move |r| (tree, r)));
    for (doc_index, (tree, r)) in documents.enumerate() {
        match r {
            Err(e) => result.problems.push(problem(
                at_line(e.pos.line, e.pos.col),
                Severity::Error,
                format!("invalid YAML: {}", e.message),
            )),
            // Empty documents, and ones holding only comments, are nothing to check.
            Ok(Some(root)) if !tree.node(*root).is_null() => {
                add_document(index, doc_index, tree, *root, None, &mut result);
            }
            Ok(_) => {}
        }
    }
    result
}

/// Text per tree of consecutive documents: large enough that a tree's own allocations are
/// negligible beside its documents, small enough that a file of many documents is parsed
/// on every core.
const CHUNK_BYTES: usize = 64 * 1024;

/// The runs of consecutive documents the loader parses into one tree each.
pub fn runs<T: Clone>(docs: &[(T, Range<usize>)]) -> Vec<&[(T, Range<usize>)]> {
    chunks(docs, CHUNK_BYTES)
}

/// Splits documents into runs of consecutive ones, each of at least `bytes` of text but the
/// last (a single larger document is a run of its own).
fn chunks<T: Clone>(docs: &[(T, Range<usize>)], bytes: usize) -> Vec<&[(T, Range<usize>)]> {
    let mut runs = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, (_, range)) in docs.iter().enumerate() {
        size += range.len();
        if size >= bytes {
            runs.push(&docs[start..=i]);
            (start, size) = (i + 1, 0);
        }
    }
    if start < docs.len() {
        runs.push(&docs[start..]);
    }
    runs
}

/// The first line where `{{` appears outside a quoted string or comment: the mark of a Helm
/// or Go template that was never rendered.
fn helm_template_line(text: &str) -> Option<u32> {
    for (i, line) in text.lines().enumerate() {
        let code = line.split(" #").next().unwrap_or(line);
        let Some(at) = code.find("{{") else { continue };
        let before = &code[..at];
        let quoted = before.matches('"').count() % 2 == 1 || before.matches('\'').count() % 2 == 1;
        if !quoted && !code.trim_start().starts_with('#') {
            return Some(i as u32 + 1);
        }
    }
    None
}

/// The text of a file. Takes the bytes so that UTF-8, the common case, needs no copy.
fn decode(mut bytes: Vec<u8>) -> Result<String, (Pos, String)> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return decode_utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return decode_utf16(rest, u16::from_be_bytes);
    }
    // A binary file has no meaningful lines: report it at its start.
    if bytes.contains(&0) {
        return Err((
            Pos { line: 1, col: 0 },
            "binary file (it contains NUL bytes), not YAML or JSON".into(),
        ));
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let (bytes, e) = (e.as_bytes(), e.utf8_error());
            let valid = &bytes[..e.valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
            let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let col = String::from_utf8_lossy(&valid[line_start..])
                .chars()
                .count() as u32;
            Err((
                Pos { line, col },
                format!(
                    "not UTF-8 text (byte 0x{:02X} at line {line}); Kubernetes manifests must be UTF-8: convert the file, e.g. `iconv -f latin1 -t utf-8`",
                    bytes[e.valid_up_to()]
                ),
            ))
        }
    }
}

fn decode_utf16(bytes: &[u8], word: fn([u8; 2]) -> u16) -> Result<String, (Pos, String)> {
    let units = bytes
        .chunks(2)
        .map(|c| word([c[0], *c.get(1).unwrap_or(&0)]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| (Pos { line: 1, col: 0 }, "invalid UTF-16 text".to_string()))
}

fn add_document(
    file: usize,
    doc_index: usize,
    tree: &Arc<Tree>,
    id: NodeId,
    list: Option<(StrRef, StrRef)>,
    result: &mut FileResult,
) {
    let root = tree.node(id);
    // Positions only for what is reported: working one out builds the file's line index.
    let problem = |message: String| {
        let start = root.span().start;
        ReadProblem {
            file,
            span: Span {
                start,
                end: Pos {
                    line: start.line,
                    col: start.col + 1,
                },
            },
            severity: Severity::Error,
            message,
        }
    };
    if !root.is_map() {
        result.problems.push(problem(format!(
            "document is {}, not a Kubernetes object (a mapping with apiVersion and kind)",
            root.type_name()
        )));
        return;
    }
    // Typed lists from the API (`ConfigMapList`) may leave apiVersion/kind off items.
    // Absent is `None`; present but not a string is `Some(None)`.
    let api_version = root
        .get("apiVersion")
        .map(StrRef::of)
        .or(list.map(|(a, _)| Some(a)));
    let kind = root
        .get("kind")
        .map(StrRef::of)
        .or(list.map(|(_, k)| Some(k)));
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        result.notes.push(Note {
            file: Some(file),
            line: root.span().start.line,
            message: "document has no apiVersion/kind; not a Kubernetes object, skipped".into(),
        });
        return;
    };
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        result
            .problems
            .push(problem("apiVersion and kind must be strings".into()));
        return;
    };
    let kind_text = kind.read(tree).unwrap_or_default();
    if kind_text.ends_with("List") && api_version.read(tree) == Some("v1") {
        if let Some(items) = root.get("items") {
            let Some(items) = items.as_seq() else {
                result
                    .problems
                    .push(problem(format!("{kind_text}: items must be a list")));
                return;
            };
            let item_kind = kind_text
                .strip_suffix("List")
                .filter(|k| !k.is_empty())
                .map(|k| kind.prefix(k.len()));
            for item in items {
                let list = item_kind.map(|k| (api_version, k));
                add_document(file, doc_index, tree, item.id(), list, result);
            }
            return;
        }
    }
    let metadata = root.get("metadata");
    if let Some(m) = metadata {
        if !m.is_map() {
            result.problems.push(ReadProblem {
                span: m.span(),
                ..problem(format!(
                    "{kind_text}: metadata must be a mapping, found {}",
                    m.type_name()
                ))
            });
            return;
        }
    }
    let name = metadata
        .and_then(|m| StrRef::at(m, &["name"]).or_else(|| StrRef::at(m, &["generateName"])));
    let declared_namespace = metadata.and_then(|m| StrRef::at(m, &["namespace"]));
    let origin = Origin::File {
        file: file as u32,
        document: doc_index as u32,
    };
    result.objects.push(Object::new(
        tree.clone(),
        id,
        origin,
        api_version,
        kind,
        name,
        declared_namespace,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_runs_of_at_least_the_size_but_the_last() {
        let docs: Vec<((), Range<usize>)> = [0..10, 10..15, 15..40, 40..41, 41..42]
            .into_iter()
            .map(|r| ((), r))
            .collect();
        let lens = |bytes| -> Vec<usize> { chunks(&docs, bytes).iter().map(|c| c.len()).collect() };
        assert_eq!(lens(12), [2, 1, 2]);
        assert_eq!(lens(1), [1, 1, 1, 1, 1]);
        assert_eq!(lens(1000), [5]);
        assert!(chunks::<()>(&[], 10).is_empty());
    }

    #[test]
    fn helm_detection_ignores_quoted_braces() {
        assert_eq!(
            helm_template_line("a: \"{{ legend }}\"\nb: {{ .Values.x }}\n"),
            Some(2)
        );
        assert_eq!(helm_template_line("a: '{{ x }}'\n# {{ comment }}\n"), None);
    }

    #[test]
    fn decode_reports_the_first_bad_byte() {
        let err = decode(b"a: 1\nb: caf\xE9\n".to_vec()).unwrap_err();
        assert_eq!(err.0, Pos { line: 2, col: 6 });
        assert_eq!(decode(b"\xEF\xBB\xBFa: 1\n".to_vec()).unwrap(), "a: 1\n");
        assert!(decode(b"a\x00b".to_vec()).unwrap_err().1.contains("binary"));
    }
}
