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
    /// The line of its `<outline>` in the document read (0 for a feed not read from one), so
    /// a bad entry can be named.
    pub line: usize,
}

/// How deep outlines may nest. Readers file feeds one or two folders deep; every feed carries
/// the titles of its folders as tags, so a document nested thousands deep once made each of
/// its feeds carry thousands (a 234 KB file took 2 GB).
pub const MAX_DEPTH: usize = 16;

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
    // The line at byte `counted`, counted on from the last event: once over the document.
    let (mut line, mut counted) = (1, 0);
    loop {
        let start = reader.buffer_position() as usize;
        let event = reader.read_event();
        let at = start.min(text.len());
        line += text.as_bytes()[counted.min(at)..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted = counted.max(at);
        match event {
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
                // The event begins after leading whitespace: its line is that of its `<`.
                let tag_line = line
                    + text.as_bytes()[at..]
                        .iter()
                        .take_while(|b| b.is_ascii_whitespace())
                        .filter(|&&b| b == b'\n')
                        .count();
                if !empty && stack.len() >= MAX_DEPTH {
                    return Err(OpmlError(format!(
                        "line {tag_line}: outlines nest deeper than {MAX_DEPTH} levels; \
                         move the feeds into fewer folders"
                    )));
                }
                let mut url = None;
                let mut title = None;
                let mut text_attr = None;
                let mut category = None;
                for attr in e.attributes().flatten() {
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                        .unwrap_or_default();
                    match attr.key.as_ref() {
                        "xmlUrl" | "xmlurl" => url = Some(value),
                        "title" => title = Some(value),
                        "text" => text_attr = Some(value),
                        "category" => category = Some(value),
                        _ => {}
                    }
                }
                let title = title.or(text_attr).filter(|t| !t.trim().is_empty());
                if let Some(url) = url.filter(|u| !u.trim().is_empty()) {
                    let mut tags: Vec<String> = Vec::new();
                    // Folders first, then the outline's own categories (comma-separated,
                    // each possibly a "/path").
                    let own = category
                        .iter()
                        .flat_map(|c| c.split(','))
                        .flat_map(|c| c.split('/').map(str::trim).filter(|t| !t.is_empty()));
                    for t in stack.iter().flatten().map(String::as_str).chain(own) {
                        if !tags.iter().any(|have| have == t) {
                            tags.push(t.to_string());
                        }
                    }
                    feeds.push(OpmlFeed {
                        title: title.clone(),
                        url: url.trim().to_string(),
                        tags,
                        line: tag_line,
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

/// An OPML 2.0 document listing `feeds`: each under a folder outline named by its first tag
/// (as feed readers file them; an import reads the folders back as tags), its tags also in
/// `category` so none is lost; feeds without tags at the top.
pub fn write(feeds: &[OpmlFeed]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>feedwatch feeds</title>\n  </head>\n  <body>\n",
    );
    let outline = |out: &mut String, f: &OpmlFeed, indent: &str| {
        let title = escape(f.title.as_deref().unwrap_or(&f.url));
        out.push_str(&format!(
            "{indent}<outline type=\"rss\" text=\"{title}\" title=\"{title}\" xmlUrl=\"{}\"",
            escape(&f.url)
        ));
        if !f.tags.is_empty() {
            out.push_str(&format!(" category=\"{}\"", escape(&f.tags.join(","))));
        }
        out.push_str("/>\n");
    };
    // Folders in the order their first feed comes.
    let mut folders: Vec<&str> = Vec::new();
    for f in feeds {
        if let Some(t) = f.tags.first()
            && !folders.contains(&t.as_str())
        {
            folders.push(t);
        }
    }
    for folder in folders {
        let name = escape(folder);
        out.push_str(&format!("    <outline text=\"{name}\" title=\"{name}\">\n"));
        for f in feeds
            .iter()
            .filter(|f| f.tags.first().map(String::as_str) == Some(folder))
        {
            outline(&mut out, f, "      ");
        }
        out.push_str("    </outline>\n");
    }
    for f in feeds.iter().filter(|f| f.tags.is_empty()) {
        outline(&mut out, f, "    ");
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
    fn tagged_feeds_are_written_in_folders_and_read_back_with_every_tag() {
        let feed = |title: &str, tags: &[&str]| OpmlFeed {
            title: Some(title.into()),
            url: format!("https://{}.example/rss", title.to_lowercase()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            line: 0,
        };
        let feeds = vec![
            feed("A", &["world", "daily"]),
            feed("B", &[]),
            feed("C", &["world"]),
        ];
        let doc = write(&feeds);
        assert!(
            doc.contains(
                "<outline text=\"world\" title=\"world\">\n      <outline type=\"rss\" text=\"A\""
            ),
            "{doc}"
        );
        let back = parse(&doc).unwrap();
        let tags = |t: &str| {
            back.iter()
                .find(|f| f.title.as_deref() == Some(t))
                .unwrap()
                .tags
                .clone()
        };
        assert_eq!(tags("A"), ["world", "daily"]);
        assert!(tags("B").is_empty());
        assert_eq!(tags("C"), ["world"]);
    }

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
            line: 7,
        }];
        assert_eq!(parse(&write(&feeds)).unwrap(), feeds);
    }

    #[test]
    fn each_feed_knows_the_line_of_its_outline() {
        let doc = "<opml version=\"2.0\"><body>\n<outline text=\"A\">\n\n  <outline text=\"a\" xmlUrl=\"https://a.example/\"/>\n</outline>\n<outline\n text=\"b\" xmlUrl=\"https://b.example/\"></outline></body></opml>";
        let lines: Vec<usize> = parse(doc).unwrap().iter().map(|f| f.line).collect();
        assert_eq!(lines, [4, 6]);
    }

    #[test]
    fn outlines_nested_past_the_limit_are_refused_and_a_big_flat_file_is_read_quickly() {
        // The shape that took 2 GB: thousands of folders deep, a feed in each.
        let depth = 5_000;
        let mut doc = String::from("<opml version=\"2.0\"><body>");
        for i in 0..depth {
            doc.push_str(&format!(
                "<outline text=\"c{i}\"><outline text=\"f{i}\" xmlUrl=\"https://x.example/{i}\"/>"
            ));
        }
        doc.push_str(&"</outline>".repeat(depth));
        doc.push_str("</body></opml>");
        let e = parse(&doc).unwrap_err().to_string();
        assert!(
            e.contains("line 1: outlines nest deeper than 16 levels"),
            "{e}"
        );
        // Up to the limit every feed carries its folders, each once.
        let mut ok = String::from("<opml version=\"2.0\"><body>");
        ok.push_str(&"<outline text=\"News\">".repeat(MAX_DEPTH));
        ok.push_str("<outline text=\"f\" xmlUrl=\"https://x.example/\"/>");
        ok.push_str(&"</outline>".repeat(MAX_DEPTH));
        ok.push_str("</body></opml>");
        assert_eq!(parse(&ok).unwrap()[0].tags, ["News"]);
        // 100,000 feeds in one folder: linear.
        let mut flat = String::from("<opml version=\"2.0\"><body><outline text=\"A\">");
        for i in 0..100_000 {
            flat.push_str(&format!(
                "<outline text=\"f\" xmlUrl=\"https://x.example/{i}\"/>\n"
            ));
        }
        flat.push_str("</outline></body></opml>");
        let start = std::time::Instant::now();
        let feeds = parse(&flat).unwrap();
        assert_eq!(feeds.len(), 100_000);
        assert_eq!(feeds[99_999].line, 100_000);
        let took = start.elapsed();
        assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    }

    #[test]
    fn a_document_that_is_not_opml_is_refused() {
        assert!(parse("<html><body>hi</body></html>").is_err());
    }
}
