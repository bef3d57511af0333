//! The article stage: an article page's bytes in, the clean [`Article`] out.
//!
//! Owns charset decoding of pages ([`charset`]), metadata from JSON-LD, OpenGraph, meta tags and
//! `<time>` ([`metadata`]), finding the main content block and dropping boilerplate (navigation,
//! share buttons, related lists, comments, cookie banners) ([`content`]), recognising pages that
//! are not articles (paywall stubs, bot challenges, login walls, empty app shells), and the
//! sanitised HTML of the article for email ([`render`]). Hands on an [`Article`]; never fails: a
//! page that yields nothing gives an empty text and a `not_article` reason.

pub mod charset;
mod content;
mod dom;
mod metadata;
mod render;
pub mod rules;
mod tree;

use std::io::Read;

use chrono::{DateTime, Utc};
use url::Url;

use crate::bounds::{self, Budget, EXTRACT_BUDGET, OutOfTime};
use crate::config::SiteRule;
use content::{Explanation, Kind, Overrides};
pub use rules::{Rule, Rules};

/// Pages larger than this (after decompression) are cut: the fetch stage's page cap.
pub const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;

/// What a page yields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Article {
    /// The headline, without the site suffix (`| TOME`).
    pub title: Option<String>,
    /// Who wrote it, as the page names them (alerts and `author:` topics use it).
    pub byline: Option<String>,
    /// When it was first published, UTC (orders stories, shown in alerts).
    pub published: Option<DateTime<Utc>>,
    /// The publication's name, for alerts and the `feed:`-like display.
    pub site_name: Option<String>,
    /// The page's language tag, for choosing stemming in topics.
    pub lang: Option<String>,
    /// The canonical URL the page declares (`rel=canonical`, `og:url`), absolute.
    pub url: Option<String>,
    /// The lead image (OpenGraph, JSON-LD), absolute, for emails.
    pub image: Option<String>,
    /// Body text: paragraphs separated by blank lines; never repeats the headline.
    pub text: String,
    /// The article body as sanitised HTML.
    pub html: String,
    /// Why this page is not an article (paywall, bot challenge, login wall, empty shell), if so.
    pub not_article: Option<String>,
}

/// Why a saved page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(
        "the file looks gzip-compressed but does not decompress ({0}); re-save the page or gunzip it first"
    )]
    Gzip(std::io::Error),
}

/// True when `bytes` start with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The page bytes of a saved file: gunzipped when compressed, cut at [`MAX_PAGE_BYTES`].
pub fn page_bytes(raw: Vec<u8>) -> Result<Vec<u8>, ExtractError> {
    if !is_gzip(&raw) {
        let mut raw = raw;
        raw.truncate(MAX_PAGE_BYTES);
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .take(MAX_PAGE_BYTES as u64)
        .read_to_end(&mut out)
        .map_err(ExtractError::Gzip)?;
    Ok(out)
}

/// Extracts the article from a page. `charset` is the HTTP `Content-Type` charset if any.
///
/// Bounded in time: the page is cut down before html5ever reads it (see
/// [`crate::bounds::html`]), and a page still unread after [`EXTRACT_BUDGET`] gives an empty
/// article whose `not_article` says so.
pub fn extract(
    html: &[u8],
    charset: Option<&str>,
    page_url: Option<&Url>,
    rules: &[SiteRule],
) -> Article {
    extract_within(html, charset, page_url, rules, &Budget::new(EXTRACT_BUDGET))
}

/// [`extract`] with some of the extraction [`Rules`] switched off: for measuring what each
/// rule is worth (the extraction bench's `--without RULE`).
pub fn extract_with_rules(html: &[u8], page_url: Option<&Url>, rules: Rules) -> Article {
    let budget = Budget::new(EXTRACT_BUDGET);
    match try_extract(html, None, page_url, &[], &budget, rules, false) {
        Ok((article, _)) => article,
        Err(e) => Article {
            not_article: Some(format!("the page could not be read in time: {e}")),
            ..Article::default()
        },
    }
}

/// The part of [`extract`] that comes before any extraction: decoding the page and parsing
/// it into extraction's own tree, with the hostile-input pre-pass ([`bounds::html::limit`])
/// when `bounded`. For the extraction bench, which times it beside a bare html5ever parse as
/// the floor extraction cannot go below; returns the tree's node count, so that nothing is
/// optimised away.
#[doc(hidden)]
pub fn parse_floor(html: &[u8], bounded: bool) -> usize {
    let html = &html[..html.len().min(MAX_PAGE_BYTES)];
    let source = charset::decode(html, None, None);
    let page = if bounded {
        match bounds::html::parse_into(
            &source,
            &Budget::new(EXTRACT_BUDGET),
            tree::Sink::new(source.len()),
        ) {
            Ok(page) => page,
            Err(_) => return 0,
        }
    } else {
        tree::parse(&source)
    };
    page.nodes.len()
}

/// Says how the body of a page was found: for each block of the page, its score, whether it
/// is in the body, and the rule (or the step of the scoring core) that kept or dropped it,
/// after the element chosen as the body. What `feedwatch extract --explain` prints.
pub fn explain(html: &[u8], page_url: Option<&Url>, rules: Rules) -> String {
    let budget = Budget::new(EXTRACT_BUDGET);
    match try_extract(html, None, page_url, &[], &budget, rules, true) {
        Ok((article, Some(x))) => render_explanation(&article, &x),
        Ok((_, None)) => String::from("no explanation\n"),
        Err(e) => format!("the page could not be read in time: {e}\n"),
    }
}

/// The explanation as lines: the chosen element, then one line per block.
fn render_explanation(article: &Article, x: &Explanation) -> String {
    let mut out = String::new();
    match &x.chosen {
        Some((element, score)) => {
            out.push_str(&format!("body: {element} (score {score:.1})\n"));
        }
        None => out.push_str("body: the site rule's content\n"),
    }
    if let Some(cards) = &x.cards {
        out.push_str(&format!("cards joined: {cards}\n"));
    }
    if let Some(reason) = &article.not_article {
        out.push_str(&format!("not an article: {reason}\n"));
    }
    out.push_str(&format!(
        "{:>9}  {:<4}  {:<18}  {:<28}  text\n",
        "score", "", "rule", "element"
    ));
    for v in &x.blocks {
        let text: String = v.text.chars().take(70).collect();
        let more = if v.text.chars().nth(70).is_some() {
            "…"
        } else {
            ""
        };
        let element: String = v.element.chars().take(28).collect();
        out.push_str(&format!(
            "{:>9.1}  {:<4}  {:<18}  {:<28}  {}{}\n",
            v.score,
            if v.kept { "keep" } else { "drop" },
            v.why,
            element,
            text.replace('\n', " "),
            more
        ));
    }
    out
}

/// [`extract`] with a time budget of the caller's.
pub fn extract_within(
    html: &[u8],
    charset: Option<&str>,
    page_url: Option<&Url>,
    rules: &[SiteRule],
    budget: &Budget,
) -> Article {
    match try_extract(html, charset, page_url, rules, budget, Rules::ALL, false) {
        Ok((article, _)) => article,
        Err(e) => Article {
            not_article: Some(format!("the page could not be read in time: {e}")),
            ..Article::default()
        },
    }
}

fn try_extract(
    html: &[u8],
    charset: Option<&str>,
    page_url: Option<&Url>,
    rules: &[SiteRule],
    budget: &Budget,
    switches: Rules,
    explain: bool,
) -> Result<(Article, Option<Explanation>), OutOfTime> {
    let html = &html[..html.len().min(MAX_PAGE_BYTES)];
    let tld = page_url
        .and_then(Url::host_str)
        .and_then(|h| h.rsplit('.').next());
    let source = charset::decode(html, charset, tld);
    let source = if switches.on(Rule::UnclosedTitle) {
        close_runaway_title(&source)
    } else {
        std::borrow::Cow::Borrowed(&*source)
    };
    let page = bounds::html::parse_into(&source, budget, tree::Sink::new(source.len()))?;
    let dom = dom::Dom::new(&page);
    let meta = metadata::read(&dom, page_url);
    let overrides = site_overrides(&source, budget, page_url, rules)?;
    budget.check()?;
    let mut body = content::find(&dom, &overrides, &meta, switches, explain);
    budget.check()?;

    let title_key = meta
        .title
        .as_deref()
        .map(metadata::fold)
        .unwrap_or_default();
    let mut explanation = body.explanation.take();
    if let Some(x) = &mut explanation {
        for v in x.blocks.iter_mut().filter(|v| v.kept) {
            if !title_key.is_empty() && metadata::folds_to(&v.text, &title_key) {
                v.kept = false;
                v.why = "title";
            }
        }
    }
    let mut paras: Vec<(Kind, String)> = body
        .blocks
        .into_iter()
        .filter(|(_, text)| title_key.is_empty() || !metadata::folds_to(text, &title_key))
        .collect();

    // A page rendered by script may carry its content for crawlers inside `<noscript>`
    // (forum software does this); the parser keeps that as raw text, so parse it on its own.
    let body_chars: usize = paras.iter().map(|(_, t)| t.len()).sum();
    if switches.on(Rule::NoscriptFallback) && body_chars < 200 {
        let fallback: String = dom
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.tag() == "noscript")
            .map(|(idx, _)| {
                dom.items[idx + 1..dom.items[idx].end as usize]
                    .iter()
                    .filter_map(|i| i.text())
                    .collect::<String>()
            })
            .filter(|t| t.len() > 500)
            .collect();
        if !fallback.is_empty() {
            let inner =
                bounds::html::parse_into(&fallback, budget, tree::Sink::new(fallback.len()))?;
            let inner_dom = dom::Dom::new(&inner);
            let inner_meta = metadata::read(&inner_dom, page_url);
            let found = content::find(
                &inner_dom,
                &Overrides::default(),
                &inner_meta,
                switches,
                false,
            );
            let inner_paras: Vec<(Kind, String)> = found
                .blocks
                .into_iter()
                .filter(|(_, text)| title_key.is_empty() || !metadata::folds_to(text, &title_key))
                .collect();
            if inner_paras.iter().map(|(_, t)| t.len()).sum::<usize>() > body_chars {
                paras = inner_paras;
                mark_replaced(&mut explanation, Rule::NoscriptFallback);
            }
        }
    }

    // Structured data as a candidate: when the page's own articleBody holds clearly more than
    // the DOM gave (a body rendered by script, or cut into teaser blocks), it wins.
    if !body.by_rule
        && switches.on(Rule::StructuredBody)
        && let Some(ld) = &meta.ld_body
    {
        let dom_chars: usize = paras.iter().map(|(_, t)| t.len()).sum();
        if ld.len() > dom_chars * 2 + rules::LIMITS.structured_margin {
            mark_replaced(&mut explanation, Rule::StructuredBody);
            paras = ld
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| (Kind::Para, l.to_string()))
                .collect();
        }
    }

    let text = paras
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    let html = render::html(&paras);
    let not_article = classify(&dom, &meta, &text);
    let article = Article {
        title: meta.title,
        byline: meta.byline,
        published: meta.published,
        site_name: meta.site_name,
        lang: meta.lang,
        url: meta.url,
        image: meta.image,
        text,
        html,
        not_article,
    };
    Ok((article, explanation))
}

/// Where `pat` (ASCII, lowercase) first occurs in `hay` from `from` on, ignoring ASCII case.
/// Candidates are found by their first byte (either case) with memchr, then compared.
fn find_ascii(hay: &[u8], pat: &[u8], from: usize) -> Option<usize> {
    let (&first, _) = pat.split_first()?;
    let rest = hay.get(from..)?;
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), rest)
        .find(|&at| {
            rest.get(at..at + pat.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(pat))
        })
        .map(|at| at + from)
}

/// A page whose `<title>` is never closed before its body (a 2000s template that forgot
/// `</title>`, often with a script after it) is read by an HTML parser as one long title: the
/// whole page becomes the title's text and no body is left. Old browsers ended such a title at
/// the next tag; so does this, by putting the missing `</title>` before the first `<` after
/// it. A title closed in the head (even one holding a script's text) is left alone. Linear:
/// three scans of the head at most.
fn close_runaway_title(source: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let bytes = source.as_bytes();
    let Some(open) = find_ascii(bytes, b"<title", 0) else {
        return Cow::Borrowed(source);
    };
    // Only the document's own title, in its head: an SVG's `<title>` sits in the body.
    if find_ascii(&bytes[..open], b"<body", 0).is_some() {
        return Cow::Borrowed(source);
    }
    let Some(text_at) = bytes[open..]
        .iter()
        .position(|&b| b == b'>')
        .map(|i| open + i + 1)
    else {
        return Cow::Borrowed(source);
    };
    let body =
        find_ascii(bytes, b"<body", text_at).or_else(|| find_ascii(bytes, b"</head", text_at));
    let close = find_ascii(bytes, b"</title", text_at);
    let runaway = match (close, body) {
        (None, _) => true,
        (Some(c), Some(b)) => b < c,
        (Some(_), None) => false,
    };
    if !runaway {
        return Cow::Borrowed(source);
    }
    let end = bytes[text_at..]
        .iter()
        .position(|&b| b == b'<')
        .map_or(bytes.len(), |i| text_at + i);
    let mut fixed = String::with_capacity(source.len() + 8);
    fixed.push_str(&source[..end]);
    fixed.push_str("</title>");
    fixed.push_str(&source[end..]);
    Cow::Owned(fixed)
}

/// In the explanation, the page's blocks gave way to another source of the text.
fn mark_replaced(explanation: &mut Option<Explanation>, rule: Rule) {
    if let Some(x) = explanation {
        for v in &mut x.blocks {
            v.kept = false;
            v.why = rule.name();
        }
        x.chosen = x
            .chosen
            .take()
            .map(|(e, s)| (format!("{e}, replaced by {}", rule.name()), s));
    }
}

/// Resolves the site rules that apply to `page_url`'s host (the host itself or a subdomain)
/// against the page, as indices of the page's [`dom::Dom`]. Their CSS selectors need scraper's
/// tree, so a page a rule applies to is parsed a second time into one; its nodes, taken in
/// the order the `Dom` takes the extraction's own tree, are the same ones.
fn site_overrides(
    source: &str,
    budget: &Budget,
    page_url: Option<&Url>,
    rules: &[SiteRule],
) -> Result<Overrides, OutOfTime> {
    let mut ov = Overrides::default();
    let Some(host) = page_url.and_then(Url::host_str) else {
        return Ok(ov);
    };
    let host = host.trim_start_matches("www.");
    let applies = |rule: &&SiteRule| {
        let h = rule.host.trim_start_matches("www.");
        host == h || host.ends_with(&format!(".{h}"))
    };
    if !rules.iter().any(|r| applies(&r)) {
        return Ok(ov);
    }
    let doc = bounds::html::parse_document(source, budget)?;
    let index = dom_indices(&doc);
    let at = |e: scraper::ElementRef<'_>| index.get(&e.id()).copied();
    for rule in rules.iter().filter(applies) {
        let parse = |sel: &str| match scraper::Selector::parse(sel) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(host = %rule.host, selector = sel, error = %e, "site rule selector does not parse; fix it in the config");
                None
            }
        };
        if let Some(sel) = rule.content.as_deref().and_then(parse) {
            ov.content.extend(doc.select(&sel).filter_map(at));
        }
        for sel in rule.remove.iter().filter_map(|s| parse(s)) {
            ov.remove.extend(doc.select(&sel).filter_map(at));
        }
    }
    Ok(ov)
}

/// Each node of scraper's tree by its index in the [`dom::Dom`] of the same page: document
/// order, comments and processing instructions left out.
fn dom_indices(doc: &scraper::Html) -> std::collections::HashMap<ego_tree::NodeId, usize> {
    let mut index = std::collections::HashMap::new();
    for edge in doc.tree.root().traverse() {
        if let ego_tree::iter::Edge::Open(node) = edge
            && !matches!(
                node.value(),
                scraper::Node::Comment(_) | scraper::Node::ProcessingInstruction(_)
            )
        {
            let next = index.len();
            index.insert(node.id(), next);
        }
    }
    index
}

const CHALLENGE: [&str; 10] = [
    "just a moment",
    "attention required",
    "checking your browser",
    "verify you are human",
    "verifying you are human",
    "are you a robot",
    "complete the security check",
    "enable javascript and cookies to continue",
    "access denied",
    "please enable cookies",
];

const PAYWALL: [&str; 9] = [
    "subscribe to continue",
    "subscribe to read",
    "to continue reading",
    "already a subscriber",
    "for subscribers only",
    "exclusive to subscribers",
    "subscriber-only",
    "become a subscriber",
    "start your subscription",
];

const LOGIN: [&str; 6] = [
    "sign in to continue",
    "log in to continue",
    "login to continue",
    "please log in",
    "please sign in",
    "you must be logged in",
];

/// Recognises pages that are not articles. Only short pages are judged: a long text is an
/// article whatever its furniture says.
fn classify(dom: &dom::Dom, meta: &metadata::Meta, text: &str) -> Option<String> {
    let chars = text.chars().count();
    if chars > 1500 {
        return None;
    }
    let page_text: String = dom
        .items
        .iter()
        .filter(|i| {
            let p = i.parent;
            i.text().is_some()
                && (p == u32::MAX || !matches!(dom.items[p as usize].tag(), "script" | "style"))
        })
        .filter_map(|i| i.text())
        .take(400)
        .collect::<String>()
        .to_lowercase();
    let title = meta.title.as_deref().unwrap_or_default().to_lowercase();
    let hay = format!("{title} {page_text}");
    if chars < 600 && CHALLENGE.iter().any(|p| hay.contains(p)) {
        return Some(
            "bot challenge: the site answered with a browser check instead of the article".into(),
        );
    }
    let has_password = dom.items.iter().any(|i| {
        i.tag() == "input"
            && i.attr("type")
                .is_some_and(|t| t.eq_ignore_ascii_case("password"))
    });
    // Many sites carry a sign-in form in the header, so only a near-empty page is a wall.
    if chars < 300 && (has_password || LOGIN.iter().any(|p| hay.contains(p))) {
        return Some("login wall: the page asks to sign in instead of showing the article".into());
    }
    if meta.paywalled && chars < 1200 || chars < 600 && PAYWALL.iter().any(|p| hay.contains(p)) {
        return Some("paywall: only a teaser is public".into());
    }
    if chars < 200 {
        let app_root = dom.items.iter().any(|i| {
            i.attr("id").is_some_and(|id| {
                matches!(
                    id,
                    "root" | "app" | "__next" | "__nuxt" | "___gatsby" | "svelte"
                )
            })
        });
        let scripts = dom.items.iter().filter(|i| i.tag() == "script").count();
        if app_root || scripts >= 3 || hay.contains("enable javascript") {
            return Some(
                "empty app shell: the page is rendered by script and carries no article text"
                    .into(),
            );
        }
        return Some("no article text found on the page".into());
    }
    None
}

#[cfg(test)]
pub(crate) mod tests;
