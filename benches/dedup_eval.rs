//! Precision and recall of "same story" as the store decides it (band lookup, then
//! `dedup::same_story`), on a labelled set built here, deterministically, from the article
//! texts of the extraction benchmark (`../shared/bench/extraction/*/truth.json`, or the
//! directory in `FEEDWATCH_BENCH_DATA`).
//!
//! Positives are the edits outlets really make to a story they carry: the lead reworded, the
//! text cut or extended by paragraphs, the headline changed, the text cut to a feed summary,
//! boilerplate appended, and all of those at once (a wire rewrite). Hard negatives are other
//! articles on the same subject (the pair sharing the most rare words and names), a feed
//! summary of one against its neighbour, and newsletter-like pages that share a template but
//! not a body.
//!
//! Run: `cargo bench --bench dedup_eval` (set `FEEDWATCH_EVAL_VERBOSE=1` to list the misses).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use feedwatch::dedup;
use feedwatch::store::{Ingested, NewItem, Store};

/// A fixed-seed generator (SplitMix64): the same set on every run and machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

#[derive(Clone)]
struct Doc {
    title: String,
    text: String,
}

struct Pair {
    kind: &'static str,
    same: bool,
    a: Doc,
    b: Doc,
}

fn data_dir() -> PathBuf {
    std::env::var_os("FEEDWATCH_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/extraction")
        })
}

/// A headline from the URL's slug (the truth files carry no title), else the first words.
fn title_of(url: &str, text: &str) -> String {
    let slug = url
        .trim_end_matches('/')
        .rsplit('/')
        .find(|seg| seg.chars().filter(|c| *c == '-' || *c == '_').count() >= 2)
        .unwrap_or("");
    let slug = slug.split('.').next().unwrap_or("");
    let words: Vec<&str> = slug
        .split(['-', '_'])
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    if words.len() >= 3 {
        let mut t = words.join(" ");
        if let Some(first) = t.get(..1) {
            t = first.to_uppercase() + &t[1..];
        }
        t
    } else {
        text.split_whitespace()
            .take(10)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn load() -> Vec<Doc> {
    let mut docs = Vec::new();
    for set in ["zyte", "wcxb-dev"] {
        let path = data_dir().join(set).join("truth.json");
        let raw = match std::fs::read_to_string(&path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!(
                    "cannot read {}: {e}; set FEEDWATCH_BENCH_DATA to the extraction benchmark directory",
                    path.display()
                );
                std::process::exit(2);
            }
        };
        let truth: BTreeMap<String, serde_json::Value> = match serde_json::from_str(&raw) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{} is not the expected JSON: {e}", path.display());
                std::process::exit(2);
            }
        };
        for v in truth.values() {
            let kind = v
                .get("page_type")
                .and_then(|k| k.as_str())
                .unwrap_or("article");
            let text = v.get("articleBody").and_then(|t| t.as_str()).unwrap_or("");
            let url = v.get("url").and_then(|t| t.as_str()).unwrap_or("");
            if kind == "article" && text.split_whitespace().count() >= 150 {
                docs.push(Doc {
                    title: title_of(url, text),
                    text: text.to_string(),
                });
            }
        }
    }
    docs
}

fn paragraphs(text: &str) -> Vec<String> {
    text.split('\n')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn sentences(par: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = par.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        cur.push(*c);
        let end = matches!(c, '.' | '?' | '!')
            && chars.get(i + 1).is_none_or(|n| n.is_whitespace())
            && cur.split_whitespace().count() >= 4;
        if end {
            out.push(cur.trim().to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

const SYNONYMS: &[(&str, &str)] = &[
    ("said", "stated"),
    ("says", "argues"),
    ("announced", "revealed"),
    ("will", "would"),
    ("also", "additionally"),
    ("about", "around"),
    ("after", "following"),
    ("but", "however"),
    ("big", "large"),
    ("large", "major"),
    ("new", "fresh"),
    ("more", "further"),
    ("many", "numerous"),
    ("show", "reveal"),
    ("help", "assist"),
    ("use", "employ"),
    ("start", "begin"),
    ("because", "as"),
    ("people", "residents"),
    ("government", "administration"),
    ("company", "firm"),
    ("country", "nation"),
    ("including", "among them"),
    ("important", "key"),
    ("expected", "set"),
    ("major", "significant"),
    ("officials", "authorities"),
    ("plans", "intends"),
    ("first", "initial"),
    ("recent", "latest"),
    ("could", "might"),
    ("very", "highly"),
];

/// Rewrites a paragraph the way a second outlet rewrites a lead: synonyms, sentences and
/// clauses in another order, a few words dropped.
fn reword(par: &str, rng: &mut Rng) -> String {
    let syn: HashMap<&str, &str> = SYNONYMS.iter().copied().collect();
    let mut sents = sentences(par);
    if sents.len() >= 2 {
        sents.swap(0, 1);
    }
    let mut out = Vec::new();
    for s in sents {
        // Clauses swapped around the first comma.
        let s = match s.split_once(", ") {
            Some((a, b)) if rng.chance(0.6) => {
                format!("{}, {}", b.trim_end_matches(['.', '!', '?']), a)
            }
            _ => s,
        };
        let mut ws = Vec::new();
        for w in s.split_whitespace() {
            let lower = w.to_lowercase();
            let bare = lower.trim_matches(|c: char| !c.is_alphanumeric());
            if let Some(r) = syn.get(bare) {
                ws.push(r.to_string());
            } else if rng.chance(0.12) {
                // dropped
            } else {
                ws.push(w.to_string());
            }
        }
        out.push(ws.join(" "));
    }
    out.join(" ")
}

const BOILERPLATE: &[&str] = &[
    "Reporting by Jane Doe in London; Additional reporting by Omar Faris; Editing by Mark Heinrich.",
    "Sign up for our newsletter to get the day's top stories delivered to your inbox every morning. It's free, and you can unsubscribe at any time.",
    "Copyright 2025 The Associated Press. All rights reserved. This material may not be published, broadcast, rewritten or redistributed without permission.",
    "This article originally appeared on our partner site and is republished here with permission. Follow us on Facebook, X and Instagram for more news.",
    "Have a news tip? Contact our newsroom by email or through our secure tip line. We read every message.",
];

const TEMPLATE_INTROS: &[(&str, &str)] = &[
    (
        "Daily briefing",
        "Good morning. This is the Daily Briefing, our newsletter that brings you the most important stories of the day in five minutes or less. If someone forwarded this to you, you can sign up on our website. Here is what you need to know today.",
    ),
    (
        "Morning newsletter",
        "Welcome to the Morning Newsletter. Every weekday we pick the stories worth your time, explain why they matter and point you to the best reporting from around the web. Grab a coffee and let's get started with today's top story.",
    ),
    (
        "The evening wrap",
        "Hello and welcome to The Evening Wrap, a look back at the day's news from our editors. Below you will find our top story, a few things we are reading and what to watch tomorrow.",
    ),
];

const TEMPLATE_OUTRO: &str = "That's all for today. Thanks for reading, and see you tomorrow. You are receiving this email because you subscribed to our newsletters. To change your preferences or unsubscribe, visit your account settings. Send your feedback and tips to our editors by replying to this email.";

fn feed_summary(doc: &Doc, rng: &mut Rng) -> Doc {
    let sents: Vec<String> = paragraphs(&doc.text)
        .iter()
        .flat_map(|p| sentences(p))
        .collect();
    let want = 1 + rng.below(3);
    let mut out: Vec<String> = Vec::new();
    for s in &sents {
        // Feeds cut to a few sentences but never to a fragment of a dozen words.
        if out.len() >= want
            && out
                .iter()
                .map(|s| s.split_whitespace().count())
                .sum::<usize>()
                >= 15
        {
            break;
        }
        out.push(s.clone());
    }
    let mut text = out.join(" ");
    match rng.below(3) {
        0 => text.push_str(" […]"),
        1 => text.push_str(" Continue reading..."),
        _ => {}
    }
    Doc {
        title: doc.title.clone(),
        text,
    }
}

fn lead_reworded(doc: &Doc, rng: &mut Rng) -> Doc {
    let mut ps = paragraphs(&doc.text);
    ps[0] = reword(&ps[0], rng);
    Doc {
        title: doc.title.clone(),
        text: ps.join("\n\n"),
    }
}

fn paragraphs_dropped(doc: &Doc, rng: &mut Rng) -> Doc {
    let mut ps = paragraphs(&doc.text);
    if ps.len() >= 3 {
        // Cut from the bottom (the inverted pyramid), sometimes a middle paragraph too.
        let keep = (ps.len() * (50 + rng.below(31)) / 100).max(2);
        ps.truncate(keep);
        if ps.len() >= 4 && rng.chance(0.5) {
            let i = 1 + rng.below(ps.len() - 2);
            ps.remove(i);
        }
        Doc {
            title: doc.title.clone(),
            text: ps.join("\n\n"),
        }
    } else {
        let words: Vec<&str> = doc.text.split_whitespace().collect();
        let keep = words.len() * (55 + rng.below(26)) / 100;
        Doc {
            title: doc.title.clone(),
            text: words[..keep].join(" "),
        }
    }
}

fn paragraphs_added(doc: &Doc, other: &Doc, rng: &mut Rng) -> Doc {
    let mut ps = paragraphs(&doc.text);
    let extra = paragraphs(&other.text);
    for _ in 0..1 + rng.below(2) {
        let p = rng.pick(&extra).clone();
        let at = 1 + rng.below(ps.len());
        ps.insert(at.min(ps.len()), p);
    }
    if rng.chance(0.5) {
        ps.insert(
            0,
            "Updated at 10:42 with a statement from the ministry and further details.".into(),
        );
    }
    Doc {
        title: doc.title.clone(),
        text: ps.join("\n\n"),
    }
}

fn headline_changed(doc: &Doc, rng: &mut Rng) -> Doc {
    let words: Vec<&str> = doc.title.split_whitespace().collect();
    let mut t: Vec<String> = words.iter().rev().map(|w| w.to_string()).collect();
    t.truncate(t.len().min(4));
    let title = match rng.below(3) {
        0 => format!("What we know: {}", t.join(" ")),
        1 => format!("UPDATE 2-{}", doc.title.to_uppercase()),
        _ => "Live: the latest developments".to_string(),
    };
    Doc {
        title,
        text: doc.text.clone(),
    }
}

fn boilerplate(doc: &Doc, rng: &mut Rng) -> Doc {
    let mut text = doc.text.clone();
    if rng.chance(0.4) {
        text = format!("LONDON (Wire) - {text}");
    }
    for _ in 0..1 + rng.below(2) {
        text.push_str("\n\n");
        let line: &&str = rng.pick(BOILERPLATE);
        text.push_str(line);
    }
    Doc {
        title: doc.title.clone(),
        text,
    }
}

/// Everything a wire rewrite does at once: lead reworded, bottom cut, boilerplate, headline.
fn wire_rewrite(doc: &Doc, rng: &mut Rng) -> Doc {
    let d = lead_reworded(doc, rng);
    let d = paragraphs_dropped(&d, rng);
    let d = boilerplate(&d, rng);
    headline_changed(&d, rng)
}

fn templated(title: &str, intro: &str, body: &Doc, rng: &mut Rng) -> Doc {
    let ps = paragraphs(&body.text);
    let mut taken = Vec::new();
    let mut n = 0;
    for p in ps {
        n += p.split_whitespace().count();
        taken.push(p);
        if n >= 120 + rng.below(200) {
            break;
        }
    }
    Doc {
        title: title.to_string(),
        text: format!("{intro}\n\n{}\n\n{TEMPLATE_OUTRO}", taken.join("\n\n")),
    }
}

/// For each document, the other sharing the most rare words and names (words found in few
/// documents weigh most): a different article on the same subject.
fn neighbours(docs: &[Doc]) -> Vec<usize> {
    let sets: Vec<HashSet<String>> = docs
        .iter()
        .map(|d| {
            dedup::words(&d.text)
                .into_iter()
                .filter(|w| w.len() > 2)
                .collect()
        })
        .collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for s in &sets {
        for w in s {
            *df.entry(w.as_str()).or_default() += 1;
        }
    }
    let mut postings: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in sets.iter().enumerate() {
        for w in s {
            if df[w.as_str()] <= 20 {
                postings.entry(w.as_str()).or_default().push(i);
            }
        }
    }
    let n = docs.len() as f64;
    (0..docs.len())
        .map(|i| {
            let mut score: HashMap<usize, f64> = HashMap::new();
            for w in &sets[i] {
                if let Some(p) = postings.get(w.as_str()) {
                    let idf = (n / p.len() as f64).ln();
                    for &j in p {
                        if j != i {
                            *score.entry(j).or_default() += idf;
                        }
                    }
                }
            }
            let mut best: Vec<(usize, f64)> = score.into_iter().collect();
            best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            best.first().map(|b| b.0).unwrap_or((i + 1) % docs.len())
        })
        .collect()
}

/// Whether two source texts are copies of one article: a third of the shorter one's 5-word
/// runs found in the other (an independent measure from the one under test).
fn copies_in_source(a: &Doc, b: &Doc) -> bool {
    let runs = |d: &Doc| -> HashSet<Vec<String>> {
        dedup::words(&d.text)
            .windows(5)
            .map(|w| w.to_vec())
            .collect()
    };
    let (ra, rb) = (runs(a), runs(b));
    let common = ra.intersection(&rb).count();
    common * 3 >= ra.len().min(rb.len())
}

fn build_pairs(docs: &[Doc]) -> Vec<Pair> {
    let mut rng = Rng(0x00fe_edd0_d0ed_0001);
    let near = neighbours(docs);
    let mut pairs = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let other = &docs[(i * 7 + 13) % docs.len()];
        let positives: [(&'static str, Doc); 7] = [
            ("lead_reworded", lead_reworded(d, &mut rng)),
            ("paragraphs_dropped", paragraphs_dropped(d, &mut rng)),
            ("paragraphs_added", paragraphs_added(d, other, &mut rng)),
            ("headline_changed", headline_changed(d, &mut rng)),
            ("feed_summary", feed_summary(d, &mut rng)),
            ("boilerplate", boilerplate(d, &mut rng)),
            ("wire_rewrite", wire_rewrite(d, &mut rng)),
        ];
        for (kind, b) in positives {
            let mut a = d.clone();
            // Half the extracted pages carry their headline as a first line; summaries do not.
            if kind == "feed_summary" && rng.chance(0.5) {
                a.text = format!("{}\n\n{}", a.title, a.text);
            }
            pairs.push(Pair {
                kind,
                same: true,
                a,
                b,
            });
        }
        let n = &docs[near[i]];
        if copies_in_source(d, n) {
            // The source set holds some articles twice (one page under two addresses): such a
            // pair is one story, so it cannot serve as a negative.
            continue;
        }
        if near[i] > i || near[near[i]] != i {
            pairs.push(Pair {
                kind: "same_subject",
                same: false,
                a: d.clone(),
                b: n.clone(),
            });
        }
        pairs.push(Pair {
            kind: "same_subject_summary",
            same: false,
            a: n.clone(),
            b: feed_summary(d, &mut rng),
        });
        let (title, intro) = *rng.pick(TEMPLATE_INTROS);
        pairs.push(Pair {
            kind: "shared_template",
            same: false,
            a: templated(title, intro, d, &mut rng),
            b: templated(title, intro, n, &mut rng),
        });
        let bp = rng.pick(BOILERPLATE);
        pairs.push(Pair {
            kind: "shared_boilerplate",
            same: false,
            a: Doc {
                title: d.title.clone(),
                text: format!("{}\n\n{bp}", feed_summary(d, &mut rng).text),
            },
            b: Doc {
                title: n.title.clone(),
                text: format!("{}\n\n{bp}", feed_summary(n, &mut rng).text),
            },
        });
    }
    pairs
}

/// Whether the store files the second text under the first one's story.
fn store_says_same(p: &Pair, swap: bool, n: usize) -> bool {
    let store = match Store::open_in_memory() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot open an in-memory store: {e}");
            std::process::exit(1);
        }
    };
    let fa = store.sync_feed("a", "https://a.example/rss");
    let fb = store.sync_feed("b", "https://b.example/rss");
    let (Ok(fa), Ok(fb)) = (fa, fb) else {
        eprintln!("cannot create feeds");
        std::process::exit(1);
    };
    let (first, second) = if swap { (&p.b, &p.a) } else { (&p.a, &p.b) };
    let item = |feed_id: i64, d: &Doc, at: i64| NewItem {
        feed_id,
        guid: format!("{n}-{feed_id}"),
        url: Some(format!("https://x{feed_id}.example/{n}")),
        canonical_url: Some(format!("https://x{feed_id}.example/{n}")),
        title: d.title.clone(),
        seen_at: at,
        text: d.text.clone(),
        ..Default::default()
    };
    let one = store.ingest(&item(fa.id, first, 1_000), &[]);
    let two = store.ingest(&item(fb.id, second, 4_600), &[]);
    matches!(
        (one, two),
        (
            Ok(Ingested::NewStory { .. }),
            Ok(Ingested::JoinedStory { .. })
        )
    )
}

fn main() {
    // Under `cargo bench` libtest-style arguments arrive; this bench has nothing to filter.
    let verbose = std::env::var_os("FEEDWATCH_EVAL_VERBOSE").is_some();
    let docs = load();
    let pairs = build_pairs(&docs);
    let started = std::time::Instant::now();
    let (mut tp, mut fp, mut fn_, mut tn) = (0usize, 0usize, 0usize, 0usize);
    let mut per_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut rng = Rng(7);
    for (n, p) in pairs.iter().enumerate() {
        let said = store_says_same(p, rng.chance(0.5), n);
        let e = per_kind.entry(p.kind).or_default();
        e.1 += 1;
        if said == p.same {
            e.0 += 1;
        }
        match (p.same, said) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => tn += 1,
        }
        if verbose && said != p.same {
            let s = dedup::similarity(
                &dedup::Shingles::of(&p.a.text),
                &dedup::Shingles::of(&p.b.text),
            );
            println!(
                "MISS {} same={} jaccard={:.3} containment={:.3} common={} shorter={}\n  A: {} | {}\n  B: {} | {}",
                p.kind,
                p.same,
                s.jaccard,
                s.containment,
                s.common,
                s.shorter,
                p.a.title,
                p.a.text
                    .chars()
                    .take(160)
                    .collect::<String>()
                    .replace('\n', " "),
                p.b.title,
                p.b.text
                    .chars()
                    .take(160)
                    .collect::<String>()
                    .replace('\n', " "),
            );
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    println!("dedup_eval: {} source articles", docs.len());
    println!(
        "pairs {}  (positives {}, negatives {})",
        pairs.len(),
        tp + fn_,
        fp + tn
    );
    println!("TP {tp}  FP {fp}  FN {fn_}  TN {tn}");
    println!("precision {precision:.4}  recall {recall:.4}");
    println!("per kind (positives: recall; negatives: share kept apart):");
    for (kind, (right, total)) in &per_kind {
        println!(
            "  {kind:<22} {right:>5}/{total:<5} {:.4}",
            *right as f64 / (*total).max(1) as f64
        );
    }
    println!("({:.1} s)", started.elapsed().as_secs_f64());
}
