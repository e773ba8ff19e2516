//! `[email]`: SMTP for sending, IMAP for receiving (passwords may come from
//! `PSTBOT_SMTP_PASSWORD` and `PSTBOT_IMAP_PASSWORD`), the office's identity and signature,
//! what happens to handled mail, and whose `Authentication-Results` count as proof.

use crate::config::{Config, ConfigError, Read, Secret, Section};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EmailConfig {
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_security: Option<String>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<Secret>,
    pub from_address: Option<String>,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub imap_host: Option<String>,
    pub imap_port: Option<u16>,
    pub imap_security: Option<String>,
    pub imap_user: Option<String>,
    pub imap_password: Option<Secret>,
    pub imap_folder: Option<String>,
    pub poll_seconds: Option<u64>,
    /// The office's signature under every mail (plain text, several lines allowed).
    pub signature: Option<String>,
    /// Wait for new mail with IMAP IDLE (falls back to polling when the server lacks it).
    #[serde(default)]
    pub idle: bool,
    /// What happens to handled mail: `flag` (marked \Seen and `$PstbotHandled`, the default)
    /// or `move` (moved to `handled_folder`).
    pub handled: Option<String>,
    pub handled_folder: Option<String>,
    /// The `authserv-id`s of the receiving mail servers whose `Authentication-Results` headers
    /// count as proof of who wrote a mail (e.g. `mx.google.com`). Empty: no server's verdict
    /// counts, and only reply tokens and officers' `email_secret` prove a sender.
    #[serde(default)]
    pub trusted_authserv_ids: Vec<String>,
}

impl Section for EmailConfig {
    const NAME: &'static str = "email";
}

impl EmailConfig {
    /// `[email]` checked, with the passwords from the environment; `None` when neither the
    /// section nor a variable is there.
    pub fn read(config: &Config) -> Result<Option<Read<EmailConfig>>, ConfigError> {
        let sections = &config.channels;
        let mut read = sections.read::<EmailConfig>()?;
        if let Some(r) = &read {
            r.value.validate().map_err(|p| sections.error(p))?;
        }
        if let Some(v) = sections.env("PSTBOT_SMTP_PASSWORD") {
            read.get_or_insert_with(Read::empty).value.smtp_password = Some(Secret(v));
        }
        if let Some(v) = sections.env("PSTBOT_IMAP_PASSWORD") {
            read.get_or_insert_with(Read::empty).value.imap_password = Some(Secret(v));
        }
        Ok(read)
    }

    /// [`EmailConfig::read`] without the unknown keys.
    pub fn from_config(config: &Config) -> Result<Option<EmailConfig>, ConfigError> {
        Ok(Self::read(config)?.map(|r| r.value))
    }

    /// Checks the values the channel needs, as the office would see them.
    pub fn validate(&self) -> Result<(), String> {
        for (key, v) in [
            ("smtp_security", &self.smtp_security),
            ("imap_security", &self.imap_security),
        ] {
            if let Some(s) = v
                && !matches!(s.as_str(), "starttls" | "tls" | "none")
            {
                return Err(format!(
                    "`email.{key}`: `{s}` must be \"starttls\", \"tls\" or \"none\""
                ));
            }
        }
        match self.handled.as_deref() {
            None | Some("flag") => {}
            Some("move") => {
                if self
                    .handled_folder
                    .as_deref()
                    .unwrap_or("")
                    .trim()
                    .is_empty()
                {
                    return Err(
                        "`email.handled_folder` is required when `email.handled` is \"move\""
                            .into(),
                    );
                }
            }
            Some(h) => {
                return Err(format!(
                    "`email.handled`: `{h}` must be \"flag\" or \"move\""
                ));
            }
        }
        if let Some(a) = &self.from_address
            && a.parse::<lettre::Address>().is_err()
        {
            return Err(format!(
                "`email.from_address`: `{a}` is not an e-mail address"
            ));
        }
        if let Some(a) = &self.reply_to
            && a.parse::<lettre::Address>().is_err()
        {
            return Err(format!("`email.reply_to`: `{a}` is not an e-mail address"));
        }
        if self.poll_seconds == Some(0) {
            return Err("`email.poll_seconds` must be at least 1".into());
        }
        if let Some(id) = self
            .trusted_authserv_ids
            .iter()
            .find(|id| id.trim().is_empty() || id.contains([';', ' ', '=']))
        {
            return Err(format!(
                "`email.trusted_authserv_ids`: `{id}` is not a server name like \"mx.google.com\""
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn rejects(text: &str, needle: &str) -> ConfigError {
        crate::channels::config_tests::rejects(text, EmailConfig::from_config, needle)
    }

    #[test]
    fn email_keys_are_checked() {
        let base = "[office]\nname = \"X\"\n[email]\nsmtp_host = \"smtp.example.go.id\"\nfrom_address = \"pst@example.go.id\"\n";
        for (extra, key) in [
            ("smtp_security = \"ssl\"\n", "`email.smtp_security`"),
            ("imap_security = \"plain\"\n", "`email.imap_security`"),
            ("handled = \"move\"\n", "`email.handled_folder`"),
            ("handled = \"delete\"\n", "`email.handled`"),
            ("reply_to = \"not an address\"\n", "`email.reply_to`"),
            ("poll_seconds = 0\n", "`email.poll_seconds`"),
        ] {
            rejects(&format!("{base}{extra}"), key);
        }
        rejects(
            &base.replace("pst@example.go.id", "pst-at-example"),
            "`email.from_address`",
        );
        let c = Config::parse(
            Path::new("c.toml"),
            &format!("{base}handled = \"move\"\nhandled_folder = \"Diproses\"\n"),
            |k| (k == "PSTBOT_IMAP_PASSWORD").then(|| "imap-secret".to_string()),
        )
        .unwrap();
        let e = EmailConfig::from_config(&c).unwrap().unwrap();
        assert_eq!(e.imap_password.as_ref().unwrap().expose(), "imap-secret");
        assert!(!format!("{c:?}").contains("imap-secret"));
    }
}
