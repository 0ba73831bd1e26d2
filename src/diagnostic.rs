//! Diagnostics and fixes: plain data that rules produce and emitters print.

use serde::Serialize;

use crate::model::{FieldPath, ObjectId};
use crate::yaml::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// What a diagnostic is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// An object, at a field path inside it.
    Object { object: ObjectId, field: FieldPath },
    /// A place in a file that holds no object (a document that does not parse).
    File { file: usize, span: Span },
    /// The estate as a whole (e.g. the Kubernetes version given on the command line).
    Estate,
}

/// How sure a fix is not to change more than the finding asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Does exactly what the rule recommends and cannot break the workload: `--fix` applies it.
    Safe,
    /// Right in most cases but deserves a look: applied only with `--unsafe-fixes`.
    Unsafe,
    /// Shown, never applied (commands to run, choices only a person can make).
    DisplayOnly,
}

/// One change at a field path of the object the diagnostic is about.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Edit {
    /// Set the field (creating missing parents) to a value.
    Set {
        path: FieldPath,
        value: serde_json::Value,
    },
    /// Remove the field.
    Remove { path: FieldPath },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fix {
    pub title: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

impl Fix {
    pub fn safe(title: impl Into<String>, edits: Vec<Edit>) -> Fix {
        Fix {
            title: title.into(),
            applicability: Applicability::Safe,
            edits,
        }
    }

    pub fn unsafe_(title: impl Into<String>, edits: Vec<Edit>) -> Fix {
        Fix {
            title: title.into(),
            applicability: Applicability::Unsafe,
            edits,
        }
    }

    pub fn display_only(title: impl Into<String>) -> Fix {
        Fix {
            title: title.into(),
            applicability: Applicability::DisplayOnly,
            edits: Vec::new(),
        }
    }
}

/// Whether a finding was already there at the commit pre-merge mode compares with
/// (`--base`), in SARIF's words (`baselineState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    /// Not at the base: the change brings it.
    New,
    /// The same finding (rule, object, field, overlay) exists at the base.
    Unchanged,
}

impl BaselineState {
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Unchanged => "unchanged",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    pub subject: Subject,
    pub fix: Option<Fix>,
    /// Set by pre-merge mode only (`--base`); rules leave it `None`.
    pub baseline_state: Option<BaselineState>,
}

impl Diagnostic {
    pub fn field(&self) -> Option<&FieldPath> {
        match &self.subject {
            Subject::Object { field, .. } => Some(field),
            _ => None,
        }
    }

    pub fn object(&self) -> Option<ObjectId> {
        match &self.subject {
            Subject::Object { object, .. } => Some(*object),
            _ => None,
        }
    }

    /// Whether pre-merge mode found it at the base already.
    pub fn pre_existing(&self) -> bool {
        self.baseline_state == Some(BaselineState::Unchanged)
    }
}
