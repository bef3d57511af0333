//! The feed stage: bytes of a feed document in, a normalised [`ParsedFeed`] out.
//!
//! Owns charset detection ([`encoding`]), taking the newest items of a huge feed before the
//! parser holds them all ([`cap`]), telling feeds from other documents and repairing broken XML
//! in time linear in the document ([`repair`]), the feed-rs call (isolated so a panic in it costs one feed), dates
//! ([`dates`]), and normalising every format (RSS 0.9x–2.0, RSS 1.0, Atom 0.3/1.0, JSON Feed)
//! to one model with UTC dates, absolute links, plain-text fields and stable ids
//! ([`normalise`]). Hands [`ParsedFeed`] to the store; `to_json` is the `parse --json` line.

pub mod cap;
pub mod dates;
pub mod encoding;
pub mod entities;
pub mod extras;
pub mod hints;
pub mod normalise;
pub mod repair;

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::bounds::{Budget, FEED_PARSE_BUDGET, OutOfTime};
use serde_json::{Value, json};
use url::Url;

/// One feed document, normalised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFeed {
    /// "rss2", "rss1", "rss0", "atom", "json".
    pub format: String,
    pub title: Option<String>,
    /// The site's home page, absolute.
    pub link: Option<String>,
    pub subtitle: Option<String>,
    pub updated: Option<DateTime<Utc>>,
    pub entries: Vec<Entry>,
    /// The document was not well-formed and was repaired before parsing (feedparser's "bozo").
    pub recovered: bool,
    /// The feed's own id (Atom `id`), as written.
    pub id: Option<String>,
    /// The feed's author's name (Atom `author`, RSS `managingEditor`, `dc:creator`…).
    pub author: Option<String>,
    /// The feed's author with whatever of name, email and web address the feed gives.
    pub author_detail: Option<Person>,
    /// What was read leniently: each field or element dropped because it could not be read,
    /// each repair made, in plain words. Empty for a feed read as written.
    pub warnings: Vec<String>,
    /// What the feed says about how often to poll it (`<ttl>`, `sy:updatePeriod`, skips).
    pub hints: hints::Hints,
}

/// A person named by a feed: an author or contributor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Person {
    pub name: Option<String>,
    pub email: Option<String>,
    /// A web address for the person, absolute.
    pub uri: Option<String>,
}

/// One item of a feed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// Stable across polls: the GUID, else derived from the link, else title + date + content.
    pub id: String,
    pub title: Option<String>,
    /// Absolute URL of the item's page.
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub author: Option<String>,
    /// Plain text.
    pub summary: Option<String>,
    /// Plain text of the full content, when the feed carries it.
    pub content: Option<String>,
    /// The content (or summary) as HTML, for when the article page cannot be had.
    ///
    /// NOT sanitised: it is the feed's markup as given (plain-text fields escaped), because
    /// most items never need it and cleaning every entry cost more than parsing the feed.
    /// Whoever stores or mails it must pass it through [`sanitize_html`] first; the pipeline
    /// does so in `compose_item`.
    pub content_html: Option<String>,
    /// The item's own categories (RSS `<category>`, Atom `category` label or term), each
    /// once, as plain text: topics match them with `tag:` beside the feed's tags.
    pub categories: Vec<String>,
    /// The author with whatever of name, email and web address the feed gives; `author` is
    /// the name alone (or the email when there is no name).
    pub author_detail: Option<Person>,
}

/// Why a document gave no feed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FeedError {
    #[error("the document is empty")]
    Empty,
    #[error("the document is an HTML page, not a feed (check the feed URL)")]
    HtmlPage,
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("the feed parser crashed on this document: {0}")]
    Panicked(String),
    /// Looks like a feed but stays unreadable after every repair (truncated, badly nested).
    #[error("the feed is broken beyond repair ({0}); ask its publisher to fix it")]
    Malformed(String),
    /// Reading it ran past its time budget.
    #[error("the feed could not be read in time: {0}")]
    OutOfTime(#[from] OutOfTime),
}

/// Bounds on reading one untrusted document.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Items kept: the newest, by date (see [`cap`]).
    pub max_items: usize,
    pub budget: Budget,
}

impl Limits {
    /// Every item, under the default time budget: what [`parse`] reads.
    pub fn all_items() -> Limits {
        Limits {
            max_items: usize::MAX,
            budget: Budget::new(FEED_PARSE_BUDGET),
        }
    }
}

/// Parses a feed. `charset` is the HTTP `Content-Type` charset if any; `base` resolves relative
/// links (normally the feed's URL).
pub fn parse(
    bytes: &[u8],
    charset: Option<&str>,
    base: Option<&Url>,
) -> Result<ParsedFeed, FeedError> {
    parse_within(bytes, charset, base, &Limits::all_items())
}

/// [`parse`] keeping at most `limits.max_items` items (the newest) and giving up once
/// `limits.budget` is spent. Every step is linear in the document; the budget is the backstop.
pub fn parse_within(
    bytes: &[u8],
    charset: Option<&str>,
    base: Option<&Url>,
    limits: &Limits,
) -> Result<ParsedFeed, FeedError> {
    let budget = &limits.budget;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FeedError::Empty);
    }
    let mut decoded = encoding::decode(bytes, charset);
    let kind = repair::sniff(&decoded.text)?;
    let mut recovered = decoded.mislabelled;
    budget.check()?;
    let newest = match kind {
        repair::Kind::Json => cap::newest_json(&decoded.text, limits.max_items),
        repair::Kind::Xml => cap::newest_xml(&decoded.text, limits.max_items),
    };
    if let Some(newest) = newest {
        decoded.text = Cow::Owned(newest);
    }
    budget.check()?;
    // An error may be the budget's, surfacing as a read error inside the parser.
    // Dates feed-rs met but could not read, in the run that succeeded.
    let unread_dates = std::cell::Cell::new(0usize);
    let run_at = |input: &[u8], base: Option<&Url>| -> Result<feed_rs::model::Feed, Failure> {
        let result = run_feed_rs(input, base, budget);
        budget.check()?;
        let (feed, unread) = result?;
        unread_dates.set(unread);
        Ok(feed)
    };
    let run_feed_rs = |input: &[u8], base: Option<&Url>| run_at(input, base).map_err(|f| f.error);

    if kind == repair::Kind::Json {
        let feed = match run_feed_rs(decoded.text.as_bytes(), base) {
            Ok(feed) => feed,
            Err(first) => {
                let Some(fixed) = repair::repair_json(&decoded.text) else {
                    return Err(first);
                };
                recovered = true;
                run_feed_rs(fixed.as_bytes(), base).map_err(|_| first)?
            }
        };
        let mut parsed = normalise::from_feed_rs(feed, "json", base);
        parsed.recovered = recovered;
        if unread_dates.get() > 0 {
            parsed.warnings.push(format!(
                "{} dates could not be read and were left out",
                unread_dates.get()
            ));
        }
        return Ok(parsed);
    }

    let mut warnings: Vec<String> = Vec::new();
    if decoded.mislabelled {
        warnings.push(format!(
            "the document's encoding was undeclared or did not match its bytes; read as {}",
            decoded.encoding.name()
        ));
    }
    if let Some((normalised, changes)) = entities::normalise(&decoded.text) {
        decoded.text = Cow::Owned(normalised);
        if changes.ill_formed + changes.dropped > 0 {
            recovered = true;
            warnings.push(format!(
                "{} references XML does not know (HTML entities, bare '&', '&#X') read as a browser would",
                changes.ill_formed + changes.dropped
            ));
        }
        if changes.not_expanded > 0 {
            warnings.push(format!(
                "{} uses of DOCTYPE entities left as text (recursive, or past the expansion limit)",
                changes.not_expanded
            ));
        }
    }
    budget.check()?;
    let (text, info) = repair::adapt(decoded.text);
    recovered |= info.version_fixed || info.namespace_fixed;
    if info.namespace_fixed {
        warnings
            .push("a known namespace written in the wrong case was read as the one meant".into());
    }
    // The document feed-rs read in the end: the later reads (ids, extras) must see the same
    // items it did.
    let (feed, info, text): (_, _, Cow<'_, str>) = match run_at(text.as_bytes(), base) {
        Ok(feed) => (feed, info, text),
        Err(first) => {
            recovered = true;
            let repaired = repair::repair(&text);
            let mut attempts: Vec<String> = Vec::new();
            if let Some(r) = &repaired {
                attempts.push(r.clone());
            }
            if let Some(closed) = repair::balance_tags(repaired.as_deref().unwrap_or(&text)) {
                attempts.push(closed);
            }
            let mut found = None;
            // The most repaired document tried, where feed-rs failed, and how it was adapted.
            let mut current: (Cow<'_, str>, Option<usize>, repair::Adapted, String) =
                (Cow::Borrowed(&*text), first.at, info, reason(&first.error));
            for attempt in attempts {
                budget.check()?;
                let (fixed, again) = repair::adapt(Cow::Owned(attempt));
                let info = info.or(again);
                match run_at(fixed.as_bytes(), base) {
                    Ok(feed) => {
                        found = Some((feed, info, fixed));
                        break;
                    }
                    Err(Failure {
                        error: FeedError::Panicked(p),
                        ..
                    }) => return Err(FeedError::Panicked(p)),
                    Err(f) => {
                        current = (Cow::Owned(fixed.into_owned()), f.at, info, reason(&f.error))
                    }
                }
            }
            // feed-rs names the element it could not read: leave out that one and those like
            // it, and read the rest (a bad field costs the field, never the feed).
            let mut rounds = 0;
            let mut names_dropped: Vec<String> = Vec::new();
            while found.is_none() && rounds < MAX_DROP_ROUNDS {
                rounds += 1;
                let (doc, Some(at), info, why) = &current else {
                    break;
                };
                let Some(mut dropped) = repair::drop_elements_like(doc, *at, false) else {
                    break;
                };
                if names_dropped.contains(&dropped.name)
                    && let Some(all) = repair::drop_elements_like(doc, *at, true)
                {
                    dropped = all;
                }
                warnings.push(format!(
                    "{} {} element(s) left out ({why})",
                    dropped.count, dropped.what
                ));
                names_dropped.push(dropped.name);
                budget.check()?;
                let fewer = dropped.text;
                match run_at(fewer.as_bytes(), base) {
                    Ok(feed) => found = Some((feed, *info, Cow::Owned(fewer))),
                    Err(Failure {
                        error: FeedError::Panicked(p),
                        ..
                    }) => return Err(FeedError::Panicked(p)),
                    Err(f) => current = (Cow::Owned(fewer), f.at, *info, reason(&f.error)),
                }
            }
            budget.check()?;
            // The first error names the original problem, not one our edits made.
            found.ok_or(first.error)?
        }
    };
    let format = match feed.feed_type {
        feed_rs::model::FeedType::Atom => "atom",
        feed_rs::model::FeedType::JSON => "json",
        feed_rs::model::FeedType::RSS0 => "rss0",
        _ if info.rss0 => "rss0",
        feed_rs::model::FeedType::RSS1 => "rss1",
        feed_rs::model::FeedType::RSS2 => "rss2",
    };
    budget.check()?;
    let mut parsed = normalise::from_feed_rs(feed, format, base);
    parsed.recovered = recovered;
    if unread_dates.get() > 0 {
        warnings.push(format!(
            "{} dates could not be read and were left out",
            unread_dates.get()
        ));
    }
    parsed.warnings = warnings;
    if format != "atom" {
        parsed.hints = hints::scan(&text);
    }
    budget.check()?;
    if format == "atom" {
        normalise::resolve_atom_ids(&mut parsed, &text, base);
    }
    if format.starts_with("rss") && normalise::wants_extras(&parsed, &text) {
        let extras = extras::scan(&text);
        normalise::apply_extras(&mut parsed, &extras, base);
    }
    Ok(parsed)
}

/// The base a fetched feed's relative links and ids resolve against when the document sets
/// none of its own (`xml:base` inside it comes first): the HTTP `Content-Location`, itself
/// resolved against the URL the body came from, else that URL. A `Content-Location` that is
/// not an http(s) address is ignored.
pub fn document_base(fetched_url: &Url, content_location: Option<&str>) -> Url {
    content_location
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .and_then(|l| fetched_url.join(l).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .unwrap_or_else(|| fetched_url.clone())
}

/// Cleans feed HTML for storing or mailing: ammonia's default policy (no scripts, styles,
/// event handlers or `javascript:` links). [`Entry::content_html`] must go through this before
/// it leaves the feed stage's hands.
pub fn sanitize_html(html: &str) -> String {
    normalise::sanitise_html(html)
}

/// Kinds of element left out, one feed-rs run each, before a document is given up on.
const MAX_DROP_ROUNDS: usize = 8;

/// Why a feed-rs run failed, and where in its input when feed-rs says: the byte just after the
/// start tag of the element it could not read.
#[derive(Debug)]
struct Failure {
    error: FeedError,
    at: Option<usize>,
}

impl From<OutOfTime> for Failure {
    fn from(e: OutOfTime) -> Self {
        Failure {
            error: e.into(),
            at: None,
        }
    }
}

/// One feed-rs run with a parser built for it alone (a `Parser` reused after an error panics),
/// so a panic inside feed-rs or quick-xml becomes this document's error; with the feed, how
/// many dates it met and could not read. The parser reads
/// through `budget`, so it stops within one read of the deadline.
fn run_feed_rs(
    input: &[u8],
    base: Option<&Url>,
    budget: &Budget,
) -> Result<(feed_rs::model::Feed, usize), Failure> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let unread = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&unread);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(base.map(Url::as_str))
        // Never a random id: an empty one is filled in by `normalise` from link or content.
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(move |s| {
            let date = dates::parse_date(s);
            if date.is_none() && !s.trim().is_empty() {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            date
        })
        .sanitize_content(false)
        .build();
    match catch_unwind(AssertUnwindSafe(|| parser.parse(budget.reader(input)))) {
        Ok(Ok(feed)) => Ok((feed, unread.load(Ordering::Relaxed))),
        Ok(Err(e)) => {
            use feed_rs::parser::{ParseErrorKind as K, ParseFeedError as E};
            let at = match &e {
                E::ParseError(
                    K::UnknownMimeType { position, .. }
                    | K::MissingContent { position, .. }
                    | K::UnknownEnumVariant { position, .. }
                    | K::IllegalState { position, .. },
                ) => usize::try_from(*position).ok(),
                _ => None,
            };
            Err(Failure {
                error: describe(e),
                at,
            })
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Failure {
                error: FeedError::Panicked(msg),
                at: None,
            })
        }
    }
}

/// feed-rs's own words for why it stopped, for a warning (not the advice to the user that
/// [`FeedError`]'s message wraps them in).
fn reason(e: &FeedError) -> String {
    match e {
        FeedError::Malformed(m) => m.clone(),
        other => other.to_string(),
    }
}

fn describe(e: feed_rs::parser::ParseFeedError) -> FeedError {
    use feed_rs::parser::{ParseErrorKind, ParseFeedError};
    match e {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => FeedError::NotAFeed(
            "no <rss>, <feed> or <rdf:RDF> root element that the parser recognises".into(),
        ),
        ParseFeedError::JsonSerde(e) => FeedError::Malformed(format!("invalid JSON: {e}")),
        ParseFeedError::JsonUnsupportedVersion(v) => {
            FeedError::NotAFeed(format!("JSON that is not a JSON Feed (version {v:?})"))
        }
        other => FeedError::Malformed(other.to_string()),
    }
}

fn rfc3339(d: &Option<DateTime<Utc>>) -> Value {
    d.map_or(Value::Null, |d| {
        Value::String(d.to_rfc3339_opts(SecondsFormat::Secs, true))
    })
}

/// A person as `{"name", "email", "uri"}` with only what the feed gave; `null` for nobody.
fn person_json(p: Option<&Person>) -> Value {
    let Some(p) = p else {
        return Value::Null;
    };
    let mut o = serde_json::Map::new();
    for (k, v) in [("name", &p.name), ("email", &p.email), ("uri", &p.uri)] {
        if let Some(v) = v {
            o.insert(k.into(), Value::String(v.clone()));
        }
    }
    Value::Object(o)
}

/// The `feedwatch parse --json` line for one file (see design.md). Beside design.md's fields:
/// the feed's `id`, `author` (a name) and `author_detail` (`{"name", "email", "uri"}`, what
/// the feed gives), `warnings`, and each entry's `author_detail`; `author` stays a string.
pub fn to_json(file: &str, result: &Result<ParsedFeed, FeedError>) -> Value {
    match result {
        Err(e) => json!({
            "file": file, "ok": false, "error": e.to_string(), "format": null, "title": null,
            "link": null, "subtitle": null, "updated": null, "entries": [], "id": null,
            "author": null, "author_detail": null, "warnings": [],
        }),
        Ok(f) => json!({
            "file": file,
            "ok": true,
            "error": null,
            "format": f.format,
            "title": f.title,
            "link": f.link,
            "subtitle": f.subtitle,
            "updated": rfc3339(&f.updated),
            "id": f.id,
            "author": f.author,
            "author_detail": person_json(f.author_detail.as_ref()),
            "warnings": f.warnings,
            "entries": f.entries.iter().map(|e| json!({
                "id": e.id,
                "title": e.title,
                "link": e.link,
                "published": rfc3339(&e.published),
                "updated": rfc3339(&e.updated),
                "author": e.author,
                "author_detail": person_json(e.author_detail.as_ref()),
                "summary": e.summary,
                "content": e.content,
            })).collect::<Vec<_>>(),
        }),
    }
}

#[cfg(test)]
mod tests;
