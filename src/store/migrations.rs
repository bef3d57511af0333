//! The schema of each backend, as the ordered list of its migration files.
//!
//! Append-only: a released file is never edited; a change is a new file at the end of its
//! backend's list. SQLite records how many it applied in `PRAGMA user_version`, PostgreSQL in
//! the `feedwatch_schema` table; each backend applies the rest at open, under a lock, so
//! processes opening one database together apply each file once.

/// `migrations/sqlite/`, in order.
pub const SQLITE: &[(&str, &str)] = &[
    (
        "0001_init.sql",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        "0002_dedup.sql",
        include_str!("../../migrations/sqlite/0002_dedup.sql"),
    ),
    (
        "0003_failing_since.sql",
        include_str!("../../migrations/sqlite/0003_failing_since.sql"),
    ),
    (
        "0004_entry_hash.sql",
        include_str!("../../migrations/sqlite/0004_entry_hash.sql"),
    ),
    (
        "0005_story_categories.sql",
        include_str!("../../migrations/sqlite/0005_story_categories.sql"),
    ),
    (
        "0006_story_fingerprints.sql",
        include_str!("../../migrations/sqlite/0006_story_fingerprints.sql"),
    ),
    (
        "0007_leases.sql",
        include_str!("../../migrations/sqlite/0007_leases.sql"),
    ),
    (
        "0008_due_reason.sql",
        include_str!("../../migrations/sqlite/0008_due_reason.sql"),
    ),
    (
        "0009_web.sql",
        include_str!("../../migrations/sqlite/0009_web.sql"),
    ),
    (
        "0010_item_count_by_batch.sql",
        include_str!("../../migrations/sqlite/0010_item_count_by_batch.sql"),
    ),
];

/// `migrations/postgres/`, in order.
pub const POSTGRES: &[(&str, &str)] = &[
    (
        "0001_init.sql",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        "0002_due_reason.sql",
        include_str!("../../migrations/postgres/0002_due_reason.sql"),
    ),
    (
        "0003_web.sql",
        include_str!("../../migrations/postgres/0003_web.sql"),
    ),
    (
        "0004_ingest_log.sql",
        include_str!("../../migrations/postgres/0004_ingest_log.sql"),
    ),
    (
        "0005_item_count_by_key.sql",
        include_str!("../../migrations/postgres/0005_item_count_by_key.sql"),
    ),
];
