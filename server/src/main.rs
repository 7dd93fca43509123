use clap::Parser;
use paydeck::{
    assembly, audit,
    config::{Command, Config},
    logging, memory, runtime, store,
};

fn main() -> std::process::ExitCode {
    memory::limit_allocator_arenas();
    let runtime = match runtime::build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("paydeck: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

async fn run() -> std::process::ExitCode {
    let config = Config::parse();
    logging::init(&config.log, config.log_format);
    if let Some(Command::VerifyAudit { head, keyed_from }) = &config.command {
        return audit::verify::exit_code(
            config.store_location(),
            config.audit_key_file.as_deref(),
            head.clone(),
            *keyed_from,
        )
        .await;
    }
    if let Some(Command::MigrateStore { from, to }) = &config.command {
        let cluster = config.cluster_name.as_deref().unwrap_or(paydeck::history::DEFAULT_CLUSTER);
        return store::migrate::exit_code(
            from.as_ref(),
            to.as_ref().or(config.database_url.as_ref()),
            cluster,
        )
        .await;
    }
    match assembly::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("paydeck: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
