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

use regex::Regex;

use super::dom::{Dom, Texts};
use super::metadata::Meta;
use super::rules::{LIMITS, Rule, Rules};

/// Maps keyed by the page's own strings and indexes, hashed fast (no map is iterated where
/// its order could change the result).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
type FastSet<K> = HashSet<K, foldhash::fast::FixedState>;

/// What a text block is, for layout of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Para,
    Heading(u8),
    Item,
    Quote,
    Pre,
}

/// A run of text the reader sees as one paragraph. Its text is borrowed from the [`Cut`]
/// the block was cut into, so a block is copied (picked, gathered, merged) without copying
/// its text.
#[derive(Debug, Clone, Copy)]
pub struct Block<'t> {
    /// Index of the nearest block-level element holding the text.
    pub owner: usize,
    /// Index of the block's first text node: its place in document order.
    pub start: usize,
    /// The text, whitespace collapsed (kept as is inside `<pre>`).
    pub text: &'t str,
    /// Characters of the text that sit inside links.
    pub link_chars: usize,
    /// Of those, the characters inside a link that wraps whole blocks: a card's title and
    /// description, made one link so that the whole card can be clicked.
    pub card_link_chars: usize,
    /// Characters of the text.
    pub chars: usize,
    pub kind: Kind,
    /// Inside an element marked as boilerplate, by the rule that marked it.
    pub boiler: Option<Rule>,
}

impl Block<'_> {
    /// Whether the block is marked as boilerplate.
    pub fn is_boiler(&self) -> bool {
        self.boiler.is_some()
    }

    /// A long block with few links: what an article is made of.
    pub fn is_prose(&self) -> bool {
        self.is_prose_with(self.link_chars)
    }

    /// Running text however short: a sentence or more, ending as sentences end, with few
    /// links (a one-sentence lead, the last line of a story), not a heading.
    pub fn is_sentences(&self) -> bool {
        self.chars >= LIMITS.sentence_chars
            && !matches!(self.kind, Kind::Heading(_))
            && LIMITS.prose_links.below(self.link_chars, self.chars)
            && self
                .text
                .trim_end()
                .ends_with(['.', '!', '?', '"', '\u{201d}', '\u{3002}'])
    }

    /// [`Block::is_prose`] counting `links` characters of links.
    fn is_prose_with(&self, links: usize) -> bool {
        self.chars >= LIMITS.prose_chars && LIMITS.prose_links.below(links, self.chars)
    }
}

/// Adds each element's value into its parent's, deepest first, so that each element holds the
/// sum over its subtree (items are in pre-order: every child comes after its parent).
fn roll_up<T: Copy + std::ops::AddAssign>(dom: &Dom, values: &mut [T]) {
    for (idx, &p) in dom.parents.iter().enumerate().skip(1).rev() {
        if p != u32::MAX {
            let v = values[idx];
            values[p as usize] += v;
        }
    }
}

/// Per-site overrides resolved against the parsed page.
#[derive(Default)]
pub struct Overrides {
    /// Elements the site rule names as the content, by their index in the [`Dom`].
    pub content: HashSet<usize>,
    /// Elements the site rule removes, by their index in the [`Dom`].
    pub remove: HashSet<usize>,
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
const BOILER: &str = "
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
    caption|credits?";

/// Class/id names of an article's body.
const POSITIVE: &str = "
    article-?body|articlebody|article-?content|article-?text|entry-?content|entry-?body|
    post-?content|post-?body|post-?text|story-?body|story-?content|story-?text|
    content-?body|body-?text|main-?content|page-?content|rich-?text|prose|
    blog-?post|single-?post|text-?content|article";

/// Class/id names of what buyers say of a product (reviews, ratings, testimonials). Only on a
/// page that declares a product: elsewhere reviews and testimonials are often the content.
const SHOP_BOILER: &str = "reviews?|testimonials?|ratings?";

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

const SCREEN_READER: &str = "sr-only|visually-hidden|visuallyhidden|screen-reader-text|\
    screen-reader-only|screenreader-only|a11y-hidden|assistive-text";

/// Class/id names of a comment section.
const COMMENTS: &str = "comments?|comment-?list|replies|reply|respond";

/// Class/id names of comment threads, which are never the article however much text they
/// hold.
const NEVER_COMMENTS: &str = "comments?|comment-?list|disqus|replies|respond";

/// Each list of class/id names with the bits a name of it sets.
const NAME_LISTS: [(&str, u8); 6] = [
    (POSITIVE, C_POSITIVE),
    (BOILER, C_BOILER),
    (NEVER_COMMENTS, C_NEVER),
    (SHOP_BOILER, C_SHOP),
    (COMMENTS, C_POSTS | C_COMMENTS),
    (SCREEN_READER, C_SCREEN_READER),
];

/// A list's names spelled out: `|` between names, whitespace ignored, a character followed
/// by `?` either there or not (`ad-?slot` is `adslot` and `ad-slot`).
fn spellings(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    for name in list.split('|') {
        let chars: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
        let mut forms = vec![String::new()];
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            if chars.get(i + 1) == Some(&'?') {
                forms = forms
                    .into_iter()
                    .flat_map(|without| {
                        let mut with = without.clone();
                        with.push(c);
                        [without, with]
                    })
                    .collect();
                i += 2;
            } else {
                forms.iter_mut().for_each(|f| f.push(c));
                i += 1;
            }
        }
        out.extend(forms);
    }
    out
}

/// Every spelled-out name of [`NAME_LISTS`] with the bits of the lists that hold it, and the
/// most words (parts joined by `-`) a name has.
struct NameTable {
    bits: FastMap<String, u8>,
    max_words: usize,
    /// The first words of the names, and the longest of them: a word of a class string that
    /// is none starts no name, and is passed over with one lookup (or none).
    first_words: FastSet<String>,
    max_first: usize,
}

static NAMES: LazyLock<NameTable> = LazyLock::new(|| {
    let mut bits: FastMap<String, u8> = FastMap::default();
    for (list, bit) in NAME_LISTS {
        for name in spellings(list) {
            *bits.entry(name).or_default() |= bit;
        }
    }
    let max_words = bits.keys().map(|n| n.split('-').count()).max().unwrap_or(1);
    let first_words: FastSet<String> = bits
        .keys()
        .filter_map(|n| n.split('-').next())
        .map(str::to_string)
        .collect();
    let max_first = first_words.iter().map(String::len).max().unwrap_or(0);
    NameTable {
        bits,
        max_words,
        first_words,
        max_first,
    }
});

/// Whether a character ends a word of a class or id string.
fn is_name_separator(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// The bits of the [`NAME_LISTS`] names in `buf` (a class or id string as [`push_name`] wrote
/// it). A name counts where it is a whole word, or a run of whole words joined by single
/// `-`, of the string split at whitespace, `_` and `-`: a name is letters, digits and
/// inner single `-` only (`names_are_words_joined_by_dashes`), so this is where the pattern
/// `(?:^|[\s_-])(?:NAME)(?:$|[\s_-])` would match. One pass over the words and a few table
/// lookups, where a set of regexes searching for every name cost a twentieth of extraction.
fn name_bits(buf: &str, words: &mut Vec<(usize, usize)>) -> u8 {
    let table = &*NAMES;
    words.clear();
    let mut start = 0;
    for (at, c) in buf.char_indices() {
        if is_name_separator(c) {
            if at > start {
                words.push((start, at));
            }
            start = at + c.len_utf8();
        }
    }
    if buf.len() > start {
        words.push((start, buf.len()));
    }
    let mut bits = 0;
    for (i, &(from, to)) in words.iter().enumerate() {
        if to - from > table.max_first || !table.first_words.contains(&buf[from..to]) {
            continue;
        }
        for j in i..words.len().min(i + table.max_words) {
            // Words joined by anything but one `-` are no one name.
            if j > i && &buf[words[j - 1].1..words[j].0] != "-" {
                break;
            }
            if let Some(&b) = table.bits.get(&buf[from..words[j].1]) {
                bits |= b;
            }
        }
    }
    bits
}

fn class_hints<'a>(dom: &Dom<'a>, thread: bool) -> Vec<u8> {
    // Cards, list items and table rows repeat one class string many times over, so each
    // distinct class or id string is read once. No pattern spans the space between the two,
    // so the bits of `class id` are those of each name or'ed.
    let mut seen: FastMap<&'a str, u8> = FastMap::with_capacity_and_hasher(256, Default::default());
    let mut buf = String::new();
    let mut words = Vec::new();
    let mut bits_of = |name: Option<&'a str>| {
        name.map_or(0, |name| {
            *seen.entry(name).or_insert_with(|| {
                buf.clear();
                push_name(&mut buf, name);
                name_bits(&buf, &mut words)
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
    // Only a style that names `none` or `hidden` can hide: the others are not rewritten.
    item.attr("style").is_some_and(|s| {
        let names_it = |w: &[u8]| {
            s.as_bytes()
                .windows(w.len())
                .any(|x| x.eq_ignore_ascii_case(w))
        };
        if !names_it(b"none") && !names_it(b"hidden") {
            return false;
        }
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
fn looks_boiler(dom: &Dom, idx: usize, hints: &[u8], sheets: bool, rules: Rules) -> Option<Rule> {
    let item = &dom.items[idx];
    let tag = item.tag();
    if rules.on(Rule::FurnitureRoles) {
        if matches!(tag, "aside" | "form" | "figcaption") {
            return Some(Rule::FurnitureRoles);
        }
        if let Some(role) = item.attr("role")
            && !(sheets && item.attr("aria-modal") == Some("false"))
            && matches!(
                role.to_ascii_lowercase().as_str(),
                "banner"
                    | "complementary"
                    | "search"
                    | "menu"
                    | "menubar"
                    | "dialog"
                    | "alertdialog"
            )
        {
            return Some(Rule::FurnitureRoles);
        }
    }
    if matches!(tag, "html" | "body" | "main" | "article") {
        return None;
    }
    (rules.on(Rule::BoilerplateNames) && hints[idx] & (C_BOILER | C_POSITIVE | C_POSTS) == C_BOILER)
        .then_some(Rule::BoilerplateNames)
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
    /// The body's blocks in document order: what each is, and its text.
    pub blocks: Vec<(Kind, String)>,
    /// Whether a per-site rule chose the content.
    pub by_rule: bool,
    /// Why each block is in or out, when asked for.
    pub explanation: Option<Explanation>,
}

/// The text of one cut of the page into blocks: each block's text is pushed here once, as
/// it is read, and the blocks borrow it. One `String` a cut instead of one a block: cutting
/// is done two or three times a page, and gathering, merging and explaining copy blocks.
#[derive(Default)]
pub struct Cut {
    arena: String,
}

/// Cuts the page into blocks, marking what is removed and what is boilerplate.
/// `is_boiler` and `is_dropped` judge elements; the first cut of the page passes judges that
/// say no to everything. The blocks' text is written into `cut` (emptied first).
fn blocks<'t>(
    dom: &Dom,
    texts: &mut Texts,
    ov: &Overrides,
    is_boiler: &dyn Fn(usize) -> Option<Rule>,
    is_dropped: &dyn Fn(usize) -> Option<Rule>,
    cut: &'t mut Cut,
) -> Vec<Block<'t>> {
    let n = dom.items.len();
    let arena = &mut cut.arena;
    arena.clear();
    // Each block as it is cut, its text `arena[from..to]` of the finished arena.
    let mut out: Vec<(Block<'t>, usize, usize)> = Vec::new();
    // Open block-level elements: (index, end, why boilerplate).
    let mut stack: Vec<(usize, usize, Option<Rule>)> = Vec::new();
    // Open links and `pre`: ends of their subtrees.
    let mut links: Vec<(usize, bool)> = Vec::new();
    let mut pres: Vec<usize> = Vec::new();
    // The block being read; its text so far is `arena[from..]`.
    let mut cur = Block {
        owner: 0,
        start: 0,
        text: "",
        link_chars: 0,
        card_link_chars: 0,
        chars: 0,
        kind: Kind::Para,
        boiler: None,
    };
    let mut from = 0;

    // While a block is read, `cur.chars` counts its visible characters so far: trimming
    // takes only whitespace, so they are the block's `chars`. The block is trimmed as what it
    // is (`cur.kind`), not as the block that opens after it (`kind`). The arena keeps the
    // trimmed text only, and the next block's text follows it.
    let flush = |cur: &mut Block<'t>,
                 from: &mut usize,
                 arena: &mut String,
                 out: &mut Vec<(Block<'t>, usize, usize)>,
                 owner: usize,
                 kind: Kind,
                 boiler: Option<Rule>| {
        let text = &arena[*from..];
        let trimmed = if cur.kind == Kind::Pre {
            text.trim_matches('\n')
        } else {
            text.trim()
        };
        if trimmed.is_empty() {
            arena.truncate(*from);
        } else {
            let start = *from + (trimmed.as_ptr() as usize - text.as_ptr() as usize);
            let end = start + trimmed.len();
            let chars = cur.chars;
            out.push((
                Block {
                    link_chars: cur.link_chars.min(chars),
                    card_link_chars: cur.card_link_chars.min(chars),
                    ..*cur
                },
                start,
                end,
            ));
            arena.truncate(end);
        }
        *from = arena.len();
        cur.owner = owner;
        cur.start = 0;
        cur.link_chars = 0;
        cur.card_link_chars = 0;
        cur.chars = 0;
        cur.kind = kind;
        cur.boiler = boiler;
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
            let (owner, kind, boiler) = stack.last().map_or((0, Kind::Para, None), |&(o, _, b)| {
                (o, kind_of(dom.items[o].tag()), b)
            });
            let _ = open;
            flush(&mut cur, &mut from, arena, &mut out, owner, kind, boiler);
        }
        links.retain(|&(e, _)| idx < e);
        pres.retain(|&e| idx < e);
        let item = &dom.items[idx];
        if let Some(t) = item.text() {
            // Bytes, not chars: counting the block's chars anew for each text node made long
            // blocks of many nodes quadratic.
            let before = arena.len();
            // A cell's separating space may come before the block's first text.
            if before == from || cur.start == 0 {
                cur.start = idx;
            }
            let added = if pres.is_empty() {
                let (collapsed, chars, visible) = texts.get(idx, t);
                // Its leading space goes where collapsing in place would not have made one.
                let (collapsed, chars) = if collapsed.starts_with(' ')
                    && (arena.len() == from || arena.ends_with(' '))
                {
                    (&collapsed[1..], chars - 1)
                } else {
                    (collapsed, chars)
                };
                arena.push_str(collapsed);
                cur.chars += visible;
                chars
            } else {
                arena.push_str(t);
                cur.chars += t.chars().filter(|c| !c.is_whitespace()).count();
                arena.len() - before
            };
            if !links.is_empty() {
                let added = if pres.is_empty() {
                    added
                } else {
                    arena[before..].chars().count()
                };
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
        let id = idx;
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
        if is_skipped(tag) && !heading_button
            || ov.remove.contains(&id)
            || is_dropped(idx).is_some()
        {
            idx = end;
            continue;
        }
        if tag == "br" || tag == "hr" {
            let (owner, kind, boiler) = (cur.owner, cur.kind, cur.boiler);
            flush(&mut cur, &mut from, arena, &mut out, owner, kind, boiler);
            idx += 1;
            continue;
        }
        if tag == "img" {
            idx += 1;
            continue;
        }
        if matches!(tag, "td" | "th") && !arena[from..].ends_with(' ') {
            arena.push(' ');
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
        let parent_boiler = stack.last().and_then(|s| s.2);
        let boiler = parent_boiler.or_else(|| {
            if ov.content.contains(&id) {
                None
            } else {
                is_boiler(idx)
            }
        });
        if is_block(tag) || boiler.is_some() != parent_boiler.is_some() {
            flush(
                &mut cur,
                &mut from,
                arena,
                &mut out,
                idx,
                kind_of(tag),
                boiler,
            );
            stack.push((idx, end, boiler));
        }
        idx += 1;
    }
    flush(&mut cur, &mut from, arena, &mut out, 0, Kind::Para, None);
    let arena: &'t str = arena;
    out.into_iter()
        .map(|(b, start, end)| Block {
            text: arena.get(start..end).unwrap_or_default(),
            ..b
        })
        .collect()
}

/// Characters of prose under each element, from a first cut of the page that ignores class
/// names: a wrapper holding much of the page's prose is layout, whatever its class says
/// (`content-with-sidebar`, `theiaStickySidebar`).
fn prose_totals(dom: &Dom, blocks: &[Block]) -> Vec<usize> {
    let mut totals = vec![0usize; dom.items.len()];
    for b in blocks.iter().filter(|b| b.is_prose()) {
        totals[b.owner] += b.chars;
    }
    roll_up(dom, &mut totals);
    totals
}

/// A short line that signs a comment: who said it ("Mike said..."), when (a date with its
/// time, "3 hours ago"), the button to answer it ("Reply").
static SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:
            (?:reply|replies|permalink|report|\d+\ repl(?:y|ies))
            |.{1,40}\s(?:said|says|wrote)\s*(?:\.\.\.|…|:)?
            |.{0,40}\b(?:19|20)\d\d\b.{0,20}\b\d{1,2}:\d\d\b.{0,30}
            |.{0,40}\b\d{1,2}:\d\d\b.{0,20}\b(?:19|20)\d\d\b.{0,30}
            |.{0,40}\b\d+\s+(?:minutes?|hours?|days?|weeks?|months?|years?)\s+ago\b.{0,30}
        )$",
    )
    .unwrap_or_else(|_| unreachable_regex())
});

/// Signed lines are at most this long.
const SIGNATURE_CHARS: usize = 80;

/// Whether `text` holds what every [`SIGNATURE`] needs where it needs it: a reply or report
/// button's word ending the line, said/says/wrote ending it (before an optional "...", "…"
/// or ":"), "ago" anywhere, or a clock. A cheap test that spares most blocks the regex, whose
/// case-blind Unicode classes make it the dearest step of the content pass; it reads ASCII
/// letters only, as the regex's words are written. Reading only the line's end for the
/// words that must end it keeps the regex off the many short lines that merely hold them
/// ("Police said on Tuesday…", "reported").
fn may_sign(text: &str) -> bool {
    let ends_with = |t: &str, words: &[&str]| {
        words.iter().any(|w| {
            t.len()
                .checked_sub(w.len())
                .and_then(|at| t.as_bytes().get(at..))
                .is_some_and(|end| end.eq_ignore_ascii_case(w.as_bytes()))
        })
    };
    if ends_with(text, &["reply", "replies", "permalink", "report"]) {
        return true;
    }
    let said = text
        .strip_suffix("...")
        .or_else(|| text.strip_suffix('…'))
        .or_else(|| text.strip_suffix(':'))
        .unwrap_or(text)
        .trim_end();
    if ends_with(said, &["said", "says", "wrote"]) {
        return true;
    }
    let bytes = text.as_bytes();
    memchr::memchr2_iter(b'g', b'G', bytes).any(|at| {
        at > 0
            && bytes[at - 1].eq_ignore_ascii_case(&b'a')
            && bytes
                .get(at + 1)
                .is_some_and(|o| o.eq_ignore_ascii_case(&b'o'))
    }) || has_clock(text)
}

/// Whether `text` holds a digit, a `:` and a digit (a clock's `10:42`): numeric characters,
/// a superset of the digits the signature's `\d` reads.
fn has_clock(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b':', bytes).any(|at| {
        text[..at].chars().next_back().is_some_and(char::is_numeric)
            && text[at + 1..].chars().next().is_some_and(char::is_numeric)
    })
}

/// Comment threads by their structure rather than their names: schema.org `Comment` items,
/// and a run of sibling elements of one tag, at least three, most of them holding a short
/// signed line (an author's "said", a time, a "Reply"), that starts after an article's worth
/// of prose and after the headline. Marks each such comment.
fn comment_structure(dom: &Dom, first: &[Block], headline: Option<usize>) -> Vec<bool> {
    let n = dom.items.len();
    let mut comment = vec![false; n];
    for (idx, item) in dom.items.iter().enumerate() {
        comment[idx] = item
            .schema_type()
            .is_some_and(|t| t.eq_ignore_ascii_case("Comment"))
            || item
                .attr("itemprop")
                .is_some_and(|p| p.eq_ignore_ascii_case("comment"));
    }
    let mut signed = vec![0usize; n];
    // What a comment says: running text that is neither a signature nor a link.
    let mut said = vec![0usize; n];
    // Headings: the items of a listing have them (each blurb its title), comments do not.
    let mut headings = vec![0usize; n];
    let mut chars = vec![0usize; n];
    // Prose before each block, in document order, to know what precedes a run.
    let mut prose_before: Vec<(usize, usize)> = Vec::with_capacity(first.len());
    let mut seen = 0;
    for b in first {
        chars[b.owner] += b.chars;
        if matches!(b.kind, Kind::Heading(_)) {
            headings[b.owner] += 1;
        }
        if b.chars <= SIGNATURE_CHARS && may_sign(b.text) && SIGNATURE.is_match(b.text) {
            signed[b.owner] += 1;
        } else if b.chars >= LIMITS.sentence_chars
            && LIMITS.prose_links.below(b.link_chars, b.chars)
            && !matches!(b.kind, Kind::Heading(_))
        {
            said[b.owner] += 1;
        }
        prose_before.push((b.start, seen));
        if b.is_prose() {
            seen += b.chars;
        }
    }
    roll_up(dom, &mut signed);
    roll_up(dom, &mut said);
    roll_up(dom, &mut headings);
    roll_up(dom, &mut chars);
    // A comment is signed and says something: a list of linked headlines with their times (a
    // news ticker) is signed too, but says nothing of its own.
    let is_post = |idx: usize| signed[idx] > 0 && said[idx] > 0 && headings[idx] == 0;
    // (parent, tag) -> (members with text, signed members, first member, their characters)
    let mut groups: FastMap<(u32, &str), (usize, usize, usize, usize)> = FastMap::default();
    for (idx, item) in dom.items.iter().enumerate() {
        let tag = item.tag();
        if chars[idx] == 0
            || item.parent == u32::MAX
            || matches!(
                tag,
                "" | "p" | "a" | "span" | "br" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            )
        {
            continue;
        }
        let g = groups.entry((item.parent, tag)).or_insert((0, 0, idx, 0));
        g.0 += 1;
        if is_post(idx) {
            g.1 += 1;
            g.3 += chars[idx];
        }
    }
    for ((parent, tag), (members, signed_members, first_member, posts_chars)) in groups {
        let after_article = prose_before
            .partition_point(|&(start, _)| start < first_member)
            .checked_sub(1)
            .map_or(0, |i| prose_before[i].1)
            >= LIMITS.article_elsewhere;
        let after_headline = headline.is_some_and(|h| h < first_member);
        // Comments are replies, short on average; a listing's signed items are stories.
        let short = posts_chars <= LIMITS.comment_chars * signed_members;
        if signed_members < 3
            || signed_members * 3 < members * 2
            || !short
            || !after_article
            || !after_headline
        {
            continue;
        }
        let p = parent as usize;
        let mut idx = p + 1;
        while idx < dom.items[p].end as usize {
            if dom.items[idx].tag() == tag && is_post(idx) {
                comment[idx] = true;
            }
            idx = (dom.items[idx].end as usize).max(idx + 1);
        }
    }
    comment
}

/// Teasers of other stories after an article: a run of sibling cards (at least
/// `min_teasers`, two thirds of them holding a heading that links away and at most
/// `teaser_chars` of text: a title and an excerpt) that starts after the
/// element holding the headline and the first two paragraphs of prose after it. A listing's cards share a
/// container with the listing's heading, so they are never taken for teasers; a short story's
/// excerpt-bearing teasers otherwise outweigh it. Only on a dated page (`dated`: its metadata
/// has a date or calls it an article, else a date line under the headline): a service's or a
/// shop's page lists its own offers in the same shape. Marks each linked card.
fn teaser_cards(dom: &Dom, blocks: &[Block], headline: Option<usize>, dated: bool) -> Vec<bool> {
    let n = dom.items.len();
    let mut teaser = vec![false; n];
    let Some(h) = headline else {
        return teaser;
    };
    let after_headline = dom.items[h].end as usize;
    // A story says when it ran: in its metadata, or in a short line between its headline and
    // its first paragraph. A service's or a shop's page, whose cards are content, does not.
    let dated = dated
        || blocks
            .iter()
            .skip_while(|b| b.start < after_headline)
            .take_while(|b| !b.is_prose())
            .any(|b| b.chars < LIMITS.dateline_chars && DATE_LINE.is_match(b.text));
    if !dated {
        return teaser;
    }
    // The story: the nearest ancestor of the headline that reaches its second paragraph (an
    // article has two at least, prose or whole sentences; a listing's introduction has one),
    // but no further than an `<article>` element holding the headline and its first paragraph,
    // which says where a story ends however short it is.
    let mut paras = blocks
        .iter()
        .filter(|b| b.start >= after_headline && (b.is_prose() || b.is_sentences()));
    let Some(first_para) = paras.next() else {
        return teaser;
    };
    let mut article = dom.items[h].parent;
    while article != u32::MAX && dom.items[article as usize].tag() != "article" {
        article = dom.items[article as usize].parent;
    }
    let declared_end = (article != u32::MAX)
        .then(|| dom.items[article as usize].end as usize)
        .filter(|&end| first_para.start < end);
    let reaching_end = paras.next().and_then(|lead| {
        let mut at = dom.items[h].parent;
        while at != u32::MAX && (dom.items[at as usize].end as usize) <= lead.start {
            at = dom.items[at as usize].parent;
        }
        (at != u32::MAX).then(|| dom.items[at as usize].end as usize)
    });
    let story_end = match (reaching_end, declared_end) {
        (Some(a), Some(b)) => a.min(b),
        (Some(end), None) | (None, Some(end)) => end,
        (None, None) => return teaser,
    };
    // Headings inside a link or holding one, counted per element.
    let mut in_link = vec![false; n];
    let mut links = vec![0usize; n];
    for (idx, item) in dom.items.iter().enumerate() {
        let up = item.parent != u32::MAX && in_link[item.parent as usize];
        // A link to a place on the page (a heading's anchor) leads to no other story.
        let away = item.tag() == "a"
            && item
                .attr("href")
                .is_some_and(|h| !h.trim_start().starts_with('#'));
        in_link[idx] = up || away;
        links[idx] = usize::from(away);
    }
    roll_up(dom, &mut links);
    let mut linked = vec![0usize; n];
    let mut chars = vec![0usize; n];
    for (idx, item) in dom.items.iter().enumerate().skip(story_end) {
        if idx != h
            && matches!(item.tag(), "h2" | "h3" | "h4" | "h5" | "h6")
            && (in_link[idx] || links[idx] > 0)
        {
            linked[idx] = 1;
        }
    }
    for b in blocks.iter().filter(|b| b.start >= story_end) {
        chars[b.owner] += b.chars;
    }
    roll_up(dom, &mut linked);
    roll_up(dom, &mut chars);
    // (parent, tag) -> (members with text, members with a linked heading)
    let mut groups: FastMap<(u32, &str), (usize, usize)> = FastMap::default();
    for (idx, item) in dom.items.iter().enumerate().skip(story_end) {
        if chars[idx] == 0 || item.parent == u32::MAX || matches!(item.tag(), "" | "p" | "br") {
            continue;
        }
        let g = groups.entry((item.parent, item.tag())).or_default();
        g.0 += 1;
        g.1 += usize::from(linked[idx] > 0 && chars[idx] <= LIMITS.teaser_chars);
    }
    for ((parent, tag), (members, with_heading)) in groups {
        if with_heading < LIMITS.min_teasers || with_heading * 3 < members * 2 {
            continue;
        }
        let p = parent as usize;
        let mut idx = p + 1;
        while idx < dom.items[p].end as usize {
            if dom.items[idx].tag() == tag && linked[idx] > 0 && chars[idx] <= LIMITS.teaser_chars {
                teaser[idx] = true;
            }
            idx = (dom.items[idx].end as usize).max(idx + 1);
        }
    }
    teaser
}

/// Parts that are boilerplate whatever their share of the page's prose: a long comment thread
/// or a modal cookie policy outweighs a short article, so the prose guard must not protect
/// them.
fn never_body(
    dom: &Dom,
    idx: usize,
    hints: &[u8],
    sheets: bool,
    rules: Rules,
    structure: &[Option<Rule>],
) -> Option<Rule> {
    let item = &dom.items[idx];
    if matches!(item.tag(), "html" | "body" | "main" | "article") {
        return None;
    }
    if rules.on(Rule::Dialogs) && is_dialog(dom, idx, sheets) {
        Some(Rule::Dialogs)
    } else if let Some(rule) = structure[idx] {
        Some(rule)
    } else if rules.on(Rule::CommentSections) && hints[idx] & (C_NEVER | C_POSITIVE) == C_NEVER {
        Some(Rule::CommentSections)
    } else {
        None
    }
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

/// Which elements are [`never_body`] parts on this page, and by which rule. Only beside an
/// article, though: on a forum thread or a policy page the comments or the notice are the
/// content, so when the page declares itself a discussion, or the prose outside all
/// such parts is too short to be an article, only modal dialogs are marked.
fn never_body_parts(
    dom: &Dom,
    blocks: &[Block],
    hints: &[u8],
    meta: &Meta,
    rules: Rules,
    headline: Option<usize>,
) -> Vec<Option<Rule>> {
    let (thread, sheets) = (meta.declares_thread, meta.declares_product);
    let dated = meta.published.is_some() || meta.declares_article;
    let n = dom.items.len();
    // Comment threads and teasers recognised by their structure, by the rule that did.
    let mut structure: Vec<Option<Rule>> = vec![None; n];
    if !thread {
        if rules.on(Rule::TeaserCards) {
            for (idx, t) in teaser_cards(dom, blocks, headline, dated)
                .into_iter()
                .enumerate()
            {
                if t {
                    structure[idx] = Some(Rule::TeaserCards);
                }
            }
        }
        if rules.on(Rule::CommentStructure) {
            for (idx, c) in comment_structure(dom, blocks, headline)
                .into_iter()
                .enumerate()
            {
                if c {
                    structure[idx] = Some(Rule::CommentStructure);
                }
            }
        }
    }
    let mut inside: Vec<Option<Rule>> = vec![None; n];
    for idx in 0..n {
        let p = dom.items[idx].parent;
        let up = if p == u32::MAX {
            None
        } else {
            inside[p as usize]
        };
        inside[idx] = up.or_else(|| never_body(dom, idx, hints, sheets, rules, &structure));
    }
    let outside: usize = blocks
        .iter()
        .filter(|b| b.is_prose() && inside[b.owner].is_none())
        .map(|b| b.chars)
        .sum();
    if thread || outside < LIMITS.article_elsewhere {
        // A dialog is laid over whatever the page is, so it stays out even then; and on a
        // question-and-answer page the comments under a question or an answer are remarks on
        // a post, not posts.
        let dialog =
            |idx| (rules.on(Rule::Dialogs) && is_dialog(dom, idx, sheets)).then_some(Rule::Dialogs);
        let mut in_post = vec![false; n];
        for idx in 0..n {
            let p = dom.items[idx].parent;
            let (up_post, up_inside) = if p == u32::MAX {
                (false, None)
            } else {
                (in_post[p as usize], inside[p as usize])
            };
            in_post[idx] = thread && (up_post || is_qa_post(dom, idx));
            // Teasers are found only after a story's prose, so they stay out too.
            let teaser =
                || (structure[idx] == Some(Rule::TeaserCards)).then_some(Rule::TeaserCards);
            inside[idx] = up_inside
                .or_else(|| dialog(idx))
                .or_else(teaser)
                .or_else(|| {
                    if in_post[idx] {
                        never_body(dom, idx, hints, sheets, rules, &structure)
                    } else {
                        None
                    }
                });
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

/// The value of a block as evidence of article text: its length less its links; nothing for a
/// heading; against the body when it is boilerplate, mostly links, or before the headline.
fn value(b: &Block, before_headline: bool) -> f64 {
    let len = b.chars as f64;
    let ld = b.link_chars as f64 / len.max(1.0);
    if b.is_boiler() {
        return -len;
    }
    if ld > LIMITS.link_block.num as f64 / LIMITS.link_block.den as f64 {
        return -len * ld * 0.5;
    }
    if before_headline {
        return -len * 0.5;
    }
    match b.kind {
        Kind::Heading(_) => 0.0,
        _ if b.chars < LIMITS.short_block => -1.0,
        _ => len * (1.0 - ld),
    }
}

/// What is known of the page before its blocks are judged: the signals every rule reads.
struct Page<'p, 'a> {
    dom: &'p Dom<'a>,
    meta: &'p Meta,
    rules: Rules,
    /// Class/id bits per element (`C_*`).
    hints: Vec<u8>,
    /// Characters of prose under each element, from the unjudged cut.
    prose: Vec<usize>,
    page_prose: usize,
    /// The headline's element, when it starts the body.
    headline: Option<usize>,
    /// Comment sections, structural comments and teasers, and dialogs, by the rule that marks them.
    never: Vec<Option<Rule>>,
    /// The page's one `main` and one `article` landmarks (start, end), when it has them.
    regions: [Option<(usize, usize)>; 2],
}

impl Page<'_, '_> {
    fn on(&self, rule: Rule) -> bool {
        self.rules.on(rule)
    }

    /// Whether the headline lies inside element `idx` (or the page has none).
    fn holds_headline(&self, idx: usize) -> bool {
        self.headline
            .is_none_or(|h| h >= idx && h < self.dom.items[idx].end as usize)
    }

    /// Outside the page's one `main` or one `article` landmark: a page that marks one holding
    /// two fifths of its prose says where its content is, and text outside it (a column of
    /// teasers with excerpts, a footer's blurb) is not the body.
    fn outside_landmarks(&self, idx: usize) -> bool {
        self.regions.iter().flatten().any(|&(m, end)| {
            let inside = idx >= m && idx < end;
            let holds_it = idx <= m && self.dom.items[idx].end as usize >= end;
            !inside && !holds_it
        })
    }

    /// On a product's page its reviews are left out whatever their share of the prose: they
    /// often outweigh the description.
    fn shop(&self, idx: usize) -> bool {
        self.on(Rule::ShopParts)
            && self.meta.declares_product
            && is_shop_part(self.dom, idx, &self.hints)
    }

    /// The rule that marks element `idx` as boilerplate, if any.
    fn boiler(&self, idx: usize) -> Option<Rule> {
        if self.on(Rule::Landmarks) && self.outside_landmarks(idx) {
            return Some(Rule::Landmarks);
        }
        if let Some(rule) = self.never[idx] {
            return Some(rule);
        }
        if self.shop(idx) {
            return Some(Rule::ShopParts);
        }
        if self.on(Rule::SiteFurniture) && is_site_furniture(self.dom, idx) {
            return Some(Rule::SiteFurniture);
        }
        let rule = looks_boiler(
            self.dom,
            idx,
            &self.hints,
            self.meta.declares_product,
            self.rules,
        )?;
        // A boilerplate-looking element that holds much of the page's prose is usually layout
        // (`content-with-sidebar`) and is kept; but a sidebar of teasers can hold as much
        // prose as a short article, so beside the headline the guard asks for a clear
        // majority.
        let guarded = self.on(Rule::ProseGuard)
            && !(LIMITS.guard_share.below(self.prose[idx], self.page_prose)
                || !self.holds_headline(idx)
                    && LIMITS
                        .guard_share_off_headline
                        .below(self.prose[idx], self.page_prose));
        (!guarded).then_some(rule)
    }

    /// The furniture that no class name can excuse, for the pick by text alone.
    fn furniture(&self, idx: usize) -> Option<Rule> {
        self.never[idx]
            .or_else(|| self.shop(idx).then_some(Rule::ShopParts))
            .or_else(|| {
                (self.on(Rule::SiteFurniture) && is_site_furniture(self.dom, idx))
                    .then_some(Rule::SiteFurniture)
            })
    }

    /// Hidden parts go unless they hold much of the page's prose (streamed server rendering
    /// parks the whole article in a `hidden` element until a script moves it).
    /// A hidden part that holds prose is folded content (an accordion's answers, a
    /// carousel's slides, a collapsed section) and stays too: the menus, pickers and labels
    /// pages hide hold none. A popover is laid over the page, never folded into it.
    fn dropped(&self, idx: usize) -> Option<Rule> {
        if !self.on(Rule::Hidden) || self.dom.items[idx].tag().is_empty() {
            return None;
        }
        let folded = || self.prose[idx] > 0 && self.dom.items[idx].attr("popover").is_none();
        let hidden =
            self.hints[idx] & C_SCREEN_READER != 0 || is_hidden(self.dom, idx) && !folded();
        (hidden && LIMITS.hidden_keep.below(self.prose[idx], self.page_prose))
            .then_some(Rule::Hidden)
    }
}

/// Why a block of the page is in the body or not, for `feedwatch extract --explain`.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The block's text.
    pub text: String,
    /// Its value to the element holding it (see [`value`]).
    pub score: f64,
    /// Whether it is in the body.
    pub kept: bool,
    /// The rule that kept or dropped it, or the step of the scoring core that did.
    pub why: &'static str,
    /// The element holding it, as `tag#id.class`.
    pub element: String,
}

/// How the body was found, block by block.
#[derive(Debug, Clone, Default)]
pub struct Explanation {
    /// The element chosen as the body, as `tag#id.class`, and its score.
    pub chosen: Option<(String, f64)>,
    /// The container of the cards joined to the body, when some were.
    pub cards: Option<String>,
    /// Every block of the page, in document order.
    pub blocks: Vec<Verdict>,
}

/// The element as `tag#id.class.class`, for the explanation.
fn describe(dom: &Dom, idx: usize) -> String {
    let item = &dom.items[idx];
    let mut s = item.tag().to_string();
    if s.is_empty() {
        s.push_str("(document)");
    }
    if let Some(id) = item.attr("id").filter(|i| !i.is_empty()) {
        s.push('#');
        s.push_str(id);
    }
    for c in item
        .attr("class")
        .unwrap_or_default()
        .split_ascii_whitespace()
        .take(3)
    {
        s.push('.');
        s.push_str(c);
    }
    s
}

/// Picks the body: per-site content first, else the best-scoring element, or the page's cards
/// when they say clearly more (`declares_article`: the page calls itself an article, so cards
/// beside a body of real prose are its related links). With `explain`, also says why each
/// block is in or out.
pub fn find(dom: &Dom, ov: &Overrides, meta: &Meta, rules: Rules, explain: bool) -> Body {
    let declares_article = meta.declares_article;
    let mut texts = Texts::new(dom.items.len());
    let (mut first_cut, mut judged_cut, mut plain_cut) = Default::default();
    let first = blocks(dom, &mut texts, ov, &|_| None, &|_| None, &mut first_cut);
    if !ov.content.is_empty() {
        let roots: Vec<usize> = (0..dom.items.len())
            .filter(|i| ov.content.contains(i))
            .collect();
        let inside = |owner: usize| {
            roots
                .iter()
                .any(|&r| owner >= r && owner < dom.items[r].end as usize)
        };
        let explanation = explain.then(|| Explanation {
            chosen: None,
            cards: None,
            blocks: first
                .iter()
                .map(|b| Verdict {
                    text: b.text.to_string(),
                    score: value(b, false),
                    kept: inside(b.owner),
                    why: "site-rule",
                    element: describe(dom, b.owner),
                })
                .collect(),
        });
        return Body {
            blocks: first
                .iter()
                .filter(|b| inside(b.owner))
                .map(|b| (b.kind, b.text.to_string()))
                .collect(),
            by_rule: true,
            explanation,
        };
    }
    let prose = prose_totals(dom, &first);
    let page_prose = prose.first().copied().unwrap_or(0);
    // Text before the headline is not body, but a headline found below most of the page's
    // prose (a hero laid out after the article, the story's name repeated as a footer
    // heading) says nothing about where the body starts.
    let headline = meta
        .headline_idx
        .filter(|_| rules.on(Rule::Headline))
        .filter(|&h| {
            let after: usize = first
                .iter()
                .filter(|b| b.start >= h && b.is_prose())
                .map(|b| b.chars)
                .sum();
            LIMITS.headline_after.reached(after, page_prose)
        });
    let hints = class_hints(dom, meta.declares_thread);
    let never = never_body_parts(dom, &first, &hints, meta, rules, headline);
    let regions = if rules.on(Rule::Landmarks) {
        [
            sole_landmark(dom, &prose, page_prose, "main"),
            sole_landmark(dom, &prose, page_prose, "article"),
        ]
    } else {
        [None, None]
    };
    let page = Page {
        dom,
        meta,
        rules,
        hints,
        prose,
        page_prose,
        headline,
        never,
        regions,
    };
    // `itemprop=articleBody` is the page's own statement of where the body is: when it holds
    // a fair share of the prose, the body is looked for inside it only. On a discussion it
    // marks the opening post alone, and the replies are content too.
    let declared = (0..dom.items.len())
        .filter(|_| rules.on(Rule::DeclaredBody))
        .filter(|&i| {
            dom.items[i]
                .attr("itemprop")
                .is_some_and(|p| p.eq_ignore_ascii_case("articleBody"))
        })
        .max_by_key(|&i| page.prose[i])
        .filter(|&i| {
            LIMITS.declared_share.reached(page.prose[i], page_prose) && !meta.declares_thread
        });
    let judged = blocks(
        dom,
        &mut texts,
        ov,
        &|i| page.boiler(i),
        &|i| page.dropped(i),
        &mut judged_cut,
    );
    // A listing, product grid or table of rows is cut by `select` into short link blocks that
    // it drops; the cards are taken aside here, before `select` consumes the blocks.
    // A question page's answers are its cards, and the question sits beside their container:
    // the element declared as the question holds both, so its prose joins them.
    let listing = cards(dom, &judged)
        .filter(|_| rules.on(Rule::Cards))
        .map(|root| {
            let end = dom.items[root].end as usize;
            let question = meta
                .declares_thread
                .then(|| enclosing_question(dom, root))
                .flatten()
                .map_or((root, end), |q| (q, dom.items[q].end as usize));
            let list = judged
                .iter()
                .filter(|b| !b.is_boiler() && b.owner >= question.0 && b.owner < question.1)
                .filter(|b| b.owner >= root && b.owner < end || b.link_chars * 2 <= b.chars)
                .cloned()
                .collect::<Vec<Block<'_>>>();
            (root, list)
        });
    let mut pick = select(&page, &judged, declared);
    let mut chars: usize = pick.blocks.iter().map(|b| b.chars).sum();
    // Class names can mislead; when they leave next to nothing, judge by the text alone.
    let plain_blocks =
        if rules.on(Rule::PlainFallback) && LIMITS.plain_below.below(chars, page_prose) {
            Some(blocks(
                dom,
                &mut texts,
                ov,
                &|i| page.furniture(i),
                &|_| None,
                &mut plain_cut,
            ))
        } else {
            None
        };
    let mut source = &judged;
    if let Some(plain_blocks) = &plain_blocks {
        let plain = select(&page, plain_blocks, None);
        let plain_chars = plain.blocks.iter().map(|b| b.chars).sum::<usize>();
        if plain_chars > chars {
            pick = plain;
            chars = plain_chars;
            source = plain_blocks;
        }
    }
    let listed = listing.filter(|(_, list)| {
        prefer_listing(
            &pick.blocks,
            chars,
            list,
            page_prose,
            declares_article,
            meta.declares_thread,
        )
    });
    // The sections of a page that is no article, thread or product are its body together; the
    // cards are weighed against the section picked alone, which the joined ones outweigh.
    if rules.on(Rule::WidenSections)
        && !declares_article
        && !meta.declares_thread
        && !meta.declares_product
    {
        let wide = widen(dom, source, pick.choice.best, pick.choice.top);
        if wide != pick.choice.best {
            let choice = Choice {
                best: wide,
                card_text: true,
                ..pick.choice
            };
            let (blocks, dropped) = gather(&page, source, choice);
            pick = Pick {
                blocks,
                dropped,
                choice,
            };
        }
    }
    let mut sibling_starts = Vec::new();
    if rules.on(Rule::SiblingParts) {
        let extra = sibling_parts(&page, source, pick.choice);
        sibling_starts.extend(extra.iter().map(|b| b.start));
        if !extra.is_empty() {
            pick.blocks = merge(std::mem::take(&mut pick.blocks), extra);
        }
    }
    let mut list_dropped = Vec::new();
    // Only the explanation reads the picked blocks again: otherwise the body takes them as
    // they are, not a copy of each block's text.
    let picked = if explain {
        pick.blocks.clone()
    } else {
        std::mem::take(&mut pick.blocks)
    };
    let (out, cards_root) = match listed {
        Some((root, mut list)) => {
            // The body picked beside the cards is the listing's introduction (a category's
            // description, a buying guide), which belongs with them. A thread's posts are cards
            // too, and carry the same poster furniture.
            trim_post_furniture(&mut list, rules, &mut list_dropped);
            (merge(picked, list), Some(root))
        }
        None => (picked, None),
    };
    let explanation = explain.then(|| {
        explain_pick(
            &page,
            &first,
            &out,
            &pick,
            &list_dropped,
            &sibling_starts,
            cards_root,
        )
    });
    Body {
        blocks: out
            .into_iter()
            .map(|b| (b.kind, b.text.to_string()))
            .collect(),
        by_rule: false,
        explanation,
    }
}

/// How many siblings on each side of the body are looked at for its lead or its rest.
const SIBLING_REACH: usize = 3;

/// The body's parts in sibling elements beside the chosen one, which the scoring leaves out
/// when the body's container is classed as content and its neighbour is not: the lead in a
/// standfirst or an intro element before it (between the headline and the body, in their
/// common container, wholly sentences), and the
/// rest of a body that an advert or a widget splits in two (an element of the same tag and
/// class after it). Furniture between them (a byline, the advert) is stepped over.
fn sibling_parts<'t>(page: &Page, all: &[Block<'t>], choice: Choice) -> Vec<Block<'t>> {
    let dom = page.dom;
    let best = choice.best;
    let parent = dom.items[best].parent;
    let Some(h) = page.headline else {
        return Vec::new();
    };
    if parent == u32::MAX || best == 0 {
        return Vec::new();
    }
    let p = parent as usize;
    let mut kids = Vec::new();
    let mut idx = p + 1;
    while idx < dom.items[p].end as usize {
        if !dom.items[idx].tag().is_empty() {
            kids.push(idx);
        }
        idx = (dom.items[idx].end as usize).max(idx + 1);
    }
    let Some(at) = kids.iter().position(|&k| k == best) else {
        return Vec::new();
    };
    let h_end = dom.items[h].end as usize;
    let blocks_in = |k: usize| -> Vec<Block<'t>> {
        let end = dom.items[k].end as usize;
        all.iter()
            .filter(|b| !b.is_boiler() && b.owner >= k && b.owner < end)
            .cloned()
            .collect()
    };
    let first_class = |k: usize| {
        dom.items[k]
            .attr("class")
            .and_then(|c| c.split_ascii_whitespace().next())
    };
    let mut out = Vec::new();
    // A lead is looked for only where the story's own container holds the headline, the lead
    // and the body side by side: elsewhere the text before the body is a dek or a teaser.
    let headline_beside = dom.items[h].parent == parent;
    for &k in kids[..at]
        .iter()
        .rev()
        .take(SIBLING_REACH)
        .filter(|_| headline_beside)
    {
        if k < h_end {
            break;
        }
        let bs = blocks_in(k);
        if bs.is_empty() {
            continue;
        }
        if !bs.iter().all(Block::is_sentences) {
            break;
        }
        out.extend(bs);
    }
    for &k in kids[at + 1..].iter().take(SIBLING_REACH) {
        let bs = blocks_in(k);
        if bs.is_empty() {
            continue;
        }
        let same = dom.items[k].tag() == dom.items[best].tag()
            && first_class(k).is_some()
            && first_class(k) == first_class(best);
        if !same || !bs.iter().all(|b| b.is_sentences() || b.is_prose()) {
            break;
        }
        out.extend(
            bs.into_iter()
                .filter(|b| !LIMITS.body_links.above(b.link_chars, b.chars)),
        );
    }
    out
}

/// Says of every block of the unjudged cut whether it is in the body and why.
fn explain_pick(
    page: &Page,
    first: &[Block],
    out: &[Block],
    pick: &Pick,
    list_dropped: &[(usize, Rule)],
    sibling_starts: &[usize],
    cards_root: Option<usize>,
) -> Explanation {
    let dom = page.dom;
    let kept: HashSet<usize> = out.iter().map(|b| b.start).collect();
    let in_pick: HashSet<usize> = pick.blocks.iter().map(|b| b.start).collect();
    let dropped: HashMap<usize, Rule> = pick
        .dropped
        .iter()
        .chain(list_dropped)
        .map(|&(s, r)| (s, r))
        .collect();
    let (best, end) = (pick.choice.best, dom.items[pick.choice.best].end as usize);
    // The outermost marking ancestor decides, as in the cut.
    let marked = |owner: usize, judge: &dyn Fn(usize) -> Option<Rule>| {
        let mut at = owner as u32;
        let mut found = None;
        while at != u32::MAX {
            if let Some(r) = judge(at as usize) {
                found = Some(r);
            }
            at = dom.items[at as usize].parent;
        }
        found
    };
    let blocks = first
        .iter()
        .map(|b| {
            let before = page.headline.is_some_and(|h| b.start < h);
            let boiler = marked(b.owner, &|i| page.boiler(i));
            let hidden = marked(b.owner, &|i| page.dropped(i));
            let judged = Block { boiler, ..*b };
            let inside = b.owner >= best && b.owner < end;
            let why = if kept.contains(&b.start) {
                if sibling_starts.contains(&b.start) {
                    Rule::SiblingParts.name()
                } else if !in_pick.contains(&b.start) {
                    Rule::Cards.name()
                } else if boiler.is_none()
                    && looks_boiler(dom, b.owner, &page.hints, false, page.rules).is_some()
                {
                    Rule::ProseGuard.name()
                } else {
                    "body"
                }
            } else if let Some(r) = hidden.or(boiler) {
                r.name()
            } else if let Some(r) = dropped.get(&b.start) {
                r.name()
            } else if page
                .headline
                .is_some_and(|h| b.start >= h && b.start < dom.items[h].end as usize)
            {
                Rule::Headline.name()
            } else if !inside {
                "outside-body"
            } else if before
                || page
                    .headline
                    .is_some_and(|h| b.start < dom.items[h].end as usize)
            {
                Rule::Headline.name()
            } else if links_of(b, pick.choice.card_text) * 2 > b.chars {
                "link-dense"
            } else {
                "outside-body"
            };
            Verdict {
                text: b.text.to_string(),
                score: value(&judged, before),
                kept: kept.contains(&b.start),
                why,
                element: describe(dom, b.owner),
            }
        })
        .collect();
    Explanation {
        chosen: Some((describe(dom, best), pick.choice.score)),
        cards: cards_root.map(|r| describe(dom, r)),
        blocks,
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
        (Some(m), None) if LIMITS.landmark_share.reached(prose[m], page_prose) => {
            Some((m, dom.items[m].end as usize))
        }
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
fn merge<'t>(a: Vec<Block<'t>>, b: Vec<Block<'t>>) -> Vec<Block<'t>> {
    let mut all: Vec<Block<'t>> = a.into_iter().chain(b).collect();
    all.sort_by_key(|b| b.start);
    all.dedup_by_key(|b| b.start);
    all
}

/// Where the body was found.
#[derive(Clone, Copy)]
struct Choice {
    /// The element whose blocks are the body.
    best: usize,
    /// Its score.
    score: f64,
    /// The element the search was kept within (the document, or the declared article body).
    top: usize,
    /// The body is a list of links, whose link blocks are its text.
    link_page: bool,
    /// The body is a page's sections, where a card made one link (a service's offers, each a
    /// title and a line of description) is text, not a link.
    card_text: bool,
}

/// The blocks picked as the body, where they were found, and which blocks inside the chosen
/// element a rule dropped (by block start).
struct Pick<'t> {
    blocks: Vec<Block<'t>>,
    dropped: Vec<(usize, Rule)>,
    choice: Choice,
}

/// Characters of a block's links, less those of a card made one link where that is text.
fn links_of(b: &Block, card_text: bool) -> usize {
    if card_text {
        b.link_chars.saturating_sub(b.card_link_chars)
    } else {
        b.link_chars
    }
}

/// The scoring core: each element sums the values of the blocks inside it, weighted by its
/// semantic hints; the best-scoring element's blocks, minus boilerplate, link lists and the
/// headline, are the body.
fn select<'t>(page: &Page, all: &[Block<'t>], within: Option<usize>) -> Pick<'t> {
    let (dom, hints) = (page.dom, &page.hints);
    let n = dom.items.len();
    let mut sums = vec![0f64; n];
    // A comment section's weight against its container is capped: a post with many comments
    // under it is still the post, and the thread's length says nothing about the layout.
    let mut comments = vec![0f64; n];
    let mut in_comments = vec![false; n];
    if page.on(Rule::CommentSections) {
        for idx in 1..n {
            let p = dom.items[idx].parent;
            in_comments[idx] =
                hints[idx] & C_COMMENTS != 0 || p != u32::MAX && in_comments[p as usize];
        }
    }
    for b in all {
        let before = page.headline.is_some_and(|h| b.start < h);
        if b.is_boiler() && in_comments[b.owner] {
            comments[b.owner] += value(b, before);
        } else {
            sums[b.owner] += value(b, before);
        }
    }
    roll_up(dom, &mut sums);
    roll_up(dom, &mut comments);
    for idx in 0..n {
        if sums[idx] > 0.0 {
            sums[idx] += comments[idx].max(-LIMITS.comments_weight * sums[idx]);
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
        let bonus = if page.on(Rule::SemanticBonus) {
            hint_bonus(dom, idx, hints)
        } else {
            0.0
        };
        let score = sums[idx] * (1.0 + bonus);
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
        score: best_score,
        top: lo,
        link_page: links * 2 > chars,
        card_text: false,
    };
    let (blocks, dropped) = gather(page, all, choice);
    Pick {
        blocks,
        dropped,
        choice,
    }
}

/// The blocks of the chosen element: a list-of-links page keeps its links, prose drops the
/// link blocks inside it (judged on the best-scoring element alone, since the sections a body
/// is widened to bring the page's menus). Then the rules that trim a body's ends and
/// furniture; what they drop is returned beside the body.
fn gather<'t>(
    page: &Page,
    all: &[Block<'t>],
    choice: Choice,
) -> (Vec<Block<'t>>, Vec<(usize, Rule)>) {
    let dom = page.dom;
    let (best, end) = (choice.best, dom.items[choice.best].end as usize);
    let mut picked: Vec<Block<'t>> = all
        .iter()
        .filter(|b| b.owner >= best && b.owner < end)
        .filter(|b| {
            !b.is_boiler()
                && (choice.link_page
                    || !LIMITS
                        .body_links
                        .above(links_of(b, choice.card_text), b.chars))
        })
        .cloned()
        .collect();
    if let Some(h) = page.headline
        && h >= best
        && h < end
    {
        let h_end = dom.items[h].end as usize;
        picked.retain(|b| b.start >= h_end);
    }
    let mut dropped = Vec::new();
    cut_tail(&mut picked, page.rules, &mut dropped);
    if page.on(Rule::RepeatedRuns) {
        drop_repeated_runs(&mut picked, &mut dropped);
    }
    trim_furniture(&mut picked, page.rules, &mut dropped);
    trim_post_furniture(&mut picked, page.rules, &mut dropped);
    (picked, dropped)
}

/// A page that is neither an article, a thread nor a product (a company's landing page, a
/// service's description) is made of sections, each a heading and a few short paragraphs
/// under one wrapper; the best-scoring element is then one section, often the longest (the
/// FAQ). When it holds less than half of the prose the page shows outside boilerplate, the
/// body is the nearest ancestor that holds that half. The text of cards made one link counts
/// as prose here: on such a page a grid of linked offers is a section too.
fn widen(dom: &Dom, all: &[Block], best: usize, top: usize) -> usize {
    let mut prose = vec![0usize; dom.items.len()];
    for b in all
        .iter()
        .filter(|b| !b.is_boiler() && b.is_prose_with(links_of(b, true)))
    {
        prose[b.owner] += b.chars;
    }
    roll_up(dom, &mut prose);
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
fn trim_post_furniture(blocks: &mut Vec<Block>, rules: Rules, dropped: &mut Vec<(usize, Rule)>) {
    if !rules.on(Rule::PostLabels) {
        return;
    }
    let label: Vec<bool> = blocks
        .iter()
        .map(|b| b.chars <= LIMITS.post_label_chars && POST_LABEL.is_match(b.text.trim()))
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
    blocks.retain(|b| {
        i += 1;
        if drop[i - 1] {
            dropped.push((b.start, Rule::PostLabels));
        }
        !drop[i - 1]
    });
}

static DATE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\b(?:19|20)\d\d\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{1,2}:\d\d\b)")
        .unwrap_or_else(|_| unreachable_regex())
});

/// A byline without a date ("By Ann Porter, Staff Writer"): furniture above the first
/// paragraph, like a dateline.
static BYLINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?i:by)\s+\p{Lu}").unwrap_or_else(|_| unreachable_regex()));

/// Drops the furniture that sits inside article containers: dateline and byline lines above
/// the first real paragraph, bare "Advertisement" labels, the names of a page's own
/// tools (the table of contents whose links are gone, "Edit this page", the feedback
/// question, the "Close" and "Reveal answer" labels of panels whose buttons are not buttons),
/// and the labels a shop or a listing puts on its buttons and widgets ("Add to cart", "In
/// stock", "Sort by", "Loading"), which a button-less theme renders as text.
fn trim_furniture(blocks: &mut Vec<Block>, rules: Rules, dropped: &mut Vec<(usize, Rule)>) {
    let first_prose = blocks
        .iter()
        .position(|b| b.chars >= LIMITS.lead_prose_chars)
        .unwrap_or(0);
    let mut i = 0;
    blocks.retain(|b| {
        let lead = i < first_prose;
        i += 1;
        let label = rules.on(Rule::FurnitureLabels)
            && b.chars <= LIMITS.label_chars
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
        let dateline = rules.on(Rule::Datelines)
            && lead
            && b.chars < LIMITS.dateline_chars
            && !matches!(b.kind, Kind::Heading(_))
            && (DATE_LINE.is_match(b.text)
                || b.chars < LIMITS.label_chars * 2 && BYLINE.is_match(b.text.trim()));
        if label {
            dropped.push((b.start, Rule::FurnitureLabels));
        } else if dateline {
            dropped.push((b.start, Rule::Datelines));
        }
        !(label || dateline)
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
fn cut_tail(blocks: &mut Vec<Block>, rules: Rules, dropped: &mut Vec<(usize, Rule)>) {
    let total: usize = blocks.iter().map(|b| b.chars).sum();
    let mut seen = 0;
    for (i, b) in blocks.iter().enumerate() {
        let closing = |t: &str| {
            if rules.on(Rule::TailHeadings)
                && LIMITS.tail_after.above(seen, total)
                && TAIL.is_match(t)
            {
                Some(Rule::TailHeadings)
            } else if rules.on(Rule::TeaserHeadings)
                && LIMITS.teaser_after.above(seen, total)
                && TEASERS.is_match(t)
            {
                Some(Rule::TeaserHeadings)
            } else {
                None
            }
        };
        if b.chars < LIMITS.closing_heading_chars
            && let Some(rule) = closing(b.text.trim())
        {
            dropped.extend(blocks[i..].iter().map(|b| (b.start, rule)));
            blocks.truncate(i);
            return;
        }
        seen += b.chars;
    }
}

/// Drops runs of blocks that repeat earlier ones word for word: a page that lays its article
/// out twice (a desktop and a mobile copy, a print version) would otherwise give it twice.
/// One repeated paragraph is left alone (a pull quote, a refrain, a quoted post); a run
/// needs [`LIMITS`]`.repeat_run` long repeats in a row.
fn drop_repeated_runs(blocks: &mut Vec<Block>, dropped: &mut Vec<(usize, Rule)>) {
    // A run is dropped only for its long repeats, and a long block repeats only a long one
    // (the same text has the same characters): unless two long blocks agree in length and
    // in their first and last bytes, nothing repeats that matters, which is told without
    // hashing every block's whole text.
    let ends = |t: &str| {
        let b = t.as_bytes();
        let mut key = [0u8; 16];
        for (k, &byte) in b.iter().take(8).chain(b.iter().rev().take(8)).enumerate() {
            key[k] = byte;
        }
        (b.len(), key)
    };
    let mut keys: FastSet<(usize, [u8; 16])> = FastSet::default();
    if blocks
        .iter()
        .filter(|b| b.chars >= LIMITS.repeat_long)
        .all(|b| keys.insert(ends(b.text.trim())))
    {
        return;
    }
    let mut seen: FastSet<&str> = FastSet::default();
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
            long += usize::from(blocks[i].chars >= LIMITS.repeat_long);
            i += 1;
        }
        if long >= LIMITS.repeat_run {
            drop[start..i].iter_mut().for_each(|d| *d = true);
        }
    }
    if drop.contains(&true) {
        let mut k = drop.into_iter();
        blocks.retain(|b| {
            let d = k.next().unwrap_or(false);
            if d {
                dropped.push((b.start, Rule::RepeatedRuns));
            }
            !d
        });
    }
}

/// The container of the page's largest run of repeated sibling elements (same tag and first
/// class) that carry text: the cards of a listing, a product grid, a table's rows. Link lists
/// of a menu repeat too, so each card must hold more than a menu entry's worth of text. A run
/// is measured without its largest member, so that the page's layout columns (an article
/// beside a sidebar and a footer) do not pass for cards.
fn cards(dom: &Dom, blocks: &[Block]) -> Option<usize> {
    let mut chars = vec![0usize; dom.items.len()];
    for b in blocks.iter().filter(|b| !b.is_boiler()) {
        chars[b.owner] += b.chars;
    }
    roll_up(dom, &mut chars);
    // (parent, tag, first class) -> (siblings, their characters, the largest sibling's)
    let mut groups: FastMap<(u32, &str, &str), (usize, usize, usize)> = FastMap::default();
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
        .filter(|(_, (count, total, _))| {
            *count >= LIMITS.min_cards && *total >= LIMITS.card_chars * *count
        })
        // The key after the score makes ties independent of the map's order.
        .max_by_key(|&(key, (_, total, largest))| (total - largest, std::cmp::Reverse(key)))
        .map(|((parent, _, _), _)| parent as usize)
}

/// Characters of prose (long blocks with few links) in `blocks`.
fn prose_chars(blocks: &[Block]) -> usize {
    blocks
        .iter()
        .filter(|b| b.is_prose())
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
/// Cards that are mostly links are joined so only beside next to no prose and no story (two
/// paragraphs of sentences): beside an article's or a page's paragraphs they are the site's
/// links.
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
    // Two paragraphs of whole sentences are a story, however short: a list of links beside
    // it is the site's ("Most read"), not more of the page's content.
    let story = picked.iter().filter(|b| b.is_sentences()).nth(1).is_some();
    let joinable = !declares_thread
        && list_chars * 2 > chars
        && if declares_article {
            prose < 1000 && !link_list
        } else {
            !link_list || prose < 300 && !story
        };
    (list_chars > chars * 3 || short_cards && (list_chars > chars || overlaps)) && !article
        || joinable
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The patterns the lists of names stand for (a name as a whole word of the class
    /// string), with their bits: the oracle for [`name_bits`].
    fn name_patterns() -> Vec<(Regex, u8)> {
        NAME_LISTS
            .iter()
            .map(|(list, bit)| {
                let pattern = format!(r"(?x)(?:^|[\s_-])(?:{list})(?:$|[\s_-])");
                (Regex::new(&pattern).unwrap(), *bit)
            })
            .collect()
    }

    /// The texts of a cut, as `(kind, text)`.
    fn cut_texts(html: &str, cut: &mut Cut) -> Vec<(Kind, String)> {
        let page = super::super::tree::parse(html);
        let dom = Dom::new(&page);
        let mut texts = Texts::new(dom.items.len());
        let ov = Overrides::default();
        let blocks = blocks(&dom, &mut texts, &ov, &|_| None, &|_| None, cut);
        // One after the other in the one arena, none overlapping the next.
        for w in blocks.windows(2) {
            let (a, b) = (w[0].text.as_bytes(), w[1].text.as_bytes());
            assert!(
                a.as_ptr_range().end <= b.as_ptr(),
                "{:?} {:?}",
                w[0].text,
                w[1].text
            );
        }
        blocks
            .iter()
            .map(|b| (b.kind, b.text.to_string()))
            .collect()
    }

    /// Each block's text is its own, trimmed, in one arena the cut reuses: whitespace around
    /// blocks, empty blocks, cells, `<pre>` (trimmed of line feeds only) and breaks.
    #[test]
    fn blocks_borrow_their_own_trimmed_text_from_the_cut() {
        let html = "<body> <div>  lead  <p>  One  <a href='/x'>two</a>\n three </p> \
            <p> \n </p><table><tr><td> a </td><td>b</td></tr></table>\
            <pre>\n  code  \n\n</pre> x <br> <br>y\u{a0}</div><h2> Head </h2>tail </body>";
        let want: Vec<(Kind, String)> = [
            (Kind::Para, "lead"),
            (Kind::Para, "One two three"),
            (Kind::Para, "a b"),
            (Kind::Pre, "  code  "),
            (Kind::Para, "x"),
            (Kind::Para, "y"),
            (Kind::Heading(2), "Head"),
            (Kind::Para, "tail"),
        ]
        .into_iter()
        .map(|(k, t)| (k, t.to_string()))
        .collect();
        let mut cut = Cut::default();
        assert_eq!(cut_texts(html, &mut cut), want);
        // The cut is emptied before it is used again.
        assert_eq!(
            cut_texts("<p> other </p>", &mut cut),
            [(Kind::Para, "other".to_string())]
        );
        assert_eq!(cut_texts(html, &mut cut), want);
    }

    #[test]
    fn names_are_words_joined_by_dashes() {
        for (list, _) in NAME_LISTS {
            for name in spellings(list) {
                assert!(
                    !name.is_empty()
                        && !name.starts_with('-')
                        && !name.ends_with('-')
                        && !name.contains("--")
                        && name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                    "{name:?}"
                );
            }
        }
        assert_eq!(spellings("ad-?slot|x"), ["adslot", "ad-slot", "x"]);
    }

    #[test]
    fn class_names_are_matched_as_the_patterns_match_them() {
        // Every name, alone, joined to others and to words that are none, cut short, with
        // other separators, in camelCase, and the class and id strings of the fixture pages.
        let mut names: Vec<String> = Vec::new();
        let all: Vec<String> = NAME_LISTS.iter().flat_map(|(l, _)| spellings(l)).collect();
        for (k, name) in all.iter().enumerate() {
            let other = &all[(k * 7 + 3) % all.len()];
            names.extend([
                name.clone(),
                format!("x{name}"),
                format!("{name}x"),
                format!("x-{name}-y"),
                format!("x_{name} y"),
                format!("{name}-{other}"),
                format!("{name}--{other}"),
                format!("{other} {name}\u{a0}z"),
                format!("{name}\u{2003}"),
                name.replace('-', "_"),
                name.replace('-', " "),
                name.replace('-', "--"),
                name.replace('-', ""),
                name[..name.len() - 1].to_string(),
                name[1..].to_string(),
                name.to_uppercase(),
            ]);
            let camel: String = name
                .split('-')
                .enumerate()
                .map(|(i, w)| {
                    if i == 0 {
                        w.to_string()
                    } else {
                        w[..1].to_uppercase() + &w[1..]
                    }
                })
                .collect();
            names.push(camel);
        }
        crate::extract::tests::each_test_page(|_, text| {
            let page = super::super::tree::parse(text);
            let dom = Dom::new(&page);
            for item in &dom.items {
                names.extend(item.attr("class").map(str::to_string));
                names.extend(item.attr("id").map(str::to_string));
            }
        });
        let patterns = name_patterns();
        let pattern_bits = |buf: &str| {
            patterns
                .iter()
                .filter(|(p, _)| p.is_match(buf))
                .fold(0, |bits, (_, bit)| bits | bit)
        };
        let (mut buf, mut words) = (String::new(), Vec::new());
        let mut matched = 0;
        for name in &names {
            buf.clear();
            push_name(&mut buf, name);
            let bits = name_bits(&buf, &mut words);
            assert_eq!(bits, pattern_bits(&buf), "{name:?} as {buf:?}");
            matched += usize::from(bits != 0);
        }
        assert!(
            matched > 500 && matched < names.len(),
            "{matched} of {}",
            names.len()
        );
    }

    #[test]
    fn the_cheap_test_reads_the_words_where_the_signature_needs_them() {
        for line in [
            "Police said on Tuesday that the road was closed.",
            "The reporter wrote to the council",
            "Reports",
            "Reporters",
        ] {
            assert!(!may_sign(line), "{line}");
        }
        for line in [
            "Anna said",
            "Anna SAYS :",
            "kt wrote…",
            "Bob said ...",
            "2 Replies",
            "posted an hour AGO",
            "at 10:42",
        ] {
            assert!(may_sign(line), "{line}");
        }
    }

    /// Every short block of the fixture pages (and of the benchmark's sets, with
    /// `FEEDWATCH_PAGES`) that the signature matches passes the cheap test.
    #[test]
    fn every_short_line_of_the_pages_the_signature_matches_passes_the_cheap_test() {
        let (mut lines, mut signed) = (0, 0);
        crate::extract::tests::each_test_page(|name, text| {
            let page = super::super::tree::parse(text);
            let dom = Dom::new(&page);
            let mut texts = Texts::new(dom.items.len());
            let mut arena = Cut::default();
            let cut = blocks(
                &dom,
                &mut texts,
                &Overrides::default(),
                &|_| None,
                &|_| None,
                &mut arena,
            );
            for b in cut.iter().filter(|b| b.chars <= SIGNATURE_CHARS) {
                lines += 1;
                if SIGNATURE.is_match(b.text) {
                    signed += 1;
                    assert!(may_sign(b.text), "{name}: {:?}", b.text);
                }
            }
        });
        assert!(signed > 0 && lines > signed, "{signed} of {lines}");
    }

    #[test]
    fn every_line_the_signature_matches_passes_the_cheap_test_first() {
        let signed = [
            "Reply",
            "2 replies",
            "PERMALINK",
            "Report",
            "Mike Jones said...",
            "Anna says:",
            "kt wrote:",
            "March 3, 2016 at 10:42 pm",
            "10:42, 3 March 2016",
            "3 hours ago",
            "Posted 2 weeks ago by Sam",
        ];
        for line in signed {
            assert!(SIGNATURE.is_match(line), "{line}");
            assert!(may_sign(line), "{line}");
        }
        assert!(!may_sign(
            "The council voted on Tuesday to extend the night buses."
        ));
    }
}
