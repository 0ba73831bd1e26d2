//! API kinds as typed group/version/kind values: what a rule declares it reads, and what a
//! live read lists. A kind name alone is ambiguous (Istio's `Gateway` and the Gateway API's,
//! Flux's `Kustomization` and kustomize's file), and a read must know the group to list it.

use std::fmt;

/// One API kind. `version` is the version whose shape the reader interprets; a live read
/// lists the kind at the version the server prefers, and the server converts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gvk {
    /// Empty for the core group (`v1`).
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
}

impl Gvk {
    pub const fn new(group: &'static str, version: &'static str, kind: &'static str) -> Gvk {
        Gvk {
            group,
            version,
            kind,
        }
    }

    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.api_version(), self.kind)
    }
}

/// What a rule reads: the kinds it needs (when one of them could not be read, the rule would
/// see a false picture and does not run), and whether it also looks at every kind some rule
/// interprets (annotations, schemas, served versions), judging what it sees.
#[derive(Clone, Copy, Debug)]
pub struct Reads {
    pub kinds: &'static [Gvk],
    pub every_checked_kind: bool,
}

impl Reads {
    /// Every kind the rule may look at, for a live read.
    pub fn listed(&self) -> impl Iterator<Item = Gvk> + '_ {
        let every: &[Gvk] = if self.every_checked_kind {
            EVERY_CHECKED_KIND
        } else {
            &[]
        };
        self.kinds.iter().chain(every).copied()
    }
}

// Kubernetes built-in kinds.
pub const POD: Gvk = Gvk::new("", "v1", "Pod");
pub const SERVICE: Gvk = Gvk::new("", "v1", "Service");
pub const SERVICE_ACCOUNT: Gvk = Gvk::new("", "v1", "ServiceAccount");
pub const NAMESPACE: Gvk = Gvk::new("", "v1", "Namespace");
pub const CONFIG_MAP: Gvk = Gvk::new("", "v1", "ConfigMap");
pub const NODE: Gvk = Gvk::new("", "v1", "Node");
pub const RESOURCE_QUOTA: Gvk = Gvk::new("", "v1", "ResourceQuota");
pub const LIMIT_RANGE: Gvk = Gvk::new("", "v1", "LimitRange");
pub const DEPLOYMENT: Gvk = Gvk::new("apps", "v1", "Deployment");
pub const STATEFUL_SET: Gvk = Gvk::new("apps", "v1", "StatefulSet");
pub const DAEMON_SET: Gvk = Gvk::new("apps", "v1", "DaemonSet");
pub const REPLICA_SET: Gvk = Gvk::new("apps", "v1", "ReplicaSet");
pub const JOB: Gvk = Gvk::new("batch", "v1", "Job");
pub const CRON_JOB: Gvk = Gvk::new("batch", "v1", "CronJob");
pub const POD_DISRUPTION_BUDGET: Gvk = Gvk::new("policy", "v1", "PodDisruptionBudget");
pub const HORIZONTAL_POD_AUTOSCALER: Gvk = Gvk::new("autoscaling", "v2", "HorizontalPodAutoscaler");
pub const MUTATING_WEBHOOK_CONFIGURATION: Gvk = Gvk::new(
    "admissionregistration.k8s.io",
    "v1",
    "MutatingWebhookConfiguration",
);
pub const VALIDATING_WEBHOOK_CONFIGURATION: Gvk = Gvk::new(
    "admissionregistration.k8s.io",
    "v1",
    "ValidatingWebhookConfiguration",
);
pub const CUSTOM_RESOURCE_DEFINITION: Gvk =
    Gvk::new("apiextensions.k8s.io", "v1", "CustomResourceDefinition");

// Istio's kinds.
pub const DESTINATION_RULE: Gvk = Gvk::new("networking.istio.io", "v1", "DestinationRule");
pub const VIRTUAL_SERVICE: Gvk = Gvk::new("networking.istio.io", "v1", "VirtualService");
pub const ISTIO_GATEWAY: Gvk = Gvk::new("networking.istio.io", "v1", "Gateway");
pub const SERVICE_ENTRY: Gvk = Gvk::new("networking.istio.io", "v1", "ServiceEntry");
pub const SIDECAR: Gvk = Gvk::new("networking.istio.io", "v1", "Sidecar");
pub const ENVOY_FILTER: Gvk = Gvk::new("networking.istio.io", "v1alpha3", "EnvoyFilter");
pub const WORKLOAD_ENTRY: Gvk = Gvk::new("networking.istio.io", "v1", "WorkloadEntry");
pub const WORKLOAD_GROUP: Gvk = Gvk::new("networking.istio.io", "v1", "WorkloadGroup");
pub const PROXY_CONFIG: Gvk = Gvk::new("networking.istio.io", "v1beta1", "ProxyConfig");
pub const AUTHORIZATION_POLICY: Gvk = Gvk::new("security.istio.io", "v1", "AuthorizationPolicy");
pub const PEER_AUTHENTICATION: Gvk = Gvk::new("security.istio.io", "v1", "PeerAuthentication");
pub const REQUEST_AUTHENTICATION: Gvk =
    Gvk::new("security.istio.io", "v1", "RequestAuthentication");
pub const TELEMETRY: Gvk = Gvk::new("telemetry.istio.io", "v1", "Telemetry");
pub const WASM_PLUGIN: Gvk = Gvk::new("extensions.istio.io", "v1alpha1", "WasmPlugin");
pub const ISTIO_OPERATOR: Gvk = Gvk::new("install.istio.io", "v1alpha1", "IstioOperator");

// The Gateway API.
pub const GATEWAY_API_GATEWAY: Gvk = Gvk::new("gateway.networking.k8s.io", "v1", "Gateway");

// GitOps controllers' kinds (Flux, Argo CD).
pub const FLUX_HELM_RELEASE: Gvk = Gvk::new("helm.toolkit.fluxcd.io", "v2", "HelmRelease");
pub const FLUX_HELM_REPOSITORY: Gvk = Gvk::new("source.toolkit.fluxcd.io", "v1", "HelmRepository");
pub const FLUX_OCI_REPOSITORY: Gvk = Gvk::new("source.toolkit.fluxcd.io", "v1", "OCIRepository");
pub const FLUX_KUSTOMIZATION: Gvk = Gvk::new("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
pub const ARGO_APPLICATION: Gvk = Gvk::new("argoproj.io", "v1alpha1", "Application");
pub const ARGO_APPLICATION_SET: Gvk = Gvk::new("argoproj.io", "v1alpha1", "ApplicationSet");

/// Every kind some rule interprets: what a rule that also reads "every checked kind" sees.
/// Never Secrets, Events or Leases, which no rule looks at and which are large or sensitive.
/// Both `Gateway` kinds are here: the annotation, schema and served-version rules judge
/// Istio's and the Gateway API's alike.
pub const EVERY_CHECKED_KIND: &[Gvk] = &[
    POD,
    DEPLOYMENT,
    STATEFUL_SET,
    DAEMON_SET,
    REPLICA_SET,
    JOB,
    CRON_JOB,
    SERVICE,
    NAMESPACE,
    CONFIG_MAP,
    NODE,
    POD_DISRUPTION_BUDGET,
    HORIZONTAL_POD_AUTOSCALER,
    MUTATING_WEBHOOK_CONFIGURATION,
    VALIDATING_WEBHOOK_CONFIGURATION,
    CUSTOM_RESOURCE_DEFINITION,
    DESTINATION_RULE,
    VIRTUAL_SERVICE,
    ISTIO_GATEWAY,
    GATEWAY_API_GATEWAY,
    SERVICE_ENTRY,
    SIDECAR,
    ENVOY_FILTER,
    WORKLOAD_ENTRY,
    WORKLOAD_GROUP,
    PROXY_CONFIG,
    AUTHORIZATION_POLICY,
    PEER_AUTHENTICATION,
    REQUEST_AUTHENTICATION,
    TELEMETRY,
    WASM_PLUGIN,
    ISTIO_OPERATOR,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_name_the_group_except_for_the_core_group() {
        assert_eq!(POD.api_version(), "v1");
        assert_eq!(DEPLOYMENT.to_string(), "apps/v1 Deployment");
    }

    #[test]
    fn every_checked_kind_adds_to_the_kinds_a_rule_needs() {
        let reads = Reads {
            kinds: &[FLUX_HELM_RELEASE],
            every_checked_kind: true,
        };
        let listed: Vec<Gvk> = reads.listed().collect();
        assert_eq!(listed[0], FLUX_HELM_RELEASE);
        assert!(listed.contains(&GATEWAY_API_GATEWAY) && listed.contains(&ISTIO_GATEWAY));
        let only = Reads {
            kinds: &[POD],
            every_checked_kind: false,
        };
        assert_eq!(only.listed().collect::<Vec<_>>(), [POD]);
    }
}
