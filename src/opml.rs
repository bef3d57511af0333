//! OPML 2.0 in and out: the way feed lists move between readers.
//!
//! Owns reading the feeds of an OPML document (nested outlines, categories become tags) and
//! writing the configured feeds as one. Hands on plain [`OpmlFeed`] values; `commands` decides
//! where they go (`feeds.d/`).

use quick_xml::Reader;
use quick_xml::events::Event;

/// One feed of an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    pub title: Option<String>,
    pub url: String,
    /// The titles of the outlines it is nested in: their categories, used as tags.
    pub tags: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("not a readable OPML document: {0}")]
pub struct OpmlError(String);

/// The feeds of an OPML document: every `<outline>` with an `xmlUrl`.
pub fn parse(text: &str) -> Result<Vec<OpmlFeed>, OpmlError> {
    let mut reader = Reader::from_str(text);
    let mut feeds = Vec::new();
    // Titles of the open outlines that are categories (no xmlUrl), for tags.
    let mut stack: Vec<Option<String>> = Vec::new();
    let mut saw_opml = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.name().as_ref() == "opml" => {
                saw_opml = true
            }
            Ok(ev @ (Event::Start(_) | Event::Empty(_))) => {
                let (e, empty) = match &ev {
                    Event::Start(e) => (e, false),
                    Event::Empty(e) => (e, true),
                    _ => continue,
                };
                if e.name().as_ref() != "outline" {
                    continue;
                }
                let mut url = None;
                let mut title = None;
                let mut text_attr = None;
                for attr in e.attributes().flatten() {
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                        .unwrap_or_default();
                    match attr.key.as_ref() {
                        "xmlUrl" | "xmlurl" => url = Some(value),
                        "title" => title = Some(value),
                        "text" => text_attr = Some(value),
                        _ => {}
                    }
                }
                let title = title.or(text_attr).filter(|t| !t.trim().is_empty());
                if let Some(url) = url.filter(|u| !u.trim().is_empty()) {
                    let tags = stack.iter().flatten().cloned().collect();
                    feeds.push(OpmlFeed {
                        title: title.clone(),
                        url: url.trim().to_string(),
                        tags,
                    });
                    if !empty {
                        stack.push(None);
                    }
                } else if !empty {
                    stack.push(title);
                }
            }
            Ok(Event::End(e)) if e.name().as_ref() == "outline" => {
                stack.pop();
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(OpmlError(format!(
                    "at byte {}: {e}",
                    reader.buffer_position()
                )));
            }
        }
    }
    if !saw_opml {
        return Err(OpmlError("there is no <opml> element".into()));
    }
    Ok(feeds)
}

/// An OPML 2.0 document listing `feeds`.
pub fn write(feeds: &[OpmlFeed]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>feedwatch feeds</title>\n  </head>\n  <body>\n",
    );
    for f in feeds {
        let title = escape(f.title.as_deref().unwrap_or(&f.url));
        out.push_str(&format!(
            "    <outline type=\"rss\" text=\"{title}\" title=\"{title}\" xmlUrl=\"{}\"",
            escape(&f.url)
        ));
        if !f.tags.is_empty() {
            out.push_str(&format!(" category=\"{}\"", escape(&f.tags.join(","))));
        }
        out.push_str("/>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_outlines_give_feeds_with_their_categories_as_tags() {
        let doc = r#"<?xml version="1.0"?><opml version="2.0"><body>
            <outline text="News"><outline text="World &amp; more" xmlUrl="https://a.example/rss"/></outline>
            <outline text="Solo" xmlUrl="https://b.example/atom"/>
            <outline text="Empty folder"></outline></body></opml>"#;
        let feeds = parse(doc).unwrap();
        assert_eq!(feeds.len(), 2);
        assert_eq!(feeds[0].title.as_deref(), Some("World & more"));
        assert_eq!(feeds[0].tags, vec!["News".to_string()]);
        assert!(feeds[1].tags.is_empty());
    }

    #[test]
    fn written_opml_reads_back_the_same_feeds() {
        let feeds = vec![OpmlFeed {
            title: Some("A <b> & \"c\"".into()),
            url: "https://a.example/rss?x=1&y=2".into(),
            tags: vec![],
        }];
        assert_eq!(parse(&write(&feeds)).unwrap(), feeds);
    }

    #[test]
    fn a_document_that_is_not_opml_is_refused() {
        assert!(parse("<html><body>hi</body></html>").is_err());
    }
}
