//! Channel adapters: each turns its wire format into [`crate::message::InboundMessage`] and
//! renders [`crate::message::OutboundMessage`] its own way. No dialog or case logic here.

pub mod email;
pub mod sms;
pub mod telegram;
pub mod terminal;
pub mod web;
pub mod whatsapp;
