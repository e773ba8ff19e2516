//! `[whatsapp]`: the business number's id, the credentials (the access token and app secret
//! may come from the environment), the Graph API's address, the officers' numbers, the webhook
//! body limit and the approved templates by notification kind.

use crate::config::{Config, ConfigError, OfficerConfig, Read, Secret, Section};
use serde::Deserialize;

/// Meta's Graph API, the version pstbot is written against.
pub const DEFAULT_GRAPH_API_URL: &str = "https://graph.facebook.com/v21.0";

/// The WhatsApp Business Cloud API channel (docs/channels/whatsapp.md).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WhatsappConfig {
    /// The business phone number's id (WhatsApp Manager → API setup), not the number itself.
    pub phone_number_id: Option<String>,
    /// A system user's permanent token with `whatsapp_business_messaging`.
    pub access_token: Option<Secret>,
    /// The Meta app's secret: webhook posts are signed with it (`X-Hub-Signature-256`).
    pub app_secret: Option<Secret>,
    /// The token typed into the webhook settings; Meta's verification request repeats it.
    pub verify_token: Option<Secret>,
    /// Default [`DEFAULT_GRAPH_API_URL`]; tests point it at 127.0.0.1.
    pub graph_api_url: Option<String>,
    /// Officers' WhatsApp numbers that receive the officers' admin chat (when no Telegram
    /// group hosts it). Each must be the `whatsapp` of an `[[officers]]` entry.
    #[serde(default)]
    pub officer_numbers: Vec<String>,
    /// Largest webhook body accepted (413 beyond).
    pub max_body_bytes: Option<usize>,
    /// Approved message templates by notification kind ([`crate::message::TOPIC_KINDS`]),
    /// used outside the 24-hour customer-service window.
    #[serde(default)]
    pub templates: std::collections::BTreeMap<String, WhatsappTemplate>,
}

/// One approved WhatsApp message template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WhatsappTemplate {
    /// The template's name as approved in WhatsApp Manager.
    pub name: String,
    /// Its language code as approved (`id`, `en`, `en_US`).
    pub language: String,
    /// Which of the notification's values fill the body placeholders `{{1}}`, `{{2}}`, … in
    /// order: positions in the notification's params, from 1 (see [`crate::message::Topic`]).
    /// Default: all of them in order.
    #[serde(default)]
    pub params: Option<Vec<usize>>,
}

/// Default largest WhatsApp webhook body: Meta batches up to 1000 updates per post.
pub const DEFAULT_WHATSAPP_MAX_BODY: usize = 1024 * 1024;

impl Section for WhatsappConfig {
    const NAME: &'static str = "whatsapp";
}

impl WhatsappConfig {
    /// `[whatsapp]` with the access token and app secret from the environment
    /// (`PSTBOT_WHATSAPP_ACCESS_TOKEN`, `PSTBOT_WHATSAPP_APP_SECRET`), checked against the
    /// officers; `None` when neither the section nor a variable is there.
    pub fn read(config: &Config) -> Result<Option<Read<WhatsappConfig>>, ConfigError> {
        let sections = &config.channels;
        let mut read = sections.read::<WhatsappConfig>()?;
        if let Some(v) = sections.env("PSTBOT_WHATSAPP_ACCESS_TOKEN") {
            read.get_or_insert_with(Read::empty).value.access_token = Some(Secret(v));
        }
        if let Some(v) = sections.env("PSTBOT_WHATSAPP_APP_SECRET") {
            read.get_or_insert_with(Read::empty).value.app_secret = Some(Secret(v));
        }
        if let Some(r) = &read {
            r.value
                .validate(&config.officers)
                .map_err(|p| sections.error(p))?;
        }
        Ok(read)
    }

    /// [`WhatsappConfig::read`] without the unknown keys.
    pub fn from_config(config: &Config) -> Result<Option<WhatsappConfig>, ConfigError> {
        Ok(Self::read(config)?.map(|r| r.value))
    }

    /// Whether the channel can run: all four credentials are set.
    pub fn is_complete(&self) -> bool {
        let set = |s: &Option<Secret>| s.as_ref().is_some_and(|s| !s.expose().is_empty());
        self.phone_number_id
            .as_deref()
            .is_some_and(|s| !s.is_empty())
            && set(&self.access_token)
            && set(&self.app_secret)
            && set(&self.verify_token)
    }

    pub fn graph_url(&self) -> &str {
        self.graph_api_url
            .as_deref()
            .unwrap_or(DEFAULT_GRAPH_API_URL)
            .trim_end_matches('/')
    }

    pub fn max_body(&self) -> usize {
        self.max_body_bytes.unwrap_or(DEFAULT_WHATSAPP_MAX_BODY)
    }

    /// Checks the keys (after environment overrides); `officers` are the configured officers.
    fn validate(&self, officers: &[OfficerConfig]) -> Result<(), String> {
        if let Some(id) = &self.phone_number_id
            && (id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(format!(
                "`whatsapp.phone_number_id`: `{id}` is not a phone number id (digits, from WhatsApp Manager → API setup; not the phone number)"
            ));
        }
        if self.phone_number_id.is_some() {
            for (key, env, v) in [
                (
                    "access_token",
                    Some("PSTBOT_WHATSAPP_ACCESS_TOKEN"),
                    &self.access_token,
                ),
                (
                    "app_secret",
                    Some("PSTBOT_WHATSAPP_APP_SECRET"),
                    &self.app_secret,
                ),
                ("verify_token", None, &self.verify_token),
            ] {
                if v.as_ref().is_none_or(|s| s.expose().is_empty()) {
                    let or_env = env.map(|e| format!(" (or {e})")).unwrap_or_default();
                    return Err(format!(
                        "`whatsapp.{key}`{or_env} is required when `whatsapp.phone_number_id` is set"
                    ));
                }
            }
        }
        let u = self.graph_url();
        if !((u.starts_with("https://") || u.starts_with("http://"))
            && reqwest::Url::parse(u).is_ok())
        {
            return Err(format!(
                "`whatsapp.graph_api_url`: `{u}` is not an http(s) URL (default {DEFAULT_GRAPH_API_URL})"
            ));
        }
        if self.max_body_bytes.is_some_and(|n| n < 1024) {
            return Err("`whatsapp.max_body_bytes` must be at least 1024".into());
        }
        for n in &self.officer_numbers {
            let Some(digits) = crate::message::phone_digits(n) else {
                return Err(format!(
                    "`whatsapp.officer_numbers`: `{n}` is not a phone number in international form like \"+6281234567890\""
                ));
            };
            let known = officers.iter().any(|o| {
                o.whatsapp.as_deref().and_then(crate::message::phone_digits) == Some(digits.clone())
            });
            if !known {
                return Err(format!(
                    "`whatsapp.officer_numbers`: `{n}` is no officer's number; add `whatsapp = \"+{digits}\"` to that officer's `[[officers]]` entry so their commands are recognised"
                ));
            }
        }
        for (kind, t) in &self.templates {
            let Some(count) = crate::message::Topic::param_count(kind) else {
                let kinds: Vec<&str> = crate::message::TOPIC_KINDS
                    .iter()
                    .map(|(k, _)| *k)
                    .collect();
                return Err(format!(
                    "`whatsapp.templates.{kind}`: no such notification kind (one of {})",
                    kinds.join(", ")
                ));
            };
            if t.name.is_empty()
                || t.name.len() > 512
                || !t
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(format!(
                    "`whatsapp.templates.{kind}.name`: `{}` is not a template name (lowercase letters, digits and _)",
                    t.name
                ));
            }
            let lang_ok = {
                let (l, region) = t.language.split_once('_').unwrap_or((&t.language, ""));
                (2..=3).contains(&l.len())
                    && l.chars().all(|c| c.is_ascii_lowercase())
                    && (region.is_empty()
                        || (region.len() == 2 && region.chars().all(|c| c.is_ascii_uppercase())))
            };
            if !lang_ok {
                return Err(format!(
                    "`whatsapp.templates.{kind}.language`: `{}` is not a template language code like \"id\" or \"en_US\"",
                    t.language
                ));
            }
            if let Some(p) = &t.params
                && let Some(bad) = p.iter().find(|i| **i == 0 || **i > count)
            {
                return Err(format!(
                    "`whatsapp.templates.{kind}.params`: {bad} is not a position between 1 and {count} (a {kind} notification carries {count} value(s))"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Result<Option<WhatsappConfig>, ConfigError> {
        crate::channels::config_tests::parse(text, WhatsappConfig::from_config)
    }

    fn rejects(text: &str, needle: &str) -> ConfigError {
        crate::channels::config_tests::rejects(text, WhatsappConfig::from_config, needle)
    }

    #[test]
    fn whatsapp_keys_are_checked() {
        let officer = "[[officers]]\nid = \"rina\"\nname = \"Rina\"\nroles = [\"petugas\"]\nwhatsapp = \"+6281111111111\"\n";
        let base = format!(
            "[office]\nname = \"X\"\n{officer}[whatsapp]\nphone_number_id = \"106540352242922\"\naccess_token = \"EAAG\"\napp_secret = \"s\"\nverify_token = \"v\"\n"
        );
        let c = parse(&base).unwrap();
        let wa = c.unwrap();
        assert!(wa.is_complete());
        assert_eq!(wa.graph_url(), DEFAULT_GRAPH_API_URL);
        rejects(
            &base.replace("106540352242922", "+62 812"),
            "`whatsapp.phone_number_id`",
        );
        rejects(
            &base.replace("app_secret = \"s\"\n", ""),
            "`whatsapp.app_secret` (or PSTBOT_WHATSAPP_APP_SECRET)",
        );
        let c = Config::parse(
            Path::new("c.toml"),
            &base.replace("app_secret = \"s\"\n", ""),
            |k| (k == "PSTBOT_WHATSAPP_APP_SECRET").then(|| "from-env".to_string()),
        )
        .unwrap();
        assert_eq!(
            WhatsappConfig::from_config(&c)
                .unwrap()
                .as_ref()
                .unwrap()
                .app_secret
                .as_ref()
                .unwrap()
                .expose(),
            "from-env"
        );
        assert!(!format!("{c:?}").contains("from-env"));
        rejects(
            &format!("{base}graph_api_url = \"graph.facebook.com\"\n"),
            "`whatsapp.graph_api_url`",
        );
        rejects(
            &format!("{base}officer_numbers = [\"+6289999999999\"]\n"),
            "no officer's number",
        );
        assert!(
            parse(&format!(
                "{base}officer_numbers = [\"+62 811-1111-1111\"]\n"
            ))
            .is_ok()
        );
        let tpl = |t: &str| format!("{base}[whatsapp.templates.{t}\n");
        rejects(
            &tpl("case_moved]\nname = \"x\"\nlanguage = \"id\""),
            "no such notification kind",
        );
        rejects(
            &tpl("case_update]\nname = \"Case Update\"\nlanguage = \"id\""),
            "`whatsapp.templates.case_update.name`",
        );
        rejects(
            &tpl("case_update]\nname = \"pst_update\"\nlanguage = \"indonesian\""),
            ".language`",
        );
        rejects(
            &tpl("case_update]\nname = \"pst_update\"\nlanguage = \"id\"\nparams = [1, 3]"),
            "between 1 and 2",
        );
        let c = parse(&tpl(
            "case_update]\nname = \"pst_update\"\nlanguage = \"en_US\"\nparams = [2, 1]",
        ))
        .unwrap();
        assert_eq!(c.unwrap().templates["case_update"].params, Some(vec![2, 1]));
    }
}
