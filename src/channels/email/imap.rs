//! The mailbox loop: new mail is fetched (polling, or IMAP IDLE), handed to the runtime, and
//! only then marked handled (flagged or moved).
//!
//! Crash safety: a mail is marked only after the runtime returned `Ok` (its effects and
//! replies are on disk). A crash between the two leaves it unmarked; the next run fetches it
//! again and the runtime recognises its `Message-ID` (deduplication), so it changes nothing
//! and is marked then. Nothing handled is lost and nothing is done twice.

use super::auth::TokenKey;
use super::parse::{self, MailCheck, MailKind};
use super::{EmailSettings, HANDLED_KEYWORD, Handled, ImapSettings, Security};
use crate::message::{
    ChannelKind, Identity, InboundBody, InboundMessage, MailThread, OutboundMessage, Trust, mask,
};
use crate::runtime::Runtime;
use async_imap::{Client, Session};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

/// Any byte stream the IMAP client can run on (plain TCP or TLS).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Io for T {}

type ImapSession = Session<Box<dyn Io>>;

/// Mail larger than this is not read (it is marked handled and logged).
pub const MAX_MAIL_BYTES: usize = 30 * 1024 * 1024;

/// Runs until `shutdown`: connects, handles new mail, waits, and reconnects after errors
/// (with a growing pause, at most five minutes).
pub async fn run(settings: EmailSettings, rt: Arc<Runtime>, shutdown: CancellationToken) {
    let Some(imap) = settings.imap.clone() else {
        return;
    };
    let mut pause = Duration::from_secs(1);
    while !shutdown.is_cancelled() {
        let tokens = match super::token_key(&rt.store) {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "email: the reply-token key cannot be read; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.cancelled() => return,
                }
                pause = (pause * 2).min(Duration::from_secs(300));
                continue;
            }
        };
        match session_loop(&settings, &imap, &rt, &tokens, &shutdown, &mut pause).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, host = %imap.host, "email: IMAP failed; reconnecting");
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.cancelled() => return,
                }
                pause = (pause * 2).min(Duration::from_secs(300));
            }
        }
    }
}

fn tls_connector() -> anyhow::Result<tokio_rustls::TlsConnector> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

async fn tls(
    host: &str,
    tcp: tokio::net::TcpStream,
) -> anyhow::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_string())?;
    Ok(tls_connector()?.connect(name, tcp).await?)
}

/// Connects and logs in.
pub async fn connect(imap: &ImapSettings) -> anyhow::Result<ImapSession> {
    let tcp = tokio::net::TcpStream::connect((imap.host.as_str(), imap.port)).await?;
    let stream: Box<dyn Io> = match imap.security {
        Security::None => Box::new(tcp),
        Security::Tls => Box::new(tls(&imap.host, tcp).await?),
        Security::StartTls => {
            let mut c = Client::new(tcp);
            c.read_response()
                .await?
                .ok_or_else(|| anyhow::anyhow!("the server closed the connection"))?;
            c.run_command_and_check_ok("STARTTLS", None).await?;
            Box::new(tls(&imap.host, c.into_inner()).await?)
        }
    };
    let mut client = Client::new(stream);
    if imap.security != Security::StartTls {
        client
            .read_response()
            .await?
            .ok_or_else(|| anyhow::anyhow!("the server closed the connection"))?;
    }
    let session = client
        .login(&imap.user, imap.password.expose())
        .await
        .map_err(|(e, _)| anyhow::anyhow!("login as {} failed: {e}", mask(&imap.user)))?;
    Ok(session)
}

async fn session_loop(
    settings: &EmailSettings,
    imap: &ImapSettings,
    rt: &Arc<Runtime>,
    tokens: &TokenKey,
    shutdown: &CancellationToken,
    pause: &mut Duration,
) -> anyhow::Result<()> {
    let mut session = connect(imap).await?;
    session.select(&imap.folder).await?;
    if let Handled::Move(folder) = &imap.handled {
        // Exists already on every run but the first: the error is expected then.
        let _ = session.create(folder).await;
    }
    let idle = imap.idle && session.capabilities().await?.has_str("IDLE");
    tracing::info!(folder = %imap.folder, idle, "email: reading the mailbox");
    *pause = Duration::from_secs(1);
    loop {
        handle_new(&mut session, settings, imap, rt, tokens, shutdown).await?;
        if shutdown.is_cancelled() {
            let _ = session.logout().await;
            return Ok(());
        }
        if idle {
            let mut handle = session.idle();
            handle.init().await?;
            let (wait, stop) =
                handle.wait_with_timeout(imap.poll.min(Duration::from_secs(25 * 60)));
            tokio::select! {
                r = wait => { r?; }
                _ = shutdown.cancelled() => { drop(stop); }
            }
            session = handle.done().await?;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(imap.poll) => {}
                _ = shutdown.cancelled() => {}
            }
        }
    }
}

/// Handles every mail in the folder not yet marked, oldest first.
async fn handle_new(
    session: &mut ImapSession,
    settings: &EmailSettings,
    imap: &ImapSettings,
    rt: &Arc<Runtime>,
    tokens: &TokenKey,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let query = match &imap.handled {
        Handled::Flag => format!("UNDELETED UNKEYWORD {HANDLED_KEYWORD}"),
        Handled::Move(_) => "UNDELETED".to_string(),
    };
    let mut uids: Vec<u32> = session.uid_search(&query).await?.into_iter().collect();
    uids.sort_unstable();
    for uid in uids {
        if shutdown.is_cancelled() {
            break;
        }
        let raw = {
            let mut fetched = session
                .uid_fetch(uid.to_string(), "(UID RFC822.SIZE BODY.PEEK[])")
                .await?;
            let mut raw = None;
            while let Some(f) = fetched.next().await {
                let f = f?;
                if f.uid == Some(uid) {
                    if f.size.is_some_and(|s| s as usize > MAX_MAIL_BYTES) {
                        raw = Some(Vec::new());
                    } else if let Some(b) = f.body() {
                        raw = Some(b.to_vec());
                    }
                }
            }
            raw
        };
        let Some(raw) = raw else {
            continue;
        };
        if raw.is_empty() {
            tracing::warn!(uid, "email: a mail over the size limit was not read");
        } else {
            handle_mail(settings, rt, tokens, &raw).await?;
        }
        mark(session, imap, uid).await?;
    }
    Ok(())
}

/// Marks one mail handled.
async fn mark(session: &mut ImapSession, imap: &ImapSettings, uid: u32) -> anyhow::Result<()> {
    match &imap.handled {
        Handled::Flag => {
            let updates: Vec<_> = session
                .uid_store(
                    uid.to_string(),
                    format!("+FLAGS (\\Seen {HANDLED_KEYWORD})"),
                )
                .await?
                .collect()
                .await;
            for u in updates {
                u?;
            }
        }
        Handled::Move(folder) => session.uid_mv(uid.to_string(), folder).await?,
    }
    Ok(())
}

/// Hands one raw mail to the runtime; returns once its effects are durable.
///
/// Who wrote it decides what it may do (see [`super::auth`]):
/// - from an officer's address: a command only when the receiving server vouches for it or
///   the subject carries that officer's `email_secret`; otherwise the officer is told;
/// - in a case's thread: added to the case only when it answers our mail about that case to
///   its sender (reply token), or the server vouches for the sender; otherwise a new
///   conversation that sees no case;
/// - any other mail: a conversation, proven or not (an unproven one touches no case).
pub async fn handle_mail(
    settings: &EmailSettings,
    rt: &Runtime,
    tokens: &TokenKey,
    raw: &[u8],
) -> Result<(), crate::runtime::RuntimeError> {
    let me = &settings.me;
    let check = MailCheck {
        own: &me.from_address,
        domain: me.domain(),
        key: tokens,
        trusted_authserv_ids: &settings.trusted_authserv_ids,
    };
    let p = parse::parse(raw, &check);
    match p.kind {
        MailKind::Bounce { failed, reason } => {
            tracing::info!(failed = ?failed.as_deref().map(mask), "email: a bounce; not answered");
            rt.handle_mail_bounce(
                &p.id,
                &Identity::new(ChannelKind::Email, "mailer-daemon"),
                failed.as_deref(),
                &reason,
            )
            .await
        }
        MailKind::Automatic(why) => {
            tracing::info!(%why, "email: an automatic mail; not answered");
            Ok(())
        }
        MailKind::Person(m) => {
            let from = Identity::new(ChannelKind::Email, m.from.clone());
            if let Some(officer) = rt.officer_by_email(&m.from) {
                return officer_mail(rt, officer, p.id, from, m).await;
            }
            let case = m
                .answers
                .case
                .clone()
                .or_else(|| m.case.clone().filter(|_| m.authenticated));
            if let Some(case) = &case
                && rt
                    .handle_case_mail(&p.id, &from, case, &m.text, &m.files)
                    .await?
            {
                tracing::info!(%case, from = %from.masked(), "email: a reply added to its case");
                return Ok(());
            }
            if m.case.is_some() && case.is_none() {
                tracing::info!(from = %from.masked(), "email: names a case without proof; a new conversation");
            }
            let trust = if m.authenticated || m.answers.us {
                Trust::Proven
            } else {
                Trust::Claimed
            };
            rt.handle(InboundMessage {
                id: p.id,
                from,
                body: InboundBody::Mail {
                    text: m.text,
                    files: m.files,
                    thread: MailThread {
                        subject: crate::message::clip(&m.subject, 300),
                        references: m.references,
                    },
                },
                reply_to: None,
                trust,
            })
            .await?;
            Ok(())
        }
    }
}

/// Mail from an officer's address: run as a command when proven, else the officer is told
/// (at that address: a forger learns nothing) and nothing else happens.
async fn officer_mail(
    rt: &Runtime,
    officer: &crate::config::OfficerConfig,
    id: String,
    from: Identity,
    m: parse::PersonMail,
) -> Result<(), crate::runtime::RuntimeError> {
    let secret_in_subject = officer.email_secret.as_ref().is_some_and(|secret| {
        use subtle::ConstantTimeEq;
        m.subject
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .any(|w| {
                w.len() == secret.expose().len()
                    && bool::from(w.as_bytes().ct_eq(secret.expose().as_bytes()))
            })
    });
    if m.authenticated || secret_in_subject {
        if !m.text.trim().is_empty() || m.files.is_empty() {
            rt.handle(InboundMessage {
                id: id.clone(),
                from: from.clone(),
                body: InboundBody::Text(m.text),
                reply_to: None,
                trust: Trust::Proven,
            })
            .await?;
        }
        // Each attached file follows the command as the officer's next message (its own id,
        // so a re-read mail repeats nothing): the letter for a `kirim` in the text goes to the
        // applicant, as a file sent after `kirim` in a chat does (issue 20, item 8).
        for (i, file) in m.files.into_iter().enumerate() {
            rt.handle(InboundMessage {
                id: format!("{id}#file{}", i + 1),
                from: from.clone(),
                body: InboundBody::Attachment(file),
                reply_to: None,
                trust: Trust::Proven,
            })
            .await?;
        }
        return Ok(());
    }
    tracing::warn!(officer = %officer.id, "email: mail in an officer's name without proof; not run as a command");
    let texts = &rt.bot.texts;
    rt.record(
        crate::store::DedupeKey::new(&from, &id),
        &from,
        vec![OutboundMessage::text(
            from.clone(),
            texts.get("email_officer_unproven", texts.default_lang()),
        )],
    )
    .await
    .map(|_| ())
}
