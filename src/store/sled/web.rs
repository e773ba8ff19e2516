//! The sled store's web chat sessions and conversation logs (trees apart from the commit's:
//! a commit never writes them).

use super::SledStore;
use super::keys::{counter_value, dec, enc, web_key, web_seq};
use super::tx::TxResult;
use crate::store::records::{WebLogEntry, WebSession};
use crate::store::{Result, StoreError, WebChatStore};
use ::sled::Transactional;
use ::sled::transaction::TransactionError;

impl WebChatStore for SledStore {
    fn web_session(&self, id: &str) -> Result<Option<WebSession>> {
        match self.e()?.web[0].get(id.as_bytes())? {
            Some(v) => Ok(Some(dec(id.as_bytes(), &v)?)),
            None => Ok(None),
        }
    }

    fn put_web_session(&self, session: &WebSession) -> Result<()> {
        let r = (move || -> Result<()> {
            let _writing = self.writing();
            self.e()?.web[0].insert(session.id.as_bytes(), enc(session))?;
            Ok(())
        })();
        self.noted(r)
    }

    fn web_log_append(&self, session: &str, key: &str, entry: &WebLogEntry) -> Result<(u64, bool)> {
        let r = (move || -> Result<(u64, bool)> {
            let _writing = self.writing();
            let kkey = web_key(session, key.as_bytes());
            let value = enc(entry);
            let trees = [&self.e()?.web[1], &self.e()?.web[2]];
            let r = trees.transaction(|t| -> TxResult<(u64, bool)> {
                if let Some(v) = t[1].get(&kkey)? {
                    return Ok((counter_value(Some(v)), false));
                }
                let seq = t[0].generate_id()? + 1;
                t[0].insert(web_key(session, &seq.to_be_bytes()), value.clone())?;
                t[1].insert(kkey.as_slice(), &seq.to_be_bytes())?;
                Ok((seq, true))
            });
            match r {
                Ok(v) => Ok(v),
                Err(TransactionError::Abort(a)) => Err(StoreError::Engine(format!("{a:?}"))),
                Err(TransactionError::Storage(e)) => Err(e.into()),
            }
        })();
        self.noted(r)
    }

    fn web_log(&self, session: &str, after: u64, limit: usize) -> Result<Vec<(u64, WebLogEntry)>> {
        let start = web_key(session, &after.saturating_add(1).to_be_bytes());
        let end = web_key(session, &u64::MAX.to_be_bytes());
        self.e()?.web[1]
            .range(start..=end)
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((web_seq(&k)?, dec(&k, &v)?))
            })
            .collect()
    }

    fn web_log_tail(&self, session: &str, limit: usize) -> Result<Vec<(u64, WebLogEntry)>> {
        let start = web_key(session, &0u64.to_be_bytes());
        let end = web_key(session, &u64::MAX.to_be_bytes());
        let mut v = self.e()?.web[1]
            .range(start..=end)
            .rev()
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                Ok((web_seq(&k)?, dec(&k, &v)?))
            })
            .collect::<Result<Vec<_>>>()?;
        v.reverse();
        Ok(v)
    }
}
