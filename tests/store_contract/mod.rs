//! One contract suite per store boundary, each run against every store engine
//! ([`engines`]): what the runtime relies on. A new engine passes when every contract here
//! passes against it.

#[macro_use]
mod engines;
mod audit;
mod blobs;
mod cases;
mod commits;
mod conversations;
mod durable;
mod erasure;
mod fixtures;
mod guests;
mod maintenance;
mod outbox;
use crate::support::postgres as pg_cluster;
mod sled_engine;
mod timers;
mod web_chat;
