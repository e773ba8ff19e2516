//! The `pstbot` command: parses the command line, loads the config, starts logging, and hands
//! over to the library.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "pstbot",
    version,
    about = "Chat-bot for the PST desk of a BPS statistics office"
)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "PSTBOT_CONFIG",
        default_value = "config.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: the runtime and the HTTP server (/healthz).
    Serve,
    /// Chat in the terminal (one line per message; pipe a script through it).
    Chat {
        /// The terminal user to talk as (an officer's terminal name plays that officer).
        #[arg(long = "as", default_value = "tamu")]
        user: String,
    },
    /// Validate the config, dialogs and data files, then exit.
    Check,
    /// Write a consistent snapshot of the store to FILE (also while `serve` runs).
    Backup {
        file: PathBuf,
        /// From a damaged store: write every record that can still be read, and say what was
        /// lost (restore the file into an empty folder).
        #[arg(long)]
        salvage: bool,
    },
    /// Check the store for damage: walk every tree and decode every record; exits non-zero
    /// when something cannot be read.
    Verify,
    /// Restore a backup FILE into the configured store, which must be empty.
    Restore { file: PathBuf },
    /// Apply the PostgreSQL schema's migrations; or, with --from and --to, copy every record
    /// from one store into another, empty one and check them record by record.
    Migrate {
        /// The store to copy from: sled:PATH or postgres:URL.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// The store to copy into (empty): sled:PATH or postgres:URL.
        #[arg(long, requires = "from")]
        to: Option<String>,
    },
    /// Write the monthly report: a CSV per table, an XLSX workbook and a chart (PNG).
    Report {
        /// The month, as YYYY-MM (e.g. 2026-11).
        #[arg(long)]
        month: String,
        /// The folder to write to (default: `reports.out_dir` of the config, then YYYY-MM).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Export data for the office's registers.
    Export {
        #[command(subcommand)]
        what: Export,
    },
}

#[derive(Subcommand)]
enum Export {
    /// The guest book's visits as CSV, in the columns of a visit register (with personal data).
    Guestbook {
        /// The first day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// The last day (included), YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// The CSV file to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Serve => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pstbot: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what service managers and containers send).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stop signal received; finishing work in flight");
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = pstbot::app::load_config(&cli.config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Check => {
            println!("{}", pstbot::app::check(&config)?);
            Ok(())
        }
        Command::Chat { user } => Ok(runtime.block_on(pstbot::app::chat(config, &user))?),
        Command::Serve => Ok(runtime.block_on(pstbot::app::serve(config, stop_signal()))?),
        Command::Verify => {
            let (sound, lines) = pstbot::backup::verify(&config)?;
            for l in &lines {
                println!("{l}");
            }
            if sound {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "the store at {} is damaged: save what can be read with `pstbot backup --salvage FILE`, then restore the last good backup (or the salvage) into an empty folder",
                    config.store.path.display()
                ))
            }
        }
        Command::Backup {
            file,
            salvage: true,
        } => {
            let (s, lines) = pstbot::backup::salvage(&config, &file)?;
            for l in &lines {
                println!("{l}");
            }
            println!(
                "salvage written to {}: {} trees, {} records, {} bytes",
                file.display(),
                s.trees,
                s.entries,
                s.bytes
            );
            Ok(())
        }
        Command::Backup {
            file,
            salvage: false,
        } => {
            let s = pstbot::backup::backup(&config, &file)?;
            println!(
                "backup written to {}: {} trees, {} records, {} bytes",
                file.display(),
                s.trees,
                s.entries,
                s.bytes
            );
            Ok(())
        }
        Command::Restore { file } => {
            let s = pstbot::backup::restore(&config, &file)?;
            println!(
                "restored {} trees, {} records into {}",
                s.trees,
                s.entries,
                config.store.path.display()
            );
            Ok(())
        }
        Command::Migrate { from, to } => {
            println!(
                "{}",
                pstbot::backup::migrate(&config, from.as_deref(), to.as_deref())?
            );
            Ok(())
        }
        Command::Report { month, out } => {
            println!(
                "{}",
                pstbot::backup::control::run_monthly(&config, &month, out.as_deref())?
            );
            Ok(())
        }
        Command::Export {
            what: Export::Guestbook { from, to, out },
        } => {
            let n = pstbot::backup::control::run_guestbook_export(
                &config,
                &from,
                &to,
                out.as_deref(),
                &mut std::io::stdout().lock(),
            )?;
            if let Some(out) = out {
                eprintln!("{n} kunjungan / visits written to {}", out.display());
            }
            Ok(())
        }
    }
}
