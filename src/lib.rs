//! feedwatch: watches news feeds, extracts the articles they point at, recognises the same
//! story across outlets, and alerts once per story on the topics its user watches.
//!
//! One module per stage of the pipeline; each hands plain data to the next:
//! `config` → `scheduler` → `fetch` → `feed` → `dedup`/`store` → `extract` → `topics` → `notify`.
//! `pipeline` joins the stages for one feed poll, `daemon` runs them on schedule.

pub mod address;
pub mod bounds;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod discover;
pub mod extract;
pub mod feed;
pub mod fetch;
pub mod fuzz;
pub mod notify;
pub mod opml;
pub mod outbox;
pub mod pipeline;
pub mod printable;
pub mod redact;
pub mod scheduler;
pub mod secret_file;
pub mod server;
pub mod store;
pub mod topics;
pub mod web;
