//! The command line: what each `feedwatch` subcommand does, on top of the stages.
//!
//! Owns argument definitions (clap), loading the config for the commands that need one, and
//! printing results for people (tables) or scripts (`--json`, one object per line). Errors are
//! sorted into user errors (exit 1) and internal failures (exit 2) for `main`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use chrono::Utc;
use clap::{Parser, Subcommand};
use url::Url;

use crate::config::{self, Config};
use crate::notify::{Alert, AlertStory, Notifiers};
use crate::pipeline::Pipeline;
use crate::pipeline::PollResult;
use crate::printable::{self, line};
use crate::store::{self, ClaimMode, Store};
use crate::topics::{Document, Query};
use crate::{daemon, extract, feed, opml};

#[derive(Parser, Debug)]
#[command(
    name = "feedwatch",
    version,
    about = "Watches news feeds and alerts once per story on the topics you follow",
    after_help = "Exit status: 0 ok; 1 a user error (a bad config or command line, bad input, \
                  a feed that failed in `once`, a database or port that cannot be used), with \
                  one line on stderr saying what to do; 2 an internal failure (a bug: please \
                  report it)."
)]
pub struct Cli {
    /// The config file [default: $FEEDWATCH_CONFIG, else /etc/feedwatch/feedwatch.toml, else ./feedwatch.toml]
    #[arg(long, global = true, env = "FEEDWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// More detailed logs (RUST_LOG overrides).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon until SIGTERM; SIGHUP reloads the config.
    Run,
    /// Poll every feed once (or one), store, alert, then exit.
    Once {
        /// Only this feed (its name, or its URL when unnamed).
        #[arg(long)]
        feed: Option<String>,
    },
    /// Validate the config without reaching anything; exit 1 on any error.
    Check,
    /// Each feed's state: last poll, status, items, next due, errors; `feeds reset NAME`
    /// polls a disabled or backed-off feed again.
    Feeds {
        #[command(subcommand)]
        command: Option<FeedsCommand>,
        /// One JSON object per feed and line.
        #[arg(long)]
        json: bool,
    },
    /// Recent stories, with their copies at other outlets.
    Stories {
        #[arg(long)]
        topic: Option<String>,
        /// How far back, e.g. 24h, 7d.
        #[arg(long, default_value = "7d")]
        since: String,
        #[arg(long)]
        json: bool,
    },
    /// Search stored stories with the topic query language.
    Search { query: String },
    /// Topic tools.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Extract the article from saved HTML page(s) (`-` reads stdin).
    Extract {
        /// The page's URL, to resolve relative links.
        #[arg(long)]
        url: Option<Url>,
        #[arg(long)]
        json: bool,
        /// Print how the body was found instead: for each block of the page its score,
        /// whether it is kept, the rule (or scoring step) that kept or dropped it, and its
        /// element, after the element chosen as the body.
        #[arg(long, conflicts_with = "json")]
        explain: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Parse saved feed file(s) into the normalised model.
    Parse {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The feeds a web page offers (its <link rel="alternate"> and the usual paths such as
    /// /feed and /rss.xml); nothing is stored.
    Discover {
        /// The page (or feed) to look at.
        url: Url,
    },
    /// Print shell completions: `feedwatch completions bash > /etc/bash_completion.d/feedwatch`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), as the package installs it.
    #[command(hide = true)]
    Man,
    /// Add the feeds of an OPML file as feeds.d/*.toml beside the config.
    ImportOpml { file: PathBuf },
    /// Print the configured feeds as OPML 2.0.
    ExportOpml,
    /// Notifier tools.
    Notify {
        #[command(subcommand)]
        command: NotifyCommand,
    },
    /// The alert delivery log; `alerts retry ID` sends one again.
    Alerts {
        #[command(subcommand)]
        command: Option<AlertsCommand>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TopicsCommand {
    /// Run a query over stored stories: hits, dates, which terms matched.
    Test { query: String },
}

#[derive(Subcommand, Debug)]
pub enum NotifyCommand {
    /// Send a test alert through one notifier.
    Test { notifier: String },
}

#[derive(Subcommand, Debug)]
pub enum AlertsCommand {
    /// Queue an alert again (same id), due now.
    Retry {
        /// The alert's id as the logs print it (msg_…), or its row number in `feedwatch alerts`.
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum FeedsCommand {
    /// Poll a feed again at once: re-enables one disabled by 410 Gone and clears its backoff.
    Reset {
        /// The feed's name (or its URL when unnamed).
        name: String,
    },
}

/// A failure sorted for the exit code.
#[derive(Debug)]
pub enum CliError {
    /// The user can fix it (config, input): exit 1.
    User(anyhow::Error),
    /// Something broke inside: exit 2.
    Internal(anyhow::Error),
}

impl From<config::ConfigError> for CliError {
    fn from(e: config::ConfigError) -> Self {
        CliError::User(anyhow!("the configuration has errors:\n{e}"))
    }
}

fn internal(e: impl Into<anyhow::Error>) -> CliError {
    CliError::Internal(e.into())
}

/// A database that cannot be reached is the user's to fix (start it, fix the URL): exit 1
/// with the message; anything else the store says is an internal failure.
fn store_error(e: store::StoreError) -> CliError {
    if e.is_unavailable() {
        CliError::User(anyhow!(e))
    } else {
        internal(e)
    }
}

type CliResult = Result<(), CliError>;

pub async fn dispatch(cli: Cli) -> CliResult {
    let path = config::locate(cli.config.as_deref());
    match cli.command {
        Command::Run => run(&path).await,
        Command::Once { feed } => once(&path, feed.as_deref()).await,
        Command::Check => check(&path),
        Command::Feeds {
            command: Some(FeedsCommand::Reset { name }),
            ..
        } => feeds_reset(&path, &name),
        Command::Feeds {
            command: None,
            json,
        } => feeds(&path, json),
        Command::Stories { topic, since, json } => stories(&path, topic.as_deref(), &since, json),
        Command::Search { query } => search(&path, &query, false),
        Command::Topics {
            command: TopicsCommand::Test { query },
        } => search(&path, &query, true),
        Command::Extract {
            url,
            json,
            explain,
            files,
        } => extract_files(url.as_ref(), json, explain, &files),
        Command::Parse { json, files } => parse_files(json, &files),
        Command::Discover { url } => discover(&path, &url).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "feedwatch",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(internal)
        }
        Command::ImportOpml { file } => import_opml(&path, &file),
        Command::ExportOpml => export_opml(&path),
        Command::Notify {
            command: NotifyCommand::Test { notifier },
        } => notify_test(&path, &notifier).await,
        Command::Alerts { command, json } => alerts(&path, command, json),
    }
}

fn open_store(config: &Config) -> Result<Store, CliError> {
    Store::open(&config.daemon.database).map_err(|e| CliError::User(anyhow!(e)))
}

/// The store for a command that only reads (or changes rows that must be there): a SQLite file
/// that does not exist is not created (an empty one would show every feed "never" polled, and a
/// `once` beside it alert everything again), and the database read is named on stderr, so a
/// look at the wrong one is noticed.
fn open_existing_store(config: &Config) -> Result<Store, CliError> {
    let db = &config.daemon.database;
    if let store::Database::Sqlite(file) = db
        && !file.exists()
    {
        return Err(CliError::User(anyhow!(
            "no database at {}: nothing has been stored there yet (the service, or `feedwatch \
             once`, creates it at its first poll). If the service stores elsewhere, pass its \
             config (--config /etc/feedwatch/feedwatch.toml): its [daemon] database names the file",
            file.display()
        )));
    }
    eprintln!("database: {}", line(&db.to_string()));
    open_store(config)
}

async fn run(path: &Path) -> CliResult {
    let config = config::load(path)?;
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
    let mut hup =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).map_err(internal)?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if reload_tx.send(()).await.is_err() {
                return;
            }
        }
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(internal)?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    daemon::run(config, shutdown, reload_rx).await.map_err(|e| {
        // A notifier or topic the config describes but that cannot be set up (a CA file that
        // is not there) is the user's to fix, not an internal failure; so are a database that
        // cannot be opened and a port that is taken.
        if e.downcast_ref::<crate::pipeline::SetupError>()
            .is_some_and(|s| !matches!(s, crate::pipeline::SetupError::Store(_)))
            || e.downcast_ref::<daemon::StartError>().is_some()
        {
            CliError::User(e)
        } else {
            internal(e)
        }
    })
}

/// Feeds `once` asks about at a time, before claiming them, whether another process polled
/// them in this pass already.
const PASS_CHECK: usize = 64;

/// What `once` keeps of one poll until the pass ends, when the reports are printed in the
/// order of the feeds' names.
///
/// Most polls have only counts to tell, and a whole [`crate::pipeline::PollReport`] (some 190
/// bytes with its copy of the feed's name) kept for each of 100,000 feeds was 20-40 MB held to
/// the end; a plain one is kept as this, and the name is read from the config when printed.
struct Kept {
    /// The feed's place in the pass's list.
    feed: u32,
    new_stories: u32,
    joined_stories: u32,
    alerts: u32,
    /// The outcome of a poll with nothing but counts to tell, in a byte (a [`PollResult`] is
    /// 40, room for a skip's reason that a plain poll has not).
    plain: Plain,
    /// The whole report of any other poll: an error, notes, items kept back, a skip.
    whole: Option<Box<crate::pipeline::PollReport>>,
}

// What one feed costs a pass to the end: kept small on purpose.
const _: () = assert!(std::mem::size_of::<Kept>() <= 32);

/// The outcomes of a poll [`Kept`] without its whole report.
#[derive(Clone, Copy)]
enum Plain {
    Ok,
    NotModified,
    Disabled,
}

impl Kept {
    fn new(at: usize, r: crate::pipeline::PollReport) -> Kept {
        let small = |n: usize| u32::try_from(n).ok();
        let counts = (
            small(r.new_stories),
            small(r.joined_stories),
            small(r.alerts),
        );
        let feed = u32::try_from(at).unwrap_or(u32::MAX);
        let plain = match r.outcome {
            PollResult::Ok => Some(Plain::Ok),
            PollResult::NotModified => Some(Plain::NotModified),
            PollResult::Disabled => Some(Plain::Disabled),
            PollResult::Error | PollResult::Skipped { .. } => None,
        };
        match (counts, plain) {
            ((Some(new_stories), Some(joined_stories), Some(alerts)), Some(plain))
                if r.error.is_none() && r.notes.is_empty() && r.kept_back == 0 =>
            {
                Kept {
                    feed,
                    new_stories,
                    joined_stories,
                    alerts,
                    plain,
                    whole: None,
                }
            }
            _ => Kept {
                feed,
                new_stories: 0,
                joined_stories: 0,
                alerts: 0,
                plain: Plain::Ok,
                whole: Some(Box::new(r)),
            },
        }
    }

    /// The report again, its feed's name read from `feeds` (the pass's list).
    fn report(self, feeds: &[&crate::config::FeedConfig]) -> crate::pipeline::PollReport {
        match self.whole {
            Some(r) => *r,
            None => crate::pipeline::PollReport {
                feed: feeds
                    .get(self.feed as usize)
                    .map(|f| f.key())
                    .unwrap_or_default(),
                outcome: match self.plain {
                    Plain::Ok => PollResult::Ok,
                    Plain::NotModified => PollResult::NotModified,
                    Plain::Disabled => PollResult::Disabled,
                },
                new_stories: self.new_stories as usize,
                joined_stories: self.joined_stories as usize,
                alerts: self.alerts as usize,
                ..Default::default()
            },
        }
    }
}

async fn once(path: &Path, only: Option<&str>) -> CliResult {
    // A feed another process claimed after this moment was polled in this pass: several
    // `once` started together (or beside `run`) poll each feed once.
    let since_ms = chrono::Utc::now().timestamp_millis();
    let config = config::load(path)?;
    let store = open_store(&config)?;
    if let Err(e) = store.release_dead_leases() {
        return Err(CliError::User(anyhow!(e)));
    }
    let pipeline = Pipeline::new(&config, store.clone()).map_err(|e| CliError::User(anyhow!(e)))?;
    // Borrowed from the config, not copied: a feed's config is some 400 bytes, and a pass over
    // 50,000 feeds held a second copy of them all (20 MB) to its end.
    let feeds: Vec<&crate::config::FeedConfig> = config
        .feeds
        .iter()
        .filter(|f| only.is_none_or(|o| f.key() == o || f.url.as_str() == o))
        .collect();
    if let Some(name) = only
        && feeds.is_empty()
    {
        return Err(CliError::User(anyhow!(
            "no configured feed is named \"{name}\""
        )));
    }
    // Every feed's row at once, rather than in each feed's first claim. Only a shortcut: a
    // feed this misses is filed when claimed.
    crate::daemon::register_feeds(&store, feeds.iter().copied());
    // Each process starts at its own place in the list, so processes started together
    // mostly claim different feeds instead of queueing behind each other on the same ones.
    let mut feeds = feeds;
    if feeds.len() > 1 {
        let offset = (std::process::id() as usize).wrapping_mul(2_654_435_761) % feeds.len();
        feeds.rotate_left(offset);
    }
    let mode = ClaimMode::Pass { since_ms };
    let mut set = tokio::task::JoinSet::new();
    let mut reports: Vec<Kept> = Vec::new();
    for (c, chunk) in feeds.chunks(PASS_CHECK).enumerate() {
        // The chunk's feeds are claimed in one statement (skipping those other processes are
        // claiming), and those another process polled in this pass already are told by one
        // read, rather than a claim lost on each. (A failed statement only leaves it to each
        // feed's own claim.)
        let keys: Vec<String> = chunk.iter().map(|f| f.key()).collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let pairs: Vec<(&str, &str)> = chunk
            .iter()
            .zip(&key_refs)
            .map(|(f, k)| (*k, f.url.as_str()))
            .collect();
        let mut claimed = store
            .claim_feeds(
                &pairs,
                mode,
                pipeline.lease,
                chrono::Utc::now().timestamp_millis(),
            )
            .unwrap_or_default();
        let rest: Vec<&str> = key_refs
            .iter()
            .copied()
            .filter(|k| !claimed.contains_key(*k))
            .collect();
        let elsewhere = store.polled_in_pass(&rest, since_ms).unwrap_or_default();
        for (j, (f, key)) in chunk.iter().zip(keys).enumerate() {
            let at = c * PASS_CHECK + j;
            if let Some(by) = elsewhere.get(&key) {
                reports.push(Kept::new(
                    at,
                    crate::pipeline::polled_elsewhere(key, by.as_deref()),
                ));
                continue;
            }
            let state = claimed.remove(&key);
            // A few polls beyond those running at once: the rest wait here, not as spawned
            // tasks.
            while set.len() >= pipeline.polls_in_flight {
                if let Some(r) = set.join_next().await {
                    let (at, r) = r.map_err(internal)?;
                    reports.push(Kept::new(at, r));
                }
            }
            let p = pipeline.clone();
            let f = crate::config::FeedConfig::clone(f);
            set.spawn(async move {
                let report = match state {
                    Some(state) => p.poll_claimed_feed(&f, state).await,
                    // Not taken by the claim above: the claim of one feed files it, or says
                    // why not.
                    None => p.poll(&f, mode).await,
                };
                (at, report)
            });
        }
    }
    while let Some(r) = set.join_next().await {
        let (at, r) = r.map_err(internal)?;
        reports.push(Kept::new(at, r));
    }
    reports.sort_by_cached_key(|k| feeds[k.feed as usize].key());
    let reports = reports.into_iter().map(|k| k.report(&feeds));
    let polled = feeds.len();
    let mut out = std::io::stdout().lock();
    let mut failed = Vec::new();
    for (i, r) in reports.enumerate() {
        if only.is_some()
            && i == 0
            && let PollResult::Skipped { why, .. } = &r.outcome
        {
            return Err(CliError::User(anyhow!(
                "feed \"{}\" was not polled: {why}; try again later",
                r.feed
            )));
        }
        match &r.error {
            Some(e) => {
                let _ = writeln!(out, "{}: {}", line(&r.feed), r.outcome);
                eprintln!("feed \"{}\": {}", line(&r.feed), line(&e.to_string()));
                if r.outcome == PollResult::Error {
                    failed.push(r.feed.clone());
                }
            }
            None => {
                let _ = write!(
                    out,
                    "{}: {}, {} new stories, {} copies of known stories, {} alerts queued",
                    line(&r.feed),
                    r.outcome,
                    r.new_stories,
                    r.joined_stories,
                    r.alerts
                );
                if r.kept_back > 0 {
                    let _ = write!(out, ", {} kept back", r.kept_back);
                }
                let _ = writeln!(out);
            }
        }
        if r.kept_back > 0 {
            eprintln!(
                "feed \"{}\": {}",
                line(&r.feed),
                crate::pipeline::kept_back_note(r.kept_back)
            );
        }
        for note in &r.notes {
            eprintln!("feed \"{}\": {}", line(&r.feed), line(note));
        }
    }
    let delivery = pipeline.deliver_due(true).await;
    let _ = writeln!(
        out,
        "alerts: {} delivered, {} to retry, {} given up",
        delivery.delivered, delivery.retrying, delivery.failed
    );
    for e in &delivery.errors {
        eprintln!("alert: {}", line(&e.to_string()));
    }
    // Only when a new item loaded it: the memory that grows with the stories in the window.
    let index_bytes = store.band_index_bytes();
    if index_bytes > 0 {
        let _ = writeln!(out, "near-duplicate band index: {index_bytes} bytes");
    }
    if !failed.is_empty() {
        let names: Vec<String> = failed.iter().map(|f| format!("\"{}\"", line(f))).collect();
        return Err(CliError::User(anyhow!(
            "{} of {} feeds failed: {}; `feedwatch feeds` shows each one's last error",
            failed.len(),
            polled,
            names.join(", ")
        )));
    }
    Ok(())
}

fn check(path: &Path) -> CliResult {
    let config = config::load(path)?;
    for w in &config.warnings {
        eprintln!("warning: {}", printable::line(&w.to_string()));
    }
    println!(
        "{}: ok ({} feeds, {} topics, {} notifiers)",
        path.display(),
        config.feeds.len(),
        config.topics.len(),
        config.notifiers.len()
    );
    Ok(())
}

fn feeds_reset(path: &Path, name: &str) -> CliResult {
    let config = config::load(path)?;
    let Some(feed) = config
        .feeds
        .iter()
        .find(|f| f.key() == name || f.url.as_str() == name)
    else {
        return Err(CliError::User(anyhow!(
            "no configured feed is named \"{}\"; `feedwatch feeds` lists them",
            line(name)
        )));
    };
    let store = open_existing_store(&config)?;
    let key = feed.key();
    match store.reset_feed(&key).map_err(store_error)? {
        true => {
            println!(
                "feed \"{}\" reset: enabled, errors cleared, due now. A running service polls it \
                 after `systemctl reload feedwatch`; `feedwatch once --feed \"{}\"` polls it here",
                line(&key),
                line(&key)
            );
            Ok(())
        }
        false => Err(CliError::User(anyhow!(
            "feed \"{}\" has never been polled: nothing to reset",
            line(&key)
        ))),
    }
}

fn feeds(path: &Path, json: bool) -> CliResult {
    let config = config::load(path)?;
    let store = open_existing_store(&config)?;
    let mut out = std::io::stdout().lock();
    if json {
        for f in &config.feeds {
            let key = f.key();
            let state = store.feed(&key).map_err(store_error)?;
            let time = |t: Option<i64>| t.map(store::rfc3339);
            let v = match state {
                Some(s) => serde_json::json!({
                    "name": key,
                    "url": crate::redact::url(&f.url),
                    "polled_url": crate::redact::url_text(&s.url),
                    "status": if s.disabled_reason.is_some() { Some("disabled".to_string()) } else { s.last_status.clone() },
                    "disabled_reason": s.disabled_reason,
                    "last_poll": time(s.last_poll_at),
                    "last_success": time(s.last_success_at),
                    "next_due": if s.disabled_reason.is_some() { None } else { time(s.next_due_at.or(Some(Utc::now().timestamp()))) },
                    // Why it is due then (scheduler::DueReason) and the interval that stands
                    // for, in seconds.
                    "due_reason": if s.disabled_reason.is_some() { None } else { s.due_reason.map(|r| r.as_str()) },
                    "due_interval": s.due_interval,
                    "items": s.items,
                    "consecutive_errors": s.consecutive_errors,
                    "last_error": s.last_error,
                    "lease_owner": s.lease.as_ref().map(|l| l.owner.clone()),
                }),
                None => serde_json::json!({
                    "name": key,
                    "url": crate::redact::url(&f.url),
                    "polled_url": null, "status": null, "disabled_reason": null,
                    "last_poll": null, "last_success": null,
                    "next_due": store::rfc3339(Utc::now().timestamp()),
                    "due_reason": null, "due_interval": null,
                    "items": 0, "consecutive_errors": 0, "last_error": null, "lease_owner": null,
                }),
            };
            let _ = writeln!(out, "{v}");
        }
        return Ok(());
    }
    // WHY (why the feed is due then) sits beside NEXT DUE; ERRORS stays the last column.
    let _ = writeln!(
        out,
        "{:<28} {:<20} {:<22} {:>6} {:<20} {:<22} {:>6}",
        "FEED", "LAST POLL", "STATUS", "ITEMS", "NEXT DUE", "WHY", "ERRORS"
    );
    for f in &config.feeds {
        let key = f.key();
        let state = store.feed(&key).map_err(store_error)?;
        let when = |t: Option<i64>| t.map(store::rfc3339).unwrap_or_else(|| "never".into());
        match state {
            Some(s) => {
                let status = s
                    .disabled_reason
                    .as_ref()
                    .map(|_| "disabled (410 Gone)".to_string())
                    .or(s.last_status.clone());
                let _ = writeln!(
                    out,
                    "{:<28} {:<20} {:<22} {:>6} {:<20} {:<22} {:>6}",
                    truncate(&key, 28),
                    when(s.last_poll_at),
                    truncate(status.as_deref().unwrap_or("-"), 22),
                    s.items,
                    if s.disabled_reason.is_some() {
                        "-".into()
                    } else {
                        when(s.next_due_at.or(Some(Utc::now().timestamp())))
                    },
                    if s.disabled_reason.is_some() {
                        "-".into()
                    } else {
                        why_due(&s)
                    },
                    s.consecutive_errors
                );
                if let Some(e) = &s.last_error {
                    let _ = writeln!(out, "    last error: {}", line(e));
                }
                if s.url != f.url.as_str() {
                    let moved = crate::redact::url_text(&s.url);
                    let _ = writeln!(
                        out,
                        "    polling {} (the url moved there, or is a page linking that feed); \
                         put it in the config",
                        line(&moved)
                    );
                }
                if let Some(lease) = &s.lease {
                    let _ = writeln!(
                        out,
                        "    being polled by {} (lease until {})",
                        line(&lease.owner),
                        store::rfc3339(lease.until)
                    );
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "{:<28} {:<20} {:<22} {:>6} {:<20} {:<22} {:>6}",
                    truncate(&key, 28),
                    "never",
                    "-",
                    0,
                    "now",
                    "new",
                    0
                );
            }
        }
    }
    Ok(())
}

/// Why a feed is due when it is, for the `feeds` table: the reason, and the interval it stands
/// for where it has one ("rate (47m)", "ttl (2h)", "backoff (4m)", "cron").
pub(crate) fn why_due(s: &store::FeedState) -> String {
    use crate::scheduler::DueReason;
    let Some(reason) = s.due_reason else {
        // Polled by a release that did not record why.
        return "-".into();
    };
    match (reason, s.due_interval.and_then(|i| u64::try_from(i).ok())) {
        (DueReason::Cron | DueReason::SkipHours | DueReason::SkipDays | DueReason::Reset, _)
        | (_, None) => reason.to_string(),
        (_, Some(secs)) => {
            let shown = if secs >= 60 { secs - secs % 60 } else { secs };
            format!(
                "{reason} ({})",
                humantime::format_duration(std::time::Duration::from_secs(shown))
            )
        }
    }
}

/// `s` made printable (see [`printable::line`]) and cut to `n` characters.
fn truncate(s: &str, n: usize) -> String {
    let s = line(s);
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

fn stories(path: &Path, topic: Option<&str>, since: &str, json: bool) -> CliResult {
    let config = config::load(path)?;
    let since = humantime::parse_duration(since)
        .map_err(|e| CliError::User(anyhow!("--since {since}: {e}; write e.g. 24h or 7d")))?;
    let store = open_existing_store(&config)?;
    let from = Utc::now().timestamp() - since.as_secs() as i64;
    let rows = store.stories(from, topic, 1000).map_err(store_error)?;
    if rows.is_empty() && !json {
        eprintln!(
            "no stories stored in the last {}{}",
            humantime::format_duration(since),
            topic
                .map(|t| format!(" for the topic \"{}\"", line(t)))
                .unwrap_or_default()
        );
    }
    let mut out = std::io::stdout().lock();
    for row in rows {
        if json {
            let _ = writeln!(out, "{}", serde_json::to_string(&row).map_err(internal)?);
        } else {
            let when = row.published.as_deref().unwrap_or(&row.first_seen);
            let _ = writeln!(
                out,
                "{}  {}  [{}]\n    {}",
                line(when),
                line(&row.title),
                line(&row.feed),
                line(&row.url)
            );
            for c in &row.also_at {
                let _ = writeln!(out, "    also at: {} [{}]", line(&c.url), line(&c.feed));
            }
            if !row.topics.is_empty() {
                let _ = writeln!(out, "    topics: {}", line(&row.topics.join(", ")));
            }
        }
    }
    Ok(())
}

fn search(path: &Path, text: &str, explain: bool) -> CliResult {
    let query = Query::parse(text).map_err(|e| CliError::User(anyhow!("query {text:?}: {e}")))?;
    let config = config::load(path)?;
    let store = open_existing_store(&config)?;
    let tags = |key: &str| {
        config
            .feeds
            .iter()
            .find(|f| f.key() == key)
            .map(|f| f.tags.clone())
            .unwrap_or_default()
    };
    let docs = store.story_docs(100_000, &tags).map_err(store_error)?;
    let mut out = std::io::stdout().lock();
    let mut hits = 0;
    for d in &docs {
        let doc = Document {
            title: &d.title,
            text: &d.text,
            author: &d.author,
            feed: &d.feed,
            tags: &d.tags,
            url: &d.url,
        };
        let Some(matched) = query.matches(&doc) else {
            continue;
        };
        hits += 1;
        let when = store::rfc3339(d.published.unwrap_or(d.first_seen));
        let _ = writeln!(
            out,
            "{when}  {}  [{}]\n    {}",
            line(&d.title),
            line(&d.feed),
            line(&d.url)
        );
        if explain {
            let _ = writeln!(out, "    matched: {}", line(&matched.join(", ")));
            let snippet = crate::topics::snippet(&doc, &matched, 200);
            let _ = writeln!(out, "    {}", line(&snippet));
        }
    }
    if explain {
        let _ = writeln!(out, "{hits} of {} stored stories match", docs.len());
    }
    Ok(())
}

/// Reads a file, or stdin for `-`; `.gz` files are decompressed.
fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
    } else {
        bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .take(64 * 1024 * 1024)
            .read_to_end(&mut out)
            .map_err(|e| format!("{} is not valid gzip: {e}", path.display()))?;
        return Ok(out);
    }
    Ok(bytes)
}

fn extract_files(url: Option<&Url>, json: bool, explain: bool, files: &[PathBuf]) -> CliResult {
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for file in files {
        let name = file.display().to_string();
        let bytes = match read_input(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("feedwatch: {e}");
                failed = true;
                continue;
            }
        };
        if explain {
            let _ = write!(
                out,
                "== {name}\n{}",
                printable::text(&extract::explain(&bytes, url, extract::Rules::ALL))
            );
            continue;
        }
        let a = extract::extract(&bytes, None, url, &[]);
        if json {
            let v = serde_json::json!({
                "file": name, "title": a.title, "byline": a.byline,
                "published": a.published.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                "site_name": a.site_name, "lang": a.lang, "url": a.url, "text": a.text, "html": a.html,
                "not_article": a.not_article,
            });
            let _ = writeln!(out, "{v}");
        } else {
            let _ = writeln!(
                out,
                "{}\n\n{}",
                line(a.title.as_deref().unwrap_or("")),
                printable::text(&a.text)
            );
        }
    }
    if failed {
        Err(CliError::User(anyhow!("some files could not be read")))
    } else {
        Ok(())
    }
}

fn parse_files(json: bool, files: &[PathBuf]) -> CliResult {
    let mut out = std::io::stdout().lock();
    let mut failed = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let result = read_input(file)
            .map_err(feed::FeedError::NotAFeed)
            .and_then(|b| feed::parse(&b, None, None));
        if json {
            let _ = writeln!(out, "{}", feed::to_json(&name, &result));
        } else {
            match &result {
                Ok(f) => {
                    let _ = writeln!(
                        out,
                        "{}: {} ({}), {} entries",
                        line(&name),
                        line(f.title.as_deref().unwrap_or("(untitled)")),
                        f.format,
                        f.entries.len()
                    );
                    for e in &f.entries {
                        let _ = writeln!(
                            out,
                            "  {}  {}",
                            line(e.title.as_deref().unwrap_or("(untitled)")),
                            line(e.link.as_deref().unwrap_or(""))
                        );
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "{}: error: {}", line(&name), line(&e.to_string()));
                }
            }
        }
        if let Err(e) = &result {
            failed.push(format!("{}: {}", line(&name), line(&e.to_string())));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::User(anyhow!(
            "{} of {} files could not be read or parsed as a feed:\n{}",
            failed.len(),
            files.len(),
            failed.join("\n")
        )))
    }
}

/// The longest file name `import-opml` makes from a title, before `.toml`.
const SLUG_MAX: usize = 60;

fn import_opml(path: &Path, file: &Path) -> CliResult {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read {}", file.display()))
        .map_err(CliError::User)?;
    let found =
        opml::parse(&text).map_err(|e| CliError::User(anyhow!("{}: {e}", file.display())))?;
    // The current feeds decide what is new, so a broken config is reported first.
    let config = config::load(path)?;
    let dir = config::feeds_dir(path);
    let source = printable::line(&file.display().to_string()).into_owned();
    let plan = plan_import(&config, found).map_err(|problems| {
        CliError::User(anyhow!(
            "{source}: nothing was imported, since {} of its outlines cannot be: fix them in the \
             file (or remove them) and import again:\n{}",
            problems.len(),
            problems.join("\n")
        ))
    })?;

    // Every new file is written as `check` will read it, and checked so before any is written.
    let mut taken: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for f in &plan.new {
        let target = file_for(
            &dir,
            f.name
                .as_deref()
                .unwrap_or(f.url.host_str().unwrap_or("feed")),
            &mut taken,
        );
        let mut table = toml::Table::new();
        if let Some(name) = &f.name {
            table.insert("name".into(), toml::Value::String(name.clone()));
        }
        table.insert("url".into(), toml::Value::String(f.url.to_string()));
        if !f.tags.is_empty() {
            table.insert(
                "tags".into(),
                toml::Value::Array(f.tags.iter().cloned().map(toml::Value::String).collect()),
            );
        }
        let mut doc = toml::Table::new();
        doc.insert(
            "feed".into(),
            toml::Value::Array(vec![toml::Value::Table(table)]),
        );
        let body = toml::to_string(&doc).map_err(internal)?;
        files.push((target, format!("# Imported from {source}\n{body}")));
    }
    config::load_with(path, &files).map_err(|e| {
        CliError::User(anyhow!(
            "{source}: nothing was imported, since the files it would add to {} do not pass \
             check:\n{e}",
            dir.display()
        ))
    })?;
    write_all(&dir, &files)?;
    for (line, note) in &plan.notes {
        eprintln!("{source}:{line}: {note}");
    }
    println!(
        "{} feeds added to {}, {} skipped (each named above)",
        files.len(),
        dir.display(),
        plan.skipped
    );
    Ok(())
}

/// A feed `import-opml` will add.
struct NewFeed {
    /// Its title, made printable; none when the outline has none (the feed's own title is
    /// shown then, and its URL is its key).
    name: Option<String>,
    url: Url,
    tags: Vec<String>,
    /// The line of its outline, to name it.
    line: usize,
}

struct ImportPlan {
    new: Vec<NewFeed>,
    /// Outlines already configured, or the same feed listed again.
    skipped: usize,
    /// What was done with an outline that the user may not expect, by line.
    notes: Vec<(usize, String)>,
}

/// Sorts the outlines into feeds to add and feeds already there; every outline that cannot be
/// added (not an http(s) URL, a name another feed has) is a problem naming its line and what to
/// do. Any problem means nothing is added.
fn plan_import(config: &Config, found: Vec<opml::OpmlFeed>) -> Result<ImportPlan, Vec<String>> {
    let mut plan = ImportPlan {
        new: Vec::new(),
        skipped: 0,
        notes: Vec::new(),
    };
    let mut problems = Vec::new();
    for f in found {
        let line = f.line;
        let shown = printable::line(f.title.as_deref().unwrap_or(&f.url)).into_owned();
        let url = match Url::parse(&f.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
            Ok(u) => {
                problems.push(format!(
                    "line {line}: \"{shown}\": only http:// and https:// feeds can be polled, \
                     not {}: ones; fix its xmlUrl or remove the outline",
                    u.scheme()
                ));
                continue;
            }
            Err(e) => {
                problems.push(format!(
                    "line {line}: \"{shown}\": its xmlUrl \"{}\" is not a URL ({e}); fix it or \
                     remove the outline",
                    printable::line(&f.url)
                ));
                continue;
            }
        };
        if let Some(c) = config.feeds.iter().find(|c| c.url == url) {
            plan.skipped += 1;
            plan.notes.push((
                line,
                format!(
                    "\"{shown}\" skipped: already configured as \"{}\" ({}:{})",
                    printable::line(&c.key()),
                    c.source.display(),
                    c.source_line
                ),
            ));
            continue;
        }
        // The same feed filed under two folders: one feed, tagged with both.
        if let Some(earlier) = plan.new.iter_mut().find(|n| n.url == url) {
            for t in f.tags {
                if !earlier.tags.contains(&t) {
                    earlier.tags.push(t);
                }
            }
            plan.skipped += 1;
            plan.notes.push((
                line,
                format!("the same feed as line {}: imported once", earlier.line),
            ));
            continue;
        }
        let name = f
            .title
            .as_deref()
            .map(|t| {
                printable::line(t)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|t| !t.is_empty());
        if let Some(name) = &name {
            if let Some(c) = config
                .feeds
                .iter()
                .find(|c| c.key() == *name || c.name.as_deref() == Some(name))
            {
                plan.skipped += 1;
                plan.notes.push((
                    line,
                    format!(
                        "\"{name}\" skipped: a configured feed has this name ({}); if {url} is \
                         another feed, give the outline another title and import again",
                        c.url
                    ),
                ));
                continue;
            }
            if let Some(other) = plan.new.iter().find(|n| n.name.as_ref() == Some(name)) {
                problems.push(format!(
                    "line {line}: \"{name}\" ({url}): the outline at line {} ({}) has this title \
                     too; give one of them another title",
                    other.line, other.url
                ));
                continue;
            }
        }
        plan.new.push(NewFeed {
            name,
            url,
            tags: f
                .tags
                .iter()
                .map(|t| printable::line(t).into_owned())
                .collect(),
            line,
        });
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

/// A `feeds.d/` file for a feed named `name`: its name in lower-case letters (of any script:
/// "Süddeutsche" is `süddeutsche.toml`), digits and dashes, cut to [`SLUG_MAX`] characters,
/// numbered when taken on disk or by this import.
fn file_for(dir: &Path, name: &str, taken: &mut std::collections::HashSet<PathBuf>) -> PathBuf {
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let slug: String = slug.chars().take(SLUG_MAX).collect();
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "feed" } else { slug };
    let mut target = dir.join(format!("{slug}.toml"));
    let mut n = 2;
    while target.exists() || taken.contains(&target) {
        target = dir.join(format!("{slug}-{n}.toml"));
        n += 1;
    }
    taken.insert(target.clone());
    target
}

/// Writes every file or none: each goes to a temporary name first (which no config load
/// reads), then all are renamed into place; on a failure, what was written is removed.
fn write_all(dir: &Path, files: &[(PathBuf, String)]) -> CliResult {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
        .map_err(CliError::User)?;
    let temp = |p: &Path| p.with_extension("toml.importing");
    let mut written: Vec<&Path> = Vec::new();
    let mut result = Ok(());
    for (path, text) in files {
        if let Err(e) = std::fs::write(temp(path), text) {
            result = Err(anyhow!("cannot write {}: {e}", temp(path).display()));
            let _ = std::fs::remove_file(temp(path));
            break;
        }
        written.push(path);
    }
    if result.is_err() {
        for p in &written {
            let _ = std::fs::remove_file(temp(p));
        }
        return result.map_err(CliError::User);
    }
    let mut placed: Vec<&Path> = Vec::new();
    for p in &written {
        if let Err(e) = std::fs::rename(temp(p), p) {
            for q in &placed {
                let _ = std::fs::remove_file(q);
            }
            for q in &written {
                let _ = std::fs::remove_file(temp(q));
            }
            return Err(CliError::User(anyhow!(
                "cannot write {}: {e}; nothing was imported",
                p.display()
            )));
        }
        placed.push(p);
    }
    Ok(())
}

fn export_opml(path: &Path) -> CliResult {
    let config = config::load(path)?;
    let feeds: Vec<opml::OpmlFeed> = config
        .feeds
        .iter()
        .map(|f| opml::OpmlFeed {
            title: f.name.clone(),
            url: f.url.to_string(),
            tags: f.tags.clone(),
            line: 0,
        })
        .collect();
    print!("{}", opml::write(&feeds));
    Ok(())
}

/// `feedwatch discover URL`: what feeds the page offers. The config, when there is one, gives
/// the user agent and whether private addresses may be reached; without one, the defaults.
async fn discover(path: &Path, url: &Url) -> CliResult {
    let (user_agent, allow_private) = match config::load(path) {
        Ok(c) => (c.daemon.user_agent, c.daemon.allow_private_addresses),
        Err(_) => (
            format!(
                "feedwatch/{} (+https://github.com/feedwatch/feedwatch)",
                env!("CARGO_PKG_VERSION")
            ),
            false,
        ),
    };
    let fetcher = crate::fetch::Fetcher::new(crate::fetch::FetchOptions {
        user_agent,
        allow_private_addresses: allow_private,
        ..crate::fetch::FetchOptions::default()
    })
    .map_err(internal)?;
    let shown = crate::redact::url(url);
    let found = crate::discover::discover(&fetcher, url)
        .await
        .map_err(|e| CliError::User(anyhow!("{}: {}", line(&shown), line(&e))))?;
    match found {
        crate::discover::Found::Feed { format, title } => {
            println!(
                "{} is a feed ({format}{}): use it as the url",
                line(&shown),
                title
                    .map(|t| format!(", \"{}\"", line(&t)))
                    .unwrap_or_default()
            );
        }
        crate::discover::Found::Page { linked, usual } => {
            if linked.is_empty() && usual.is_empty() {
                return Err(CliError::User(anyhow!(
                    "{}: the page links no feed and none is at {}; look for an RSS or Atom link on \
                     the site",
                    line(&shown),
                    crate::discover::USUAL_PATHS.join(", ")
                )));
            }
            if !linked.is_empty() {
                println!("feeds the page links:");
                for c in &linked {
                    println!("  {c}");
                }
            }
            if !usual.is_empty() {
                println!("feeds at the usual paths:");
                for c in &usual {
                    println!("  {c}");
                }
            }
            println!(
                "use one as a feed's url (the first is usually the site's main feed); the page \
                 itself works too when it links exactly one"
            );
        }
    }
    Ok(())
}

async fn notify_test(path: &Path, name: &str) -> CliResult {
    let config = config::load(path)?;
    if !config.notifiers.iter().any(|n| n.name == name) {
        return Err(CliError::User(anyhow!(
            "no notifier is named \"{name}\" in {}",
            path.display()
        )));
    }
    let notifiers = Notifiers::new(
        &config.notifiers,
        &config.daemon.user_agent,
        config.daemon.allow_private_addresses,
    )
    .map_err(|e| CliError::User(anyhow!(e)))?;
    let now = Utc::now();
    let alert = Alert {
        id: format!("msg_test_{}", now.timestamp_millis()),
        kind: crate::outbox::AlertKind::Test,
        topic: "test".into(),
        stories: vec![AlertStory {
            id: "0".into(),
            title: "feedwatch test alert".into(),
            url: "https://example.org/feedwatch-test".into(),
            feed: "feedwatch".into(),
            published: Some(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            summary: "If you can read this, the notifier works.".into(),
            matched: vec!["test".into()],
            also_at: vec![],
            byline: None,
            text: String::new(),
        }],
    };
    tokio::time::timeout(Duration::from_secs(60), notifiers.send(name, &alert))
        .await
        .map_err(|_| CliError::User(anyhow!("notifier \"{name}\": no answer within 60 s")))?
        .map_err(|e| {
            // The sender's errors name the notifier already.
            let e = e.to_string();
            if e.contains(&format!("notifier {name}")) || e.contains(&format!("\"{name}\"")) {
                CliError::User(anyhow!("{e}"))
            } else {
                CliError::User(anyhow!("notifier \"{name}\": {e}"))
            }
        })?;
    println!("test alert sent through \"{name}\"");
    Ok(())
}

fn alerts(path: &Path, command: Option<AlertsCommand>, json: bool) -> CliResult {
    let config = config::load(path)?;
    let store = open_existing_store(&config)?;
    if let Some(AlertsCommand::Retry { id }) = command {
        let now = Utc::now().timestamp();
        let id = id.trim();
        let queued = match id.parse::<i64>() {
            Ok(row) => store.retry_alert(row, now).map(|()| 1),
            Err(_) => store.retry_alert_id(id, now),
        }
        .map_err(|e| CliError::User(anyhow!(e)))?;
        println!(
            "alert {} queued again ({queued} {}); the running daemon sends it within a minute, \
             `feedwatch once` sends it now",
            line(id),
            if queued == 1 {
                "delivery"
            } else {
                "deliveries"
            }
        );
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let rows = store.alerts(200).map_err(store_error)?;
    if rows.is_empty() && !json {
        eprintln!(
            "no alerts yet: none has matched a topic (`feedwatch stories` shows what was stored)"
        );
    }
    for row in rows {
        if json {
            let _ = writeln!(out, "{}", serde_json::to_string(&row).map_err(internal)?);
            continue;
        }
        let title = row
            .alert()
            .ok()
            .and_then(|a| a.stories.first().map(|s| s.title.clone()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:>5} {:<10} {:<12} {:<16} tries {:>2}  {}  {}",
            row.id,
            row.state,
            truncate(&row.notifier, 12),
            truncate(&row.topic, 16),
            row.attempts,
            store::rfc3339(row.created_at),
            truncate(&title, 60)
        );
        if let Some(e) = row
            .last_error
            .as_deref()
            .filter(|_| row.state != crate::outbox::OutboxState::Delivered)
        {
            // The id the logs print, which `alerts retry` takes, beside the error to act on.
            let _ = writeln!(
                out,
                "      {}: last error: {}",
                line(&row.alert_id),
                line(e)
            );
        }
    }
    Ok(())
}
