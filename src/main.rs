use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: istio_preflight::alloc::Allocator = istio_preflight::alloc::Allocator;

fn main() -> ExitCode {
    let cli = istio_preflight::cli::Cli::parse();
    let outcome = istio_preflight::run(cli);
    if let istio_preflight::Outcome::Failed(reason) = &outcome {
        eprintln!("istio-preflight: {reason}");
    }
    ExitCode::from(outcome.exit_code())
}
