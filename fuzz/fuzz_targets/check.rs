//! The whole of `check` on arbitrary bytes: decoding, the YAML loader, kind: List handling,
//! the inventory and mesh model, every rule, sorting, and all four output formats. Nothing
//! may panic, hang or run out of memory.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use clap::Parser;
use libfuzzer_sys::fuzz_target;

use istio_preflight::cli::{Cli, Command};
use istio_preflight::emit::{self, Format};

/// One input file per fuzzing process, rewritten for every input.
fn input_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("istio-preflight-fuzz-{}.yaml", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = input_path();
    if std::fs::write(path, data).is_err() {
        return;
    }
    let argv = [
        "istio-preflight",
        "check",
        path.to_str().unwrap_or("input.yaml"),
        "--target",
        "1.29.1",
    ];
    let Ok(Cli {
        command: Command::Check(args),
    }) = Cli::try_parse_from(argv)
    else {
        return;
    };
    if let Ok(report) = istio_preflight::check(&args) {
        for format in Format::ALL {
            let _ = emit::render(&report, format, false);
        }
    }
});
