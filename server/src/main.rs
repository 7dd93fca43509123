use clap::Parser;
use paydeck::{config::Config, http, logging};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    logging::init(&config.log);
    match http::serve(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("paydeck: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
