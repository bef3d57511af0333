//! Finds the article body. The page is cut into text blocks (paragraphs, headings, list items,
//! the inline runs between them); each block gets a value from its own signals (length, link
//! density, boilerplate class/id/role, position before the headline), each element sums the
//! values of the blocks inside it and is weighted by semantic hints (`article`, `main`,
//! `itemprop=articleBody`, content-like class names). The best element is the body; its blocks,
//! minus the boilerplate inside it, are the text. A page whose text sits in repeated sibling
//! cards (a listing, a product grid, table rows) gives the cards instead, unless the page is an
//! article and the cards are its related links.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ego_tree::NodeId;
use regex::{Regex, RegexSet};

use super::dom::{Dom, push_collapsed};
use super::metadata::Meta;

/// What a text block is, for layout of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Para,
    Heading(u8),
    Item,
    Quote,
    Pre,
}

/// A run of text the reader sees as one paragraph.
#[derive(Debug, Clone)]
pub struct Block {
    /// Index of the nearest block-level element holding the text.
    pub owner: usize,
    /// Index of the block's first text node: its place in document order.
    pub start: usize,
    /// The text, whitespace collapsed (kept as is inside `<pre>`).
    pub text: String,
    /// Characters of the text that sit inside links.
    pub link_chars: usize,
    /// Of those, the characters inside a link that wraps whole blocks: a card's title and
    /// description, made one link so that the whole card can be clicked.
    pub card_link_chars: usize,
    /// Characters of the text.
    pub chars: usize,
    pub kind: Kind,
    /// Inside an element whose class/id/role/tag marks boilerplate.
    pub boiler: bool,
}

/// Per-site overrides resolved against the parsed page.
#[derive(Default)]
pub struct Overrides {
    /// Elements the site rule names as the content.
    pub content: HashSet<NodeId>,
    /// Elements the site rule removes.
    pub remove: HashSet<NodeId>,
}

/// Tags whose content is never article text.
fn is_skipped(tag: &str) -> bool {
    matches!(
        tag,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "iframe"
            | "head"
            | "title"
            | "meta"
            | "link"
            | "button"
            | "select"
            | "option"
            | "input"
            | "textarea"
            | "canvas"
            | "object"
            | "embed"
            | "video"
            | "audio"
            | "map"
            | "math"
            | "dialog"
    )
}

/// How many of a link's descendants are read to see whether it wraps blocks (a card).
const CARD_LOOKAHEAD: usize = 32;

fn is_block(tag: &str) -> bool {
    matches!(
        tag,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "body"
            | "dd"
            | "details"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hr"
            | "li"
            | "main"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "table"
            | "tbody"
            | "thead"
            | "tfoot"
            | "tr"
            | "ul"
            | "summary"
            | "caption"
            | "html"
            | "center"
            | "legend"
    )
}

/// Class/id names of page furniture. Not `cmp`, the consent platforms' short name: a
/// widespread content manager prefixes all of its components with it (`cmp-text`,
/// `cmp-container`), the page's text among them, while a consent notice also says `consent`,
/// `gdpr` or `cookie`, or is a dialog.
static BOILER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)(?:^|[\s_-])(?:
            nav|navbar|navigation|menu|menus|submenu|breadcrumbs?|crumbs?|skip|skiplink|
            share|sharing|sharebar|social|socials|follow|
            related|recommended|recommendations|more-?stories|read-?more|readmore|trending|popular|most-?read|
            comments?|comment-?list|disqus|replies|respond|
            cookies?|consent|gdpr|
            newsletter|subscribe|subscription|signup|sign-up|paywall|
            promo|promos|promotion|sponsor|sponsored|partner|outbrain|taboola|
            ad|ads|advert|adverts|advertisement|advertising|dfp|gpt|adslot|ad-?slot|ad-?container|
            sidebar|side-?bar|
            footer|site-?footer|masthead|site-?header|topbar|top-?bar|toolbar|
            byline|dateline|timestamp|meta|post-?meta|entry-?meta|article-?meta|author-?bio|
            tags|tag-?list|tagcloud|categories|pagination|pager|popup|modal|print|
            caption|credits?
        )(?:$|[\s_-])",
    )
    .unwrap_or_else(|_| unreachable_regex())
});

static POSITIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)(?:^|[\s_-])(?:
            article-?body|articlebody|article-?content|article-?text|entry-?content|entry-?body|
            post-?content|post-?body|post-?text|story-?body|story-?content|story-?text|
            content-?body|body-?text|main-?content|page-?content|rich-?text|prose|
            blog-?post|single-?post|text-?content|article
        )(?:$|[\s_-])",
    )
    .unwrap_or_else(|_| unreachable_regex())
});

/// Class/id names of what buyers say of a product (reviews, ratings, testimonials). Only on a
/// page that declares a product: elsewhere reviews and testimonials are often the content.
static SHOP_BOILER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)(?:^|[\s_-])(?:
            reviews?|testimonials?|ratings?
        )(?:$|[\s_-])",
    )
    .unwrap_or_else(|_| unreachable_regex())
});

/// The patterns above are constants; should one ever fail to compile, match nothing rather
/// than take the daemon down.
fn unreachable_regex() -> Regex {
    Regex::new("$^").unwrap_or_else(|_| unreachable!("an empty pattern always compiles"))
}

/// Appends a class or id string lowercased, camelCase joined by `-`, for the patterns.
fn push_name(s: &mut String, name: &str) {
    s.push(' ');
    let mut prev_lower = false;
    for ch in name.chars() {
        if ch.is_ascii_uppercase() && prev_lower {
            s.push('-');
        }
        prev_lower = ch.is_ascii_lowercase();
        s.push(ch.to_ascii_lowercase());
    }
}

/// What an element's class/id names say, as bits: read once per element, since the patterns
/// are asked about many times per element over the cuts of a page.
const C_BOILER: u8 = 1;
const C_POSITIVE: u8 = 2;
const C_NEVER: u8 = 4;
const C_SHOP: u8 = 8;
/// Named as a comment section on a page that declares itself a discussion, where the
/// comments are the posts: such a name then says nothing against the element.
const C_POSTS: u8 = 16;
/// Named as a comment section, whatever the page.
const C_COMMENTS: u8 = 32;

/// Class names of text kept for screen readers only, drawn off-screen or clipped to nothing:
/// a reader of the page never sees it ("Regular price", "Opens in a new window").
const C_SCREEN_READER: u8 = 64;

static SCREEN_READER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|[\s_-])(?:sr-only|visually-hidden|visuallyhidden|screen-reader-text|screen-reader-only|screenreader-only|a11y-hidden|assistive-text)(?:$|[\s_-])",
    )
    .unwrap_or_else(|_| unreachable_regex())
});

static COMMENTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s_-])(?:comments?|comment-?list|replies|reply|respond)(?:$|[\s_-])")
        .unwrap_or_else(|_| unreachable_regex())
});

/// The class/id patterns in one set, so that each element's names are scanned once.
static HINT_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        POSITIVE.as_str(),
        BOILER.as_str(),
        NEVER_BODY.as_str(),
        SHOP_BOILER.as_str(),
        COMMENTS.as_str(),
        SCREEN_READER.as_str(),
    ])
    .unwrap_or_else(|_| RegexSet::empty())
});

fn class_hints<'a>(dom: &Dom<'a>, thread: bool) -> Vec<u8> {
    // Cards, list items and table rows repeat one class string many times over, so each
    // distinct class or id string is read once. No pattern spans the space between the two,
    // so the bits of `class id` are those of each name or'ed.
    let mut seen: HashMap<&'a str, u8> = HashMap::new();
    let mut buf = String::new();
    let mut bits_of = |name: Option<&'a str>| {
        name.map_or(0, |name| {
            *seen.entry(name).or_insert_with(|| {
                buf.clear();
                push_name(&mut buf, name);
                let found = HINT_SET.matches(&buf);
                [
                    C_POSITIVE,
                    C_BOILER,
                    C_NEVER,
                    C_SHOP,
                    C_POSTS | C_COMMENTS,
                    C_SCREEN_READER,
                ]
                .into_iter()
                .enumerate()
                .filter(|&(i, _)| found.matched(i))
                .fold(0, |bits, (_, bit)| bits | bit)
            })
        })
    };
    // Inside code, class names are a syntax highlighter's (`hljs-comment`, `token comment`):
    // they name parts of the program, not parts of the page.
    let mut code_end = 0;
    dom.items
        .iter()
        .enumerate()
        .map(|(idx, item)| {
            if idx < code_end {
                return 0;
            }
            if matches!(item.tag(), "pre" | "code") {
                code_end = item.end as usize;
            }
            let bits = bits_of(item.attr("class")) | bits_of(item.attr("id"));
            // A comment-section name clears a boilerplate name only on a discussion's page.
            if thread && bits & C_BOILER != 0 {
                bits
            } else {
                bits & !C_POSTS
            }
        })
        .collect()
}

fn is_hidden(dom: &Dom, idx: usize) -> bool {
    let item = &dom.items[idx];
    // A popover is drawn only when a control opens it, over the page: a notice or a menu.
    if item.attr("popover").is_some() {
        return true;
    }
    // A panel named by its header (an accordion's answer, a tab's content) is hidden only
    // until its header is clicked: the page's own text, folded. (A menu or a dialog named so
    // is still boilerplate by its role.)
    if item.attr("aria-labelledby").is_some()
        || item
            .attr("role")
            .is_some_and(|r| r.eq_ignore_ascii_case("region") || r.eq_ignore_ascii_case("tabpanel"))
    {
        return false;
    }
    if item.attr("hidden").is_some()
        || item.attr("aria-hidden") == Some("true") && item.tag() != "span"
    {
        return true;
    }
    item.attr("style").is_some_and(|s| {
        let s: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        s.contains("display:none") || s.contains("visibility:hidden")
    })
}

/// Why an element is boilerplate, from its tag, role and class/id (the page's footer and
/// menus, whatever they hold, are `is_site_furniture`).
fn looks_boiler(dom: &Dom, idx: usize, hints: &[u8], sheets: bool) -> bool {
    let item = &dom.items[idx];
    let tag = item.tag();
    if matches!(tag, "aside" | "form" | "figcaption") {
        return true;
    }
    if let Some(role) = item.attr("role")
        && !(sheets && item.attr("aria-modal") == Some("false"))
        && matches!(
            role.to_ascii_lowercase().as_str(),
            "banner" | "complementary" | "search" | "menu" | "menubar" | "dialog" | "alertdialog"
        )
    {
        return true;
    }
    if matches!(tag, "html" | "body" | "main" | "article") {
        return false;
    }
    hints[idx] & (C_BOILER | C_POSITIVE | C_POSTS) == C_BOILER
}

/// A part of a product's page that is not the product: reviews and ratings, by class/id or by
/// schema.org markup. The page's own wrappers are never one (a `body` class may name a
/// reviews plugin).
fn is_shop_part(dom: &Dom, idx: usize, hints: &[u8]) -> bool {
    let item = &dom.items[idx];
    if matches!(item.tag(), "html" | "body" | "main") {
        return false;
    }
    hints[idx] & C_SHOP != 0
        || item.attr("itemprop").is_some_and(|p| {
            p.eq_ignore_ascii_case("review") || p.eq_ignore_ascii_case("aggregateRating")
        })
        || item.schema_type().is_some_and(|t| {
            t.eq_ignore_ascii_case("Review") || t.eq_ignore_ascii_case("AggregateRating")
        })
}

/// Semantic weight of an element as the body's container.
fn hint_bonus(dom: &Dom, idx: usize, hints: &[u8]) -> f64 {
    let item = &dom.items[idx];
    let mut bonus: f64 = 0.0;
    if item
        .attr("itemprop")
        .is_some_and(|p| p.eq_ignore_ascii_case("articleBody"))
    {
        bonus += 0.3;
    }
    match item.tag() {
        "article" => bonus += 0.15,
        "main" => bonus += 0.1,
        _ => {}
    }
    if item
        .attr("role")
        .is_some_and(|r| r.eq_ignore_ascii_case("main"))
    {
        bonus += 0.1;
    }
    if hints[idx] & C_POSITIVE != 0 {
        bonus += 0.15;
    }
    bonus
}

/// The result of the content pass.
pub struct Body {
    pub blocks: Vec<Block>,
    /// Whether a per-site rule chose the content.
    pub by_rule: bool,
}

/// Cuts the page into blocks, marking what is removed and what is boilerplate.
/// `is_boiler` and `is_dropped` judge elements; the first cut of the page passes judges that
/// say no to everything.
fn blocks(
    dom: &Dom,
    ov: &Overrides,
    is_boiler: &dyn Fn(usize) -> bool,
    is_dropped: &dyn Fn(usize) -> bool,
) -> Vec<Block> {
    let n = dom.items.len();
    let mut out: Vec<Block> = Vec::new();
    // Open block-level elements: (index, end, boilerplate).
    let mut stack: Vec<(usize, usize, bool)> = Vec::new();
    // Open links and `pre`: ends of their subtrees.
    let mut links: Vec<(usize, bool)> = Vec::new();
    let mut pres: Vec<usize> = Vec::new();
    let mut cur = Block {
        owner: 0,
        start: 0,
        text: String::new(),
        link_chars: 0,
        card_link_chars: 0,
        chars: 0,
        kind: Kind::Para,
        boiler: false,
    };

    let flush = |cur: &mut Block, out: &mut Vec<Block>, owner: usize, kind: Kind, boiler: bool| {
        let text = if kind == Kind::Pre {
            cur.text.trim_matches('\n').to_string()
        } else {
            cur.text.trim().to_string()
        };
        if !text.is_empty() {
            let chars = text.chars().filter(|c| !c.is_whitespace()).count();
            out.push(Block {
                owner: cur.owner,
                start: cur.start,
                text,
                link_chars: cur.link_chars.min(chars),
                card_link_chars: cur.card_link_chars.min(chars),
                chars,
                kind: cur.kind,
                boiler: cur.boiler,
            });
        }
        *cur = Block {
            owner,
            start: 0,
            text: String::new(),
            link_chars: 0,
            card_link_chars: 0,
            chars: 0,
            kind,
            boiler,
        };
    };
    let kind_of = |tag: &str| match tag {
        "h1" => Kind::Heading(1),
        "h2" => Kind::Heading(2),
        "h3" => Kind::Heading(3),
        "h4" => Kind::Heading(4),
        "h5" => Kind::Heading(5),
        "h6" => Kind::Heading(6),
        "li" | "dt" | "dd" => Kind::Item,
        "blockquote" => Kind::Quote,
        "pre" => Kind::Pre,
        _ => Kind::Para,
    };

    let mut idx = 0;
    while idx < n {
        while let Some(&(open, end, _)) = stack.last() {
            if idx < end {
                break;
            }
            stack.pop();
            let (owner, kind, boiler) =
                stack.last().map_or((0, Kind::Para, false), |&(o, _, b)| {
                    (o, kind_of(dom.items[o].tag()), b)
                });
            let _ = open;
            flush(&mut cur, &mut out, owner, kind, boiler);
        }
        links.retain(|&(e, _)| idx < e);
        pres.retain(|&e| idx < e);
        let item = &dom.items[idx];
        if let Some(t) = item.text() {
            // Bytes, not chars: counting the block's chars anew for each text node made long
            // blocks of many nodes quadratic.
            let before = cur.text.len();
            // A cell's separating space may come before the block's first text.
            if before == 0 || cur.start == 0 {
                cur.start = idx;
            }
            if pres.is_empty() {
                push_collapsed(&mut cur.text, t);
            } else {
                cur.text.push_str(t);
            }
            if !links.is_empty() {
                let added = cur.text[before..].chars().count();
                cur.link_chars += added;
                if links.iter().any(|&(_, card)| card) {
                    cur.card_link_chars += added;
                }
            }
            idx += 1;
            continue;
        }
        let tag = item.tag();
        let end = item.end as usize;
        let id = item.node.id();
        if tag.is_empty() {
            idx += 1;
            continue;
        }
        // A button inside a heading is the heading's text: an accordion's question, which
        // opens its answer.
        let heading_button = tag == "button"
            && stack.last().is_some_and(|&(o, _, _)| {
                matches!(
                    dom.items[o].tag(),
                    "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "dt" | "summary"
                )
            });
        if is_skipped(tag) && !heading_button || ov.remove.contains(&id) || is_dropped(idx) {
            idx = end;
            continue;
        }
        if tag == "br" || tag == "hr" {
            let (owner, kind, boiler) = (cur.owner, cur.kind, cur.boiler);
            flush(&mut cur, &mut out, owner, kind, boiler);
            idx += 1;
            continue;
        }
        if tag == "img" {
            idx += 1;
            continue;
        }
        if matches!(tag, "td" | "th") && !cur.text.ends_with(' ') {
            cur.text.push(' ');
        }
        if tag == "a" {
            // A card's blocks open within its first few descendants; looking no further keeps
            // links nested in links (which a parser allows across table cells) linear.
            let card = dom.items[idx + 1..end]
                .iter()
                .take(CARD_LOOKAHEAD)
                .any(|d| is_block(d.tag()));
            links.push((end, card));
        }
        if tag == "pre" {
            pres.push(end);
        }
        let parent_boiler = stack.last().is_some_and(|s| s.2);
        let boiler = parent_boiler || (!ov.content.contains(&id) && is_boiler(idx));
        if is_block(tag) || boiler != parent_boiler {
            flush(&mut cur, &mut out, idx, kind_of(tag), boiler);
            stack.push((idx, end, boiler));
        }
        idx += 1;
    }
    flush(&mut cur, &mut out, 0, Kind::Para, false);
    out
}

/// Characters of prose (long blocks with few links) under each element, from a first cut of
/// the page that ignores class names: a wrapper holding much of the page's prose is layout,
/// whatever its class says (`content-with-sidebar`, `theiaStickySidebar`).
fn prose_totals(dom: &Dom, blocks: &[Block]) -> Vec<usize> {
    let n = dom.items.len();
    let mut totals = vec![0usize; n];
    for b in blocks {
        if b.chars >= 80 && b.link_chars * 4 < b.chars {
            totals[b.owner] += b.chars;
        }
    }
    for idx in (1..n).rev() {
        let p = dom.items[idx].parent;
        if p != u32::MAX {
            totals[p as usize] += totals[idx];
        }
    }
    totals
}

/// Class/id names of parts that are never the article, however much text they hold: comment
/// threads, and the cookie and consent notices and modal dialogs laid over the page.
static NEVER_BODY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|[\s_-])(?:comments?|comment-?list|disqus|replies|respond|cookies?|cookie-?law|consent|gdpr|modal|popup)(?:$|[\s_-])",
    )
    .unwrap_or_else(|_| unreachable_regex())
});

/// Parts that are boilerplate whatever their share of the page's prose: a long comment thread
/// or cookie policy outweighs a short article, so the prose guard must not protect them.
fn never_body(dom: &Dom, idx: usize, hints: &[u8], sheets: bool) -> bool {
    let item = &dom.items[idx];
    if matches!(item.tag(), "html" | "body" | "main" | "article") {
        return false;
    }
    is_dialog(dom, idx, sheets) || hints[idx] & (C_NEVER | C_POSITIVE) == C_NEVER
}

/// A modal dialog, by its ARIA role or attribute. On a product's page (`sheets`) a dialog
/// that says it is not modal (`aria-modal="false"`) is a sheet of the product's own details
/// (its description, its size table) opened beside the page, not a notice laid over it.
fn is_dialog(dom: &Dom, idx: usize, sheets: bool) -> bool {
    let item = &dom.items[idx];
    match item.attr("aria-modal") {
        Some("true") => true,
        Some("false") if sheets => false,
        _ => item.attr("role").is_some_and(|r| {
            r.eq_ignore_ascii_case("dialog") || r.eq_ignore_ascii_case("alertdialog")
        }),
    }
}

/// Which elements are [`never_body`] parts on this page. Only beside an article, though: on a
/// forum thread or a policy page the comments or the notice are the content, so when the
/// page declares itself a discussion (`thread`), or the prose outside all such parts is too
/// short to be an article, only modal dialogs are marked.
fn never_body_parts(
    dom: &Dom,
    blocks: &[Block],
    hints: &[u8],
    thread: bool,
    sheets: bool,
) -> Vec<bool> {
    let n = dom.items.len();
    let mut inside = vec![false; n];
    for idx in 0..n {
        let p = dom.items[idx].parent;
        inside[idx] = (p != u32::MAX && inside[p as usize]) || never_body(dom, idx, hints, sheets);
    }
    let outside: usize = blocks
        .iter()
        .filter(|b| b.chars >= 80 && b.link_chars * 4 < b.chars && !inside[b.owner])
        .map(|b| b.chars)
        .sum();
    if thread || outside < ARTICLE_ELSEWHERE {
        // A dialog is laid over whatever the page is, so it stays out even then; and on a
        // question-and-answer page the comments under a question or an answer are remarks on
        // a post, not posts.
        let mut in_post = vec![false; n];
        for idx in 0..n {
            let p = dom.items[idx].parent;
            let (up_post, up_inside) = if p == u32::MAX {
                (false, false)
            } else {
                (in_post[p as usize], inside[p as usize])
            };
            in_post[idx] = thread && (up_post || is_qa_post(dom, idx));
            inside[idx] = up_inside
                || is_dialog(dom, idx, sheets)
                || in_post[idx] && never_body(dom, idx, hints, sheets);
        }
    }
    inside
}

/// The nearest ancestor of `idx` declared a schema.org `Question` in microdata.
fn enclosing_question(dom: &Dom, idx: usize) -> Option<usize> {
    let mut at = dom.items[idx].parent;
    while at != u32::MAX {
        let item = &dom.items[at as usize];
        if item
            .schema_type()
            .is_some_and(|t| t.eq_ignore_ascii_case("Question"))
        {
            return Some(at as usize);
        }
        at = item.parent;
    }
    None
}

/// A question or an answer in schema.org microdata.
fn is_qa_post(dom: &Dom, idx: usize) -> bool {
    dom.items[idx]
        .schema_type()
        .is_some_and(|t| t.eq_ignore_ascii_case("Question") || t.eq_ignore_ascii_case("Answer"))
}

/// Characters of prose outside a comment thread or notice that make an article beside it.
const ARTICLE_ELSEWHERE: usize = 300;

/// The value of a block as evidence of article text.
fn value(b: &Block, before_headline: bool) -> f64 {
    let len = b.chars as f64;
    let ld = b.link_chars as f64 / len.max(1.0);
    if b.boiler {
        return -len;
    }
    if ld > 0.5 {
        return -len * ld * 0.5;
    }
    if before_headline {
        return -len * 0.5;
    }
    match b.kind {
        Kind::Heading(_) => 0.0,
        _ if b.chars < 25 => -1.0,
        _ => len * (1.0 - ld),
    }
}

/// Picks the body: per-site content first, else the best-scoring element, or the page's cards
/// when they say clearly more (`declares_article`: the page calls itself an article, so cards
/// beside a body of real prose are its related links).
pub fn find(dom: &Dom, ov: &Overrides, meta: &Meta) -> Body {
    let (headline, declares_article) = (meta.headline_idx, meta.declares_article);
    let first = blocks(dom, ov, &|_| false, &|_| false);
    if !ov.content.is_empty() {
        let roots: Vec<usize> = (0..dom.items.len())
            .filter(|&i| ov.content.contains(&dom.items[i].node.id()))
            .collect();
        let inside = |owner: usize| {
            roots
                .iter()
                .any(|&r| owner >= r && owner < dom.items[r].end as usize)
        };
        return Body {
            blocks: first.into_iter().filter(|b| inside(b.owner)).collect(),
            by_rule: true,
        };
    }
    let prose = prose_totals(dom, &first);
    let page_prose = prose.first().copied().unwrap_or(0);
    // Text before the headline is not body, but a headline found below most of the page's
    // prose (a hero laid out after the article, the story's name repeated as a footer
    // heading) says nothing about where the body starts.
    let headline = headline.filter(|&h| {
        let after: usize = first
            .iter()
            .filter(|b| b.start >= h && b.chars >= 80 && b.link_chars * 4 < b.chars)
            .map(|b| b.chars)
            .sum();
        after * 4 >= page_prose
    });
    let hints = class_hints(dom, meta.declares_thread);
    let sheets = meta.declares_product;
    let never = never_body_parts(dom, &first, &hints, meta.declares_thread, sheets);
    // On a product's page its reviews are left out whatever their share of the prose: they
    // often outweigh the description.
    let shop = |idx: usize| meta.declares_product && is_shop_part(dom, idx, &hints);
    // A boilerplate-looking element that holds much of the page's prose is usually layout
    // (`content-with-sidebar`) and is kept; but a sidebar of teasers can hold as much prose as
    // a short article, so beside the headline the guard asks for a clear majority.
    let holds_headline =
        |idx: usize| headline.is_none_or(|h| h >= idx && h < dom.items[idx].end as usize);
    // A page that marks one `main` landmark, or one `article`, holding two fifths of its
    // prose says where its content is: text outside it (a column of teasers with excerpts, a
    // footer's blurb) is not the body, whatever its class names leave unsaid.
    let regions = [
        sole_landmark(dom, &prose, page_prose, "main"),
        sole_landmark(dom, &prose, page_prose, "article"),
    ];
    let outside_landmarks = |idx: usize| {
        regions.iter().flatten().any(|&(m, end)| {
            let inside = idx >= m && idx < end;
            let holds_it = idx <= m && dom.items[idx].end as usize >= end;
            !inside && !holds_it
        })
    };
    let is_boiler = |idx: usize| {
        outside_landmarks(idx)
            || never[idx]
            || shop(idx)
            || is_site_furniture(dom, idx)
            || looks_boiler(dom, idx, &hints, sheets)
                && (prose[idx] * 10 < page_prose * 4
                    || !holds_headline(idx) && prose[idx] * 10 < page_prose * 6)
    };
    // Hidden parts go unless they hold much of the page's prose (streamed server rendering
    // parks the whole article in a `hidden` element until a script moves it).
    let is_dropped = |idx: usize| {
        (is_hidden(dom, idx) || hints[idx] & C_SCREEN_READER != 0)
            && prose[idx] * 10 < page_prose * 4
    };
    // `itemprop=articleBody` is the page's own statement of where the body is: when it holds
    // a fair share of the prose, the body is looked for inside it only. On a discussion it
    // marks the opening post alone, and the replies are content too.
    let declared = (0..dom.items.len())
        .filter(|&i| {
            dom.items[i]
                .attr("itemprop")
                .is_some_and(|p| p.eq_ignore_ascii_case("articleBody"))
        })
        .max_by_key(|&i| prose[i])
        .filter(|&i| prose[i] * 10 >= page_prose * 3 && !meta.declares_thread);
    let judged = blocks(dom, ov, &is_boiler, &is_dropped);
    // A listing, product grid or table of rows is cut by `select` into short link blocks that
    // it drops; the cards are taken aside here, before `select` consumes the blocks.
    // A question page's answers are its cards, and the question sits beside their container:
    // the element declared as the question holds both, so its prose joins them.
    let listing = cards(dom, &judged).map(|root| {
        let end = dom.items[root].end as usize;
        let question = meta
            .declares_thread
            .then(|| enclosing_question(dom, root))
            .flatten()
            .map_or((root, end), |q| (q, dom.items[q].end as usize));
        judged
            .iter()
            .filter(|b| !b.boiler && b.owner >= question.0 && b.owner < question.1)
            .filter(|b| b.owner >= root && b.owner < end || b.link_chars * 2 <= b.chars)
            .cloned()
            .collect::<Vec<Block>>()
    });
    let (mut picked, mut choice) = select(dom, &hints, &judged, headline, declared);
    let mut chars: usize = picked.iter().map(|b| b.chars).sum();
    // Class names can mislead; when they leave next to nothing, judge by the text alone.
    let plain_blocks = (chars * 4 < page_prose).then(|| {
        let furniture = |idx| never[idx] || shop(idx) || is_site_furniture(dom, idx);
        blocks(dom, ov, &furniture, &|_| false)
    });
    let mut source = &judged;
    if let Some(plain_blocks) = &plain_blocks {
        let (plain, plain_choice) = select(dom, &hints, plain_blocks, headline, None);
        let plain_chars = plain.iter().map(|b| b.chars).sum::<usize>();
        if plain_chars > chars {
            picked = plain;
            chars = plain_chars;
            choice = plain_choice;
            source = plain_blocks;
        }
    }
    let listed = listing.filter(|list| {
        prefer_listing(
            &picked,
            chars,
            list,
            page_prose,
            declares_article,
            meta.declares_thread,
        )
    });
    // The sections of a page that is no article, thread or product are its body together; the
    // cards are weighed against the section picked alone, which the joined ones outweigh.
    if !declares_article && !meta.declares_thread && !meta.declares_product {
        let wide = widen(dom, source, choice.best, choice.top);
        if wide != choice.best {
            let choice = Choice {
                best: wide,
                card_text: true,
                ..choice
            };
            picked = gather(dom, source, choice, headline);
        }
    }
    if let Some(mut list) = listed {
        // The body picked beside the cards is the listing's introduction (a category's
        // description, a buying guide), which belongs with them. A thread's posts are cards
        // too, and carry the same poster furniture.
        trim_post_furniture(&mut list);
        return Body {
            blocks: merge(picked, list),
            by_rule: false,
        };
    }
    Body {
        blocks: picked,
        by_rule: false,
    }
}

/// The one element of the page that is this landmark (by tag or role), with the end of its
/// subtree, when it holds at least two fifths of the page's prose.
fn sole_landmark(
    dom: &Dom,
    prose: &[usize],
    page_prose: usize,
    name: &str,
) -> Option<(usize, usize)> {
    let mut found = (0..dom.items.len()).filter(|&i| {
        dom.items[i].tag() == name
            || dom.items[i]
                .attr("role")
                .is_some_and(|r| r.eq_ignore_ascii_case(name))
    });
    match (found.next(), found.next()) {
        // On a page without prose, an empty landmark counts too: a script shell's empty
        // `<main id="app">` leaves the page its menus only, which are no body.
        (Some(m), None) if prose[m] * 10 >= page_prose * 4 => Some((m, dom.items[m].end as usize)),
        _ => None,
    }
}

/// The page's footer or menus by their tag or landmark role: unlike a class name, which a
/// layout wrapper may share, these hold no body however much of the page's text they hold.
fn is_site_furniture(dom: &Dom, idx: usize) -> bool {
    let item = &dom.items[idx];
    let role = item.attr("role").unwrap_or_default();
    matches!(item.tag(), "footer" | "nav")
        || role.eq_ignore_ascii_case("contentinfo")
        || role.eq_ignore_ascii_case("navigation")
}

/// Two picks of the page's blocks as one, in document order, each block once.
fn merge(a: Vec<Block>, b: Vec<Block>) -> Vec<Block> {
    let mut all: Vec<Block> = a.into_iter().chain(b).collect();
    all.sort_by_key(|b| b.start);
    all.dedup_by_key(|b| b.start);
    all
}

/// How much a comment section may take off the score of the element holding it, as a share of
/// that element's own score.
const COMMENTS_WEIGHT: f64 = 0.5;

/// Where the body was found.
#[derive(Clone, Copy)]
struct Choice {
    /// The element whose blocks are the body.
    best: usize,
    /// The element the search was kept within (the document, or the declared article body).
    top: usize,
    /// The body is a list of links, whose link blocks are its text.
    link_page: bool,
    /// The body is a page's sections, where a card made one link (a service's offers, each a
    /// title and a line of description) is text, not a link.
    card_text: bool,
}

/// Characters of a block's links, less those of a card made one link where that is text.
fn links_of(b: &Block, card_text: bool) -> usize {
    if card_text {
        b.link_chars.saturating_sub(b.card_link_chars)
    } else {
        b.link_chars
    }
}

/// The best-scoring element's blocks, minus boilerplate, link lists and the headline.
fn select(
    dom: &Dom,
    hints: &[u8],
    all: &[Block],
    headline: Option<usize>,
    within: Option<usize>,
) -> (Vec<Block>, Choice) {
    let n = dom.items.len();
    let mut sums = vec![0f64; n];
    // A comment section's weight against its container is capped: a post with many comments
    // under it is still the post, and the thread's length says nothing about the layout.
    let mut comments = vec![0f64; n];
    let mut in_comments = vec![false; n];
    for idx in 1..n {
        let p = dom.items[idx].parent;
        in_comments[idx] = hints[idx] & C_COMMENTS != 0 || p != u32::MAX && in_comments[p as usize];
    }
    for b in all {
        let before = headline.is_some_and(|h| b.start < h);
        if b.boiler && in_comments[b.owner] {
            comments[b.owner] += value(b, before);
        } else {
            sums[b.owner] += value(b, before);
        }
    }
    for idx in (1..n).rev() {
        let p = dom.items[idx].parent;
        if p != u32::MAX {
            sums[p as usize] += sums[idx];
            comments[p as usize] += comments[idx];
        }
    }
    for idx in 0..n {
        if sums[idx] > 0.0 {
            sums[idx] += comments[idx].max(-COMMENTS_WEIGHT * sums[idx]);
        } else {
            sums[idx] += comments[idx];
        }
    }
    let mut best = 0usize;
    let mut best_score = f64::MIN;
    let (lo, hi) = within.map_or((0, n), |w| (w, dom.items[w].end as usize));
    for (idx, item) in dom.items.iter().enumerate().take(hi).skip(lo) {
        if item.tag().is_empty() || sums[idx] <= 0.0 {
            continue;
        }
        let score = sums[idx] * (1.0 + hint_bonus(dom, idx, hints));
        if score >= best_score {
            best_score = score;
            best = idx;
        }
    }
    let end = dom.items[best].end as usize;
    let (chars, links) = all
        .iter()
        .filter(|b| b.owner >= best && b.owner < end)
        .fold((0, 0), |(c, l), b| (c + b.chars, l + b.link_chars));
    let choice = Choice {
        best,
        top: lo,
        link_page: links * 2 > chars,
        card_text: false,
    };
    (gather(dom, all, choice, headline), choice)
}

/// The blocks of the chosen element: a list-of-links page keeps its links, prose drops the
/// link blocks inside it (judged on the best-scoring element alone, since the sections a body
/// is widened to bring the page's menus).
fn gather(dom: &Dom, all: &[Block], choice: Choice, headline: Option<usize>) -> Vec<Block> {
    let (best, end) = (choice.best, dom.items[choice.best].end as usize);
    let mut picked: Vec<Block> = all
        .iter()
        .filter(|b| b.owner >= best && b.owner < end)
        .filter(|b| !b.boiler && (choice.link_page || links_of(b, choice.card_text) * 2 <= b.chars))
        .cloned()
        .collect();
    if let Some(h) = headline
        && h >= best
        && h < end
    {
        let h_end = dom.items[h].end as usize;
        picked.retain(|b| b.start >= h_end);
    }
    cut_tail(&mut picked);
    drop_repeated_runs(&mut picked);
    trim_furniture(&mut picked);
    trim_post_furniture(&mut picked);
    picked
}

/// A page that is neither an article, a thread nor a product (a company's landing page, a
/// service's description) is made of sections, each a heading and a few short paragraphs
/// under one wrapper; the best-scoring element is then one section, often the longest (the
/// FAQ). When it holds less than half of the prose the page shows outside boilerplate, the
/// body is the nearest ancestor that holds that half. The text of cards made one link counts
/// as prose here: on such a page a grid of linked offers is a section too.
fn widen(dom: &Dom, all: &[Block], best: usize, top: usize) -> usize {
    let n = dom.items.len();
    let mut prose = vec![0usize; n];
    for b in all
        .iter()
        .filter(|b| !b.boiler && b.chars >= 80 && links_of(b, true) * 4 < b.chars)
    {
        prose[b.owner] += b.chars;
    }
    for idx in (1..n).rev() {
        let p = dom.items[idx].parent;
        if p != u32::MAX {
            prose[p as usize] += prose[idx];
        }
    }
    let total = prose[top];
    let mut best = best;
    while prose[best] * 2 < total && best > top {
        let p = dom.items[best].parent;
        if p == u32::MAX {
            break;
        }
        best = p as usize;
    }
    best
}

/// The labels forum software puts beside every post: the poster's counters and standing
/// ("Joined", "Posts: 4,032", "Reaction score", "Senior Member", "Offline") and the post's
/// buttons ("Link to post", "Share on other sites", "Report", "Click to expand..."), and a
/// question page's own prompts ("3 Answers", "Reset to default", "Start asking to get answers").
/// Alone or with a short value; a run of badge counts can be long.
static POST_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:
            (?:joined|join\ date|member\ since|registered|posts|post\ count|total\ posts|messages|
              threads|topics|likes|likes\ received|reactions?|reaction\ score|points|trophy\ points|
              reputation|karma|solutions|best\ answers|credits|location|age|gender)
              (?:\s*:\s*.{0,40}|\s+[\d.,]+\s*k?)?
            |[\d.,]+\s*k?\s+(?:posts?|likes?|messages|reputation|points|replies|solutions|reactions?)
              (?:\s*·\s*joined\b.{0,20})?
            |(?:[\d.,]+\s*k?\s*)?(?:[\d.,]+\s*(?:gold|silver|bronze)\s+badges?\s*)+
            |offline|online|original\ poster|thread\ starter|topic\ starter|(?:\S+\ )?discussion\ starter|
            member|moderator|administrator|op|reply\ ?\#?\d*|\d+\ repl(?:y|ies)|\#\d+|
            (?:wrote\ on\ )?last\ edited(?:\ by\ .{0,30}|:.{0,30})?|not\ open\ for\ further\ replies|
            (?:new|junior|senior|full|active|premium|established|well-known|registered|staff|forum)\ member|
            share\ on\ other\ sites|link\ to\ (?:post|comment)|report(?:\ post|\ inappropriate\ content)?|
            reply\ with\ quote|multi-?quote|permalink|click\ to\ expand(?:\.\.\.|…)?|
            \d+\ answers?|reset\ to\ default|ask\ question|featured\ replies|recommended\ posts|
            find\ the\ answer\ to\ your\ question\ by\ asking|start\ asking\ to\ get\ answers|
            you\ must\ log\ in\ to\ answer\ this\ question|explore\ related\ questions|
            see\ similar\ questions\ with\ these\ tags|
            (?:asked|answered|edited|modified)\ .{0,30}\d.{0,12}
        )[:.]?$",
    )
    .unwrap_or_else(|_| unreachable_regex())
});

/// A bare count: the value beside a poster's label.
static BARE_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\d.,]+\s*k?$").unwrap_or_else(|_| unreachable_regex()));

/// Posts that repeat the poster's labels are a thread: the labels, the bare counts and the
/// short value that follows a bare label ("Joined" / "Feb 8, 2023") are furniture there.
/// One or two such lines say nothing (an article may have a "Location" heading), nor do the
/// labels a list of people or events shares with posters ("Location:", "Age:"): at least three
/// lines, one of them a poster's own (a count, a standing, a button).
fn trim_post_furniture(blocks: &mut Vec<Block>) {
    const SHORT: usize = 64;
    let label: Vec<bool> = blocks
        .iter()
        .map(|b| b.chars <= SHORT && POST_LABEL.is_match(b.text.trim()))
        .collect();
    let kinds: HashSet<String> = blocks
        .iter()
        .zip(&label)
        .filter(|&(_, &l)| l)
        .filter_map(|(b, _)| {
            b.text
                .split(|c: char| !c.is_alphabetic())
                .find(|w| !w.is_empty())
                .map(str::to_lowercase)
        })
        .collect();
    let posterish = kinds
        .iter()
        .any(|k| !matches!(k.as_str(), "location" | "age" | "gender"));
    if label.iter().filter(|&&l| l).count() < 3 || !posterish {
        return;
    }
    let mut drop = vec![false; blocks.len()];
    for (i, b) in blocks.iter().enumerate() {
        if label[i] || b.chars <= 12 && BARE_NUMBER.is_match(b.text.trim()) {
            drop[i] = true;
            // A label alone ("Joined") is a pair's name: its value is the next line.
            let bare =
                !b.text.contains(':') && !b.text.trim().ends_with(|c: char| c.is_ascii_digit());
            if label[i]
                && bare
                && i + 1 < blocks.len()
                && blocks[i + 1].chars <= 30
                && !label[i + 1]
            {
                drop[i + 1] = true;
            }
        }
    }
    let mut i = 0;
    blocks.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
}

static DATE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\b(?:19|20)\d\d\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{1,2}:\d\d\b)")
        .unwrap_or_else(|_| unreachable_regex())
});

/// Drops the furniture that sits inside article containers: dateline and byline lines above
/// the first real paragraph, bare "Advertisement" labels, the names of a page's own
/// tools (the table of contents whose links are gone, "Edit this page", the feedback
/// question, the "Close" and "Reveal answer" labels of panels whose buttons are not buttons),
/// and the labels a shop or a listing puts on its buttons and widgets ("Add to cart", "In
/// stock", "Sort by", "Loading"), which a button-less theme renders as text.
fn trim_furniture(blocks: &mut Vec<Block>) {
    let first_prose = blocks.iter().position(|b| b.chars >= 100).unwrap_or(0);
    let mut i = 0;
    blocks.retain(|b| {
        let lead = i < first_prose;
        i += 1;
        let label = b.chars <= 30
            && matches!(
                b.text
                    .trim()
                    .trim_end_matches([':', '?', '!'])
                    .to_lowercase()
                    .as_str(),
                "advertisement"
                    | "advert"
                    | "ad"
                    | "anzeige"
                    | "publicidad"
                    | "publicité"
                    | "table of contents"
                    | "contents"
                    | "in this article"
                    | "on this page"
                    | "in this section"
                    | "jump to"
                    | "skip to content"
                    | "skip to main content"
                    | "edit this page"
                    | "edit on github"
                    | "was this page helpful"
                    | "was this article helpful"
                    | "thank you for your feedback"
                    | "reveal answer"
                    | "loading"
                    | "loading..."
                    | "loading…"
                    | "share"
                    | "close"
                    | "add to cart"
                    | "add to bag"
                    | "add to basket"
                    | "add to wishlist"
                    | "add to wish list"
                    | "wishlist"
                    | "quick view"
                    | "quick shop"
                    | "view details"
                    | "in stock"
                    | "compare"
                    | "sort by"
                    | "filters"
                    | "quantity"
                    | "shop now"
                    | "apply now"
                    | "view all"
                    | "show more"
                    | "load more"
                    | "sponsored"
            );
        !(label
            || lead
                && b.chars < 150
                && !matches!(b.kind, Kind::Heading(_))
                && DATE_LINE.is_match(&b.text))
    });
}

/// Not "More on …" or "More in …": documentation and guides name their own later sections so
/// ("More on fields"); nor "See also", a manual's note inside a section, nor a bare "Response",
/// an interview's label (a comment section counts its responses, or says them in the plural).
static TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:related(?: (?:articles?|posts?|stories|content|reading))?|more (?:from|stories|news|articles)\b.*|you (?:may|might) (?:also )?(?:like|enjoy|be interested in).*|read (?:more|next|also)|recommended(?: for you)?|(?:\d+ )?(?:comments?|responses|replies)(?: \(\d+\))?|1 response|leave a (?:reply|comment)|share this(?: article| story| post)?:?|popular(?: posts| stories)?|trending(?: now)?|latest (?:news|stories|posts)|also read|(?:explore )?related questions|similar (?:threads|topics|discussions)|hot network questions|about the author|sponsored(?: content)?)[:.!]?$",
    )
    .unwrap_or_else(|_| unreachable_regex())
});

/// Headings that only ever introduce other stories ("Read this next", "Recent posts"): they
/// end the body earlier than the names in `TAIL`, some of which a long guide may also use
/// for a section of its own.
static TEASERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:also in the news|read this next|what to read next|keep reading|more perspectives|(?:latest|recent) (?:insights|posts|blogs|articles|news)\b.*|explore more (?:articles|stories|posts|content)\b.*|related (?:products|insights))[:.!]?$",
    )
    .unwrap_or_else(|_| unreachable_regex())
});

/// Ends the body at a closing section's heading ("Related", "Comments", "You may also
/// like") found in the later part of the text: what follows it is not the article.
fn cut_tail(blocks: &mut Vec<Block>) {
    let total: usize = blocks.iter().map(|b| b.chars).sum();
    let mut seen = 0;
    for (i, b) in blocks.iter().enumerate() {
        let closing = |t: &str| {
            seen * 2 > total && TAIL.is_match(t) || seen * 5 > total && TEASERS.is_match(t)
        };
        if b.chars < 60 && closing(b.text.trim()) {
            blocks.truncate(i);
            return;
        }
        seen += b.chars;
    }
}

/// Drops runs of blocks that repeat earlier ones word for word: a page that lays its article
/// out twice (a desktop and a mobile copy, a print version) would otherwise give it twice.
/// One repeated paragraph is left alone (a pull quote, a refrain, a quoted post); a run
/// needs this many long repeats in a row.
const REPEAT_RUN: usize = 3;

fn drop_repeated_runs(blocks: &mut Vec<Block>) {
    const LONG: usize = 80;
    let mut seen: HashSet<&str> = HashSet::new();
    let mut repeat = vec![false; blocks.len()];
    for (i, b) in blocks.iter().enumerate() {
        let t = b.text.trim();
        repeat[i] = !seen.insert(t);
    }
    let mut drop = vec![false; blocks.len()];
    let mut i = 0;
    while i < blocks.len() {
        if !repeat[i] {
            i += 1;
            continue;
        }
        let start = i;
        let mut long = 0;
        while i < blocks.len() && repeat[i] {
            long += usize::from(blocks[i].chars >= LONG);
            i += 1;
        }
        if long >= REPEAT_RUN {
            drop[start..i].iter_mut().for_each(|d| *d = true);
        }
    }
    if drop.contains(&true) {
        let mut k = drop.into_iter();
        blocks.retain(|_| !k.next().unwrap_or(false));
    }
}

/// Cards of a listing: at least this many siblings of one kind.
const MIN_CARDS: usize = 4;

/// The container of the page's largest run of repeated sibling elements (same tag and first
/// class) that carry text: the cards of a listing, a product grid, a table's rows. Link lists
/// of a menu repeat too, so each card must hold more than a menu entry's worth of text. A run
/// is measured without its largest member, so that the page's layout columns (an article
/// beside a sidebar and a footer) do not pass for cards.
fn cards(dom: &Dom, blocks: &[Block]) -> Option<usize> {
    let n = dom.items.len();
    let mut chars = vec![0usize; n];
    for b in blocks.iter().filter(|b| !b.boiler) {
        chars[b.owner] += b.chars;
    }
    for idx in (1..n).rev() {
        let p = dom.items[idx].parent;
        if p != u32::MAX {
            chars[p as usize] += chars[idx];
        }
    }
    // (parent, tag, first class) -> (siblings, their characters, the largest sibling's)
    let mut groups: HashMap<(u32, &str, &str), (usize, usize, usize)> = HashMap::new();
    for (idx, item) in dom.items.iter().enumerate() {
        // Sibling paragraphs are prose, however short, never cards.
        if chars[idx] == 0 || item.parent == u32::MAX || matches!(item.tag(), "" | "p") {
            continue;
        }
        let class = item
            .attr("class")
            .and_then(|c| c.split_ascii_whitespace().next())
            .unwrap_or("");
        let g = groups.entry((item.parent, item.tag(), class)).or_default();
        g.0 += 1;
        g.1 += chars[idx];
        g.2 = g.2.max(chars[idx]);
    }
    groups
        .into_iter()
        .filter(|(_, (count, total, _))| *count >= MIN_CARDS && *total >= 25 * *count)
        // The key after the score makes ties independent of the map's order.
        .max_by_key(|&(key, (_, total, largest))| (total - largest, std::cmp::Reverse(key)))
        .map(|((parent, _, _), _)| parent as usize)
}

/// Characters of prose (long blocks with few links) in `blocks`.
fn prose_chars(blocks: &[Block]) -> usize {
    blocks
        .iter()
        .filter(|b| b.chars >= 80 && b.link_chars * 4 < b.chars)
        .map(|b| b.chars)
        .sum()
}

/// Whether the cards say more than the picked body: they must hold several times its text,
/// and the body must not be an article's. A page that calls itself an article keeps any body
/// with a paragraph or two of prose (the cards are its related links); any other page keeps
/// a body holding most of the page's prose. Cards of short text that is mostly not links (a
/// product's name, price and line of description) need only outweigh the body, or lie inside
/// it (the body then dropped their linked names): they are joined to the body, not put in
/// its place, so little is lost if they were not the content. On a page that calls itself
/// neither an article with a real body nor a discussion, cards holding half the body's text
/// are joined too: beside a category's text, a guide or a service's description, the items
/// listed are content, while on a thread the cards are its posts again with their furniture.
/// Cards that are mostly links are joined so only beside next to no prose: beside an
/// article's or a page's paragraphs they are the site's links.
fn prefer_listing(
    picked: &[Block],
    chars: usize,
    list: &[Block],
    page_prose: usize,
    declares_article: bool,
    declares_thread: bool,
) -> bool {
    let list_chars: usize = list.iter().map(|b| b.chars).sum();
    let prose = prose_chars(picked);
    let article = if declares_article {
        prose >= 300
    } else {
        prose >= 1000 && prose * 10 >= page_prose * 7
    };
    let list_links: usize = list.iter().map(|b| b.link_chars).sum();
    // Not link lists (menus) and not the article's own paragraphs repeating as siblings.
    let short_cards = list_links * 2 < list_chars && prose_chars(list) * 10 < list_chars * 7;
    let overlaps = picked
        .iter()
        .any(|b| list.binary_search_by_key(&b.start, |l| l.start).is_ok());
    let link_list = list_links * 2 >= list_chars;
    let joinable = !declares_thread
        && list_chars * 2 > chars
        && if declares_article {
            prose < 1000 && !link_list
        } else {
            !link_list || prose < 300
        };
    (list_chars > chars * 3 || short_cards && (list_chars > chars || overlaps)) && !article
        || joinable
}
