//! Evaluates a query tree against a story that was tokenised, folded and stemmed once
//! ([`PreparedDocument`]), so a thousand topics cost a thousand cheap look-ups per story,
//! not a thousand passes over its text.

use std::hash::BuildHasher;
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

/// The hasher every vocabulary and every query term uses: one per process, randomly seeded
/// (stories come from the internet, so their words must not be able to pick collisions), and
/// shared so that a query can hash its terms once at parse time.
fn hasher() -> &'static foldhash::fast::RandomState {
    static HASHER: OnceLock<foldhash::fast::RandomState> = OnceLock::new();
    HASHER.get_or_init(foldhash::fast::RandomState::default)
}

pub(crate) fn hash_str(s: &str) -> u64 {
    hasher().hash_one(s)
}

/// A word of a query with its hash computed once, since it is looked up in every story.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    /// The folded word or stem.
    pub text: Box<str>,
    /// `hash_str(text)`.
    pub hash: u64,
}

impl Key {
    pub(crate) fn new(text: &str) -> Key {
        Key {
            text: text.into(),
            hash: hash_str(text),
        }
    }
}

/// Distinct strings numbered in order of first sight, all kept in one buffer so indexing a
/// story does not allocate once per word.
#[derive(Debug, Default)]
struct Vocab {
    /// Every string, back to back.
    text: String,
    /// Where string `id` lies in `text`.
    spans: Vec<(u32, u32)>,
    /// Ids, found by the string's hash.
    table: hashbrown::HashTable<u32>,
}

fn span_str<'t>(text: &'t str, spans: &[(u32, u32)], id: u32) -> &'t str {
    let (s, e) = spans[id as usize];
    &text[s as usize..e as usize]
}

impl Vocab {
    fn len(&self) -> usize {
        self.spans.len()
    }

    fn word(&self, id: u32) -> &str {
        span_str(&self.text, &self.spans, id)
    }

    fn find(&self, key: &Key) -> Option<u32> {
        self.table
            .find(key.hash, |&id| self.word(id) == &*key.text)
            .copied()
    }

    /// The id of `s`, and whether it was new.
    fn intern(&mut self, s: &str) -> (u32, bool) {
        let hash = hash_str(s);
        if let Some(&id) = self
            .table
            .find(hash, |&id| span_str(&self.text, &self.spans, id) == s)
        {
            return (id, false);
        }
        let id = self.spans.len() as u32;
        let start = self.text.len() as u32;
        self.text.push_str(s);
        self.spans.push((start, self.text.len() as u32));
        let (text, spans) = (&self.text, &self.spans);
        self.table
            .insert_unique(hash, id, |&i| hash_str(span_str(text, spans, i)));
        (id, true)
    }
}

/// One searchable field of a story, as words.
#[derive(Debug, Default)]
struct FieldIndex {
    /// Each word in order, as its folded-word id (or [`BARRIER`]).
    folded_at: Vec<u32>,
    /// Each word in order, as its stem id (or [`BARRIER`]).
    stem_at: Vec<u32>,
    /// The distinct folded words: exact words, phrases and prefixes look here.
    folded: Vocab,
    /// The distinct stems: bare words look here.
    stems: Vocab,
    /// Where each folded word occurs, for phrases and NEAR.
    folded_postings: Postings,
    /// Where each stem occurs, for NEAR and for `title:` (the title is the start of the body).
    stem_postings: Postings,
    /// Folded-word ids sorted by their text, built on the first prefix query: a prefix is then
    /// a binary search, not a scan of the vocabulary.
    sorted: OnceLock<Vec<u32>>,
    /// Where the [`BARRIER`]s stand, in increasing order.
    barriers: Vec<u32>,
}

/// The part of a field index a term looks at: all of it, or only the words before `end`
/// (the title, at the start of the body index).
#[derive(Clone, Copy)]
struct Scope<'i> {
    /// The index searched.
    index: &'i FieldIndex,
    /// Positions from here on are out of scope.
    end: u32,
}

impl FieldIndex {
    /// Indexes the words of each part in turn, with a barrier between parts; returns the index
    /// and where each part ends.
    fn new(parts: &[&str]) -> (FieldIndex, Vec<u32>) {
        let mut index = FieldIndex::default();
        // English averages about six bytes a word; sizing up front saves the regrowth that
        // showed up in profiles. Distinct words grow far slower than words.
        let bytes: usize = parts.iter().map(|p| p.len()).sum();
        index.folded_at.reserve(bytes / 6 + 1);
        index.stem_at.reserve(bytes / 6 + 1);
        let distinct = (bytes / 12).min(4_096);
        index.folded.table.reserve(distinct, |_| 0);
        index.folded.spans.reserve(distinct);
        index.folded.text.reserve(distinct * 7);
        index.stems.table.reserve(distinct, |_| 0);
        index.stems.spans.reserve(distinct);
        index.stems.text.reserve(distinct * 6);
        let mut ends = Vec::with_capacity(parts.len());
        // Folded id → stem id, so each distinct word is stemmed once per story.
        let mut stem_of: Vec<u32> = Vec::new();
        let mut buf = String::new();
        for (n, part) in parts.iter().enumerate() {
            if n > 0 && !index.folded_at.is_empty() {
                index.barriers.push(index.folded_at.len() as u32);
                index.folded_at.push(BARRIER);
                index.stem_at.push(BARRIER);
            }
            for_each_word(part, |s, e| {
                fold_into(&part[s..e], &mut buf);
                let (folded, new) = index.folded.intern(&buf);
                if new {
                    let stems = &mut index.stems;
                    stem_of.push(with_stem(&buf, |stem| stems.intern(stem).0));
                }
                index.folded_at.push(folded);
                index.stem_at.push(stem_of[folded as usize]);
            });
            ends.push(index.folded_at.len() as u32);
        }
        index.folded_postings =
            Postings::build(index.folded_at.iter().copied(), index.folded.len());
        index.stem_postings = Postings::build(index.stem_at.iter().copied(), index.stems.len());
        (index, ends)
    }

    fn all(&self) -> Scope<'_> {
        Scope {
            index: self,
            end: u32::MAX,
        }
    }

    fn sorted(&self) -> &[u32] {
        self.sorted.get_or_init(|| {
            let mut ids: Vec<u32> = (0..self.folded.len() as u32).collect();
            ids.sort_unstable_by(|&a, &b| self.folded.word(a).cmp(self.folded.word(b)));
            ids
        })
    }

    /// Ids of the folded words that start with `prefix`.
    fn with_prefix<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = u32> + 's {
        let sorted = self.sorted();
        let first = sorted.partition_point(|&id| self.folded.word(id) < prefix);
        sorted[first..]
            .iter()
            .copied()
            .take_while(move |&id| self.folded.word(id).starts_with(prefix))
    }

    /// Whether a barrier stands in `start..end`: a binary search, however long the span.
    fn barrier_within(&self, start: u32, end: u32) -> bool {
        let first = self.barriers.partition_point(|&b| b < start);
        self.barriers.get(first).is_some_and(|&b| b < end)
    }

    /// Whether the word at `pos` is `folded_id`, or starts with `prefix` when one is given.
    fn word_at_is(&self, pos: usize, folded_id: Option<u32>, prefix: Option<&str>) -> bool {
        match (self.folded_at.get(pos), prefix) {
            (None, _) | (Some(&BARRIER), _) => false,
            (Some(&id), Some(p)) => self.folded.word(id).starts_with(p),
            (Some(&id), None) => Some(id) == folded_id,
        }
    }
}

impl Scope<'_> {
    /// Whether an id occurs in scope, given its positions.
    fn in_scope(&self, positions: &[u32]) -> bool {
        positions.first().is_some_and(|&p| p < self.end)
    }

    fn has_stem(&self, stem: &Key) -> bool {
        match self.index.stems.find(stem) {
            None => false,
            Some(_) if self.end == u32::MAX => true,
            Some(id) => self.in_scope(self.index.stem_postings.get(id)),
        }
    }

    /// Calls `f` with the start of each place `seq` occurs until `f` returns true; returns
    /// whether it did.
    fn seq_starts(&self, seq: &Seq, mut f: impl FnMut(u32) -> bool) -> bool {
        let index = self.index;
        let last = seq.words.len() - 1;
        if last == 0 && seq.last_prefix {
            let ids: Vec<u32> = index.with_prefix(&seq.words[0].text).collect();
            let mut starts: Vec<u32> = ids
                .iter()
                .flat_map(|&id| index.folded_postings.get(id))
                .copied()
                .filter(|&p| p < self.end)
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
                match index.folded.find(word) {
                    Some(id) => ids.push(Some(id)),
                    None => return false,
                }
            }
        }
        let Some(first) = ids[0] else { return false };
        let starts = index.folded_postings.get(first);
        let starts = &starts[..starts.partition_point(|&p| p < self.end)];
        let words = index.folded_at.len() as u64;
        if starts.len() as u64 * last as u64 <= 2 * words + 64 {
            // The usual case: the first word is rare enough to try each place it stands.
            return starts.iter().any(|&start| {
                (1..=last).all(|i| {
                    let prefix = (i == last && seq.last_prefix).then(|| &*seq.words[i].text);
                    index.word_at_is(start as usize + i, ids[i], prefix)
                }) && f(start)
            });
        }
        // A long sequence whose first word is everywhere (the same word again and again): trying
        // each place would cost their product; Knuth-Morris-Pratt over the word ids costs the
        // story's length once. A barrier equals no word, so no match runs across one.
        let pattern: Vec<u32> = ids.iter().map_while(|id| *id).collect();
        let fail = kmp_table(&pattern);
        let last_prefix = seq.last_prefix.then(|| &*seq.words[last].text);
        let mut k = 0;
        for (j, &word) in index.folded_at.iter().enumerate() {
            while k > 0 && pattern[k] != word {
                k = fail[k - 1];
            }
            if pattern[k] == word {
                k += 1;
            }
            if k == pattern.len() {
                k = fail[k - 1];
                let start = j + 1 - pattern.len();
                if start as u32 >= self.end {
                    break;
                }
                if last_prefix.is_none_or(|p| index.word_at_is(start + last, None, Some(p)))
                    && f(start as u32)
                {
                    return true;
                }
            }
        }
        false
    }

    fn has_seq(&self, seq: &Seq) -> bool {
        let index = self.index;
        if seq.words.len() == 1 {
            let word = &seq.words[0];
            return if seq.last_prefix {
                index
                    .with_prefix(&word.text)
                    .any(|id| self.in_scope(index.folded_postings.get(id)))
            } else {
                index
                    .folded
                    .find(word)
                    .is_some_and(|id| self.in_scope(index.folded_postings.get(id)))
            };
        }
        self.seq_starts(seq, |_| true)
    }

    /// Where a NEAR item starts, in increasing order, and how many words after its first its
    /// last one stands.
    fn occurrences(&self, item: &NearKind) -> (Vec<u32>, u32) {
        match item {
            NearKind::Word(stem) => match self.index.stems.find(stem) {
                Some(id) => {
                    let positions = self.index.stem_postings.get(id);
                    (
                        positions[..positions.partition_point(|&p| p < self.end)].to_vec(),
                        0,
                    )
                }
                None => (Vec::new(), 0),
            },
            NearKind::Seq(seq) => {
                let mut out = Vec::new();
                self.seq_starts(seq, |start| {
                    out.push(start);
                    false
                });
                (out, seq.words.len() as u32 - 1)
            }
        }
    }

    /// Whether every item occurs with at most `distance` words between the end of the first
    /// and the start of the last (SQLite FTS5's definition of NEAR). Only the `distinct` items
    /// are looked for: one written twice would double the work and change nothing.
    fn near(&self, items: &[super::parser::NearItem], distinct: &[usize], distance: u32) -> bool {
        let mut found = Vec::with_capacity(distinct.len());
        for &i in distinct {
            let (starts, span) = self.occurrences(&items[i].kind);
            if starts.is_empty() {
                return false;
            }
            found.push((span, starts));
        }
        // Every occurrence as (start, end, item), in that order. Phrases can make this list a
        // few times longer than the story (many items starting at each word), so it is put in
        // order by counting starts, in linear time, not by sorting. Numbering the items by
        // their span makes (start, end, item) order the order they are placed in.
        found.sort_by_key(|(span, _)| *span);
        let words = self.index.folded_at.len();
        let mut cursor = vec![0u32; words + 1];
        for (_, starts) in &found {
            for &s in starts {
                cursor[s as usize + 1] += 1;
            }
        }
        for i in 1..cursor.len() {
            cursor[i] += cursor[i - 1];
        }
        let mut all = vec![(0u32, 0u32, 0u32); cursor[words] as usize];
        for (item, (span, starts)) in found.iter().enumerate() {
            for &s in starts {
                let at = &mut cursor[s as usize];
                all[*at as usize] = (s, s + span, item as u32);
                *at += 1;
            }
        }
        // Slide a window over the occurrences in order; each window holding every item once is
        // a candidate, and the tightest ones are all visited. Each step is constant time (the
        // barrier test is a binary search), so the whole walk is linear in the occurrences.
        let mut counts = vec![0usize; distinct.len()];
        let mut covered = 0;
        let mut left = 0;
        for right in 0..all.len() {
            let item = all[right].2 as usize;
            counts[item] += 1;
            if counts[item] == 1 {
                covered += 1;
            }
            while covered == distinct.len() {
                let gap = i64::from(all[right].0) - i64::from(all[left].1) - 1;
                if gap <= i64::from(distance)
                    && !self.index.barrier_within(all[left].0, all[right].1)
                {
                    return true;
                }
                let gone = all[left].2 as usize;
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

/// Knuth-Morris-Pratt's table: for each prefix of `pattern`, the length of its longest proper
/// prefix that is also its suffix.
fn kmp_table(pattern: &[u32]) -> Vec<usize> {
    let mut fail = vec![0; pattern.len()];
    let mut k = 0;
    for i in 1..pattern.len() {
        while k > 0 && pattern[i] != pattern[k] {
            k = fail[k - 1];
        }
        if pattern[i] == pattern[k] {
            k += 1;
        }
        fail[i] = k;
    }
    fail
}

/// A story tokenised, folded and stemmed once, ready for any number of queries.
#[derive(Debug)]
pub struct PreparedDocument<'a> {
    /// The raw story, for regexes (which see the text as written).
    doc: Document<'a>,
    /// Title then text: where unfielded terms look, and `title:` in its first part.
    body: FieldIndex,
    /// How many positions of `body` are the title's.
    title_end: u32,
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
        let (body, ends) = FieldIndex::new(&[doc.title, doc.text]);
        PreparedDocument {
            doc: doc.clone(),
            body,
            title_end: ends[0],
            author: FieldIndex::new(&[doc.author]).0,
            feed: FieldIndex::new(&[doc.feed]).0,
            url: FieldIndex::new(&[doc.url]).0,
            tags: doc.tags.iter().map(|t| fold_tag(t)).collect(),
        }
    }

    /// The story this was prepared from.
    pub fn document(&self) -> &Document<'a> {
        &self.doc
    }

    fn scope(&self, field: Field) -> Scope<'_> {
        match field {
            Field::Title => Scope {
                index: &self.body,
                end: self.title_end,
            },
            Field::Author => self.author.all(),
            Field::Feed => self.feed.all(),
            Field::Url => self.url.all(),
            // Tags are compared whole, never through an index.
            Field::Body | Field::Tag => self.body.all(),
        }
    }

    fn term(&self, term: &Term) -> bool {
        match &term.kind {
            TermKind::Word { stem } => self.scope(term.field).has_stem(stem),
            TermKind::Seq(seq) => self.scope(term.field).has_seq(seq),
            TermKind::Near {
                items,
                distinct,
                distance,
            } => self.scope(term.field).near(items, distinct, *distance),
            TermKind::TagIs(tag) => self.tags.iter().any(|t| t == &**tag),
            TermKind::TagPrefix(prefix) => self.tags.iter().any(|t| t.starts_with(&**prefix)),
            TermKind::Regex(re) => match term.field {
                Field::Body => re.is_match(self.doc.title) || re.is_match(self.doc.text),
                Field::Title => re.is_match(self.doc.title),
                Field::Author => re.is_match(self.doc.author),
                Field::Feed => re.is_match(self.doc.feed),
                Field::Url => re.is_match(self.doc.url),
                Field::Tag => self.doc.tags.iter().any(|t| re.is_match(t)),
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
