//! The command line. `args.rs` holds the clap structs; one file per
//! command. Only this module knows clap.

mod args;
mod audit;
mod check;
mod cost;
mod dlq;
mod drift;
mod eval;
mod feedback;
mod kb;
mod replay;
mod review;
mod run;
mod serve;
mod simulate;

use std::process::ExitCode;

use clap::Parser;

use args::{
    AuditCommand, Cli, Command, CostCommand, DlqCommand, DriftCommand, EvalArgs, EvalCommand,
    FeedbackCommand, KbCommand, KbMode, ReviewCommand,
};

/// Parse arguments, set up logging, run the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { config, listen } => serve::serve(&config.config, listen).await,
            Command::Check { config } => check::check(&config.config),
            Command::Run {
                pipeline,
                config,
                input,
                output,
                concurrency,
                drain_secs,
                fresh,
            } => {
                run::run(
                    &config.config,
                    &pipeline,
                    &input,
                    output.as_deref(),
                    concurrency,
                    drain_secs,
                    fresh,
                )
                .await
            }
            Command::Replay {
                config,
                run_id,
                pipeline,
                since,
                until,
                limit,
                model,
                act,
                drain_secs,
            } => {
                let a = replay::ReplayArgs {
                    run_id,
                    pipeline,
                    since,
                    until,
                    limit,
                    model,
                    act,
                    drain_secs,
                };
                replay::replay(&config.config, a).await
            }
            Command::Audit {
                command: AuditCommand::Verify { config },
            } => audit::verify(&config.config).await,
            Command::Audit {
                command:
                    AuditCommand::Show {
                        run_id,
                        config,
                        json,
                    },
            } => audit::show(&config.config, &run_id, json).await,
            Command::Cost {
                command:
                    CostCommand::Report {
                        config,
                        since,
                        by,
                        json,
                    },
            } => cost::report(&config.config, since.as_deref(), by, json).await,
            Command::Cost {
                command:
                    CostCommand::Project {
                        config,
                        per_month,
                        pipeline,
                        models,
                        since,
                        json,
                    },
            } => {
                cost::project(
                    &config.config,
                    per_month,
                    pipeline.as_deref(),
                    &models,
                    since.as_deref(),
                    json,
                )
                .await
            }
            Command::Cost {
                command: CostCommand::Check { config, day, json },
            } => cost::check(&config.config, day.as_deref(), json).await,
            Command::Dlq { command } => dlq::run(command).await,
            Command::Drift { command } => drift::run(command).await,
            Command::Eval { command, args } => eval::run(command, args).await,
            Command::Feedback { command } => feedback::run(command).await,
            Command::Review { command } => review::run(command).await,
            Command::Kb { command } => kb::run(command).await,
            Command::Simulate {
                listen,
                faults,
                limit,
                seed,
            } => simulate::simulate(listen, &faults, &limit, seed).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEAM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,seam=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("SEAM_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Load config, printing every problem.
fn load_config(path: &std::path::Path) -> Result<crate::config::Config, String> {
    crate::config::load(path).map_err(|errors| format!("invalid config:\n{errors}"))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
