//! Wiring: builds the store, the bot and the runtime from the config, and runs `serve`, `chat`
//! and `check`. `serve` takes its shutdown signal as a parameter so tests can stop it.

use crate::channels::sms::SmsChannel;
use crate::channels::telegram::{Telegram, TelegramChannel};
use crate::config::Config;
use crate::dialogs::Bot;
use crate::message::ChannelKind;
use crate::outbox::{Channels, Outbox};
use crate::runtime::{Clock, Runtime, RuntimeParts, Settings, SystemClock};
use crate::store::sled::SledStore;
use crate::store::{Store, StoreMaintenance};
use std::future::Future;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Loads dialogs and data and opens the sled store: everything a runtime needs.
pub fn build(config: &Config, clock: Arc<dyn Clock>) -> crate::Result<Runtime> {
    build_on(config, clock, open_store(config)?)
}

/// Opens (or creates) the configured sled store.
pub fn open_store(config: &Config) -> crate::Result<Arc<SledStore>> {
    std::fs::create_dir_all(&config.store.path)?;
    Ok(Arc::new(SledStore::open_with(
        &config.store.path,
        config.store.cache_mb,
        config.store.compression,
    )?))
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
        settings: Settings::from_config(config),
    })?)
}

/// Warns about config keys pstbot does not know, and channels configured without what they need.
pub fn report_config(config: &Config) {
    for k in &config.unknown_keys {
        tracing::warn!(key = %k, file = %config.file.display(), "unknown configuration key (ignored)");
    }
    if let Some(tg) = &config.telegram
        && tg.token.is_none()
    {
        tracing::warn!(
            "telegram is configured without a token (`telegram.token` or PSTBOT_TELEGRAM_TOKEN): not started"
        );
    }
    if let Some(email) = config.email.as_ref().filter(|e| e.imap_host.is_some()) {
        report_mail_proof(config, email);
    }
    if let Some(wa) = &config.whatsapp
        && !wa.is_complete()
    {
        tracing::warn!(
            "whatsapp is configured without all of `phone_number_id`, `access_token`, `app_secret` and `verify_token`: not started"
        );
    }
}

/// Says at start-up how mail from officers and applicants is proven (a `From:` header is not
/// proof): which officers cannot command by mail, and what counts for replies to cases.
fn report_mail_proof(config: &Config, email: &crate::config::EmailConfig) {
    let by_server = !email.trusted_authserv_ids.is_empty();
    let unproven: Vec<&str> = config
        .officers
        .iter()
        .filter(|o| o.email.is_some() && o.email_secret.is_none())
        .map(|o| o.id.as_str())
        .collect();
    if !by_server && !unproven.is_empty() {
        tracing::warn!(
            officers = %unproven.join(", "),
            "email: these officers' mail is not taken as commands: set `email.trusted_authserv_ids` (the receiving server's Authentication-Results) or each officer's `email_secret`"
        );
    }
    if by_server {
        tracing::info!(servers = %email.trusted_authserv_ids.join(", "), "email: senders proven by these servers' Authentication-Results, or by answering our mail");
    } else {
        tracing::info!(
            "email: a mail counts for a case only when it answers our mail about it (reply token); unproven mail starts a conversation that sees no case"
        );
    }
}

/// The Telegram connection, when `[telegram]` has a token.
pub fn telegram(config: &Config) -> crate::Result<Option<Arc<Telegram>>> {
    let Some(tg) = &config.telegram else {
        return Ok(None);
    };
    let Some(token) = &tg.token else {
        return Ok(None);
    };
    let api_url = tg
        .api_url
        .as_deref()
        .unwrap_or(crate::channels::telegram::DEFAULT_API_URL);
    Ok(Some(Arc::new(Telegram::new(
        token.expose(),
        Some(api_url),
        tg.admin_chat_id,
    )?)))
}

/// The checked `[email]` settings, when the section is there.
pub fn email_settings(
    config: &Config,
) -> crate::Result<Option<crate::channels::email::EmailSettings>> {
    let Some(e) = &config.email else {
        return Ok(None);
    };
    Ok(Some(crate::channels::email::EmailSettings::from_config(
        &config.file,
        &config.office.name,
        e,
        config.delivery.send_timeout,
    )?))
}

/// The sending sides of the channels configured. `telegram` (from [`telegram`]) also hosts
/// the officers' chat when its admin group is set. WhatsApp's 24-hour window is judged on the
/// system clock: see [`channels_at`].
pub fn channels(config: &Config, telegram: Option<&Arc<Telegram>>) -> crate::Result<Channels> {
    channels_at(config, telegram, Arc::new(SystemClock))
}

/// [`channels`], with WhatsApp judging its 24-hour window on `clock` (the runtime's).
/// WhatsApp hosts the officers' chat (on `whatsapp.officer_numbers`) when no Telegram group does.
pub fn channels_at(
    config: &Config,
    telegram: Option<&Arc<Telegram>>,
    clock: Arc<dyn Clock>,
) -> crate::Result<Channels> {
    let mut ch = Channels::new();
    if let Some(wa) = crate::channels::whatsapp::Whatsapp::from_config(config, clock) {
        let sender: Arc<dyn crate::outbox::Channel> =
            Arc::new(crate::channels::whatsapp::WhatsappChannel(wa.clone()));
        ch.add(ChannelKind::Whatsapp, sender.clone());
        if !wa.officer_numbers.is_empty() {
            ch.add(ChannelKind::Officers, sender);
        }
    }
    if let Some(tg) = telegram {
        let sender: Arc<dyn crate::outbox::Channel> = Arc::new(TelegramChannel(tg.clone()));
        ch.add(ChannelKind::Telegram, sender.clone());
        if tg.admin_chat.is_some() {
            ch.add(ChannelKind::Officers, sender);
        }
    }
    if let Some(email) = email_settings(config)? {
        let bot = Arc::new(Bot::load(config)?);
        ch.add(
            ChannelKind::Email,
            Arc::new(crate::channels::email::send::EmailChannel::new(email, bot)?),
        );
    }
    if let Some(sms) = &config.sms {
        let url = sms.gateway_url.clone().ok_or_else(|| {
            crate::config::ConfigError::new(&config.file, "`sms.gateway_url` is required")
        })?;
        let key = sms
            .api_key
            .as_ref()
            .map(|k| k.expose().to_string())
            .unwrap_or_default();
        ch.add(
            ChannelKind::Sms,
            Arc::new(SmsChannel::new(
                url,
                key,
                sms.sender.clone(),
                config.delivery.send_timeout,
            )),
        );
    }
    Ok(ch)
}

/// Runs the service until `shutdown` completes: the HTTP server (webhooks, health), the outbox
/// worker and the scheduler. On shutdown it stops taking messages, lets in-flight
/// transactions and sends finish, and flushes the store.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    report_config(&config);
    let sled = open_store(&config)?;
    let rt = Arc::new(build_on(&config, Arc::new(SystemClock), sled.clone())?);
    serve_runtime(config, rt, sled, shutdown).await
}

/// [`serve`] with a runtime built by the caller on `sled` (tests keep the runtime to act as an
/// officer, or to look into the store while the service runs).
pub async fn serve_runtime(
    config: Config,
    rt: Arc<Runtime>,
    sled: Arc<SledStore>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    let tg = telegram(&config)?;
    let mut chans = channels_at(&config, tg.as_ref(), rt.clock.clone())?;
    // The web chat delivers into each session's log and to its open pages.
    let web_hub = Arc::new(crate::channels::web::Hub::default());
    if config.webchat.enabled {
        chans.add(
            ChannelKind::Web,
            Arc::new(crate::channels::web::WebChannel {
                hub: web_hub.clone(),
            }),
        );
    }
    if chans.get(ChannelKind::Officers).is_none() {
        tracing::warn!(
            "no officers' admin chat runs in this process (set `telegram.admin_chat_id` or `whatsapp.officer_numbers`): officers' posts and reminders wait in the outbox; `pstbot chat --as <officer>` shows them"
        );
    }
    let stop = CancellationToken::new();
    let outbox = Arc::new(Outbox::new(
        rt.outbox_feed(),
        chans,
        config.delivery.clone(),
    ));
    let delivery = tokio::spawn(outbox.run(stop.clone()));
    let timers = tokio::spawn(crate::scheduler::run(rt.clone(), stop.clone()));
    let doctor = tokio::spawn(store_doctor(sled.clone(), stop.clone()));
    let control = tokio::spawn(crate::backup::serve_socket(
        crate::backup::Control {
            sled,
            rt: rt.clone(),
        },
        crate::backup::socket_path(&config),
        stop.clone(),
    ));
    // Telegram's inbound side: long polling, or the webhook registered at start.
    let mut telegram_task = None;
    let mut telegram_hook = None;
    if let (Some(tg), Some(tc)) = (&tg, &config.telegram) {
        if tc.webhook_mode() {
            let secret = tc
                .webhook_secret
                .as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default();
            let url = tc.webhook_url.clone().unwrap_or_default();
            telegram_task = Some(tokio::spawn(crate::channels::telegram::webhook::register(
                tg.clone(),
                url,
                secret.clone(),
                stop.clone(),
            )));
            telegram_hook = Some(crate::channels::telegram::webhook::TelegramWebhook {
                tg: tg.clone(),
                rt: rt.clone(),
                secret,
            });
        } else {
            telegram_task = Some(tokio::spawn(crate::channels::telegram::polling::run(
                tg.clone(),
                rt.clone(),
                stop.clone(),
            )));
        }
    }
    // E-mail's inbound side: the IMAP mailbox, when `email.imap_host` is set.
    let email_task = email_settings(&config)?
        .filter(|e| e.imap.is_some())
        .map(|e| {
            tokio::spawn(crate::channels::email::imap::run(
                e,
                rt.clone(),
                stop.clone(),
            ))
        });
    let listener = tokio::net::TcpListener::bind(config.http.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, office = %config.office.name, "pstbot serving");
    let mut app = crate::http::routes(rt.clone(), &config, telegram_hook);
    if config.webchat.enabled {
        let chat = crate::channels::web::WebChat::new(
            rt.clone(),
            config.webchat.clone(),
            web_hub,
            stop.clone(),
        );
        app = app.merge(crate::channels::web::routes(Arc::new(chat)));
        tracing::info!("web chat on / and /chat, widget on /widget.js");
    }
    // The server's shutdown also stops polling: no update is taken after the signal.
    let on_shutdown = stop.clone();
    let served = crate::listener::serve(listener, app, http_limits(&config), async move {
        shutdown.await;
        on_shutdown.cancel();
    })
    .await;
    // The HTTP server has stopped taking messages and finished the requests in flight.
    stop.cancel();
    if let Some(t) = telegram_task {
        let _ = t.await;
    }
    if let Some(t) = email_task {
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
    let behind_proxy = config.webchat.trust_proxy_headers;
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
async fn store_doctor(sled: Arc<SledStore>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.cancelled() => return,
        }
        if sled.trouble().is_some() {
            let s = sled.clone();
            let _ = tokio::task::spawn_blocking(move || s.heal()).await;
        }
    }
}

/// `pstbot chat`: a terminal conversation on stdin/stdout.
pub async fn chat(config: Config, user: &str) -> crate::Result<()> {
    use std::io::IsTerminal;
    report_config(&config);
    let rt = build(&config, Arc::new(SystemClock))?;
    let interactive = std::io::stdin().is_terminal();
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut stdout = std::io::stdout();
    crate::channels::terminal::run(&rt, stdin, &mut stdout, user, interactive).await?;
    rt.store.flush()?;
    Ok(())
}

/// `pstbot check`: validates the config, the dialogs and the data files; changes nothing.
pub fn check(config: &Config) -> crate::Result<String> {
    report_config(config);
    email_settings(config)?;
    let bot = Bot::load(config)?;
    let steps: usize = bot.dialogs.values().map(|d| d.steps.len()).sum();
    let workflows: Vec<String> = bot.workflows.values().map(|w| w.id.clone()).collect();
    Ok(format!(
        "OK: {} dialogs ({} steps), workflows {} (profile {}), {} products, {} FAQ entries, {} holidays, languages {}",
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
