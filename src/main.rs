use std::process::ExitCode;

use clap::Parser;

/// The allocator is the binary's choice, not the library's (see `alloc.rs`).
mod alloc;

#[global_allocator]
static ALLOCATOR: alloc::Allocator = alloc::Allocator;

fn main() -> ExitCode {
    let cli = istio_preflight::cli::Cli::parse();
    let outcome = istio_preflight::run(cli);
    if let istio_preflight::Outcome::Failed(reason) = &outcome {
        eprintln!("istio-preflight: {reason}");
    }
    ExitCode::from(outcome.exit_code())
}
