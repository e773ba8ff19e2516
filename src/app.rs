//! Wiring: builds the store, the bot and the runtime from the config, starts the channels of
//! the registry ([`crate::channels::REGISTRY`]), and runs `serve`, `chat` and `check`. `serve`
//! takes its shutdown signal as a parameter so tests can stop it.

use crate::config::Config;
use crate::dialogs::Bot;
use crate::outbox::Outbox;
use crate::runtime::{Clock, Runtime, RuntimeParts, Settings, SystemClock};
use crate::store::Store;
use crate::store::open::OpenStore;
use std::future::Future;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Loads dialogs and data and opens the configured store: everything a runtime needs.
pub fn build(config: &Config, clock: Arc<dyn Clock>) -> crate::Result<Runtime> {
    build_on(config, clock, open_store(config)?.store())
}

/// Opens (or creates) the configured store: the sled folder, or the PostgreSQL database (with
/// the migrations it lacks).
pub fn open_store(config: &Config) -> crate::Result<OpenStore> {
    let store = OpenStore::open(&config.store)?;
    if let OpenStore::Postgres(pg) = &store {
        tracing::info!(database = %pg.shown(), process = %pg.holder(), "store: PostgreSQL");
    }
    Ok(store)
}

/// [`build`] on a store already open.
pub fn build_on(
    config: &Config,
    clock: Arc<dyn Clock>,
    store: Arc<dyn Store>,
) -> crate::Result<Runtime> {
    Ok(Runtime::new(RuntimeParts {
        bot: Arc::new(Bot::load(config)?),
        store,
        clock,
        officers: config.officers.clone(),
        officer_ids: crate::channels::officers(config),
        settings: Settings::from_config(config),
    })?)
}

/// Reads a config file and every channel's section in it: a problem stops the command (what
/// `pstbot` does before any subcommand). The keys of the channels' sections that no channel knows join [`Config::unknown_keys`].
pub fn load_config(path: &std::path::Path) -> crate::Result<Config> {
    let mut config = Config::load(path)?;
    let unknown = crate::channels::load(&config)?;
    config.unknown_keys.extend(unknown);
    Ok(config)
}

/// Warns about config keys pstbot does not know (the core's and the channels'), and channels
/// configured without what they need.
pub fn report_config(config: &Config) -> crate::Result<()> {
    let mut unknown = config.unknown_keys.clone();
    for k in crate::channels::load(config)? {
        if !unknown.contains(&k) {
            unknown.push(k);
        }
    }
    for k in &unknown {
        tracing::warn!(key = %k, file = %config.file.display(), "unknown configuration key (ignored)");
    }
    crate::channels::report(config);
    Ok(())
}

/// The channels of `config`, started for `rt`: their senders, routes and tasks (`serve` runs
/// them; tests keep a runtime and an outbox of their own).
pub fn channels(
    config: &Config,
    rt: &Arc<Runtime>,
    stop: CancellationToken,
) -> crate::Result<crate::channels::Running> {
    crate::channels::start(config, &crate::channels::Context::new(rt.clone(), stop))
}

/// Runs the service until `shutdown` completes: the HTTP server (webhooks, health), the outbox
/// worker and the scheduler. On shutdown it stops taking messages, lets in-flight
/// transactions and sends finish, and flushes the store.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    report_config(&config)?;
    let store = open_store(&config)?;
    let rt = Arc::new(build_on(&config, Arc::new(SystemClock), store.store())?);
    serve_runtime(config, rt, store, shutdown).await
}

/// [`serve`] with a runtime built by the caller on `store` (tests keep the runtime to act as
/// an officer, or to look into the store while the service runs).
pub async fn serve_runtime(
    config: Config,
    rt: Arc<Runtime>,
    store: OpenStore,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    let stop = CancellationToken::new();
    let running = channels(&config, &rt, stop.clone())?;
    running.report_officers_chat();
    let outbox = Arc::new(Outbox::new(
        rt.outbox_feed(),
        running.senders,
        config.delivery.clone(),
    ));
    let delivery = tokio::spawn(outbox.run(stop.clone()));
    let timers = tokio::spawn(crate::scheduler::run(rt.clone(), stop.clone()));
    let doctor = tokio::spawn(store_doctor(store.clone(), stop.clone()));
    let control = tokio::spawn(crate::backup::serve_socket(
        crate::backup::Control {
            store,
            rt: rt.clone(),
        },
        crate::backup::socket_path(&config),
        stop.clone(),
    ));
    // The channels' inbound sides: polling, webhooks registered at start, mailboxes.
    let channel_tasks: Vec<_> = running.tasks.into_iter().map(tokio::spawn).collect();
    let listener = tokio::net::TcpListener::bind(config.http.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, office = %config.office.name, "pstbot serving");
    let app = crate::http::routes(rt.clone(), running.routes);
    // The server's shutdown also stops polling: no update is taken after the signal.
    let on_shutdown = stop.clone();
    let served = crate::listener::serve(listener, app, http_limits(&config), async move {
        shutdown.await;
        on_shutdown.cancel();
    })
    .await;
    // The HTTP server has stopped taking messages and finished the requests in flight.
    stop.cancel();
    for t in channel_tasks {
        let _ = t.await;
    }
    let _ = timers.await;
    let _ = delivery.await;
    let _ = doctor.await;
    if let Ok(Err(e)) = control.await {
        tracing::warn!(error = %e, "backup socket was not available");
    }
    rt.store.flush()?;
    served?;
    tracing::info!("pstbot stopped");
    Ok(())
}

/// The listener's limits from `[http]`; the per-address cap is off behind a reverse proxy
/// unless set (every visitor then comes from the proxy's address).
fn http_limits(config: &Config) -> crate::listener::Limits {
    let h = &config.http;
    let behind_proxy = crate::channels::web::WebchatConfig::read(config)
        .map(|r| r.value.trust_proxy_headers)
        .unwrap_or(false);
    crate::listener::Limits {
        max_connections: h.max_connections,
        max_connections_per_ip: h.max_connections_per_ip.unwrap_or(if behind_proxy {
            0
        } else {
            crate::listener::Limits::default().max_connections_per_ip
        }),
        header_read_timeout: h.header_read_timeout,
        body_read_timeout: h.body_read_timeout,
    }
}

/// Reopens the store after a disk error (full or read-only) once the disk takes writes again:
/// every second while the store reports trouble. The service keeps running meanwhile and
/// refuses new work (webhooks answer 503, so providers retry).
async fn store_doctor(store: OpenStore, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.cancelled() => return,
        }
        if store.store().trouble().is_some() {
            let s = store.clone();
            let _ = tokio::task::spawn_blocking(move || s.heal()).await;
        }
    }
}

/// `pstbot chat`: a terminal conversation on stdin/stdout.
pub async fn chat(config: Config, user: &str) -> crate::Result<()> {
    use std::io::IsTerminal;
    report_config(&config)?;
    let rt = build(&config, Arc::new(SystemClock))?;
    let interactive = std::io::stdin().is_terminal();
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut stdout = std::io::stdout();
    crate::channels::terminal::run(&rt, stdin, &mut stdout, user, interactive).await?;
    rt.store.flush()?;
    Ok(())
}

/// The store as `pstbot check` reports it: a PostgreSQL database is reached and its schema
/// version read (nothing is changed; `pstbot migrate` or the first start applies migrations).
fn check_store(config: &Config) -> crate::Result<String> {
    use crate::config::StoreBackend;
    use crate::store::postgres::PgStore;
    match (config.store.backend, &config.store.url) {
        (StoreBackend::Postgres, Some(url)) => {
            let pg = PgStore::connect(url.expose(), 2)?;
            let (found, expected) = (pg.schema_version()?, PgStore::expected_schema_version());
            if found > expected {
                return Err(crate::store::StoreError::Schema {
                    found: found as u32,
                    expected: expected as u32,
                }
                .into());
            }
            let state = if found == expected {
                "up to date".to_string()
            } else {
                format!(
                    "{} migration(s) to apply at start or by `pstbot migrate`",
                    expected - found
                )
            };
            Ok(format!(
                "store postgres {} reached, schema {found} of {expected} ({state})",
                pg.shown()
            ))
        }
        _ => Ok(format!("store sled {}", config.store.path.display())),
    }
}

/// `pstbot check`: validates the config, the dialogs and the data files, and reaches the
/// store's database; changes nothing.
pub fn check(config: &Config) -> crate::Result<String> {
    report_config(config)?;
    crate::channels::check(config)?;
    let bot = Bot::load(config)?;
    let steps: usize = bot.dialogs.values().map(|d| d.steps.len()).sum();
    let workflows: Vec<String> = bot.workflows.values().map(|w| w.id.clone()).collect();
    let store = check_store(config)?;
    Ok(format!(
        "OK: {} dialogs ({} steps), workflows {} (profile {}), {} products, {} FAQ entries, {} holidays, languages {}; {store}",
        bot.dialogs.len(),
        steps,
        workflows.join(", "),
        config.office.profile.key(),
        bot.catalog.products.len(),
        bot.faq.entries.len(),
        bot.calendar.holidays.len(),
        bot.languages.join(", ")
    ))
}
