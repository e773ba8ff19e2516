//! `[sms]`: the gateway's address and key (or `PSTBOT_SMS_API_KEY`), the sender name, and the
//! webhook's shared secret.

use crate::config::{Config, ConfigError, Read, Secret, Section};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SmsConfig {
    pub gateway_url: Option<String>,
    pub api_key: Option<Secret>,
    pub sender: Option<String>,
    pub webhook_secret: Option<Secret>,
}

impl Section for SmsConfig {
    const NAME: &'static str = "sms";
}

impl SmsConfig {
    /// `[sms]` with the API key from the environment; `None` when neither the section nor the
    /// variable is there.
    pub fn read(config: &Config) -> Result<Option<Read<SmsConfig>>, ConfigError> {
        let sections = &config.channels;
        let mut read = sections.read::<SmsConfig>()?;
        if let Some(v) = sections.env("PSTBOT_SMS_API_KEY") {
            read.get_or_insert_with(Read::empty).value.api_key = Some(Secret(v));
        }
        Ok(read)
    }

    /// [`SmsConfig::read`] without the unknown keys.
    pub fn from_config(config: &Config) -> Result<Option<SmsConfig>, ConfigError> {
        Ok(Self::read(config)?.map(|r| r.value))
    }
}
