//! The store's behaviour through its API, on both backends: every test below runs once on a
//! SQLite file and once on a PostgreSQL database of a throw-away cluster (`support::postgres`).
//! Several `Store`s opened on one database stand for several processes: each has its own
//! connections, band index and lease owner name.

mod support;

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use feedwatch::dedup;
use feedwatch::store::{
    Claim, ClaimMode, Database, Ingested, Known, KnownQuery, NewItem, PollOutcome, PollRecord,
    Store, Stored, TopicHit,
};

/// Which backend a test runs on.
#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A new, empty database, and what keeps it alive.
struct Fresh {
    db: Database,
    _dir: Option<tempfile::TempDir>,
}

impl Fresh {
    fn open(&self) -> Store {
        Store::open(&self.db).expect("the database opens")
    }
}

impl Backend {
    fn fresh(self) -> Fresh {
        match self {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                Fresh {
                    db: Database::Sqlite(dir.path().join("feedwatch.db")),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => Fresh {
                db: Database::parse(&support::postgres::fresh_database(), None).unwrap(),
                _dir: None,
            },
        }
    }

    /// Runs one statement straight on the database, as an operator would with its own client.
    fn raw(self, fresh: &Fresh, sql: &str) {
        match &fresh.db {
            Database::Sqlite(path) => {
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute_batch(sql)
                    .unwrap();
            }
            Database::Postgres(target) => {
                support::postgres::cluster().psql(&target.url, sql);
            }
        }
    }

    fn migrations(self) -> usize {
        let dir = match self {
            Backend::Sqlite => "migrations/sqlite",
            Backend::Postgres => "migrations/postgres",
        };
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
            })
            .count()
    }
}

/// Declares each test once per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::Backend::Postgres) } )*
        }
    };
}

on_both_backends!(
    migrations_are_applied_once_and_recorded,
    each_feed_counts_the_items_a_batch_stored_for_it,
    polls_recorded_together_each_keep_their_own_outcome_and_release_their_lease,
    processes_opening_a_new_database_at_once_all_get_it_migrated_once,
    the_same_item_seen_again_is_not_a_new_story_and_alerts_once,
    a_changed_item_is_an_update_not_a_new_story,
    a_body_changed_under_the_same_title_is_kept_as_a_revision,
    the_fixture_pair_from_two_outlets_is_one_story_with_one_alert,
    a_feed_summary_in_another_feed_joins_the_full_article,
    newsletters_sharing_a_template_stay_separate_stories,
    after_a_restart_a_copy_joins_the_story_stored_before_it,
    a_story_stored_by_another_process_is_found_by_a_running_one,
    stories_stored_before_band_keys_were_kept_in_rows_still_join,
    a_story_without_band_keys_in_rows_still_joins_after_the_index_has_grown,
    copies_join_their_stories_after_the_index_has_grown_many_times,
    a_copy_seen_days_later_is_a_new_story,
    a_reissued_guid_for_the_same_page_is_seen_or_kept_as_a_revision,
    items_stored_in_one_transaction_are_filed_like_single_ones,
    a_batch_whose_items_overlap_each_other_is_filed_as_one_by_one,
    an_alert_being_sent_is_not_taken_by_another_process_until_its_lease_expires,
    processes_claiming_alerts_together_each_get_different_ones,
    a_digest_topic_gathers_its_matches_into_one_alert,
    a_permanent_redirect_moves_the_feed_until_the_user_changes_its_url,
    a_due_feed_is_claimed_by_exactly_one_of_many_processes,
    processes_claiming_many_feeds_at_once_each_get_different_ones,
    a_feed_polled_by_another_process_is_not_due_until_its_next_time,
    a_once_pass_skips_a_feed_another_process_claimed_after_it_began,
    a_dead_processs_feed_is_taken_over_when_its_lease_expires,
    processes_storing_copies_of_one_story_at_once_file_one_story_and_one_alert,
    why_a_feed_is_due_and_its_publish_rate_and_hints_are_kept_with_it,
    story_pages_follow_their_filters_and_cursor_and_keep_whole_categories,
);

fn item(feed_id: i64, guid: &str, url: &str, title: &str, text: &str, at: i64) -> NewItem {
    NewItem {
        feed_id,
        guid: guid.into(),
        url: Some(url.into()),
        canonical_url: dedup::canonical_url(url),
        title: title.into(),
        seen_at: at,
        summary: text.chars().take(100).collect(),
        text: text.into(),
        ..Default::default()
    }
}

/// The feeds page shows each feed's stored items from a counter the database keeps: one batch
/// that stores items of several feeds (new stories and copies joining them) adds each feed its
/// own, and an item seen again adds nothing.
fn each_feed_counts_the_items_a_batch_stored_for_it(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let ids: Vec<i64> = (0..3)
        .map(|n| {
            store
                .sync_feed(&format!("f{n}"), &format!("https://f{n}.example/rss"))
                .unwrap()
                .id
        })
        .collect();
    let t0 = 1_700_000_000;
    let batch: Vec<(NewItem, Vec<TopicHit>)> = [(0, 3), (1, 1), (2, 2)]
        .into_iter()
        .flat_map(|(f, n)| (0..n).map(move |k| (f, k)))
        .map(|(f, k)| {
            let it = item(
                ids[f],
                &format!("g{f}-{k}"),
                &format!("https://f{f}.example/{k}"),
                &format!("Story {k} of feed {f}"),
                &shuffled_text((f * 10 + k) as u64),
                t0,
            );
            (it, Vec::new())
        })
        .collect();
    store.ingest_many(&batch).unwrap();
    // The first item again, and a copy of it at the third feed.
    let mut copy = batch[0].0.clone();
    copy.feed_id = ids[2];
    copy.guid = "copy".into();
    store
        .ingest_many(&[(batch[0].0.clone(), Vec::new()), (copy, Vec::new())])
        .unwrap();
    let counts: Vec<i64> = (0..3)
        .map(|n| store.feed(&format!("f{n}")).unwrap().unwrap().items)
        .collect();
    assert_eq!(counts, [3, 1, 3], "items stored per feed");
}

/// Polls that end together are recorded in one statement: each feed still gets its own
/// outcome, validators, error streak and log line, and each lease is released.
fn polls_recorded_together_each_keep_their_own_outcome_and_release_their_lease(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let now = NOW_MS / 1000;
    let feeds: Vec<feedwatch::store::FeedState> = ["ok", "same", "bad"]
        .iter()
        .map(|key| {
            let url = format!("https://{key}.example/rss");
            store.sync_feed(key, &url).unwrap();
            match store
                .claim_feed(key, &url, ClaimMode::Due, LEASE, NOW_MS)
                .unwrap()
            {
                Claim::Claimed(state) => *state,
                other => panic!("{key}: {other:?}"),
            }
        })
        .collect();
    assert!(feeds.iter().all(|f| f.lease.is_some()), "claimed");
    let ok = PollRecord {
        at: now,
        outcome: PollOutcome::Ok,
        http_status: Some(200),
        etag: Some("\"v2\"".into()),
        new_items: 3,
        next_due_at: now + 600,
        title: Some("The OK Times".into()),
        ..Default::default()
    };
    let same = PollRecord {
        at: now,
        outcome: PollOutcome::NotModified,
        http_status: Some(304),
        next_due_at: now + 900,
        ..Default::default()
    };
    let bad = PollRecord {
        at: now,
        outcome: PollOutcome::Error,
        http_status: Some(500),
        error: Some("the server answered 500".into()),
        consecutive_errors: 1,
        next_due_at: now + 1200,
        ..Default::default()
    };
    store
        .record_polls(&[
            (feeds[0].id, &ok),
            (feeds[1].id, &same),
            (feeds[2].id, &bad),
        ])
        .unwrap();
    let after = |key: &str| store.feed(key).unwrap().unwrap();
    let (a, s, e) = (after("ok"), after("same"), after("bad"));
    assert_eq!(
        [&a, &s, &e].map(|f| (f.last_status.clone(), f.next_due_at, f.lease.is_none())),
        [
            (Some("ok 200".to_string()), Some(now + 600), true),
            (Some("not-modified 304".to_string()), Some(now + 900), true),
            (Some("error 500".to_string()), Some(now + 1200), true),
        ]
    );
    assert_eq!(
        (a.etag.as_deref(), a.title.as_deref()),
        (Some("\"v2\""), Some("The OK Times"))
    );
    assert_eq!(s.etag, None, "a 304 keeps the validators it had");
    assert_eq!(
        (
            e.consecutive_errors,
            e.failing_since,
            e.last_success_at,
            e.last_error.as_deref()
        ),
        (1, Some(now), None, Some("the server answered 500"))
    );
    assert_eq!(a.last_success_at, Some(now));
    let log = store
        .recent_polls(&feeds.iter().map(|f| f.id).collect::<Vec<_>>(), 10)
        .unwrap();
    let lines: Vec<(PollOutcome, Option<i64>, i64)> = feeds
        .iter()
        .flat_map(|f| {
            log[&f.id]
                .iter()
                .map(|p| (p.outcome, p.http_status, p.new_items))
        })
        .collect();
    assert_eq!(
        lines,
        [
            (PollOutcome::Ok, Some(200), 3),
            (PollOutcome::NotModified, Some(304), 0),
            (PollOutcome::Error, Some(500), 0)
        ]
    );
}

fn hit(topic: &str) -> TopicHit {
    TopicHit {
        topic: topic.into(),
        matched: vec!["iraq".into()],
        notifiers: vec!["hook".into()],
        digest: false,
        snippet: String::new(),
    }
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

const LEASE: Duration = Duration::from_secs(60);

/// Every alert due at `now`, claimed by `store`.
fn claim(store: &Store, now: i64) -> Vec<feedwatch::store::OutboxRow> {
    store.claim_alerts(now, false, 100, LEASE).unwrap()
}

fn migrations_are_applied_once_and_recorded(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    assert_eq!(store.schema_version().unwrap(), b.migrations() as i64);
    drop(store);
    // Re-opening must not re-run the first migration (it would fail on existing tables).
    let store = fresh.open();
    assert_eq!(store.schema_version().unwrap(), b.migrations() as i64);
}

fn processes_opening_a_new_database_at_once_all_get_it_migrated_once(b: Backend) {
    let fresh = Arc::new(b.fresh());
    let openers: Vec<_> = (0..8)
        .map(|_| {
            let fresh = fresh.clone();
            std::thread::spawn(move || Store::open(&fresh.db).and_then(|s| s.schema_version()))
        })
        .collect();
    for o in openers {
        let version = o.join().unwrap().expect("every opener succeeds");
        assert_eq!(version, b.migrations() as i64);
    }
}

fn the_same_item_seen_again_is_not_a_new_story_and_alerts_once(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let feed = store.sync_feed("a", "https://a.example/rss").unwrap();
    let it = item(
        feed.id,
        "g1",
        "https://a.example/1?utm_source=rss",
        "Iraq talks",
        "iraq troops talks",
        10,
    );
    assert!(matches!(
        store.ingest(&it, &[hit("t")]).unwrap(),
        Ingested::NewStory { alerts: 1, .. }
    ));
    assert_eq!(store.ingest(&it, &[hit("t")]).unwrap(), Ingested::Seen);
    // A new GUID for the same page (an unstable GUID) is the same item.
    let again = item(
        feed.id,
        "g2",
        "https://a.example/1?utm_medium=x",
        "Iraq talks",
        "iraq troops talks",
        20,
    );
    assert_eq!(store.ingest(&again, &[hit("t")]).unwrap(), Ingested::Seen);
    assert_eq!(claim(&store, 100).len(), 1);
}

fn a_changed_item_is_an_update_not_a_new_story(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let feed = store.sync_feed("a", "https://a.example/rss").unwrap();
    let first = item(
        feed.id,
        "g1",
        "https://a.example/1",
        "Talks",
        "first text",
        10,
    );
    let Ingested::NewStory { story_id, .. } = store.ingest(&first, &[]).unwrap() else {
        panic!("the first item is news")
    };
    let changed = item(
        feed.id,
        "g1",
        "https://a.example/1",
        "Talks begin",
        "first text, updated",
        20,
    );
    assert!(
        !store
            .item_known(feed.id, "g1", None, Some("Talks begin"), "")
            .unwrap(),
        "a changed title must be stored again, as a revision"
    );
    assert!(
        store
            .item_known(feed.id, "g1", None, Some("Talks"), "")
            .unwrap()
    );
    assert_eq!(
        store.ingest(&changed, &[]).unwrap(),
        Ingested::Updated { story_id }
    );
    assert_eq!(store.stories(0, None, 10).unwrap().len(), 1);

    // What a poll's check found is handed to storing, which then does not look again: the
    // changed item is an update of its row, a new one is news.
    let again = item(
        feed.id,
        "g1",
        "https://a.example/1",
        "Talks end",
        "last text",
        30,
    );
    let new = item(
        feed.id,
        "g2",
        "https://a.example/2",
        "Other",
        "other text",
        30,
    );
    fn query(i: &NewItem) -> KnownQuery<'_> {
        KnownQuery {
            feed_id: i.feed_id,
            guid: &i.guid,
            canonical_url: i.canonical_url.as_deref(),
            title: Some(&i.title),
            entry_hash: "",
        }
    }
    let found = store.items_stored(&[query(&again), query(&new)]).unwrap();
    let [
        Known::Fresh(copy @ Stored::Copy(_)),
        Known::Fresh(Stored::Absent),
    ] = &found[..]
    else {
        panic!("{found:?}")
    };
    let again = NewItem {
        stored: copy.clone(),
        ..again
    };
    let new = NewItem {
        stored: Stored::Absent,
        ..new
    };
    let done = store
        .ingest_many(&[(again, Vec::new()), (new, Vec::new())])
        .unwrap();
    assert_eq!(done[0], Ingested::Updated { story_id });
    assert!(matches!(done[1], Ingested::NewStory { .. }), "{done:?}");
    assert_eq!(store.stories(0, None, 10).unwrap().len(), 2);
}

fn a_body_changed_under_the_same_title_is_kept_as_a_revision(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let feed = store.sync_feed("a", "https://a.example/rss").unwrap();
    let first = NewItem {
        entry_hash: "e1".into(),
        ..item(
            feed.id,
            "g1",
            "https://a.example/1",
            "Talks",
            "first text",
            10,
        )
    };
    let Ingested::NewStory { story_id, .. } = store.ingest(&first, &[]).unwrap() else {
        panic!("the first item is news")
    };
    assert!(
        store
            .item_known(feed.id, "g1", None, Some("Talks"), "e1")
            .unwrap()
    );
    assert!(
        !store
            .item_known(feed.id, "g1", None, Some("Talks"), "e2")
            .unwrap(),
        "the feed's text changed under the same title: fetch and store it again"
    );
    let changed = NewItem {
        entry_hash: "e2".into(),
        ..item(
            feed.id,
            "g1",
            "https://a.example/1",
            "Talks",
            "first text, corrected",
            20,
        )
    };
    assert_eq!(
        store.ingest(&changed, &[]).unwrap(),
        Ingested::Updated { story_id }
    );
    assert!(
        store
            .item_known(feed.id, "g1", None, Some("Talks"), "e2")
            .unwrap()
    );
    assert_eq!(store.revisions(feed.id, "g1").unwrap().len(), 1);
    // A new summary of an unchanged page is remembered, not stored again.
    let resummarised = NewItem {
        entry_hash: "e3".into(),
        ..changed.clone()
    };
    assert_eq!(store.ingest(&resummarised, &[]).unwrap(), Ingested::Seen);
    assert!(
        store
            .item_known(feed.id, "g1", None, Some("Talks"), "e3")
            .unwrap()
    );
}

fn the_fixture_pair_from_two_outlets_is_one_story_with_one_alert(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
    let w = store
        .sync_feed("wire", "https://wire.example/atom")
        .unwrap();
    let first = item(
        a.id,
        "t1",
        "https://tome.example/world/troops",
        "Future of foreign troops",
        &fixture("tome-iraq-troops.expected.txt"),
        100,
    );
    let second = item(
        w.id,
        "w1",
        "https://wire.example/iraq-troops",
        "US and Iraq to discuss troops",
        &fixture("wire-iraq-troops.expected.txt"),
        200,
    );
    let Ingested::NewStory {
        story_id,
        alerts: 1,
    } = store.ingest(&first, &[hit("iraq")]).unwrap()
    else {
        panic!("first copy must be a new story with one alert")
    };
    assert_eq!(
        store.ingest(&second, &[hit("iraq")]).unwrap(),
        Ingested::JoinedStory {
            story_id,
            alerts: 0
        }
    );
    let stories = store.stories(0, None, 10).unwrap();
    assert_eq!(stories.len(), 1);
    assert_eq!(
        stories[0].also_at[0].url,
        "https://wire.example/iraq-troops"
    );
    let mut alert = claim(&store, 1000)[0].alert().unwrap();
    store.refresh_alert(&mut alert).unwrap();
    assert_eq!(
        alert.stories[0].also_at,
        vec!["https://wire.example/iraq-troops".to_string()]
    );
}

fn a_feed_summary_in_another_feed_joins_the_full_article(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
    let g = store.sync_feed("agg", "https://agg.example/rss").unwrap();
    let article = fixture("tome-iraq-troops.expected.txt");
    let summary = fixture("dedup/tome-feed-summary.txt");
    let Ingested::NewStory { story_id, .. } = store
        .ingest(
            &item(
                a.id,
                "t1",
                "https://tome.example/t",
                "Troops",
                &article,
                100,
            ),
            &[],
        )
        .unwrap()
    else {
        panic!("the article is news")
    };
    let short = item(
        g.id,
        "s1",
        "https://agg.example/s/1",
        "Troops talks",
        &summary,
        900,
    );
    assert_eq!(
        store.ingest(&short, &[]).unwrap(),
        Ingested::JoinedStory {
            story_id,
            alerts: 0
        }
    );
}

fn newsletters_sharing_a_template_stay_separate_stories(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let f = store.sync_feed("n", "https://n.example/rss").unwrap();
    for (guid, name, at) in [
        ("mon", "dedup/newsletter-monday.txt", 100),
        ("tue", "dedup/newsletter-tuesday.txt", 200),
    ] {
        let it = item(
            f.id,
            guid,
            &format!("https://n.example/briefing/{guid}"),
            "Daily briefing",
            &fixture(name),
            at,
        );
        assert!(matches!(
            store.ingest(&it, &[]).unwrap(),
            Ingested::NewStory { .. }
        ));
    }
    assert_eq!(store.stories(0, None, 10).unwrap().len(), 2);
}

/// The fixture's words in an order of `seed`'s own: a text of news length that shares no
/// shingles with another seed's.
fn shuffled_text(seed: u64) -> String {
    let mut words: Vec<String> = fixture("tome-iraq-troops.expected.txt")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..words.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        words.swap(i, (x % (i as u64 + 1)) as usize);
    }
    words.join(" ")
}

/// Stores the TOME story through a store of its own, as one process would.
fn store_tome(fresh: &Fresh) -> i64 {
    let store = fresh.open();
    let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
    let tome = fixture("tome-iraq-troops.expected.txt");
    let Ingested::NewStory { story_id, .. } = store
        .ingest(
            &item(a.id, "t", "https://tome.example/t", "T", &tome, 100),
            &[],
        )
        .unwrap()
    else {
        panic!("the first copy is a new story")
    };
    story_id
}

/// Ingests the wire copy of the TOME story into `store` and checks that it joins the story
/// `story_id`.
fn assert_wire_joins(store: &Store, story_id: i64) {
    let w = store.sync_feed("wire", "https://wire.example/rss").unwrap();
    let wire = fixture("wire-iraq-troops.expected.txt");
    let got = store
        .ingest(
            &item(w.id, "w", "https://wire.example/w", "W", &wire, 200),
            &[],
        )
        .unwrap();
    assert!(
        matches!(got, Ingested::JoinedStory { story_id: s, .. } if s == story_id),
        "the wire copy joins story {story_id}: {got:?}"
    );
}

fn after_a_restart_a_copy_joins_the_story_stored_before_it(b: Backend) {
    let fresh = b.fresh();
    let story_id = store_tome(&fresh);
    assert_wire_joins(&fresh.open(), story_id);
}

fn a_story_stored_by_another_process_is_found_by_a_running_one(b: Backend) {
    let fresh = b.fresh();
    let running = fresh.open();
    // The running store's index is loaded before the other process stores the story.
    assert_eq!(
        running.find_near_duplicate(&shuffled_text(1), 150).unwrap(),
        None
    );
    let story_id = store_tome(&fresh);
    assert_wire_joins(&running, story_id);
}

fn stories_stored_before_band_keys_were_kept_in_rows_still_join(b: Backend) {
    let fresh = b.fresh();
    let story_id = store_tome(&fresh);
    b.raw(&fresh, "DELETE FROM story_fingerprints");
    assert_wire_joins(&fresh.open(), story_id);
}

fn a_story_without_band_keys_in_rows_still_joins_after_the_index_has_grown(b: Backend) {
    let fresh = b.fresh();
    let story_id = store_tome(&fresh);
    b.raw(&fresh, "DELETE FROM story_fingerprints");
    let store = fresh.open();
    let f = store.sync_feed("a", "https://a.example/rss").unwrap();
    // Loaded with the story's keys computed from its text, then grown past its first size
    // (its shards' slots moved, that story's among them) by three hundred others.
    let batch: Vec<(NewItem, Vec<TopicHit>)> = (0..300u64)
        .map(|n| {
            let url = format!("https://a.example/{n}");
            (item(f.id, &url, &url, "N", &shuffled_text(n), 150), vec![])
        })
        .collect();
    store.ingest_many(&batch).unwrap();
    assert!(
        store.band_index_bytes() > dedup::BandIndex::new().bytes(),
        "the index grew past its first size"
    );
    assert_wire_joins(&store, story_id);
}

fn copies_join_their_stories_after_the_index_has_grown_many_times(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let f = store.sync_feed("a", "https://a.example/rss").unwrap();
    let g = store.sync_feed("b", "https://b.example/rss").unwrap();
    let mut batch = Vec::new();
    for n in 0..300u64 {
        let url = format!("https://a.example/{n}");
        batch.push((item(f.id, &url, &url, "N", &shuffled_text(n), 100), vec![]));
    }
    let ids: Vec<i64> = store
        .ingest_many(&batch)
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(n, got)| match got {
            Ingested::NewStory { story_id, .. } => story_id,
            other => panic!("story {n} is new, got {other:?}"),
        })
        .collect();
    assert!(
        store.band_index_bytes() > dedup::BandIndex::new().bytes(),
        "the index grew past its first size"
    );
    for n in [0usize, 150, 299] {
        // Another outlet's copy: the last fifth cut, a credit added.
        let text = shuffled_text(n as u64);
        let words: Vec<&str> = text.split(' ').collect();
        let copy = format!(
            "{}\n\nReporting by the wire desk.",
            words[..words.len() * 4 / 5].join(" ")
        );
        let url = format!("https://b.example/{n}");
        assert_eq!(
            store
                .ingest(&item(g.id, &url, &url, "C", &copy, 200), &[])
                .unwrap(),
            Ingested::JoinedStory {
                story_id: ids[n],
                alerts: 0
            },
            "copy of story {n}"
        );
    }
}

fn a_copy_seen_days_later_is_a_new_story(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
    let w = store.sync_feed("wire", "https://wire.example/rss").unwrap();
    store
        .ingest(
            &item(
                a.id,
                "t",
                "https://tome.example/t",
                "T",
                &fixture("tome-iraq-troops.expected.txt"),
                0,
            ),
            &[],
        )
        .unwrap();
    let late = item(
        w.id,
        "w",
        "https://wire.example/w",
        "W",
        &fixture("wire-iraq-troops.expected.txt"),
        dedup::NEAR_DUPLICATE_WINDOW + 1,
    );
    assert!(matches!(
        store.ingest(&late, &[]).unwrap(),
        Ingested::NewStory { .. }
    ));
}

fn a_reissued_guid_for_the_same_page_is_seen_or_kept_as_a_revision(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let f = store.sync_feed("a", "https://a.example/rss").unwrap();
    let first = item(f.id, "g1", "https://a.example/1", "Talks", "first text", 10);
    let Ingested::NewStory { story_id, .. } = store.ingest(&first, &[]).unwrap() else {
        panic!("the first item is news")
    };
    let same = item(f.id, "g2", "https://a.example/1", "Talks", "first text", 20);
    assert_eq!(store.ingest(&same, &[]).unwrap(), Ingested::Seen);
    let changed = item(
        f.id,
        "g3",
        "https://a.example/1",
        "Talks end",
        "second text",
        30,
    );
    assert_eq!(
        store.ingest(&changed, &[]).unwrap(),
        Ingested::Updated { story_id }
    );
    let revisions = store.revisions(f.id, "g1").unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0].title, "Talks end");
}

fn items_stored_in_one_transaction_are_filed_like_single_ones(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
    let w = store.sync_feed("wire", "https://wire.example/rss").unwrap();
    let done = store
        .ingest_many(&[
            (
                item(
                    a.id,
                    "t",
                    "https://tome.example/t",
                    "T",
                    &fixture("tome-iraq-troops.expected.txt"),
                    1,
                ),
                vec![hit("iraq")],
            ),
            (
                item(
                    w.id,
                    "w",
                    "https://wire.example/w",
                    "W",
                    &fixture("wire-iraq-troops.expected.txt"),
                    2,
                ),
                vec![hit("iraq")],
            ),
        ])
        .unwrap();
    let Ingested::NewStory {
        story_id,
        alerts: 1,
    } = done[0]
    else {
        panic!("{done:?}")
    };
    assert_eq!(
        done[1],
        Ingested::JoinedStory {
            story_id,
            alerts: 0
        }
    );
}

/// A batch is looked up at once before any of it is stored: items that meet earlier items of
/// the same batch (the same page in another feed, the same words, the same GUID again, a GUID
/// re-issued for the same page) must still be filed as if stored one at a time.
fn a_batch_whose_items_overlap_each_other_is_filed_as_one_by_one(b: Backend) {
    let tome = fixture("tome-iraq-troops.expected.txt");
    let wire = fixture("wire-iraq-troops.expected.txt");
    let batch = |a: i64, w: i64| {
        vec![
            (
                item(a, "1", "https://tome.example/t", "T", &tome, 1),
                vec![hit("iraq")],
            ),
            // The same page, carried by another feed.
            (
                item(
                    w,
                    "2",
                    "https://tome.example/t?utm_source=x",
                    "T",
                    "other words",
                    2,
                ),
                vec![hit("iraq")],
            ),
            // The same words at another address.
            (
                item(w, "3", "https://wire.example/copy", "T", &tome, 3),
                vec![],
            ),
            // A near-duplicate text.
            (
                item(w, "4", "https://wire.example/w", "W", &wire, 4),
                vec![hit("iraq")],
            ),
            // The feed re-issues item 1's page under a new GUID, unchanged, then changed.
            (
                item(a, "1b", "https://tome.example/t", "T", &tome, 5),
                vec![],
            ),
            (
                item(
                    a,
                    "1c",
                    "https://tome.example/t",
                    "T2",
                    "a corrected text",
                    6,
                ),
                vec![],
            ),
            // A short item, then one with the same title and no text.
            (
                item(a, "5", "https://tome.example/s", "Short", "", 7),
                vec![],
            ),
            (
                item(w, "6", "https://wire.example/s", "Short", "", 8),
                vec![],
            ),
        ]
    };
    let one_by_one = {
        let fresh = b.fresh();
        let store = fresh.open();
        let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
        let w = store.sync_feed("wire", "https://wire.example/rss").unwrap();
        batch(a.id, w.id)
            .iter()
            .map(|(i, h)| store.ingest(i, h).unwrap())
            .collect::<Vec<_>>()
    };
    let fresh = b.fresh();
    let store = fresh.open();
    let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
    let w = store.sync_feed("wire", "https://wire.example/rss").unwrap();
    let at_once = store.ingest_many(&batch(a.id, w.id)).unwrap();
    assert_eq!(at_once, one_by_one);
    // And what that is: one story for the page, its words and the near copy; an update.
    let Ingested::NewStory {
        story_id,
        alerts: 1,
    } = at_once[0]
    else {
        panic!("{at_once:?}")
    };
    for k in [1, 2, 3] {
        assert!(
            matches!(at_once[k], Ingested::JoinedStory { story_id: s, .. } if s == story_id),
            "item {k}: {at_once:?}"
        );
    }
    assert_eq!(at_once[4], Ingested::Seen, "{at_once:?}");
    assert_eq!(at_once[5], Ingested::Updated { story_id }, "{at_once:?}");
}

fn an_alert_being_sent_is_not_taken_by_another_process_until_its_lease_expires(b: Backend) {
    let fresh = b.fresh();
    let sender = fresh.open();
    let other = fresh.open();
    let feed = sender.sync_feed("a", "https://a.example/rss").unwrap();
    sender
        .ingest(
            &item(feed.id, "g", "https://a.example/1", "T", "iraq", 10),
            &[hit("t")],
        )
        .unwrap();
    let taken = claim(&sender, 10);
    assert_eq!(taken.len(), 1);
    // The sender dies mid-send. While its lease runs, nobody else sends the alert, not even
    // `once`, which takes every pending alert whatever its retry time.
    assert!(claim(&other, 10 + 59).is_empty());
    assert!(
        other
            .claim_alerts(10 + 59, true, 10, LEASE)
            .unwrap()
            .is_empty()
    );
    // Once the lease has expired, another process sends it, with the same id.
    let again = claim(&other, 10 + 61);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].alert_id, taken[0].alert_id);
    other.mark_delivered(again[0].id, 72).unwrap();
    // Delivered is final: not due again, whoever asks and whenever.
    assert!(
        sender
            .claim_alerts(100_000, true, 10, LEASE)
            .unwrap()
            .is_empty()
    );
    assert!(
        other
            .claim_alerts(100_000, true, 10, LEASE)
            .unwrap()
            .is_empty()
    );
}

fn processes_claiming_alerts_together_each_get_different_ones(b: Backend) {
    let fresh = Arc::new(b.fresh());
    let store = fresh.open();
    let feed = store.sync_feed("a", "https://a.example/rss").unwrap();
    let mut h = hit("t");
    h.notifiers = (0..10).map(|n| format!("hook{n}")).collect();
    for n in 0..10 {
        store
            .ingest(
                &item(
                    feed.id,
                    &format!("g{n}"),
                    &format!("https://a.example/{n}"),
                    "T",
                    &shuffled_text(n),
                    10,
                ),
                std::slice::from_ref(&h),
            )
            .unwrap();
    }
    let barrier = Arc::new(Barrier::new(4));
    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let fresh = fresh.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let s = fresh.open();
                let mut mine = Vec::new();
                barrier.wait();
                loop {
                    let got = s.claim_alerts(100, false, 7, LEASE).unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|r| r.alert_id));
                }
            })
        })
        .collect();
    let mut all: Vec<String> = claimers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let claimed = all.len();
    all.sort();
    all.dedup();
    assert_eq!(claimed, 100, "every alert claimed");
    assert_eq!(all.len(), 100, "no alert claimed twice");
}

fn a_digest_topic_gathers_its_matches_into_one_alert(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let feed = store.sync_feed("a", "https://a.example/rss").unwrap();
    let mut h = hit("d");
    h.digest = true;
    for i in 0..3 {
        let it = item(
            feed.id,
            &format!("g{i}"),
            &format!("https://a.example/{i}"),
            "T",
            &format!("story {i}"),
            10,
        );
        store.ingest(&it, std::slice::from_ref(&h)).unwrap();
    }
    assert!(
        store.claim_alerts(100, true, 10, LEASE).unwrap().is_empty(),
        "digest matches wait for the tick"
    );
    assert_eq!(store.make_digest("d", &["hook".into()], 50).unwrap(), 3);
    // Another process at the same tick finds nothing left to gather.
    assert_eq!(
        fresh.open().make_digest("d", &["hook".into()], 50).unwrap(),
        0
    );
    let due = claim(&store, 100);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].alert().unwrap().stories.len(), 3);
    assert_eq!(store.make_digest("d", &["hook".into()], 60).unwrap(), 0);
}

fn a_permanent_redirect_moves_the_feed_until_the_user_changes_its_url(b: Backend) {
    let fresh = b.fresh();
    let store = fresh.open();
    let f = store.sync_feed("a", "https://old.example/rss").unwrap();
    store
        .record_poll(
            f.id,
            &PollRecord {
                outcome: PollOutcome::Ok,
                http_status: Some(200),
                new_url: Some("https://new.example/rss".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let moved = store.sync_feed("a", "https://old.example/rss").unwrap();
    assert_eq!(moved.url, "https://new.example/rss");
    assert_eq!(moved.last_status.as_deref(), Some("ok 200"));
    assert_eq!(
        store
            .sync_feed("a", "https://other.example/rss")
            .unwrap()
            .url,
        "https://other.example/rss"
    );
}

const NOW_MS: i64 = 1_800_000_000_000;

fn a_due_feed_is_claimed_by_exactly_one_of_many_processes(b: Backend) {
    let fresh = Arc::new(b.fresh());
    fresh
        .open()
        .sync_feed("a", "https://a.example/rss")
        .unwrap();
    let barrier = Arc::new(Barrier::new(6));
    let claims: Vec<Claim> = (0..6)
        .map(|_| {
            let fresh = fresh.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let s = fresh.open();
                barrier.wait();
                s.claim_feed("a", "https://a.example/rss", ClaimMode::Due, LEASE, NOW_MS)
                    .unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let won = claims
        .iter()
        .filter(|c| matches!(c, Claim::Claimed(_)))
        .count();
    assert_eq!(won, 1, "{claims:?}");
    assert!(
        claims
            .iter()
            .all(|c| matches!(c, Claim::Claimed(_) | Claim::Held(_))),
        "{claims:?}"
    );
    // `feedwatch feeds` shows who holds it.
    // (The test's clock is ahead of the real one, so the lease is live as `feeds` reads it.)
    let state = fresh.open().feed("a").unwrap().unwrap();
    let holder = state.lease.expect("the winner's lease is shown");
    assert!(holder.owner.contains(&format!(":{}:", std::process::id())));
}

fn processes_claiming_many_feeds_at_once_each_get_different_ones(b: Backend) {
    let fresh = Arc::new(b.fresh());
    let feeds: Vec<(String, String)> = (0..40)
        .map(|n| (format!("f{n}"), format!("https://f{n}.example/rss")))
        .collect();
    let pairs: Vec<(&str, &str)> = feeds
        .iter()
        .map(|(k, u)| (k.as_str(), u.as_str()))
        .collect();
    fresh.open().register_feeds(&pairs).unwrap();
    let pass = ClaimMode::Pass { since_ms: NOW_MS };
    let barrier = Arc::new(Barrier::new(4));
    let taken: Vec<Vec<String>> = (0..4)
        .map(|_| {
            let (fresh, barrier, feeds) = (fresh.clone(), barrier.clone(), feeds.clone());
            std::thread::spawn(move || {
                let s = fresh.open();
                let pairs: Vec<(&str, &str)> = feeds
                    .iter()
                    .map(|(k, u)| (k.as_str(), u.as_str()))
                    .collect();
                barrier.wait();
                let mut got: Vec<String> = Vec::new();
                for chunk in pairs.chunks(8) {
                    got.extend(
                        s.claim_feeds(chunk, pass, LEASE, NOW_MS)
                            .unwrap()
                            .into_keys(),
                    );
                }
                got
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let mut all: Vec<&String> = taken.iter().flatten().collect();
    all.sort();
    let claimed = all.len();
    all.dedup();
    assert_eq!(all.len(), claimed, "a feed claimed twice: {taken:?}");
    assert_eq!(claimed, 40, "every feed claimed once: {taken:?}");
    // A feed whose configured URL changed is left to the claim of one feed, which starts it over.
    let other = fresh.open();
    let moved = other
        .claim_feeds(
            &[("f1", "https://moved.example/rss")],
            ClaimMode::Pass {
                since_ms: NOW_MS + 100,
            },
            LEASE,
            NOW_MS + 200,
        )
        .unwrap();
    assert!(moved.is_empty(), "{moved:?}");
}

fn a_feed_polled_by_another_process_is_not_due_until_its_next_time(b: Backend) {
    let fresh = b.fresh();
    let first = fresh.open();
    let second = fresh.open();
    let Claim::Claimed(state) = first
        .claim_feed("a", "https://a.example/rss", ClaimMode::Due, LEASE, NOW_MS)
        .unwrap()
    else {
        panic!("a feed never polled is due")
    };
    let next = NOW_MS / 1000 + 1800;
    first
        .record_poll(
            state.id,
            &PollRecord {
                at: NOW_MS / 1000,
                outcome: PollOutcome::NotModified,
                next_due_at: next,
                ..Default::default()
            },
        )
        .unwrap();
    // The lease is released with the record; the feed is simply not due.
    assert_eq!(
        second
            .claim_feed(
                "a",
                "https://a.example/rss",
                ClaimMode::Due,
                LEASE,
                NOW_MS + 1000
            )
            .unwrap(),
        Claim::NotDue { next_due_at: next }
    );
    assert!(matches!(
        second
            .claim_feed(
                "a",
                "https://a.example/rss",
                ClaimMode::Due,
                LEASE,
                next * 1000
            )
            .unwrap(),
        Claim::Claimed(_)
    ));
}

fn a_once_pass_skips_a_feed_another_process_claimed_after_it_began(b: Backend) {
    let fresh = b.fresh();
    let run = fresh.open();
    let once = fresh.open();
    let pass = ClaimMode::Pass { since_ms: NOW_MS };
    // `run` polls the feed after `once` started: `once` leaves it.
    let Claim::Claimed(state) = run
        .claim_feed(
            "a",
            "https://a.example/rss",
            ClaimMode::Due,
            LEASE,
            NOW_MS + 5,
        )
        .unwrap()
    else {
        panic!("due")
    };
    assert!(matches!(
        once.claim_feed("a", "https://a.example/rss", pass, LEASE, NOW_MS + 10)
            .unwrap(),
        Claim::Held(_)
    ));
    run.record_poll(
        state.id,
        &PollRecord {
            at: NOW_MS / 1000,
            next_due_at: NOW_MS / 1000 + 60,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(matches!(
        once.claim_feed("a", "https://a.example/rss", pass, LEASE, NOW_MS + 20)
            .unwrap(),
        Claim::Polled { .. }
    ));
    // Asked about many feeds at once, before claiming them, `once` learns the same in one read:
    // "a" was another's in this pass, "b" is nobody's yet; `run` sees none as another's.
    once.register_feeds(&[("b", "https://b.example/rss")])
        .unwrap();
    let elsewhere = once.polled_in_pass(&["a", "b"], NOW_MS).unwrap();
    assert_eq!(elsewhere.len(), 1, "{elsewhere:?}");
    assert!(elsewhere.contains_key("a"), "{elsewhere:?}");
    assert!(once.polled_in_pass(&["a"], NOW_MS + 30).unwrap().is_empty());
    // A later `once` polls it again: it asked for a pass of its own.
    assert!(matches!(
        once.claim_feed(
            "a",
            "https://a.example/rss",
            ClaimMode::Pass {
                since_ms: NOW_MS + 30
            },
            LEASE,
            NOW_MS + 40
        )
        .unwrap(),
        Claim::Claimed(_)
    ));
}

fn a_dead_processs_feed_is_taken_over_when_its_lease_expires(b: Backend) {
    let fresh = b.fresh();
    let dead = fresh.open();
    let alive = fresh.open();
    assert!(matches!(
        dead.claim_feed("a", "https://a.example/rss", ClaimMode::Due, LEASE, NOW_MS)
            .unwrap(),
        Claim::Claimed(_)
    ));
    // `dead` never records its poll.
    let Claim::Held(lease) = alive
        .claim_feed(
            "a",
            "https://a.example/rss",
            ClaimMode::Due,
            LEASE,
            NOW_MS + 59_000,
        )
        .unwrap()
    else {
        panic!("the lease is live")
    };
    assert_eq!(lease.owner, dead.owner());
    assert!(matches!(
        alive
            .claim_feed(
                "a",
                "https://a.example/rss",
                ClaimMode::Due,
                LEASE,
                NOW_MS + 61_000
            )
            .unwrap(),
        Claim::Claimed(_)
    ));
}

/// How many of `results` filed a new story with its one alert, and how many joined one
/// without an alert of their own.
fn new_and_joined(results: &[Ingested]) -> (usize, usize) {
    let new = results
        .iter()
        .filter(|r| matches!(r, Ingested::NewStory { alerts: 1, .. }))
        .count();
    let joined = results
        .iter()
        .filter(|r| matches!(r, Ingested::JoinedStory { alerts: 0, .. }))
        .count();
    (new, joined)
}

fn processes_storing_copies_of_one_story_at_once_file_one_story_and_one_alert(b: Backend) {
    let fresh = Arc::new(b.fresh());
    let setup = fresh.open();
    let tome = setup.sync_feed("tome", "https://tome.example/rss").unwrap();
    let wire = setup.sync_feed("wire", "https://wire.example/rss").unwrap();
    drop(setup);
    let stores: Vec<Store> = (0..2).map(|_| fresh.open()).collect();
    // Each round, two processes store two outlets' copies of a new story at the same moment.
    for round in 0..8u64 {
        let text = shuffled_text(1000 + round);
        let words: Vec<&str> = text.split(' ').collect();
        let copy = format!(
            "{}\n\nReporting by the wire desk.",
            words[..words.len() * 4 / 5].join(" ")
        );
        let barrier = Arc::new(Barrier::new(2));
        let results: Vec<Ingested> = [
            (stores[0].clone(), tome.id, "tome", text.clone()),
            (stores[1].clone(), wire.id, "wire", copy),
        ]
        .into_iter()
        .map(|(s, feed, outlet, body)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let url = format!("https://{outlet}.example/{round}");
                let it = item(feed, &url, &url, "Story", &body, 100 + round as i64);
                barrier.wait();
                s.ingest(&it, &[hit("t")]).unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
        assert_eq!(
            new_and_joined(&results),
            (1, 1),
            "round {round}: {results:?}"
        );
    }
    assert_eq!(stores[0].stories(0, None, 100).unwrap().len(), 8);
    assert_eq!(claim(&stores[1], 1_000).len(), 8, "one alert per story");
}

/// The advisory lock key PostgreSQL ingests take (`SERIAL_LOCK` in src/store/postgres.rs).
const POSTGRES_SERIAL_LOCK: i64 = 0x6665_6564_7374;

/// How an outlet's copy of a story is the same story.
#[derive(Clone, Copy, Debug)]
enum SameBy {
    /// Its text is a near-duplicate (the wire copy under another URL).
    Text,
    /// It links the same page (in words of its own).
    Url,
    /// Its title and text are the same words.
    Hash,
}

/// On PostgreSQL two processes write their batches before taking the lock that serialises
/// stories. Here both have written a copy of one new story, each as a new story, and wait for
/// the lock (held by the test until both wait). The first to get it commits; the second finds
/// that story among what was committed while it wrote, rolls back and files its copy again
/// under the lock, joining it: one story, one alert, whichever way the copy is the same.
#[test]
fn postgres_processes_that_wrote_copies_of_one_story_before_the_lock_end_with_one_story() {
    for same in [SameBy::Text, SameBy::Url, SameBy::Hash] {
        let fresh = Backend::Postgres.fresh();
        let setup = fresh.open();
        let tome = setup.sync_feed("tome", "https://tome.example/rss").unwrap();
        let wire = setup.sync_feed("wire", "https://wire.example/rss").unwrap();
        drop(setup);
        let text = shuffled_text(7);
        let words: Vec<&str> = text.split(' ').collect();
        let (copy_url, copy_text) = match same {
            SameBy::Text => (
                "https://wire.example/7".to_string(),
                format!(
                    "{}\n\nReporting by the wire desk.",
                    words[..words.len() * 4 / 5].join(" ")
                ),
            ),
            SameBy::Url => ("https://tome.example/7".to_string(), shuffled_text(8)),
            SameBy::Hash => ("https://wire.example/7".to_string(), text.clone()),
        };
        let Database::Postgres(target) = &fresh.db else {
            unreachable!("a PostgreSQL database")
        };
        let mut holder = ::postgres::Client::connect(&target.url, ::postgres::NoTls).unwrap();
        let mut watcher = ::postgres::Client::connect(&target.url, ::postgres::NoTls).unwrap();
        holder
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({POSTGRES_SERIAL_LOCK})"
            ))
            .unwrap();
        let threads: Vec<_> = [
            (tome.id, "https://tome.example/7".to_string(), text.clone()),
            (wire.id, copy_url, copy_text),
        ]
        .into_iter()
        .map(|(feed, url, body)| {
            let store = fresh.open();
            std::thread::spawn(move || {
                let it = item(feed, &format!("{feed}-7"), &url, "Story", &body, 100);
                store.ingest(&it, &[hit("t")]).unwrap()
            })
        })
        .collect();
        // Both have written their copy and wait for the lock.
        let mut waiting = || -> i64 {
            watcher
                .query_one(
                    "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                    &[],
                )
                .unwrap()
                .get(0)
        };
        let start = std::time::Instant::now();
        while waiting() < 2 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{same:?}: no wait"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        holder.batch_execute("COMMIT").unwrap();
        let results: Vec<Ingested> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(new_and_joined(&results), (1, 1), "{same:?}: {results:?}");
        let store = fresh.open();
        assert_eq!(store.stories(0, None, 10).unwrap().len(), 1, "{same:?}");
        assert_eq!(claim(&store, 1_000).len(), 1, "{same:?}: one alert");
    }
}

/// A database written by the release before leases (schema 6, made by that release's
/// `feedwatch once`: two stories, one of them carried by two outlets, and two alerts pending)
/// opens, upgrades in place and keeps everything.
fn why_a_feed_is_due_and_its_publish_rate_and_hints_are_kept_with_it(b: Backend) {
    use feedwatch::feed::hints::Hints;
    use feedwatch::scheduler::{DueReason, Rate};
    let fresh = b.fresh();
    let store = fresh.open();
    let feed = store.sync_feed("a", "https://a.example/rss").unwrap();
    assert_eq!(
        (feed.due_reason, feed.rate, feed.hints),
        (None, None, Hints::default())
    );
    let hints = Hints {
        ttl: Some(Duration::from_secs(5400)),
        update_period: Some(Duration::from_secs(3600)),
        skip_hours: 0b111,
        skip_days: 0b100_0000,
    };
    let rate = Rate {
        since: NOW_MS / 1000 - 86_400,
        posts: 12,
    };
    let mut record = PollRecord {
        at: NOW_MS / 1000,
        outcome: PollOutcome::Ok,
        next_due_at: NOW_MS / 1000 + 5400,
        due_reason: Some(DueReason::Ttl),
        due_interval: Some(5400),
        rate: Some(rate),
        hints,
        ..Default::default()
    };
    store.record_poll(feed.id, &record).unwrap();
    // Read back by another process, as `feedwatch feeds` and the next poll read it.
    let other = fresh.open();
    let back = other.feed("a").unwrap().unwrap();
    assert_eq!(back.due_reason, Some(DueReason::Ttl));
    assert_eq!(back.due_interval, Some(5400));
    assert_eq!(back.rate, Some(rate));
    assert_eq!(back.hints, hints);
    assert_eq!(other.feeds().unwrap()[0].due_reason, Some(DueReason::Ttl));
    // The claim hands the next poll what the scheduler needs.
    let Claim::Claimed(claimed) = other
        .claim_feed(
            "a",
            "https://a.example/rss",
            ClaimMode::Due,
            LEASE,
            (NOW_MS / 1000 + 5400) * 1000,
        )
        .unwrap()
    else {
        panic!("due at its time")
    };
    assert_eq!((claimed.rate, claimed.hints), (Some(rate), hints));
    // A failing poll: backing off, the rate forgotten when the record says so.
    record.due_reason = Some(DueReason::Backoff);
    record.rate = None;
    record.hints = Hints::default();
    other.record_poll(feed.id, &record).unwrap();
    let back = store.feed("a").unwrap().unwrap();
    assert_eq!(
        (back.due_reason, back.rate),
        (Some(DueReason::Backoff), None)
    );
    assert!(back.hints.is_empty());
}

/// PostgreSQL: a database written by an earlier release (schema 2, with two outlets' copies of
/// one story and a pending alert: see the fixture's header) upgrades in place with everything
/// in it.
#[test]
fn postgres_a_database_written_by_an_earlier_release_upgrades_with_everything_in_it() {
    let url = support::postgres::fresh_database();
    let dump = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/store/landed-postgres-schema2.sql"),
    )
    .unwrap();
    support::postgres::cluster().psql(&url, &dump);
    let store = Store::open(&Database::parse(&url, None).unwrap()).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        Backend::Postgres.migrations() as i64
    );
    assert_an_upgraded_store_kept_everything(&store, &["msg_e6cce8427f8bd15b250dfbf14ad5b4e3"]);
}

#[test]
fn a_database_written_by_the_landed_release_upgrades_with_everything_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feedwatch.db");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store/landed-schema6.db"),
        &path,
    )
    .unwrap();
    let store = Store::open_path(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        Backend::Sqlite.migrations() as i64
    );
    assert_an_upgraded_store_kept_everything(
        &store,
        &[
            "msg_66348e915954c8a4bc6a3296c68a6f31",
            "msg_e6cce8427f8bd15b250dfbf14ad5b4e3",
        ],
    );
}

/// What an upgraded fixture store (either backend's: a bakery story and the Iraq story with a
/// second outlet's copy, matched by `iraq-troops`) must still hold: both stories, the copy, the
/// topic, the pending alerts under their ids (`alerts`, sorted: a receiver that saw them before
/// sees a repeat), and fingerprints that still find the story.
fn assert_an_upgraded_store_kept_everything(store: &Store, alerts: &[&str]) {
    let stories = store.stories(0, None, 10).unwrap();
    assert_eq!(stories.len(), 2);
    let iraq = stories
        .iter()
        .find(|s| s.title.contains("Iraq"))
        .expect("the Iraq story");
    assert_eq!(iraq.also_at.len(), 1, "the second outlet's copy is kept");
    assert_eq!(iraq.topics, vec!["iraq-troops".to_string()]);
    let mut ids: Vec<String> = store
        .claim_alerts(i64::MAX / 4, true, 10, LEASE)
        .unwrap()
        .into_iter()
        .map(|r| r.alert_id)
        .collect();
    ids.sort();
    assert_eq!(ids, alerts);
    // A third outlet's copy, seen within the story's window (an hour after it; the fixture's
    // own time, not the clock's, which would leave the window three days after the fixture
    // was made), joins it.
    let feed = store
        .sync_feed("other", "https://other.example/rss")
        .unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(&iraq.first_seen)
        .expect("first_seen is RFC 3339")
        .timestamp()
        + 3600;
    let third = item(
        feed.id,
        "o1",
        "https://other.example/iraq",
        "Iraq troops",
        &fixture("wire-iraq-troops.expected.txt"),
        at,
    );
    let got = store.ingest(&third, &[]).unwrap();
    assert!(
        matches!(got, Ingested::JoinedStory { story_id, .. } if story_id == iraq.id),
        "a copy of the Iraq story (id {}) joins it: {got:?}",
        iraq.id
    );
}

/// The stories page's reads: newest first, a keyset cursor that neither skips nor repeats a
/// story first seen at the same second as another, and filters by topic, by feed (any item of
/// the story) and by tag (a whole category line, any case; `%` taken literally).
fn story_pages_follow_their_filters_and_cursor_and_keep_whole_categories(b: Backend) {
    use feedwatch::store::{StoryCursor, StoryFilter};
    let fresh = b.fresh();
    let store = fresh.open();
    let a = store.sync_feed("a", "https://a.example/rss").unwrap().id;
    let c = store.sync_feed("c", "https://c.example/rss").unwrap().id;
    let t0 = 1_700_000_000;
    for n in 0..5i64 {
        let mut it = item(
            a,
            &format!("a{n}"),
            &format!("https://a.example/{n}"),
            &format!("Story number {n} about things"),
            &shuffled_text(n as u64),
            // Two stories share each second: the cursor must tell them apart by id.
            t0 + n / 2,
        );
        it.categories = vec![if n == 0 {
            "World Politics".into()
        } else {
            "50%".into()
        }];
        let hits = if n == 3 { vec![hit("iraq")] } else { vec![] };
        store.ingest(&it, &hits).unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<StoryCursor> = None;
    loop {
        let page = store
            .story_page(&StoryFilter::default(), after, 2)
            .unwrap()
            .items;
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|s| s.title.clone()));
        let last = page.last().unwrap();
        after = Some(StoryCursor {
            first_seen: last.first_seen_at,
            id: last.id,
        });
    }
    let expected: Vec<String> = (0..5)
        .rev()
        .map(|n| format!("Story number {n} about things"))
        .collect();
    assert_eq!(seen, expected, "newest first, each once");

    let only = |f: StoryFilter| -> Vec<String> {
        store
            .story_page(&f, None, 50)
            .unwrap()
            .items
            .into_iter()
            .map(|s| s.title)
            .collect()
    };
    let topic = only(StoryFilter {
        topic: Some("iraq".into()),
        ..Default::default()
    });
    assert_eq!(topic, ["Story number 3 about things"]);
    let tag = |t: &str| {
        only(StoryFilter {
            tag: Some((vec![], t.into())),
            ..Default::default()
        })
    };
    assert_eq!(tag("world politics"), ["Story number 0 about things"]);
    assert!(
        tag("world").is_empty(),
        "a part of a category is not the tag"
    );
    assert_eq!(tag("50%").len(), 4);
    assert!(tag("5%").is_empty(), "% is literal");
    // A copy of story 1 in feed c: the story is listed under c too.
    let mut copy = item(
        c,
        "c1",
        "https://a.example/1",
        "Story number 1 about things",
        &shuffled_text(1),
        t0 + 10,
    );
    copy.categories = vec![];
    store.ingest(&copy, &[]).unwrap();
    let by_c = only(StoryFilter {
        feed: Some("c".into()),
        ..Default::default()
    });
    assert_eq!(by_c, ["Story number 1 about things"]);
}
