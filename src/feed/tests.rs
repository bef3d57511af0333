//! Behaviour of `parse` end to end, on the fixtures in `tests/fixtures/feeds/`.

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/feeds/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse_fixture(name: &str) -> ParsedFeed {
    parse(&fixture(name), None, None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn utc(d: &Option<DateTime<Utc>>) -> String {
    d.map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[test]
fn utf16_big_endian_with_bom_parses_instead_of_panicking() {
    let f = parse_fixture("utf16be_bom.xml");
    assert_eq!(f.title.as_deref(), Some("Café Noticias"));
    assert_eq!(f.entries[0].title.as_deref(), Some("Crème brûlée – €5"));
    assert_eq!(f.entries[0].summary.as_deref(), Some("Über alles"));
}

#[test]
fn utf16_little_endian_with_bom_parses() {
    let f = parse_fixture("utf16le_bom.xml");
    assert_eq!(f.entries.len(), 1);
    assert_eq!(utc(&f.entries[0].published), "2003-06-10T09:00:00Z");
}

#[test]
fn a_utf8_bom_is_ignored() {
    assert_eq!(
        parse_fixture("rss_feed_bom.xml").title.as_deref(),
        Some("Feed Title")
    );
}

#[test]
fn declared_iso_8859_1_is_transcoded() {
    let f = parse_fixture("rss_1.0_iso8859.xml");
    assert!(!f.entries.is_empty());
    let all: String = f.entries.iter().filter_map(|e| e.title.clone()).collect();
    assert!(!all.contains('\u{fffd}'), "{all}");
}

#[test]
fn undeclared_latin1_without_rss_version_is_read_and_marked_recovered() {
    let f = parse_fixture("uolNoticias.rss");
    assert!(f.recovered);
    assert_eq!(f.subtitle.as_deref(), Some("Últimas Notícias"));
    assert!(
        f.entries
            .iter()
            .any(|e| e.title.as_deref().is_some_and(|t| t.contains("simulações")))
    );
}

#[test]
fn the_http_charset_is_honoured() {
    let (bytes, _, _) = encoding_rs::WINDOWS_1252
        .encode("<rss version=\"2.0\"><channel><title>Señor €</title></channel></rss>");
    let f = parse(&bytes, Some("windows-1252"), None).unwrap();
    assert_eq!(f.title.as_deref(), Some("Señor €"));
}

#[test]
fn a_bare_ampersand_is_repaired() {
    let f = parse_fixture("issue_305_bare_ampersand.xml");
    assert!(f.recovered);
    assert_eq!(f.title.as_deref(), Some("Fish & Chips & more <3"));
}

#[test]
fn html_named_entities_and_control_bytes_are_repaired() {
    let f = parse_fixture("entities.rss");
    assert!(f.recovered);
    assert_eq!(f.title.as_deref(), Some("Fish & Chips Daily"));
    assert_eq!(f.entries[0].title.as_deref(), Some("Café & bar news"));
    assert_eq!(f.entries[0].summary.as_deref(), Some("Q&A with “the chef”"));
}

#[test]
fn an_illegal_character_that_parses_is_still_dropped_from_text() {
    let f = parse_fixture("rss_channel_item_illegal_char.xml");
    let title = f.entries[0].title.clone().unwrap_or_default();
    assert!(!title.chars().any(|c| c.is_control()), "{title:?}");
}

#[test]
fn unusual_and_missing_rss_versions_are_accepted() {
    for name in ["version_rss_094.xml", "version_rss_missing.xml"] {
        let f = parse_fixture(name);
        assert!(f.recovered, "{name}");
        assert!(f.format.starts_with("rss"), "{name}: {}", f.format);
    }
}

#[test]
fn odd_atom_type_attributes_are_repaired() {
    let f = parse_fixture("atom_types.xml");
    assert!(f.recovered);
    assert_eq!(f.title.as_deref(), Some("Typed"));
    assert_eq!(f.entries[0].title.as_deref(), Some("Plain title"));
    assert_eq!(f.entries[0].summary.as_deref(), Some("Bold summary"));
}

#[test]
fn a_misspelt_end_tag_is_repaired() {
    let f = parse_fixture("rss_channel_language.xml");
    assert!(f.recovered);
}

#[test]
fn a_truncated_feed_keeps_its_complete_items() {
    let f = parse_fixture("truncated.rss");
    assert!(f.recovered);
    assert_eq!(f.entries[0].title.as_deref(), Some("Complete"));
}

#[test]
fn atom_03_entries_are_read_with_their_dates() {
    let f = parse_fixture("atom03_entries.xml");
    assert_eq!(f.format, "atom");
    assert_eq!(f.subtitle.as_deref(), Some("An Atom 0.3 feed"));
    assert_eq!(utc(&f.updated), "2004-01-02T10:00:00Z");
    let e = &f.entries[0];
    assert_eq!(e.id, "tag:example.org,2004:1");
    assert_eq!(e.link.as_deref(), Some("http://example.org/2004/01/first"));
    assert_eq!(utc(&e.published), "2004-01-02T00:48:21Z");
    assert_eq!(utc(&e.updated), "2004-01-02T09:00:00Z");
    assert_eq!(e.author.as_deref(), Some("Mark"));
    assert_eq!(e.content.as_deref(), Some("Hello world"));
    assert!(
        e.content_html
            .as_deref()
            .is_some_and(|h| h.contains("<em>world</em>"))
    );
}

#[test]
fn rss_090_items_without_links_still_give_entries() {
    let f = parse_fixture("rdf_090_nolink.xml");
    assert_eq!(f.format, "rss0");
    assert_eq!(f.entries.len(), 2);
    assert_eq!(f.entries[0].link, None);
    assert!(f.entries[0].id.starts_with("urn:feedwatch:"));
    assert_eq!(f.entries[1].link.as_deref(), Some("http://example.org/2"));
}

#[test]
fn rss1_feeds_parse() {
    let f = parse_fixture("rdf_feed.xml");
    assert_eq!(f.format, "rss1");
    assert_eq!(f.title.as_deref(), Some("Feed Title"));
}

#[test]
fn json_feed_with_a_short_version_and_no_title_is_read() {
    let f = parse_fixture("json10_simple.json");
    assert_eq!(f.format, "json");
    assert_eq!(f.entries[0].content.as_deref(), Some("content_text"));
}

#[test]
fn an_html_error_page_is_reported_as_such() {
    assert!(matches!(
        parse(&fixture("unrecognized.rss"), None, None),
        Err(FeedError::HtmlPage)
    ));
}

#[test]
fn an_empty_body_is_reported_as_empty() {
    assert!(matches!(
        parse(b"  \r\n", None, None),
        Err(FeedError::Empty)
    ));
    assert!(matches!(parse(b"", None, None), Err(FeedError::Empty)));
}

#[test]
fn ids_are_stable_across_re_parses() {
    let bytes = fixture("entities.rss");
    let a = parse(&bytes, None, None).unwrap();
    let b = parse(&bytes, None, None).unwrap();
    let ids = |f: &ParsedFeed| f.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    // The second item has no guid and no link: its id comes from what it says.
    assert!(a.entries[1].id.starts_with("urn:feedwatch:"));
    assert_ne!(a.entries[0].id, a.entries[1].id);
}

#[test]
fn relative_links_resolve_against_xml_base() {
    let f = parse_fixture("relative.atom");
    assert_eq!(f.link.as_deref(), Some("http://example.org/blog/"));
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("http://example.org/blog/posts/1.html")
    );
    assert_eq!(f.entries[1].link.as_deref(), Some("http://other.example/x"));
}

#[test]
fn relative_links_resolve_against_the_feed_url() {
    let base = Url::parse("https://news.example.com/feeds/rss.xml").unwrap();
    let f = parse(&fixture("relative_nobase.rss"), None, Some(&base)).unwrap();
    assert_eq!(f.link.as_deref(), Some("https://news.example.com/"));
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("https://news.example.com/news/1")
    );
}

#[test]
fn named_zone_and_date_only_dates_become_utc() {
    let f = parse_fixture("entities.rss");
    assert_eq!(utc(&f.entries[0].published), "2014-07-06T19:56:00Z");
    assert_eq!(utc(&f.entries[1].published), "2014-07-07T00:00:00Z");
}

#[test]
fn authors_come_from_dublin_core_itunes_and_atom_inside_rss() {
    let f = parse_fixture("rss_item_extensions.xml");
    let e = &f.entries[0];
    assert_eq!(e.title.as_deref(), Some("DC Item Title"));
    assert_eq!(e.author.as_deref(), Some("Item Author"));
    assert!(e.summary.is_some());
}

#[test]
fn a_panic_inside_feed_rs_is_this_feeds_error() {
    // Raw UTF-16BE with a BOM is what makes quick-xml panic inside feed-rs; `parse` never hands
    // it over, so call the isolated runner with it directly.
    std::panic::set_hook(Box::new(|_| {}));
    let result = run_feed_rs(
        &fixture("utf16be_bom.xml"),
        None,
        &crate::bounds::Budget::unlimited(),
    );
    let _ = std::panic::take_hook();
    match result {
        Err(FeedError::Panicked(_))
        | Err(FeedError::Malformed(_))
        | Err(FeedError::NotAFeed(_)) => {}
        Ok(_) => panic!("feed-rs read raw UTF-16BE"),
        Err(e) => panic!("unexpected error {e}"),
    }
    // And the same bytes through `parse` are a feed.
    assert!(parse(&fixture("utf16be_bom.xml"), None, None).is_ok());
}

#[test]
fn to_json_has_the_design_fields() {
    let f = parse(&fixture("atom03_entries.xml"), None, None);
    let v = to_json("a.xml", &f);
    assert_eq!(v["file"], "a.xml");
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"][0]["published"], "2004-01-02T00:48:21Z");
    for k in [
        "id",
        "title",
        "link",
        "published",
        "updated",
        "author",
        "summary",
        "content",
    ] {
        assert!(v["entries"][0].get(k).is_some(), "{k}");
    }
    let err = to_json("b.xml", &parse(&fixture("unrecognized.rss"), None, None));
    assert_eq!(err["ok"], false);
    assert!(err["error"].as_str().unwrap().contains("HTML page"));
}

#[test]
fn a_ten_mib_feed_parses() {
    let mut s = String::from("<rss version=\"2.0\"><channel><title>Big</title>");
    let mut i = 0;
    while s.len() < 10 * 1024 * 1024 {
        s.push_str(&format!("<item><title>Item {i}</title><link>http://e.org/{i}</link><description>&lt;p&gt;Text {i}&lt;/p&gt;</description></item>"));
        i += 1;
    }
    s.push_str("</channel></rss>");
    let f = parse(s.as_bytes(), None, None).unwrap();
    assert_eq!(f.entries.len(), i);
}

#[test]
fn an_atom_html_title_written_as_naked_markup_keeps_all_its_text() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">Example <a href="test.html">test</a></title><entry><id>1</id><title type="html">Entry <b>bold</b> end</title><content type="html">A <p>para</p></content></entry></feed>"#;
    let f = crate::feed::parse(doc.as_bytes(), None, None).unwrap();
    assert_eq!(f.title.as_deref(), Some("Example test"));
    assert_eq!(f.entries[0].title.as_deref(), Some("Entry bold end"));
    assert_eq!(f.entries[0].content.as_deref(), Some("A\n\npara"));
    assert!(!f.recovered);
}

#[test]
fn item_categories_are_read_once_each_from_rss_and_atom() {
    let rss = r#"<rss version="2.0"><channel><title>T</title><item><guid>1</guid><title>A</title><category>Politics</category><category domain="x">  World   news </category><category>politics</category></item></channel></rss>"#;
    let f = parse(rss.as_bytes(), None, None).unwrap();
    assert_eq!(f.entries[0].categories, vec!["Politics", "World news"]);
    let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><id>1</id><title>A</title><category term="sci" label="Science"/><category term="space"/></entry></feed>"#;
    let f = parse(atom.as_bytes(), None, None).unwrap();
    assert_eq!(f.entries[0].categories, vec!["Science", "space"]);
}

/// Found by the feed_parse fuzz target: a second XML declaration naming another encoding made
/// quick-xml panic inside feed-rs, and the feed was refused as "the feed parser crashed".
#[test]
fn a_second_xml_declaration_inside_the_feed_is_dropped_and_the_feed_read() {
    for padding in [0, 20_000] {
        let doc = format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>{}\
             <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><item><title>Kept</title>\
             <guid>k</guid></item></channel></rss>",
            " ".repeat(padding)
        );
        let f = parse(doc.as_bytes(), None, None).unwrap_or_else(|e| panic!("{padding}: {e}"));
        assert_eq!(f.entries.len(), 1, "{padding}");
        assert_eq!(f.entries[0].title.as_deref(), Some("Kept"));
        assert!(f.recovered);
    }
    // A stylesheet instruction is not a declaration, and stays.
    assert_eq!(
        drop_late("<?xml version=\"1.0\"?><?xml-stylesheet href=\"a\"?><rss/>"),
        None
    );
}

fn drop_late(s: &str) -> Option<String> {
    repair::repair(s).filter(|r| r != s)
}
