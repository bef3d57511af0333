//! Inputs anyone can publish that cost minutes of CPU or most of the memory before issue 18:
//! each is generated here, must be read well within a generous bound in a debug build, and
//! must still let the good content through where there is some.

mod support;

use std::time::{Duration, Instant};

use feedwatch::bounds::Budget;
use feedwatch::{extract, feed};
use support::*;

/// Generous for a debug build on a busy machine: each of these took minutes in a debug build
/// on the landed code (15 s and more in a release build).
const BOUND: Duration = Duration::from_secs(15);

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < BOUND, "{what} took {took:?}");
    out
}

const RDF_HEAD: &str = r#"<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel><title>Kept</title><link>http://example.org/</link></channel>"#;

/// 24–36 s on the landed code: one search to the end of the document per unclosed item.
#[test]
fn an_rdf_feed_of_items_never_closed_parses_in_linear_time() {
    let doc = format!("{RDF_HEAD}{}", "<item>".repeat(50_000));
    assert!(doc.len() > 300_000);
    let parsed = timed("50,000 unclosed RDF items", || {
        feed::parse(doc.as_bytes(), None, None)
    })
    .unwrap();
    assert_eq!(parsed.title.as_deref(), Some("Kept"));
    assert!(parsed.recovered);
}

/// 15 s for 1.15 MB on the landed code: the same search, per `type="html"` element.
#[test]
fn atom_html_text_elements_left_open_parse_in_linear_time() {
    let head = r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>"#;
    let doc = format!(
        "{head}{}",
        r#"<entry><title type="html">x<b>y"#.repeat(40_000)
    );
    assert!(doc.len() > 1_150_000);
    // Broken beyond repair, or read: either way, quickly.
    let _ = timed("40,000 open html titles", || {
        feed::parse(doc.as_bytes(), None, None)
    });
}

/// Many declarations before the root: each looked for a '[' to the end of the document.
#[test]
fn thousands_of_declarations_before_the_root_are_read_in_linear_time() {
    let doc = format!(
        "{}<rss version=\"2.0\"><channel><title>D</title></channel></rss>",
        "<!x>".repeat(200_000)
    );
    let _ = timed("200,000 declarations", || {
        feed::parse(doc.as_bytes(), None, None)
    });
}

/// 30–36 s on the landed code (html5ever's tree builder checks scope down the whole stack of
/// open elements for every `<div>`).
#[test]
fn a_page_of_100000_nested_divs_extracts_quickly_with_its_text() {
    let page = format!(
        "<html><head><title>Deep</title></head><body>{}<p>{}</p></body></html>",
        "<div class=a>".repeat(100_000),
        "The article text survives the cut. ".repeat(20)
    );
    assert!(page.len() > 1_100_000);
    let article = timed("100,000 nested divs", || {
        extract::extract(page.as_bytes(), None, None, &[])
    });
    assert!(
        article.text.contains("The article text survives the cut."),
        "{article:?}"
    );
}

/// 131 s on the landed code (the tokenizer compares each attribute with all before it).
#[test]
fn an_element_with_500000_attributes_extracts_quickly_with_its_text() {
    let attrs: String = (0..500_000).map(|i| format!(" a{i}")).collect();
    let page = format!(
        "<html><body><article><p{attrs}>{}</p></article></body></html>",
        "Words after a hostile tag still count. ".repeat(20)
    );
    let article = timed("500,000 attributes", || {
        extract::extract(page.as_bytes(), None, None, &[])
    });
    assert!(
        article
            .text
            .contains("Words after a hostile tag still count.")
    );
}

/// A feed's description is sanitised with ammonia, on html5ever too: 200,000 nested divs made
/// `once` take 226 s with full_article = false.
#[test]
fn feed_html_of_200000_nested_divs_is_sanitised_quickly_with_its_text() {
    let html = format!("{}<p>Still here</p>", "<div>".repeat(200_000));
    let clean = timed("sanitising 200,000 nested divs", || {
        feed::sanitize_html(&html)
    });
    assert!(clean.contains("Still here"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_stores_an_item_whose_description_nests_200000_divs() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    let description = format!("{}<p>Deep story text</p>", "<div>".repeat(200_000))
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let body = format!(
        "<rss version=\"2.0\"><channel><title>Deep</title><item><guid>d1</guid><title>Deep story</title><link>{base}/d1</link><description>{description}</description></item></channel></rss>"
    );
    site.route(
        "/deep.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: body.into_bytes(),
            etag: None,
        },
    );
    let config = write_config(
        dir.path(),
        &format!("{base}/deep.xml"),
        "full_article = false\n",
    );
    let start = Instant::now();
    let out = feedwatch(&config, &["once"]).await;
    let took = start.elapsed();
    assert!(
        text(&out.stdout).contains("feed: ok, 1 new stories"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(took < Duration::from_secs(30), "once took {took:?}");
}

fn write_config(dir: &std::path::Path, url: &str, feed_extra: &str) -> std::path::PathBuf {
    let c = format!(
        "[daemon]\ndatabase = \"{}\"\nallow_private_addresses = true\nfetch_timeout = \"10s\"\n\n[[feed]]\nname = \"feed\"\nurl = \"{url}\"\n{feed_extra}",
        dir.join("feedwatch.db").display()
    );
    let path = dir.join("feedwatch.toml");
    std::fs::write(&path, c).unwrap();
    path
}

/// A parse or extraction past its budget ends with an error naming the limit, instead of
/// running on: the backstop for whatever the linear passes miss.
#[test]
fn a_spent_budget_ends_a_parse_and_an_extraction() {
    let doc = rss("Budget", &[("b1", "One", "https://example.org/1")]);
    let spent = Budget::new(Duration::ZERO);
    std::thread::sleep(Duration::from_millis(5));
    let limits = feed::Limits {
        max_items: usize::MAX,
        budget: spent,
    };
    let err = feed::parse_within(&doc, None, None, &limits).unwrap_err();
    assert!(matches!(err, feed::FeedError::OutOfTime(_)), "{err}");
    assert!(err.to_string().contains("in time"), "{err}");
    let page = b"<html><body><article><p>Text</p></article></body></html>";
    let article = extract::extract_within(page, None, None, &[], &spent);
    assert!(article.text.is_empty());
    assert!(
        article
            .not_article
            .as_deref()
            .is_some_and(|w| w.contains("in time")),
        "{article:?}"
    );
}

/// One 10 MB description needed 656 MB in topic and dedup preparation: the feed stage keeps a
/// bounded part of each field.
#[test]
fn a_huge_description_is_cut_to_a_bounded_text() {
    let words = "word ".repeat(600_000);
    let doc = format!(
        "<rss version=\"2.0\"><channel><title>Big</title><item><guid>b</guid><title>Big</title><description>{words}</description></item></channel></rss>"
    );
    let parsed = timed("a 3 MB description", || {
        feed::parse(doc.as_bytes(), None, None)
    })
    .unwrap();
    let e = &parsed.entries[0];
    let summary = e.summary.as_deref().unwrap();
    assert!(summary.starts_with("word word"));
    assert!(summary.len() <= feed::normalise::MAX_TEXT_BYTES);
    assert!(e.content_html.as_deref().unwrap().len() <= feed::normalise::MAX_FIELD_BYTES);
}

/// Feed items for the caps: `n` items dated one minute apart, oldest first in the document,
/// each linking to a page on the test server.
fn dated_items(base: &str, n: usize) -> String {
    let mut s = String::from(
        "<rss version=\"2.0\"><channel><title>Many</title><link>https://example.org/</link>",
    );
    for i in 0..n {
        let d = chrono::DateTime::from_timestamp(1_700_000_000 + i as i64 * 60, 0).unwrap();
        s.push_str(&format!(
            "<item><guid>g{i}</guid><title>Item number {i}</title><link>{base}/p/{i}</link><pubDate>{}</pubDate></item>",
            d.to_rfc2822()
        ));
    }
    s.push_str("</channel></rss>");
    s
}

/// A feed of 50,000 tiny items (8 MB): the poll takes the newest `max_items_per_poll` and stores
/// those, quickly (300,000 such items took `once` past 120 s and 533 MB before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_takes_the_newest_items_up_to_its_cap() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/many.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: dated_items(&base, 50_000).into_bytes(),
            etag: None,
        },
    );
    let config = write_config(
        dir.path(),
        &format!("{base}/many.xml"),
        "full_article = false\nmax_items_per_poll = 25\n",
    );
    let start = Instant::now();
    let out = feedwatch(&config, &["once"]).await;
    let took = start.elapsed();
    assert!(
        text(&out.stdout).contains("feed: ok, 25 new stories"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(took < Duration::from_secs(30), "once took {took:?}");
    let stories = feedwatch(&config, &["stories", "--since", "36500d"]).await;
    let listed = text(&stories.stdout);
    assert!(listed.contains("Item number 49999"), "{listed}");
    assert!(listed.contains("Item number 49975"));
    assert!(!listed.contains("Item number 49974"));
    assert!(site.requests_to("/p/49999").is_empty(), "no article pages");
}

/// Article pages are fetched for the newest items up to the poll's cap; the rest keep the
/// feed's text and say why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_fetches_article_pages_up_to_its_cap() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/few.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: dated_items(&base, 10).into_bytes(),
            etag: None,
        },
    );
    for i in 0..10 {
        site.route(
            &format!("/p/{i}"),
            Route::Body {
                content_type: "text/html",
                body: format!(
                    "<html><body><article><p>{}</p></article></body></html>",
                    "Page text. ".repeat(50)
                )
                .into_bytes(),
                etag: None,
            },
        );
    }
    let config = write_config(
        dir.path(),
        &format!("{base}/few.xml"),
        "max_articles_per_poll = 3\n",
    );
    let out = feedwatch(&config, &["once"]).await;
    assert!(
        text(&out.stdout).contains("feed: ok, 10 new stories"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let fetched: Vec<usize> = (0..10)
        .filter(|i| !site.requests_to(&format!("/p/{i}")).is_empty())
        .collect();
    assert_eq!(fetched, [7, 8, 9], "the newest three");
    assert!(text(&out.stderr).contains("max_articles_per_poll"));
}

/// "Billion laughs": entities declared in terms of each other, ten deep. Declared entities are
/// expanded once and never recursively, within a fixed budget of bytes.
#[test]
fn nested_doctype_entities_are_never_expanded_recursively() {
    let mut dtd = String::from("<!DOCTYPE rss [<!ENTITY lol0 \"lol\">");
    for i in 1..10 {
        let prev = format!("&lol{};", i - 1);
        dtd.push_str(&format!("<!ENTITY lol{i} \"{}\">", prev.repeat(10)));
    }
    dtd.push_str("<!ENTITY big \"");
    dtd.push_str(&"x".repeat(4000));
    dtd.push_str("\">]>");
    let uses = "&lol9;&big;".repeat(20_000);
    let doc = format!(
        "{dtd}<rss version=\"2.0\"><channel><title>Laughs</title><item><title>&lol0; t</title><description>{uses}</description></item></channel></rss>"
    );
    let parsed = timed("nested entities", || {
        feed::parse(doc.as_bytes(), None, None)
    })
    .unwrap();
    assert_eq!(parsed.entries[0].title.as_deref(), Some("lol t"));
    // The expansion stops at 1 MiB of added bytes; the stored text is bounded besides.
    let summary = parsed.entries[0].summary.clone().unwrap_or_default();
    assert!(
        summary.len() <= 1024 * 1024 + doc.len(),
        "{}",
        summary.len()
    );
    assert!(parsed.warnings.iter().any(|w| w.contains("DOCTYPE")));
}

/// Every entry with an element feed-rs cannot read, each of another type: two rounds of
/// leaving elements out (that kind, then every element of that name), not one per entry.
#[test]
fn thousands_of_unreadable_elements_cost_a_few_rereads() {
    let head = r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>"#;
    let mut doc = String::from(head);
    for i in 0..20_000 {
        doc.push_str(&format!(
            "<entry><title>E{i}</title><id>tag:x,2024:{i}</id><content src=\"http://x/{i}\" type=\"bad/{i}(\">body</content></entry>"
        ));
    }
    doc.push_str("</feed>");
    let parsed = timed("20,000 odd content elements", || {
        feed::parse(doc.as_bytes(), None, None)
    })
    .unwrap();
    assert_eq!(parsed.entries.len(), 20_000);
    assert_eq!(parsed.entries[19_999].title.as_deref(), Some("E19999"));
}
