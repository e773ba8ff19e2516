//! The follow-ups of a plan, worked out inside its commit: its messages (each notification to
//! an applicant also copied to their e-mail address) and the reminders of every case it writes.

use crate::cases::Case;
use crate::dialogs::Bot;
use crate::message::{ChannelKind, Identity, OutboundMessage};
use crate::plan::{PlanContext, Render};
use crate::store::{Applied, Commit, Followups, Store, StoreError, Timer};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The follow-ups of one plan: its rendered messages, and the reminders of each case it writes.
pub(crate) struct PlanFollowups {
    bot: Arc<Bot>,
    render: Render,
    now: DateTime<Utc>,
    /// The e-mail address of each recipient who gave one (and whose mail does not bounce):
    /// every notification to them also goes there.
    emails: BTreeMap<Identity, String>,
}

impl PlanFollowups {
    /// The follow-ups of a plan made in `ctx`: its messages (with e-mail copies) and the
    /// reminders of the cases it writes.
    pub(crate) fn new(
        ctx: &PlanContext<'_>,
        commit: &Commit,
        render: Render,
    ) -> Result<Self, StoreError> {
        let emails = recipient_emails(ctx.store, commit, &render)?;
        Ok(PlanFollowups {
            bot: ctx.bot.clone(),
            render,
            now: ctx.now,
            emails,
        })
    }
}

impl Followups for PlanFollowups {
    fn messages(&self, applied: &Applied) -> Vec<OutboundMessage> {
        with_email_copies((self.render)(applied), &self.emails)
    }

    fn case_timers(&self, case: &Case) -> Vec<Timer> {
        crate::reminders::case_timers(&self.bot, case, self.now)
    }
}

/// Adds, after every notification (a message with a [`Topic`](crate::message::Topic)) to an applicant on another
/// channel, the same notification by e-mail when that applicant gave an address: the SOP
/// notifies by e-mail too. Conversation replies (no topic) are not copied.
fn with_email_copies(
    msgs: Vec<OutboundMessage>,
    emails: &BTreeMap<Identity, String>,
) -> Vec<OutboundMessage> {
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        let copy = match (&m.topic, emails.get(&m.to)) {
            (Some(_), Some(addr))
                if !matches!(m.to.channel, ChannelKind::Email | ChannelKind::Officers) =>
            {
                let mut c = m.clone();
                c.to = Identity::new(ChannelKind::Email, addr.clone());
                c.choices.clear();
                c.ask_contact = false;
                Some(c)
            }
            _ => None,
        };
        out.push(m);
        out.extend(copy);
    }
    out
}

/// The e-mail addresses of the people a plan writes to (read before the transaction: the
/// render is pure and addresses its messages the same whatever numbers the commit assigns).
/// A guest book saved by the same commit counts; addresses whose mail bounced do not.
fn recipient_emails(
    store: &dyn Store,
    commit: &Commit,
    render: &Render,
) -> Result<BTreeMap<Identity, String>, StoreError> {
    let mut emails = BTreeMap::new();
    let draft = render(&Applied::default());
    for m in &draft {
        if matches!(m.to.channel, ChannelKind::Email | ChannelKind::Officers)
            || emails.contains_key(&m.to)
        {
            continue;
        }
        let saved = match &commit.guest {
            Some(u) if commit.who == m.to => u
                .profile
                .get("email")
                .and_then(|a| a.as_text())
                .map(|e| e.trim().to_string())
                .filter(|e| e.contains('@')),
            _ => None,
        };
        let addr = match saved {
            Some(a) => Some(a),
            None => store.email_of(&m.to)?,
        };
        if let Some(a) = addr
            && !store.address_failing(&Identity::new(ChannelKind::Email, a.clone()))?
        {
            emails.insert(m.to.clone(), a);
        }
    }
    Ok(emails)
}
