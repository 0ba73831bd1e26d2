//! How `rules/generated/` names and fingerprints the JSON form of each release data file.
//! Shared by `build.rs` (which embeds the JSON only while its fingerprint matches the YAML)
//! and the test in `src/release.rs` that writes it.

/// `schemas/index.yaml` → `schemas-index.json`.
pub fn json_name(name: &str) -> String {
    format!("{}.json", name.trim_end_matches(".yaml").replace('/', "-"))
}

/// The line `rules/generated/hashes.txt` holds for a YAML file's content: its name and
/// FNV-1a 64-bit hash.
pub fn hash_line(name: &str, yaml: &[u8]) -> String {
    let hash = yaml.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{name} {hash:016x}")
}
