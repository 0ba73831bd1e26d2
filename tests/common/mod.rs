//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use clap::Parser;
use istio_preflight::cli::{Cli, Command};
use istio_preflight::settings::Settings;

/// The run date every test uses, so that end-of-life findings and snapshots do not change
/// with the day the tests run.
pub const TEST_TODAY: &str = "2026-09-21";

/// Parses `check` arguments and resolves them to settings exactly as the binary would, with
/// the run date fixed.
pub fn check_args(args: &[&str]) -> Settings {
    static FIX_DATE: std::sync::Once = std::sync::Once::new();
    FIX_DATE.call_once(|| std::env::set_var("ISTIO_PREFLIGHT_TODAY", TEST_TODAY));
    let mut argv = vec!["istio-preflight", "check"];
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv).expect("valid arguments").command {
        Command::Check(a) => a.settings().expect("valid settings"),
        _ => unreachable!(),
    }
}

/// Whether snapshots should be rewritten instead of compared (`UPDATE_SNAPSHOTS=1`).
pub fn updating() -> bool {
    std::env::var_os("UPDATE_SNAPSHOTS").is_some()
}

/// Compares `actual` with the snapshot file, or writes it when updating.
pub fn assert_snapshot(path: &Path, actual: &str) {
    if updating() {
        std::fs::write(path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run `UPDATE_SNAPSHOTS=1 cargo test` and review it",
            path.display()
        )
    });
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(5)
            .map(|(i, (e, a))| format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1))
            .collect();
        panic!(
            "{} differs from the output ({} vs {} lines); first differences:\n{}\nIf the change is intended, run `UPDATE_SNAPSHOTS=1 cargo test` and review the diff.",
            path.display(),
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

/// The fixture folders (`fixtures/IPF405-grace-period-shorter-than-drain`), sorted.
pub fn rule_fixture_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("fixtures")
        .expect("fixtures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("IPF"))
        })
        .collect();
    dirs.sort();
    dirs
}

/// The manifest files of a fixture folder: `input.yaml`, or every manifest file when the
/// case needs several.
pub fn fixture_inputs(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            )
        })
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("fixed")
        })
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    files.sort();
    files
}

/// Extra arguments from the fixture's `args` file.
pub fn fixture_args(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args"))
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// git in `dir`, isolated from the user's and the system's configuration and from any
/// repository above `dir`'s parent. `None` when git cannot be started (tests then skip);
/// panics when git fails.
pub fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap_or(dir))
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
