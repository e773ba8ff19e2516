//! How fast the delivery worker may send: the rate limits of a channel, and the backoff before
//! a retry.

use crate::config::{DeliveryConfig, RateLimit};
use crate::message::{ChannelKind, Identity};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::time::Duration;

/// The wait before retry number `attempt` (1-based): initial × 2^(attempt-1), at most `max`,
/// with ±20% jitter so many failed rows do not retry in lockstep.
pub fn backoff(cfg: &DeliveryConfig, attempt: u32) -> Duration {
    let exp = cfg
        .backoff_initial
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let base = exp.min(cfg.backoff_max);
    let jitter = 0.8 + fastrand::f64() * 0.4;
    base.mul_f64(jitter)
}

/// The rate limits of one channel: per chat (or the officers' group) and overall.
pub(super) struct Limits {
    per_chat: DefaultKeyedRateLimiter<Identity>,
    group: DefaultDirectRateLimiter,
    global: DefaultDirectRateLimiter,
    /// Built once: making a clock reads the CPU's features (a profile showed ~3 % of the
    /// bot's time in building one per check).
    clock: DefaultClock,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("at least 1")
}

impl Limits {
    pub(super) fn new(l: RateLimit) -> Limits {
        Limits {
            // Short bursts are fine (a reply is often two or three messages); the rate holds.
            per_chat: DefaultKeyedRateLimiter::keyed(
                Quota::per_minute(nz(l.per_chat_per_minute)).allow_burst(nz(3)),
            ),
            group: DefaultDirectRateLimiter::direct(
                Quota::per_minute(nz(l.group_per_minute)).allow_burst(nz(3)),
            ),
            global: DefaultDirectRateLimiter::direct(Quota::per_second(nz(l.per_second))),
            clock: DefaultClock::default(),
        }
    }

    /// Takes a sending slot in this channel's officers' group, or says how long to wait.
    pub(super) fn take_group(&self) -> Result<(), Duration> {
        let clock = &self.clock;
        self.group
            .check()
            .map_err(|nu| nu.wait_time_from(clock.now()))?;
        self.global
            .check()
            .map_err(|nu| nu.wait_time_from(clock.now()))
    }

    /// Takes a sending slot for `to`, or says how long to wait for one.
    pub(super) fn take(&self, to: &Identity) -> Result<(), Duration> {
        let clock = &self.clock;
        let chat = if to.channel == ChannelKind::Officers {
            self.group.check()
        } else {
            self.per_chat.check_key(to)
        };
        chat.map_err(|nu| nu.wait_time_from(clock.now()))?;
        self.global
            .check()
            .map_err(|nu| nu.wait_time_from(clock.now()))
    }
}
