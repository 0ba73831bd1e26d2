//! What a live read could not see, and the server version it saw, kept as objects of the
//! tool's own kinds. A snapshot file carries them like any other document, so `check FILE`
//! reports exactly what `check --cluster` reported; and rules stay blind to where objects
//! came from, because both doors hand them over the same way.
//!
//! ```yaml
//! apiVersion: istio-preflight.io/v1
//! kind: ReadGap
//! metadata: {name: configmaps}
//! spec: {kind: ConfigMap, reason: Forbidden, code: 403, message: "configmaps is forbidden: ..."}
//! ---
//! apiVersion: istio-preflight.io/v1
//! kind: ClusterVersion
//! metadata: {name: kube-apiserver}
//! gitVersion: v1.33.1
//! ```

use serde_json::{json, Value as Json};

use super::{Object, Version};

pub const API_VERSION: &str = "istio-preflight.io/v1";
pub const READ_GAP: &str = "ReadGap";
pub const CLUSTER_VERSION: &str = "ClusterVersion";

/// Why a kind is missing from what was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapReason {
    /// The API server refused the list (403): RBAC does not grant it.
    Forbidden,
    /// The list failed after retries, or did not finish within `--timeout`.
    Failed,
    /// A built-in Kubernetes kind the server does not serve (an API group switched off).
    NotServed,
    /// A custom resource whose CRD is not installed: there are none of it, which is a
    /// complete answer, so the rules that read it still run.
    NotInstalled,
}

impl GapReason {
    pub fn as_str(self) -> &'static str {
        match self {
            GapReason::Forbidden => "Forbidden",
            GapReason::Failed => "Failed",
            GapReason::NotServed => "NotServed",
            GapReason::NotInstalled => "NotInstalled",
        }
    }

    pub fn parse(text: &str) -> Option<GapReason> {
        [
            GapReason::Forbidden,
            GapReason::Failed,
            GapReason::NotServed,
            GapReason::NotInstalled,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }

    /// Whether the rules that read the kind would see a false picture and must not run.
    pub fn blocks_rules(self) -> bool {
        self != GapReason::NotInstalled
    }
}

/// One kind (in one namespace, or cluster-wide) that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadGap {
    pub kind: String,
    /// Set when only this namespace's list failed (`-n`).
    pub namespace: Option<String>,
    pub reason: GapReason,
    /// The HTTP status the server answered with, if it answered.
    pub code: Option<u16>,
    /// The server's words (`Status.message`) or what went wrong on the way.
    pub message: String,
}

impl ReadGap {
    /// The object a read records for this gap; `name` must be unique among gaps.
    pub fn to_json(&self, name: &str) -> Json {
        let mut spec = serde_json::Map::new();
        spec.insert("kind".into(), json!(self.kind));
        if let Some(ns) = &self.namespace {
            spec.insert("namespace".into(), json!(ns));
        }
        spec.insert("reason".into(), json!(self.reason.as_str()));
        if let Some(code) = self.code {
            spec.insert("code".into(), json!(code));
        }
        spec.insert("message".into(), json!(self.message));
        json!({
            "apiVersion": API_VERSION,
            "kind": READ_GAP,
            "metadata": {"name": name},
            "spec": spec,
        })
    }

    /// Reads a gap back; `None` for objects of other kinds or without a known reason.
    pub fn from_object(o: &Object) -> Option<ReadGap> {
        if o.kind() != READ_GAP || o.api_version() != API_VERSION {
            return None;
        }
        let spec = o.root().get("spec")?;
        Some(ReadGap {
            kind: spec.str_at(&["kind"])?.to_string(),
            namespace: spec.str_at(&["namespace"]).map(str::to_string),
            reason: GapReason::parse(spec.str_at(&["reason"])?)?,
            code: match spec.get("code").map(|c| c.value()) {
                Some(crate::yaml::Value::Int(c)) => u16::try_from(c).ok(),
                _ => None,
            },
            message: spec.str_at(&["message"]).unwrap_or_default().to_string(),
        })
    }
}

/// The object a read records for the server's `/version`.
pub fn cluster_version_json(git_version: &str) -> Json {
    json!({
        "apiVersion": API_VERSION,
        "kind": CLUSTER_VERSION,
        "metadata": {"name": "kube-apiserver"},
        "gitVersion": git_version,
    })
}

/// The API server's version, when the input records one.
pub fn server_version(objects: &[Object]) -> Option<Version> {
    objects
        .iter()
        .filter(|o| o.kind() == CLUSTER_VERSION && o.api_version() == API_VERSION)
        .find_map(|o| o.root().str_at(&["gitVersion"]).and_then(Version::parse))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(json: &Json) -> Object {
        Object::from_cluster(json)
    }

    #[test]
    fn a_gap_survives_the_round_trip_through_an_object() {
        let gap = ReadGap {
            kind: "ConfigMap".into(),
            namespace: Some("shop".into()),
            reason: GapReason::Forbidden,
            code: Some(403),
            message: "configmaps is forbidden".into(),
        };
        assert_eq!(
            ReadGap::from_object(&object(&gap.to_json("configmaps-in-shop"))),
            Some(gap)
        );
        let unknown = json!({"apiVersion": API_VERSION, "kind": READ_GAP,
            "metadata": {"name": "x"}, "spec": {"kind": "Pod", "reason": "Sleepy"}});
        assert_eq!(ReadGap::from_object(&object(&unknown)), None);
    }

    #[test]
    fn only_absent_custom_resources_let_rules_run() {
        assert!(GapReason::Forbidden.blocks_rules());
        assert!(GapReason::NotServed.blocks_rules());
        assert!(!GapReason::NotInstalled.blocks_rules());
    }

    #[test]
    fn server_version_reads_git_version() {
        let objects = vec![object(&cluster_version_json("v1.33.2-gke.1200"))];
        assert_eq!(server_version(&objects).unwrap().to_string(), "1.33.2");
    }
}
