//! feed-rs's model to ours: plain text with entities decoded, sanitised HTML kept beside it,
//! absolute links, one author name, UTC dates, and ids that stay the same across polls.

use chrono::{DateTime, SecondsFormat, Utc};
use feed_rs::model;
use siphasher::sip128::{Hasher128, SipHasher};
use std::hash::Hasher;
use url::Url;

use super::repair::NO_LINK;
use super::{Entry, ParsedFeed};

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
    ParsedFeed {
        format: format.to_string(),
        title: feed.title.as_ref().and_then(|t| text_field(t, rss_like)),
        link,
        subtitle: feed
            .description
            .as_ref()
            .and_then(|t| text_field(t, rss_like)),
        updated,
        entries,
        recovered: false,
    }
}

fn entry(e: model::Entry, rss_like: bool, base: Option<&Url>) -> Entry {
    let link = pick_link(&e.links).and_then(|l| absolute(l, base));
    let title = e.title.as_ref().and_then(|t| text_field(t, rss_like));
    let summary = e.summary.as_ref().and_then(|t| text_field(t, rss_like));
    let (content, content_markup) = match &e.content {
        Some(c) => match c.body.as_deref() {
            Some(body) => {
                let markup = if is_html(c.content_type.subty().as_str()) || rss_like {
                    Markup::Html
                } else {
                    Markup::Plain
                };
                (to_text(body, markup), Some((body.to_string(), markup)))
            }
            None => (None, None),
        },
        None => (None, None),
    };
    let content_html = content_markup
        .or_else(|| {
            e.summary.as_ref().map(|t| {
                let markup = if rss_like || is_html(t.content_type.subty().as_str()) {
                    Markup::Html
                } else {
                    Markup::Plain
                };
                (t.content.clone(), markup)
            })
        })
        .map(|(body, markup)| match markup {
            Markup::Html => sanitise_html(&body),
            Markup::Plain => ammonia::clean_text(&body),
        })
        .filter(|h| !h.trim().is_empty());
    let author = e.authors.iter().find_map(person_name).or_else(|| {
        e.media
            .iter()
            .flat_map(|m| m.credits.iter())
            .map(|c| c.entity.trim())
            .find(|n| !n.is_empty())
            .map(str::to_string)
    });

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
    }
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
                    .map(sanitise_html);
            }
        }
        if e.published.is_none() {
            e.published = date(&x.published);
        }
        if e.updated.is_none() {
            e.updated = date(&x.updated);
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

/// Whether [`apply_extras`] could fill something: a field is missing and the document has an
/// element that might hold it. Keeps the second read off feeds that do not need it.
pub fn wants_extras(feed: &ParsedFeed, doc: &str) -> bool {
    // Each marker list is searched at most once: this runs on every RSS feed, of any size.
    let has = |hay: &str, needles: &[&str]| needles.iter().any(|n| hay.contains(n));
    const TITLE: &[&str] = &["dc:title", "<title><"];
    const LINK: &[&str] = &["atom:link"];
    const SUMMARY: &[&str] = &[
        "dc:description",
        "itunes:summary",
        "itunes:subtitle",
        "<description><",
    ];
    const DATES: &[&str] = &[
        "dc:date",
        "atom:published",
        "atom:updated",
        "dcterms:",
        "dc:modified",
    ];
    const AUTHOR: &[&str] = &[
        "atom:author",
        "dc:author",
        "<author><",
        "itunes:author",
        "ITUNES:author",
    ];
    const CONTENT: &[&str] = &["atom:content"];
    let channel = &doc[..doc.find("<item").unwrap_or(doc.len())];
    if (feed.title.is_none() && has(channel, TITLE))
        || (feed.link.is_none() && has(channel, LINK))
        || (feed.subtitle.is_none() && has(channel, SUMMARY))
        || (feed.updated.is_none() && has(channel, DATES))
    {
        return true;
    }
    let missing = |f: fn(&Entry) -> bool| feed.entries.iter().any(f);
    (missing(|e| e.title.is_none()) && has(doc, TITLE))
        || (missing(|e| e.link.is_none()) && has(doc, LINK))
        || (missing(|e| e.author.is_none()) && has(doc, AUTHOR))
        || (missing(|e| e.summary.is_none() && e.content.is_none()) && has(doc, SUMMARY))
        || (missing(|e| e.content.is_none()) && has(doc, CONTENT))
        || (missing(|e| e.published.is_none()) && has(doc, DATES))
}

/// ammonia's default policy, built once: `ammonia::clean` rebuilds its tag and attribute sets
/// on every call, which costs more than the cleaning of a short summary.
pub fn sanitise_html(html: &str) -> String {
    static CLEANER: std::sync::OnceLock<ammonia::Builder<'static>> = std::sync::OnceLock::new();
    if !html.contains(['<', '&']) {
        return ammonia::clean_text(html);
    }
    CLEANER
        .get_or_init(ammonia::Builder::default)
        .clean(html)
        .to_string()
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

/// Resolves a link against the base when it is relative; keeps it as given when there is none.
fn absolute(href: &str, base: Option<&Url>) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    match Url::parse(href) {
        Ok(u) => Some(u.to_string()),
        Err(_) => match base.and_then(|b| b.join(href).ok()) {
            Some(u) => Some(u.to_string()),
            None => Some(href.to_string()),
        },
    }
}

fn text_field(t: &model::Text, rss_like: bool) -> Option<String> {
    let markup = if rss_like || is_html(t.content_type.subty().as_str()) {
        Markup::Html
    } else {
        Markup::Plain
    };
    to_text(&t.content, markup)
}

fn to_text(s: &str, markup: Markup) -> Option<String> {
    let out = match markup {
        Markup::Plain => collapse(s),
        Markup::Html => html_to_text(s),
    };
    (!out.is_empty()).then_some(out)
}

/// Collapses runs of whitespace to one space and trims, keeping paragraph breaks.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    let mut pending_breaks = 0u8;
    for c in s.chars() {
        if c == '\u{1}' {
            pending_breaks = 2;
            continue;
        }
        if c == '\u{2}' {
            pending_breaks = pending_breaks.max(1);
            continue;
        }
        if c.is_control() && !c.is_whitespace() {
            continue;
        }
        if c.is_whitespace() && c != '\u{a0}' {
            pending_space = true;
            continue;
        }
        if !out.is_empty() {
            if pending_breaks > 0 {
                for _ in 0..pending_breaks {
                    out.push('\n');
                }
            } else if pending_space {
                out.push(' ');
            }
        }
        pending_space = false;
        pending_breaks = 0;
        out.push(if c == '\u{a0}' { ' ' } else { c });
    }
    out
}

/// HTML (or text with HTML entities) to plain text: tags dropped, block elements as paragraph
/// breaks, `<br>` as a line break, script/style skipped, every HTML5 entity decoded.
pub fn html_to_text(s: &str) -> String {
    if !s.contains(['<', '&']) {
        return collapse(s);
    }
    // \u{1} marks a paragraph break and \u{2} a line break until `collapse` lays them out.
    let mut raw = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find(['<', '&']) {
        raw.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('&') {
            let (decoded, used) = decode_entity(rest);
            raw.push_str(&decoded);
            rest = &rest[used..];
            continue;
        }
        if let Some(r) = rest.strip_prefix("<!--") {
            rest = r.find("-->").map_or("", |e| &r[e + 3..]);
            continue;
        }
        if let Some(r) = rest.strip_prefix("<![CDATA[") {
            let end = r.find("]]>").unwrap_or(r.len());
            raw.push_str(&r[..end]);
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
            raw.push('<');
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
            "br" => raw.push('\u{2}'),
            "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" | "ul" | "ol" | "tr"
            | "table" | "blockquote" | "pre" | "hr" | "section" | "article" | "header"
            | "footer" | "figure" | "figcaption" | "dd" | "dt" | "dl" | "aside" | "nav"
            | "main" => raw.push('\u{1}'),
            "td" | "th" | "img" => raw.push(' '),
            _ => {}
        }
    }
    raw.push_str(rest);
    collapse(&raw)
}

/// End of the tag starting at `s[0] == '<'`, honouring quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
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

fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    hay.as_bytes()
        .windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
}

/// Decodes the entity at the start of `s` (which starts with '&'); returns the text and the
/// bytes consumed. Unknown or malformed references are kept literally.
fn decode_entity(s: &str) -> (String, usize) {
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
        if let Some(c) = code.map(windows_1252_fixup).and_then(char::from_u32) {
            return (c.to_string(), used);
        }
        return ("&".into(), 1);
    }
    if has_semi && let Some(v) = quick_xml::escape::resolve_html5_entity(name) {
        return (v.to_string(), used);
    }
    // Legacy entities written without ';' ("&nbsp" "&amp").
    if !has_semi
        && let Some(v) = ["nbsp", "amp", "lt", "gt", "quot", "copy", "reg"]
            .iter()
            .find(|n| **n == name)
            .and_then(|n| quick_xml::escape::resolve_html5_entity(n))
    {
        return (v.to_string(), used);
    }
    ("&".into(), 1)
}

/// `&#150;` and friends mean Windows-1252 characters, as browsers read them.
fn windows_1252_fixup(c: u32) -> u32 {
    const MAP: [u32; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    if (0x80..0xA0).contains(&c) {
        MAP[(c - 0x80) as usize]
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(absolute("/x", None).unwrap(), "/x");
    }
}
