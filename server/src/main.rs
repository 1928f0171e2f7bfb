//! The `xray-keys` binary: the web server and the administrators' command line.

use server::{cli, serve};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let config = match app::config::Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("xray-keys: {err}");
            return ExitCode::from(2);
        }
    };
    let serving = matches!(cli.command, None | Some(cli::Command::Serve));
    serve::init_tracing(&config, serving);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("xray-keys: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(server::error::CliError::Exit(code)) => ExitCode::from(code),
        Err(err) => {
            eprintln!("xray-keys: {err}");
            ExitCode::FAILURE
        }
    }
}
