use super::*;

fn story(title: &str, text: &str) -> (String, String) {
    (title.to_string(), text.to_string())
}

const IRAQ_TITLE: &str = "Coalition forces push north in Iraq";
const IRAQ_TEXT: &str = "Troops from the coalition advanced on Tuesday. \
    Officials in Baghdad said the café near the square was closed.\n\n\
    The operation, described as the largest since 2003, involved armoured units.";

fn iraq_doc<'a>(tags: &'a [String]) -> Document<'a> {
    Document {
        title: IRAQ_TITLE,
        text: IRAQ_TEXT,
        author: "Jane Doe",
        feed: "World News",
        tags,
        url: "https://news.example.org/world/iraq-coalition?id=7",
    }
}

/// The terms `query` reports on the Iraq story, or `None` when it does not match.
fn on_iraq(query: &str) -> Option<Vec<String>> {
    let tags = vec!["Middle East".to_string(), "World".to_string()];
    Query::parse(query).unwrap().matches(&iraq_doc(&tags))
}

fn hits(query: &str) -> bool {
    on_iraq(query).is_some()
}

fn error(query: &str) -> QueryError {
    match Query::parse(query) {
        Ok(_) => panic!("{query:?} parsed but should be an error"),
        Err(e) => e,
    }
}

fn matches_text(query: &str, title: &str, text: &str) -> bool {
    let (title, text) = story(title, text);
    Query::parse(query)
        .unwrap()
        .matches(&Document {
            title: &title,
            text: &text,
            ..Default::default()
        })
        .is_some()
}

#[test]
fn words_side_by_side_must_all_appear() {
    assert!(hits("iraq troops"));
    assert!(!hits("iraq submarine"));
}

#[test]
fn and_requires_both_terms() {
    assert!(hits("iraq AND baghdad"));
    assert!(!hits("iraq AND tehran"));
}

#[test]
fn or_requires_either_term() {
    assert!(hits("tehran OR baghdad"));
    assert!(!hits("tehran OR kabul"));
}

#[test]
fn not_excludes_a_term() {
    assert!(hits("iraq NOT sport"));
    assert!(!hits("iraq NOT baghdad"));
}

#[test]
fn a_minus_against_a_term_excludes_it() {
    assert!(hits("iraq -sport"));
    assert!(!hits("iraq -baghdad"));
    assert!(!hits("iraq -\"coalition forces\""));
}

#[test]
fn parentheses_group_alternatives() {
    assert!(hits("iraq (tehran OR troops)"));
    assert!(!hits("iraq (tehran OR kabul)"));
}

#[test]
fn and_binds_tighter_than_or() {
    // kabul OR (iraq AND baghdad)
    assert!(hits("kabul OR iraq baghdad"));
    // (kabul AND iraq) OR tehran
    assert!(!hits("kabul iraq OR tehran"));
}

#[test]
fn not_binds_tighter_than_and() {
    // iraq AND (NOT sport) AND troops
    assert!(hits("iraq NOT sport troops"));
    // troops AND (NOT kabul) AND tehran, not troops AND NOT (kabul AND tehran)
    assert!(!hits("troops NOT kabul tehran"));
}

#[test]
fn the_design_example_means_iraq_and_troops_or_forces_and_not_sport() {
    let q = r#"iraq AND (troops OR "coalition forces") NOT sport"#;
    assert_eq!(on_iraq(q).unwrap(), ["iraq", "troops", "coalition forces"]);
    assert!(!matches_text(q, "Iraq troops", "The sport section."));
    assert!(!matches_text(q, "Syria", "Coalition forces and troops."));
    assert!(matches_text(q, "Iraq", "Coalition forces arrived."));
}

#[test]
fn lower_case_operators_are_plain_words() {
    assert!(!matches_text("iraq or syria", "Iraq", "troops"));
    assert!(matches_text("iraq or syria", "Iraq or Syria", "troops"));
    assert!(!matches_text("iraq and syria", "Iraq", "Syria"));
}

#[test]
fn an_exact_phrase_needs_its_words_in_order() {
    assert!(hits("\"coalition forces\""));
    assert!(!hits("\"forces coalition\""));
    // Quoting turns stemming off: the story says "forces".
    assert!(!hits("\"coalition force\""));
}

#[test]
fn a_phrase_does_not_run_from_the_title_into_the_text() {
    // The title ends "in Iraq" and the text starts "Troops".
    assert!(!hits("\"iraq troops\""));
}

#[test]
fn a_star_matches_any_ending() {
    assert!(hits("armou*"));
    assert!(hits("\"largest since\" offic*"));
    assert!(!hits("submar*"));
    assert_eq!(on_iraq("troop*").unwrap(), ["troop*"]);
}

#[test]
fn near_finds_words_within_the_distance() {
    // "Troops from the coalition": two words between.
    assert!(hits("NEAR(troops coalition, 2)"));
    assert!(!hits("NEAR(troops coalition, 1)"));
    assert!(hits("NEAR(coalition troops, 2)"));
    assert!(hits("NEAR(troop \"on tuesday\", 5)"));
    assert!(!hits("NEAR(troops armoured, 5)"));
    assert_eq!(
        on_iraq("NEAR(troops coalition, 2)").unwrap(),
        ["troops", "coalition"]
    );
}

#[test]
fn near_without_a_distance_allows_ten_words() {
    // Ten words between "a" and "l", eleven between "a" and "m".
    assert!(matches_text("NEAR(a l)", "", "a b c d e f g h i j k l m"));
    assert!(!matches_text("NEAR(a m)", "", "a b c d e f g h i j k l m"));
}

#[test]
fn case_and_accents_are_folded_both_ways() {
    assert!(hits("CAFE"));
    assert!(hits("café"));
    assert!(matches_text("Résumé", "", "Her resume was long"));
    assert!(matches_text("\"strasse\"", "", "Die Straße"));
}

#[test]
fn english_stemming_matches_other_forms_of_a_word() {
    assert!(hits("troop"));
    assert!(hits("advancing"));
    assert!(hits("official"));
    assert!(matches_text("troops", "", "One troop stayed."));
    assert!(matches_text("iraq", "Iraq's army", ""));
}

#[test]
fn title_field_looks_only_at_the_title() {
    assert!(hits("title:iraq"));
    assert!(!hits("title:baghdad"));
    assert!(hits("title:\"coalition forces\""));
    assert!(hits("title:(tehran OR north)"));
    assert_eq!(on_iraq("title:(tehran OR north)").unwrap(), ["title:north"]);
}

#[test]
fn author_feed_and_url_fields_look_at_their_own_field() {
    assert!(hits("author:doe"));
    assert!(!hits("author:iraq"));
    assert!(hits("feed:\"world news\""));
    assert!(!hits("feed:iraq baghdad"));
    assert!(hits("url:news.example.org"));
    assert!(hits("url:coalition"));
    assert!(!hits("url:baghdad"));
}

#[test]
fn tags_match_whole_tags_ignoring_case() {
    assert!(hits("tag:world"));
    assert!(hits("tag:\"middle east\""));
    assert!(hits("tag:middle-east"));
    assert!(!hits("tag:middle"));
    assert!(hits("tag:mid*"));
    assert!(hits("tag:(sport OR WORLD)"));
}

#[test]
fn a_field_applies_only_to_the_term_it_touches() {
    // title:iraq AND baghdad (anywhere)
    assert!(hits("title:iraq baghdad"));
}

#[test]
fn a_regex_matches_the_raw_text() {
    assert!(hits("/Bagh?dad/"));
    assert!(!hits("/BAGHDAD/"));
    assert!(hits("/BAGHDAD/i"));
    assert!(hits("/\\d{4}/"));
    assert_eq!(on_iraq("/Bagh?dad/").unwrap(), ["/Bagh?dad/"]);
}

#[test]
fn a_regex_on_a_field_matches_only_that_field() {
    assert!(hits("title:/^coalition/i"));
    assert!(!hits("title:/^troops/i"));
    assert!(hits("url:/iraq-coalition/"));
    assert!(hits("tag:/^middle/i"));
    assert!(hits("url:/https:\\/\\/news/"));
}

#[test]
fn matched_terms_come_in_query_order_once_and_never_from_a_not() {
    let terms = on_iraq("baghdad OR troops OR kabul baghdad -sport NOT (tehran)").unwrap();
    assert_eq!(terms, ["baghdad", "troops"]);
}

#[test]
fn terms_of_a_failed_and_branch_are_not_reported() {
    let terms = on_iraq("(troops AND kabul) OR baghdad").unwrap();
    assert_eq!(terms, ["baghdad"]);
}

#[test]
fn a_prepared_document_gives_the_same_answer_for_many_queries() {
    let tags = vec!["World".to_string()];
    let doc = iraq_doc(&tags);
    let prepared = PreparedDocument::new(&doc);
    for q in [
        "iraq troops",
        "tag:world",
        "NEAR(troops coalition, 2)",
        "kabul",
        "title:/iraq/i",
    ] {
        let query = Query::parse(q).unwrap();
        assert_eq!(
            query.matches_prepared(&prepared),
            query.matches(&doc),
            "{q}"
        );
        assert_eq!(
            query.is_match(&prepared),
            query.matches(&doc).is_some(),
            "{q}"
        );
    }
}

#[test]
fn the_query_text_is_kept_as_written() {
    assert_eq!(
        Query::parse("  Iraq  OR troops").unwrap().text(),
        "  Iraq  OR troops"
    );
}

#[test]
fn an_empty_query_is_an_error_at_column_one() {
    let e = error("   ");
    assert_eq!(e.column, 1);
    assert!(e.message.contains("empty"), "{}", e.message);
}

#[test]
fn an_unclosed_parenthesis_is_an_error_at_its_column() {
    let e = error("iraq AND (troops OR army");
    assert_eq!(e.column, 10);
    assert!(e.message.contains("never closed"), "{}", e.message);
}

#[test]
fn an_unopened_parenthesis_is_an_error_at_its_column() {
    let e = error("iraq troops) army");
    assert_eq!(e.column, 12);
    assert!(e.message.contains("no matching ("), "{}", e.message);
}

#[test]
fn empty_parentheses_are_an_error() {
    assert_eq!(error("iraq ()").column, 6);
}

#[test]
fn an_unterminated_phrase_is_an_error_at_its_quote() {
    let e = error("iraq \"coalition forces");
    assert_eq!(e.column, 6);
    assert!(e.message.contains("closing \""), "{}", e.message);
}

#[test]
fn an_unterminated_regex_is_an_error_at_its_slash() {
    let e = error("iraq title:/^breaking");
    assert_eq!(e.column, 12);
    assert!(e.message.contains("never closed"), "{}", e.message);
}

#[test]
fn a_bad_regex_is_an_error_at_the_regex() {
    let e = error("iraq /(unclosed/");
    assert_eq!(e.column, 6);
    assert!(e.message.contains("not valid"), "{}", e.message);
}

#[test]
fn an_unknown_regex_flag_is_an_error_at_the_flag() {
    let e = error("/iraq/g");
    assert_eq!(e.column, 7);
    assert!(e.message.contains("flag g"), "{}", e.message);
}

#[test]
fn an_operator_at_the_end_is_an_error_at_the_operator() {
    let e = error("iraq AND");
    assert_eq!(e.column, 6);
    assert!(
        e.message.contains("AND needs a term after it"),
        "{}",
        e.message
    );
    assert_eq!(error("iraq OR").column, 6);
    assert_eq!(error("iraq NOT").column, 6);
}

#[test]
fn an_operator_at_the_start_is_an_error_at_the_operator() {
    let e = error("OR iraq");
    assert_eq!(e.column, 1);
    assert!(
        e.message.contains("OR needs a term before it"),
        "{}",
        e.message
    );
    assert_eq!(error("(AND iraq)").column, 2);
}

#[test]
fn two_operators_in_a_row_are_an_error_at_the_first() {
    let e = error("iraq AND OR troops");
    assert_eq!(e.column, 6);
    assert!(e.message.contains("OR follows"), "{}", e.message);
    assert_eq!(error("iraq (troops OR) army").column, 14);
}

#[test]
fn a_lone_minus_is_an_error() {
    assert_eq!(error("iraq - sport").column, 6);
}

#[test]
fn a_field_without_its_term_is_an_error() {
    let e = error("iraq title: troops");
    assert_eq!(e.column, 6);
    assert!(e.message.contains("title:"), "{}", e.message);
}

#[test]
fn an_unknown_field_is_an_error_naming_the_real_ones() {
    let e = error("iraq site:bbc");
    assert_eq!(e.column, 6);
    assert!(e.message.contains("title:, author:"), "{}", e.message);
    // A URL is not a field.
    assert!(Query::parse("url:https://news.example.org").is_ok());
}

#[test]
fn a_star_inside_a_word_is_an_error() {
    assert_eq!(error("iraq tr*ops").column, 8);
}

#[test]
fn a_word_without_letters_is_an_error() {
    assert_eq!(error("iraq & troops").column, 6);
}

#[test]
fn a_query_that_only_excludes_is_an_error() {
    let e = error("NOT sport");
    assert_eq!(e.column, 1);
    assert!(e.message.contains("only"), "{}", e.message);
    assert!(Query::parse("iraq OR -sport").is_err());
}

#[test]
fn malformed_near_is_an_error_at_its_column() {
    assert_eq!(error("iraq NEAR(troops, 5)").column, 6);
    assert_eq!(error("iraq NEAR(troops army, x)").column, 24);
    assert_eq!(error("iraq NEAR(troops army, 5").column, 6);
    assert_eq!(error("tag:NEAR(a b)").column, 5);
}

#[test]
fn a_snippet_marks_the_matched_terms_around_the_first_match() {
    let tags = vec![];
    let doc = iraq_doc(&tags);
    let terms = on_iraq("baghdad caf*").unwrap();
    let s = snippet(&doc, &terms, 60);
    assert!(s.contains("**Baghdad**"), "{s}");
    assert!(s.contains("**café**"), "{s}");
    assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
    let plain = s.replace("**", "").replace('…', "");
    assert!(plain.chars().count() <= 60, "{s}");
}

#[test]
fn a_snippet_marks_phrases_stems_and_regexes() {
    let doc = Document {
        text: "Coalition forces and troop convoys met near the border. Coalition\nforces left.",
        ..Default::default()
    };
    let matched = vec![
        "coalition forces".to_string(),
        "troops".to_string(),
        "/bord.r/".to_string(),
    ];
    let s = snippet(&doc, &matched, 200);
    assert_eq!(
        s,
        "**Coalition forces** and **troop** convoys met near the **border**. **Coalition forces** left."
    );
}

#[test]
fn a_snippet_without_a_match_in_the_text_starts_at_the_beginning() {
    let doc = Document {
        title: "Iraq",
        text: "The army moved north today and stayed.",
        ..Default::default()
    };
    let s = snippet(&doc, &["title:iraq".to_string()], 20);
    assert_eq!(s, "The army moved north…");
}

#[test]
fn a_hyphenated_word_matches_its_parts_in_order() {
    assert!(matches_text("covid-19", "", "New COVID-19 cases"));
    assert!(matches_text("covid-19", "", "covid 19 cases"));
    assert!(!matches_text("covid-19", "", "19 covid cases"));
}

#[test]
fn operator_words_after_a_field_are_searched_for() {
    assert!(matches_text("title:OR", "Yes or no", ""));
}

#[test]
fn regex_slashes_can_be_escaped() {
    assert_eq!(
        on_iraq("url:/world\\/iraq/").unwrap(),
        ["url:/world\\/iraq/"]
    );
}

#[test]
fn title_phrases_prefixes_and_near_stay_inside_the_title() {
    assert!(hits("title:NEAR(coalition north, 2)"));
    assert!(!hits("title:NEAR(coalition troops, 20)"));
    assert!(hits("title:coal*"));
    assert!(!hits("title:bagh*"));
    assert!(!hits("title:\"troops from\""));
    assert!(hits("\"troops from\""));
}

#[test]
fn a_snippet_of_an_empty_text_uses_the_title() {
    let doc = Document {
        title: "Troops leave Basra",
        ..Default::default()
    };
    assert_eq!(
        snippet(&doc, &["troops".to_string()], 100),
        "**Troops** leave Basra"
    );
}

#[test]
fn every_cut_of_a_query_parses_or_names_a_column_inside_it() {
    let full = r#"title:(Iraq OR "coalition forces") -sport NEAR(troop* "on tuesday", 3) tag:/^mid/i url:a.b café*"#;
    let tags = vec!["Middle East".to_string()];
    let doc = iraq_doc(&tags);
    let chars: Vec<char> = full.chars().collect();
    for start in 0..chars.len() {
        for end in start + 1..=chars.len() {
            let cut: String = chars[start..end].iter().collect();
            match Query::parse(&cut) {
                Ok(q) => {
                    let terms = q.matches(&doc);
                    let _ = snippet(&doc, terms.as_deref().unwrap_or(&[]), 40);
                }
                Err(e) => assert!(
                    e.column >= 1 && e.column <= cut.chars().count().max(1),
                    "{cut:?}: {e}"
                ),
            }
        }
    }
}

// Hostile and oversized queries: each is refused with a message or answered in time linear in
// its size, never a stack overflow. The bounds are generous for a debug build on a busy machine;
// the quadratic code these replace took minutes on the same inputs.

/// Runs `f`, failing when it takes longer than `secs`.
fn within<T>(secs: u64, what: &str, f: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(
        took < std::time::Duration::from_secs(secs),
        "{what} took {took:?}"
    );
    out
}

#[test]
fn a_query_over_the_size_limit_is_refused_at_column_one() {
    let long = "iraq ".repeat(MAX_QUERY_BYTES / 5 + 1);
    let e = error(&long);
    assert_eq!(e.column, 1);
    assert!(e.message.contains("limit"), "{}", e.message);
    assert!(Query::parse(&"iraq ".repeat(MAX_QUERY_BYTES / 5 - 1)).is_ok());
}

#[test]
fn nesting_past_the_depth_limit_is_an_error_not_a_stack_overflow() {
    // 4,808 parentheses, as found in the wild: each level costs the parser several frames.
    let deep = format!("{}iraq{}", "(".repeat(4_808), ")".repeat(4_808));
    let e = error(&deep);
    assert!(e.message.contains("nests deeper"), "{}", e.message);
    assert_eq!(e.column, parser::MAX_DEPTH + 1);
    for q in [
        format!("iraq {}troops", "NOT ".repeat(3_000)),
        format!("iraq {}troops", "-".repeat(12_500)),
        format!("iraq {}troops", "-(".repeat(2_000)),
    ] {
        assert!(error(&q).message.contains("nests deeper"), "{q:.40}");
    }
    // Up to the limit it parses and means what it says.
    let ok = |n: usize| format!("{}iraq{}", "(".repeat(n), ")".repeat(n));
    assert!(hits(&ok(parser::MAX_DEPTH)));
    assert!(hits(&format!("iraq {}baghdad", "NOT NOT ".repeat(15))));
}

#[test]
fn a_chain_of_fields_is_read_in_linear_time_and_the_last_field_holds() {
    // 96 KB of `title:`: the lexer once read the rest of the chain again for every field.
    let chain = format!("{}baghdad", "title:".repeat(16_000));
    let tokens = within(5, "lexing 96 KB of title: chains", || {
        lexer::tokenize(&chain).unwrap()
    });
    assert_eq!(tokens.len(), 16_001);
    // Under the size limit, a chain parses without recursion; the field nearest the term wins.
    let q = |f: &str, word: &str| format!("{}{f}{word}", "author:".repeat(2_000));
    assert!(hits(&q("title:", "iraq")));
    assert!(!hits(&q("title:", "baghdad")));
    assert!(hits(&q("", "jane")));
}

/// `n` words, each a different one.
fn distinct_words(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("w{i}x")).collect()
}

/// About `bytes` of text made of `words` in turn.
fn text_of(words: &[String], bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 16);
    for w in words.iter().cycle() {
        if text.len() >= bytes {
            break;
        }
        text.push_str(w);
        text.push(' ');
    }
    text
}

#[test]
fn a_near_of_two_thousand_terms_over_400_kb_is_matched_in_linear_time() {
    let words = distinct_words(2_000);
    let text = text_of(&words, 400_000);
    // Every term everywhere, never all within ten words of each other.
    let spread = format!("NEAR({})", words.join(" "));
    assert!(!within(5, "2,000 distinct terms", || matches_text(
        &spread, "", &text
    )));
    // A distance that lets the window run from the title across the barrier into the text:
    // every window once checked the whole span for the barrier.
    let far = format!("NEAR({}, 1000000)", words.join(" "));
    assert!(within(5, "a window across the barrier", || matches_text(
        &far,
        &text[..100_000],
        &text
    )));
    // One word written 2,000 times over a text of nothing else: once 2,000 copies of every
    // position, sorted (minutes, gigabytes).
    let same = format!("NEAR({})", vec!["aaa"; 2_000].join(" "));
    let a_text = "aaa ".repeat(100_000);
    assert!(within(5, "one term 2,000 times", || matches_text(
        &same, "", &a_text
    )));
    // Distinct phrases sharing every position ("a a", "a a a", …), up to the size limit.
    let mut chain = Vec::new();
    let mut len = 2;
    while chain.iter().map(|p: &String| p.len() + 1).sum::<usize>() + 2 * len + 16 < MAX_QUERY_BYTES
    {
        chain.push(format!("\"{}\"", vec!["a"; len].join(" ")));
        len += 1;
    }
    let phrases = format!("NEAR({} b)", chain.join(" "));
    let a_text = format!("{} b", "a ".repeat(10_000));
    assert!(within(5, "a chain of phrases", || matches_text(
        &phrases, "", &a_text
    )));
}

#[test]
fn a_long_phrase_of_one_word_repeated_is_found_in_linear_time() {
    // Each start of "a a a … a" (8,000 words) used to be checked word by word: 8,000 times the
    // length of the story when the phrase almost matches everywhere.
    let phrase = format!("\"{}\"", vec!["a"; 8_000].join(" "));
    let near_miss = format!("{} b ", "a ".repeat(7_999)).repeat(25);
    assert!(!within(5, "a near miss everywhere", || matches_text(
        &phrase, "", &near_miss
    )));
    let hit = format!("{near_miss}{}", "a ".repeat(8_000));
    assert!(matches_text(&phrase, "", &hit));
}

#[test]
fn near_and_phrases_mean_the_same_through_either_search() {
    // The word-by-word check at each start of the first word, and the linear scan it switches
    // to when that word is everywhere, give the same answers.
    let text = "a b a b a b c a b a b a b a b c d";
    // The long text starts with a run of a's, so phrases starting with a take the scan.
    let long = format!("{}{text}", "a ".repeat(5_000));
    let cases = [
        ("\"a b c\"", true, true),
        ("\"a b a b c\"", true, true),
        ("\"a b a b a b a b c d\"", true, true),
        ("\"b a b a b a b a\"", false, false),
        ("\"a b a b c a\"", true, true),
        ("\"a b a b a b c*\"", true, true),
        ("\"a b a b a b d*\"", false, false),
        ("\"a a a b a b\"", false, true),
        ("\"a a a a b a b a b c*\"", false, true),
        ("NEAR(\"a b c\" d, 0)", true, true),
        ("NEAR(\"a b a b c\" d, 0)", true, true),
        ("NEAR(\"a b a b a b c a\" d, 7)", false, false),
        ("NEAR(\"a b a b a b c a\" d, 8)", true, true),
        ("NEAR(\"a b a b c\" d, 8)", true, true),
        ("NEAR(\"a a a a b a b\" d, 9)", false, false),
        ("NEAR(\"a a a a b a b\" d, 14)", false, true),
    ];
    for (q, short, in_long) in cases {
        assert_eq!(matches_text(q, "", text), short, "{q}");
        assert_eq!(matches_text(q, "", &long), in_long, "{q} in the long text");
    }
    // A phrase never runs from the title into the text, on either path.
    let title = "a ".repeat(5_000);
    assert!(!matches_text("\"a a a b c\"", &title, "b c"));
    assert!(!matches_text("title:\"a a a a b\"", &title, "a a a a b"));
    assert!(matches_text("\"a a a a b\"", &title, "a a a a b"));
}
