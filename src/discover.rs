//! Feed discovery: the feeds a web page offers, for a feed `url` that is a site's page and for
//! `feedwatch discover URL`.
//!
//! Owns reading a page's `<link rel="alternate">` feeds (RSS, Atom, JSON Feed) and trying the
//! paths sites usually put their feed at. Fetching goes through the [`Fetcher`], so its caps and
//! private-address guard apply to every address tried.

use url::Url;

use crate::feed;
use crate::fetch::{Conditional, FEED_MAX_BYTES, FetchOutcome, Fetcher};

/// Where sites usually put their feed, tried by `feedwatch discover` when a page links none.
pub const USUAL_PATHS: [&str; 5] = ["/feed", "/rss.xml", "/atom.xml", "/index.xml", "/feed.json"];

/// The kind of feed a page says it links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    Rss,
    Atom,
    JsonFeed,
}

impl FeedKind {
    fn from_type(media_type: &str) -> Option<FeedKind> {
        match media_type.trim().to_ascii_lowercase().as_str() {
            "application/rss+xml" | "application/rdf+xml" => Some(FeedKind::Rss),
            "application/atom+xml" => Some(FeedKind::Atom),
            "application/feed+json" | "application/json" => Some(FeedKind::JsonFeed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Rss => "RSS",
            FeedKind::Atom => "Atom",
            FeedKind::JsonFeed => "JSON Feed",
        }
    }
}

/// A feed a page links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub url: Url,
    pub kind: FeedKind,
    /// The link's `title`, when it has one ("Comments feed", "All stories").
    pub title: Option<String>,
}

impl std::fmt::Display for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}",
            crate::redact::url(&self.url),
            self.kind.as_str()
        )?;
        if let Some(t) = &self.title {
            write!(f, ", \"{}\"", crate::printable::line(t))?;
        }
        f.write_str(")")
    }
}

/// The feeds an HTML page links with `<link rel="alternate" type="…" href="…">`, in page order,
/// each once, resolved against `base` (or the page's `<base href>`). Only http(s) links count.
pub fn alternates(html: &[u8], base: &Url) -> Vec<Candidate> {
    let text = String::from_utf8_lossy(html);
    let doc = scraper::Html::parse_document(&text);
    let base = scraper::Selector::parse("base[href]")
        .ok()
        .and_then(|s| doc.select(&s).next())
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| base.join(h).ok())
        .unwrap_or_else(|| base.clone());
    let Ok(links) = scraper::Selector::parse("link[rel][href][type]") else {
        return Vec::new();
    };
    let mut out: Vec<Candidate> = Vec::new();
    for link in doc.select(&links) {
        let el = link.value();
        let is_alternate = el.attr("rel").is_some_and(|rel| {
            rel.split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("alternate"))
        });
        let Some(kind) = el.attr("type").and_then(FeedKind::from_type) else {
            continue;
        };
        let Some(url) = el
            .attr("href")
            .and_then(|h| base.join(h.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        else {
            continue;
        };
        if !is_alternate || out.iter().any(|c| c.url == url) {
            continue;
        }
        let title = el
            .attr("title")
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|t| !t.is_empty());
        out.push(Candidate { url, kind, title });
    }
    out
}

/// What `feedwatch discover` found at a URL.
#[derive(Debug)]
pub enum Found {
    /// The URL is a feed itself.
    Feed {
        format: String,
        title: Option<String>,
    },
    /// A page: the feeds it links, then those found at the usual paths (each checked to be a
    /// feed), each once.
    Page {
        linked: Vec<Candidate>,
        usual: Vec<Candidate>,
    },
}

/// Fetches `url` and says what feeds it is or offers. Nothing is stored.
pub async fn discover(fetcher: &Fetcher, url: &Url) -> Result<Found, String> {
    let page = match fetcher
        .get(url, &Conditional::default(), FEED_MAX_BYTES)
        .await
    {
        Ok(FetchOutcome::Fetched(f)) => f,
        Ok(FetchOutcome::NotModified { .. }) => return Err("the server answered 304".into()),
        Err(e) => return Err(e.to_string()),
    };
    match feed::parse(&page.body, page.charset.as_deref(), Some(&page.final_url)) {
        Ok(f) => {
            return Ok(Found::Feed {
                format: f.format,
                title: f.title,
            });
        }
        Err(feed::FeedError::HtmlPage) => {}
        Err(e) => return Err(format!("neither a feed nor a web page: {e}")),
    }
    let linked = alternates(&page.body, &page.final_url);
    let mut usual = Vec::new();
    for path in USUAL_PATHS {
        let Ok(candidate) = page.final_url.join(path) else {
            continue;
        };
        if linked.iter().any(|c| c.url == candidate) {
            continue;
        }
        if let Ok(FetchOutcome::Fetched(f)) = fetcher
            .get(&candidate, &Conditional::default(), FEED_MAX_BYTES)
            .await
            && let Ok(parsed) = feed::parse(&f.body, f.charset.as_deref(), Some(&f.final_url))
        {
            let kind = match parsed.format.as_str() {
                "json" => FeedKind::JsonFeed,
                "atom" => FeedKind::Atom,
                _ => FeedKind::Rss,
            };
            usual.push(Candidate {
                url: f.final_url,
                kind,
                title: parsed.title,
            });
        }
    }
    Ok(Found::Page { linked, usual })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pages_alternate_feeds_are_found_resolved_and_listed_once() {
        let page = br#"<html><head>
            <link rel="stylesheet" href="/s.css" type="text/css">
            <link rel="alternate" type="application/rss+xml" title="All  stories" href="/rss.xml">
            <link rel="Alternate nofollow" type="application/atom+xml" href="https://cdn.example/atom">
            <link rel="alternate" type="application/feed+json" href="feed.json">
            <link rel="alternate" type="application/rss+xml" href="/rss.xml">
            <link rel="alternate" type="text/html" hreflang="de" href="/de/">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            </head><body></body></html>"#;
        let base = Url::parse("https://news.example/world/index.html").unwrap();
        let found = alternates(page, &base);
        let urls: Vec<&str> = found.iter().map(|c| c.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://news.example/rss.xml",
                "https://cdn.example/atom",
                "https://news.example/world/feed.json"
            ]
        );
        assert_eq!(found[0].title.as_deref(), Some("All stories"));
        assert_eq!(found[1].kind, FeedKind::Atom);
        assert_eq!(found[2].kind, FeedKind::JsonFeed);
    }

    #[test]
    fn a_page_linking_no_feed_has_no_alternates() {
        let base = Url::parse("https://a.example/").unwrap();
        assert!(alternates(b"<p>hello</p>", &base).is_empty());
    }
}
