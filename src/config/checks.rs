//! The checks a parsed config passes before the service starts: each names the key at fault.

use super::{OfficerConfig, RawConfig, Secret, StoreBackend, StoreConfig};

/// The languages and the office: codes, time zone, name.
pub(super) fn check_office(raw: &RawConfig) -> Result<(), String> {
    if raw.languages.is_empty() {
        return Err("`languages` must name at least one language".into());
    }
    for l in &raw.languages {
        if l.len() < 2 || l.len() > 8 || !l.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            return Err(format!(
                "`languages`: `{l}` is not a language code like \"id\" or \"en\""
            ));
        }
    }
    if raw.office.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(format!(
            "`office.timezone`: `{}` is not a time zone (e.g. Asia/Jakarta, Asia/Makassar, Asia/Jayapura)",
            raw.office.timezone
        ));
    }
    if raw.office.name.trim().is_empty() {
        return Err("`office.name` must not be empty".into());
    }
    Ok(())
}

/// Durations, sizes and limits an office may set too low.
pub(super) fn check_limits(raw: &RawConfig) -> Result<(), String> {
    const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    if raw.conversation.idle_timeout < std::time::Duration::from_secs(1) {
        return Err("`conversation.idle_timeout` must be at least one second".into());
    }
    if raw.store.compression > 22 {
        return Err(format!(
            "`store.compression` must be a zstd level from 1 to 22, or 0 for none (not {})",
            raw.store.compression
        ));
    }
    if raw.store.dedupe_kept < DAY {
        return Err("`store.dedupe_kept` must be at least one day".into());
    }
    if raw.store.sent_text_kept < DAY {
        return Err("`store.sent_text_kept` must be at least one day".into());
    }
    if raw.privacy.retention < DAY {
        return Err("`privacy.retention` must be at least one day".into());
    }
    if raw.delivery.max_attempts < 1 {
        return Err("`delivery.max_attempts` must be at least 1".into());
    }
    for (ch, l) in &raw.delivery.limits {
        if crate::message::ChannelKind::parse(ch).is_none() {
            return Err(format!("`delivery.limits.{ch}`: no such channel"));
        }
        if l.per_chat_per_minute == 0 || l.group_per_minute == 0 || l.per_second == 0 {
            return Err(format!(
                "`delivery.limits.{ch}`: every limit must be at least 1"
            ));
        }
    }
    if raw
        .reminders
        .stage_percents
        .iter()
        .any(|p| *p == 0 || *p >= 100)
    {
        return Err("`reminders.stage_percents`: each share must be between 1 and 99".into());
    }
    if raw.conversation.max_message_chars < 16 {
        return Err("`conversation.max_message_chars` must be at least 16".into());
    }
    Ok(())
}

/// Officers: unique ids, at least one role, a usable `email_secret`.
pub(super) fn check_officers(officers: &[OfficerConfig]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for o in officers {
        if !seen.insert(o.id.clone()) {
            return Err(format!("`officers`: id `{}` is used twice", o.id));
        }
        if o.roles.is_empty() {
            return Err(format!("`officers`: `{}` has no roles", o.id));
        }
        if o.email_secret.as_ref().is_some_and(|s| {
            s.expose().chars().count() < 16
                || !s
                    .expose()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            return Err(format!(
                "`officers`: `{}`: `email_secret` needs at least 16 letters, digits, `-` or `_`",
                o.id
            ));
        }
    }
    Ok(())
}

/// Names the key at the error's position (`[table]` header + the key on that line), so an
/// office sees `office.timezone` and not just a byte offset.
pub(crate) fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    let Some(span) = e.span() else {
        return format!("invalid configuration: {msg}");
    };
    let before = &text[..span.start.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = text[line_start..].lines().next().unwrap_or("");
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let key = line.split_once('=').map(|(k, _)| k.trim().to_string());
    let full = match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) => Some(t),
        (None, None) => None,
    };
    match full {
        Some(k) => format!("invalid value for `{k}` (line {line_no}): {msg}"),
        None => format!("invalid configuration (line {line_no}): {msg}"),
    }
}

/// The `[store]` section: PostgreSQL needs its URL (`PSTBOT_STORE_URL` wins over the file),
/// and a pool of a sane size.
pub(super) fn check_store(
    store: &mut StoreConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    if let Some(url) = env("PSTBOT_STORE_URL") {
        store.url = Some(Secret(url));
    }
    if store.backend == StoreBackend::Postgres
        && store
            .url
            .as_ref()
            .is_none_or(|u| u.expose().trim().is_empty())
    {
        return Err(
            "`store.backend = \"postgres\"` needs `store.url` (or PSTBOT_STORE_URL): postgresql://user:password@host:5432/database".into(),
        );
    }
    if store.pool_size < 2 || store.pool_size > 1000 {
        return Err(format!(
            "`store.pool_size` must be from 2 to 1000 (not {})",
            store.pool_size
        ));
    }
    Ok(())
}
