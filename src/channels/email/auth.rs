//! Who really wrote a mail (pure). A `From:` header is only a claim: anyone can write any
//! address there. Two things are proof:
//!
//! - **The receiving server's verdict**: an `Authentication-Results` header (RFC 8601) added by
//!   a server the office trusts (its `authserv-id` is in `email.trusted_authserv_ids`) that
//!   says DKIM, SPF or DMARC passed for the `From:` domain (strict alignment: the signing or
//!   envelope domain is the `From:` domain itself; DMARC's own verdict covers its relaxed form).
//!   Only the topmost header of a trusted server counts: the receiving server prepends its
//!   own, so a forged one written by the sender sits below it (RFC 8601 §5 asks the server to
//!   remove forged ones as well).
//! - **Our reply tokens**: every mail we send carries, in its `Message-ID`, a token that only
//!   the holder of the office's key can make, bound to the recipient's address and to the case
//!   (or the conversation). A mail whose `In-Reply-To`/`References` carry a valid token for
//!   its own `From:` address answers a mail we sent to that mailbox.

use crate::cases::CaseNumber;
use hmac::{Hmac, Mac};
use regex::Regex;
use sha2::Sha256;
use std::sync::LazyLock;

/// The office's key for reply tokens: 32 random bytes kept in the store (see
/// [`crate::store::StoreMaintenance::secret`]), the same for every process and across restarts.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        TokenKey(bytes)
    }

    /// The token for mail about `scope` (a case number, or [`CONVERSATION`]) sent to `recipient`.
    pub fn token(&self, scope: &str, recipient: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(b"pstbot-reply\0");
        mac.update(scope.as_bytes());
        mac.update(b"\0");
        mac.update(recipient.trim().to_lowercase().as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..TOKEN_BYTES])
    }

    /// Whether `token` is the token of `scope` for `recipient` (constant time).
    pub fn verify(&self, scope: &str, recipient: &str, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        let want = self.token(scope, recipient);
        want.len() == token.len() && bool::from(want.as_bytes().ct_eq(token.as_bytes()))
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

/// The scope of tokens on conversation replies (mail not about one case).
pub const CONVERSATION: &str = "conversation";

/// Bytes of HMAC kept in a token (80 bits: unguessable, short enough for an id).
const TOKEN_BYTES: usize = 10;

/// The id of one of our mails: `<pstbot.[CASE.]ROWHASH.TOKEN@DOMAIN>`.
static OUR_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^<pstbot\.(?:([A-Z]{3}-\d{4}-\d{6})\.)?[0-9a-f]{24}\.([0-9a-f]{20})@([^@<>\s]+)>$")
        .expect("regex")
});

/// Every id of ours in `text` (a header, or a whole bounce with the returned headers).
static OUR_IDS_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<pstbot\.(?:[A-Z]{3}-\d{4}-\d{6}\.)?[0-9a-f]{24}\.[0-9a-f]{20}@[^@<>\s]+>")
        .expect("regex")
});

/// What a reply token in a mail's thread headers proves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    /// The mail answers one of our mails to its own sender.
    pub us: bool,
    /// The case of that mail, when it was about one.
    pub case: Option<CaseNumber>,
}

/// Reads our ids among `ids` (from `In-Reply-To` and `References`) and keeps those whose token
/// was made for `from`: the mail answers a mail we sent to that mailbox.
pub fn answers(ids: &[String], from: &str, domain: &str, key: &TokenKey) -> Answers {
    let mut out = Answers::default();
    for id in ids {
        let bracketed = format!("<{}>", id.trim().trim_matches(['<', '>']));
        let Some(c) = OUR_ID.captures(&bracketed) else {
            continue;
        };
        if !c[3].eq_ignore_ascii_case(domain) {
            continue;
        }
        let case = c.get(1).and_then(|n| CaseNumber::parse(n.as_str()));
        let scope = case
            .as_ref()
            .map_or(CONVERSATION.to_string(), |n| n.to_string());
        if key.verify(&scope, from, &c[2]) {
            out.us = true;
            if case.is_some() {
                out.case = case;
            }
        }
    }
    out
}

/// Whether `text` (a bounce with the headers of the mail it returns) names a mail we sent to
/// `recipient`: a forged bounce cannot, so only a real one marks an address failing.
pub fn names_our_mail_to(text: &str, recipient: &str, domain: &str, key: &TokenKey) -> bool {
    let ids: Vec<String> = OUR_IDS_IN_TEXT
        .find_iter(text)
        .map(|m| m.as_str().to_string())
        .collect();
    answers(&ids, recipient, domain, key).us
}

/// One method's result in an `Authentication-Results` header (`dkim=pass header.d=x.id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    pub method: String,
    pub result: String,
    /// `ptype.property` → value, lowercased (`header.d` → `x.id`).
    pub props: Vec<(String, String)>,
}

/// Parses one `Authentication-Results` value into its `authserv-id` and results. `None` when
/// it does not have the header's shape.
pub fn parse_results(value: &str) -> Option<(String, Vec<MethodResult>)> {
    let clean = without_comments(value);
    let mut parts = split_outside_quotes(&clean, ';').into_iter();
    let id = parts.next()?.split_whitespace().next()?.to_lowercase();
    if id.is_empty() || id.contains('=') {
        return None;
    }
    let mut results = Vec::new();
    for part in parts {
        let mut words = split_outside_quotes(part.trim(), ' ')
            .into_iter()
            .filter(|w| !w.trim().is_empty());
        let Some(first) = words.next() else { continue };
        let Some((method, result)) = first.split_once('=') else {
            continue; // "none": no results
        };
        let method = method.split('/').next().unwrap_or("").trim().to_lowercase();
        let props = words
            .filter_map(|w| {
                let (k, v) = w.split_once('=')?;
                k.contains('.').then(|| {
                    (
                        k.trim().to_lowercase(),
                        v.trim().trim_matches('"').to_lowercase(),
                    )
                })
            })
            .collect();
        results.push(MethodResult {
            method,
            result: result.trim().to_lowercase(),
            props,
        });
    }
    Some((id, results))
}

/// Whether the topmost `Authentication-Results` header of a trusted server (`headers`: every
/// A-R value, top first) says the mail comes from `from_domain`.
pub fn authenticated(headers: &[&str], trusted: &[String], from_domain: &str) -> bool {
    let from_domain = from_domain.trim().to_lowercase();
    if from_domain.is_empty() || trusted.is_empty() {
        return false;
    }
    let Some(results) = headers
        .iter()
        .filter_map(|h| parse_results(h))
        .find(|(id, _)| trusted.iter().any(|t| t.eq_ignore_ascii_case(id)))
        .map(|(_, r)| r)
    else {
        return false;
    };
    results
        .iter()
        .any(|r| r.result == "pass" && aligned(r, &from_domain))
}

/// Whether a passing result is about the `From:` domain itself.
fn aligned(r: &MethodResult, from_domain: &str) -> bool {
    let prop = |name: &str| {
        r.props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let domain_of = |v: &str| v.rsplit('@').next().unwrap_or("").to_string();
    match r.method.as_str() {
        "dmarc" => prop("header.from").is_some_and(|d| d == from_domain),
        "dkim" => {
            prop("header.d").is_some_and(|d| d == from_domain)
                || prop("header.i").is_some_and(|i| domain_of(i) == from_domain)
        }
        "spf" => prop("smtp.mailfrom").is_some_and(|m| domain_of(m) == from_domain),
        _ => false,
    }
}

/// Drops `( … )` comments (nested), keeping quoted strings.
fn without_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            c if depth == 0 => out.push(if c.is_whitespace() { ' ' } else { c }),
            _ => {}
        }
    }
    out
}

/// Splits at `sep` outside double quotes.
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TokenKey {
        TokenKey::new([7; 32])
    }

    #[test]
    fn tokens_bind_scope_and_recipient() {
        let k = key();
        let t = k.token("ADU-2026-000001", "Siti@Example.org");
        assert_eq!(t.len(), 2 * TOKEN_BYTES);
        assert!(k.verify("ADU-2026-000001", "siti@example.org", &t));
        assert!(!k.verify("ADU-2026-000002", "siti@example.org", &t));
        assert!(!k.verify("ADU-2026-000001", "budi@example.org", &t));
        assert!(!TokenKey::new([8; 32]).verify("ADU-2026-000001", "siti@example.org", &t));
    }

    #[test]
    fn answers_need_a_token_for_the_sender() {
        let k = key();
        let tok = k.token("ADU-2026-000001", "siti@example.org");
        let id = format!(
            "<pstbot.ADU-2026-000001.{}.{tok}@bps.example>",
            "a".repeat(24)
        );
        let a = answers(
            std::slice::from_ref(&id),
            "siti@example.org",
            "bps.example",
            &k,
        );
        assert!(a.us);
        assert_eq!(a.case.unwrap().to_string(), "ADU-2026-000001");
        // Someone else quoting Siti's mail, another domain, an id without a token.
        assert_eq!(
            answers(
                std::slice::from_ref(&id),
                "eve@example.org",
                "bps.example",
                &k
            ),
            Answers::default()
        );
        assert!(!answers(&[id], "siti@example.org", "other.example", &k).us);
        let old = "<pstbot.ADU-2026-000001.aaaaaaaaaaaaaaaaaaaaaaaa@bps.example>".to_string();
        assert!(!answers(&[old], "siti@example.org", "bps.example", &k).us);
        let conv = format!(
            "pstbot.{}.{}@bps.example",
            "b".repeat(24),
            k.token(CONVERSATION, "andi@example.org")
        );
        let a = answers(&[conv], "andi@example.org", "bps.example", &k);
        assert!(a.us && a.case.is_none());
    }

    #[test]
    fn results_are_parsed_with_comments_and_quotes() {
        let (id, r) = parse_results(
            "mx.google.com;\r\n       dkim=pass header.i=@bps.go.id header.s=s1 header.b=\"ab;c\";\r\n       spf=pass (google.com: domain of x@bps.go.id designates 1.2.3.4 as permitted sender) smtp.mailfrom=x@bps.go.id;\r\n       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=bps.go.id",
        )
        .unwrap();
        assert_eq!(id, "mx.google.com");
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].method, "dkim");
        assert_eq!(r[0].props[0], ("header.i".into(), "@bps.go.id".into()));
        assert_eq!(r[1].result, "pass");
        assert_eq!(r[2].props, vec![("header.from".into(), "bps.go.id".into())]);
        let (id, r) = parse_results("mail.bps.go.id 1; none").unwrap();
        assert_eq!((id.as_str(), r.len()), ("mail.bps.go.id", 0));
        assert!(parse_results("dkim=pass header.d=x").is_none());
    }

    #[test]
    fn only_the_topmost_trusted_verdict_counts_and_it_must_align() {
        let trusted = vec!["mx.bps.go.id".to_string()];
        let genuine_pass = "mx.bps.go.id; dkim=pass header.d=bps.go.id";
        let genuine_fail = "mx.bps.go.id; dkim=none; spf=softfail smtp.mailfrom=evil.example";
        let forged = "mx.bps.go.id; dkim=pass header.d=bps.go.id; dmarc=pass header.from=bps.go.id";
        assert!(authenticated(&[genuine_pass], &trusted, "bps.go.id"));
        assert!(authenticated(&[genuine_pass], &trusted, "BPS.go.id"));
        // A forged verdict below the server's own does not count.
        assert!(!authenticated(
            &[genuine_fail, forged],
            &trusted,
            "bps.go.id"
        ));
        // A verdict from a server we do not trust does not count.
        assert!(!authenticated(
            &["mx.evil.example; dkim=pass header.d=bps.go.id"],
            &trusted,
            "bps.go.id"
        ));
        // A pass for another domain (the attacker's own signature) does not align.
        assert!(!authenticated(
            &[
                "mx.bps.go.id; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=a@evil.example"
            ],
            &trusted,
            "bps.go.id"
        ));
        // Strict alignment: a parent domain's signature is not the sub-domain's.
        assert!(!authenticated(
            &["mx.bps.go.id; dkim=pass header.d=go.id"],
            &trusted,
            "bps.go.id"
        ));
        assert!(authenticated(
            &["mx.bps.go.id; spf=pass smtp.mailfrom=rina@bps.go.id"],
            &trusted,
            "bps.go.id"
        ));
        assert!(authenticated(
            &["mx.bps.go.id; dmarc=pass header.from=bps.go.id"],
            &trusted,
            "bps.go.id"
        ));
        assert!(!authenticated(&[genuine_pass], &[], "bps.go.id"));
    }

    #[test]
    fn a_bounce_counts_only_for_a_mail_we_sent_there() {
        let k = key();
        let id = format!(
            "<pstbot.{}.{}@bps.example>",
            "c".repeat(24),
            k.token(CONVERSATION, "andi@example.org")
        );
        let dsn = format!("Final-Recipient: rfc822; andi@example.org\n\nMessage-ID: {id}\n");
        assert!(names_our_mail_to(
            &dsn,
            "andi@example.org",
            "bps.example",
            &k
        ));
        assert!(!names_our_mail_to(
            &dsn,
            "siti@example.org",
            "bps.example",
            &k
        ));
        assert!(!names_our_mail_to(
            "Final-Recipient: rfc822; andi@example.org\n",
            "andi@example.org",
            "bps.example",
            &k
        ));
    }
}
