use clap::Parser;

/// With `--features mimalloc`: freed memory stays warm, so a 25 MB result
/// lifted out of the component reuses pages instead of faulting in fresh
/// ones; off by default, since it triples the idle RSS of `serve`.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = lpbridge::cli::Cli::parse();
    let default = cli.command.default_log_level();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only for a person at a terminal: not in a file or a pipe, and
    // never with NO_COLOR set (no-color.org).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let json = cli.log_json;
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
    match lpbridge::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Under --log-json every line on stderr is JSON, the last one too.
            if json {
                tracing::error!(error = format!("{e:#}"), "lpbridge stopped");
            } else {
                eprintln!("error: {e:#}");
            }
            if let Some(failed) = e.downcast_ref::<lpbridge::check::Failed>() {
                return std::process::ExitCode::from(failed.exit);
            }
            // 2 for bad media or no input (the caller's fault), 1 for
            // anything else.
            let bad_media = e.downcast_ref::<lpbridge_contract::MediaError>().is_some()
                || e.downcast_ref::<lpbridge::check::NoSegments>().is_some()
                || e.downcast_ref::<lpbridge::check::BothToStdout>().is_some()
                || e.downcast_ref::<lpbridge_contract::MultipartError>().is_some();
            if bad_media {
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}
