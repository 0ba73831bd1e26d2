//! Pre-merge mode (`--base REF`, SPEC §3a): the same paths as they are at a git commit.
//!
//! The tree of the commit is written into a private temporary directory with `git ls-tree`
//! and `git cat-file --batch`, so the working tree, the index and the refs are never touched
//! (a pre-commit hook or a CI checkout stays as it was). A directory rather than reading blobs
//! one by one keeps everything the loader does at REF identical to what it does in the
//! working tree: kustomize overlays build from REF's own bases and patches, relative file
//! references resolve, and an installed `kustomize` can be pointed at it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::load::files::{display_path, MAX_FILE_BYTES};

/// The paths of a run, as they are at a git commit.
#[derive(Debug)]
pub struct BaseTree {
    /// The revision as given (`main`, `origin/main`, a commit id).
    pub reference: String,
    /// The commit it names.
    pub commit: String,
    /// The repository's top level (symlinks resolved).
    top: PathBuf,
    /// Where the commit's tree was written; removed when the value is dropped.
    dir: TempDir,
    /// Each input path as given, with where it is in the written tree.
    inputs: Vec<(PathBuf, PathBuf)>,
}

impl BaseTree {
    /// Writes the tree of `reference` for the repository that holds `inputs`. Errors say
    /// what is wrong and what to do: git missing, not a repository, an unknown revision, a
    /// shallow clone without the commit.
    pub fn extract(reference: &str, inputs: &[PathBuf]) -> Result<BaseTree, String> {
        if reference.is_empty() || reference.starts_with('-') {
            return Err(format!(
                "--base {reference:?}: expected a git revision (a branch, tag or commit id)"
            ));
        }
        if inputs.iter().any(|p| p.as_os_str() == "-") {
            return Err(
                "--base reads the input paths as they are at a git commit; standard input (-) has no such version"
                    .to_string(),
            );
        }
        let start = inputs
            .first()
            .map(|p| existing_dir(p))
            .unwrap_or_else(|| PathBuf::from("."));
        let top = git(&start, &["rev-parse", "--show-toplevel"]).map_err(|e| match e {
            GitError::Missing(e) => format!("--base needs git on PATH: {e}"),
            GitError::Failed(msg) => format!(
                "--base {reference}: {} is not inside a git repository, so there is nothing to compare with ({msg})",
                display_path(&start)
            ),
        })?;
        let top = PathBuf::from(top.trim_end_matches(['\n', '\r']));
        let top = std::fs::canonicalize(&top).unwrap_or(top);
        let commit = resolve(&top, reference)?;

        let mut mapped = Vec::new();
        for input in inputs {
            let abs = std::fs::canonicalize(input)
                .unwrap_or_else(|_| crate::settings::config::absolute(input));
            let rel = abs.strip_prefix(&top).map_err(|_| {
                format!(
                    "--base {reference}: {} is outside the git repository at {}; check paths of one repository",
                    display_path(input),
                    top.display()
                )
            })?;
            mapped.push((input.clone(), rel.to_path_buf()));
        }
        let dir = TempDir::new()?;
        write_tree(&top, &commit, dir.path())?;
        let inputs = mapped
            .into_iter()
            .map(|(given, rel)| (given, dir.path().join(rel)))
            .collect();
        Ok(BaseTree {
            reference: reference.to_string(),
            commit,
            top,
            dir,
            inputs,
        })
    }

    /// The input paths as they are at the commit, leaving out those that do not exist
    /// there (a directory the change adds); the second list names those, as given.
    pub fn inputs(&self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let mut present = Vec::new();
        let mut absent = Vec::new();
        for (given, at_base) in &self.inputs {
            if std::fs::symlink_metadata(at_base).is_ok() {
                present.push(at_base.clone());
            } else {
                absent.push(given.clone());
            }
        }
        (present, absent)
    }

    /// Where a path of the working tree is at the commit, when it is inside the repository
    /// and exists there (`--values` files).
    pub fn at_base(&self, path: &Path) -> Option<PathBuf> {
        let abs =
            std::fs::canonicalize(path).unwrap_or_else(|_| crate::settings::config::absolute(path));
        let at = self.dir.path().join(abs.strip_prefix(&self.top).ok()?);
        at.exists().then_some(at)
    }

    /// The working-tree path a path of the written tree stands for, spelled as the working
    /// tree's run would spell it (under the input as given), so that file paths and
    /// kustomize overlay names, and with them finding identities, are the same at both.
    pub fn working_path(&self, at_base: &Path) -> PathBuf {
        let abs = crate::settings::config::absolute(at_base);
        let best = self
            .inputs
            .iter()
            .filter_map(|(given, base)| {
                abs.strip_prefix(crate::settings::config::absolute(base))
                    .ok()
                    .map(|rest| (base.components().count(), given, rest))
            })
            .max_by_key(|(depth, ..)| *depth);
        if let Some((_, given, rest)) = best {
            return if rest.as_os_str().is_empty() {
                given.clone()
            } else {
                given.join(rest)
            };
        }
        match abs.strip_prefix(self.dir.path()) {
            Ok(rest) => self.top.join(rest),
            Err(_) => at_base.to_path_buf(),
        }
    }

    /// [`BaseTree::working_path`] for a path as the loader shows it.
    pub fn working_display(&self, shown: &str) -> String {
        display_path(&self.working_path(Path::new(shown)))
    }
}

/// The nearest existing directory at or above `path` (git runs there).
fn existing_dir(path: &Path) -> PathBuf {
    let mut p = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    while !p.as_os_str().is_empty() && !p.is_dir() {
        p = p.parent().map(Path::to_path_buf).unwrap_or_default();
    }
    if p.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        p
    }
}

enum GitError {
    /// git could not be started.
    Missing(std::io::Error),
    /// git ran and failed: its message.
    Failed(String),
}

fn git_command(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C").arg(dir);
    // Messages are parsed nowhere, but shown: keep them in one language for bug reports.
    c.env("LC_ALL", "C");
    c
}

/// Runs git in `dir` and returns its standard output.
fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let out = git_command(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(GitError::Missing)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .trim()
            .to_string();
        Err(GitError::Failed(first))
    }
}

fn git_failed(what: &str, e: GitError) -> String {
    match e {
        GitError::Missing(e) => format!("--base needs git on PATH: {e}"),
        GitError::Failed(msg) => format!("{what}: {msg}"),
    }
}

/// The commit `reference` names, or an error that says how to make it available.
fn resolve(top: &Path, reference: &str) -> Result<String, String> {
    let spec = format!("{reference}^{{commit}}");
    let found = |spec: &str| {
        git(
            top,
            &["rev-parse", "--verify", "--quiet", "--end-of-options", spec],
        )
    };
    match found(&spec) {
        Ok(sha) => return Ok(sha.trim().to_string()),
        Err(GitError::Missing(e)) => return Err(format!("--base needs git on PATH: {e}")),
        Err(GitError::Failed(_)) => {}
    }
    let shallow = git(top, &["rev-parse", "--is-shallow-repository"])
        .map(|s| s.trim() == "true")
        .unwrap_or(false);
    if shallow {
        return Err(format!(
            "--base {reference}: this is a shallow clone and it does not have {reference}. \
             Fetch the base commit: with actions/checkout set `fetch-depth: 0`, or run \
             `git fetch --depth=1 origin {reference}` before the check"
        ));
    }
    let remote = format!("origin/{reference}");
    let hint = if !reference.contains('/') && found(&format!("{remote}^{{commit}}")).is_ok() {
        format!("; the remote-tracking branch exists: use --base {remote}")
    } else {
        format!("; fetch it first (`git fetch origin {reference}`)")
    };
    Err(format!(
        "--base {reference}: no branch, tag or commit of that name in the repository at {}{hint}",
        top.display()
    ))
}

/// One blob of the commit's tree.
struct Entry {
    path: PathBuf,
    oid: String,
    symlink: bool,
}

/// Writes the files of `commit` under `into`. Submodules are left out (the working tree's
/// run does not read into them either unless they are checked out), as are files larger
/// than the loader would read.
fn write_tree(top: &Path, commit: &str, into: &Path) -> Result<(), String> {
    let listing = git(
        top,
        &["ls-tree", "-r", "-z", "-l", "--full-tree", commit, "--"],
    )
    .map_err(|e| git_failed(&format!("--base: cannot list the files of {commit}"), e))?;
    let mut entries = Vec::new();
    for record in listing.split('\0').filter(|r| !r.is_empty()) {
        let Some((meta, path)) = record.split_once('\t') else {
            continue;
        };
        let fields: Vec<&str> = meta.split_whitespace().collect();
        let [mode, kind, oid, size] = fields[..] else {
            continue;
        };
        if kind != "blob" || size.parse::<u64>().is_ok_and(|s| s > MAX_FILE_BYTES) {
            continue;
        }
        let Some(path) = safe_relative(path) else {
            continue;
        };
        entries.push(Entry {
            path,
            oid: oid.to_string(),
            symlink: mode == "120000",
        });
    }
    if entries.is_empty() {
        return Ok(());
    }

    let mut child = git_command(top)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("--base needs git on PATH: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let ids: String = entries.iter().map(|e| format!("{}\n", e.oid)).collect();
    // Written from a thread: git answers while it reads, and a full pipe both ways would
    // stop both.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(ids.as_bytes());
    });
    let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let result = read_blobs(&mut out, &entries, into);
    drop(out);
    let _ = writer.join();
    let status = child.wait();
    result?;
    match status {
        Ok(s) if s.success() => Ok(()),
        _ => {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            Err(format!(
                "--base: git cat-file could not read the files of {commit}: {}",
                stderr.trim()
            ))
        }
    }
}

/// Reads `git cat-file --batch` answers, one per entry in order, into files under `into`.
fn read_blobs(out: &mut impl BufRead, entries: &[Entry], into: &Path) -> Result<(), String> {
    let mut header = String::new();
    for entry in entries {
        header.clear();
        out.read_line(&mut header)
            .map_err(|e| format!("--base: reading from git cat-file: {e}"))?;
        let fields: Vec<&str> = header.split_whitespace().collect();
        let size = match fields[..] {
            [_, "blob", size] => size.parse::<usize>().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            format!(
                "--base: git cat-file did not return {} ({}): {}",
                entry.path.display(),
                entry.oid,
                header.trim()
            )
        })?;
        let mut content = vec![0; size];
        out.read_exact(&mut content)
            .and_then(|_| out.read_exact(&mut [0u8; 1]))
            .map_err(|e| format!("--base: reading from git cat-file: {e}"))?;
        let target = into.join(&entry.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("--base: cannot write {}: {e}", parent.display()))?;
        }
        let written = if entry.symlink {
            write_symlink(&content, &target)
        } else {
            std::fs::write(&target, &content)
        };
        written.map_err(|e| format!("--base: cannot write {}: {e}", target.display()))?;
    }
    Ok(())
}

#[cfg(unix)]
fn write_symlink(content: &[u8], target: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(content), target)
}

/// Elsewhere a symbolic link is left out, as a checkout without symlink support would.
#[cfg(not(unix))]
fn write_symlink(_content: &[u8], _target: &Path) -> std::io::Result<()> {
    Ok(())
}

/// A tree path as a relative path that stays inside the directory it is written to
/// (git never records `..` or absolute paths, but the tree is input all the same).
fn safe_relative(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    p.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| p.to_path_buf())
}

/// A directory of our own under the system's temporary directory, removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        for attempt in 0..100u32 {
            let dir = base.join(format!(
                "istio-preflight-base-{}-{nanos:x}-{attempt}",
                std::process::id()
            ));
            match std::fs::create_dir(&dir) {
                // Resolved (macOS's temporary directory is behind a symlink) so that paths
                // the kustomize builder resolves still start with it.
                Ok(()) => return Ok(TempDir(std::fs::canonicalize(&dir).unwrap_or(dir))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(format!(
                        "--base: cannot create a temporary directory in {}: {e}",
                        base.display()
                    ))
                }
            }
        }
        Err(format!(
            "--base: cannot create a temporary directory in {}",
            base.display()
        ))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_paths_stay_inside() {
        assert_eq!(safe_relative("a/b.yaml"), Some(PathBuf::from("a/b.yaml")));
        assert_eq!(safe_relative("../x"), None);
        assert_eq!(safe_relative("/etc/passwd"), None);
        assert_eq!(safe_relative("a/./b"), Some(PathBuf::from("a/b")));
    }
}
