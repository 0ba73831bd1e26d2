use super::{Context, Sink};
use crate::diagnostic::Fix;
use crate::model::date::Date;
use crate::model::gvk::DEPLOYMENT;
use crate::model::Version;
use crate::release::{Release, ReleaseData};

crate::declare_rule! {
    /// ## What it does
    /// Looks up the Istio minor of every running control plane (istiod image, or
    /// `--current`) and of `--target` in the bundled release data (`rules/releases.yaml`)
    /// and fires when the release's end of life is on or before the run date, or when the
    /// data does not know the release at all (older than its oldest release, or newer than
    /// its newest: the other version rules then cannot judge it). Control planes are
    /// reported at their istiod image; the target (a command-line value) on the estate.
    ///
    /// The run date is today's date (UTC), or `ISTIO_PREFLIGHT_TODAY=YYYY-MM-DD` when set,
    /// so that a report can be reproduced. End-of-life dates that Istio has only announced
    /// are marked as such; the data says when it was last updated (`data_as_of`).
    ///
    /// ## Why it matters during an upgrade
    /// An end-of-life release gets no security fixes. Upgrading *from* one usually means a
    /// long way to go (see IPF102); upgrading *to* one means doing the work again soon.
    ///
    /// ## Example that fires
    /// istiod at `pilot:1.28.2` on 2026-09-01 (1.28 reached end of life on 2026-07-01), or
    /// `--target 1.33.0` with data that ends at 1.31.
    ///
    /// ## Example that does not fire
    /// istiod at `pilot:1.30.3` on 2026-09-01 (supported; no end of life announced yet).
    ///
    /// ## Fix
    /// Plan the upgrade to a supported release. For a release newer than the data, update
    /// istio-preflight so its release data knows it.
    ///
    /// ## References
    /// - Support status of Istio releases: <https://istio.io/latest/docs/releases/supported-releases/#support-status-of-istio-releases>
    /// - Support policy: <https://istio.io/latest/docs/releases/supported-releases/#support-policy>
    /// - End-of-life announcements: <https://istio.io/latest/news/support/>
    /// - Release data: `rules/releases.yaml` (each release's `eol` and `sources`)
    code: "IPF105",
    name: "istio-version-eol",
    severity: Warning,
    summary: "The current or target Istio release is end-of-life or unknown to the bundled release data",
    fix: None,
    reads: [DEPLOYMENT],
}

fn check(cx: &Context, sink: &mut Sink) {
    let data = cx.release;
    let inv = cx.inventory;
    let mut reported_estate_current = false;
    for cp in &inv.mesh.control_planes {
        let Some(version) = cp.version.as_ref() else {
            continue;
        };
        let Some(problem) = judge(data, version, cx.today) else {
            continue;
        };
        let message = format!("istiod revision `{}` runs {problem}", cp.revision);
        match cp.object.zip(cp.image_field(inv)) {
            Some((object, field)) => {
                sink.object(object, field, message)
                    .with_fix(fix(data, version, cx.today));
            }
            None if !reported_estate_current => {
                reported_estate_current = true;
                sink.estate(format!("the current version {problem}"))
                    .with_fix(fix(data, version, cx.today));
            }
            None => {}
        }
    }
    if let Some(target) = cx.upgrade.target.as_ref() {
        if let Some(problem) = judge(data, target, cx.today) {
            sink.estate(format!("the target {problem}"))
                .with_fix(fix(data, target, cx.today));
        }
    }
}

/// What is wrong with running `version` on `today`, if anything.
fn judge(data: &ReleaseData, version: &Version, today: Date) -> Option<String> {
    match data.release(version) {
        Some(rel) => {
            let eol = rel.eol()?;
            (eol <= today).then(|| {
                format!(
                    "Istio {version}; {} reached {}end of life on {eol} ({})",
                    rel.minor,
                    if rel.eol_estimated { "its announced " } else { "" },
                    eol_source(rel)
                )
            })
        }
        None if version.semver < Version::parse(&data.oldest().minor)?.semver => {
            let oldest = data.oldest();
            Some(format!(
                "Istio {version}, older than every release in istio-preflight's data (the oldest, {}, reached end of life on {}), so long past its end of life",
                oldest.minor,
                oldest.eol().map_or_else(|| "an unknown date".to_string(), |d| d.to_string())
            ))
        }
        None => Some(format!(
            "Istio {version}, unknown to istio-preflight's release data (newest {}, data as of {}): its support status, Kubernetes range and CRDs cannot be checked",
            data.newest().minor,
            data.data_as_of
        )),
    }
}

/// The end-of-life announcement among the release's sources, else its support page.
fn eol_source(rel: &Release) -> &str {
    rel.sources
        .iter()
        .map(|s| s.split(' ').next().unwrap_or(s))
        .find(|s| s.starts_with("https://") && s.contains("-eol"))
        .or_else(|| rel.web_source())
        .unwrap_or("https://istio.io/latest/docs/releases/supported-releases/")
}

fn fix(data: &ReleaseData, version: &Version, today: Date) -> Fix {
    if data.release(version).is_none()
        && version.semver
            > Version::parse(&data.newest().minor)
                .map(|v| v.semver)
                .unwrap_or(version.semver.clone())
    {
        return Fix::display_only("update istio-preflight so its release data covers this release");
    }
    let supported: Vec<&str> = data
        .releases
        .iter()
        .filter(|r| r.released() <= today && r.eol().is_none_or(|e| e > today))
        .map(|r| r.minor.as_str())
        .collect();
    match supported.as_slice() {
        [] => Fix::display_only("upgrade to a supported Istio release"),
        list => Fix::display_only(format!(
            "upgrade to a supported Istio release ({} on {today})",
            list.join(", ")
        )),
    }
}
