//! Evaluates a query tree against a story that was tokenised, folded and stemmed once
//! ([`PreparedDocument`]), so a thousand topics cost a thousand cheap look-ups per story,
//! not a thousand passes over its text.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::Document;
use super::fold::{fold_into, for_each_word, with_stem};
use super::lexer::Field;
use super::parser::{NearKind, Node, Seq, Term, TermKind, fold_tag};

/// Stands between the title's words and the text's in the body index, so a phrase cannot run
/// from the end of the title into the first line of the text.
const BARRIER: u32 = u32::MAX;

/// Positions of each id, all in one allocation: positions of id `i` are
/// `positions[offsets[i]..offsets[i + 1]]`, in increasing order.
#[derive(Debug, Default)]
struct Postings {
    /// Where each id's positions start in `positions`; one more entry than there are ids.
    offsets: Vec<u32>,
    /// Every position, grouped by id.
    positions: Vec<u32>,
}

impl Postings {
    fn build(ids: impl Iterator<Item = u32> + Clone, id_count: usize) -> Postings {
        let mut offsets = vec![0u32; id_count + 1];
        for id in ids.clone().filter(|&id| id != BARRIER) {
            offsets[id as usize + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut cursor = offsets.clone();
        let mut positions = vec![0u32; offsets[id_count] as usize];
        for (pos, id) in ids.enumerate() {
            if id != BARRIER {
                positions[cursor[id as usize] as usize] = pos as u32;
                cursor[id as usize] += 1;
            }
        }
        Postings { offsets, positions }
    }

    fn get(&self, id: u32) -> &[u32] {
        let i = id as usize;
        &self.positions[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// One searchable field of a story, as words.
#[derive(Debug, Default)]
struct FieldIndex {
    /// Each word in order, as its folded-word id (or [`BARRIER`]).
    folded_at: Vec<u32>,
    /// Each word in order, as its stem id (or [`BARRIER`]).
    stem_at: Vec<u32>,
    /// Folded word to id: exact words and phrases look up here.
    folded_ids: HashMap<Box<str>, u32>,
    /// Folded words by id, for prefix tests.
    folded_words: Vec<Box<str>>,
    /// Stem to id: bare words look up here.
    stem_ids: HashMap<Box<str>, u32>,
    /// Where each folded word occurs, for phrases and NEAR.
    folded_postings: Postings,
    /// Where each stem occurs, for NEAR.
    stem_postings: Postings,
    /// Folded-word ids sorted by their text, built on the first prefix query: a prefix is then
    /// a binary search, not a scan of the vocabulary.
    sorted: OnceLock<Vec<u32>>,
}

impl FieldIndex {
    /// Indexes the words of each part in turn, with a barrier between parts.
    fn new(parts: &[&str]) -> FieldIndex {
        let mut index = FieldIndex::default();
        // Folded id → stem id, so each distinct word is stemmed once per story.
        let mut stem_of: Vec<u32> = Vec::new();
        let mut buf = String::new();
        for (n, part) in parts.iter().enumerate() {
            if n > 0 && !index.folded_at.is_empty() {
                index.folded_at.push(BARRIER);
                index.stem_at.push(BARRIER);
            }
            for_each_word(part, |s, e| {
                fold_into(&part[s..e], &mut buf);
                let folded = match index.folded_ids.get(buf.as_str()) {
                    Some(&id) => id,
                    None => {
                        let id = index.folded_words.len() as u32;
                        index.folded_ids.insert(buf.as_str().into(), id);
                        index.folded_words.push(buf.as_str().into());
                        let stem_ids = &mut index.stem_ids;
                        let stem = with_stem(&buf, |stem| match stem_ids.get(stem) {
                            Some(&sid) => sid,
                            None => {
                                let sid = stem_ids.len() as u32;
                                stem_ids.insert(stem.into(), sid);
                                sid
                            }
                        });
                        stem_of.push(stem);
                        id
                    }
                };
                index.folded_at.push(folded);
                index.stem_at.push(stem_of[folded as usize]);
            });
        }
        index.folded_postings =
            Postings::build(index.folded_at.iter().copied(), index.folded_words.len());
        index.stem_postings = Postings::build(index.stem_at.iter().copied(), index.stem_ids.len());
        index
    }

    fn sorted(&self) -> &[u32] {
        self.sorted.get_or_init(|| {
            let mut ids: Vec<u32> = (0..self.folded_words.len() as u32).collect();
            ids.sort_unstable_by(|&a, &b| {
                self.folded_words[a as usize].cmp(&self.folded_words[b as usize])
            });
            ids
        })
    }

    /// Ids of the folded words that start with `prefix`.
    fn with_prefix<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = u32> + 's {
        let sorted = self.sorted();
        let first = sorted.partition_point(|&id| &*self.folded_words[id as usize] < prefix);
        sorted[first..]
            .iter()
            .copied()
            .take_while(move |&id| self.folded_words[id as usize].starts_with(prefix))
    }

    fn has_stem(&self, stem: &str) -> bool {
        self.stem_ids.contains_key(stem)
    }

    /// Whether the word at `pos` is `folded_id`, or starts with `prefix` when one is given.
    fn word_at_is(&self, pos: usize, folded_id: Option<u32>, prefix: Option<&str>) -> bool {
        match (self.folded_at.get(pos), prefix) {
            (None, _) | (Some(&BARRIER), _) => false,
            (Some(&id), Some(p)) => self.folded_words[id as usize].starts_with(p),
            (Some(&id), None) => Some(id) == folded_id,
        }
    }

    /// Calls `f` with the start of each place `seq` occurs until `f` returns true; returns
    /// whether it did.
    fn seq_starts(&self, seq: &Seq, mut f: impl FnMut(u32) -> bool) -> bool {
        let last = seq.words.len() - 1;
        if last == 0 && seq.last_prefix {
            let ids: Vec<u32> = self.with_prefix(&seq.words[0]).collect();
            let mut starts: Vec<u32> = ids
                .iter()
                .flat_map(|&id| self.folded_postings.get(id))
                .copied()
                .collect();
            starts.sort_unstable();
            return starts.into_iter().any(f);
        }
        // Every exact word must be in the story at all before any position is walked.
        let mut ids = Vec::with_capacity(seq.words.len());
        for (i, word) in seq.words.iter().enumerate() {
            if i == last && seq.last_prefix {
                ids.push(None);
            } else {
                match self.folded_ids.get(word) {
                    Some(&id) => ids.push(Some(id)),
                    None => return false,
                }
            }
        }
        let Some(first) = ids[0] else { return false };
        self.folded_postings.get(first).iter().any(|&start| {
            (1..=last).all(|i| {
                let prefix = (i == last && seq.last_prefix).then(|| &*seq.words[i]);
                self.word_at_is(start as usize + i, ids[i], prefix)
            }) && f(start)
        })
    }

    fn has_seq(&self, seq: &Seq) -> bool {
        if seq.words.len() == 1 {
            return if seq.last_prefix {
                self.with_prefix(&seq.words[0]).next().is_some()
            } else {
                self.folded_ids.contains_key(&seq.words[0])
            };
        }
        self.seq_starts(seq, |_| true)
    }

    /// Where a NEAR item occurs, as (first word, last word) positions sorted by start.
    fn occurrences(&self, item: &NearKind) -> Vec<(u32, u32)> {
        match item {
            NearKind::Word(stem) => match self.stem_ids.get(stem) {
                Some(&id) => self.stem_postings.get(id).iter().map(|&p| (p, p)).collect(),
                None => Vec::new(),
            },
            NearKind::Seq(seq) => {
                let span = seq.words.len() as u32 - 1;
                let mut out = Vec::new();
                self.seq_starts(seq, |start| {
                    out.push((start, start + span));
                    false
                });
                out
            }
        }
    }

    /// Whether every item occurs with at most `distance` words between the end of the first
    /// and the start of the last (SQLite FTS5's definition of NEAR).
    fn near(&self, items: &[super::parser::NearItem], distance: u32) -> bool {
        let mut all: Vec<(u32, u32, usize)> = Vec::new();
        for (n, item) in items.iter().enumerate() {
            let occ = self.occurrences(&item.kind);
            if occ.is_empty() {
                return false;
            }
            all.extend(occ.into_iter().map(|(s, e)| (s, e, n)));
        }
        all.sort_unstable();
        // Slide a window over the occurrences in order; each window holding every item once is
        // a candidate, and the tightest ones are all visited.
        let mut counts = vec![0usize; items.len()];
        let mut covered = 0;
        let mut left = 0;
        for right in 0..all.len() {
            let item = all[right].2;
            counts[item] += 1;
            if counts[item] == 1 {
                covered += 1;
            }
            while covered == items.len() {
                let gap = i64::from(all[right].0) - i64::from(all[left].1) - 1;
                if gap <= i64::from(distance)
                    && !self.stem_at[all[left].0 as usize..all[right].1 as usize].contains(&BARRIER)
                {
                    return true;
                }
                let gone = all[left].2;
                counts[gone] -= 1;
                if counts[gone] == 0 {
                    covered -= 1;
                }
                left += 1;
            }
        }
        false
    }
}

/// A story tokenised, folded and stemmed once, ready for any number of queries.
#[derive(Debug)]
pub struct PreparedDocument<'a> {
    /// The raw story, for regexes (which see the text as written).
    doc: Document<'a>,
    /// Title and text together: where unfielded terms look.
    body: FieldIndex,
    /// The title alone, for `title:`.
    title: FieldIndex,
    /// For `author:`.
    author: FieldIndex,
    /// For `feed:`.
    feed: FieldIndex,
    /// For `url:`, split into words at every punctuation mark.
    url: FieldIndex,
    /// Each tag folded as `tag:` compares it.
    tags: Vec<String>,
}

impl<'a> PreparedDocument<'a> {
    pub fn new(doc: &Document<'a>) -> PreparedDocument<'a> {
        PreparedDocument {
            doc: doc.clone(),
            body: FieldIndex::new(&[doc.title, doc.text]),
            title: FieldIndex::new(&[doc.title]),
            author: FieldIndex::new(&[doc.author]),
            feed: FieldIndex::new(&[doc.feed]),
            url: FieldIndex::new(&[doc.url]),
            tags: doc.tags.iter().map(|t| fold_tag(t)).collect(),
        }
    }

    /// The story this was prepared from.
    pub fn document(&self) -> &Document<'a> {
        &self.doc
    }

    fn index(&self, field: Field) -> &FieldIndex {
        match field {
            Field::Body => &self.body,
            Field::Title => &self.title,
            Field::Author => &self.author,
            Field::Feed => &self.feed,
            Field::Url => &self.url,
            // Tags are compared whole, never through an index; an empty one finds nothing.
            Field::Tag => &self.body,
        }
    }

    fn raw(&self, field: Field) -> &[&str] {
        match field {
            Field::Body => &[],
            Field::Title => std::slice::from_ref(&self.doc.title),
            Field::Author => std::slice::from_ref(&self.doc.author),
            Field::Feed => std::slice::from_ref(&self.doc.feed),
            Field::Url => std::slice::from_ref(&self.doc.url),
            Field::Tag => &[],
        }
    }

    fn term(&self, term: &Term) -> bool {
        match &term.kind {
            TermKind::Word { stem } => self.index(term.field).has_stem(stem),
            TermKind::Seq(seq) => self.index(term.field).has_seq(seq),
            TermKind::Near { items, distance } => self.index(term.field).near(items, *distance),
            TermKind::TagIs(tag) => self.tags.iter().any(|t| t == &**tag),
            TermKind::TagPrefix(prefix) => self.tags.iter().any(|t| t.starts_with(&**prefix)),
            TermKind::Regex(re) => match term.field {
                Field::Body => re.is_match(self.doc.title) || re.is_match(self.doc.text),
                Field::Tag => self.doc.tags.iter().any(|t| re.is_match(t)),
                other => self.raw(other).iter().any(|s| re.is_match(s)),
            },
        }
    }
}

/// Whether `node` holds for `doc`, stopping at the first deciding child.
pub(crate) fn eval(node: &Node, doc: &PreparedDocument) -> bool {
    match node {
        Node::And(all) => all.iter().all(|n| eval(n, doc)),
        Node::Or(any) => any.iter().any(|n| eval(n, doc)),
        Node::Not(inner) => !eval(inner, doc),
        Node::Term(term) => doc.term(term),
    }
}

/// Like [`eval`], and pushes onto `out` every term that helped the match: all true branches of
/// an OR, none from under a NOT.
pub(crate) fn collect<'q>(
    node: &'q Node,
    doc: &PreparedDocument,
    out: &mut Vec<(usize, &'q str)>,
) -> bool {
    match node {
        Node::And(all) => {
            let mark = out.len();
            for n in all {
                if !collect(n, doc, out) {
                    out.truncate(mark);
                    return false;
                }
            }
            true
        }
        Node::Or(any) => {
            let mut found = false;
            for n in any {
                found |= collect(n, doc, out);
            }
            found
        }
        Node::Not(inner) => !eval(inner, doc),
        Node::Term(term) => {
            let hit = doc.term(term);
            if hit {
                match &term.kind {
                    TermKind::Near { items, .. } => {
                        out.extend(items.iter().map(|i| (term.column, i.display.as_str())));
                    }
                    _ => out.push((term.column, &term.display)),
                }
            }
            hit
        }
    }
}

/// A rough cost of evaluating `node`, so AND and OR try their cheap children first.
fn cost(node: &Node) -> u32 {
    match node {
        Node::And(v) | Node::Or(v) => v.iter().map(cost).sum(),
        Node::Not(inner) => cost(inner),
        Node::Term(t) => match &t.kind {
            TermKind::Word { .. } | TermKind::TagIs(_) | TermKind::TagPrefix(_) => 1,
            TermKind::Seq(s) if s.words.len() == 1 && !s.last_prefix => 1,
            TermKind::Seq(_) => 3,
            TermKind::Near { .. } => 8,
            // A regex scans the whole text.
            TermKind::Regex(_) => 50,
        },
    }
}

/// Flattens nested ANDs and ORs and orders every child list cheapest first; the result means
/// the same, since AND and OR do not care about order.
pub(crate) fn optimise(node: Node) -> Node {
    match node {
        Node::And(children) => {
            let mut flat = Vec::new();
            for c in children {
                match optimise(c) {
                    Node::And(inner) => flat.extend(inner),
                    other => flat.push(other),
                }
            }
            flat.sort_by_key(cost);
            Node::And(flat)
        }
        Node::Or(children) => {
            let mut flat = Vec::new();
            for c in children {
                match optimise(c) {
                    Node::Or(inner) => flat.extend(inner),
                    other => flat.push(other),
                }
            }
            flat.sort_by_key(cost);
            Node::Or(flat)
        }
        Node::Not(inner) => Node::Not(Box::new(optimise(*inner))),
        term => term,
    }
}
