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
    match result.map_err(|f| f.error) {
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
    // The size is the point here, not the time: an unoptimised build on a busy machine can
    // take longer than the daemon's budget (tests/hostile_input.rs times the release paths).
    let limits = crate::feed::Limits {
        budget: crate::bounds::Budget::new(std::time::Duration::from_secs(600)),
        ..crate::feed::Limits::all_items()
    };
    let f = crate::feed::parse_within(s.as_bytes(), None, None, &limits).unwrap();
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

#[test]
fn every_html5_entity_numeric_references_in_any_case_and_doctype_entities_are_read() {
    let f = parse_fixture("entities_html5.rss");
    assert_eq!(f.title.as_deref(), Some("Café Français news"));
    assert_eq!(f.entries[0].title.as_deref(), Some("testing α entity"));
    // `&#146;` is Windows-1252's right quote, as browsers read it; a recursive entity stays
    // text, never expanded.
    assert_eq!(
        f.entries[0].summary.as_deref(),
        Some("don\u{2019}t ABC ♥ &lol2;")
    );
    assert_eq!(f.entries[1].title.as_deref(), Some("\u{2aa2}\u{338} ★ …"));
    assert!(f.recovered);
    assert!(!f.warnings.is_empty());
}

#[test]
fn one_unreadable_element_costs_that_element_not_the_feed() {
    // An Atom content with src and a body, and a media:description typed text/html: feed-rs
    // refuses the whole document for either.
    let f = parse_fixture("odd_elements.atom");
    let titles: Vec<&str> = f
        .entries
        .iter()
        .filter_map(|e| e.title.as_deref())
        .collect();
    assert_eq!(titles, ["First", "Second", "Third", "Fourth"]);
    assert_eq!(f.entries[0].content.as_deref(), Some("Full text"));
    assert_eq!(f.entries[1].content, None);
    assert!(f.recovered);
    assert!(
        f.warnings
            .iter()
            .any(|w| w.contains("<content type=\"text/html\" src=…>")),
        "{:?}",
        f.warnings
    );
    assert!(f.warnings.iter().any(|w| w.contains("media:description")));
    let line = to_json("x", &Ok(f));
    assert!(line["warnings"].as_array().is_some_and(|w| w.len() >= 2));
}

#[test]
fn a_namespace_in_the_wrong_case_is_read_as_the_one_meant() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/atom"><title>T</title><entry><title>E</title><id>tag:x,2024:1</id><link href="http://example.org/1"/></entry></feed>"#;
    let f = parse(doc.as_bytes(), None, None).unwrap();
    assert_eq!(f.entries.len(), 1);
    assert_eq!(f.entries[0].link.as_deref(), Some("http://example.org/1"));
    assert!(f.recovered);
}

#[test]
fn the_feed_id_and_author_and_an_entry_authors_email_and_address_are_read() {
    let f = parse(
        &fixture("model_author.atom"),
        None,
        Url::parse("http://example.org/feed.atom").ok().as_ref(),
    )
    .unwrap();
    assert_eq!(
        f.id.as_deref(),
        Some("urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6")
    );
    let owner = Person {
        name: Some("Feed Owner".into()),
        email: Some("owner@example.org".into()),
        uri: Some("http://example.org/about".into()),
    };
    assert_eq!(f.author_detail.as_ref(), Some(&owner));
    assert_eq!(f.author.as_deref(), Some("Feed Owner"));
    let jane = f.entries[0].author_detail.clone().unwrap();
    assert_eq!(jane.email.as_deref(), Some("jane@example.org"));
    assert_eq!(jane.uri.as_deref(), Some("http://example.org/jane"));
    // In parse --json: `author` stays the name, `author_detail` has all three.
    let line = to_json("x", &Ok(f));
    assert_eq!(line["entries"][0]["author"], "Jane Doe");
    assert_eq!(
        line["entries"][0]["author_detail"]["email"],
        "jane@example.org"
    );
    assert_eq!(line["author_detail"]["uri"], "http://example.org/about");
    assert_eq!(line["id"], "urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6");
}

#[test]
fn an_rdf_item_is_named_by_its_rdf_about_and_dated_by_dcterms() {
    let f = parse_fixture("model_rdf_about.rdf");
    assert_eq!(f.entries[0].id, "http://example.org/about/1");
    assert_eq!(f.entries[0].link.as_deref(), Some("http://example.org/1"));
    assert_eq!(utc(&f.entries[0].published), "2024-03-01T10:00:00Z");
    assert_eq!(utc(&f.entries[0].updated), "2024-03-02T11:00:00Z");
}

#[test]
fn a_permalink_guid_is_the_link_and_an_atom_author_in_rss_is_read_whole() {
    let f = parse_fixture("model_guid_permalink.rss");
    assert_eq!(f.entries[0].link.as_deref(), Some("http://example.org/p/1"));
    assert_eq!(f.entries[1].link, None);
    let ann = f.entries[2].author_detail.clone().unwrap();
    assert_eq!(ann.name.as_deref(), Some("Ann Lee"));
    assert_eq!(ann.email.as_deref(), Some("ann@example.org"));
    assert_eq!(ann.uri.as_deref(), Some("http://example.org/ann"));
}

#[test]
fn a_latin1_declaration_on_windows_1252_or_utf8_bytes_keeps_every_character() {
    let f = parse_fixture("latin1_declared_cp1252.rss");
    assert_eq!(
        f.entries[0].title.as_deref(),
        Some("Smart quotes: don\u{2019}t \u{201c}quote\u{201d} \u{2014} café")
    );
    let f = parse_fixture("latin1_declared_utf8.rss");
    assert_eq!(
        f.entries[0].title.as_deref(),
        Some("UTF-8 under Latin-1: don\u{2019}t café")
    );
    assert!(f.recovered);
    assert!(
        f.warnings.iter().any(|w| w.contains("UTF-8")),
        "{:?}",
        f.warnings
    );
    let f = parse_fixture("utf8_with_cp1252.rss");
    let titles: Vec<&str> = f
        .entries
        .iter()
        .filter_map(|e| e.title.as_deref())
        .collect();
    assert_eq!(
        titles,
        [
            "München \u{2014} fine",
            "Pasted: don\u{2019}t \u{201c}quote\u{201d}"
        ]
    );
}

#[test]
fn atom03_base64_and_escaped_modes_are_decoded() {
    let f = parse_fixture("atom03_modes.xml");
    assert_eq!(f.title.as_deref(), Some("Old & modes"));
    assert_eq!(f.subtitle.as_deref(), Some("Feed tagline \u{2014} decoded"));
    let e = &f.entries[0];
    assert_eq!(e.title.as_deref(), Some("Entry & Title"));
    assert_eq!(e.summary.as_deref(), Some("Bold summary"));
    assert_eq!(e.content.as_deref(), Some("Plain content"));
}

#[test]
fn atom10_content_of_a_binary_type_is_decoded_when_it_is_text() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="application/octet-stream">PHA+RmVlZCBUaXRsZTwvcD4=</title><entry><title>E</title><id>tag:x,2024:1</id><content type="application/octet-stream">aGVsbG8=</content></entry><entry><title>Image</title><id>tag:x,2024:2</id><content type="image/png">iVBORw0KGgo=</content></entry></feed>"#;
    let f = parse(doc.as_bytes(), None, None).unwrap();
    assert_eq!(f.title.as_deref(), Some("<p>Feed Title</p>"));
    assert_eq!(f.entries[0].content.as_deref(), Some("hello"));
    assert_eq!(f.entries.len(), 2);
}

#[test]
fn content_location_then_the_fetched_url_are_the_outer_bases() {
    let fetched = Url::parse("https://example.org/feeds/main.xml").unwrap();
    let base = document_base(&fetched, Some("/archive/2024/feed.xml"));
    assert_eq!(base.as_str(), "https://example.org/archive/2024/feed.xml");
    assert_eq!(document_base(&fetched, None), fetched);
    assert_eq!(document_base(&fetched, Some("javascript:x")), fetched);
    // A relative xml:base inside the document resolves against the outer base, and a
    // relative id against the xml:base in scope.
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="posts/"><title>T</title><entry><title>E</title><id>1</id><link href="one.html"/></entry></feed>"#;
    let f = parse(doc.as_bytes(), None, Some(&base)).unwrap();
    assert_eq!(
        f.entries[0].link.as_deref(),
        Some("https://example.org/archive/2024/posts/one.html")
    );
    assert_eq!(f.entries[0].id, "https://example.org/archive/2024/posts/1");
}

#[test]
fn a_date_that_cannot_be_read_costs_the_date_and_says_so() {
    let doc = "<rss version=\"2.0\"><channel><title>T</title><item><title>A</title><link>http://example.org/a</link><pubDate>the day after tomorrow</pubDate></item><item><title>B</title><link>http://example.org/b</link><pubDate>Mon, 02 Jan 2006 15:04:05 GMT</pubDate></item></channel></rss>";
    let f = parse(doc.as_bytes(), None, None).unwrap();
    assert_eq!(f.entries.len(), 2);
    assert_eq!(f.entries[0].published, None);
    assert_eq!(utc(&f.entries[1].published), "2006-01-02T15:04:05Z");
    assert!(
        f.warnings
            .iter()
            .any(|w| w.starts_with("1 dates could not be read")),
        "{:?}",
        f.warnings
    );
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
