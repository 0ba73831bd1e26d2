//! Istio and Kubernetes versions as they appear in images, labels and flags.

use std::fmt;

/// An Istio (or Kubernetes) version. `--target 1.27` names a minor without a patch.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    pub semver: semver::Version,
    pub patch_known: bool,
}

impl Version {
    /// Parses `1.27`, `1.27.2`, `v1.31.4`, `1.28.0-beta.1`, `1.28.2-distroless`,
    /// `1.29-dev`, `v1.31.4-eks-1234`. Returns `None` for tags that are not versions
    /// (`latest`, a digest, `master-abc`).
    pub fn parse(text: &str) -> Option<Version> {
        let t = text.trim().trim_start_matches('v');
        let (core, rest) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
            Some(i) => (&t[..i], Some(&t[i..])),
            None => (t, None),
        };
        let core = core.trim_end_matches('.');
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        let major = parts[0].parse().ok()?;
        let minor = parts[1].parse().ok()?;
        let patch = parts.get(2).map(|p| p.parse()).transpose().ok()?;
        let mut semver = semver::Version::new(major, minor, patch.unwrap_or(0));
        // Pre-releases order below the release; variants (`-distroless`) are not versions.
        if let Some(rest) = rest {
            let pre = rest.trim_start_matches(['-', '+']);
            let is_pre = ["alpha", "beta", "rc", "dev"]
                .iter()
                .any(|p| pre.starts_with(p));
            if is_pre {
                semver.pre = semver::Prerelease::new(&pre.replace('_', ".")).unwrap_or_default();
            }
        }
        Some(Version {
            semver,
            patch_known: patch.is_some(),
        })
    }

    /// The version in an image reference's tag: `docker.io/istio/proxyv2:1.28.2-distroless`.
    pub fn from_image(image: &str) -> Option<Version> {
        let without_digest = image.split('@').next()?;
        let last = without_digest.rsplit('/').next()?;
        let (_, tag) = last.split_once(':')?;
        Version::parse(tag)
    }

    pub fn minor(&self) -> u64 {
        self.semver.minor
    }

    /// Minor versions from `self` up to `other` (positive when `other` is newer).
    pub fn minors_to(&self, other: &Version) -> i64 {
        (other.semver.major as i64 - self.semver.major as i64) * 100 + other.semver.minor as i64
            - self.semver.minor as i64
    }

    pub fn minor_string(&self) -> String {
        format!("{}.{}", self.semver.major, self.semver.minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.patch_known {
            write!(f, "{}", self.semver)
        } else {
            write!(f, "{}.{}", self.semver.major, self.semver.minor)
        }
    }
}

/// The repository part of an image, without registry and tag: `istio/proxyv2`.
pub fn image_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let without_tag = match without_digest.rfind(':') {
        Some(i) if !without_digest[i..].contains('/') => &without_digest[..i],
        _ => without_digest,
    };
    without_tag.rsplit('/').next().unwrap_or(without_tag)
}

/// The registry and path in front of the image name (`docker.io/istio`), the "hub".
pub fn image_hub(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    match without_digest.rfind('/') {
        Some(i) => &without_digest[..i],
        None => "",
    }
}

/// A hub as the container runtime resolves it, so that `istio`, `docker.io/istio` and
/// `index.docker.io/istio` compare equal: a first segment without `.` or `:` (and not
/// `localhost`) is a Docker Hub namespace.
pub fn normalize_hub(hub: &str) -> String {
    let hub = hub.trim_end_matches('/');
    let first = hub.split('/').next().unwrap_or_default();
    if hub.is_empty() {
        "docker.io/library".to_string()
    } else if first == "index.docker.io" || first == "registry-1.docker.io" {
        format!("docker.io{}", &hub[first.len()..])
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        hub.to_string()
    } else {
        format!("docker.io/{hub}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_istio_uses() {
        assert_eq!(Version::parse("1.27").unwrap().to_string(), "1.27");
        assert_eq!(Version::parse("1.27.2").unwrap().to_string(), "1.27.2");
        assert_eq!(Version::parse("v1.31.4-eks-1234").unwrap().minor(), 31);
        assert!(
            Version::parse("1.28.0-beta.1").unwrap().semver
                < Version::parse("1.28.0").unwrap().semver
        );
        assert_eq!(
            Version::parse("1.28.2-distroless").unwrap().to_string(),
            "1.28.2"
        );
        assert!(Version::parse("latest").is_none());
        assert!(Version::parse("master-abc").is_none());
    }

    #[test]
    fn reads_images() {
        let v = Version::from_image("gcr.io/istio-release/proxyv2:1.29.0-distroless").unwrap();
        assert_eq!(v.to_string(), "1.29.0");
        assert!(Version::from_image("localhost:5000/proxyv2").is_none());
        assert_eq!(image_name("localhost:5000/istio/proxyv2:1.2.3"), "proxyv2");
        assert_eq!(image_hub("docker.io/istio/pilot:1.2.3"), "docker.io/istio");
        assert_eq!(normalize_hub("istio"), "docker.io/istio");
        assert_eq!(normalize_hub("index.docker.io/istio"), "docker.io/istio");
        assert_eq!(
            normalize_hub("gcr.io/istio-release"),
            "gcr.io/istio-release"
        );
        assert_eq!(
            normalize_hub("localhost:5000/istio"),
            "localhost:5000/istio"
        );
        assert_eq!(
            Version::parse("1.26")
                .unwrap()
                .minors_to(&Version::parse("1.28.1").unwrap()),
            2
        );
    }
}
