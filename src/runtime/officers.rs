//! Who is an officer: the identities of the officers in the config, and the proof a channel
//! must give before a message counts as theirs.

use super::Runtime;
use crate::config::OfficerConfig;
use crate::message::{ChannelKind, Identity, InboundMessage, Trust};

impl Runtime {
    /// The officer this identity belongs to, if any. An e-mail address alone is no proof of
    /// who wrote (anyone can put it in `From:`): e-mail identities match only through
    /// [`Runtime::officer_of`], for mail the channel proved.
    pub fn officer(&self, who: &Identity) -> Option<&OfficerConfig> {
        self.officers.iter().find(|o| self.officer_ids.is(o, who))
    }

    /// The officer whose e-mail address this is (a claim to be proven by the channel).
    pub fn officer_by_email(&self, address: &str) -> Option<&OfficerConfig> {
        self.officers.iter().find(|o| {
            o.email
                .as_deref()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(address.trim()))
        })
    }

    /// The officer who sent `msg`: only when the channel vouches for the sender.
    pub fn officer_of(&self, msg: &InboundMessage) -> Option<&OfficerConfig> {
        match (msg.trust, msg.from.channel) {
            (Trust::Claimed, _) => None,
            (Trust::Proven, ChannelKind::Email) => self.officer_by_email(&msg.from.address),
            (Trust::Proven, _) => self.officer(&msg.from),
        }
    }
}
