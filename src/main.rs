use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = istio_preflight::cli::Cli::parse();
    let outcome = istio_preflight::run(cli);
    if let istio_preflight::Outcome::Failed(reason) = &outcome {
        eprintln!("istio-preflight: {reason}");
    }
    ExitCode::from(outcome.exit_code())
}
