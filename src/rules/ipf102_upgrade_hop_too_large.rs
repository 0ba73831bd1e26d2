use super::{Context, Sink, Strategy};
use crate::diagnostic::Fix;
use crate::model::gvk::DEPLOYMENT;
use crate::model::Version;

crate::declare_rule! {
    /// ## What it does
    /// Compares the current Istio version (`--current`, else the `default` revision's istiod
    /// image, else the oldest running istiod) with `--target`, and fires when the upgrade
    /// spans more minor versions than the chosen `--strategy` supports: one for in-place,
    /// two for canary (revision-based). The limits come from the bundled release data
    /// (`rules/releases.yaml`, `policy.upgrade_hops`). Patch upgrades are not judged (no Istio
    /// page states a hop limit for them) and downgrades are IPF106's; without `--target`
    /// there is nothing to compare.
    ///
    /// ## Why it matters during an upgrade
    /// Istio tests upgrades across one minor in place and two with revisions. A larger hop
    /// skips the intermediate releases' migrations (CRD versions, renamed settings, changed
    /// defaults), and the old proxies end up more than one minor behind the new control
    /// plane, outside the supported skew.
    ///
    /// ## Example that fires
    /// istiod at `pilot:1.26.4` and `--target 1.29.0` (three minors), or `--target 1.28.0
    /// --strategy in-place` from 1.26.
    ///
    /// ## Example that does not fire
    /// 1.28.2 → 1.30.3 with the default canary strategy (two minors), 1.29.1 → 1.30.0 in
    /// place, 1.30.1 → 1.30.3, or any run without `--target`.
    ///
    /// ## Fix
    /// Upgrade in steps the strategy supports (the message lists them), or use a canary
    /// upgrade when only the in-place limit is exceeded.
    ///
    /// ## References
    /// - In-place upgrade prerequisites: <https://istio.io/latest/docs/setup/upgrade/in-place/#upgrade-prerequisites>
    /// - Canary upgrades, two-minor jumps: <https://istio.io/latest/docs/setup/upgrade/canary/>
    /// - Upgrade overview: <https://istio.io/latest/docs/setup/upgrade/>
    /// - Release data: `rules/releases.yaml` (`policy.upgrade_hops`)
    code: "IPF102",
    name: "upgrade-hop-too-large",
    severity: Error,
    summary: "The upgrade from the current to the target Istio version spans more minor versions than the strategy supports",
    fix: None,
    reads: [DEPLOYMENT],
}

fn check(cx: &Context, sink: &mut Sink) {
    let Some((current, target)) = cx.current_and_target() else {
        return;
    };
    let mesh = &cx.inventory.mesh;
    let hops = current.minors_to(target);
    let data = cx.release;
    let rule = data.policy.hop(cx.upgrade.strategy);
    if hops <= rule.max_minors_per_step {
        return;
    }
    let strategy = cx.upgrade.strategy;
    let mut message = format!(
        "upgrading from {current} to {target} spans {hops} minor versions; the {} strategy supports at most {} per step ({})",
        strategy.as_str(),
        rule.max_minors_per_step,
        rule.source
    );
    let canary = data.policy.hop(Strategy::Canary);
    if strategy == Strategy::InPlace && hops <= canary.max_minors_per_step {
        message.push_str(&format!(
            "; the canary strategy supports {} ({})",
            canary.max_minors_per_step, canary.source
        ));
    }
    let fix = Fix::display_only(format!(
        "upgrade in steps: {}",
        steps(current, target, rule.max_minors_per_step).join(" → ")
    ));
    let subject = mesh
        .current_control_plane()
        .and_then(|cp| Some((cp.object?, cp.image_field(cx.inventory)?)));
    match subject {
        Some((object, field)) => sink.object(object, field, message),
        None => sink.estate(message),
    }
    .with_fix(fix);
}

/// The minors to pass through, each at most `max` after the previous.
fn steps(current: &Version, target: &Version, max: i64) -> Vec<String> {
    let mut out = vec![current.minor_string()];
    let mut minor = current.semver.minor as i64;
    let last = target.semver.minor as i64;
    let max = max.max(1);
    while minor < last {
        minor = (minor + max).min(last);
        out.push(if minor == last {
            target.to_string()
        } else {
            format!("{}.{minor}", current.semver.major)
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_steps() {
        let v = |t: &str| Version::parse(t).unwrap();
        assert_eq!(
            steps(&v("1.24.3"), &v("1.29.0"), 2),
            ["1.24", "1.26", "1.28", "1.29.0"]
        );
        assert_eq!(steps(&v("1.26.1"), &v("1.28"), 1), ["1.26", "1.27", "1.28"]);
    }
}
