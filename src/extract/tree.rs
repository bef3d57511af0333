//! The parsed page as html5ever builds it, in an arena: extraction's own tree sink.
//!
//! scraper's sink keeps every node in an `ego_tree` behind a `RefCell`, copies each attribute
//! and text into its own tendrils, sorts every element's attributes and collects html5ever's
//! parse errors as strings; extraction needs none of that. [`Sink`] keeps the nodes in one
//! `Vec` linked by indices, the attributes as html5ever hands them over (with the bits of the
//! ones the passes ask for, see [`super::dom`]), and all text in one string. It builds the same
//! tree scraper's sink does, node for node, including what html5ever moves after building it
//! (foster parenting, the adoption agency, reparented children, attributes merged into `<html>`
//! and `<body>`) and the fragment scraper puts under every `<template>` for its contents:
//! `the_tree_is_the_one_scrapers_sink_builds` holds that on pages built to move nodes around.

use std::borrow::Cow;
use std::cell::{Ref, RefCell};

use html5ever::tendril::StrTendril;
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, QualName, expanded_name, local_name, ns};

/// No node: the end of a list of siblings, or a node without parent or children.
pub const NONE: u32 = u32::MAX;

/// What a node is.
pub enum Data {
    /// The root; node 0.
    Document,
    /// The `<!DOCTYPE>`; kept as a node because scraper's tree has it (the passes see it as
    /// an item with no tag).
    Doctype,
    /// A comment; kept as a node, not as text, because text on either side of it stays two
    /// text nodes.
    Comment,
    /// A processing instruction (only in foreign content); kept for the same reason.
    Pi,
    /// The contents of a `<template>`, its first child, as scraper's sink puts them.
    Fragment,
    /// Text: `start..end` of the page's text arena.
    Text { start: u32, end: u32 },
    /// An element.
    Element {
        /// Its name, which html5ever asks for constantly while building.
        name: QualName,
        /// Its attributes, `start..end` of the page's [`Page::attrs`], in the order html5ever
        /// gave them (names are unique).
        attrs: (u32, u32),
        /// Which of the attributes the passes ask for it has (see `dom::known_bits`), set when
        /// the element is made and when attributes are merged into it.
        has: u32,
    },
}

/// One attribute; its value is a range of the page's text arena. Values are copied there
/// as the element is made, so html5ever's tendrils are freed while still in the cache rather
/// than one by one when the page is dropped.
pub struct Attr {
    /// The attribute's name.
    pub name: QualName,
    /// Its value: `start..end` of [`Page::text`].
    pub value: (u32, u32),
}

/// One node and its links.
pub struct Node {
    /// The parent, or [`NONE`].
    pub parent: u32,
    /// The first child, or [`NONE`]: walking down.
    pub first: u32,
    /// The last child, or [`NONE`]: appending and merging text need it at once.
    pub last: u32,
    /// The next sibling, or [`NONE`]: walking along.
    pub next: u32,
    /// The previous sibling, or [`NONE`]: detaching and inserting before a node need it.
    pub prev: u32,
    /// What it is.
    pub data: Data,
}

/// A parsed page.
pub struct Page {
    /// Every node ever made; node 0 is the document. Detached nodes stay, unreachable.
    pub nodes: Vec<Node>,
    /// The text of every text node and attribute value, each a range of it.
    pub text: String,
    /// Every element's attributes, each element's a range of it.
    pub attrs: Vec<Attr>,
    /// What [`Sink::elem_name`] answers for a handle that is not an element (html5ever never
    /// asks, but the answer must be something).
    no_name: QualName,
}

impl Page {
    /// An empty page, with room for what `bytes` of markup usually make.
    fn new(bytes: usize) -> Self {
        let mut nodes = Vec::with_capacity(bytes / 64 + 64);
        nodes.push(Node::new(Data::Document));
        Page {
            nodes,
            text: String::with_capacity(bytes / 2 + 64),
            attrs: Vec::with_capacity(bytes / 64 + 64),
            no_name: QualName::new(None, ns!(), local_name!("")),
        }
    }

    /// The text of a text node's range.
    pub fn text(&self, start: u32, end: u32) -> &str {
        self.text
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    fn add(&mut self, data: Data) -> u32 {
        self.nodes.push(Node::new(data));
        (self.nodes.len() - 1) as u32
    }

    fn detach(&mut self, id: u32) {
        let Node {
            parent, prev, next, ..
        } = self.nodes[id as usize];
        if parent == NONE {
            return;
        }
        let node = &mut self.nodes[id as usize];
        node.parent = NONE;
        node.prev = NONE;
        node.next = NONE;
        if prev == NONE {
            self.nodes[parent as usize].first = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NONE {
            self.nodes[parent as usize].last = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
    }

    fn append_node(&mut self, parent: u32, child: u32) {
        if parent == child || self.nodes[parent as usize].last == child {
            return;
        }
        self.detach(child);
        let last = self.nodes[parent as usize].last;
        let node = &mut self.nodes[child as usize];
        node.parent = parent;
        node.prev = last;
        if last == NONE {
            self.nodes[parent as usize].first = child;
        } else {
            self.nodes[last as usize].next = child;
        }
        self.nodes[parent as usize].last = child;
    }

    /// Puts `child` just before `sibling`, which has a parent.
    fn insert_before(&mut self, sibling: u32, child: u32) {
        if sibling == child {
            return;
        }
        self.detach(child);
        let Node { parent, prev, .. } = self.nodes[sibling as usize];
        let node = &mut self.nodes[child as usize];
        node.parent = parent;
        node.prev = prev;
        node.next = sibling;
        self.nodes[sibling as usize].prev = child;
        if prev == NONE {
            self.nodes[parent as usize].first = child;
        } else {
            self.nodes[prev as usize].next = child;
        }
    }

    /// Appends `text` to text node `id` if it is one (true), else does nothing (false).
    fn extend_text(&mut self, id: u32, text: &str) -> bool {
        if id == NONE {
            return false;
        }
        let len = self.text.len() as u32;
        let Data::Text { start, end } = &mut self.nodes[id as usize].data else {
            return false;
        };
        if *end != len {
            // Some other text came after this node's: move its text to the end first (rare:
            // text merged across foster-parented text).
            let moved = self.text[*start as usize..*end as usize].to_owned();
            *start = len;
            self.text.push_str(&moved);
        }
        self.text.push_str(text);
        *end = self.text.len() as u32;
        true
    }

    /// The attributes of an element, `start..end` of [`Page::attrs`].
    pub fn attrs(&self, (start, end): (u32, u32)) -> &[Attr] {
        self.attrs
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    /// Copies `attrs` to the end of [`Page::attrs`], their values to the text arena.
    fn push_attrs(&mut self, attrs: impl IntoIterator<Item = Attribute>) {
        for a in attrs {
            let start = self.text.len() as u32;
            self.text.push_str(&a.value);
            self.attrs.push(Attr {
                name: a.name,
                value: (start, self.text.len() as u32),
            });
        }
    }

    fn new_text(&mut self, text: &str) -> u32 {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        let end = self.text.len() as u32;
        self.add(Data::Text { start, end })
    }
}

impl Node {
    fn new(data: Data) -> Self {
        Node {
            parent: NONE,
            first: NONE,
            last: NONE,
            next: NONE,
            prev: NONE,
            data,
        }
    }
}

/// Builds a [`Page`] for html5ever.
pub struct Sink {
    /// The page being built; html5ever's sink interface takes `&self`.
    page: RefCell<Page>,
}

impl Sink {
    /// A sink for a page of `bytes` bytes of markup (a guess at its size is only room).
    pub fn new(bytes: usize) -> Self {
        Sink {
            page: RefCell::new(Page::new(bytes)),
        }
    }
}

impl TreeSink for Sink {
    type Handle = u32;
    type Output = Page;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Page {
        self.page.into_inner()
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> u32 {
        0
    }

    fn elem_name<'a>(&'a self, target: &'a u32) -> Ref<'a, QualName> {
        Ref::map(self.page.borrow(), |p| {
            match &p.nodes[*target as usize].data {
                Data::Element { name, .. } => name,
                _ => &p.no_name,
            }
        })
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, _flags: ElementFlags) -> u32 {
        let template = name.expanded() == expanded_name!(html "template");
        let mut page = self.page.borrow_mut();
        let has = super::dom::known_bits(attrs.iter().map(|a| &a.name));
        let start = page.attrs.len() as u32;
        page.push_attrs(attrs);
        let attrs = (start, page.attrs.len() as u32);
        let id = page.add(Data::Element { name, attrs, has });
        if template {
            let contents = page.add(Data::Fragment);
            page.append_node(id, contents);
        }
        id
    }

    fn create_comment(&self, _text: StrTendril) -> u32 {
        self.page.borrow_mut().add(Data::Comment)
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> u32 {
        self.page.borrow_mut().add(Data::Pi)
    }

    fn append(&self, parent: &u32, child: NodeOrText<u32>) {
        let mut page = self.page.borrow_mut();
        match child {
            NodeOrText::AppendNode(id) => page.append_node(*parent, id),
            NodeOrText::AppendText(text) => {
                let last = page.nodes[*parent as usize].last;
                if !page.extend_text(last, &text) {
                    let id = page.new_text(&text);
                    page.append_node(*parent, id);
                }
            }
        }
    }

    fn append_based_on_parent_node(
        &self,
        element: &u32,
        prev_element: &u32,
        child: NodeOrText<u32>,
    ) {
        let has_parent = self.page.borrow().nodes[*element as usize].parent != NONE;
        if has_parent {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }

    fn append_doctype_to_document(
        &self,
        _name: StrTendril,
        _public: StrTendril,
        _system: StrTendril,
    ) {
        let mut page = self.page.borrow_mut();
        let id = page.add(Data::Doctype);
        page.append_node(0, id);
    }

    fn get_template_contents(&self, target: &u32) -> u32 {
        // scraper's answer: the template's first child (its fragment).
        let first = self.page.borrow().nodes[*target as usize].first;
        if first == NONE { *target } else { first }
    }

    fn same_node(&self, x: &u32, y: &u32) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &u32, new_node: NodeOrText<u32>) {
        let mut page = self.page.borrow_mut();
        if let NodeOrText::AppendNode(id) = new_node {
            page.detach(id);
        }
        if page.nodes[*sibling as usize].parent == NONE {
            return;
        }
        match new_node {
            NodeOrText::AppendNode(id) => page.insert_before(*sibling, id),
            NodeOrText::AppendText(text) => {
                let prev = page.nodes[*sibling as usize].prev;
                if !page.extend_text(prev, &text) {
                    let id = page.new_text(&text);
                    page.insert_before(*sibling, id);
                }
            }
        }
    }

    fn add_attrs_if_missing(&self, target: &u32, new: Vec<Attribute>) {
        let mut page = self.page.borrow_mut();
        let Data::Element { attrs, .. } = page.nodes[*target as usize].data else {
            return;
        };
        let missing: Vec<Attribute> = new
            .into_iter()
            .filter(|n| !page.attrs(attrs).iter().any(|a| a.name == n.name))
            .collect();
        if missing.is_empty() {
            return;
        }
        // The element's attributes move to the end of the list, to grow there.
        let start = page.attrs.len();
        let moved: Vec<Attr> = page
            .attrs(attrs)
            .iter()
            .map(|a| Attr {
                name: a.name.clone(),
                value: a.value,
            })
            .collect();
        page.attrs.extend(moved);
        page.push_attrs(missing);
        let range = (start as u32, page.attrs.len() as u32);
        let bits = super::dom::known_bits(page.attrs(range).iter().map(|a| &a.name));
        if let Data::Element { attrs, has, .. } = &mut page.nodes[*target as usize].data {
            (*attrs, *has) = (range, bits);
        }
    }

    fn remove_from_parent(&self, target: &u32) {
        self.page.borrow_mut().detach(*target);
    }

    fn reparent_children(&self, node: &u32, new_parent: &u32) {
        let mut page = self.page.borrow_mut();
        let (first, last) = {
            let n = &mut page.nodes[*node as usize];
            let links = (n.first, n.last);
            n.first = NONE;
            n.last = NONE;
            links
        };
        if first == NONE || *node == *new_parent {
            let n = &mut page.nodes[*node as usize];
            (n.first, n.last) = (first, last);
            return;
        }
        let mut child = first;
        while child != NONE {
            page.nodes[child as usize].parent = *new_parent;
            child = page.nodes[child as usize].next;
        }
        let tail = page.nodes[*new_parent as usize].last;
        page.nodes[first as usize].prev = tail;
        if tail == NONE {
            page.nodes[*new_parent as usize].first = first;
        } else {
            page.nodes[tail as usize].next = first;
        }
        page.nodes[*new_parent as usize].last = last;
    }
}

/// Parses a whole page at once, without the hostile-input pre-pass (tests, and the bench's
/// floor; extraction parses in chunks under a time budget).
pub fn parse(html: &str) -> Page {
    use html5ever::tendril::TendrilSink;
    html5ever::parse_document(Sink::new(html.len()), Default::default()).one(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree as one line per node, depth by indentation, attributes sorted.
    fn ours(page: &Page) -> String {
        fn walk(page: &Page, id: u32, depth: usize, out: &mut String) {
            let n = &page.nodes[id as usize];
            let line = match &n.data {
                Data::Document => "#document".to_string(),
                Data::Doctype => "#doctype".to_string(),
                Data::Comment => "#comment".to_string(),
                Data::Pi => "#pi".to_string(),
                Data::Fragment => "#fragment".to_string(),
                Data::Text { start, end } => format!("{:?}", page.text(*start, *end)),
                Data::Element { name, attrs, has } => {
                    let attrs = page.attrs(*attrs);
                    let mut a: Vec<String> = attrs
                        .iter()
                        .map(|a| {
                            let value = page.text(a.value.0, a.value.1);
                            format!("{}:{}={value:?}", a.name.ns, a.name.local)
                        })
                        .collect();
                    a.sort();
                    assert_eq!(
                        *has,
                        crate::extract::dom::known_bits(attrs.iter().map(|a| &a.name))
                    );
                    format!("<{}:{} {}>", name.ns, name.local, a.join(" "))
                }
            };
            out.push_str(&format!("{}{line}\n", "  ".repeat(depth)));
            let mut child = n.first;
            while child != NONE {
                assert_eq!(page.nodes[child as usize].parent, id);
                walk(page, child, depth + 1, out);
                child = page.nodes[child as usize].next;
            }
        }
        let mut out = String::new();
        walk(page, 0, 0, &mut out);
        out
    }

    fn scrapers(html: &scraper::Html) -> String {
        use ego_tree::iter::Edge;
        let (mut out, mut depth) = (String::new(), 0);
        for edge in html.tree.root().traverse() {
            let node = match edge {
                Edge::Open(node) => node,
                Edge::Close(_) => {
                    depth -= 1;
                    continue;
                }
            };
            let line = match node.value() {
                scraper::Node::Document => "#document".to_string(),
                scraper::Node::Doctype(_) => "#doctype".to_string(),
                scraper::Node::Comment(_) => "#comment".to_string(),
                scraper::Node::ProcessingInstruction(_) => "#pi".to_string(),
                scraper::Node::Fragment => "#fragment".to_string(),
                scraper::Node::Text(t) => format!("{:?}", &*t.text),
                scraper::Node::Element(e) => {
                    let mut a: Vec<String> = e
                        .attrs
                        .iter()
                        .map(|(k, v)| format!("{}:{}={:?}", k.ns, k.local, &**v))
                        .collect();
                    a.sort();
                    format!("<{}:{} {}>", e.name.ns, e.name.local, a.join(" "))
                }
            };
            out.push_str(&format!("{}{line}\n", "  ".repeat(depth)));
            depth += 1;
        }
        out
    }

    fn same_tree(html: &str) -> Result<(), String> {
        let (a, b) = (
            ours(&parse(html)),
            scrapers(&scraper::Html::parse_document(html)),
        );
        if a == b {
            Ok(())
        } else {
            Err(format!("ours:\n{a}\nscraper's:\n{b}"))
        }
    }

    /// Pages that make html5ever move nodes after building them, and the fixtures' pages (and
    /// the extraction benchmark's, when `FEEDWATCH_PAGES` names their `html` folders, separated
    /// by `:`), come out as the same tree as scraper's sink builds.
    #[test]
    fn the_tree_is_the_one_scrapers_sink_builds() {
        let moved = [
            // Foster parenting: text and elements in a table go before it, merging text.
            "<table>a<tr><td>1</td></tr>b<div>c</div>d</table>e",
            "x<table>y<!--c-->z<tr>w</tr></table>",
            // The adoption agency: misnested formatting elements.
            "<p>1<b>2<i>3</b>4</i>5</p>",
            "<a href=x>1<div>2<a href=y>3</a>4</div>5</a>",
            "<b><b><b><b>x</b></b></b></b><p>y</b>z",
            "<table><tr><td><b>1</td></tr></table>2</b><div><i><u><s>3</div>4",
            // Attributes merged into the first <html> and <body>.
            "<html lang=en><body class=a><p>x<html id=h lang=fr><body id=b class=c style=s>",
            // Templates, nested and in tables.
            "<template><p>a<template>b</template></p></template><table><template><tr></template>",
            "<head><template id=t>x</template></head><body><template>y<td>z</template>",
            // Foreign content, processing-instruction-like markup, comments between texts.
            "<svg><foreignObject><p>a</p></foreignObject><desc>d</desc></svg><math><mi>x</mi></math>",
            "<?php echo 1 ?>a<!--c-->b<!---->c&amp;d\u{0}e",
            "<!DOCTYPE html><frameset><frame></frameset>",
            "<select><option>a<option>b</select><form><form><input></form>",
            "<table><caption>c<table>d</table></caption><col><colgroup>x</table>",
            "<ruby>a<rt>b<rp>c</ruby><pre>\n\nx</pre><textarea>\ny</textarea>",
        ];
        for html in moved {
            if let Err(e) = same_tree(html) {
                panic!("{html:?}\n{e}");
            }
        }
        let pages = crate::extract::tests::each_test_page(|name, text| {
            if let Err(e) = same_tree(text) {
                panic!("{name}\n{e}");
            }
        });
        assert!(pages >= 40, "{pages} pages");
    }
}
