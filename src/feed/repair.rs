//! What the document is, and the text edits that let feed-rs read it.
//!
//! [`sniff`] decides between a feed (XML or JSON) and something else (an HTML page, an error
//! text), so the user is told which. [`adapt`] rewrites formats feed-rs does not know into ones
//! it does (Atom 0.3 into Atom 1.0 names, the RSS 0.90 namespace into RSS 1.0's, RDF items with
//! no `<link>` given a placeholder one, `<rss>` with a missing or odd version). [`repair`] fixes
//! what strict XML rejects (control bytes, odd Atom `type`
//! attributes, empty Atom text elements, junk before the root). Each returns whether it changed
//! anything, so the caller can mark the feed as recovered.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

use super::FeedError;

/// A link given to RDF items that have none, so feed-rs keeps them; dropped again when the
/// entries are normalised.
pub const NO_LINK: &str = "about:feedwatch-no-link";

/// The kind of document, judged from its first element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Xml,
    Json,
}

/// Decides whether `text` is a feed at all, and says what it is when it is not.
pub fn sniff(text: &str) -> Result<Kind, FeedError> {
    let t = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if t.is_empty() {
        return Err(FeedError::Empty);
    }
    if t.starts_with('{') || t.starts_with('[') {
        return Ok(Kind::Json);
    }
    if !t.starts_with('<') {
        // Junk before a real feed root (a PHP warning, stray text) is repaired later.
        if find_feed_root(t).is_some() {
            return Ok(Kind::Xml);
        }
        return Err(FeedError::NotAFeed(format!(
            "plain text, not XML or JSON (an error page?): \"{}\"",
            snippet(t)
        )));
    }
    match root_name(t) {
        Some(name) => {
            let local = name
                .rsplit(':')
                .next()
                .unwrap_or(&name)
                .to_ascii_lowercase();
            match local.as_str() {
                "rss" | "rdf" | "feed" | "entry" | "channel" => Ok(Kind::Xml),
                "html" | "body" | "head" => {
                    if find_feed_root(t).is_some() {
                        Ok(Kind::Xml)
                    } else {
                        Err(FeedError::HtmlPage)
                    }
                }
                _ => Err(FeedError::NotAFeed(format!(
                    "an XML document whose root element is <{name}>, not <rss>, <feed> or <rdf:RDF>"
                ))),
            }
        }
        None if t.len() < 4096 && !t.contains('>') => Err(FeedError::NotAFeed(
            "a truncated document with no complete root element".into(),
        )),
        None => Err(FeedError::NotAFeed(
            "markup with no root element (only comments or declarations)".into(),
        )),
    }
}

fn snippet(t: &str) -> String {
    let s: String = t.chars().take(60).collect();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The name of the first element, skipping the declaration, comments, PIs and the doctype.
fn root_name(t: &str) -> Option<String> {
    let mut rest = t;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("<?") {
            rest = &r[r.find("?>")? + 2..];
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = &r[r.find("-->")? + 3..];
        } else if rest.starts_with("<!") {
            // A doctype may carry an internal subset in brackets.
            let r = &rest[2..];
            // '[' is looked for before the first '>' only: a search to the end of the
            // document per declaration was quadratic on thousands of them.
            let g = r.find('>')?;
            let end = match r[..g].find('[') {
                Some(b) => b + r[b..].find("]>")? + 1,
                None => g,
            };
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('<') {
            let end = r.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
            return Some(r[..end].to_string());
        } else {
            return None;
        }
    }
}

/// Where a feed root element starts, in the first 64 KiB.
fn find_feed_root(t: &str) -> Option<usize> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"<(?:\?xml\s|rss[\s>]|feed[\s>]|(?:[A-Za-z]+:)?RDF[\s>])")
            .expect("static regex")
    });
    let head = &t[..floor_char_boundary(t, 64 * 1024)];
    re.find(head).map(|m| m.start())
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where `needle` starts in `text` at or after byte `from` (a character boundary), found by
/// memchr's vectorised search for one of its bytes, `needle[anchor]`, which must be ASCII and
/// should be rare in feeds (`=`, `!`, `x`), then a comparison. On the whole-document scans
/// this is several times quicker than `str::find` with a string, whose two-way search steps
/// nearly byte by byte when the needle's letters are common ones, and quicker than std's
/// search for a char, whose set-up per call was most of the cost where the byte is frequent
/// (Cargo.toml builds memchr optimised in debug builds too, where the hostile-input bounds are
/// checked).
pub(super) fn find_from(text: &str, needle: &str, anchor: usize, from: usize) -> Option<usize> {
    let key = *needle.as_bytes().get(anchor)?;
    let mut pos = from;
    loop {
        let i = pos + memchr::memchr(key, text.as_bytes().get(pos..)?)?;
        // The key is ASCII: one past it is a character boundary.
        pos = i + 1;
        let Some(start) = i.checked_sub(anchor).filter(|&s| s >= from) else {
            continue;
        };
        if text.as_bytes()[start..].starts_with(needle.as_bytes()) {
            return Some(start);
        }
    }
}

/// Every start of `needle` in `text`, in order, as [`find_from`] finds them.
pub(super) fn occurrences<'a>(
    text: &'a str,
    needle: &'a str,
    anchor: usize,
) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = find_from(text, needle, anchor, from)?;
        from = at + needle.len();
        Some(at)
    })
}

/// What [`adapt`] learnt about the format while rewriting it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Adapted {
    /// The document is RSS 0.90 (RDF in Netscape's namespace) or RSS 0.9x.
    pub rss0: bool,
    /// `<rss>` had a missing or unusual version that was rewritten.
    pub version_fixed: bool,
    /// A known namespace was declared in the wrong case (or without its slash) and put right.
    pub namespace_fixed: bool,
}

impl Adapted {
    /// What either adaptation learnt.
    pub fn or(self, other: Adapted) -> Adapted {
        Adapted {
            rss0: self.rss0 || other.rss0,
            version_fixed: self.version_fixed || other.version_fixed,
            namespace_fixed: self.namespace_fixed || other.namespace_fixed,
        }
    }
}

/// The namespaces feed-rs (and [`adapt`]) know, as they must be written: feed-rs compares
/// them byte for byte.
const KNOWN_NAMESPACES: [&str; 11] = [
    "http://www.w3.org/2005/Atom",
    "http://purl.org/atom/ns#",
    "http://purl.org/rss/1.0/",
    "http://my.netscape.com/rdf/simple/0.9/",
    "http://purl.org/rss/1.0/modules/content/",
    "http://purl.org/dc/elements/1.1/",
    "http://search.yahoo.com/mrss/",
    "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "https://podcastindex.org/namespace/1.0",
    "http://wellformedweb.org/CommentAPI/",
    "http://purl.org/dc/terms/",
];

/// A namespace name without what publishers get wrong: spaces around it, the scheme
/// (`http://`, `https://`) and trailing slashes; compared without case, the known name and one
/// as written mean the same namespace when these are equal. In place: this runs on every
/// declaration.
fn bare_namespace(ns: &str) -> &str {
    let ns = ns.trim();
    // Compared as bytes: the text may hold a multi-byte character across byte 7 or 8.
    let b = ns.as_bytes();
    let start = if b.len() >= 8 && b[..8].eq_ignore_ascii_case(b"https://") {
        8
    } else if b.len() >= 7 && b[..7].eq_ignore_ascii_case(b"http://") {
        7
    } else {
        0
    };
    &ns[start..ns.trim_end_matches('/').len().max(start)]
}

/// Namespace declarations of the known namespaces written in the wrong case, without their
/// trailing slash or with another scheme (`xmlns="http://www.w3.org/2005/atom"`), put right:
/// feed-rs reads elements of a namespace it does not recognise as unknown, and the feed
/// comes out empty. `None` when every declaration is as it should be. One pass over the
/// `xmlns` of the document.
pub fn fix_namespaces(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut copied = 0;
    for at in occurrences(text, "xmlns", 0) {
        let rest = &text[at + 5..];
        // Bounded searches: a document of "xmlns" with no '=' or quote after them is read
        // once, not once per occurrence.
        let Some(eq) = bounded_position(rest, b'=', 64) else {
            continue;
        };
        let value = rest[eq + 1..].trim_start();
        let Some(q) = value.chars().next().filter(|&c| c == '"' || c == '\'') else {
            continue;
        };
        let Some(len) = bounded_position(&value[1..], q as u8, 256) else {
            continue;
        };
        let start = at + 5 + (rest.len() - value.len()) + 1;
        // "xmlns xmlns=…": both words lead to one value, put right once.
        if start < copied {
            continue;
        }
        let written = &value[1..1 + len];
        if KNOWN_NAMESPACES.contains(&written) {
            continue;
        }
        // The written name made bare once, each known one compared by length first: most
        // declarations (sy:, slash:, other modules) match none.
        let bare = bare_namespace(written);
        let Some(canonical) = KNOWN_NAMESPACES.iter().find(|k| {
            let known = bare_namespace(k);
            known.len() == bare.len() && known.eq_ignore_ascii_case(bare)
        }) else {
            continue;
        };
        out.push_str(&text[copied..start]);
        out.push_str(canonical);
        copied = start + len;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Where the ASCII byte `b` is in the first `max + 1` bytes of `s`.
fn bounded_position(s: &str, b: u8, max: usize) -> Option<usize> {
    let s = s.as_bytes();
    memchr::memchr(b, &s[..s.len().min(max + 1)])
}

/// What [`drop_elements_like`] left out.
pub struct Dropped {
    /// The document without them.
    pub text: String,
    /// The qualified name of the elements left out.
    pub name: String,
    /// How they read in a warning: `<content type="pdf">`.
    pub what: String,
    pub count: usize,
}

/// Removes the element whose start tag ends at byte `at` (where feed-rs reports an element it
/// could not read) and every element like it: same name, same `type`, `src` or not; with
/// `every_one_named`, every element of that name (for a name that failed before under another
/// `type`, so a feed with many odd types costs two rounds, not one per type). `None` when no
/// start tag ends at `at`. Linear in the document.
pub fn drop_elements_like(text: &str, at: usize, every_one_named: bool) -> Option<Dropped> {
    let head = text.get(..at)?;
    let lt = head.rfind('<')?;
    let tag = next_start_tag(text, lt).filter(|t| t.start == lt && t.end == at)?;
    let name = tag.name.to_string();
    let signature = |start: usize, end: usize| {
        if every_one_named {
            return (None, false);
        }
        let attrs = &text[start..end];
        (
            attr_value(attrs, "type"),
            attr_value(attrs, "src").is_some(),
        )
    };
    let wanted = signature(tag.start, tag.end);
    let local = name.rsplit(':').next().unwrap_or(&name).to_string();
    let closes = EndTags::new(text, |l| l == local);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut count = 0;
    let mut pos = 0;
    while let Some(t) = next_start_tag(text, pos) {
        pos = t.end;
        if t.name != name || signature(t.start, t.end) != wanted {
            continue;
        }
        let end = if t.self_closing {
            t.end
        } else {
            match closes.first_at_or_after(&name, t.end) {
                Some(close) => close + name.len() + 3,
                None => continue,
            }
        };
        out.push_str(&text[copied..t.start]);
        copied = end;
        pos = end;
        count += 1;
    }
    if count == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    let mut what = format!("<{name}");
    if let Some(t) = &wanted.0 {
        what.push_str(&format!(" type=\"{t}\""));
    }
    if wanted.1 {
        what.push_str(" src=…");
    }
    what.push('>');
    Some(Dropped {
        text: out,
        name,
        what,
        count,
    })
}

/// The value of attribute `name` in a start tag's text, as written.
fn attr_value<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    tag.match_indices(name).find_map(|(at, _)| {
        if !tag[..at].ends_with(char::is_whitespace) {
            return None;
        }
        let rest = tag[at + name.len()..]
            .trim_start()
            .strip_prefix('=')?
            .trim_start();
        let q = rest.chars().next().filter(|&c| c == '"' || c == '\'')?;
        let end = rest[1..].find(q)?;
        Some(&rest[1..1 + end])
    })
}

/// Rewrites formats feed-rs cannot read into ones it can. Cheap when nothing applies: one
/// bounded look at the head of the document.
pub fn adapt(text: Cow<'_, str>) -> (Cow<'_, str>, Adapted) {
    let mut info = Adapted::default();
    let text = match fix_namespaces(&text) {
        Some(fixed) => {
            info.namespace_fixed = true;
            Cow::Owned(fixed)
        }
        None => text,
    };
    let head = &text[..floor_char_boundary(&text, 4096)];
    let is_atom03 = head.contains("http://purl.org/atom/ns#");
    // std searches needles of up to 32 bytes with SIMD, longer ones byte by byte: the short
    // part first, the whole name only where it is.
    let is_rss090 = head.contains("my.netscape.com/rdf/simple/")
        && head.contains("http://my.netscape.com/rdf/simple/0.9/");
    let is_rdf = is_rss090 || head.contains("RDF");
    let rss_version = rss_root_version(head);
    let is_atom = rss_version.is_none() && (head.contains("<feed") || head.contains(":feed"));

    let mut text = text;
    if let Some(version) = &rss_version {
        match version.as_deref() {
            Some("2.0") | Some("0.91") | Some("0.92") => {}
            other => {
                info.rss0 = other.is_some_and(|v| v.starts_with("0.9"));
                info.version_fixed = true;
                text = Cow::Owned(set_rss_version(&text));
            }
        }
    }
    if let Some(v) = rss_version.clone().flatten() {
        info.rss0 |= v.starts_with("0.9");
    }
    if rss_version.is_some() && !text.contains("<channel") {
        // `<rss>` with no channel is an empty feed, not an error.
        if let Some(at) = text.rfind("</rss>") {
            let mut t = text.into_owned();
            t.insert_str(at, "<channel></channel>");
            text = Cow::Owned(t);
        }
    }
    if is_atom03 {
        text = Cow::Owned(atom03_to_atom10(&text));
    }
    // Most Atom feeds need neither rewrite of their text elements: one look at each `type=`
    // and `mode=` says so, before any pass over the whole document. The html `type=` found on
    // the way are kept for wrap_naked_html, which then needs no search of its own while the
    // text stays as read here (`None` once it is rewritten, or not every one was seen).
    let (mut text_modes, mut html_types) = (false, false);
    let mut html_type_at: Option<Vec<usize>> = None;
    if is_atom {
        let mut seen = Vec::new();
        let mut every_one = true;
        for (at, is_type) in type_and_mode_attrs(&text) {
            text_modes = text_modes || needs_text_mode(&text, at, is_atom03);
            if is_type && html_type_value(&text[at + 5..]) {
                html_types = true;
                seen.push(at);
            }
            if text_modes && html_types {
                every_one = false;
                break;
            }
        }
        html_type_at = every_one.then_some(seen);
    }
    if text_modes && let Some(fixed) = atom_text_modes(&text, is_atom03) {
        text = Cow::Owned(fixed);
        // The rewrite writes `type` anew: wrap_naked_html looks again.
        html_types = true;
        html_type_at = None;
    }
    if is_rss090 {
        info.rss0 = true;
        html_type_at = None;
        text = Cow::Owned(text.replace(
            "http://my.netscape.com/rdf/simple/0.9/",
            "http://purl.org/rss/1.0/",
        ));
    }
    if is_rdf && let Some(fixed) = link_rdf_items(&text) {
        text = Cow::Owned(fixed);
        html_type_at = None;
    }
    if html_types && let Some(fixed) = wrap_naked_html(&text, html_type_at.as_deref()) {
        text = Cow::Owned(fixed);
    }
    (text, info)
}

/// How the body of an Atom text construct or content element is written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Body {
    /// Base64 of the text (Atom 0.3 `mode="base64"`; Atom 1.0 content of a media type that is
    /// neither text nor XML).
    Base64 { html: bool },
    /// Escaped markup: Atom 1.0 `type="html"`.
    Html,
    /// Plain text.
    Text,
    /// Inline XHTML.
    Xhtml,
}

/// What an Atom element's `type` and `mode` say about its body; `None` when they need no
/// rewriting (Atom 1.0's own `text`, `html` and `xhtml`, or a `src` with nothing inline).
fn atom_body(attrs: &str, atom03: bool) -> Option<Body> {
    let ty = attr_value(attrs, "type").map(|t| t.trim().to_ascii_lowercase());
    let mode = attr_value(attrs, "mode").map(|m| m.trim().to_ascii_lowercase());
    if attr_value(attrs, "src").is_some() {
        return None;
    }
    let ty = ty.as_deref();
    let html = |t: Option<&str>| t.is_some_and(|t| t.contains("html"));
    match mode.as_deref() {
        Some("base64") => return Some(Body::Base64 { html: html(ty) }),
        Some("escaped") => {
            return Some(if ty.is_none_or(|t| t.contains("html")) {
                Body::Html
            } else {
                Body::Text
            });
        }
        _ => {}
    }
    match ty {
        None | Some("text" | "html" | "xhtml") => None,
        Some("text/html") => Some(Body::Html),
        Some(t) if t.ends_with("/xml") || t.ends_with("+xml") => Some(Body::Xhtml),
        Some(t) if t.starts_with("text/") => Some(Body::Text),
        // Atom 0.3 knew no base64 without its mode; an odd type there is text.
        Some(_) if atom03 => Some(Body::Text),
        Some(_) => Some(Body::Base64 { html: false }),
    }
}

/// The elements whose `type` and `mode` [`atom_text_modes`] reads.
const TEXT_MODE_ELEMENTS: [&str; 8] = [
    "title",
    "subtitle",
    "tagline",
    "summary",
    "content",
    "rights",
    "copyright",
    "info",
];

/// Where a `type=` or `mode=` may start an attribute, and whether it is `type=`: one search
/// for their '=' serves both checks of an Atom document ([`needs_text_mode`],
/// [`html_type_value`]), which most Atom feeds pass without any other pass over them.
fn type_and_mode_attrs(text: &str) -> impl Iterator<Item = (usize, bool)> + '_ {
    occurrences(text, "=", 0).filter_map(|eq| {
        let name = text.as_bytes().get(eq.checked_sub(4)?..eq)?;
        match name {
            b"type" => Some((eq - 4, true)),
            b"mode" => Some((eq - 4, false)),
            _ => None,
        }
    })
}

/// Whether the `type=` or `mode=` at `at` belongs to an Atom text element that
/// [`atom_text_modes`] rewrites. Looks at the tag around it only (a few bytes back to its
/// '<', within 256: never a search to the start per occurrence).
fn needs_text_mode(text: &str, at: usize, atom03: bool) -> bool {
    let from = floor_char_boundary(text, at.saturating_sub(256));
    let Some(lt) = text[from..at].rfind('<').map(|i| from + i) else {
        return false;
    };
    let tag = &text[lt + 1..at];
    let name = &tag[..tag
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(tag.len())];
    let local = name.rsplit(':').next().unwrap_or(name);
    if !TEXT_MODE_ELEMENTS.contains(&local) {
        return false;
    }
    let window = &text[at..floor_char_boundary(text, at + 512)];
    let end = window.find('>').map_or(at + window.len(), |e| at + e);
    atom_body(&text[lt + 1 + name.len()..end], atom03).is_some()
}

/// Rewrites Atom text constructs and content whose `type` or `mode` feed-rs does not know into
/// the Atom 1.0 it does: base64 bodies decoded (Atom 0.3 `mode="base64"`, Atom 1.0 content of
/// a binary type), `mode="escaped"` as `type="html"`, MIME types as `text`, `html` or
/// `xhtml`. `None` when nothing needed it. Linear: one pass over the start tags, end tags found
/// beforehand. Called where [`needs_text_mode`] found an attribute to rewrite.
fn atom_text_modes(text: &str, atom03: bool) -> Option<String> {
    const ELEMENTS: [&str; 8] = TEXT_MODE_ELEMENTS;
    let closes = EndTags::new(text, |local| ELEMENTS.contains(&local));
    let mut out = String::new();
    let mut copied = 0;
    let mut pos = 0;
    while let Some(tag) = next_start_tag(text, pos) {
        pos = tag.end;
        let local = tag.name.rsplit(':').next().unwrap_or(tag.name);
        if !ELEMENTS.contains(&local) || tag.self_closing {
            continue;
        }
        let attrs = &text[tag.start + 1 + tag.name.len()..tag.end - 1];
        let Some(body_kind) = atom_body(attrs, atom03) else {
            continue;
        };
        let Some(close) = closes.first_at_or_after(tag.name, tag.end) else {
            continue;
        };
        let body = &text[tag.end..close];
        let (ty, new_body): (&str, Cow<'_, str>) = match body_kind {
            Body::Base64 { html } => {
                use base64::Engine as _;
                let packed: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(packed) else {
                    continue;
                };
                // Binary data (an image as content) is not text: left as it was.
                let Ok(decoded) = String::from_utf8(bytes) else {
                    continue;
                };
                // Written as text whichever it is; as html, feed-rs hands the markup on.
                let escaped = decoded
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                (if html { "html" } else { "text" }, Cow::Owned(escaped))
            }
            Body::Html => ("html", Cow::Borrowed(body)),
            Body::Text => ("text", Cow::Borrowed(body)),
            Body::Xhtml => ("xhtml", Cow::Borrowed(body)),
        };
        // Other attributes (xml:base, xml:lang) stay; type and mode are written anew.
        let kept: String = strip_attr(&strip_attr(attrs, "type"), "mode");
        out.push_str(&text[copied..tag.start]);
        out.push_str(&format!("<{}{} type=\"{ty}\">", tag.name, kept.trim_end()));
        out.push_str(&new_body);
        copied = close;
        pos = close;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// A start tag's attribute text without attribute `name` (written `name="…"` or `name='…'`).
fn strip_attr(attrs: &str, name: &str) -> String {
    let Some((at, _)) = attrs.match_indices(name).find(|(at, _)| {
        attrs[..*at].ends_with(char::is_whitespace)
            && attrs[at + name.len()..].trim_start().starts_with('=')
    }) else {
        return attrs.to_string();
    };
    let rest = attrs[at + name.len()..].trim_start()[1..].trim_start();
    let Some(q) = rest.chars().next().filter(|&c| c == '"' || c == '\'') else {
        return attrs.to_string();
    };
    let Some(len) = rest[1..].find(q) else {
        return attrs.to_string();
    };
    let end = attrs.len() - rest.len() + len + 2;
    format!("{}{}", attrs[..at].trim_end(), &attrs[end..])
}

/// Atom text elements of type html written as naked markup (`<title type="html">Example
/// <a href="x">test</a></title>`) are well-formed XML, but feed-rs keeps only the first piece
/// of text. Wrapping the body in CDATA hands feed-rs the whole HTML, as the publisher meant.
/// `None` when no element needs it; costs one substring search on feeds without any.
///
/// Linear in the document: one pass over its tags, with every end tag that could close a text
/// element found once beforehand (searching on from each start tag cost a pass over the rest
/// of the document per unclosed element: minutes on a 1 MB feed). That pass is made only
/// where [`may_hold_naked_html`] says an element may need it.
///
/// `html_type_at`: where every `type=` with an html value is, when the caller found them all
/// already (else they are searched for here).
fn wrap_naked_html(text: &str, html_type_at: Option<&[usize]>) -> Option<String> {
    let may = match html_type_at {
        Some(at) => may_hold_naked_html_at(text, at.iter().copied()),
        None => may_hold_naked_html(text),
    };
    if !may {
        return None;
    }
    wrap_naked_html_everywhere(text)
}

/// [`wrap_naked_html`]'s pass over every tag of the document.
fn wrap_naked_html_everywhere(text: &str) -> Option<String> {
    let closes = EndTags::new(text, |local| TEXT_ELEMENTS.contains(&local));
    let cdata: Vec<usize> = text.match_indices("<![CDATA[").map(|(i, _)| i).collect();
    let mut out = String::new();
    let mut last = 0;
    let mut pos = 0;
    while let Some(tag) = next_start_tag(text, pos) {
        pos = tag.end;
        let local = tag.name.rsplit(':').next().unwrap_or(tag.name);
        if !TEXT_ELEMENTS.contains(&local) || tag.self_closing {
            continue;
        }
        let attrs = &text[tag.start..tag.end - 1];
        let is_html = attrs.match_indices("type=").any(|(at, _)| {
            attrs[..at].ends_with(char::is_whitespace) && html_type_value(&attrs[at + 5..])
        });
        if !is_html {
            continue;
        }
        let body_start = tag.end;
        let Some(body_end) = closes.first_at_or_after(tag.name, body_start) else {
            continue;
        };
        let body = &text[body_start..body_end];
        // A CDATA section starting inside the body: the publisher escaped it already.
        let first_cdata = cdata.partition_point(|&c| c < body_start);
        if !body.contains('<') || cdata.get(first_cdata).is_some_and(|&c| c < body_end) {
            continue;
        }
        out.push_str(&text[last..body_start]);
        out.push_str("<![CDATA[");
        out.push_str(&body.replace("]]>", "]]]]><![CDATA[>"));
        out.push_str("]]>");
        last = body_end;
        pos = body_end;
    }
    if last == 0 {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// The Atom text elements [`wrap_naked_html`] looks into.
const TEXT_ELEMENTS: [&str; 5] = ["title", "subtitle", "summary", "content", "rights"];

/// Whether [`wrap_naked_html`] may have anything to wrap: `false` only when no element it
/// would wrap exists. Most Atom feeds write `type="html"` content escaped, with nothing
/// between the start tag and its own end tag but text. For each `type=` whose value is html,
/// the tag around it is found as [`next_start_tag`] reads tags (it starts at the first '<'
/// after the last '>' before the attribute and ends at the first '>' after it), and the first
/// '<' after that tag is looked at: `</name>` there means an element with no markup inside.
/// Anything else ("maybe") leaves it to the full pass. Linear: each search goes back no
/// further than the previous `type=`, and on no further than a place it finds again only
/// once passed.
fn may_hold_naked_html(text: &str) -> bool {
    may_hold_naked_html_at(
        text,
        occurrences(text, "type=", 4).filter(|&at| html_type_value(&text[at + 5..])),
    )
}

/// [`may_hold_naked_html`] given where the html `type=` are, in order.
fn may_hold_naked_html_at(text: &str, html_type_at: impl Iterator<Item = usize>) -> bool {
    // The previous html `type=`, the last '>' before it; the first '<' after that '>', the
    // first '>' after a `type=` and the first '<' after that, as last found (the text's
    // length for none).
    let mut prev_at = 0;
    let mut last_gt: Option<usize> = None;
    let mut tag_lt: Option<usize> = None;
    let mut gt_after = 0;
    let mut lt_after = 0;
    let after = |from: usize, c: char| text[from..].find(c).map_or(text.len(), |i| from + i);
    for at in html_type_at {
        last_gt = text[prev_at..at]
            .rfind('>')
            .map(|i| prev_at + i)
            .or(last_gt);
        prev_at = at;
        let from = last_gt.map_or(0, |g| g + 1);
        let lt = tag_lt
            .filter(|&l| l >= from)
            .unwrap_or_else(|| after(from, '<'));
        tag_lt = Some(lt);
        if lt > at {
            // Not inside a tag.
            continue;
        }
        if gt_after <= at {
            gt_after = after(at, '>');
        }
        if gt_after >= text.len() {
            // A tag never closed: left to the full pass.
            return true;
        }
        let inner = &text[lt + 1..gt_after];
        let name = &inner[..inner
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(inner.len())];
        let local = name.rsplit(':').next().unwrap_or(name);
        if !TEXT_ELEMENTS.contains(&local) || inner.ends_with('/') {
            continue;
        }
        if lt_after <= gt_after {
            lt_after = after(gt_after, '<');
        }
        let closes_at_once = text
            .get(lt_after..)
            .and_then(|r| r.strip_prefix("</"))
            .and_then(|r| r.strip_prefix(name))
            .is_some_and(|r| r.starts_with('>'));
        if !closes_at_once {
            return true;
        }
    }
    false
}

/// Whether an attribute value (from its opening quote) is `html` or `text/html`. Reads a few
/// bytes only, so a quote never closed costs nothing.
fn html_type_value(value: &str) -> bool {
    let b = value.as_bytes();
    let Some(&q) = b.first().filter(|q| **q == b'"' || **q == b'\'') else {
        return false;
    };
    ["html", "text/html"].iter().any(|v| {
        b.len() > v.len() + 1
            && b[1..=v.len()].eq_ignore_ascii_case(v.as_bytes())
            && b[v.len() + 1] == q
    })
}

/// A start tag found by [`next_start_tag`].
pub(super) struct StartTag<'a> {
    /// Where its `<` is.
    pub start: usize,
    /// One past its `>`.
    pub end: usize,
    /// The qualified name as written.
    pub name: &'a str,
    pub self_closing: bool,
}

/// The next start tag at or after `from`, stepping over end tags, comments, CDATA sections,
/// processing instructions and declarations. `None` at the end, or where a tag never closes.
pub(super) fn next_start_tag(text: &str, from: usize) -> Option<StartTag<'_>> {
    let mut pos = from;
    loop {
        // A vectorised search, not a byte loop: most of a feed's bytes are between tags.
        let lt = pos + memchr::memchr(b'<', text.as_bytes().get(pos..)?)?;
        let rest = &text[lt..];
        // memchr's vectorised search for the end of a section: std's two-way search stepped
        // through CDATA bodies nearly byte by byte.
        let skip_to = |close: &str, open: usize| {
            memchr::memmem::find(&rest.as_bytes()[open..], close.as_bytes())
                .map_or(text.len(), |e| lt + open + e + close.len())
        };
        if rest.starts_with("<![CDATA[") {
            pos = skip_to("]]>", 9);
            continue;
        }
        if rest.starts_with("<!--") {
            pos = skip_to("-->", 4);
            continue;
        }
        let gt = lt + memchr::memchr(b'>', rest.as_bytes())?;
        if rest.starts_with("</") || rest.starts_with("<!") || rest.starts_with("<?") {
            pos = gt + 1;
            continue;
        }
        let inner = &text[lt + 1..gt];
        let name_len = inner
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(inner.len());
        return Some(StartTag {
            start: lt,
            end: gt + 1,
            name: &inner[..name_len],
            self_closing: inner.ends_with('/'),
        });
    }
}

/// Where the end tags of some elements are (`</name>` exactly, by qualified name), found in
/// one pass, so "the first end tag after here" is a lookup, not a search to the end.
pub(super) struct EndTags<'a> {
    at: std::collections::HashMap<&'a str, Vec<usize>>,
}

impl<'a> EndTags<'a> {
    /// Names longer than this are not element names any feed uses.
    const MAX_NAME: usize = 64;

    pub(super) fn new(text: &'a str, wanted: impl Fn(&str) -> bool) -> Self {
        let mut at: std::collections::HashMap<&str, Vec<usize>> = Default::default();
        // By '<' and the byte after it: std's two-way search for "</" stepped byte by byte.
        for i in occurrences(text, "</", 0) {
            let rest = &text.as_bytes()[i + 2..];
            let Some(len) = rest
                .iter()
                .take(Self::MAX_NAME + 1)
                .position(|&b| b == b'>' || b == b'<' || b.is_ascii_whitespace())
            else {
                continue;
            };
            if rest[len] != b'>' {
                continue;
            }
            let name = &text[i + 2..i + 2 + len];
            if wanted(name.rsplit(':').next().unwrap_or(name)) {
                at.entry(name).or_default().push(i);
            }
        }
        EndTags { at }
    }

    /// The first `</name>` starting at or after `from`.
    pub(super) fn first_at_or_after(&self, name: &str, from: usize) -> Option<usize> {
        let list = self.at.get(name)?;
        list.get(list.partition_point(|&p| p < from)).copied()
    }
}

/// `Some(version attribute)` when the root is `<rss>`. Hand-written rather than a regex: it
/// runs on every RSS document, most of them small, where a regex's set-up dominated.
fn rss_root_version(head: &str) -> Option<Option<String>> {
    // std's SIMD search says no for most Atom and RDF heads; its two-way search per match
    // stepped through all 4 KiB of them.
    if !head.contains("<rss") {
        return None;
    }
    let attrs = head.match_indices("<rss").find_map(|(at, _)| {
        let rest = &head[at + 4..];
        let first = rest.chars().next()?;
        if first != '>' && !first.is_whitespace() {
            return None;
        }
        rest.find('>').map(|end| &rest[..end])
    })?;
    let version = attrs.match_indices("version").find_map(|(at, _)| {
        if !attrs[..at].ends_with(char::is_whitespace) {
            return None;
        }
        let rest = attrs[at + 7..].trim_start().strip_prefix('=')?.trim_start();
        let rest = rest.strip_prefix(['"', '\''])?;
        let end = rest.find(['"', '\''])?;
        Some(rest[..end].trim().to_string())
    });
    Some(version)
}

fn set_rss_version(text: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"<rss(\s[^>]*)?>").expect("static regex"));
    static VER: OnceLock<Regex> = OnceLock::new();
    let ver =
        VER.get_or_init(|| Regex::new(r#"\sversion\s*=\s*["'][^"']*["']"#).expect("static regex"));
    let Some(m) = re.captures(text) else {
        return text.to_string();
    };
    let whole = m.get(0).map_or(0..0, |w| w.range());
    let attrs = m.get(1).map_or("", |a| a.as_str());
    let attrs = ver.replace(attrs, "");
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..whole.start]);
    out.push_str("<rss version=\"2.0\"");
    out.push_str(&attrs);
    out.push('>');
    out.push_str(&text[whole.end..]);
    out
}

/// Atom 0.3 into Atom 1.0: the namespace, and the elements that were renamed.
fn atom03_to_atom10(text: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(</?)((?:[A-Za-z_][\w.-]*:)?)(issued|modified|tagline|copyright)\b")
            .expect("static regex")
    });
    let text = text.replace("http://purl.org/atom/ns#", "http://www.w3.org/2005/Atom");
    re.replace_all(&text, |c: &regex::Captures| {
        let new = match &c[3] {
            "issued" => "published",
            "modified" => "updated",
            "tagline" => "subtitle",
            _ => "rights",
        };
        format!("{}{}{}", &c[1], &c[2], new)
    })
    .into_owned()
}

/// Gives every RDF `<item>` without a `<link>` the [`NO_LINK`] placeholder; `None` if all have one.
///
/// Linear in the document: the end tags of items and the start tags of links are found in one
/// pass each, so an item never closed costs a lookup, not a search to the end of the document
/// (50,000 unclosed items in 300 KB took half a minute).
fn link_rdf_items(text: &str) -> Option<String> {
    let closes = EndTags::new(text, |local| local == "item");
    // Every `<prefix:link>` or `<prefix:link ...>` start, by prefix (with its colon).
    let mut links: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    let mut out = String::new();
    let mut last = 0;
    let mut items: Vec<(usize, &str)> = Vec::new();
    let mut pos = 0;
    while let Some(tag) = next_start_tag(text, pos) {
        pos = tag.end;
        let (prefix, local) = match tag.name.rfind(':') {
            Some(c) => (&tag.name[..=c], &tag.name[c + 1..]),
            None => ("", tag.name),
        };
        if !valid_prefix(prefix) {
            continue;
        }
        let after_name = text.as_bytes()[tag.start + 1 + tag.name.len()];
        if local == "link" && (after_name == b'>' || after_name == b' ') {
            links.entry(prefix).or_default().push(tag.start);
        } else if local == "item" && !tag.self_closing {
            items.push((tag.end, prefix));
        }
    }
    for (body_start, prefix) in items {
        let body_end = closes
            .first_at_or_after(&format!("{prefix}item"), body_start)
            .unwrap_or(text.len());
        let has_link = links.get(prefix).is_some_and(|l| {
            l.get(l.partition_point(|&p| p < body_start))
                .is_some_and(|&p| p < body_end)
        });
        if has_link {
            continue;
        }
        out.push_str(&text[last..body_start]);
        out.push_str(&format!("<{prefix}link>{NO_LINK}</{prefix}link>"));
        last = body_start;
    }
    if last == 0 {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// A namespace prefix as element names write it (`rdf:`), or none.
fn valid_prefix(prefix: &str) -> bool {
    let Some(p) = prefix.strip_suffix(':') else {
        return prefix.is_empty();
    };
    p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && p.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// JSON Feed with a short version ("1.0", "1.1") or no title, which feed-rs rejects.
pub fn repair_json(text: &str) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_str(text).ok()?;
    let obj = v.as_object_mut()?;
    if !obj.contains_key("items") {
        return None;
    }
    let version = obj.get("version").and_then(|v| v.as_str()).unwrap_or("");
    let fixed = if version.contains("1.1") {
        "https://jsonfeed.org/version/1.1"
    } else {
        "https://jsonfeed.org/version/1"
    };
    obj.insert("version".into(), fixed.into());
    if !obj.get("title").is_some_and(|t| t.is_string()) {
        obj.insert("title".into(), "".into());
    }
    serde_json::to_string(&v).ok()
}

/// Rewrites end tags so they match their start tags (`<title>…</subtitle>` is closed as
/// `</title>`), and closes what a truncated document left open, keeping everything up to the
/// point where the XML stops being readable. `None` when the document had nothing to fix.
pub fn balance_tags(text: &str) -> Option<String> {
    use quick_xml::events::{BytesEnd, Event};
    use quick_xml::reader::Reader;
    use quick_xml::writer::Writer;

    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    reader.config_mut().allow_unmatched_ends = true;
    let mut writer = Writer::new(Vec::with_capacity(text.len() + 64));
    let mut stack: Vec<String> = Vec::new();
    // How many of each name are open, so an end tag that matches nothing open is known at once
    // instead of by a search down the whole stack (quadratic on deep, badly closed documents).
    let mut open_count: std::collections::HashMap<String, usize> = Default::default();
    let mut changed = false;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(e) => e,
            Err(_) => {
                // Truncated or garbled from here on: keep what was read, close the rest.
                changed = true;
                break;
            }
        };
        let ok = match event {
            Event::Start(e) => {
                let name = {
                    let qn = e.name();
                    let n: &str = qn.as_ref();
                    n.to_string()
                };
                *open_count.entry(name.clone()).or_default() += 1;
                stack.push(name);
                writer.write_event(Event::Start(e))
            }
            Event::End(e) => {
                let name = {
                    let qn = e.name();
                    let n: &str = qn.as_ref();
                    n.to_string()
                };
                let is_open = open_count.get(&name).is_some_and(|&c| c > 0);
                let mut closed = |n: &String| {
                    if let Some(c) = open_count.get_mut(n) {
                        *c -= 1;
                    }
                };
                if stack.last() == Some(&name) {
                    stack.pop();
                    closed(&name);
                    writer.write_event(Event::End(e))
                } else if is_open && let Some(pos) = stack.iter().rposition(|n| *n == name) {
                    // Elements left open inside this one are closed first.
                    changed = true;
                    let mut r = Ok(());
                    for open in stack.drain(pos..).rev() {
                        closed(&open);
                        r = r.and(writer.write_event(Event::End(BytesEnd::new(open))));
                    }
                    r
                } else if let Some(open) = stack.pop() {
                    // A misspelt end tag closes the element that is open.
                    changed = true;
                    closed(&open);
                    writer.write_event(Event::End(BytesEnd::new(open)))
                } else {
                    changed = true;
                    Ok(())
                }
            }
            other => writer.write_event(other),
        };
        if ok.is_err() {
            return None;
        }
    }
    for open in stack.drain(..).rev() {
        changed = true;
        if writer.write_event(Event::End(BytesEnd::new(open))).is_err() {
            return None;
        }
    }
    if !changed {
        return None;
    }
    String::from_utf8(writer.into_inner()).ok()
}

/// Fixes what strict XML rejects; `None` when there was nothing to fix.
pub fn repair(text: &str) -> Option<String> {
    let mut changed = false;
    let mut s: Cow<'_, str> = Cow::Borrowed(text);

    // Junk before the root: PHP warnings, blank lines before the declaration.
    let trimmed = s.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if !trimmed.starts_with('<') || (trimmed.len() != s.len() && trimmed.starts_with("<?xml")) {
        if let Some(at) = find_feed_root(trimmed) {
            s = Cow::Owned(trimmed[at..].to_string());
            changed = true;
        }
    } else if trimmed.starts_with('<')
        && let Some(at) = find_feed_root(trimmed)
        && at > 0
        && root_name(trimmed).is_some_and(|n| n.eq_ignore_ascii_case("html"))
    {
        s = Cow::Owned(trimmed[at..].to_string());
        changed = true;
    }

    if let Some(fixed) = drop_late_declarations(&s) {
        s = Cow::Owned(fixed);
        changed = true;
    }
    if let Some(fixed) = strip_control_chars(&s) {
        s = Cow::Owned(fixed);
        changed = true;
    }
    if let Some(fixed) = fix_atom_types(&s) {
        s = Cow::Owned(fixed);
        changed = true;
    }
    if let Some(fixed) = drop_empty_atom_text(&s) {
        s = Cow::Owned(fixed);
        changed = true;
    }
    changed.then(|| s.into_owned())
}

/// Drops XML declarations past the start of the document (feeds pasted into one another): XML
/// allows one, first, and quick-xml panics on a later one that names another encoding (found
/// by the feed_parse fuzz target), which cost the whole feed. One pass.
fn drop_late_declarations(s: &str) -> Option<String> {
    let own = s.len()
        - s.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
            .len();
    let mut out = String::new();
    let (mut last, mut from) = (0, 0);
    while let Some(i) = s[from..].find("<?xml") {
        let at = from + i;
        from = at + "<?xml".len();
        let is_declaration = s
            .as_bytes()
            .get(from)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'?');
        if at == own || !is_declaration {
            continue;
        }
        let end = s[from..].find("?>").map_or(s.len(), |e| from + e + 2);
        out.push_str(&s[last..at]);
        (last, from) = (end, end);
    }
    if last == 0 {
        return None;
    }
    out.push_str(&s[last..]);
    Some(out)
}

/// Removes characters XML 1.0 forbids (C0 controls other than tab/newline/CR, U+FFFE/U+FFFF).
fn strip_control_chars(s: &str) -> Option<String> {
    let bad = |c: char| {
        (c < ' ' && c != '\t' && c != '\n' && c != '\r') || c == '\u{fffe}' || c == '\u{ffff}'
    };
    if !s.contains(bad) {
        return None;
    }
    Some(s.chars().filter(|&c| !bad(c)).collect())
}

/// Atom text constructs with a `type` feed-rs rejects get the nearest one it accepts.
fn fix_atom_types(s: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r#"(<(?:[A-Za-z_][\w.-]*:)?(?:title|subtitle|summary|content|rights|tagline|copyright|info)\b[^>]*?\stype\s*=\s*)(["'])([^"']*)["']"#,
        )
        .expect("static regex")
    });
    let mut changed = false;
    let out = re.replace_all(s, |c: &regex::Captures| {
        let value = c[3].trim().to_ascii_lowercase();
        let is_src = c[1].contains(" src");
        let fixed = match value.as_str() {
            "text" | "html" | "xhtml" | "text/html" => value.clone(),
            _ if is_src => value.clone(),
            "text/plain" | "plain" | "" => "text".into(),
            "escaped" | "application/html" => "html".into(),
            v if v.contains("xhtml") => "xhtml".into(),
            v if v.ends_with("/xml") || v.ends_with("+xml") => "xhtml".into(),
            _ => "html".into(),
        };
        if fixed != c[3] {
            changed = true;
        }
        format!("{}{}{}{}", &c[1], &c[2], fixed, &c[2])
    });
    changed.then(|| out.into_owned())
}

/// Empty Atom text elements (`<title type="text"/>`) make feed-rs fail the whole feed.
fn drop_empty_atom_text(s: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r#"<((?:[A-Za-z_][\w.-]*:)?)(title|subtitle|summary|content|rights)(\s[^>]*?)?(?:/>|>\s*</(?:[A-Za-z_][\w.-]*:)?(?:title|subtitle|summary|content|rights)>)"#,
        )
        .expect("static regex")
    });
    if !s.contains("http://www.w3.org/2005/Atom") {
        return None;
    }
    let mut changed = false;
    let out = re.replace_all(s, |c: &regex::Captures| {
        // `<content src=…/>` is legitimately empty.
        if c.get(3).is_some_and(|a| a.as_str().contains("src")) {
            return c[0].to_string();
        }
        changed = true;
        String::new()
    });
    changed.then(|| out.into_owned())
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_namespace_with_a_multibyte_character_where_the_scheme_ends_is_no_panic() {
        // Found by the feed_parse fuzz target: the scheme test sliced inside the '”'.
        let feed = "<feed xmlns=\"httpote\u{201d}</titl>\"><title>x</title></feed>";
        assert_eq!(fix_namespaces(feed), None);
        assert_eq!(bare_namespace("httpote\u{201d}x"), "httpote\u{201d}x");
        assert_eq!(
            bare_namespace(" HTTPS://www.w3.org/2005/Atom// "),
            "www.w3.org/2005/Atom"
        );
    }

    use super::*;

    #[test]
    fn a_namespace_declared_after_a_stray_xmlns_is_put_right_once() {
        // Both words led to the one value, and the second rewrite sliced backwards: a panic.
        let doc = "<feed xmlns xmlns=\"http://www.w3.org/2005/atom\"><title>t</title></feed>";
        assert_eq!(
            fix_namespaces(doc).as_deref(),
            Some("<feed xmlns xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title></feed>")
        );
    }

    #[test]
    fn the_naked_html_check_says_no_only_where_nothing_is_wrapped() {
        // Documents made of the pieces the check reads, in a fixed pseudo-random order: the
        // check may say "maybe" needlessly, never "no" where the full pass wraps something.
        const PIECES: [&str; 22] = [
            "<title",
            "<content",
            "<a:summary",
            "</title>",
            "</content>",
            "</a:summary>",
            " type=\"html\"",
            " type='text/html'",
            "type=\"html\"",
            " x=\"<\"",
            ">",
            "/>",
            "<",
            "<b>",
            "</b>",
            "<![CDATA[",
            "]]>",
            "<!--",
            "-->",
            "text",
            " ",
            "é",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut wrapped = 0;
        for _ in 0..20_000 {
            let mut doc = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 1 + seed % 24;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                doc.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
            }
            if wrap_naked_html_everywhere(&doc).is_some() {
                wrapped += 1;
                assert!(may_hold_naked_html(&doc), "{doc}");
            }
            // adapt hands over the html `type=` its own search found: the same answer.
            let found: Vec<usize> = type_and_mode_attrs(&doc)
                .filter(|&(at, is_type)| is_type && html_type_value(&doc[at + 5..]))
                .map(|(at, _)| at)
                .collect();
            assert_eq!(
                may_hold_naked_html_at(&doc, found.iter().copied()),
                may_hold_naked_html(&doc),
                "{doc}"
            );
        }
        assert!(wrapped > 100, "{wrapped}");
        // The usual escaped content, and an element with nothing inside, need no pass.
        assert!(!may_hold_naked_html(
            "<feed><entry><title type=\"html\">a &lt;b&gt;</title><content type=\"html\"></content></entry></feed>"
        ));
        assert!(may_hold_naked_html(
            "<feed><title type=\"html\">a <b>b</b></title></feed>"
        ));
    }

    #[test]
    fn a_needle_is_found_by_its_rare_byte_wherever_it_starts() {
        let doc = "<a xmlns=\"x\"><b type='t' mode=\"m\">caf\u{e9} xmlns</b><!-- x --></a>";
        assert_eq!(occurrences(doc, "xmlns", 0).collect::<Vec<_>>(), [3, 40]);
        assert_eq!(find_from(doc, "type=", 4, 0), Some(16));
        assert_eq!(find_from(doc, "mode=", 4, 17), Some(25));
        assert_eq!(find_from(doc, "<!", 1, 0), Some(49));
        assert_eq!(find_from(doc, "<!", 1, 50), None);
        // A key byte too near the start for the whole needle is no match.
        assert_eq!(find_from("=x", "type=", 4, 0), None);
    }

    #[test]
    fn an_html_page_is_told_apart_from_a_feed() {
        let page = "<!DOCTYPE html><html><head><title>Home</title></head><body>hi</body></html>";
        assert!(matches!(sniff(page), Err(FeedError::HtmlPage)));
    }

    #[test]
    fn plain_text_is_reported_with_its_start() {
        let err = sniff("502 Bad Gateway\nnginx").unwrap_err().to_string();
        assert!(err.contains("502 Bad Gateway"), "{err}");
    }

    #[test]
    fn an_empty_body_is_empty() {
        assert!(matches!(sniff("  \n "), Err(FeedError::Empty)));
    }

    #[test]
    fn other_xml_names_its_root() {
        let err = sniff("<?xml version=\"1.0\"?><error><code>404</code></error>").unwrap_err();
        assert!(err.to_string().contains("<error>"));
    }

    #[test]
    fn naked_markup_in_an_atom_html_element_is_wrapped_whole() {
        let doc = r#"<feed><title type="html">Example <a href="t.html">test</a></title><content type='text/html'>&lt;b&gt;x</content></feed>"#;
        let fixed = wrap_naked_html(doc, None).unwrap();
        assert!(fixed.contains(
            r#"<title type="html"><![CDATA[Example <a href="t.html">test</a>]]></title>"#
        ));
        assert!(fixed.contains("<content type='text/html'>&lt;b&gt;x</content>"));
        assert_eq!(
            wrap_naked_html(r#"<feed><link type="text/html" href="x"/></feed>"#, None),
            None
        );
    }

    #[test]
    fn the_rss_version_is_read_from_the_root_element() {
        assert_eq!(
            rss_root_version("<?xml?><rss version=\"2.0\">"),
            Some(Some("2.0".into()))
        );
        assert_eq!(
            rss_root_version("<rss\n  xmlns:a='x' version = ' 0.94 '>"),
            Some(Some("0.94".into()))
        );
        assert_eq!(rss_root_version("<rss>"), Some(None));
        assert_eq!(rss_root_version("<rss xmlns:version=\"x\">"), Some(None));
        assert_eq!(rss_root_version("<rssfeed><feed>"), None);
    }

    #[test]
    fn control_bytes_are_removed() {
        assert_eq!(
            strip_control_chars("<t>a\u{1}b\u{c}</t>").unwrap(),
            "<t>ab</t>"
        );
        assert!(strip_control_chars("<t>a\tb\n</t>").is_none());
    }

    #[test]
    fn odd_atom_types_are_mapped() {
        let fixed = fix_atom_types(r#"<title type="TEXT/plain">x</title><content type="application/xhtml+xml">y</content>"#).unwrap();
        assert_eq!(
            fixed,
            r#"<title type="text">x</title><content type="xhtml">y</content>"#
        );
    }

    #[test]
    fn an_unusual_rss_version_is_set_to_2() {
        let (text, info) = adapt(Cow::Borrowed("<rss version=\"0.94\"><channel/></rss>"));
        assert_eq!(text, "<rss version=\"2.0\"><channel/></rss>");
        assert!(info.version_fixed && info.rss0);
        let (text, info) = adapt(Cow::Borrowed("<rss xmlns:dc=\"x\"><channel/></rss>"));
        assert_eq!(text, "<rss version=\"2.0\" xmlns:dc=\"x\"><channel/></rss>");
        assert!(info.version_fixed && !info.rss0);
    }

    #[test]
    fn atom03_elements_are_renamed() {
        let src = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><entry><issued>x</issued><modified>y</modified></entry></feed>";
        let (text, _) = adapt(Cow::Borrowed(src));
        assert!(text.contains("<published>x</published><updated>y</updated>"));
        assert!(text.contains("http://www.w3.org/2005/Atom"));
    }

    #[test]
    fn rdf_items_without_a_link_get_a_placeholder() {
        let src = "<rdf:RDF xmlns=\"http://purl.org/rss/1.0/\"><item rdf:about=\"x\"><title>t</title></item><item><link>http://a/</link></item></rdf:RDF>";
        let (text, _) = adapt(Cow::Borrowed(src));
        assert_eq!(text.matches(NO_LINK).count(), 1);
    }

    #[test]
    fn a_misspelt_end_tag_closes_the_open_element() {
        let fixed =
            balance_tags("<rss><channel><language>en</langauge><title>t</title></channel></rss>")
                .unwrap();
        assert_eq!(
            fixed,
            "<rss><channel><language>en</language><title>t</title></channel></rss>"
        );
    }

    #[test]
    fn a_truncated_document_is_closed_after_what_arrived() {
        let fixed =
            balance_tags("<rss><channel><item><title>a</title></item><item><title>b</ti").unwrap();
        assert!(fixed.starts_with("<rss><channel><item><title>a</title></item>"));
        assert!(fixed.ends_with("</channel></rss>"));
    }

    #[test]
    fn junk_before_the_declaration_is_dropped() {
        let fixed =
            repair("Warning: x in y.php<br />\n<?xml version=\"1.0\"?><rss version=\"2.0\"/>")
                .unwrap();
        assert!(fixed.starts_with("<?xml"));
    }
}
