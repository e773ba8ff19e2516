//! People and what they leave behind outside cases: the guest book profile (with PDP consent),
//! visits, ratings and appointments.

use crate::cases::Answer;
use crate::cases::CaseNumber;
use crate::message::Identity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A person in the guest book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guest {
    /// Stable id, derived from the identity that first registered (`G-` + 16 hex digits).
    pub id: String,
    pub identities: Vec<Identity>,
    /// Guest book answers by field (name, email, phone, gender, …).
    pub profile: BTreeMap<String, Answer>,
    pub consent_version: String,
    /// The consent text the guest agreed to (UU PDP: what they agreed to, not only when).
    #[serde(default)]
    pub consent_text: String,
    pub consent_at: DateTime<Utc>,
    pub lang: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Guest {
    /// The id a guest first registered from this identity gets.
    pub fn id_for(identity: &Identity) -> String {
        let h = Sha256::digest(identity.to_string().as_bytes());
        format!("G-{}", hex::encode(&h[..8]))
    }

    pub fn name(&self) -> Option<&str> {
        self.profile.get("name").and_then(Answer::as_text)
    }

    /// The e-mail address the guest gave in the guest book, if any (notifications also go
    /// there, and there when a channel cannot deliver them).
    pub fn email(&self) -> Option<&str> {
        email_in(&self.profile)
    }
}

/// The e-mail address a guest book profile holds, if any.
pub fn email_in(profile: &BTreeMap<String, Answer>) -> Option<&str> {
    profile
        .get("email")
        .and_then(Answer::as_text)
        .map(str::trim)
        .filter(|e| e.contains('@'))
}

/// One guest book entry: a person came (online or in person) for a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub guest_id: String,
    pub at: DateTime<Utc>,
    pub channel: crate::message::ChannelKind,
    /// The dialog the visit was for (`rekomendasi`, `produk`, …), if any.
    pub service: Option<String>,
    pub purpose: Option<String>,
    /// For walk-in visitors registered at the desk: the name the receptionist entered.
    #[serde(default)]
    pub name: Option<String>,
}

/// A rating of a case or of the service in general.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    pub guest_id: Option<String>,
    pub case: Option<CaseNumber>,
    pub at: DateTime<Utc>,
    /// 1–5.
    pub score: u8,
    pub comment: Option<String>,
    /// The nine SKM elements (PermenPAN-RB 14/2017), each 1–4, when the survey was filled.
    pub skm: Option<[u8; 9]>,
}

/// A booked visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appointment {
    pub guest_id: String,
    pub booked_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub topic: String,
}
