//! Every integration test, in one test binary. Each file under `tests/` is one module here
//! (`cargo test --test integration crash::` runs one file's tests). One binary instead of one
//! per file: a single link of the service and its dependencies, which keeps CI's disk use and
//! build time small (37 binaries of ~150 MB each filled a CI machine's disk).

mod support;

mod abuse;
mod backup;
mod cli;
mod crash;
mod damaged_store;
mod delivery;
mod disk;
mod email;
mod engine_props;
mod erased_on_disk;
mod faults;
mod fuzz_corpus;
mod group_commit;
mod hostile;
mod housekeeping;
mod loader;
mod outside_a_form;
mod postgres;
mod privacy;
mod reminders;
mod reports;
mod restart;
mod scale_out;
mod scale_out_cli;
mod scale_out_kill;
mod scale_out_mail;
mod scenarios;
mod sms;
mod store_compression;
mod store_contract;
mod telegram;
mod understanding_corpus;
mod understanding_scenarios;
mod webchat;
mod webchat_browser;
mod whatsapp;
mod workflows;
