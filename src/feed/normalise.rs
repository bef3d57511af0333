//! feed-rs's model to ours: plain text with entities decoded, the feed's HTML kept beside it
//! (unsanitised until the pipeline stores it, see [`super::Entry::content_html`]),
//! absolute links, one author name, UTC dates, and ids that stay the same across polls.

use chrono::{DateTime, SecondsFormat, Utc};
use feed_rs::model;
use siphasher::sip128::{Hasher128, SipHasher};
use std::hash::Hasher;
use url::Url;

use super::repair::NO_LINK;
use super::{Entry, ParsedFeed};
use crate::bounds::{Budget, SANITISE_BUDGET};

/// Fixed keys so a stored id means the same item after an upgrade of Rust or of this crate.
const ID_KEYS: (u64, u64) = (0x6665_6564_7761_7463, 0x6869_6473_2d76_3031);

/// How the text of a field is to be read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Markup {
    /// Atom `type="text"` and JSON `content_text`: characters are literal.
    Plain,
    /// Atom html/xhtml, RSS (whose text fields are HTML by long custom), JSON `content_html`.
    Html,
}

/// Converts a parsed feed-rs feed.
pub fn from_feed_rs(feed: model::Feed, format: &str, base: Option<&Url>) -> ParsedFeed {
    let rss_like = !matches!(
        feed.feed_type,
        model::FeedType::Atom | model::FeedType::JSON
    );
    let feed_base = base.cloned();
    let link = pick_link(&feed.links).and_then(|l| absolute(l, feed_base.as_ref()));
    let link_base = link
        .as_deref()
        .and_then(|l| Url::parse(l).ok())
        .or(feed_base.clone());
    let entries: Vec<Entry> = feed
        .entries
        .into_iter()
        .map(|e| entry(e, rss_like, link_base.as_ref()))
        .collect();
    let mut updated = feed.updated.or(feed.published);
    if updated.is_none() && format == "json" {
        // JSON Feed has no feed-level date: the newest item stands for it.
        updated = entries
            .iter()
            .filter_map(|e: &Entry| e.updated.or(e.published))
            .max();
    }
    let author_detail = feed
        .authors
        .iter()
        .chain(
            feed.contributors
                .iter()
                .filter(|c| c.role.as_deref() == Some("managingEditor")),
        )
        .find_map(|p| person_detail(p, feed_base.as_ref()));
    let id = Some(feed.id.trim())
        .filter(|i| !i.is_empty())
        .map(str::to_string);
    ParsedFeed {
        id,
        author: author_detail
            .as_ref()
            .and_then(|p| p.name.clone().or(p.email.clone())),
        author_detail,
        format: format.to_string(),
        title: feed.title.as_ref().and_then(|t| text_field(t, rss_like)),
        link,
        subtitle: feed
            .description
            .as_ref()
            .and_then(|t| text_field(t, rss_like)),
        updated,
        entries,
        ..ParsedFeed::default()
    }
}

fn entry(e: model::Entry, rss_like: bool, base: Option<&Url>) -> Entry {
    let link = pick_link(&e.links).and_then(|l| absolute(l, base));
    let title = e
        .title
        .as_ref()
        .and_then(|t| text_field(t, rss_like))
        .map(|mut t| {
            t.truncate(crate::bounds::prefix(&t, MAX_TITLE_BYTES).len());
            t
        });
    let summary = e.summary.as_ref().and_then(|t| text_field(t, rss_like));
    // The markup is moved out of feed-rs's entry, never copied: it is most of a feed's bytes.
    let bounded = |mut body: String| {
        body.truncate(crate::bounds::prefix(&body, MAX_FIELD_BYTES).len());
        body
    };
    let (content, content_markup) = match e.content {
        Some(c) => match c.body {
            Some(body) => {
                let markup = if is_html(c.content_type.subty().as_str()) || rss_like {
                    Markup::Html
                } else {
                    Markup::Plain
                };
                let body = bounded(body);
                (to_text(&body, markup), Some((body, markup)))
            }
            None => (None, None),
        },
        None => (None, None),
    };
    let content_html = content_markup
        .or_else(|| {
            e.summary.map(|t| {
                let markup = if rss_like || is_html(t.content_type.subty().as_str()) {
                    Markup::Html
                } else {
                    Markup::Plain
                };
                (bounded(t.content), markup)
            })
        })
        // Not sanitised here: most items never need their feed HTML (the article page is
        // read instead), and cleaning every entry cost more than parsing the feed. The
        // pipeline cleans it with `feed::sanitize_html` when it stores it.
        .map(|(body, markup)| match markup {
            Markup::Html => body,
            Markup::Plain => escape_text(&body),
        })
        .filter(|h| !h.trim().is_empty());
    let author_detail = e.authors.iter().find_map(|p| person_detail(p, base));
    let author = e.authors.iter().find_map(person_name).or_else(|| {
        e.media
            .iter()
            .flat_map(|m| m.credits.iter())
            .map(|c| c.entity.trim())
            .find(|n| !n.is_empty())
            .map(str::to_string)
    });

    let mut categories: Vec<String> = Vec::new();
    for c in &e.categories {
        let name = collapse(c.label.as_deref().unwrap_or(&c.term));
        if !name.is_empty() && !categories.iter().any(|k| k.eq_ignore_ascii_case(&name)) {
            categories.push(name);
        }
    }
    let published = e.published;
    let updated = e.updated;
    let given_id = e.id.trim();
    let id = if !given_id.is_empty() {
        given_id.to_string()
    } else if let Some(l) = &link {
        l.clone()
    } else {
        derived_id(
            title.as_deref(),
            published.or(updated),
            content.as_deref().or(summary.as_deref()),
        )
    };
    Entry {
        id,
        title,
        link,
        published,
        updated,
        author,
        summary,
        content,
        content_html,
        categories,
        author_detail,
    }
}

/// A person with all the feed says of them: the name cleaned of an email written beside it,
/// the email (its own element, or taken from "jane@example.org (Jane Doe)"), the web address
/// made absolute. `None` for a person with none of the three.
fn person_detail(p: &model::Person, base: Option<&Url>) -> Option<super::Person> {
    let raw = p.name.as_deref().unwrap_or("").trim();
    let raw = raw.strip_prefix("mailto:").unwrap_or(raw);
    let written_email = p
        .email
        .as_deref()
        .map(|e| e.trim().trim_start_matches("mailto:"))
        .filter(|e| !e.is_empty());
    // An email inside the name: "jane@x (Jane)", "Jane (jane@x)", "Jane <jane@x>".
    let found_email = raw
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '<' | '>'))
        .find(|w| w.contains('@') && !w.starts_with('@') && !w.ends_with('@'));
    let email = written_email.or(found_email).map(str::to_string);
    let name = if raw.contains('<') && raw.ends_with('>') {
        raw.split('<').next().unwrap_or("").trim().to_string()
    } else {
        clean_person(raw)
    };
    let name = Some(name)
        .filter(|n| !n.is_empty() && Some(n.as_str()) != email.as_deref())
        .and_then(|n| to_text(&n, Markup::Html));
    let uri = p.uri.as_deref().and_then(|u| absolute(u, base));
    (name.is_some() || email.is_some() || uri.is_some()).then_some(super::Person {
        name,
        email,
        uri,
    })
}

/// Fills what feed-rs left empty from the second read of an RSS document.
pub fn apply_extras(feed: &mut ParsedFeed, x: &super::extras::Extras, base: Option<&Url>) {
    let text = |v: &Option<String>| v.as_deref().and_then(|s| to_text(s, Markup::Html));
    let date = |v: &Option<String>| v.as_deref().and_then(super::dates::parse_date);
    let c = &x.channel;
    if feed.title.is_none() {
        feed.title = text(&c.title);
    }
    if feed.link.is_none() {
        feed.link = c
            .link
            .as_deref()
            .or(c.self_link.as_deref())
            .and_then(|l| absolute(l, base));
    }
    if feed.subtitle.is_none() {
        feed.subtitle = text(&c.summary);
    }
    if feed.updated.is_none() {
        feed.updated = date(&c.updated).or_else(|| date(&c.published));
    }
    let link_base = feed
        .link
        .as_deref()
        .and_then(|l| Url::parse(l).ok())
        .or(base.cloned());
    for (e, x) in feed.entries.iter_mut().zip(&x.items) {
        let derived =
            e.id.starts_with("urn:feedwatch:") || e.link.as_deref() == Some(e.id.as_str());
        if e.title.is_none() {
            e.title = text(&x.title);
        }
        if e.published.is_none() {
            e.published = date(&x.published);
        }
        if e.updated.is_none() {
            e.updated = date(&x.updated);
        }
        if e.link.is_none() {
            e.link = x
                .link
                .as_deref()
                .and_then(|l| absolute(l, link_base.as_ref()));
        }
        if e.author.is_none() {
            e.author = x
                .author
                .as_deref()
                .map(clean_person)
                .and_then(|a| to_text(&a, Markup::Html));
        }
        if e.author_detail.is_none() && (x.author_email.is_some() || x.author_uri.is_some()) {
            e.author_detail = Some(super::Person {
                name: e.author.clone(),
                email: x.author_email.as_deref().map(|m| m.trim().to_string()),
                uri: x
                    .author_uri
                    .as_deref()
                    .and_then(|u| absolute(u, link_base.as_ref())),
            });
        }
        if e.summary.is_none() {
            e.summary = text(&x.summary);
        }
        if e.content.is_none() {
            e.content = text(&x.content);
            if e.content_html.is_none() {
                e.content_html = x
                    .content
                    .as_deref()
                    .or(x.summary.as_deref())
                    .map(|h| crate::bounds::prefix(h, MAX_FIELD_BYTES).to_string());
            }
        }
        // RSS 1.0 names each item by its rdf:about, the RDF resource it describes.
        if let Some(about) = x.about.as_deref().map(str::trim).filter(|a| !a.is_empty())
            && derived
        {
            e.link = e
                .link
                .take()
                .or_else(|| absolute(about, link_base.as_ref()));
            e.id = about.to_string();
            continue;
        }
        // A guid that is a permalink (as RSS 2.0 has it unless isPermaLink="false") is the
        // item's page when it has no link.
        if e.link.is_none() && x.guid_permalink && !derived {
            e.link = absolute(&e.id, link_base.as_ref());
        }
        if derived {
            e.id = match &e.link {
                Some(l) => l.clone(),
                None => derived_id(
                    e.title.as_deref(),
                    e.published.or(e.updated),
                    e.content.as_deref().or(e.summary.as_deref()),
                ),
            };
        }
    }
}

/// Resolves relative Atom entry ids against the `xml:base` in scope, as gofeed and feedparser
/// do (an id is an IRI, and xml:base applies to it like to a link). Reads the document again
/// only when an id is relative and the document has an `xml:base` at all; a relative
/// `xml:base` resolves against the one around it, the outermost against `outer`.
pub fn resolve_atom_ids(feed: &mut ParsedFeed, doc: &str, outer: Option<&Url>) {
    // A scheme ("tag:", "urn:", "http:") makes an id absolute; checked by hand since this
    // runs on every Atom entry.
    let relative = |id: &str| {
        let id = id.trim();
        let scheme = id.find(':').map_or("", |c| &id[..c]);
        let has_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        !id.is_empty() && !has_scheme
    };
    if !feed.entries.iter().any(|e| relative(&e.id)) || !doc.contains("xml:base") {
        return;
    }
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(doc);
    reader.config_mut().check_end_names = false;
    // The base in scope at each open element; `None` where no xml:base has been seen.
    let mut bases: Vec<Option<Url>> = Vec::new();
    let mut entry = None::<usize>;
    let mut entry_depth = 0;
    let mut id_bases: Vec<Option<Url>> = Vec::new();
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Eof => break,
            Event::Start(e) => {
                // The outer base (Content-Location, the feed's URL) is the root's parent.
                let parent = match bases.last() {
                    Some(b) => b.clone(),
                    None => outer.cloned(),
                };
                let own = e
                    .attributes()
                    .flatten()
                    .find(|a| {
                        let k: &str = a.key.as_ref();
                        k == "xml:base"
                    })
                    .and_then(|a| {
                        let v = a.value.to_string();
                        match &parent {
                            Some(p) => p.join(&v).ok(),
                            None => Url::parse(&v).ok(),
                        }
                    });
                let base = own.or(parent);
                let local = e.local_name();
                let local: &str = local.as_ref();
                match local {
                    "entry" => {
                        id_bases.push(None);
                        entry = Some(id_bases.len() - 1);
                        entry_depth = bases.len() + 1;
                    }
                    "id" if entry.is_some() && bases.len() == entry_depth => {
                        if let Some(slot) = entry.and_then(|i| id_bases.get_mut(i)) {
                            *slot = base.clone();
                        }
                    }
                    _ => {}
                }
                bases.push(base);
            }
            // An empty `<entry/>` is still an entry: keep the slots in step with them.
            Event::Empty(e)
                if {
                    let local = e.local_name();
                    let local: &str = local.as_ref();
                    local == "entry"
                } =>
            {
                id_bases.push(None);
            }
            Event::End(_) => {
                if bases.len() == entry_depth {
                    entry = None;
                }
                bases.pop();
            }
            _ => {}
        }
    }
    for (e, base) in feed.entries.iter_mut().zip(id_bases) {
        if relative(&e.id)
            && let Some(resolved) = base.and_then(|b| b.join(e.id.trim()).ok())
        {
            e.id = resolved.to_string();
        }
    }
}

/// Kinds of field the second read can fill, as bits of a mask.
const X_TITLE: u8 = 1;
const X_LINK: u8 = 2;
const X_SUMMARY: u8 = 4;
const X_DATES: u8 = 8;
const X_AUTHOR: u8 = 16;
const X_CONTENT: u8 = 32;
const X_ID: u8 = 64;
const X_PERSON: u8 = 128;

/// Whether [`apply_extras`] could fill something: a field is missing and the document has an
/// element that might hold it, in the part (channel or items) where it is missing. Keeps the
/// second read off feeds that do not need it, and costs one pass over the document at most.
pub fn wants_extras(feed: &ParsedFeed, doc: &str) -> bool {
    let mut channel_needs = 0u8;
    for (missing, bit) in [
        (feed.title.is_none(), X_TITLE),
        (feed.link.is_none(), X_LINK),
        (feed.subtitle.is_none(), X_SUMMARY),
        (feed.updated.is_none(), X_DATES),
    ] {
        if missing {
            channel_needs |= bit;
        }
    }
    let mut item_needs = 0u8;
    for e in &feed.entries {
        for (missing, bit) in [
            (e.title.is_none(), X_TITLE),
            (e.link.is_none(), X_LINK),
            (e.author.is_none(), X_AUTHOR),
            (e.summary.is_none() && e.content.is_none(), X_SUMMARY),
            (e.content.is_none(), X_CONTENT),
            (e.published.is_none(), X_DATES),
            (e.link.as_deref() == Some(e.id.as_str()), X_ID),
            (e.author_detail.is_none(), X_PERSON),
        ] {
            if missing {
                item_needs |= bit;
            }
        }
    }
    if channel_needs == 0 && item_needs == 0 {
        return false;
    }
    // The channel is what comes before the first item; item fields are looked for after it.
    let split = doc.find("<item").unwrap_or(doc.len());
    let (channel, items) = doc.split_at(split);

    let wanted = |part: &str, needs: u8| {
        // Needles of one namespace prefix ("dc:", "atom:") are looked for only where the
        // prefix is: one search says no for the six "atom:" needles of most feeds.
        let mut prefixes: Vec<(&str, bool)> = Vec::new();
        let mut has_prefix = |prefix: &'static str| match prefixes.iter().find(|p| p.0 == prefix) {
            Some(&(_, found)) => found,
            None => {
                let found = part.contains(prefix);
                prefixes.push((prefix, found));
                found
            }
        };
        EXTRA_MARKERS.iter().any(|(bit, needles)| {
            needs & bit != 0
                && needles.iter().any(|n| {
                    n.find(':').is_none_or(|c| has_prefix(&n[..=c])) && has_marker(part, n)
                })
        })
    };
    // Ids taken from links: an RSS 1.0 item's `rdf:about` names it instead, but most feeds
    // write the link there, and then the read would change nothing. Looked at last: any other
    // field wanted settles it first.
    wanted(channel, channel_needs)
        || wanted(items, item_needs)
        || item_needs & X_ID != 0 && !item_abouts_are_ids(items, &feed.entries)
}

/// Whether the `rdf:about` of the `<item>` start tags in `items`, in order, are the entries'
/// ids, one for one, or no item has one: then [`apply_extras`] would find every derived id
/// already what the item's `rdf:about` makes it. `false` at any doubt (an `rdf:about` not read here, a reference
/// in it, another count): the second read then settles it. One search of `items` for
/// `rdf:about`, each looked at in the tag around it only.
fn item_abouts_are_ids(items: &str, entries: &[Entry]) -> bool {
    let b = items.as_bytes();
    let mut n = 0;
    for at in memchr::memmem::find_iter(b, b"rdf:about") {
        // The tag it is in: its '<' within a few bytes before, an element named `item`.
        let from = at.saturating_sub(256);
        let Some(lt) = memchr::memrchr(b'<', &b[from..at]).map(|i| from + i) else {
            return false;
        };
        let tag = &b[lt + 1..at];
        if memchr::memchr(b'>', tag).is_some() {
            // In text, not in a tag: nothing the read takes.
            continue;
        }
        let name_len = tag
            .iter()
            .position(|c| c.is_ascii_whitespace())
            .unwrap_or(tag.len());
        let name = &tag[..name_len];
        let local = name.rsplit(|&c| c == b':').next().unwrap_or(name);
        if local != b"item" {
            continue;
        }
        let rest = items[at + "rdf:about".len()..].trim_start();
        let Some(rest) = rest.strip_prefix('=').map(str::trim_start) else {
            return false;
        };
        let Some(q) = rest.chars().next().filter(|&c| c == '"' || c == '\'') else {
            return false;
        };
        let Some(end) = rest[1..].find(q) else {
            return false;
        };
        let value = &rest[1..1 + end];
        if value.contains('&') || entries.get(n).is_none_or(|e| e.id != value.trim()) {
            return false;
        }
        n += 1;
    }
    // None at all: nothing for the read to take either.
    n == 0 || n == entries.len()
}

/// Where each kind of field may hide from feed-rs in an RSS document.
const EXTRA_MARKERS: [(u8, &[&str]); 7] = [
    (X_TITLE, &["dc:title", "<title><"]),
    (X_LINK, &["atom:link", "<guid"]),
    (X_PERSON, &["atom:email", "atom:uri"]),
    (
        X_SUMMARY,
        &[
            "dc:description",
            "itunes:summary",
            "itunes:subtitle",
            "<description><",
        ],
    ),
    (
        X_DATES,
        &[
            "dc:date",
            "atom:published",
            "atom:updated",
            "dcterms:",
            "dc:modified",
        ],
    ),
    (
        X_AUTHOR,
        &[
            "atom:author",
            "dc:author",
            "<author><",
            "itunes:author",
            "ITUNES:author",
        ],
    ),
    (X_CONTENT, &["atom:content"]),
];

/// Whether `hay` has `needle`. For the `<title><` kind of needle only markup inside the
/// element counts: not `<![CDATA[` (feed-rs reads CDATA itself), and not the element's own end
/// tag (`<author></author>`, empty: nothing there to fill a field, and feeds write such empty
/// elements in every item).
fn has_marker(hay: &str, needle: &str) -> bool {
    let Some(name) = needle.strip_suffix('<') else {
        return hay.contains(needle);
    };
    let name = name.trim_start_matches('<').trim_end_matches('>');
    // memchr's vectorised search: std's `match_indices` steps nearly byte by byte through
    // the items for needles of common letters like these.
    memchr::memmem::find_iter(hay.as_bytes(), needle.as_bytes()).any(|at| {
        let after = &hay.as_bytes()[at + needle.len()..];
        let own_end = after.strip_prefix(b"/").is_some_and(|r| {
            r.strip_prefix(name.as_bytes())
                .is_some_and(|r| r.first() == Some(&b'>'))
        });
        after.first() != Some(&b'!') && !own_end
    })
}

/// ammonia's default policy, built once: `ammonia::clean` rebuilds its tag and attribute sets
/// on every call, which costs more than the cleaning of a short summary.
///
/// Bounded like article pages: the markup is cut down first (nesting, attributes: see
/// [`crate::bounds::html`]), and read under [`SANITISE_BUDGET`]; HTML still unread then is
/// kept as its plain text, escaped.
pub fn sanitise_html(html: &str) -> String {
    sanitise_html_within(html, &Budget::new(SANITISE_BUDGET))
}

/// [`sanitise_html`] with a time budget of the caller's.
pub fn sanitise_html_within(html: &str, budget: &Budget) -> String {
    static CLEANER: std::sync::OnceLock<ammonia::Builder<'static>> = std::sync::OnceLock::new();
    if !marks(html).1 {
        return escape_text(html);
    }
    let limits = crate::bounds::html::Limits {
        raw_text_as_markup: true,
        ..Default::default()
    };
    let html = crate::bounds::html::limit(html, &limits);
    match CLEANER
        .get_or_init(ammonia::Builder::default)
        .clean_from_reader(budget.reader(html.as_bytes()))
    {
        Ok(clean) => clean.to_string(),
        Err(e) => {
            tracing::warn!(error = %e, bytes = html.len(), "feed HTML not sanitised in time; kept as plain text");
            escape_text(&html_to_text(&html))
        }
    }
}

/// Plain text as HTML that shows it literally. Cheaper than `ammonia::clean_text`, which also
/// encodes every space; the five characters escaped here are all HTML gives meaning to.
pub fn escape_text(text: &str) -> String {
    let special = |b: &u8| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'');
    if !text.as_bytes().iter().any(special) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An id for an item that has neither a GUID nor a link: a hash of what it says.
pub fn derived_id(title: Option<&str>, date: Option<DateTime<Utc>>, body: Option<&str>) -> String {
    let mut h = SipHasher::new_with_keys(ID_KEYS.0, ID_KEYS.1);
    h.write(title.unwrap_or("").as_bytes());
    h.write(&[0]);
    if let Some(d) = date {
        h.write(d.to_rfc3339_opts(SecondsFormat::Secs, true).as_bytes());
    }
    h.write(&[0]);
    h.write(body.unwrap_or("").as_bytes());
    let v = h.finish128();
    format!("urn:feedwatch:{:016x}{:016x}", v.h1, v.h2)
}

/// "Jane Doe", from "Jane Doe", "(Jane Doe)", "jane@example.org (Jane Doe)", "mailto:jane@…".
pub fn clean_person(raw: &str) -> String {
    let name = raw.trim();
    let name = name.strip_prefix("mailto:").unwrap_or(name).trim();
    if let (Some(open), true) = (name.find('('), name.ends_with(')')) {
        let inner = name[open + 1..name.len() - 1].trim();
        let outer = name[..open].trim();
        if !inner.is_empty() && (outer.is_empty() || outer.contains('@')) {
            return inner.to_string();
        }
        if !outer.is_empty() && inner.contains('@') && !inner.contains(' ') {
            return outer.to_string();
        }
    }
    name.to_string()
}

fn is_html(subtype: &str) -> bool {
    subtype.contains("html")
}

fn person_name(p: &model::Person) -> Option<String> {
    let name = clean_person(p.name.as_deref().unwrap_or(""));
    let name = name.as_str();
    if !name.is_empty() {
        return to_text(name, Markup::Html);
    }
    p.email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
}

/// The page a feed or item points at: `alternate` (or no rel) first, and never the placeholder.
fn pick_link(links: &[model::Link]) -> Option<&str> {
    let usable = |l: &&model::Link| l.href.trim() != NO_LINK && !l.href.trim().is_empty();
    links
        .iter()
        .filter(usable)
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| {
            links.iter().filter(usable).find(|l| {
                !matches!(
                    l.rel.as_deref(),
                    Some("self" | "hub" | "enclosure" | "replies" | "edit")
                )
            })
        })
        // Only a `self` link: it still leads a reader to the site, which beats nothing.
        .or_else(|| {
            links
                .iter()
                .filter(usable)
                .find(|l| l.rel.as_deref() == Some("self"))
        })
        .map(|l| l.href.trim())
}

/// Resolves a link against the base when it is relative. Only an absolute http(s) URL is kept:
/// a link is fetched, stored, printed and mailed, so one that is not a web address (a relative
/// link with no base, `javascript:`, plain text with escape sequences or line breaks in it) is
/// dropped. Parsing drops tabs and line breaks and percent-encodes other control characters.
fn absolute(href: &str, base: Option<&Url>) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    // Most links are written as the parser would write them: kept without a parse.
    if written_as_parsed(href) {
        return Some(href.to_string());
    }
    let url = match Url::parse(href) {
        Ok(u) => u,
        Err(_) => base?.join(href).ok()?,
    };
    // The parsed URL's own text, not a copy of it.
    (matches!(url.scheme(), "http" | "https") && url.host().is_some()).then(|| url.into())
}

/// Whether `href` is an http(s) URL that `Url::parse` reads and writes back byte for byte,
/// told by a look at its bytes: scheme and host in lower case, the host of letters, digits and
/// '-' in non-empty labels (none "xn--", the last starting with a letter, so never an IP
/// address), no user or port, a path at once after the host with no dot segment (no '.'
/// after a '/', no "%2e"), and only characters the parser leaves as they are in the path and
/// query (no fragment). Anything else is parsed.
fn written_as_parsed(href: &str) -> bool {
    let Some(rest) = href
        .strip_prefix("https://")
        .or_else(|| href.strip_prefix("http://"))
    else {
        return false;
    };
    let Some(host_end) = rest.find('/') else {
        return false;
    };
    let (host, tail) = rest.split_at(host_end);
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with("xn--")
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !host.split('.').all(label_ok)
        || !host
            .rsplit('.')
            .next()
            .is_some_and(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
    {
        return false;
    }
    let t = tail.as_bytes();
    t.iter().enumerate().all(|(i, &b)| match b {
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => true,
        b'-' | b'_' | b'~' | b'!' | b'$' | b'&' | b'(' | b')' | b'*' | b'+' | b',' | b';'
        | b'=' | b':' | b'@' | b'/' | b'?' => true,
        b'.' => t[i - 1] != b'/',
        b'%' => t
            .get(i + 1..i + 3)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit) && !h.eq_ignore_ascii_case(b"2e")),
        _ => false,
    })
}

fn text_field(t: &model::Text, rss_like: bool) -> Option<String> {
    let markup = if rss_like || is_html(t.content_type.subty().as_str()) {
        Markup::Html
    } else {
        Markup::Plain
    };
    to_text(&t.content, markup)
}

/// Bytes of a field's markup read (a description of 10 MB is a hostile one, not an article).
pub const MAX_FIELD_BYTES: usize = 1024 * 1024;
/// Bytes of plain text kept of a field: some 40,000 words, more than any article. Bounds the
/// memory of everything after the feed stage (topic matching, fingerprints, the store), which
/// grew to 60 times the text.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// Bytes kept of a title.
pub const MAX_TITLE_BYTES: usize = 2048;

fn to_text(s: &str, markup: Markup) -> Option<String> {
    let s = crate::bounds::prefix(s, MAX_FIELD_BYTES);
    let mut out = match markup {
        Markup::Plain if has_markers(s) => collapse(&without_markers(s)),
        Markup::Plain => collapse(s),
        Markup::Html => html_to_text(s),
    };
    out.truncate(crate::bounds::prefix(&out, MAX_TEXT_BYTES).len());
    (!out.is_empty()).then_some(out)
}

/// Collapses runs of whitespace to one space and trims, keeping paragraph breaks.
fn collapse(s: &str) -> String {
    if is_collapsed(s) {
        return s.to_string();
    }
    let mut out = Collapser::with_capacity(s.len());
    out.push(s);
    out.out
}

/// [`collapse`] fed piece by piece: the pieces pushed come out as `collapse` gives their
/// concatenation, without the concatenation being built first.
struct Collapser {
    out: String,
    pending_space: bool,
    pending_breaks: u8,
}

impl Collapser {
    fn with_capacity(n: usize) -> Self {
        Collapser {
            out: String::with_capacity(n),
            pending_space: false,
            pending_breaks: 0,
        }
    }

    fn push(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            // Runs of words are most of any text: copied whole, not char by char.
            let run = plain_run(&bytes[i..]);
            let (piece, c) = if run > 0 {
                let piece = &s[i..i + run];
                i += run;
                (piece, None)
            } else {
                let c = if bytes[i].is_ascii() {
                    char::from(bytes[i])
                } else {
                    let Some(c) = s[i..].chars().next() else {
                        break;
                    };
                    c
                };
                i += c.len_utf8();
                if c == '\u{1}' {
                    self.pending_breaks = 2;
                    continue;
                }
                if c == '\u{2}' {
                    self.pending_breaks = self.pending_breaks.max(1);
                    continue;
                }
                // A C1 control in text is a Windows-1252 character read as Latin-1 somewhere
                // upstream ("don\u{92}t"): it means what Windows-1252 says.
                let c = if ('\u{80}'..='\u{9f}').contains(&c) && c != '\u{85}' {
                    char::from_u32(super::entities::windows_1252(c as u32)).unwrap_or(c)
                } else {
                    c
                };
                if c.is_control() && !c.is_whitespace() {
                    continue;
                }
                if c.is_whitespace() && c != '\u{a0}' {
                    self.pending_space = true;
                    continue;
                }
                ("", Some(if c == '\u{a0}' { ' ' } else { c }))
            };
            if !self.out.is_empty() {
                if self.pending_breaks > 0 {
                    for _ in 0..self.pending_breaks {
                        self.out.push('\n');
                    }
                } else if self.pending_space {
                    self.out.push(' ');
                }
            }
            self.pending_space = false;
            self.pending_breaks = 0;
            self.out.push_str(piece);
            if let Some(c) = c {
                self.out.push(c);
            }
        }
    }
}

/// How many bytes at the start of `b` [`collapse`] copies as they are: visible characters,
/// ASCII or not, with single ASCII spaces between them (never first or last). Ends on a
/// character boundary, before a byte that may begin whitespace or a control character (the
/// same lead bytes [`is_collapsed`] looks for).
fn plain_run(b: &[u8]) -> usize {
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        // Printable ASCII, most of any text, in a tight loop first.
        if (b'!'..=b'~').contains(&c) {
            i += 1;
            continue;
        }
        let plain = match c {
            b'!'..=b'~' => true,
            b' ' => i > 0 && b.get(i + 1).is_some_and(u8::is_ascii_graphic),
            0..=0x7f => false,
            0xC2 => b.get(i + 1).is_some_and(|&n| n > 0xA0),
            0xE1 => b.get(i + 1) != Some(&0x9A),
            0xE2 => !matches!(b.get(i + 1), Some(0x80 | 0x81)),
            0xE3 => b.get(i + 1) != Some(&0x80),
            // Continuation bytes, and lead bytes of characters that are neither.
            _ => true,
        };
        if !plain {
            break;
        }
        i += 1;
    }
    i
}

/// Whether `collapse` would give `s` back unchanged: no control characters, no whitespace but
/// single ASCII spaces between words, nothing at either end. Most titles and many summaries
/// are like that, and a byte scan is far cheaper than rebuilding them char by char.
fn is_collapsed(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return false;
    }
    let mut prev = 0u8;
    for (i, &c) in b.iter().enumerate() {
        // Printable ASCII, most of any text, is never suspect: the quick test first.
        if (b'!'..=b'~').contains(&c) {
            prev = c;
            continue;
        }
        let suspect = match c {
            b' ' => prev == b' ',
            0..=0x1f | 0x7f => true,
            // Lead bytes of the non-ASCII whitespace and C1 controls: U+0080..U+00A0,
            // U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
            0xC2 => b.get(i + 1).is_some_and(|&n| n <= 0xA0),
            0xE1 => b.get(i + 1) == Some(&0x9A),
            0xE2 => match (b.get(i + 1), b.get(i + 2)) {
                (Some(0x80), Some(&n)) => n <= 0x8A || matches!(n, 0xA8 | 0xA9 | 0xAF),
                (Some(0x81), Some(0x9F)) => true,
                _ => false,
            },
            0xE3 => b.get(i + 1) == Some(&0x80) && b.get(i + 2) == Some(&0x80),
            _ => false,
        };
        if suspect {
            return false;
        }
        prev = c;
    }
    true
}

/// Whether the text holds [`has_markers`]' marks, and whether it has a tag or an entity: one
/// pass over the bytes, in blocks the compiler reads many bytes at a time, for what ran as
/// three searches on every text field.
fn marks(s: &str) -> (bool, bool) {
    let (mut markers, mut markup) = (false, false);
    for block in s.as_bytes().chunks(64) {
        let (mut m, mut t) = (false, false);
        for &b in block {
            m |= b == 1 || b == 2;
            t |= b == b'<' || b == b'&';
        }
        markers |= m;
        markup |= t;
        if markers && markup {
            break;
        }
    }
    (markers, markup)
}

/// HTML (or text with HTML entities) to plain text: tags dropped, block elements as paragraph
/// breaks, `<br>` as a line break, script/style skipped, every HTML5 entity decoded.
pub fn html_to_text(s: &str) -> String {
    let (markers, markup) = marks(s);
    if markers {
        return html_to_text(&without_markers(s));
    }
    if !markup {
        return collapse(s);
    }
    // \u{1} marks a paragraph break and \u{2} a line break until `collapse` lays them out;
    // the text goes through it piece by piece, never copied whole first.
    let mut raw = Collapser::with_capacity(s.len());
    let mut entity = String::new();
    let mut rest = s;
    // The next '<' and '&' (byte offsets in `s`, its length for none), each found by
    // memchr and looked for again only once passed: linear, and no byte-by-byte loop.
    let mut next_lt = s.find('<').unwrap_or(s.len());
    let mut next_amp = s.find('&').unwrap_or(s.len());
    loop {
        let at = s.len() - rest.len();
        if next_lt < at {
            next_lt = memchr::memchr(b'<', rest.as_bytes()).map_or(s.len(), |i| at + i);
        }
        if next_amp < at {
            next_amp = memchr::memchr(b'&', rest.as_bytes()).map_or(s.len(), |i| at + i);
        }
        let next = next_lt.min(next_amp);
        if next >= s.len() {
            break;
        }
        let pos = next - at;
        raw.push(&rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('&') {
            entity.clear();
            let used = decode_entity(rest, &mut entity);
            raw.push(&entity);
            rest = &rest[used..];
            continue;
        }
        if let Some(r) = rest.strip_prefix("<!--") {
            rest = r.find("-->").map_or("", |e| &r[e + 3..]);
            continue;
        }
        if let Some(r) = rest.strip_prefix("<![CDATA[") {
            let end = r.find("]]>").unwrap_or(r.len());
            raw.push(&r[..end]);
            rest = r.get(end + 3..).unwrap_or("");
            continue;
        }
        let after = &rest[1..];
        let closing = after.starts_with('/');
        let name_start = if closing { &after[1..] } else { after };
        let name_len = name_start
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(name_start.len());
        if name_len == 0 && !after.starts_with('!') && !after.starts_with('?') {
            // A lone '<' ("a < b") is text.
            raw.push("<");
            rest = after;
            continue;
        }
        // Tag names are short: lower-case them into a stack buffer, not a fresh String per tag.
        let mut buf = [0u8; 16];
        let raw_name = &name_start.as_bytes()[..name_len];
        let name = if raw_name.len() <= buf.len() {
            for (d, s) in buf.iter_mut().zip(raw_name) {
                *d = s.to_ascii_lowercase();
            }
            std::str::from_utf8(&buf[..raw_name.len()]).unwrap_or("")
        } else {
            ""
        };
        let Some(end) = tag_end(rest) else {
            break;
        };
        rest = &rest[end..];
        if !closing && matches!(name, "script" | "style" | "noscript" | "template") {
            let close = format!("</{name}");
            let lower_idx = find_ascii_ci(rest, &close);
            rest = match lower_idx {
                Some(i) => {
                    let r = &rest[i..];
                    tag_end(r).map_or("", |e| &r[e..])
                }
                None => "",
            };
            continue;
        }
        match name {
            "br" => raw.push("\u{2}"),
            "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" | "ul" | "ol" | "tr"
            | "table" | "blockquote" | "pre" | "hr" | "section" | "article" | "header"
            | "footer" | "figure" | "figcaption" | "dd" | "dt" | "dl" | "aside" | "nav"
            | "main" => raw.push("\u{1}"),
            "td" | "th" | "img" => raw.push(" "),
            _ => {}
        }
    }
    raw.push(rest);
    raw.out
}

/// Whether the text holds U+0001 or U+0002, which [`html_to_text`] and [`collapse`] use as
/// paragraph and line break marks: a feed's own control bytes must not read as breaks.
fn has_markers(s: &str) -> bool {
    // Two of std's byte searches: quick in debug builds too.
    s.as_bytes().contains(&1) || s.as_bytes().contains(&2)
}

fn without_markers(s: &str) -> String {
    s.replace(['\u{1}', '\u{2}'], "")
}

/// End of the tag starting at `s[0] == '<'`, honouring quoted attribute values. Jumps from
/// quote to quote by memchr's searches: attribute values (links, styles) are most of a tag.
fn tag_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 1;
    loop {
        let at = i + memchr::memchr3(b'>', b'"', b'\'', b.get(i..)?)?;
        let q = b[at];
        if q == b'>' {
            return Some(at + 1);
        }
        // The closing quote, then on after it.
        i = at + 1 + memchr::memchr(q, &b[at + 1..])? + 1;
    }
}

fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    hay.as_bytes()
        .windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
}

/// Decodes the entity at the start of `s` (which starts with '&') onto `out`; returns the
/// bytes consumed. Unknown or malformed references are kept literally.
fn decode_entity(s: &str, out: &mut String) -> usize {
    let body = &s[1..];
    let len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
        .unwrap_or(body.len());
    let name = &body[..len];
    let has_semi = body[len..].starts_with(';');
    let used = 1 + len + usize::from(has_semi);
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        if let Some(c) = code
            .map(super::entities::windows_1252)
            .and_then(char::from_u32)
        {
            out.push(c);
            return used;
        }
        out.push('&');
        return 1;
    }
    // With its ';', or one of HTML's legacy names that may go without ("&nbsp" "&amp").
    if !name.is_empty()
        && let Some((a, b)) = super::entities::html5(&s[1..used])
    {
        out.push(a);
        out.extend(b);
        return used;
    }
    out.push('&');
    1
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tag_ends_where_a_byte_by_byte_reading_ends_it() {
        // The reading tag_end replaced: one byte at a time, with the quote it is inside.
        fn by_bytes(s: &str) -> Option<usize> {
            let mut quote: Option<u8> = None;
            for (i, &b) in s.as_bytes().iter().enumerate().skip(1) {
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None if b == b'"' || b == b'\'' => quote = Some(b),
                    None if b == b'>' => return Some(i + 1),
                    None => {}
                }
            }
            None
        }
        const PIECES: [&str; 8] = [">", "\"", "'", "a", " ", "=", "é", "<"];
        let mut seed: u64 = 0x0123_4567_89ab_cdef;
        for _ in 0..50_000 {
            let mut tag = String::from("<");
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for _ in 0..seed % 16 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                tag.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
            }
            assert_eq!(tag_end(&tag), by_bytes(&tag), "{tag}");
        }
    }

    #[test]
    fn a_link_kept_without_a_parse_is_what_the_parser_gives() {
        // Links made of the pieces where the parser might rewrite something: whenever the
        // quick look keeps one as written, parsing it gives it back unchanged.
        const SCHEMES: [&str; 4] = ["http://", "https://", "HTTP://", "ftp://"];
        const LABELS: [&str; 12] = [
            "a", "b0", "-x", "x-", "xn--a", "1", "0x1", "Ab", "", "é", "a@b", "a:80",
        ];
        const PIECES: [&str; 38] = [
            "a", "B", "0", "9", "-", ".", "..", "/", "//", "\\", "?", "#", "%", "%2e", "%2E",
            "%41", "%zz", "'", "\"", " ", "<", "`", "{", "|", "^", "é", "@", ":", "/./", "/../",
            "/.", "&", "=", "~", "_", "\t", "[", "%2",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut kept = 0;
        for _ in 0..200_000 {
            let mut href = String::from(SCHEMES[next(SCHEMES.len())]);
            for i in 0..1 + next(3) {
                if i > 0 {
                    href.push('.');
                }
                href.push_str(LABELS[next(LABELS.len())]);
            }
            if next(8) > 0 {
                href.push('/');
            }
            for _ in 0..next(10) {
                href.push_str(PIECES[next(PIECES.len())]);
            }
            if written_as_parsed(&href) {
                kept += 1;
                let parsed = Url::parse(&href).map(String::from);
                assert_eq!(parsed.as_deref(), Ok(href.as_str()), "{href}");
            }
        }
        assert!(kept > 1000, "{kept}");
        for href in [
            "https://www.example.org/a/b-c_d.html?x=1&y=%20z",
            "http://a1.b-c.example/feed/",
            "https://ex.com/a:b@c/~d!$()*+,;=",
        ] {
            assert!(written_as_parsed(href), "{href}");
            assert_eq!(absolute(href, None).as_deref(), Some(href));
        }
        for href in [
            "https://Example.org/",
            "http://example.org",
            "http://example.org:80/",
            "http://1.2.3.4/",
            "http://example.org/./a",
            "http://example.org/a/%2e%2E/b",
            "http://example.org/a#top",
            "http://xn--bcher-kva.example/",
            "http://user@example.org/",
        ] {
            assert!(!written_as_parsed(href), "{href}");
        }
    }

    use super::*;

    #[test]
    fn html_becomes_plain_text_with_paragraphs() {
        let t = html_to_text("<p>Hello <b>world</b></p><p>Second&nbsp;para<br>line</p>");
        assert_eq!(t, "Hello world\n\nSecond para\nline");
    }

    #[test]
    fn entities_are_decoded_even_doubly_escaped_ones_once() {
        assert_eq!(
            html_to_text("Q&amp;A &eacute;t&eacute; &#8217; &#x2014;"),
            "Q&A été ’ —"
        );
        assert_eq!(html_to_text("AT&T &unknown; 5 < 6"), "AT&T &unknown; 5 < 6");
    }

    #[test]
    fn scripts_and_styles_are_not_text() {
        assert_eq!(
            html_to_text("a<script>var x = '<p>';</script>b<style>p{}</style>c"),
            "abc"
        );
    }

    #[test]
    fn plain_text_becomes_html_that_shows_it_literally() {
        assert_eq!(escape_text("a < b & \"c\""), "a &lt; b &amp; &quot;c&quot;");
        assert_eq!(escape_text("no markup"), "no markup");
    }

    #[test]
    fn sanitising_drops_scripts_and_handlers_but_keeps_the_text() {
        let clean =
            sanitise_html(r#"<p onclick="x()">Hi <em>there</em></p><script>bad()</script>"#);
        assert_eq!(clean, "<p>Hi <em>there</em></p>");
    }

    #[test]
    fn whitespace_collapses_the_same_in_ascii_and_other_scripts() {
        assert_eq!(collapse("  a \t\n b\u{a0}c  "), "a b c");
        assert_eq!(
            collapse("\u{3000}Grüße\u{2003}\u{2003}aus\u{1}Köln\u{85}"),
            "Grüße aus\n\nKöln"
        );
        assert_eq!(collapse("x\u{7}y"), "xy");
        assert_eq!(
            collapse("don\u{92}t \u{93}x\u{94}"),
            "don\u{2019}t \u{201c}x\u{201d}"
        );
        assert_eq!(collapse("a\u{2003}b\u{202f}c"), "a b c");
        // Curly quotes share a lead byte with spaces of other widths; they are text.
        assert_eq!(
            collapse("\u{201c}Hi\u{201d} \u{2014} fine"),
            "\u{201c}Hi\u{201d} \u{2014} fine"
        );
        assert!(is_collapsed("\u{201c}Hi\u{201d} \u{2014} fine"));
        assert!(!is_collapsed("a  b") && !is_collapsed(" a") && !is_collapsed("a\nb"));
    }

    #[test]
    fn words_copied_whole_keep_their_single_spaces_and_odd_spaces_still_collapse() {
        // Runs of words with single spaces, ASCII or not, are copied as they are; whatever
        // may be whitespace or a control ends a run and is read character by character.
        assert_eq!(
            collapse("  Grüße aus Köln\u{2003}und  Bonn\u{a0}é ü, \u{201c}ja\u{201d} "),
            "Grüße aus Köln und Bonn é ü, \u{201c}ja\u{201d}"
        );
        assert_eq!(collapse("a b\u{1}c d\u{2}e f\u{85}g"), "a b\n\nc d\ne f g");
        assert_eq!(collapse("x \u{92}y z\u{3000}\u{3000}w"), "x \u{2019}y z w");
        assert_eq!(plain_run(b"ab cd  ef"), 5);
        assert_eq!(plain_run(b" ab"), 0);
        assert_eq!(plain_run("d\u{e9}j\u{e0} vu\u{a0}".as_bytes()), 9);
    }

    fn rss_with(items: &str, channel: &str) -> (ParsedFeed, String) {
        let doc = format!("<rss><channel>{channel}{items}</channel></rss>");
        let feed = crate::feed::parse(doc.as_bytes(), None, None).unwrap();
        (feed, doc)
    }

    #[test]
    fn a_title_in_cdata_does_not_call_for_a_second_read() {
        let (f, doc) = rss_with(
            "<item><title><![CDATA[<b>T</b>]]></title><link>http://a/</link></item>",
            "<title>C</title><link>http://a/</link><description>d</description>",
        );
        assert!(!wants_extras(&f, &doc));
    }

    #[test]
    fn an_empty_element_is_not_naked_markup_calling_for_a_second_read() {
        let (f, doc) = rss_with(
            "<item><title>T</title><link>http://a/</link><description>x</description><author></author></item>",
            "<title>C</title><link>http://a/</link><description>d</description>",
        );
        assert!(f.entries[0].author.is_none());
        assert!(!wants_extras(&f, &doc));
        // Markup inside the element still does.
        assert!(has_marker("<author></author><author><b>", "<author><"));
        assert!(!has_marker(
            "<author></author><title><![CDATA[x]]>",
            "<author><"
        ));
        assert!(has_marker("<author></authors>", "<author><"));
    }

    #[test]
    fn rss1_items_named_by_their_links_do_not_call_for_a_second_read() {
        let rdf = |about2: &str| {
            format!(
                r#"<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://a/"><title>C</title><link>http://a/</link><description>d</description><items><rdf:Seq><rdf:li rdf:resource="http://a/1"/></rdf:Seq></items></channel><image rdf:about="http://a/i.png"><title>I</title><url>http://a/i.png</url><link>http://a/</link></image><item rdf:about="http://a/1"><title>T</title><link>http://a/1</link><description>x</description></item><item rdf:about="{about2}"><title>U</title><link>http://a/2</link><description>y</description></item></rdf:RDF>"#
            )
        };
        let same = rdf("http://a/2");
        let f = crate::feed::parse(same.as_bytes(), None, None).unwrap();
        assert_eq!(f.entries[1].id, "http://a/2");
        assert!(!wants_extras(&f, &same));
        // An rdf:about other than the link names the item: read.
        let other = rdf("urn:x:2");
        let f = crate::feed::parse(other.as_bytes(), None, None).unwrap();
        assert_eq!(f.entries[1].id, "urn:x:2");
        assert_eq!(f.entries[1].link.as_deref(), Some("http://a/2"));
        let mut derived = f.clone();
        derived.entries[1].id = "http://a/2".into();
        assert!(wants_extras(&derived, &other));
    }

    #[test]
    fn an_author_at_channel_level_does_not_call_for_a_second_read_of_items() {
        let (f, doc) = rss_with(
            "<item><title>T</title><link>http://a/</link><description>x</description></item>",
            "<title>C</title><link>http://a/</link><description>d</description><itunes:author>Me</itunes:author>",
        );
        assert!(!wants_extras(&f, &doc));
    }

    #[test]
    fn a_date_feed_rs_left_out_calls_for_a_second_read_of_items_only() {
        let undated = ParsedFeed {
            title: Some("C".into()),
            // The channel has its date: only the item lacks one.
            updated: DateTime::from_timestamp(0, 0),
            entries: vec![Entry {
                title: Some("T".into()),
                ..Entry::default()
            }],
            ..ParsedFeed::default()
        };
        let doc = "<rss><channel><title>C</title><item><dcterms:issued>2020-01-01</dcterms:issued></item></channel></rss>";
        assert!(wants_extras(&undated, doc));
        let channel_only = doc
            .replace("<item>", "")
            .replace("</item>", "<item></item>");
        assert!(!wants_extras(&undated, &channel_only));
    }

    #[test]
    fn a_channel_atom_link_gives_the_feed_its_link() {
        let (f, _) = rss_with(
            "<item><title>T</title></item>",
            r#"<title>C</title><atom:link xmlns:atom="http://www.w3.org/2005/Atom" href="http://a/home"/>"#,
        );
        assert_eq!(f.link.as_deref(), Some("http://a/home"));
    }

    #[test]
    fn a_relative_atom_id_resolves_against_its_xml_base() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://example.com/test/"><entry><id>relative/link</id></entry><entry xml:base="http://other.org/a/"><id>b</id></entry><entry><id>tag:x,2020:1</id></entry></feed>"#;
        let f = crate::feed::parse(doc.as_bytes(), None, None).unwrap();
        let ids: Vec<&str> = f.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "http://example.com/test/relative/link",
                "http://other.org/a/b",
                "tag:x,2020:1"
            ]
        );
    }

    #[test]
    fn a_relative_atom_id_without_xml_base_is_kept() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>42</id></entry></feed>"#;
        let f = crate::feed::parse(doc.as_bytes(), None, None).unwrap();
        assert_eq!(f.entries[0].id, "42");
    }

    #[test]
    fn derived_ids_are_stable_and_differ_by_content() {
        let a = derived_id(Some("t"), None, Some("body"));
        assert_eq!(a, derived_id(Some("t"), None, Some("body")));
        assert_ne!(a, derived_id(Some("t"), None, Some("other")));
    }

    #[test]
    fn author_names_lose_email_and_parentheses() {
        assert_eq!(
            clean_person("email@example.org (Author Name)"),
            "Author Name"
        );
        assert_eq!(clean_person("(Author Name)"), "Author Name");
        assert_eq!(
            clean_person("Author Name (email@example.org)"),
            "Author Name"
        );
        assert_eq!(clean_person("Jane (the editor)"), "Jane (the editor)");
    }

    #[test]
    fn relative_links_resolve_against_the_base() {
        let base = Url::parse("http://example.org/feed/").unwrap();
        assert_eq!(
            absolute("../a/b", Some(&base)).unwrap(),
            "http://example.org/a/b"
        );
        assert_eq!(absolute("/x", None), None);
    }

    #[test]
    fn a_link_that_is_not_an_absolute_web_address_is_dropped() {
        let base = Url::parse("http://example.org/feed/").unwrap();
        for bad in [
            "javascript:alert(1)",
            "mailto:me@example.org",
            "file:///etc/passwd",
            "data:text/html,<b>x</b>",
            "http://exa\u{1b}mple.org/",
            "http://",
        ] {
            assert_eq!(absolute(bad, Some(&base)), None, "{bad:?}");
        }
        assert_eq!(absolute("not a url", None), None);
        // Control characters never survive in a kept link.
        let kept = absolute("https://a.example/x\r\n\x1b[31mred\u{9b}?q=\x07", None).unwrap();
        assert_eq!(kept, "https://a.example/x%1B[31mred%C2%9B?q=");
        assert_eq!(
            absolute("story\x1b]0;title\x07", Some(&base)).unwrap(),
            "http://example.org/feed/story%1B]0;title"
        );
    }

    #[test]
    fn an_item_link_with_escapes_is_dropped_or_encoded_when_the_feed_is_read() {
        let doc = "<rss version=\"2.0\"><channel><title>C</title><link>javascript:x</link>\
            <item><title>A</title><guid>a</guid><link>\x1b[2J\x1b]0;owned\x07</link></item>\
            <item><title>B</title><guid>b</guid><link>https://b.example/\x1b[31m</link></item>\
            </channel></rss>";
        let f = crate::feed::parse(doc.as_bytes(), None, None).unwrap();
        assert_eq!(f.link, None);
        assert_eq!(f.entries[0].link, None);
        assert_eq!(
            f.entries[1].link.as_deref(),
            Some("https://b.example/%1B[31m")
        );
    }
}
