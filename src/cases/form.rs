//! What a form holds: one stored answer of any kind ([`Answer`]) and a cart line. Cases keep
//! them in their form, the guest book in its profile, dialogs while they are being filled.

use crate::message::AttachmentRef;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::CaseNumber;

/// One product line of a cart: code, quantity and the tariff when it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub code: String,
    pub quantity: u32,
    pub unit_tariff: u64,
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Answer {
    Text(String),
    Choice(String),
    Choices(Vec<String>),
    Bool(bool),
    Email(String),
    Phone(String),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Number(f64),
    File(AttachmentRef),
    Cart(Vec<CartLine>),
    Case(CaseNumber),
    Skipped,
}

impl Answer {
    /// The plain text value, for fields read by name (the guest's name, say).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Answer::Text(s) | Answer::Email(s) | Answer::Phone(s) | Answer::Choice(s) => Some(s),
            _ => None,
        }
    }
}
