//! Behaviour of the whole article stage on the fixture pages and on small pages of our own.

use super::*;

fn page(html: &str) -> Article {
    extract(html.as_bytes(), None, None, &[])
}

fn rendered(a: &Article) -> String {
    format!("{}\n\n{}\n", a.title.as_deref().unwrap_or_default(), a.text)
}

#[test]
fn the_tome_fixture_extracts_exactly() {
    let a = extract(
        include_bytes!("../../tests/fixtures/tome-iraq-troops.html"),
        None,
        None,
        &[],
    );
    assert_eq!(
        rendered(&a),
        include_str!("../../tests/fixtures/tome-iraq-troops.expected.txt")
    );
    assert_eq!(a.site_name.as_deref(), Some("TOME"));
    assert_eq!(a.not_article, None);
}

#[test]
fn the_wire_fixture_extracts_exactly() {
    let a = extract(
        include_bytes!("../../tests/fixtures/wire-iraq-troops.html"),
        None,
        None,
        &[],
    );
    assert_eq!(
        rendered(&a),
        include_str!("../../tests/fixtures/wire-iraq-troops.expected.txt")
    );
    assert_eq!(a.byline.as_deref(), Some("Staff reporter"));
    assert_eq!(a.site_name.as_deref(), Some("Daily Wire Service"));
}

fn fixture(name: &str) -> Article {
    let path = format!(
        "{}/tests/fixtures/extract/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap();
    extract(
        &bytes,
        None,
        Some(&Url::parse("https://courier.example/city/story").unwrap()),
        &[],
    )
}

const P1: &str = "The council voted on Tuesday to extend the night bus network";
const P2: &str = "Officials said the first routes would open in the spring";
const P3: &str = "Residents in the outer districts welcomed the decision";

fn paragraphs(a: &Article) -> Vec<&str> {
    a.text.split("\n\n").collect()
}

#[test]
fn json_ld_gives_headline_authors_date_publisher_image_and_language() {
    let a = fixture("jsonld.html");
    assert_eq!(
        a.title.as_deref(),
        Some("Night buses reach three new districts")
    );
    assert_eq!(a.byline.as_deref(), Some("Ana Ruiz, Ben Okafor"));
    assert_eq!(
        a.published.unwrap().to_rfc3339(),
        "2024-03-05T08:30:00+00:00"
    );
    assert_eq!(a.site_name.as_deref(), Some("Example Gazette"));
    assert_eq!(
        a.image.as_deref(),
        Some("https://gazette.example/img/bus.jpg")
    );
    assert_eq!(a.lang.as_deref(), Some("en-GB"));
}

#[test]
fn json_ld_article_body_stands_in_for_a_script_rendered_page() {
    let a = fixture("jsonld.html");
    assert!(a.text.starts_with(P1), "{}", a.text);
    assert!(a.text.contains(P2));
    assert!(!a.text.contains("Loading"));
}

#[test]
fn opengraph_gives_title_without_suffix_site_date_locale_and_absolute_urls() {
    let a = fixture("opengraph.html");
    assert_eq!(
        a.title.as_deref(),
        Some("Night buses reach three new districts")
    );
    assert_eq!(a.site_name.as_deref(), Some("The Courier"));
    assert_eq!(
        a.url.as_deref(),
        Some("https://courier.example/city/night-buses")
    );
    assert_eq!(
        a.image.as_deref(),
        Some("https://courier.example/img/bus.jpg")
    );
    assert_eq!(a.lang.as_deref(), Some("en-GB"));
    assert_eq!(
        a.published.unwrap().to_rfc3339(),
        "2024-03-05T08:30:00+00:00"
    );
}

#[test]
fn meta_author_time_element_html_lang_and_canonical_link_are_read() {
    let a = fixture("metatags.html");
    assert_eq!(a.byline.as_deref(), Some("Clara Weiss"));
    assert_eq!(
        a.published.unwrap().to_rfc3339(),
        "2024-03-05T10:15:00+00:00"
    );
    assert_eq!(a.lang.as_deref(), Some("de-AT"));
    assert_eq!(
        a.url.as_deref(),
        Some("https://courier.example/city/night-buses?ref=home")
    );
    assert!(
        !a.text.contains("5 March"),
        "the dateline is not body text: {}",
        a.text
    );
}

#[test]
fn the_headline_is_not_repeated_in_the_body() {
    let a = fixture("opengraph.html");
    assert!(a.text.starts_with(P1), "{}", a.text);
    assert!(!a.text.contains("Night buses reach"));
}

#[test]
fn link_dense_blocks_lose_to_prose_and_are_dropped_from_it() {
    let a = fixture("link-density.html");
    assert_eq!(paragraphs(&a).len(), 3, "{}", a.text);
    assert!(!a.text.contains("Weather warning"));
    assert!(!a.text.contains("Bus strike"));
}

#[test]
fn share_newsletter_promo_related_comment_and_cookie_blocks_are_dropped() {
    let a = fixture("boilerplate.html");
    let paras = paragraphs(&a);
    assert_eq!(paras.len(), 3, "{}", a.text);
    assert!(paras[0].starts_with(P1) && paras[1].starts_with(P2) && paras[2].starts_with(P3));
}

#[test]
fn itemprop_article_body_wins_over_a_similar_block() {
    let a = fixture("semantic.html");
    assert!(a.text.starts_with(P1), "{}", a.text);
    assert!(!a.text.contains("Opinion"));
}

#[test]
fn text_before_the_headline_is_not_body() {
    let a = fixture("headline.html");
    assert!(a.text.starts_with(P1), "{}", a.text);
    assert!(!a.text.contains("mayor"));
}

#[test]
fn headings_and_list_items_are_paragraphs_of_their_own() {
    let a = fixture("structure.html");
    let paras = paragraphs(&a);
    assert_eq!(paras[1], "What changes");
    assert_eq!(paras[2], "Route N4 runs every 20 minutes");
    assert_eq!(paras[3], "Route N9 reaches the airport");
    assert!(
        a.html.contains("<h2>What changes</h2>")
            && a.html.contains("<li>Route N9 reaches the airport</li>")
    );
}

#[test]
fn a_site_rule_picks_the_content_and_removes_what_it_names() {
    let bytes = std::fs::read(format!(
        "{}/tests/fixtures/extract/site-rule.html",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let rule = SiteRule {
        host: "courier.example".into(),
        content: Some("div.story".into()),
        remove: vec![".ad-slot-x".into()],
    };
    let url = Url::parse("https://www.courier.example/x").unwrap();
    let a = extract(&bytes, None, Some(&url), &[rule]);
    assert_eq!(paragraphs(&a).len(), 2, "{}", a.text);
    assert!(a.text.starts_with(P1));
    let without_rule = extract(&bytes, None, Some(&url), &[]);
    assert!(
        without_rule.text.contains("teaser"),
        "the rule, not the general scoring, chose the story"
    );
}

#[test]
fn a_declared_legacy_charset_is_decoded() {
    let a = fixture("latin1.html");
    assert_eq!(a.title.as_deref(), Some("Café prices"));
    assert!(a.text.contains("café crème"));
}

#[test]
fn a_paywall_stub_is_flagged() {
    assert!(
        fixture("paywall.html")
            .not_article
            .unwrap()
            .starts_with("paywall")
    );
}

#[test]
fn a_bot_challenge_is_flagged() {
    assert!(
        fixture("challenge.html")
            .not_article
            .unwrap()
            .starts_with("bot challenge")
    );
}

#[test]
fn a_login_wall_is_flagged() {
    assert!(
        fixture("login.html")
            .not_article
            .unwrap()
            .starts_with("login wall")
    );
}

#[test]
fn an_empty_app_shell_is_flagged() {
    assert!(
        fixture("spa.html")
            .not_article
            .unwrap()
            .starts_with("empty app shell")
    );
}

#[test]
fn an_article_is_not_flagged() {
    assert_eq!(fixture("boilerplate.html").not_article, None);
}

#[test]
fn the_html_is_sanitised() {
    let a = page(
        "<html><body><article><p>A long enough paragraph about <script>alert(1)</script>the night bus network and its <b onclick=\"x()\">new</b> routes in the city.</p></article></body></html>",
    );
    assert!(
        !a.html.contains("script") && !a.html.contains("onclick"),
        "{}",
        a.html
    );
    assert!(a.html.starts_with("<p>A long enough paragraph"));
}

#[test]
fn gzip_pages_are_unpacked() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"<p>hello</p>").unwrap();
    let packed = gz.finish().unwrap();
    assert!(is_gzip(&packed));
    assert_eq!(page_bytes(packed).unwrap(), b"<p>hello</p>");
}

#[test]
fn deeply_nested_pages_do_not_overflow_the_stack() {
    let html = format!(
        "{}<p>deep text that is long enough to count as a paragraph of prose</p>",
        "<div>".repeat(5_000)
    );
    let a = page(&html);
    assert!(a.text.contains("deep text"));
}

#[test]
fn a_script_rendered_page_is_read_from_its_noscript_fallback() {
    let a = fixture("noscript.html");
    assert_eq!(paragraphs(&a).len(), 3, "{}", a.text);
    assert!(a.text.starts_with("With the 2024 edition"));
    assert_eq!(a.not_article, None);
}

#[test]
fn a_cookie_dialog_longer_than_the_article_is_not_the_article() {
    let a = fixture("cookie-dialog.html");
    let paras = paragraphs(&a);
    assert_eq!(paras.len(), 3, "{}", a.text);
    assert!(paras[0].starts_with(P1) && paras[2].starts_with(P3));
    assert!(!a.text.contains("cookies"));
}

#[test]
fn a_comment_thread_longer_than_the_article_is_left_out() {
    let a = fixture("long-comments.html");
    let paras = paragraphs(&a);
    assert_eq!(paras.len(), 3, "{}", a.text);
    assert!(!a.text.contains("Reader"));
}

#[test]
fn on_a_forum_thread_the_comments_are_the_content() {
    let a = fixture("forum-thread.html");
    assert!(
        a.text.contains("Post 0:") && a.text.contains("Post 5:"),
        "{}",
        a.text
    );
}

#[test]
fn a_section_heading_named_in_the_title_is_not_taken_for_the_headline() {
    let a = fixture("section-h1.html");
    assert!(a.text.starts_with(P1), "{}", a.text);
    assert!(a.text.contains(P3));
}

#[test]
fn the_h1_carrying_the_title_with_more_beats_a_later_heading_repeating_it() {
    let a = fixture("headline-with-extra.html");
    let paras = paragraphs(&a);
    assert!(paras[0].starts_with(P1), "{}", a.text);
    assert!(paras.iter().any(|p| p.starts_with(P3)), "{}", a.text);
}

#[test]
fn a_headline_below_the_article_does_not_discard_it() {
    let a = fixture("headline-below.html");
    let paras = paragraphs(&a);
    assert!(paras[0].starts_with(P1), "{}", a.text);
    assert!(paras.iter().any(|p| p.starts_with(P3)), "{}", a.text);
}

#[test]
fn a_product_grid_page_gives_every_card_with_its_price() {
    let a = fixture("product-grid.html");
    assert!(a.text.contains("Brass desk lamp model 1"), "{}", a.text);
    assert!(a.text.contains("Brass desk lamp model 8"), "{}", a.text);
    assert!(a.text.contains("$28.95"), "{}", a.text);
    assert!(!a.text.contains("About us"), "{}", a.text);
}

#[test]
fn an_article_keeps_its_body_over_a_longer_grid_of_teasers() {
    let a = fixture("article-with-teasers.html");
    let paras = paragraphs(&a);
    assert_eq!(paras.len(), 3, "{}", a.text);
    assert!(paras[0].starts_with(P1) && paras[2].starts_with(P3));
}

#[test]
fn a_privacy_dialog_is_not_the_content_of_a_page_without_an_article() {
    let a = fixture("listing-with-dialog.html");
    assert!(!a.text.contains("partners"), "{}", a.text);
    assert!(a.text.contains("Walnut bookshelf size 8"), "{}", a.text);
}

#[test]
fn a_product_page_gives_its_description_without_the_longer_reviews() {
    let a = fixture("product-reviews.html");
    assert!(a.text.contains("solid walnut"), "{}", a.text);
    assert!(a.text.contains("paper cord that stays firm"), "{}", a.text);
    assert!(!a.text.contains("grandmother"), "{}", a.text);
    assert!(!a.text.contains("customers say"), "{}", a.text);
}

#[test]
fn a_thread_drops_the_posters_labels_and_counts_and_keeps_the_posts() {
    let a = fixture("forum-poster-labels.html");
    assert!(
        a.text.contains("Reply 0:") && a.text.contains("Reply 7:"),
        "{}",
        a.text
    );
    for furniture in [
        "Joined",
        "Feb 8, 2019",
        "Messages",
        "1203",
        "Reaction score",
        "Senior Member",
        "Member",
        "Last edited",
    ] {
        assert!(!a.text.contains(furniture), "{furniture} in {}", a.text);
    }
}

#[test]
fn one_label_repeated_in_a_list_is_not_a_thread() {
    let a = page(
        "<html><body><article><h1>Where to vote</h1><p>The council listed the polling stations for the vote on the night bus network, open from seven in the morning.</p>\
         <ul><li>Location: Town hall</li><li>Location: Library</li><li>Location: Station</li></ul></article></body></html>",
    );
    assert!(a.text.contains("Location: Library"), "{}", a.text);
}

#[test]
fn on_a_declared_discussion_the_replies_beside_the_opening_post_are_content() {
    let a = fixture("discussion-replies.html");
    assert!(a.text.starts_with("Opening post:"), "{}", a.text);
    assert!(
        a.text.contains("Reply 0:") && a.text.contains("Reply 3:"),
        "{}",
        a.text
    );
}

#[test]
fn on_a_question_page_the_answers_stay_and_the_remarks_under_them_go() {
    let a = fixture("qa-comments.html");
    assert!(a.text.contains("Question:"), "{}", a.text);
    assert!(
        a.text.contains("Answer 0:") && a.text.contains("Answer 2:"),
        "{}",
        a.text
    );
    assert!(!a.text.contains("Remark"), "{}", a.text);
}

#[test]
fn table_rows_after_the_headline_are_body() {
    let a = fixture("table-rows.html");
    assert!(a.text.contains("N4 The council voted"), "{}", a.text);
    assert!(a.text.contains("N12 Residents"), "{}", a.text);
}

#[test]
fn a_collection_page_gives_its_introduction_and_its_cards() {
    let a = fixture("collection-intro.html");
    assert!(a.text.contains("built in the workshop"), "{}", a.text);
    assert!(a.text.contains("Oak side table no. 1"), "{}", a.text);
    assert!(a.text.contains("Oak side table no. 9"), "{}", a.text);
    assert!(a.text.contains("$109.00"), "{}", a.text);
    assert!(!a.text.contains("About us"), "{}", a.text);
}

#[test]
fn a_question_page_drops_the_answer_signatures_and_ends_before_related_questions() {
    let answer = |i: usize| {
        format!(
            "<div class=\"answer\"><p>Answer {i}: a bare except also catches the interrupt and the exit, so the program cannot be stopped cleanly and real errors vanish.</p>\
             <div class=\"signature\">answered Mar {i}, 2020 at 10:04</div></div>"
        )
    };
    let html = format!(
        "<html><body><main><h1>Why is except: pass bad?</h1>{}{}{}<h2>Related questions</h2>\
         <p>How do I catch several exceptions in one line, and is that ever a good idea for a script that runs unattended?</p></main></body></html>",
        answer(1),
        answer(2),
        answer(3)
    );
    let a = page(&html);
    assert!(a.text.contains("Answer 3:"), "{}", a.text);
    assert!(!a.text.contains("answered"), "{}", a.text);
    assert!(!a.text.contains("several exceptions"), "{}", a.text);
}

#[test]
fn the_names_of_a_pages_own_tools_are_not_body() {
    let a = page(&format!(
        "<html><body><main><h1>Night buses</h1><h2>On this page</h2><ul><li><a href=\"#routes\">Routes</a></li><li><a href=\"#fares\">Fares</a></li></ul>\
         <p>{P1}, the transport office said in a statement on its site.</p><p>{P2}, with more to follow later in the year.</p>\
         <p>Was this page helpful?</p><p>Edit this page</p></main></body></html>"
    ));
    assert!(a.text.starts_with(P1), "{}", a.text);
    assert!(a.text.contains(P2), "{}", a.text);
    for tool in ["On this page", "helpful", "Edit this page"] {
        assert!(!a.text.contains(tool), "{tool} in {}", a.text);
    }
}

#[test]
fn a_thread_of_short_posts_taken_as_cards_loses_the_poster_furniture_too() {
    let a = fixture("short-answers.html");
    assert!(
        a.text.contains("Answer 0:") && a.text.contains("Answer 7:"),
        "{}",
        a.text
    );
    assert!(!a.text.contains("answered"), "{}", a.text);
    assert!(!a.text.contains("reputation"), "{}", a.text);
}

#[test]
fn a_more_from_heading_late_in_the_body_ends_it() {
    let a = page(&format!(
        "<html><body><article><h1>Night buses</h1><p>{P1}, the transport office said in a statement.</p>\
         <p>{P2}, with more routes to follow later in the year.</p><p>{P3}, who had asked for the service for years.</p>\
         <h3>More from the city desk</h3><p>A new library opens in the old market hall after two years of building work there.</p></article></body></html>"
    ));
    assert!(a.text.contains(P3), "{}", a.text);
    assert!(!a.text.contains("library"), "{}", a.text);
}

#[test]
fn cards_with_prices_and_text_beside_a_buying_guide_are_kept_with_it() {
    let a = fixture("collection-guide.html");
    assert!(a.text.contains("measure the arm first"), "{}", a.text);
    assert!(a.text.contains("Oak side table no. 1"), "{}", a.text);
    assert!(a.text.contains("$109.00"), "{}", a.text);
}

#[test]
fn an_article_laid_out_twice_is_given_once_and_a_repeated_quote_stays() {
    let quote = "\"We waited ten years for a bus after midnight,\" one resident told the meeting, to applause from the back of the hall.";
    let paras = [
        format!("{P1} to three districts that campaigners had named in every budget debate."),
        format!("{P2}, with drivers recruited from the existing daytime fleet."),
        "Residents in the outer districts welcomed the decision but warned that the timetable still left long gaps.".to_string(),
        quote.to_string(),
    ];
    let copy: String = paras.iter().map(|p| format!("<p>{p}</p>")).collect();
    let a = page(&format!(
        "<html><body><article><h1>Night buses</h1><div class=\"desktop\">{copy}<blockquote><p>{quote}</p></blockquote><p>The first buses run in April, the office said.</p></div>\
         <div class=\"mobile\">{copy}</div></article></body></html>"
    ));
    for p in &paras[..3] {
        assert_eq!(a.text.matches(p.as_str()).count(), 1, "{p} in {}", a.text);
    }
    assert_eq!(a.text.matches(quote).count(), 2, "{}", a.text);
}

#[test]
fn a_highlighted_code_blocks_comments_do_not_pass_for_a_comment_section() {
    let line = |c: &str, code: &str| {
        format!(
            "<span class=\"hljs-comment\"># {c}, which is what most people want most of the time</span>\n{code}\n"
        )
    };
    let code: String = [
        ("start a repository", "git init"),
        ("stage every change", "git add -A"),
        ("record the change", "git commit -m msg"),
        ("send it upstream", "git push"),
        ("fetch other people's work", "git pull"),
    ]
    .iter()
    .map(|(c, code)| line(c, code))
    .collect();
    let a = page(&format!(
        "<html><body><article><h1>Git basics</h1><div>\
         <p>I first used git on my own projects, keeping local repositories to track them before I ever worked with anyone else.</p>\
         <p>{P1}; the same goes for version control, which repays a little study.</p>\
         <pre><code class=\"hljs\">{code}</code></pre></div></article>\
         <div class=\"comments\"><p>Great post, thanks for writing it up.</p></div></body></html>"
    ));
    assert!(a.text.contains("git init"), "{}", a.text);
    assert!(a.text.contains("# stage every change"), "{}", a.text);
    assert!(a.text.contains("I first used git"), "{}", a.text);
    assert!(!a.text.contains("Great post"), "{}", a.text);
}

#[test]
fn a_site_name_after_a_bullet_or_a_tilde_is_cut_from_the_headline() {
    for sep in ["•", "~"] {
        let a = page(&format!(
            "<html><head><title>A brief intro to git {sep} Cory's notes</title></head><body><article>\
             <h1>A brief intro to git</h1><p>{P1}, and this is how version control began for me.</p></article></body></html>"
        ));
        assert_eq!(a.title.as_deref(), Some("A brief intro to git"), "{sep}");
    }
}

#[test]
fn a_post_with_a_long_comment_thread_inside_its_container_is_given_whole() {
    let post: String = (1..=6)
        .map(|i| format!("<p>{P1}, and paragraph {i} of the post goes on to explain what the change means for the outer districts.</p>"))
        .collect();
    let comments: String = (1..=30)
        .map(|i| format!("<li class=\"comment\"><p>Reader {i} writes: I have waited years for this and I still think the timetable leaves long gaps after two.</p></li>"))
        .collect();
    let a = page(&format!(
        "<html><body><div class=\"postarea\"><h1>Night buses</h1>{post}\
         <div id=\"comments\" class=\"comments-area\"><h3>30 Comments</h3><ol>{comments}</ol></div></div></body></html>"
    ));
    for i in 1..=6 {
        assert!(
            a.text.contains(&format!("paragraph {i} of the post")),
            "{i}: {}",
            a.text
        );
    }
    assert!(!a.text.contains("Reader"), "{}", a.text);
}

#[test]
fn a_read_this_next_heading_ends_the_body_even_before_a_long_list_of_teasers() {
    let teasers: String = (1..=8)
        .map(|i| format!("<h3>Teaser {i}</h3><p>Another story {i} about the city, with enough of its opening to fill a line or two of the page.</p>"))
        .collect();
    let a = page(&format!(
        "<html><body><article><h1>Night buses</h1><p>{P1} to three districts that campaigners named.</p>\
         <p>{P2}, with drivers recruited from the existing daytime fleet.</p>\
         <h2>Read this next</h2>{teasers}</article></body></html>"
    ));
    assert!(a.text.contains(P2), "{}", a.text);
    assert!(!a.text.contains("Teaser"), "{}", a.text);
    assert!(!a.text.contains("Read this next"), "{}", a.text);
}

#[test]
fn a_service_page_made_of_sections_gives_them_all_not_only_its_faq() {
    let a = fixture("service-sections.html");
    assert!(a.text.contains("one trusted copy"), "{}", a.text);
    assert!(a.text.contains("end to end"), "{}", a.text);
    assert!(a.text.contains("while we watch"), "{}", a.text);
    assert!(!a.text.contains("sector number"), "{}", a.text);
}

#[test]
fn a_more_on_heading_late_in_the_body_is_a_section_of_it() {
    let a = page(&format!(
        "<html><body><article><h1>Night buses</h1><p>{P1}, the transport office said in a statement.</p>\
         <p>{P2}, with more routes to follow later in the year.</p><p>{P3}, who had asked for the service for years.</p>\
         <h2>More on the fares</h2><p>A single night ticket costs the same as a day ticket, and weekly passes are valid on every route.</p></article></body></html>"
    ));
    assert!(a.text.contains("weekly passes"), "{}", a.text);
}

#[test]
fn a_see_also_note_late_in_a_manual_page_is_part_of_it() {
    let a = page(&format!(
        "<html><body><main><h1>Night bus timetables</h1><p>{P1}, and the timetable lists every stop on each route.</p>\
         <p>{P2}; each route has its own page with the first and last departures.</p><p>{P3}, so the outer stops come first.</p>\
         <p>See also</p><p>The fares page, which explains how a night ticket is priced against a day ticket and a weekly pass.</p>\
         <h2>Printing a timetable</h2><p>Every timetable page has a printable version laid out on a single sheet of paper.</p></main></body></html>"
    ));
    assert!(a.text.contains("single sheet"), "{}", a.text);
}

#[test]
fn a_bare_response_label_in_an_interview_does_not_end_it() {
    let a = page(&format!(
        "<html><body><article><h1>Night buses: the planner answers</h1><p>{P1}, and we asked the planner why it took so long.</p>\
         <p>{P2}, she said, once the drivers had agreed to the new shifts.</p><p>{P3}; we asked what comes next.</p>\
         <p>Response:</p><p>The next step is a late tram on the river line, which the council will debate in the autumn.</p></article></body></html>"
    ));
    assert!(a.text.contains("river line"), "{}", a.text);
}

#[test]
fn a_question_page_drops_long_badge_counts_and_the_prompts_to_ask() {
    let answer = |i: usize| {
        format!(
            "<div class=\"answer\"><p>Answer {i}: a bare except also catches the interrupt and the exit, so the program cannot be stopped cleanly and real errors vanish.</p>\
             <div class=\"user\">answered Mar {i}, 2020 at 10:04</div><div class=\"user\">12.3k1{i}1{i} gold badges4545 silver badges7878 bronze badges</div></div>"
        )
    };
    let html = format!(
        "<html><body><main><h1>Why is except: pass bad?</h1><p>3 Answers</p><p>Reset to default</p>{}{}{}\
         <p>You must log in to answer this question.</p><p>Start asking to get answers</p>\
         <p>Find the answer to your question by asking.</p><p>Ask question</p></main></body></html>",
        answer(1),
        answer(2),
        answer(3)
    );
    let a = page(&html);
    assert!(a.text.contains("Answer 3:"), "{}", a.text);
    for furniture in [
        "badges",
        "log in",
        "asking",
        "Ask question",
        "Reset",
        "3 Answers",
    ] {
        assert!(!a.text.contains(furniture), "{furniture} in {}", a.text);
    }
}

#[test]
fn a_question_page_taken_by_its_answers_keeps_the_question_beside_them() {
    let a = fixture("question-beside-answers.html");
    assert!(a.text.contains("without touching the mouse"), "{}", a.text);
    assert!(
        a.text.contains("Answer 0:") && a.text.contains("Answer 4:"),
        "{}",
        a.text
    );
}

#[test]
fn the_labels_of_a_pages_panels_are_not_body() {
    let a = page(&format!(
        "<html><body><main><h1>Night buses</h1><p>{P1}, the transport office said in a statement on its site.</p>\
         <div class=\"panel\"><p>{P2}, with more to follow later in the year.</p><div>Close</div></div>\
         <div class=\"panel\"><p>How many routes open first?</p><div>Reveal answer</div><p>{P3}, and four routes open in the spring.</p></div></main></body></html>"
    ));
    assert!(a.text.contains(P3), "{}", a.text);
    for label in ["Close", "Reveal answer"] {
        assert!(!a.text.contains(label), "{label} in {}", a.text);
    }
}

#[test]
fn plan_cards_half_the_size_of_a_service_pages_text_are_joined_to_it() {
    let a = fixture("service-plans.html");
    assert!(a.text.contains("shared ledgers"), "{}", a.text);
    assert!(a.text.contains("Starter plan"), "{}", a.text);
    assert!(a.text.contains("$199 a month"), "{}", a.text);
    assert!(a.text.contains("Up to 250 people"), "{}", a.text);
    assert!(!a.text.contains("About us"), "{}", a.text);
}

#[test]
fn a_shops_button_and_widget_labels_rendered_as_text_are_not_body() {
    let a = fixture("product-widget-labels.html");
    assert!(a.text.contains("pegged mortise"), "{}", a.text);
    assert!(a.text.contains("$240.00"), "{}", a.text);
    for label in ["In stock", "Quantity", "Add to cart", "Share"] {
        assert!(!a.text.contains(label), "{label} in {}", a.text);
    }
}

#[test]
fn a_products_description_in_a_sheet_that_is_not_modal_is_body() {
    let a = fixture("product-sheet.html");
    assert!(a.text.contains("deep lugs"), "{}", a.text);
    assert!(a.text.contains("steep descent"), "{}", a.text);
    assert!(!a.text.contains("Sign up"), "{}", a.text);
}

#[test]
fn text_kept_for_screen_readers_only_is_not_body() {
    let a = page(&format!(
        "<html><body><main><h1>Night buses</h1><p>{P1}, the transport office said in a statement on its site.</p>\
         <p><span class=\"visually-hidden\">Regular price</span> $4.00 <span class=\"sr-only\">Opens in a new window</span></p>\
         <p>{P2}, with more to follow later in the year.</p></main></body></html>"
    ));
    assert!(a.text.contains(P2), "{}", a.text);
    assert!(a.text.contains("$4.00"), "{}", a.text);
    assert!(!a.text.contains("Regular price"), "{}", a.text);
    assert!(!a.text.contains("new window"), "{}", a.text);
}

#[test]
fn a_footer_is_never_the_body_however_much_text_it_holds() {
    let about = "The Courier has served the valley since 1887 and is owned by a trust of its readers, who elect the board every spring and publish its accounts each year";
    let html = format!(
        r#"<html><head><title>Night buses</title></head><body><div class="story"><h1>Night buses</h1><p>{P1}.</p><p>{P2}.</p></div>
        <footer><p>{about}.</p><p>{about}, in full.</p><p>{about}, and online.</p></footer></body></html>"#
    );
    let a = page(&html);
    assert!(a.text.starts_with(P1), "{}", a.text);
    assert!(!a.text.contains("since 1887"), "{}", a.text);
}

#[test]
fn a_script_shell_whose_only_text_is_its_footer_has_no_body() {
    let column = |name: &str| {
        format!(
            r#"<dl><dt><h5>{name}</h5></dt><dd><a href="/a">Help Center</a>, <a href="/b">Disputes and Reports</a>, <a href="/c">Return and refund policy</a>, <a href="/d">Report infringement</a>, <a href="/e">Transparency Center</a></dd></dl>"#
        )
    };
    let html = format!(
        r#"<html><head><title>Shop</title></head><body><div id="root"></div><footer><div class="site-footer">{}{}{}</div></footer></body></html>"#,
        column("Help"),
        column("Browse by category"),
        column("Sites")
    );
    let a = page(&html);
    assert!(!a.text.contains("Help Center"), "{}", a.text);
    assert!(a.not_article.is_some());
}

#[test]
fn text_outside_the_one_main_landmark_is_not_body() {
    landmark_keeps_its_text_only("main");
}

#[test]
fn text_outside_the_one_article_element_is_not_body() {
    landmark_keeps_its_text_only("article");
}

fn landmark_keeps_its_text_only(tag: &str) {
    let long = |p: &str| {
        format!("<p>{p}, the transport board said in a statement on Tuesday evening.</p>")
    };
    let teaser = "Elsewhere in the city, the library reopened its reading rooms after a long renovation of the roof";
    let html = format!(
        r#"<html><head><title>Night buses</title></head><body><div class="wrap"><{tag}><h1>Night buses</h1>{}{}{}</{tag}>
        <div class="col"><p>{teaser}.</p><p>{teaser}, and its cafe.</p></div></div></body></html>"#,
        long(P1),
        long(P2),
        long(P3)
    );
    let a = page(&html);
    assert!(a.text.starts_with(P1), "{}", a.text);
    assert!(a.text.contains(P3), "{}", a.text);
    assert!(!a.text.contains("library"), "{}", a.text);
}

#[test]
fn sections_named_as_a_content_managers_components_are_body() {
    let a = page(&format!(
        "<html><body><div class=\"hero\"><h1>Night buses</h1><p>{P1}, the transport office said in a statement on its site this week.</p>\
         <p>{P2}, with more to follow later in the year and a review in the autumn.</p></div>\
         <div class=\"cmp-container\"><div class=\"cmp-text\"><h2>Routes</h2><p>{P3}, and the routes are listed on the office's site.</p></div></div>\
         <div class=\"cmp-container\"><div class=\"cmp-text\"><h2>Fares</h2><p>Fares on the night network stay the same as the day fares, and passes are valid on every route.</p></div></div>\
         <div class=\"cmp-container\"><div class=\"cmp-text\"><h2>Safety</h2><p>Every night bus carries a camera and a radio link to the control room, which is staffed until dawn.</p></div></div>\
         </body></html>"
    ));
    assert!(a.text.contains(P3), "{}", a.text);
    assert!(a.text.contains("passes are valid"), "{}", a.text);
    assert!(a.text.contains("staffed until dawn"), "{}", a.text);
}

#[test]
fn an_accordions_folded_answers_and_their_questions_are_body() {
    let a = page(&format!(
        "<html><body><main><h1>Night buses</h1><p>{P1}, the transport office said in a statement on its site this week.</p>\
         <p>{P2}, with more to follow later in the year and a review in the autumn.</p>\
         <p>Night buses have run in the city since the trams stopped, and the network was last changed a decade ago.</p>\
         <h2>Questions</h2>\
         <h3><button aria-expanded=\"false\" aria-controls=\"a1\" id=\"q1\">How many routes open first?</button></h3>\
         <div id=\"a1\" role=\"region\" aria-labelledby=\"q1\" hidden><p>{P3}, and four routes open in the spring.</p></div>\
         <h3><button aria-expanded=\"false\" aria-controls=\"a2\" id=\"q2\">Do fares change?</button></h3>\
         <div id=\"a2\" aria-labelledby=\"q2\" aria-hidden=\"true\"><p>Fares stay the same as the day fares, and passes are valid on every route.</p></div>\
         </main></body></html>"
    ));
    assert!(a.text.contains("How many routes open first?"), "{}", a.text);
    assert!(a.text.contains(P3), "{}", a.text);
    assert!(a.text.contains("Do fares change?"), "{}", a.text);
    assert!(a.text.contains("passes are valid"), "{}", a.text);
}

#[test]
fn a_popover_is_not_body() {
    let a = page(&format!(
        "<html><body><main><h1>Night buses</h1><p>{P1}, the transport office said in a statement on its site this week.</p>\
         <p>{P2}, with more to follow later in the year and a review in the autumn.</p>\
         <div popover id=\"notify\"><p>To turn notifications on, tap the lock icon next to the address bar, then open the site's permissions.</p></div>\
         <p>{P3}, and the routes are listed on the office's site.</p></main></body></html>"
    ));
    assert!(a.text.contains(P3), "{}", a.text);
    assert!(!a.text.contains("lock icon"), "{}", a.text);
}

#[test]
fn a_service_pages_grid_of_cards_made_one_link_is_a_section_of_it() {
    let card = |title: &str, text: &str| {
        format!("<div class=\"card\"><a href=\"/{title}\"><h3>{title}</h3><p>{text}</p></a></div>")
    };
    let a = page(&format!(
        "<html><body><div class=\"page\"><section><h1>Night buses</h1><p>{P1}, the transport office said in a statement on its site this week.</p>\
         <p>{P2}, with more to follow later in the year and a review in the autumn.</p></section>\
         <section><h2>Our services</h2><div class=\"grid\">{}{}{}</div></section></div></body></html>",
        card(
            "Routes",
            "Twelve routes cross the city every night, from the central station out to the ring road and back again before the first trams."
        ),
        card(
            "Fares",
            "Fares on the night network stay the same as the day fares, and the monthly passes are valid on every route of the network."
        ),
        card(
            "Safety",
            "Every night bus carries a camera and a radio link to the control room, which is staffed by two people until dawn."
        ),
    ));
    assert!(a.text.contains(P2), "{}", a.text);
    assert!(a.text.contains("Twelve routes cross"), "{}", a.text);
    assert!(a.text.contains("two people until dawn"), "{}", a.text);
}

#[test]
fn a_folded_tab_panel_is_body_but_a_hidden_labelled_menu_is_not() {
    // The tab panel is named by its role alone; the menu is named by the control opening it.
    let html = format!(
        r#"<html><head><title>Night buses</title></head><body><article><h1>Night buses</h1><p>{P1}.</p>
        <div role="tabpanel" hidden><p>{P2}, for the riders who asked about the weekend.</p></div>
        <div role="menu" aria-labelledby="account" hidden><p>Sign in to save the stories you read and pick up where you left off on any device.</p></div>
        <p>{P3}, and the board promised a review of the first routes within six months of their opening.</p>
        <p>The routes were drawn after a survey of shift workers at the hospital, the airport and the three largest factories in the valley.</p>
        <p>Drivers will be hired from the day service, where the union said many had asked for night shifts at the higher rate.</p></article></body></html>"#
    );
    let a = page(&html);
    assert!(a.text.contains(P2), "{}", a.text);
    assert!(a.text.contains(P3), "{}", a.text);
    assert!(!a.text.contains("Sign in"), "{}", a.text);
}

/// Calls `f` with the name and decoded text of every page of the fixtures, and of the
/// extraction benchmark's sets when `FEEDWATCH_PAGES` names their `html` folders (separated by
/// `:`); how many there were.
pub(crate) fn each_test_page(mut f: impl FnMut(&str, &str)) -> usize {
    let mut dirs = vec![std::path::PathBuf::from("tests/fixtures/extract")];
    if let Ok(more) = std::env::var("FEEDWATCH_PAGES") {
        dirs.extend(more.split(':').map(std::path::PathBuf::from));
    }
    let mut pages = 0;
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.to_string_lossy().to_string();
            if !name.ends_with(".html") && !name.ends_with(".html.gz") {
                continue;
            }
            let bytes = super::page_bytes(std::fs::read(&path).unwrap()).unwrap();
            f(&name, &super::charset::decode(&bytes, None, None));
            pages += 1;
        }
    }
    pages
}

/// The cut before tree building leaves real pages alone: every page of the fixtures (and of
/// the extraction benchmark's sets, when `FEEDWATCH_PAGES` names their `html` folders,
/// separated by `:`) comes through [`crate::bounds::html::limit`] borrowed, unchanged.
#[test]
fn every_page_of_the_fixtures_is_left_as_it_is() {
    let mut changed = Vec::new();
    let pages = each_test_page(|name, text| {
        let cut = crate::bounds::html::limit(text, &Default::default());
        if let std::borrow::Cow::Owned(cut) = cut {
            let at = text
                .bytes()
                .zip(cut.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            let from = crate::bounds::prefix(text, at.saturating_sub(80)).len();
            let show = |t: &str| {
                let end = crate::bounds::prefix(t, at + 120).len();
                t[from..end].to_string()
            };
            changed.push(format!(
                "{name} at byte {at}:\n  page: …{}\n  cut:  …{}",
                show(text),
                show(&cut)
            ));
        }
    });
    assert!(
        changed.is_empty(),
        "the cut changed real pages:\n{}",
        changed.join("\n\n")
    );
    assert!(pages >= 30, "{pages} pages");
}

/// `--explain` names the element chosen as the body, keeps each paragraph by the scoring core
/// and says which rule dropped each piece of furniture.
#[test]
fn the_explanation_names_the_body_and_the_rule_behind_every_cut() {
    let html = include_bytes!("../../tests/fixtures/tome-iraq-troops.html");
    let x = explain(html, None, Rules::ALL);
    let lines: Vec<&str> = x.lines().collect();
    assert!(
        lines[0].starts_with("body: div.entry-content (score "),
        "{x}"
    );
    let line_of = |text: &str| {
        lines
            .iter()
            .find(|l| l.contains(text))
            .copied()
            .unwrap_or_else(|| panic!("no line for {text:?} in\n{x}"))
    };
    let lead = line_of("The United States and Iraq have announced");
    assert!(lead.contains(" keep ") && lead.contains(" body "), "{lead}");
    let tags = line_of("Tags: Iraq United States");
    assert!(
        tags.contains(" drop ") && tags.contains("boilerplate-names"),
        "{tags}"
    );
    let latest = line_of("Latest stories");
    assert!(
        latest.contains(" drop ") && latest.contains("landmarks"),
        "{latest}"
    );
}

/// A rule switched off no longer acts: without `furniture-labels` a bare "Advertisement" label
/// inside the body stays, with it the label goes.
#[test]
fn a_rule_switched_off_no_longer_cuts() {
    let html = format!(
        "<html><body><article><h1>Night buses</h1><p>{P1} after a long debate in the chamber \
         that ran late into the evening.</p><p>Advertisement</p><p>{P2}, and that fares would \
         stay as they are for the first year.</p><p>{P3}, which had waited years.</p></article>\
         </body></html>"
    );
    let on = super::extract_with_rules(html.as_bytes(), None, Rules::ALL);
    assert!(!on.text.contains("Advertisement"), "{}", on.text);
    let off = super::extract_with_rules(
        html.as_bytes(),
        None,
        Rules::ALL.without(Rule::FurnitureLabels),
    );
    assert!(off.text.contains("Advertisement"), "{}", off.text);
    assert!(off.text.contains(P2), "{}", off.text);
}

fn fixture_with(name: &str, rules: Rules) -> Article {
    let path = format!(
        "{}/tests/fixtures/extract/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap();
    super::extract_with_rules(&bytes, None, rules)
}

const NIGHT_BUS: [&str; 3] = [
    "The council voted on Tuesday to extend the night bus network",
    "Officials said the first routes would open in the spring",
    "Residents in the outer districts welcomed the decision",
];

/// A 2000s page whose `<title>` is never closed: a parser reads the whole page as the title,
/// and the story came out empty; read as old browsers read it, the story is there.
#[test]
fn a_page_whose_title_is_never_closed_gives_its_story() {
    let a = fixture("unclosed-title.html");
    for p in NIGHT_BUS {
        assert!(a.text.contains(p), "{p:?} missing from {:?}", a.text);
    }
    assert_eq!(a.title.as_deref(), Some("Council extends night buses"));
    assert!(!a.text.contains("openWin"), "{}", a.text);
    // The byline above the story, without a date, is furniture like a dateline.
    assert!(!a.text.contains("By Ann Porter"), "{}", a.text);
    let without = fixture_with(
        "unclosed-title.html",
        Rules::ALL.without(Rule::UnclosedTitle),
    );
    assert!(without.text.is_empty(), "{}", without.text);
}

/// Blogger titles its pages `Blog name: Post title`. With a post title longer than the blog's
/// name, the post's heading is found as the headline only by the part after the colon; without
/// a headline the comments after it are not known to follow the article, and were kept.
#[test]
fn a_blog_name_before_a_colon_in_the_title_leaves_the_post_heading_as_the_headline() {
    let path = format!(
        "{}/tests/fixtures/extract/comments-plain-divs.html",
        env!("CARGO_MANIFEST_DIR")
    );
    let long = "Night buses at last for the outer districts after a debate that ran late";
    let html = std::fs::read_to_string(&path)
        .unwrap()
        .replace("Night buses at last", long);
    let a = extract(html.as_bytes(), None, None, &[]);
    assert_eq!(a.title.as_deref(), Some(long));
    assert_eq!(a.site_name.as_deref(), Some("Notes from the Valley"));
    for p in NIGHT_BUS {
        assert!(a.text.contains(p), "{p:?} missing from {:?}", a.text);
    }
    assert!(!a.text.contains("About time"), "{}", a.text);
    // A colon whose second part is no heading of the page separates nothing.
    let html = html.replace(
        &format!("<title>Notes from the Valley: {long}"),
        "<title>Night buses: what changes",
    );
    let a = extract(html.as_bytes(), None, None, &[]);
    assert_eq!(a.title.as_deref(), Some("Night buses: what changes"));
}

/// Comments in plain `div`s, named nothing, signed "said..." and dated, longer together than
/// the post: they are not the body, by their structure.
#[test]
fn comments_in_plain_divs_longer_than_the_post_are_left_out() {
    for name in ["comments-plain-divs.html", "comments-schema.html"] {
        let a = fixture(name);
        for p in NIGHT_BUS {
            assert!(
                a.text.contains(p),
                "{name}: {p:?} missing from {:?}",
                a.text
            );
        }
        assert!(!a.text.contains("About time"), "{name}: {}", a.text);
        assert!(
            !a.text.contains("hospital staff on board"),
            "{name}: {}",
            a.text
        );
        let without = fixture_with(name, Rules::ALL.without(Rule::CommentStructure));
        assert!(
            without.text.contains("About time"),
            "{name}: {}",
            without.text
        );
    }
}

/// A wire story whose lead sits in a standfirst beside the body's classed container keeps its
/// lead; one whose body an advert splits keeps its last line.
#[test]
fn a_short_storys_lead_and_end_in_sibling_elements_are_kept() {
    for (name, part) in [
        ("wire-lead-sibling.html", NIGHT_BUS[0]),
        (
            "wire-split-body.html",
            "The transport committee will publish the timetables next month.",
        ),
    ] {
        let a = fixture(name);
        assert!(a.text.contains(part), "{name}: {}", a.text);
        assert!(a.text.contains(NIGHT_BUS[2]), "{name}: {}", a.text);
        assert!(!a.text.contains("Advertisement"), "{name}: {}", a.text);
        assert!(
            !a.text.contains("By Associated Press"),
            "{name}: {}",
            a.text
        );
        let without = fixture_with(name, Rules::ALL.without(Rule::SiblingParts));
        assert!(!without.text.contains(part), "{name}: {}", without.text);
    }
}

/// A two-paragraph story followed by teasers of other stories, each a linked heading and an
/// excerpt, longer together than the story: the story alone is the body.
#[test]
fn teasers_after_a_short_story_are_left_out() {
    let a = fixture("wire-teasers.html");
    assert!(a.text.contains(NIGHT_BUS[0]), "{}", a.text);
    assert!(
        a.text
            .contains("Officials said the first routes would open"),
        "{}",
        a.text
    );
    assert!(!a.text.contains("harbour wall"), "{}", a.text);
    assert!(!a.text.contains("School meals"), "{}", a.text);
    let without = fixture_with("wire-teasers.html", Rules::ALL.without(Rule::TeaserCards));
    assert!(without.text.contains("harbour wall"), "{}", without.text);
}

/// A one-paragraph story in an `<article>` element, before teasers longer than it: the
/// element says where the story ends, so the teasers after it are left out. Without the
/// element, one paragraph under a headline is how a listing opens, and its cards stay.
#[test]
fn teasers_after_a_one_paragraph_story_in_an_article_element_are_left_out() {
    let path = format!(
        "{}/tests/fixtures/extract/wire-teasers.html",
        env!("CARGO_MANIFEST_DIR")
    );
    let html = std::fs::read_to_string(&path).unwrap().replace(
        "<p>Officials said the first routes would open in the spring, with buses every thirty minutes.</p>\n",
        "",
    );
    assert!(!html.contains("Officials said"));
    let in_article = html
        .replace("<div class=\"story\">", "<article class=\"story\">")
        .replace("</div>\n<section", "</article>\n<section");
    let a = page(&in_article);
    assert!(a.text.contains(NIGHT_BUS[0]), "{}", a.text);
    assert!(!a.text.contains("harbour wall"), "{}", a.text);
    assert!(!a.text.contains("School meals"), "{}", a.text);
    let a = page(&html);
    assert!(a.text.contains("harbour wall"), "{}", a.text);
}

/// Answers folded away with `display:none` (no ARIA naming them) are prose the reader opens,
/// and stay; the hidden language picker beside them, short labels, goes.
#[test]
fn prose_folded_by_a_style_stays_but_a_hidden_picker_goes() {
    let a = page(&format!(
        "<html><body><main><h1>Night buses</h1><p>{P1}, the transport office said in a statement on its site this week.</p>\
         <p>{P2}, with more to follow later in the year and a review in the autumn.</p>\
         <p>Night buses have run in the city since the trams stopped, and the network was last changed a decade ago.</p>\
         <ul class=\"lang\" style=\"display: none\"><li>English</li><li>Español</li><li>Français</li></ul>\
         <h3 class=\"faq-q\">How many routes open first?</h3>\
         <div class=\"faq-a\" style=\"display: none\"><p>{P3}, and four routes open in the spring, the office said.</p></div>\
         </main></body></html>"
    ));
    assert!(a.text.contains(P3), "{}", a.text);
    assert!(!a.text.contains("Español"), "{}", a.text);
}

/// A block is trimmed as what it is, not as the block that follows it: a `<pre>` keeps the
/// indentation of its first line when prose follows it, and the prose before a `<pre>` loses
/// its trailing space.
#[test]
fn a_block_is_trimmed_by_its_own_kind_not_the_next_ones() {
    let a = page(&format!(
        "<html><body><article><h1>Night buses</h1><p>{P1}, the transport office said this week.</p>\
         <div>{P2}, and the timetable is generated by a short program \
         <pre>    let routes = 4;\n    open(routes);\n</pre>\
         which the office publishes beside the timetable every spring.</div></article></body></html>"
    ));
    assert!(
        a.text
            .contains("\n\n    let routes = 4;\n    open(routes);\n\n"),
        "{:?}",
        a.text
    );
    assert!(
        a.text
            .lines()
            .all(|l| !l.ends_with(' ') || l.trim().is_empty()),
        "{:?}",
        a.text
    );
}

/// The runaway-title scan finds what a search of every window finds.
#[test]
fn the_case_blind_search_finds_what_a_scan_of_every_window_finds() {
    let by_windows = |hay: &[u8], pat: &[u8], from: usize| {
        hay.get(from..)?
            .windows(pat.len())
            .position(|w| w.eq_ignore_ascii_case(pat))
            .map(|i| i + from)
    };
    let hay = b"<html><HEAD><Title>x</TITLE><titl<title></head><BODY><title>y";
    for pat in [&b"<title"[..], b"</title", b"<body", b"</head", b"<", b"<x"] {
        for from in 0..=hay.len() + 1 {
            assert_eq!(
                find_ascii(hay, pat, from),
                by_windows(hay, pat, from),
                "{pat:?} {from}"
            );
        }
    }
}
