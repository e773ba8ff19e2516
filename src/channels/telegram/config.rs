//! `[telegram]`: the bot's token (or `PSTBOT_TELEGRAM_TOKEN`), the Bot API's address, polling
//! or webhook, and the officers' group.

use crate::config::{Config, ConfigError, Read, Secret, Section};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TelegramConfig {
    pub token: Option<Secret>,
    pub api_url: Option<String>,
    pub mode: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<Secret>,
    pub admin_chat_id: Option<i64>,
}

impl Section for TelegramConfig {
    const NAME: &'static str = "telegram";
}

/// The environment variable the token may come from instead of the file.
pub const TOKEN_ENV: &str = "PSTBOT_TELEGRAM_TOKEN";

impl TelegramConfig {
    /// `[telegram]` with the token from the environment, checked; `None` when neither the
    /// section nor the variable is there.
    pub fn read(config: &Config) -> Result<Option<Read<TelegramConfig>>, ConfigError> {
        let sections = &config.channels;
        let mut read = sections.read::<TelegramConfig>()?;
        if let Some(token) = sections.env(TOKEN_ENV) {
            read.get_or_insert_with(Read::empty).value.token = Some(Secret(token));
        }
        if let Some(r) = &read {
            r.value.validate().map_err(|p| sections.error(p))?;
        }
        Ok(read)
    }

    /// [`TelegramConfig::read`] without the unknown keys.
    pub fn from_config(config: &Config) -> Result<Option<TelegramConfig>, ConfigError> {
        Ok(Self::read(config)?.map(|r| r.value))
    }

    /// Whether updates come by webhook (`mode = "webhook"`) rather than long polling.
    pub fn webhook_mode(&self) -> bool {
        self.mode.as_deref() == Some("webhook")
    }

    fn validate(&self) -> Result<(), String> {
        match self.mode.as_deref() {
            None | Some("polling") | Some("webhook") => {}
            Some(m) => {
                return Err(format!(
                    "`telegram.mode`: `{m}` must be \"polling\" or \"webhook\""
                ));
            }
        }
        let is_url = |u: &str| {
            (u.starts_with("https://") || u.starts_with("http://"))
                && reqwest::Url::parse(u).is_ok()
        };
        if let Some(u) = &self.api_url
            && !is_url(u)
        {
            return Err(format!(
                "`telegram.api_url`: `{u}` is not an http(s) URL (default https://api.telegram.org)"
            ));
        }
        if self.webhook_mode() {
            match &self.webhook_url {
                None => {
                    return Err(
                        "`telegram.webhook_url` is required when `telegram.mode` is \"webhook\""
                            .into(),
                    );
                }
                Some(u) if !is_url(u) => {
                    return Err(format!("`telegram.webhook_url`: `{u}` is not an https URL"));
                }
                _ => {}
            }
            let secret = self
                .webhook_secret
                .as_ref()
                .map(|s| s.expose())
                .unwrap_or("");
            if secret.is_empty() {
                return Err(
                    "`telegram.webhook_secret` is required when `telegram.mode` is \"webhook\""
                        .into(),
                );
            }
            // Telegram's rule for `secret_token`.
            if secret.len() > 256
                || !secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err("`telegram.webhook_secret` must be 1–256 characters of A–Z, a–z, 0–9, `_` and `-`".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Result<Option<TelegramConfig>, ConfigError> {
        crate::channels::config_tests::parse(text, TelegramConfig::from_config)
    }

    fn rejects(text: &str, needle: &str) -> ConfigError {
        crate::channels::config_tests::rejects(text, TelegramConfig::from_config, needle)
    }

    #[test]
    fn telegram_mode_and_webhook_keys_are_checked() {
        let base = "[office]\nname = \"X\"\n[telegram]\ntoken = \"1:A\"\n";
        rejects(&format!("{base}mode = \"push\"\n"), "`telegram.mode`");
        rejects(
            &format!("{base}mode = \"webhook\"\nwebhook_secret = \"abc\"\n"),
            "`telegram.webhook_url`",
        );
        rejects(
            &format!(
                "{base}mode = \"webhook\"\nwebhook_url = \"https://pst.example.go.id/webhook/telegram\"\n"
            ),
            "`telegram.webhook_secret`",
        );
        rejects(
            &format!(
                "{base}mode = \"webhook\"\nwebhook_url = \"https://pst.example.go.id/webhook/telegram\"\nwebhook_secret = \"with space\"\n"
            ),
            "`telegram.webhook_secret`",
        );
        rejects(
            &format!("{base}api_url = \"localhost:8081\"\n"),
            "`telegram.api_url`",
        );
        let c = parse(&format!(
            "{base}mode = \"webhook\"\nwebhook_url = \"https://pst.example.go.id/webhook/telegram\"\nwebhook_secret = \"s3cret-Token_1\"\nadmin_chat_id = -1001234567890\n"
        ))
        .unwrap();
        let tg = c.unwrap();
        assert!(tg.webhook_mode());
        assert_eq!(tg.admin_chat_id, Some(-1001234567890));
        assert!(!parse(base).unwrap().unwrap().webhook_mode());
    }

    #[test]
    fn secrets_come_from_the_environment_and_are_masked() {
        let c = Config::parse(Path::new("c.toml"), "[office]\nname = \"X\"\n", |k| {
            (k == "PSTBOT_TELEGRAM_TOKEN").then(|| "123:ABC".to_string())
        })
        .unwrap();
        let tg = TelegramConfig::from_config(&c).unwrap().unwrap();
        assert_eq!(tg.token.as_ref().unwrap().expose(), "123:ABC");
        assert!(!format!("{c:?}").contains("123:ABC"));
        assert!(!format!("{tg:?}").contains("123:ABC"));
    }

    #[test]
    fn a_wrong_type_names_its_key_and_line() {
        let e = rejects(
            "[office]\nname = \"X\"\n[telegram]\nadmin_chat_id = \"group\"\n",
            "`telegram.admin_chat_id` (line 4)",
        );
        assert!(e.problem.starts_with("invalid value"), "{}", e.problem);
        let c = Config::parse(
            Path::new("c.toml"),
            "[office]\nname = \"X\"\n[telegram]\ntoken = \"1:A\"\ncolour = 1\n",
            |_| None,
        )
        .unwrap();
        let read = TelegramConfig::read(&c).unwrap().unwrap();
        assert_eq!(read.unknown_keys, vec!["telegram.colour"]);
    }
}
