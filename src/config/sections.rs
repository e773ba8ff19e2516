//! The channels' sections of the config file (`[telegram]`, `[email]`, …), kept as written:
//! the core config does not know them; each channel reads its own ([`Sections::read`]) with
//! the same errors, line numbers and unknown-key reports as the rest of the file, and applies
//! its own secrets from the environment ([`Sections::env`]).

use super::{ConfigError, describe_toml_error};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Looks up an environment variable; injected so tests need not touch the process's.
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A channel's config section: the type its `[NAME]` table reads into. Each channel declares
/// its own in its folder (`crate::channels`); this file knows none of them.
pub trait Section: DeserializeOwned + Clone + Send + Sync + 'static {
    /// The table's name in the file (`telegram` for `[telegram]`).
    const NAME: &'static str;
}

/// A section as read: its value and the keys in it pstbot does not know (as `name.key`).
#[derive(Debug, Clone)]
pub struct Read<T> {
    pub value: T,
    pub unknown_keys: Vec<String>,
}

impl<T: Default> Read<T> {
    /// A section with nothing set: what a secret from the environment alone makes.
    pub fn empty() -> Read<T> {
        Read {
            value: T::default(),
            unknown_keys: Vec::new(),
        }
    }
}

/// The top-level tables the core config does not read — the channels' sections — kept as
/// written, with the environment, so each channel reads its own section (errors keep their
/// line numbers) and applies its own secrets. Never printed: only the names show in `Debug`.
#[derive(Clone)]
pub struct Sections {
    file: PathBuf,
    text: Arc<str>,
    names: Vec<String>,
    /// Sections given in code instead of the file (tests, embedders), by name.
    given: BTreeMap<&'static str, Arc<dyn Any + Send + Sync>>,
    env: Env,
}

impl fmt::Debug for Sections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sections")
            .field("names", &self.names)
            .field("given", &self.given.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Sections {
    /// The sections `names` of config `text` (read from `file`), with `env`.
    pub(super) fn new(file: &Path, text: &str, names: Vec<String>, env: Env) -> Sections {
        Sections {
            file: file.to_path_buf(),
            text: Arc::from(text),
            names,
            given: BTreeMap::new(),
            env,
        }
    }

    /// The top-level tables (and keys) of the file the core config does not read, in file
    /// order: each is a channel's section or a typo.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Reads section `T::NAME`: `None` when the file has no such table and none was given.
    /// A value of the wrong type is refused with its key and line, as in the rest of the file.
    pub fn read<T: Section>(&self) -> Result<Option<Read<T>>, ConfigError> {
        if let Some(v) = self.given.get(T::NAME) {
            return Ok(v.downcast_ref::<T>().map(|value| Read {
                value: value.clone(),
                unknown_keys: Vec::new(),
            }));
        }
        if !self.names.iter().any(|n| n == T::NAME) {
            return Ok(None);
        }
        let fail = |e: &toml::de::Error| self.error(describe_toml_error(&self.text, e));
        let de = toml::Deserializer::parse(&self.text).map_err(|e| fail(&e))?;
        let mut ignored = Vec::new();
        let prefix = format!("{}.", T::NAME);
        let value = serde::de::DeserializeSeed::deserialize(
            OneTable::<T>(T::NAME, std::marker::PhantomData),
            serde_ignored::Deserializer::new(de, &mut |p: serde_ignored::Path| {
                let p = p.to_string();
                if p.starts_with(&prefix) {
                    ignored.push(p);
                }
            }),
        )
        .map_err(|e| fail(&e))?;
        Ok(value.map(|value| Read {
            value,
            unknown_keys: ignored,
        }))
    }

    /// Gives section `T::NAME` in code, in place of what the file says.
    pub fn set<T: Section>(&mut self, value: T) {
        self.given.insert(T::NAME, Arc::new(value));
    }

    /// An environment variable (secrets may come from there instead of the file).
    pub fn env(&self, var: &str) -> Option<String> {
        (self.env)(var)
    }

    /// A problem with a section, naming the config file.
    pub fn error(&self, problem: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.file, problem)
    }
}

/// Deserializes one top-level table of a document and skips the others.
struct OneTable<'n, T>(&'n str, std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> serde::de::DeserializeSeed<'de> for OneTable<'_, T> {
    type Value = Option<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for OneTable<'_, T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML document")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.0 {
                found = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[derive(Debug, Clone, Default, Deserialize, PartialEq)]
    struct Pager {
        number: Option<String>,
        key: Option<crate::config::Secret>,
    }

    impl Section for Pager {
        const NAME: &'static str = "pager";
    }

    #[test]
    fn a_channel_reads_its_own_table_and_the_core_does_not() {
        let text = "[office]\nname = \"X\"\n[pager]\nnumber = \"1\"\nkey = \"sekret\"\ncolour = 1\n[pagr]\nx = 1\n";
        let mut c = Config::parse(Path::new("c.toml"), text, |_| None).unwrap();
        assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
        assert_eq!(c.channels.names(), ["pager", "pagr"]);
        let read = c.channels.read::<Pager>().unwrap().unwrap();
        assert_eq!(read.value.number.as_deref(), Some("1"));
        assert_eq!(read.unknown_keys, ["pager.colour"]);
        assert!(!format!("{c:?}").contains("sekret"));
        c.channels.set(Pager {
            number: Some("2".into()),
            key: None,
        });
        let given = c.channels.read::<Pager>().unwrap().unwrap();
        assert_eq!(given.value.number.as_deref(), Some("2"));
        let e = Config::parse(
            Path::new("c.toml"),
            "[office]\nname = \"X\"\n[pager]\nnumber = 5\n",
            |_| None,
        )
        .unwrap()
        .channels
        .read::<Pager>()
        .unwrap_err();
        assert!(
            e.problem
                .contains("invalid value for `pager.number` (line 4)"),
            "{}",
            e.problem
        );
    }
}
