//! Baselines: adopt the tool on an estate with known findings, and fail only on new ones.
//!
//! A finding is recorded by its fingerprint — rule + object identity (apiVersion, kind,
//! namespace, name) + field path, the same identity SARIF's `partialFingerprints` carry —
//! never by line number, so the baseline survives unrelated edits, moved documents and
//! reformatting. The other fields of an entry are there for people reading the file.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    pub code: String,
    /// `Kind/namespace/name`, or empty for findings about a file or the estate.
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub message: String,
}

impl Baseline {
    pub fn new(mut findings: Vec<Entry>) -> Baseline {
        findings.sort_by(|a, b| {
            (&a.code, &a.object, &a.field, &a.fingerprint).cmp(&(
                &b.code,
                &b.object,
                &b.field,
                &b.fingerprint,
            ))
        });
        Baseline {
            version: VERSION,
            findings,
        }
    }

    pub fn read(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
        let baseline: Baseline = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not an istio-preflight baseline: {e} (write one with --write-baseline)",
                path.display()
            )
        })?;
        if baseline.version != VERSION {
            return Err(format!(
                "{}: baseline version {} is not supported (expected {VERSION}); rewrite it with --write-baseline",
                path.display(),
                baseline.version
            ));
        }
        Ok(baseline)
    }

    pub fn write(&self, path: &Path) -> Result<(), String> {
        let mut text = serde_json::to_string_pretty(self).expect("baseline serializes");
        text.push('\n');
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write baseline {}: {e}", path.display()))
    }

    /// How many findings of each fingerprint are accepted. A count, not a set: two findings
    /// that share a fingerprint are two findings, and a third one is new.
    pub fn budget(&self) -> HashMap<&str, usize> {
        let mut budget = HashMap::new();
        for e in &self.findings {
            *budget.entry(e.fingerprint.as_str()).or_insert(0) += 1;
        }
        budget
    }
}
