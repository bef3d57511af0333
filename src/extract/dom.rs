//! A flat, pre-order view of the parsed page that the metadata and content passes share: every
//! node knows its parent and where its subtree ends, so subtree sums and "is inside" checks are
//! index arithmetic instead of tree walks (and no recursion, so deep pages cannot overflow the
//! stack).

use html5ever::{LocalName, QualName, local_name, ns};

use super::tree::{Attr, Data, NONE, Page};

/// One node of the page in document order.
///
/// Kept to 48 bytes: the passes walk the items over and over, and with the attributes, the
/// text and the page's arena as three slices of their own an item took 80. An element's
/// attributes and a text node's text are one range of the [`Page`], told apart by [`TEXT`].
pub struct Item<'a> {
    /// The element's lowercase tag name, or "" for text, the doctype, a template's contents and
    /// the document.
    tag: &'a str,
    /// The page, which holds the attributes and the text.
    page: &'a Page,
    /// An element's attributes (`start..end` of [`Page::attrs`]) or, with [`TEXT`] set, a text
    /// node's text (of [`Page::text`]); empty for other nodes.
    span: (u32, u32),
    /// Index of the parent item (`u32::MAX` for the document).
    pub parent: u32,
    /// One past the last item of this node's subtree.
    pub end: u32,
    /// Which of the [`KNOWN`] attributes the element has, as bits: most elements have few of
    /// them, and the passes ask each element for many. [`TEXT`] marks a text node.
    has: u32,
}

/// The bit of [`Item::has`] that marks a text node, above every bit of [`KNOWN`].
const TEXT: u32 = 1 << 31;

impl<'a> Item<'a> {
    /// The element's lowercase tag name, or "" for text, comments and the document.
    pub fn tag(&self) -> &'a str {
        self.tag
    }

    /// An attribute's value. Interning the name as an atom on every call (as scraper's
    /// `Element::attr` does) cost more than the whole content pass on attribute-heavy pages;
    /// the names the passes ask for are answered from the element's bits when it has none such,
    /// and else found by the parser's static atom, compared as an integer. Any other name is
    /// compared as a string.
    ///
    /// Always inlined: the passes ask with a literal name, so the name's place in [`KNOWN`] is
    /// folded at the call and most calls come down to testing one bit. As a function called
    /// with the name, matching it against the known names (and the call) was 0.046 of
    /// extraction on news-dev, the most of any one function of the content pass.
    #[inline(always)]
    pub fn attr(&self, name: &str) -> Option<&'a str> {
        match known_index(name) {
            Some(at) if self.has & (1 << at) == 0 => None,
            Some(at) => self.known_attr(at),
            None => self.other_attr(name),
        }
    }

    /// The element's attributes (none for other nodes).
    fn attrs(&self) -> &'a [Attr] {
        if self.has & TEXT != 0 {
            return &[];
        }
        self.page.attrs(self.span)
    }

    /// The value of the [`KNOWN`] attribute at `at`, which the element has.
    #[inline(never)]
    fn known_attr(&self, at: usize) -> Option<&'a str> {
        let local = KNOWN.get(at)?;
        self.attrs()
            .iter()
            .find(|a| a.name.local == *local && a.name.ns == ns!())
            .map(|a| self.value(a))
    }

    /// The value of an attribute not in [`KNOWN`], by its name as a string.
    #[inline(never)]
    fn other_attr(&self, name: &str) -> Option<&'a str> {
        self.attrs()
            .iter()
            .find(|a| a.name.ns.is_empty() && &*a.name.local == name)
            .map(|a| self.value(a))
    }

    fn value(&self, a: &Attr) -> &'a str {
        self.page
            .text
            .get(a.value.0 as usize..a.value.1 as usize)
            .unwrap_or_default()
    }

    /// The schema.org type a microdata `itemtype` names (`https://schema.org/Product` gives
    /// `Product`).
    pub fn schema_type(&self) -> Option<&'a str> {
        self.attr("itemtype")
            .map(|t| t.trim().rsplit('/').next().unwrap_or_default())
    }

    pub fn text(&self) -> Option<&'a str> {
        (self.has & TEXT != 0).then(|| self.page.text(self.span.0, self.span.1))
    }
}

/// The attribute names the extraction passes ask for, by their place in [`KNOWN`]: an
/// element's [`Item`] bits say which it has.
#[inline(always)]
fn known_index(name: &str) -> Option<usize> {
    Some(match name {
        "class" => 0,
        "id" => 1,
        "role" => 2,
        "style" => 3,
        "itemprop" => 4,
        "itemtype" => 5,
        "popover" => 6,
        "hidden" => 7,
        "aria-modal" => 8,
        "aria-hidden" => 9,
        "aria-labelledby" => 10,
        "href" => 11,
        "type" => 12,
        "rel" => 13,
        "name" => 14,
        "property" => 15,
        "content" => 16,
        "lang" => 17,
        "http-equiv" => 18,
        "datetime" => 19,
        _ => return None,
    })
}

/// The parser's static atoms of the names [`known_index`] numbers, in its order.
static KNOWN: [LocalName; 20] = [
    local_name!("class"),
    local_name!("id"),
    local_name!("role"),
    local_name!("style"),
    local_name!("itemprop"),
    local_name!("itemtype"),
    local_name!("popover"),
    local_name!("hidden"),
    local_name!("aria-modal"),
    local_name!("aria-hidden"),
    local_name!("aria-labelledby"),
    local_name!("href"),
    local_name!("type"),
    local_name!("rel"),
    local_name!("name"),
    local_name!("property"),
    local_name!("content"),
    local_name!("lang"),
    local_name!("http-equiv"),
    local_name!("datetime"),
];

/// The bits of the [`KNOWN`] attributes among an element's attribute names.
pub fn known_bits<'q>(names: impl Iterator<Item = &'q QualName>) -> u32 {
    let mut bits = 0;
    for name in names {
        if name.ns == ns!()
            && let Some(at) = KNOWN.iter().position(|n| *n == name.local)
        {
            bits |= 1 << at;
        }
    }
    bits
}

/// The page in document order.
pub struct Dom<'a> {
    /// Every node, pre-order; item 0 is the document.
    pub items: Vec<Item<'a>>,
    /// Each item's parent (`u32::MAX` for the document), as [`Item::parent`] holds it, side by
    /// side: the content pass's roll-ups (some fifteen a page) read the parents alone, four
    /// bytes an item where the items take 48.
    pub parents: Vec<u32>,
}

impl<'a> Dom<'a> {
    /// The page's nodes in document order, without comments and processing instructions.
    pub fn new(page: &'a Page) -> Self {
        let mut items: Vec<Item<'a>> = Vec::with_capacity(page.nodes.len());
        // (item, node) of the open ancestors of the node visited.
        let mut open: Vec<(u32, u32)> = Vec::new();
        let mut node = 0u32;
        loop {
            let n = &page.nodes[node as usize];
            let (mut tag, mut span, mut has): (&str, _, _) = ("", (0, 0), 0);
            let mut kept = true;
            match &n.data {
                Data::Element {
                    name,
                    attrs: a,
                    has: h,
                } => {
                    tag = &name.local;
                    span = *a;
                    has = *h;
                }
                Data::Text { start, end } => {
                    span = (*start, *end);
                    has = TEXT;
                }
                Data::Comment | Data::Pi => kept = false,
                Data::Document | Data::Doctype | Data::Fragment => {}
            }
            if kept {
                let idx = items.len() as u32;
                items.push(Item {
                    tag,
                    page,
                    span,
                    parent: open.last().map_or(u32::MAX, |o| o.0),
                    end: idx + 1,
                    has,
                });
                if n.first != NONE {
                    open.push((idx, node));
                    node = n.first;
                    continue;
                }
            }
            // On to the next sibling, closing the ancestors left.
            loop {
                let next = page.nodes[node as usize].next;
                if next != NONE {
                    node = next;
                    break;
                }
                let Some((item, parent)) = open.pop() else {
                    let parents = items.iter().map(|i| i.parent).collect();
                    return Dom { items, parents };
                };
                items[item as usize].end = items.len() as u32;
                node = parent;
            }
        }
    }

    /// The text of a subtree, whitespace collapsed.
    pub fn text_of(&self, idx: usize) -> String {
        let mut out = String::new();
        for item in &self.items[idx..self.items[idx].end as usize] {
            if let Some(t) = item.text() {
                push_collapsed(&mut out, t);
            }
        }
        out.trim().to_string()
    }
}

/// Appends `text` with runs of whitespace turned into one space.
pub fn push_collapsed(out: &mut String, text: &str) {
    let after_space = out.is_empty() || out.ends_with(' ');
    collapse_into(out, text, after_space);
}

/// Appends `text` with runs of whitespace turned into one space, as [`push_collapsed`] would
/// after a text that ends in a space (or is empty) when `after_space`, else after a visible
/// character: a leading run of whitespace then gives one space, which a later append drops
/// where [`push_collapsed`] would have (see [`Texts`]).
pub fn collapse_into(out: &mut String, text: &str, mut after_space: bool) {
    // Text is copied in runs, broken only where whitespace must change: a lone space after a
    // visible character is already collapsed. Only four UTF-8 lead bytes can begin a
    // non-ASCII whitespace character, so other characters are stepped over undecoded.
    let bytes = text.as_bytes();
    let (mut i, mut start) = (0, 0);
    while i < bytes.len() {
        // Eight bytes at a time while they need no change: most of a page's text is words and
        // lone spaces, which a byte at a time cost more than the page's parse on short pages.
        while let Some(chunk) = bytes.get(i..i + 8) {
            let before_space = if i > start {
                bytes[i - 1] == b' '
            } else {
                after_space
            };
            if !unchanged(chunk, before_space) {
                break;
            }
            i += 8;
        }
        let Some(&b) = bytes.get(i) else {
            break;
        };
        // Most bytes are visible ASCII, which never changes.
        if b > b' ' && b < 0x80 {
            i += 1;
            continue;
        }
        let (space, width) = match b {
            b' ' => {
                let after = if i > start {
                    bytes[i - 1] == b' '
                } else {
                    after_space
                };
                if !after {
                    i += 1;
                    continue;
                }
                (true, 1)
            }
            b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => (true, 1),
            0..0x80 => (false, 1),
            0xc2 | 0xe1 | 0xe2 | 0xe3 => {
                let ch = text[i..].chars().next().unwrap_or('x');
                (ch.is_whitespace(), ch.len_utf8())
            }
            0x80..0xe0 => (false, 2),
            0xe0..0xf0 => (false, 3),
            _ => (false, 4),
        };
        if space {
            if i > start {
                out.push_str(&text[start..i]);
                after_space = bytes[i - 1] == b' ';
            }
            if !after_space {
                out.push(' ');
                after_space = true;
            }
            start = i + width;
        }
        i += width;
    }
    out.push_str(&text[start..]);
}

/// Whether collapsing leaves these eight bytes as they are: all visible ASCII or single
/// spaces, none of them a space after a space (`before_space`: the byte before them is one).
/// Word-at-a-time tests on the bytes as one `u64`; each is exact for the "any byte" question.
#[inline]
fn unchanged(chunk: &[u8], before_space: bool) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    let w = u64::from_le_bytes(word);
    // A byte of 0x80 or more: a character other than ASCII, which may be whitespace.
    if w & HIGH != 0 {
        return false;
    }
    // A byte below 0x20 (tabs, newlines, controls): with every byte below 0x80, subtracting
    // 0x20 from each borrows into a byte's top bit exactly where some byte is below 0x20.
    if w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0 {
        return false;
    }
    // The spaces, as the top bit of each byte that is one (exact per byte: no carry crosses
    // a byte, since each byte's low seven bits plus 0x7f stay below 0x100).
    let x = w ^ (ONES * 0x20);
    let spaces = !(((x & !HIGH) + !HIGH) | x) & HIGH;
    // A space after a space, inside the eight bytes or across their start.
    spaces & (spaces << 8) == 0 && !(before_space && spaces & 0x80 != 0)
}

/// The characters of UTF-8 `bytes` (the bytes that do not continue one) and its spaces,
/// counted eight bytes at a time.
fn chars_and_spaces(bytes: &[u8]) -> (usize, usize) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let (mut continuing, mut spaces) = (0, 0);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // A continuation byte is 0b10xx_xxxx: its top bit set and the next one clear.
        continuing += (w & !(w << 1) & HIGH).count_ones() as usize;
        let x = w ^ (ONES * 0x20);
        spaces += (!(((x & !HIGH) + !HIGH) | x) & HIGH).count_ones() as usize;
    }
    for &b in chunks.remainder() {
        continuing += usize::from(b & 0xc0 == 0x80);
        spaces += usize::from(b == b' ');
    }
    (bytes.len() - continuing, spaces)
}

/// Each text node of the page with its whitespace collapsed, done once however many times
/// the page is cut into blocks: the text (with one leading space if it starts with
/// whitespace), its characters, and its characters that are not whitespace.
pub struct Texts {
    arena: String,
    /// Per item: (start in `arena`, end, characters, visible characters); `u32::MAX` as the
    /// start when not yet collapsed.
    spans: Vec<(u32, u32, u32, u32)>,
}

impl Texts {
    pub fn new(items: usize) -> Self {
        Texts {
            arena: String::new(),
            spans: vec![(u32::MAX, 0, 0, 0); items],
        }
    }

    /// Text node `idx` (whose text is `text`) collapsed: the text, its characters and its
    /// visible characters.
    pub fn get(&mut self, idx: usize, text: &str) -> (&str, usize, usize) {
        let mut span = self.spans[idx];
        if span.0 == u32::MAX {
            let start = self.arena.len();
            collapse_into(&mut self.arena, text, false);
            let (chars, spaces) = chars_and_spaces(&self.arena.as_bytes()[start..]);
            span = (
                start as u32,
                self.arena.len() as u32,
                chars as u32,
                (chars - spaces) as u32,
            );
            self.spans[idx] = span;
        }
        (
            &self.arena[span.0 as usize..span.1 as usize],
            span.2 as usize,
            span.3 as usize,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_takes_48_bytes() {
        assert!(std::mem::size_of::<Item>() <= 48);
    }

    /// `attr` answers from the element's bits, the known names' atoms and a text node's mark;
    /// a search of the element's attributes by name as a string must give the same answer for
    /// every name, known or not, on every item.
    #[test]
    fn attributes_are_answered_as_a_search_by_name_would() {
        let html = r##"<html lang="en"><head><meta name="author" content="Ann"><meta property="og:title" content="T">
            <link rel="canonical" href="https://example.com/a"></head>
            <body class="page" id="top"><div role="dialog" aria-modal="true" data-x="1" hidden>
            <p itemprop="articleBody" itemtype="https://schema.org/Thing" style="color:red">text
            <a href="/b" rel="nofollow" type="text/html" title="t">link</a></p>
            <span aria-hidden="true" aria-labelledby="h" popover>s</span>
            <time datetime="2024-01-02">then</time><input name="q" type="password">
            <svg><a xlink:href="#c" class="s">svg</a></svg><meta http-equiv="content-language" content="de">
            </div><!-- c --><p>tail</p></body></html>"##;
        let page = super::super::tree::parse(html);
        let dom = Dom::new(&page);
        let mut names: Vec<&str> = KNOWN.iter().map(|n| &**n).collect();
        names.extend([
            "data-x",
            "title",
            "xml:lang",
            "xlink:href",
            "href ",
            "",
            "CLASS",
        ]);
        let mut texts = 0;
        for item in &dom.items {
            if let Some(t) = item.text() {
                texts += 1;
                assert!(!t.is_empty());
                assert!(item.tag().is_empty() && item.attrs().is_empty());
            }
            for name in &names {
                let slow = item
                    .attrs()
                    .iter()
                    .find(|a| a.name.ns.is_empty() && &*a.name.local == *name)
                    .map(|a| item.value(a));
                assert_eq!(item.attr(name), slow, "{name:?} on <{}>", item.tag());
            }
        }
        assert!(texts >= 6);
        let div = dom.items.iter().find(|i| i.tag() == "div").unwrap();
        assert_eq!(div.attr("role"), Some("dialog"));
        assert_eq!(div.attr("data-x"), Some("1"));
        assert_eq!(div.attr("hidden"), Some(""));
    }

    #[test]
    fn parents_side_by_side_are_the_items_parents() {
        let html = super::super::tree::parse(
            "<div><p>a<b>b</b></p><!-- c --><table><tr><td>c</table></div><span>d</span>",
        );
        let dom = Dom::new(&html);
        let parents: Vec<u32> = dom.items.iter().map(|i| i.parent).collect();
        assert_eq!(dom.parents, parents);
        assert!(dom.parents.len() > 8);
    }

    #[test]
    fn subtrees_end_after_their_last_descendant() {
        let html = super::super::tree::parse("<div><p>a<b>b</b></p><p>c</p></div><span>d</span>");
        let dom = Dom::new(&html);
        let div = dom.items.iter().position(|i| i.tag() == "div").unwrap();
        assert_eq!(dom.items[dom.items[div].end as usize].tag(), "span");
        assert_eq!(dom.text_of(div), "abc");
    }

    #[test]
    fn runs_of_any_whitespace_become_one_space_across_pushes() {
        let mut out = String::new();
        push_collapsed(&mut out, " \n lead");
        push_collapsed(&mut out, "  two\u{a0}\t words ");
        push_collapsed(&mut out, " tail  end\u{2003}\u{2003}é\u{3000}x ");
        push_collapsed(&mut out, "  ünï  çødé\r\n");
        assert_eq!(out, "lead two words tail end é x ünï çødé ");
    }

    #[test]
    fn collapsing_by_runs_matches_collapsing_char_by_char() {
        fn by_char(out: &mut String, text: &str) {
            for ch in text.chars() {
                if !ch.is_whitespace() {
                    out.push(ch);
                } else if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            }
        }
        let pieces = [
            "a",
            " ",
            "  ",
            "\n",
            "é",
            "\u{a0}",
            "\u{2028}",
            "€",
            "\u{1f600}",
            "\t ",
        ];
        // Every sequence of three pieces, pushed after each of a few starting states.
        for x in pieces {
            for y in pieces {
                for z in pieces {
                    for prefix in ["", "w", "w "] {
                        let (mut fast, mut slow) = (prefix.to_string(), prefix.to_string());
                        for t in [x, y, z] {
                            push_collapsed(&mut fast, t);
                            by_char(&mut slow, t);
                        }
                        push_collapsed(&mut fast, &format!("{x}{y}{z}"));
                        by_char(&mut slow, &format!("{x}{y}{z}"));
                        assert_eq!(fast, slow, "{prefix:?} {x:?} {y:?} {z:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn collapsing_eight_bytes_at_a_time_matches_collapsing_char_by_char() {
        // Long runs of words, spaces, controls and other characters, placed at every offset
        // from the eight-byte steps (a fixed pseudo-random sequence).
        let alphabet = [
            "a", "b", " ", " ", "  ", "\n", "\t", "\x7f", "é", "\u{a0}", "~",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..4000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            for k in 0..len {
                let pick = (seed.rotate_left(k as u32 * 5) % alphabet.len() as u64) as usize;
                // Mostly letters, as text is.
                text.push_str(if k % 3 == 0 { alphabet[pick] } else { "w" });
            }
            for after_space in [false, true] {
                let mut fast = String::new();
                collapse_into(&mut fast, &text, after_space);
                let mut slow = String::new();
                let mut prev_space = after_space;
                let mut pending = false;
                for ch in text.chars() {
                    if ch.is_whitespace() {
                        pending = true;
                        continue;
                    }
                    if pending && !prev_space {
                        slow.push(' ');
                    }
                    pending = false;
                    prev_space = false;
                    slow.push(ch);
                }
                if pending && !prev_space {
                    slow.push(' ');
                }
                assert_eq!(fast, slow, "{text:?} after_space {after_space}");
            }
        }
    }

    #[test]
    fn characters_and_spaces_are_counted_as_one_by_one() {
        let pieces = ["a", " ", "é", "€", "\u{1f600}", "  ", "\u{a0}", "xyz"];
        let mut text = String::new();
        for k in 0..200 {
            text.push_str(pieces[(k * 7 + k / 3) % pieces.len()]);
            for from in 0..text.len().min(9) {
                let Some(t) = text.get(from..) else { continue };
                let by_one = (t.chars().count(), t.bytes().filter(|&b| b == b' ').count());
                assert_eq!(chars_and_spaces(t.as_bytes()), by_one, "{t:?}");
            }
        }
    }

    #[test]
    fn collapsed_once_and_appended_is_collapsed_in_place() {
        let pieces = [
            "a", " ", "  ", "\n", "é", "\u{a0}", "\u{2028}", "€", "b c", " d  e ", "\t ",
        ];
        for x in pieces {
            for y in pieces {
                for prefix in ["", "w", "w "] {
                    let mut direct = prefix.to_string();
                    push_collapsed(&mut direct, x);
                    push_collapsed(&mut direct, y);
                    let mut texts = Texts::new(2);
                    let mut cached = prefix.to_string();
                    for (i, t) in [x, y].into_iter().enumerate() {
                        let (s, chars, visible) = texts.get(i, t);
                        assert_eq!(visible, t.chars().filter(|c| !c.is_whitespace()).count());
                        let drop =
                            s.starts_with(' ') && (cached.is_empty() || cached.ends_with(' '));
                        let s = if drop { &s[1..] } else { s };
                        assert_eq!(s.chars().count(), chars - usize::from(drop));
                        cached.push_str(s);
                    }
                    assert_eq!(cached, direct, "{prefix:?} {x:?} {y:?}");
                }
            }
        }
    }

    #[test]
    fn known_attribute_names_match_their_atoms() {
        for (at, atom) in KNOWN.iter().enumerate() {
            assert_eq!(known_index(atom), Some(at), "{atom}");
        }
        let html = super::super::tree::parse(
            r##"<div role="main" data-x="1" aria-hidden="true"><svg><a xlink:href="#x">t</a></svg></div>"##,
        );
        let dom = Dom::new(&html);
        let div = dom.items.iter().find(|i| i.tag() == "div").unwrap();
        assert_eq!(
            (
                div.attr("role"),
                div.attr("aria-hidden"),
                div.attr("data-x"),
                div.attr("id")
            ),
            (Some("main"), Some("true"), Some("1"), None)
        );
        let a = dom.items.iter().find(|i| i.tag() == "a").unwrap();
        assert_eq!(a.attr("href"), None);
    }

    #[test]
    fn attributes_are_found_by_name() {
        let html = super::super::tree::parse(r#"<p class="x" data-a="1" id="y">t</p>"#);
        let dom = Dom::new(&html);
        let p = dom.items.iter().find(|i| i.tag() == "p").unwrap();
        assert_eq!(
            (p.attr("id"), p.attr("data-a"), p.attr("style")),
            (Some("y"), Some("1"), None)
        );
    }
}
