//! Planning: what handling a message (or a fired timer, or an officer's command) will do, before
//! anything is written. A [`Plan`] is one store commit plus how to word its messages once the
//! commit has assigned numbers; [`CaseEdits`] gathers the cases a plan changes; [`notify`] words
//! a case's stage changes; [`PlanContext`] is all a planner may read. The planners (officers'
//! commands in `admin`, reminders, privacy) build plans from a context; the runtime commits
//! them.

pub mod context;
pub mod files;
pub mod notify;
pub mod recent;

pub use context::PlanContext;
pub use files::{attachment_ref, sanitize_filename};

use crate::cases::{Case, CaseNumber};
use crate::message::{MailParent, OutboundMessage};
use crate::store::{Applied, Commit, Store, StoreError};
use std::collections::BTreeMap;

/// What handling one message will do: the commit, and how to word the messages once the commit
/// has assigned numbers (case, queue ticket).
pub struct Plan {
    pub commit: Commit,
    pub render: Render,
}

/// Words the messages of a plan once its commit is applied. Called inside the store
/// transaction (perhaps more than once, if the transaction is retried), so it must be pure.
pub type Render = Box<dyn Fn(&Applied) -> Vec<OutboundMessage> + Send + Sync>;

impl Plan {
    /// The plan with its messages to `to` marked as answers to the mail `parent` (what `to`
    /// wrote): the e-mail channel threads them under it.
    pub fn answering(mut self, to: &crate::message::Identity, parent: MailParent) -> Plan {
        let (render, to) = (self.render, to.clone());
        self.render = Box::new(move |applied| {
            let mut out = render(applied);
            for m in out.iter_mut().filter(|m| m.to == to) {
                m.answers = Some(parent.clone());
            }
            out
        });
        self
    }
}

/// Cases a plan changes: read once, edited, written back with the version bumped once.
pub struct CaseEdits {
    cases: BTreeMap<CaseNumber, Case>,
}

impl CaseEdits {
    pub fn new() -> Self {
        CaseEdits {
            cases: BTreeMap::new(),
        }
    }

    /// The case to edit (read from the store the first time).
    pub fn get(
        &mut self,
        store: &dyn Store,
        n: &CaseNumber,
    ) -> Result<Option<&mut Case>, StoreError> {
        if !self.cases.contains_key(n) {
            match store.case(n)? {
                Some(c) => {
                    self.cases.insert(n.clone(), c);
                }
                None => return Ok(None),
            }
        }
        Ok(self.cases.get_mut(n))
    }

    /// Puts the edited cases into the commit, each one version newer than it was read.
    pub fn into_commit(self, commit: &mut Commit) {
        for (_, mut c) in self.cases {
            c.version += 1;
            commit.case_updates.push(c);
        }
    }
}

impl Default for CaseEdits {
    fn default() -> Self {
        Self::new()
    }
}
