//! A second, light read of RSS documents for what feed-rs leaves out: Dublin Core, iTunes
//! and Atom elements inside RSS (`dc:title`, `dc:date`, `itunes:summary` under any spelling of
//! its namespace, `atom:link`, `atom:author`, `atom:content`…) and titles or descriptions
//! written as naked markup. It runs only when a field is missing and the document has
//! something that could fill it, so feeds that need it not pay nothing.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Values found for one channel or one item; raw text, read by `normalise` like the rest.
#[derive(Debug, Default, Clone)]
pub struct Extra {
    /// `dc:title`, or a `<title>` written as naked markup.
    pub title: Option<String>,
    /// `atom:link` with rel alternate (or none).
    pub link: Option<String>,
    /// `atom:link rel="self"`: the last resort for a feed's link.
    pub self_link: Option<String>,
    /// `atom:author/atom:name`, `itunes:author`, `dc:creator`, a naked-markup `<author>`.
    pub author: Option<String>,
    /// `dc:description`, `itunes:summary`, `itunes:subtitle`, a naked-markup `<description>`.
    pub summary: Option<String>,
    /// `atom:content`.
    pub content: Option<String>,
    /// `atom:published`, `dc:date`, `dcterms:issued`.
    pub published: Option<String>,
    /// `atom:updated`, `dc:modified`, `dcterms:modified`.
    pub updated: Option<String>,
    /// `atom:author/atom:email`.
    pub author_email: Option<String>,
    /// `atom:author/atom:uri`.
    pub author_uri: Option<String>,
    /// An RSS 1.0 item's `rdf:about`.
    pub about: Option<String>,
    /// The item has a `<guid>` that is a permalink (no `isPermaLink`, or `isPermaLink="true"`).
    pub guid_permalink: bool,
}

/// The channel's extras and each item's, in document order.
#[derive(Debug, Default)]
pub struct Extras {
    /// Channel-level values.
    pub channel: Extra,
    /// One per `<item>`, in the order feed-rs returns entries.
    pub items: Vec<Extra>,
}

#[derive(Clone, Copy, PartialEq)]
enum Ns {
    Plain,
    Dc,
    DcTerms,
    Itunes,
    Atom,
    Other,
}

fn ns_of(r: &ResolveResult<'_>) -> Ns {
    match r {
        ResolveResult::Bound(ns) => {
            // Compared without case in place, not lower-cased into a new string: this runs
            // on every event of the document.
            let uri = st(&ns);
            let is = |known: &str| uri.eq_ignore_ascii_case(known);
            if is("http://purl.org/dc/elements/1.1/") {
                Ns::Dc
            } else if is("http://purl.org/dc/terms/") {
                Ns::DcTerms
            } else if is("http://www.w3.org/2005/atom") {
                Ns::Atom
            } else if is("http://purl.org/rss/1.0/") || is("http://backend.userland.com/rss2") {
                Ns::Plain
            } else if contains_ignoring_case(uri, "itunes.com/dtds/podcast") {
                Ns::Itunes
            } else {
                Ns::Other
            }
        }
        // A prefix used without its declaration: feeds do this with `atom:` and `dc:`.
        ResolveResult::Unknown(prefix) => match prefix.as_str() {
            "atom" => Ns::Atom,
            "dc" => Ns::Dc,
            "dcterms" => Ns::DcTerms,
            "itunes" => Ns::Itunes,
            _ => Ns::Other,
        },
        ResolveResult::Unbound => Ns::Plain,
    }
}

/// Whether `hay` holds the lower-case ASCII `needle` in any case. A long `hay` (a hostile
/// namespace name) is lower-cased once and searched, so the cost stays linear in it.
fn contains_ignoring_case(hay: &str, needle: &str) -> bool {
    if hay.len() > 1024 {
        return hay.to_ascii_lowercase().contains(needle);
    }
    let n = needle.as_bytes();
    hay.as_bytes()
        .windows(n.len())
        .any(|w| w[0].eq_ignore_ascii_case(&n[0]) && w.eq_ignore_ascii_case(n))
}

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Title,
    Author,
    Summary,
    Content,
    Published,
    Updated,
    AuthorEmail,
    AuthorUri,
}

fn field_for(ns: Ns, local: &str) -> Option<Field> {
    use Field::*;
    Some(match (ns, local) {
        (Ns::Dc, "title") | (Ns::Plain, "title") => Title,
        (Ns::Dc, "creator")
        | (Ns::Dc, "author")
        | (Ns::Itunes, "author")
        | (Ns::Plain, "author") => Author,
        (Ns::Atom, "name") => Author,
        (Ns::Atom, "email") => AuthorEmail,
        (Ns::Atom, "uri") => AuthorUri,
        (Ns::Dc, "description") | (Ns::Itunes, "summary") | (Ns::Itunes, "subtitle") => Summary,
        (Ns::Plain, "description") | (Ns::Atom, "summary") => Summary,
        (Ns::Atom, "content") => Content,
        (Ns::Dc, "date") | (Ns::DcTerms, "issued") | (Ns::Atom, "published") => Published,
        (Ns::Dc, "modified") | (Ns::DcTerms, "modified") | (Ns::Atom, "updated") => Updated,
        _ => return None,
    })
}

fn slot(e: &mut Extra, f: Field) -> &mut Option<String> {
    match f {
        Field::Title => &mut e.title,
        Field::Author => &mut e.author,
        Field::Summary => &mut e.summary,
        Field::Content => &mut e.content,
        Field::Published => &mut e.published,
        Field::Updated => &mut e.updated,
        Field::AuthorEmail => &mut e.author_email,
        Field::AuthorUri => &mut e.author_uri,
    }
}

fn st<T: AsRef<str> + ?Sized>(t: &T) -> &str {
    t.as_ref()
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| st(&a.key.local_name()) == name)
        .map(|a| a.value.to_string())
}

/// Reads the extras; stops quietly at the first XML error (feed-rs already read the document).
pub fn scan(text: &str) -> Extras {
    let mut out = Extras::default();
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut depth = 0usize;
    let mut item_depth: Option<usize> = None;
    // (field, depth of the element, text so far)
    let mut capture: Option<(Field, usize, String)> = None;
    // Namespaces are resolved for start tags alone: the other events (end tags, text, most
    // of a document) need none here.
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Eof => break,
            Event::Start(e) => {
                let ns = ns_of(&reader.resolver().resolve_element(e.name()).0);
                depth += 1;
                if capture.is_none() {
                    capture = open(&e, ns, depth, item_depth.is_some(), &mut out);
                    if capture.is_none() && st(&e.local_name()) == "item" && ns == Ns::Plain {
                        out.items.push(Extra {
                            about: attr(&e, "about"),
                            ..Extra::default()
                        });
                        item_depth = Some(depth);
                    }
                    if item_depth.is_some()
                        && ns == Ns::Plain
                        && st(&e.local_name()) == "guid"
                        && let Some(item) = out.items.last_mut()
                    {
                        item.guid_permalink = attr(&e, "isPermaLink")
                            .is_none_or(|v| v.trim().eq_ignore_ascii_case("true"));
                    }
                }
            }
            Event::Empty(e) if capture.is_none() => {
                // An empty element has no text to capture; only `atom:link` matters.
                let ns = ns_of(&reader.resolver().resolve_element(e.name()).0);
                let _ = open(&e, ns, depth + 1, item_depth.is_some(), &mut out);
            }
            Event::End(_) => {
                if capture.as_ref().is_some_and(|c| c.1 == depth)
                    && let Some((f, _, buf)) = capture.take()
                {
                    let target = if item_depth.is_some() {
                        out.items.last_mut()
                    } else {
                        Some(&mut out.channel)
                    };
                    if let Some(t) = target {
                        let s = slot(t, f);
                        if s.is_none() && !buf.trim().is_empty() {
                            *s = Some(buf);
                        }
                    }
                }
                if item_depth == Some(depth) {
                    item_depth = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) => {
                if let Some(c) = capture.as_mut() {
                    c.2.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(c) = capture.as_mut() {
                    c.2.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(c) = capture.as_mut() {
                    if let Ok(Some(ch)) = r.resolve_char_ref() {
                        c.2.push(ch);
                    } else {
                        let name = r.to_string();
                        let v = match name.as_str() {
                            "amp" => "&",
                            "lt" => "<",
                            "gt" => ">",
                            "quot" => "\"",
                            "apos" => "'",
                            n => {
                                if let Some((a, b)) = super::entities::html5(&format!("{n};")) {
                                    c.2.push(a);
                                    c.2.extend(b);
                                }
                                ""
                            }
                        };
                        c.2.push_str(v);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Handles an opening tag: records an `atom:link`, or starts capturing a field's text.
fn open(
    e: &BytesStart<'_>,
    ns: Ns,
    depth: usize,
    in_item: bool,
    out: &mut Extras,
) -> Option<(Field, usize, String)> {
    let local = e.local_name();
    let local = st(&local);
    if ns == Ns::Atom && local == "link" {
        let rel = attr(e, "rel");
        let target = if in_item {
            out.items.last_mut()
        } else {
            Some(&mut out.channel)
        };
        if let (Some(href), Some(t)) = (attr(e, "href"), target) {
            match rel.as_deref() {
                None | Some("alternate") if t.link.is_none() => t.link = Some(href),
                Some("self") if t.self_link.is_none() => t.self_link = Some(href),
                _ => {}
            }
        }
        return None;
    }
    field_for(ns, local).map(|f| (f, depth, String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dublin_core_itunes_and_atom_inside_rss_are_found() {
        let x = scan(
            r#"<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:itunes="http://www.itunes.com/DTDs/PodCast-1.0.dtd"><channel><dc:title>T</dc:title><atom:link href="http://a/"/><item><itunes:author>IA</itunes:author><atom:author><atom:name>AA</atom:name></atom:author><dc:description>D &amp; E</dc:description></item></channel></rss>"#,
        );
        assert_eq!(x.channel.title.as_deref(), Some("T"));
        assert_eq!(x.channel.link.as_deref(), Some("http://a/"));
        assert_eq!(x.items[0].author.as_deref(), Some("IA"));
        assert_eq!(x.items[0].summary.as_deref(), Some("D & E"));
    }

    #[test]
    fn a_title_written_as_naked_markup_is_read_as_text() {
        let x = scan("<rss><channel><item><title><b>Bold</b> title</title></item></channel></rss>");
        assert_eq!(x.items[0].title.as_deref(), Some("Bold title"));
    }
}
