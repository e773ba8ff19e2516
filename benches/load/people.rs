//! Simulated people: who they are on which channel, what they type (a guest book, a
//! complaint, a rating), and the signed provider payload each message travels in.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};

/// The app secret WhatsApp signs webhook posts with (`whatsapp.app_secret` of the bot).
pub const APP_SECRET: &str = "bench-app-secret";
/// The secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token` (`telegram.webhook_secret`).
pub const TELEGRAM_SECRET: &str = "bench-telegram-secret";

/// One line of the script: what the person types and a fragment the answer must contain
/// (lower case; matched against the lower-cased reply).
pub struct Line {
    pub say: &'static str,
    pub expect: &'static str,
}

const fn l(say: &'static str, expect: &'static str) -> Line {
    Line { say, expect }
}

/// Guest book, then a complaint (ADU), then a rating of it: 27 messages, as a person on a
/// phone answers the shipped dialogs (numbers for choices, as typed text).
pub const SCRIPT: &[Line] = &[
    l("halo", "apa yang dapat kami bantu"),
    l("3", "persetujuan"),
    l("ya", "nama lengkap"),
    l("Budi Santoso", "e-mail"),
    l("budi.santoso@example.go.id", "nomor hp"),
    l("0812-3456-7890", "jenis kelamin"),
    l("1", "kelompok umur"),
    l("3", "pendidikan"),
    l("4", "pekerjaan"),
    l("3", "instansi"),
    l(
        "Dinas Komunikasi dan Informatika Provinsi Bengkulu",
        "kategori instansi",
    ),
    l("pemerintah daerah", "tujuan"),
    l("2", "mohon periksa"),
    l("kirim", "tentang apa"),
    l("2", "ceritakan"),
    l(
        "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh.",
        "kapan",
    ),
    l("20/11/2026", "bukti"),
    l("lewati", "dirahasiakan"),
    l("tidak", "lapor"),
    l("-", "mohon periksa"),
    l("kirim", "adu-20"),
    l("menu", "penilaian"),
    l("7", "adu-20"),
    l("1", "sangat puas"),
    l("5", "komentar"),
    l("Petugas ramah dan cepat", "survei kepuasan"),
    l("tidak", "terima kasih"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Whatsapp,
    Telegram,
}

/// A simulated person.
#[derive(Debug, Clone)]
pub struct Person {
    pub index: usize,
    pub channel: Channel,
}

static TELEGRAM_UPDATE: AtomicU64 = AtomicU64::new(1);

impl Person {
    /// WhatsApp: an Indonesian mobile number (`wa_id` digits); Telegram: a user id.
    fn number(&self) -> u64 {
        match self.channel {
            Channel::Whatsapp => 6_281_100_000_000 + self.index as u64,
            Channel::Telegram => 700_000_000 + self.index as u64,
        }
    }

    /// The key the fake provider files this person's replies under.
    pub fn inbox(&self) -> String {
        match self.channel {
            Channel::Whatsapp => self.number().to_string(),
            Channel::Telegram => format!("tg{}", self.number()),
        }
    }

    /// The webhook path on the bot.
    pub fn path(&self) -> &'static str {
        match self.channel {
            Channel::Whatsapp => "/webhook/whatsapp",
            Channel::Telegram => "/webhook/telegram",
        }
    }

    /// The `seq`-th message as its provider posts it: body and the authenticating header.
    pub fn payload(&self, seq: usize, text: &str) -> (Vec<u8>, (&'static str, String)) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        match self.channel {
            Channel::Whatsapp => {
                let wa_id = self.number().to_string();
                let body = serde_json::to_vec(&json!({
                    "object": "whatsapp_business_account",
                    "entry": [{
                        "id": "102290129340398",
                        "changes": [{
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"display_phone_number": "15550783881",
                                    "phone_number_id": super::provider::PHONE_NUMBER_ID},
                                "contacts": [{"profile": {"name": "Budi Santoso"}, "wa_id": wa_id}],
                                "messages": [{
                                    "from": wa_id,
                                    "id": format!("wamid.LOADIN{}x{seq:04}", self.index),
                                    "timestamp": now.to_string(),
                                    "type": "text",
                                    "text": {"body": text}
                                }]
                            }
                        }]
                    }]
                }))
                .expect("json");
                let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).expect("key");
                mac.update(&body);
                let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                (body, ("x-hub-signature-256", sig))
            }
            Channel::Telegram => {
                let id = self.number();
                let body = serde_json::to_vec(&json!({
                    "update_id": TELEGRAM_UPDATE.fetch_add(1, Ordering::Relaxed),
                    "message": {
                        "message_id": seq + 1,
                        "date": now,
                        "chat": {"id": id, "type": "private", "first_name": "Budi"},
                        "from": {"id": id, "is_bot": false, "first_name": "Budi", "language_code": "id"},
                        "text": text
                    }
                }))
                .expect("json");
                (
                    body,
                    (
                        "x-telegram-bot-api-secret-token",
                        TELEGRAM_SECRET.to_string(),
                    ),
                )
            }
        }
    }
}
