//! What each fuzz target does with its bytes: the same public entry points the daemon and the
//! commands call on untrusted or user-written input, in one place, so the fuzzers under `fuzz/`
//! and the slow-input test (`tests/slow_inputs.rs`) drive exactly the same code.
//!
//! Each function takes arbitrary bytes, never panics on any of them (a panic is a bug the
//! fuzzer reports), and returns nothing: what matters is that it ends, quickly. Nothing here
//! logs (no subscriber is installed), so a fuzzer runs thousands of inputs a second.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use url::Url;

use crate::bounds::{Budget, FEED_PARSE_BUDGET};
use crate::topics::{Document, PreparedDocument, Query};
use crate::{config, dedup, extract, feed, opml, pipeline};

/// One fuzz target: what it does with an input.
pub type Target = fn(&[u8]);

/// The fuzz targets, by the names `fuzz/fuzz_targets/` and the corpora use.
pub const TARGETS: [(&str, Target); 5] = [
    ("feed_parse", feed_parse),
    ("extract", extract),
    ("topic_query", topic_query),
    ("config", config),
    ("opml", opml),
];

/// Called once before fuzzing starts. libfuzzer-sys makes every panic abort, even one the
/// daemon catches (feed-rs's, which costs one feed its poll: see `feed::parse_within`); this
/// hook only prints, so such a panic costs the input what it costs in the daemon, and a panic
/// that reaches the top of a target still fails it (libfuzzer-sys aborts on it there).
pub fn init() {
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
}

static FEED_URL: LazyLock<Option<Url>> =
    LazyLock::new(|| Url::parse("https://news.example.org/feeds/world.xml").ok());
static PAGE_URL: LazyLock<Option<Url>> =
    LazyLock::new(|| Url::parse("https://news.example.org/2024/03/01/story.html").ok());

/// A feed document as a poll reads it: parsed under the poll's item cap and time budget, then
/// each entry made ready to store as the pipeline does (its HTML sanitised, its link made
/// canonical, its text summarised, fingerprinted for dedup and prepared for topic matching).
pub fn feed_parse(data: &[u8]) {
    let limits = feed::Limits {
        max_items: config::DEFAULT_MAX_ITEMS_PER_POLL,
        budget: Budget::new(FEED_PARSE_BUDGET),
    };
    let Ok(parsed) = feed::parse_within(data, None, FEED_URL.as_ref(), &limits) else {
        return;
    };
    for entry in &parsed.entries {
        if let Some(html) = &entry.content_html {
            feed::sanitize_html(html);
        }
        if let Some(link) = &entry.link {
            dedup::canonical_url(link);
        }
        let title = entry.title.as_deref().unwrap_or_default();
        let text = entry
            .content
            .as_deref()
            .or(entry.summary.as_deref())
            .unwrap_or_default();
        pipeline::summarise(text);
        dedup::digest(title, text);
        PreparedDocument::new(&Document {
            title,
            text,
            author: entry.author.as_deref().unwrap_or_default(),
            feed: parsed.title.as_deref().unwrap_or_default(),
            tags: &entry.categories,
            url: entry.link.as_deref().unwrap_or_default(),
        });
    }
}

/// An article page as a poll reads it: extracted under the extraction budget.
pub fn extract(data: &[u8]) {
    extract::extract(data, None, PAGE_URL.as_ref(), &[]);
}

/// A topic query as `check` and a reload read it, then matched against a story. The bytes up
/// to the first NUL are the query; the rest, if any, is the story's text (split again at a
/// NUL into title and text), so the fuzzer varies both.
pub fn topic_query(data: &[u8]) {
    let (query, story) = split_at_nul(data);
    let query = String::from_utf8_lossy(query);
    let Ok(query) = Query::parse(&query) else {
        return;
    };
    let story = String::from_utf8_lossy(story.unwrap_or(b"Troops leave Iraq, the coalition says"));
    let (title, text) = match story.split_once('\0') {
        Some((title, text)) => (title, text),
        None => ("", story.as_ref()),
    };
    let tags = ["world".to_string(), "Iraq".to_string()];
    let doc = Document {
        title,
        text,
        author: "A. Reporter",
        feed: "World news",
        tags: &tags,
        url: "https://news.example.org/2024/03/01/story.html",
    };
    if let Some(terms) = query.matches(&doc) {
        crate::topics::snippet(&doc, &terms, 280);
    }
}

/// A config file as `check`, the daemon's start and each reload read it. It names a folder
/// that does not exist, so no `feeds.d/` of this machine's is read beside it.
pub fn config(data: &[u8]) {
    static PATH: LazyLock<PathBuf> =
        LazyLock::new(|| Path::new("/nonexistent/feedwatch-fuzz/feedwatch.toml").to_path_buf());
    let Ok(text) = std::str::from_utf8(data) else {
        // `load` refuses a file that is not UTF-8 before reading it as TOML.
        return;
    };
    let _ = config::from_text(&PATH, text, &[]);
}

/// An OPML file as `import-opml` reads it; the feeds found are written back as `export-opml`
/// would, and that document must read back to as many feeds.
pub fn opml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(feeds) = opml::parse(&text) else {
        return;
    };
    let written = opml::write(&feeds);
    match opml::parse(&written) {
        Ok(again) => assert_eq!(again.len(), feeds.len(), "{written}"),
        Err(e) => panic!("an exported OPML document does not read back: {e}\n{written}"),
    }
}

fn split_at_nul(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}
