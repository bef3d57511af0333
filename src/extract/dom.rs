//! A flat, pre-order view of the parsed page that the metadata and content passes share: every
//! node knows its parent and where its subtree ends, so subtree sums and "is inside" checks are
//! index arithmetic instead of tree walks (and no recursion, so deep pages cannot overflow the
//! stack).

use ego_tree::NodeRef;
use scraper::{Html, Node};

/// One node of the page in document order.
pub struct Item<'a> {
    /// The parsed node, for its tag, attributes or text.
    pub node: NodeRef<'a, Node>,
    /// Index of the parent item (`u32::MAX` for the document).
    pub parent: u32,
    /// One past the last item of this node's subtree.
    pub end: u32,
}

impl<'a> Item<'a> {
    /// The element's lowercase tag name, or "" for text, comments and the document.
    pub fn tag(&self) -> &'a str {
        match self.node.value() {
            Node::Element(e) => e.name(),
            _ => "",
        }
    }

    /// An attribute's value. Compared as strings: `Element::attr` interns the name as an atom
    /// on every call, which cost more than the whole content pass on attribute-heavy pages.
    pub fn attr(&self, name: &str) -> Option<&'a str> {
        match self.node.value() {
            Node::Element(e) => e
                .attrs
                .iter()
                .find(|(k, _)| k.ns.is_empty() && &*k.local == name)
                .map(|(_, v)| &**v),
            _ => None,
        }
    }

    /// The schema.org type a microdata `itemtype` names (`https://schema.org/Product` gives
    /// `Product`).
    pub fn schema_type(&self) -> Option<&'a str> {
        self.attr("itemtype")
            .map(|t| t.trim().rsplit('/').next().unwrap_or_default())
    }

    pub fn text(&self) -> Option<&'a str> {
        match self.node.value() {
            Node::Text(t) => Some(&t.text),
            _ => None,
        }
    }
}

/// The page in document order.
pub struct Dom<'a> {
    /// Every node, pre-order; item 0 is the document.
    pub items: Vec<Item<'a>>,
}

impl<'a> Dom<'a> {
    pub fn new(html: &'a Html) -> Self {
        let mut items: Vec<Item<'a>> = Vec::with_capacity(4096);
        // (node, parent index) still to visit, children pushed in reverse to keep order.
        let mut open: Vec<u32> = Vec::new();
        let mut stack: Vec<(NodeRef<'a, Node>, u32)> = vec![(html.tree.root(), u32::MAX)];
        while let Some((node, parent)) = stack.pop() {
            // Close every open item that is not this node's ancestor.
            while let Some(&top) = open.last() {
                if top == parent {
                    break;
                }
                items[top as usize].end = items.len() as u32;
                open.pop();
            }
            let idx = items.len() as u32;
            items.push(Item {
                node,
                parent,
                end: idx + 1,
            });
            if node.has_children() {
                open.push(idx);
                let mut child = node.last_child();
                while let Some(c) = child {
                    if !matches!(c.value(), Node::Comment(_) | Node::ProcessingInstruction(_)) {
                        stack.push((c, idx));
                    }
                    child = c.prev_sibling();
                }
            }
        }
        let len = items.len() as u32;
        for top in open {
            items[top as usize].end = len;
        }
        Dom { items }
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
    // Text is copied in runs, broken only where whitespace must change: a lone space after a
    // visible character is already collapsed. Only four UTF-8 lead bytes can begin a
    // non-ASCII whitespace character, so other characters are stepped over undecoded.
    let bytes = text.as_bytes();
    let (mut i, mut start) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        let (space, width) = match b {
            b' ' => {
                let after_space = if i > start {
                    bytes[i - 1] == b' '
                } else {
                    out.is_empty() || out.ends_with(' ')
                };
                if !after_space {
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
            out.push_str(&text[start..i]);
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            start = i + width;
        }
        i += width;
    }
    out.push_str(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtrees_end_after_their_last_descendant() {
        let html = Html::parse_document("<div><p>a<b>b</b></p><p>c</p></div><span>d</span>");
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
    fn attributes_are_found_by_name() {
        let html = Html::parse_document(r#"<p class="x" data-a="1" id="y">t</p>"#);
        let dom = Dom::new(&html);
        let p = dom.items.iter().find(|i| i.tag() == "p").unwrap();
        assert_eq!(
            (p.attr("id"), p.attr("data-a"), p.attr("style")),
            (Some("y"), Some("1"), None)
        );
    }
}
