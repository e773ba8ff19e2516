//! The Graph API calls pstbot makes (reqwest, `Authorization: Bearer {access_token}`):
//! `POST /{phone-number-id}/messages`, `POST /{phone-number-id}/media` (multipart upload),
//! `GET /{media-id}` (a media URL) and the media download itself; and what their errors mean.
//!
//! Errors come as `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`.
//! Throughput and rate limits (4, 80007, 130429, 131048, 131056) and temporary trouble
//! (1, 2, 131000, 131016, HTTP 5xx) are retried with backoff; 190 (expired or invalid token)
//! is permanent and says what to renew; 131047 (more than 24 hours since the person wrote) is
//! reported as [`GraphFail::Reengage`] so the channel can take the template path.

use crate::outbox::SendError;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// Error codes worth retrying (Cloud API "Error codes" reference).
const RETRY_CODES: &[i64] = &[1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056];
/// Re-engagement: the customer-service window is closed.
pub const REENGAGE: i64 = 131047;
/// Expired or invalid access token.
pub const TOKEN: i64 = 190;

/// A failed Graph call.
#[derive(Debug, Clone, PartialEq)]
pub enum GraphFail {
    /// Outside the 24-hour window: only a template may go.
    Reengage(String),
    Send(SendError),
}

impl From<SendError> for GraphFail {
    fn from(e: SendError) -> Self {
        GraphFail::Send(e)
    }
}

impl GraphFail {
    /// As the outbox sees it (a re-engagement refusal that no template can answer is final).
    pub fn into_send_error(self) -> SendError {
        match self {
            GraphFail::Send(e) => e,
            GraphFail::Reengage(reason) => SendError::Permanent { reason },
        }
    }
}

/// Whether a Graph error code (from a call or a `failed` status) is worth retrying.
pub fn is_transient_code(code: i64) -> bool {
    RETRY_CODES.contains(&code)
}

/// Classifies a Graph answer that was not 2xx.
pub fn classify(status: u16, body: &str, retry_after: Option<Duration>) -> GraphFail {
    #[derive(Deserialize)]
    struct Envelope {
        error: GraphError,
    }
    #[derive(Deserialize)]
    struct GraphError {
        #[serde(default)]
        message: String,
        #[serde(default)]
        code: i64,
    }
    let Ok(Envelope { error }) = serde_json::from_str::<Envelope>(body) else {
        return SendError::from_status(status, body, retry_after).into();
    };
    let what = format!(
        "WhatsApp error {}: {}",
        error.code,
        crate::message::clip(&error.message, 160)
    );
    match error.code {
        REENGAGE => GraphFail::Reengage(format!(
            "{what} (more than 24 hours since the person last wrote)"
        )),
        TOKEN => SendError::Permanent {
            reason: format!(
                "{what} — the WhatsApp access token has expired or is invalid: renew `whatsapp.access_token` (PSTBOT_WHATSAPP_ACCESS_TOKEN) and restart pstbot"
            ),
        }
        .into(),
        c if is_transient_code(c) || status >= 500 || status == 429 => SendError::Transient {
            reason: what,
            retry_after,
        }
        .into(),
        _ => SendError::Permanent { reason: what }.into(),
    }
}

/// What a media id resolves to (`GET /{media-id}`).
#[derive(Debug, Clone, Deserialize)]
pub struct MediaInfo {
    pub url: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub file_size: Option<u64>,
}

/// Why a download did not work.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetch {
    TooBig,
    /// The Graph API refused (gone, not ours): asking again will not help.
    Refused(String),
    /// Network trouble or a server error: try again later (Meta re-delivers the webhook).
    Later(String),
}

/// The Graph API client of one business phone number.
pub struct Graph {
    client: reqwest::Client,
    base: String,
    phone_number_id: String,
    token: String,
}

/// The id string at `pointer` in a Graph API answer; an answer without it is worth retrying.
fn id_at(v: &Value, pointer: &str, missing: &str) -> Result<String, GraphFail> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            GraphFail::Send(SendError::Transient {
                reason: missing.into(),
                retry_after: None,
            })
        })
}

fn transport(e: reqwest::Error) -> SendError {
    crate::channels::sms::transport_error(e)
}

impl Graph {
    pub fn new(base: &str, phone_number_id: &str, token: &str, timeout: Duration) -> Graph {
        Graph {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("a TLS backend is compiled in"),
            base: base.trim_end_matches('/').to_string(),
            phone_number_id: phone_number_id.to_string(),
            token: token.to_string(),
        }
    }

    async fn answer(resp: reqwest::Response) -> Result<Value, GraphFail> {
        let status = resp.status().as_u16();
        let retry_after = crate::channels::sms::retry_after(resp.headers());
        let text = resp.text().await.map_err(transport)?;
        if (200..300).contains(&status) {
            serde_json::from_str(&text).map_err(|e| {
                GraphFail::Send(SendError::Transient {
                    reason: format!("unreadable Graph API answer: {e}"),
                    retry_after: None,
                })
            })
        } else {
            Err(classify(status, &text, retry_after))
        }
    }

    /// Sends one message object; returns its `wamid`.
    pub async fn send_message(&self, payload: &Value) -> Result<String, GraphFail> {
        let resp = self
            .post("messages")
            .json(payload)
            .send()
            .await
            .map_err(transport)?;
        let v = Self::answer(resp).await?;
        id_at(
            &v,
            "/messages/0/id",
            "the Graph API answer has no message id",
        )
    }

    /// Uploads a file (`POST /{phone-number-id}/media`); returns its media id.
    pub async fn upload(
        &self,
        filename: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Result<String, GraphFail> {
        // A stored type that is not a MIME type goes as a plain byte stream.
        let mime = if mime.contains('/') && !mime.contains(char::is_whitespace) {
            mime
        } else {
            "application/octet-stream"
        };
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_string())
            .mime_str(mime)
            .map_err(|e| SendError::Permanent {
                reason: format!("cannot build the upload: {e}"),
            })?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime.to_string())
            .part("file", part);
        let resp = self
            .post("media")
            .multipart(form)
            .send()
            .await
            .map_err(transport)?;
        let v = Self::answer(resp).await?;
        id_at(&v, "/id", "the media upload answer has no id")
    }

    /// An authorised `POST /{phone-number-id}/{edge}`.
    fn post(&self, edge: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}/{}/{edge}", self.base, self.phone_number_id))
            .bearer_auth(&self.token)
    }

    /// Downloads a person's file: `GET /{media-id}` for its URL, then the URL itself (both
    /// with the access token), refusing more than `max_bytes`.
    pub async fn download(&self, media_id: &str, max_bytes: u64) -> Result<Vec<u8>, Fetch> {
        let fetch_err = |e: GraphFail| match e.into_send_error() {
            SendError::Transient { reason, .. } => Fetch::Later(reason),
            other => Fetch::Refused(other.to_string()),
        };
        if media_id.is_empty() || !media_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Fetch::Refused("not a media id".into()));
        }
        let resp = self
            .client
            .get(format!("{}/{media_id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| Fetch::Later(transport(e).to_string()))?;
        let info: MediaInfo = serde_json::from_value(Self::answer(resp).await.map_err(fetch_err)?)
            .map_err(|e| Fetch::Refused(format!("unreadable media answer: {e}")))?;
        if info.file_size.is_some_and(|n| n > max_bytes) {
            return Err(Fetch::TooBig);
        }
        let mut resp = self
            .client
            .get(&info.url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| Fetch::Later(transport(e).to_string()))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let body = resp.text().await.unwrap_or_default();
            return Err(fetch_err(classify(status, &body, None)));
        }
        if resp.content_length().is_some_and(|n| n > max_bytes) {
            return Err(Fetch::TooBig);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| Fetch::Later(transport(e).to_string()))?
        {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(Fetch::TooBig);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i64) -> String {
        format!(
            r#"{{"error":{{"message":"(#{code}) something","type":"OAuthException","code":{code},"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}}}"#
        )
    }

    #[test]
    fn rate_limits_and_server_trouble_are_retried() {
        for code in [130429, 131056, 4, 80007] {
            assert!(
                matches!(
                    classify(400, &err(code), None),
                    GraphFail::Send(SendError::Transient { .. })
                ),
                "{code}"
            );
        }
        assert!(matches!(
            classify(503, "<html>down</html>", None),
            GraphFail::Send(SendError::Transient { .. })
        ));
    }

    #[test]
    fn an_expired_token_is_permanent_and_says_what_to_renew() {
        let GraphFail::Send(SendError::Permanent { reason }) = classify(401, &err(190), None)
        else {
            panic!()
        };
        assert!(reason.contains("access token") && reason.contains("PSTBOT_WHATSAPP_ACCESS_TOKEN"));
    }

    #[test]
    fn reengagement_and_other_errors() {
        assert!(matches!(
            classify(400, &err(131047), None),
            GraphFail::Reengage(_)
        ));
        assert!(matches!(
            classify(400, &err(131026), None),
            GraphFail::Send(SendError::Permanent { .. })
        ));
    }
}
