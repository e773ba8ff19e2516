//! `GET /api/web/events`: the session's messages as Server-Sent Events, stored ones first (page
//! by page), then each new one as it is logged.

use super::api::{Shared, entry_json};
use super::guard::{self, Refusal};
use super::{HISTORY, Pushed, WebChat};
use crate::store::WebLogEntry;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::Stream;
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    after: Option<u64>,
}

/// `GET /api/web/events`: the session's new messages as Server-Sent Events, from the sequence
/// `after` (or the `Last-Event-ID` a reconnecting browser sends).
pub async fn events(
    State(chat): Shared,
    peer: guard::Peer,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Response {
    let session = match guard::session(&chat, &headers) {
        Ok(s) => s,
        Err(r) => return r.render(&chat.texts),
    };
    // A place among the session's and the address's open streams, held while it is open.
    let ip = guard::client_ip(&chat.config, &headers, peer);
    let slot = match chat.streams.open(&chat.config, &session, ip) {
        Ok(s) => s,
        Err(r) => return r.render(&chat.texts),
    };
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or(q.after)
        .unwrap_or(0);
    let rx = chat.hub.subscribe(&session);
    let backlog = match chat.rt.store.web_log(&session, after, HISTORY) {
        Ok(v) => v,
        Err(e) => return Refusal::from(e).render(&chat.texts),
    };
    let more = backlog.len() == HISTORY;
    let stream = live(chat.clone(), session, after, rx, backlog.into(), more, slot);
    let mut resp = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

struct Live {
    chat: Arc<WebChat>,
    session: String,
    last: u64,
    rx: tokio::sync::broadcast::Receiver<Pushed>,
    backlog: VecDeque<(u64, WebLogEntry)>,
    /// The last read from the log filled its page: there may be more stored after it.
    more: bool,
    /// Given back when the stream ends (the page went away or the service stops).
    _slot: guard::StreamSlot,
}

impl Live {
    /// Reads the next page of stored entries after the last one sent.
    fn read_on(&mut self) -> Result<(), crate::store::StoreError> {
        let page = self
            .chat
            .rt
            .store
            .web_log(&self.session, self.last, HISTORY)?;
        self.more = page.len() == HISTORY;
        self.backlog.extend(page);
        Ok(())
    }
}

/// The stored entries after `after`, page by page (a long log is sent whole, not only its
/// first page), then each new one as it is logged; ends when the service stops.
fn live(
    chat: Arc<WebChat>,
    session: String,
    after: u64,
    rx: tokio::sync::broadcast::Receiver<Pushed>,
    backlog: VecDeque<(u64, WebLogEntry)>,
    more: bool,
    slot: guard::StreamSlot,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = Live {
        chat,
        session,
        last: after,
        rx,
        backlog,
        more,
        _slot: slot,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        loop {
            if let Some((seq, e)) = s.backlog.pop_front() {
                if seq <= s.last {
                    continue;
                }
                s.last = seq;
                let ev = Event::default()
                    .id(seq.to_string())
                    .event("message")
                    .data(entry_json(seq, &e).to_string());
                return Some((Ok(ev), s));
            }
            if s.more {
                // The stored entries after the first page: read before waiting for new ones
                // (what arrived live meanwhile is in the log too, and skipped by its number).
                if let Err(e) = s.read_on() {
                    tracing::error!(error = %e, "web chat: cannot read the log for an event stream");
                    return None;
                }
                continue;
            }
            let stop = s.chat.stop.clone();
            tokio::select! {
                _ = stop.cancelled() => return None,
                got = s.rx.recv() => match got {
                    Ok(Pushed::Entry(seq, e)) if seq <= s.last + 1 => s.backlog.push_back((seq, e)),
                    // A gap (an entry another process wrote, not pushed here yet), or notices
                    // lost: the log has them all, in order.
                    Ok(Pushed::Entry(..) | Pushed::ReadAgain) | Err(RecvError::Lagged(_)) => {
                        // Missed some: read them from the log (all of them, page by page).
                        if let Err(e) = s.read_on() {
                            tracing::error!(error = %e, "web chat: cannot read the log for an event stream");
                            return None;
                        }
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    })
}
