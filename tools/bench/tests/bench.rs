//! The benchmark binary runs end to end (on tiny generated estates, so the suite stays fast)
//! and prints every column the README's performance section explains.

use std::process::Command;

#[test]
fn bench_reports_time_memory_and_growth_for_each_generated_size() {
    let keep =
        std::env::temp_dir().join(format!("istio-preflight-bench-test-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_istio-preflight-bench"))
        .args(["--only", "generated", "--sizes", "60,120", "--runs", "1"])
        .arg("--keep-estates")
        .arg(&keep)
        .output()
        .expect("bench runs");
    let _ = std::fs::remove_dir_all(&keep);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for size in [60, 120] {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("generated {size} ")))
            .unwrap_or_else(|| panic!("no row for {size}:\n{text}"));
        // size (from the label), objects, files, MiB | parse, check, ratio | +human | cores |
        // parse RSS, check RSS, ×input | heap MiB, ×input
        let numbers: Vec<f64> = row
            .split(|c: char| c.is_whitespace() || c == '|')
            .filter_map(|f| f.parse().ok())
            .collect();
        assert_eq!(numbers.len(), 14, "{row}");
        assert_eq!(numbers[1], size as f64, "objects counted: {row}");
        let [parse_ms, check_ms, ratio] = [numbers[4], numbers[5], numbers[6]];
        assert!(ratio > 0.0 && ratio.is_finite(), "{row}");
        // Times print as whole milliseconds, the ratio from the unrounded ones.
        let (low, high) = (
            (check_ms - 0.5) / (parse_ms + 0.5),
            (check_ms + 0.5) / (parse_ms - 0.5).max(0.01),
        );
        assert!(
            ratio >= low - 0.005 && ratio <= high + 0.005,
            "ratio check/parse: {row}"
        );
        let [check_rss, heap_mib, heap_x] = [numbers[10], numbers[12], numbers[13]];
        assert!(check_rss > 0.0, "{row}");
        // The heap tally ran: the release data alone is about half a MiB.
        assert!(heap_x > 0.0, "{row}");
        assert!(
            heap_mib < check_rss,
            "the heap is part of the resident set: {row}"
        );
    }
    assert!(
        text.contains("60 -> 120") && text.contains("check's peak grew"),
        "{text}"
    );
}
