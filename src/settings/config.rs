//! `.istio-preflight.yaml` (SPEC §6): defaults for `check`, severity overrides, path
//! excludes and suppressions with a reason and an optional expiry date.
//!
//! It is read with the project's own positioned YAML loader so that every complaint names
//! the line, and unknown keys are errors: a misspelt `supressions:` that silently did
//! nothing would hide findings nobody agreed to hide.

use std::path::{Component, Path, PathBuf};

use crate::diagnostic::Severity;
use crate::glob::Glob;
use crate::load::files::SourceFile;
use crate::model::date::Date;
use crate::rules::code_matches;
use crate::settings::Strategy;
use crate::yaml::{self, Node, Span, Value};

pub const FILE_NAME: &str = ".istio-preflight.yaml";

const TOP_KEYS: &[&str] = &[
    "target",
    "current",
    "strategy",
    "kube-version",
    "select",
    "ignore",
    "severity",
    "exclude",
    "suppressions",
];
const SUPPRESSION_KEYS: &[&str] = &["code", "object", "path", "reason", "expires"];

#[derive(Debug, Default)]
pub struct Config {
    /// As shown to people (relative to the current directory).
    pub path: String,
    /// Absolute directory of the file: `exclude` and suppression `path` globs are relative to it.
    pub dir: PathBuf,
    pub target: Option<String>,
    pub current: Option<String>,
    pub strategy: Option<Strategy>,
    pub kube_version: Option<String>,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    /// Code or prefix → severity; the longest matching prefix wins.
    pub severity: Vec<(String, Severity)>,
    pub exclude: Vec<Glob>,
    pub suppressions: Vec<Suppression>,
}

/// One accepted finding (or set of findings) with the reason it is accepted.
#[derive(Clone, Debug)]
pub struct Suppression {
    /// Rule code or prefix (`IPF405`, `IPF4`).
    pub code: String,
    /// Glob over `Kind/namespace/name` (`Kind/name` for cluster-scoped kinds).
    pub object: Option<Glob>,
    /// Glob over the file path, relative to the config file's directory.
    pub path: Option<Glob>,
    pub reason: String,
    /// The last day the suppression applies.
    pub expires: Option<Date>,
    /// Line in the config file, for messages about the suppression.
    pub line: u32,
}

impl Suppression {
    pub fn describe(&self) -> String {
        let mut s = self.code.clone();
        if let Some(o) = &self.object {
            s.push_str(&format!(" on {}", o.as_str()));
        }
        if let Some(p) = &self.path {
            s.push_str(&format!(" in {}", p.as_str()));
        }
        s
    }

    pub fn is_expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|e| e < today)
    }

    pub fn matches_code(&self, code: &str) -> bool {
        code_matches(code, &self.code)
    }
}

/// Finds the config file: `explicit` if given, else the nearest `.istio-preflight.yaml` in
/// the current directory or one of its parents.
pub fn discover(explicit: Option<&Path>) -> Result<Option<PathBuf>, String> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(Some(p.to_path_buf()))
        } else {
            Err(format!("config file {} does not exist", p.display()))
        };
    }
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    Ok(cwd
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file()))
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, String> {
    let shown = crate::load::files::display_path(path);
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let dir = absolute(path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    parse(&shown, dir, &text)
}

/// Parses config text; `shown` names the file in errors, `dir` anchors its path globs.
pub fn parse(shown: &str, dir: PathBuf, text: &str) -> Result<Config, String> {
    let source = SourceFile::new(shown.to_string(), text.to_string());
    let p = Parser { source: &source };
    let root = yaml::parse_str(text).map_err(|e| format!("{shown}:{e}"))?;
    let mut config = Config {
        path: shown.to_string(),
        dir,
        ..Config::default()
    };
    let Some(root) = root else {
        return Ok(config);
    };
    let root = root.root();
    let entries = root.as_map().ok_or_else(|| {
        p.error(
            root.span(),
            format!("expected a mapping, found {}", root.type_name()),
        )
    })?;
    for e in entries {
        let v = e.value;
        match e.key {
            "target" => config.target = Some(p.version(v)?),
            "current" => config.current = Some(p.version(v)?),
            "kube-version" => config.kube_version = Some(p.version(v)?),
            "strategy" => {
                let s = p.string(v)?;
                config.strategy = Some(Strategy::parse(&s).ok_or_else(|| {
                    p.error(
                        v.span(),
                        format!("strategy {s:?} is not one of: canary, in-place"),
                    )
                })?);
            }
            "select" => config.select = p.codes(v)?,
            "ignore" => config.ignore = p.codes(v)?,
            "severity" => {
                let map = v.as_map().ok_or_else(|| {
                    p.error(
                        v.span(),
                        "severity: expected a mapping of code: error|warning|info".into(),
                    )
                })?;
                for s in map {
                    let level = p.string(s.value)?;
                    let severity = Severity::parse(&level).ok_or_else(|| {
                        p.error(
                            s.value.span(),
                            format!(
                                "severity {level:?} for {} is not one of: error, warning, info",
                                s.key
                            ),
                        )
                    })?;
                    let code = p.known_code(s.key, s.key_span())?;
                    config.severity.push((code, severity));
                }
            }
            "exclude" => {
                config.exclude = p.list(v)?.iter().map(|s| Glob::new(s)).collect();
            }
            "suppressions" => {
                let items = v.as_seq().ok_or_else(|| {
                    p.error(
                        v.span(),
                        format!("suppressions: expected a list, found {}", v.type_name()),
                    )
                })?;
                for item in items {
                    config.suppressions.push(p.suppression(item)?);
                }
            }
            other => {
                return Err(p.error(
                    e.key_span(),
                    format!(
                        "unknown key `{other}` (expected one of: {})",
                        TOP_KEYS.join(", ")
                    ),
                ))
            }
        }
    }
    Ok(config)
}

struct Parser<'a> {
    source: &'a SourceFile,
}

impl Parser<'_> {
    fn error(&self, span: Span, message: String) -> String {
        format!("{}:{}: {message}", self.source.path, span.start.line.max(1))
    }

    /// The scalar as written: `1.30` must stay `1.30`, not the float 1.3.
    fn raw(&self, node: Node) -> String {
        let start = self.source.offset(node.span().start);
        let end = self.source.offset(node.span().end).max(start);
        self.source.text[start..end].trim().to_string()
    }

    fn string(&self, node: Node) -> Result<String, String> {
        match node.value() {
            Value::Str(s) => Ok(s.to_string()),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => Ok(self.raw(node)),
            _ => Err(self.error(
                node.span(),
                format!("expected a string, found {}", node.type_name()),
            )),
        }
    }

    fn version(&self, node: Node) -> Result<String, String> {
        let s = self.string(node)?;
        crate::model::Version::parse(&s)
            .map(|_| s.clone())
            .ok_or_else(|| {
                self.error(
                    node.span(),
                    format!("{s:?} is not a version like 1.27 or 1.27.2"),
                )
            })
    }

    /// A list of strings, or one comma-separated string.
    fn list(&self, node: Node) -> Result<Vec<String>, String> {
        match node.value() {
            Value::Seq(items) => items.iter().map(|i| self.string(i)).collect(),
            _ => Ok(self
                .string(node)?
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()),
        }
    }

    /// A rule code, code prefix or rule name, as the code or prefix that findings are
    /// matched against (`proxy-start-not-held` → `IPF406`, `ipf4` → `IPF4`).
    fn known_code(&self, code: &str, span: Span) -> Result<String, String> {
        if let Some(rule) = crate::rules::RULES.iter().find(|r| r.name == code.trim()) {
            return Ok(rule.code.to_string());
        }
        if crate::rules::RULES.iter().any(|r| r.matches(code)) {
            Ok(code.trim().to_ascii_uppercase())
        } else {
            Err(self.error(
                span,
                format!("no rule matches {code:?} (see `istio-preflight rules`)"),
            ))
        }
    }

    fn codes(&self, node: Node) -> Result<Vec<String>, String> {
        let codes = self.list(node)?;
        for c in &codes {
            self.known_code(c, node.span())?;
        }
        Ok(codes)
    }

    fn suppression(&self, item: Node) -> Result<Suppression, String> {
        let entries = item.as_map().ok_or_else(|| {
            self.error(
                item.span(),
                format!(
                    "a suppression must be a mapping, found {}",
                    item.type_name()
                ),
            )
        })?;
        let mut s = Suppression {
            code: String::new(),
            object: None,
            path: None,
            reason: String::new(),
            expires: None,
            line: item.span().start.line,
        };
        for e in entries {
            let v = e.value;
            match e.key {
                "code" => {
                    s.code = self.known_code(&self.string(v)?, v.span())?;
                }
                "object" => s.object = Some(Glob::new(&self.string(v)?)),
                "path" => s.path = Some(Glob::new(&self.string(v)?)),
                "reason" => s.reason = self.string(v)?.trim().to_string(),
                "expires" => {
                    let text = self.string(v)?;
                    s.expires = Some(
                        Date::parse(&text)
                            .map_err(|e| self.error(v.span(), format!("expires {e}")))?,
                    );
                }
                other => {
                    return Err(self.error(
                        e.key_span(),
                        format!(
                            "unknown key `{other}` in a suppression (expected one of: {})",
                            SUPPRESSION_KEYS.join(", ")
                        ),
                    ))
                }
            }
        }
        if s.code.is_empty() {
            return Err(self.error(
                item.span(),
                "a suppression needs a `code` (a rule code or prefix)".into(),
            ));
        }
        if s.reason.is_empty() {
            return Err(self.error(
                item.span(),
                format!(
                    "the suppression of {} needs a `reason`: say why the finding is accepted",
                    s.describe()
                ),
            ));
        }
        Ok(s)
    }
}

/// An absolute path without `.` and `..` parts, resolved lexically (the file may not exist).
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `dir` with `/` separators, when it lies inside it.
pub fn relative_to(dir: &Path, path: &Path) -> Option<String> {
    absolute(path)
        .strip_prefix(dir)
        .ok()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
}

impl Config {
    /// Whether a file is excluded: a glob matches its path relative to the config file's
    /// directory, or one of its parent directories.
    pub fn excludes(&self, path: &Path) -> bool {
        if self.exclude.is_empty() {
            return false;
        }
        relative_to(&self.dir, path)
            .is_some_and(|rel| self.exclude.iter().any(|g| g.matches_path_or_parent(&rel)))
    }

    /// The overridden severity for a code, if any (longest prefix wins).
    pub fn severity_for(&self, code: &str) -> Option<Severity> {
        self.severity
            .iter()
            .filter(|(prefix, _)| code_matches(code, prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, s)| *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Result<Config, String> {
        parse(".istio-preflight.yaml", PathBuf::from("/repo"), text)
    }

    #[test]
    fn reads_every_key_and_keeps_versions_as_written() {
        let c = cfg("target: 1.30\ncurrent: 1.28.2\nstrategy: in-place\nkube-version: 1.31\nselect: [IPF4, IPF101]\nignore: IPF406\nseverity:\n  IPF406: error\nexclude:\n  - vendor/**\n").unwrap();
        assert_eq!(c.target.as_deref(), Some("1.30"));
        assert_eq!(c.current.as_deref(), Some("1.28.2"));
        assert_eq!(c.strategy, Some(Strategy::InPlace));
        assert_eq!(c.kube_version.as_deref(), Some("1.31"));
        assert_eq!(c.select, ["IPF4", "IPF101"]);
        assert_eq!(c.ignore, ["IPF406"]);
        assert_eq!(c.severity_for("IPF406"), Some(Severity::Error));
        assert_eq!(c.severity_for("IPF405"), None);
        assert!(c.excludes(Path::new("/repo/vendor/a/b.yaml")));
        assert!(!c.excludes(Path::new("/repo/apps/b.yaml")));
        assert!(!c.excludes(Path::new("/elsewhere/vendor/b.yaml")));
    }

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let e = cfg("target: 1.30\nsupressions: []\n").unwrap_err();
        assert_eq!(
            e,
            ".istio-preflight.yaml:2: unknown key `supressions` (expected one of: target, current, strategy, kube-version, select, ignore, severity, exclude, suppressions)"
        );
        let e = cfg("suppressions:\n  - code: IPF405\n    reason: x\n    expiry: 2026-01-01\n")
            .unwrap_err();
        assert!(
            e.starts_with(".istio-preflight.yaml:4: unknown key `expiry` in a suppression"),
            "{e}"
        );
    }

    #[test]
    fn a_suppression_needs_a_reason_and_a_real_date() {
        let e =
            cfg("suppressions:\n  - code: IPF405\n    object: Deployment/shop/*\n").unwrap_err();
        assert!(e.starts_with(".istio-preflight.yaml:2: the suppression of IPF405 on Deployment/shop/* needs a `reason`"), "{e}");
        let e = cfg("suppressions:\n  - code: IPF405\n    reason: r\n    expires: next week\n")
            .unwrap_err();
        assert!(e.contains(":4: expires \"next week\" is not a date"), "{e}");
        let e = cfg("suppressions:\n  - code: IPF999\n    reason: r\n").unwrap_err();
        assert!(e.contains(":2: no rule matches \"IPF999\""), "{e}");
    }

    #[test]
    fn bad_values_name_their_line() {
        let e = cfg("\nstrategy: sideways\n").unwrap_err();
        assert!(
            e.starts_with(".istio-preflight.yaml:2: strategy \"sideways\""),
            "{e}"
        );
        let e = cfg("severity:\n  IPF406: fatal\n").unwrap_err();
        assert!(
            e.starts_with(".istio-preflight.yaml:2: severity \"fatal\""),
            "{e}"
        );
        assert!(cfg("- a\n").unwrap_err().contains("expected a mapping"));
    }

    #[test]
    fn rule_names_stand_for_their_codes() {
        let c = cfg("severity:\n  proxy-start-not-held: error\nsuppressions:\n  - code: grace-period-shorter-than-drain\n    reason: r\n").unwrap();
        assert_eq!(c.severity_for("IPF406"), Some(Severity::Error));
        assert!(c.suppressions[0].matches_code("IPF405"));
        assert!(!c.suppressions[0].matches_code("IPF406"));
    }

    #[test]
    fn expiry_is_inclusive() {
        let c =
            cfg("suppressions:\n  - code: IPF4\n    reason: r\n    expires: 2026-03-31\n").unwrap();
        let s = &c.suppressions[0];
        assert!(!s.is_expired(Date::parse("2026-03-31").unwrap()));
        assert!(s.is_expired(Date::parse("2026-04-01").unwrap()));
        assert!(s.matches_code("IPF405"));
        assert!(!s.matches_code("IPF101"));
    }

    #[test]
    fn an_expiry_must_be_a_day_that_exists() {
        let e = cfg("suppressions:\n  - code: IPF405\n    reason: r\n    expires: 2999-02-30\n")
            .unwrap_err();
        // jiff says why: the day is outside the month's range.
        assert!(
            e.contains(":4: expires \"2999-02-30\" is not a date: "),
            "{e}"
        );
        assert!(e.contains("day"), "{e}");
    }
}
