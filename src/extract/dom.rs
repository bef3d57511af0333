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
    // Runs between whitespace are copied whole; ASCII, most of any page, is judged by byte.
    let bytes = text.as_bytes();
    let (mut i, mut start) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        let (space, width) = if b.is_ascii() {
            (matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c), 1)
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            (ch.is_whitespace(), ch.len_utf8())
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
        push_collapsed(&mut out, " tail");
        assert_eq!(out, "lead two words tail");
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
