//! Recognising the same story: canonical URLs, content hashes and near-duplicate fingerprints.
//!
//! Owns the pure computations the store uses to decide whether an item is a story it already
//! holds: [`canonical_url`] (tracking junk stripped), [`content_hash`] (exact copies),
//! [`Shingles`] and [`Fingerprint`] (MinHash over word 3-shingles, one-permutation, banded for
//! lookup, plus a banded MinHash of each paragraph lead so a feed summary finds its article),
//! [`BandIndex`] (which recent stories carry a band key, in memory), [`could_be_same`] (a
//! candidate ruled out from a sample of its shingles) and [`same_story`] (the final decision
//! between two texts). Hands on plain values; the store keeps them.
//!
//! The rules, measured by `cargo bench --bench dedup_eval` on texts that outlets really
//! rewrite (see `benches/dedup_eval.rs`):
//! - two texts are one story when most of the shorter one's shingles are in the longer one
//!   (a summary, a cut or extended copy, a reworded lead), or when their shingle sets overlap
//!   strongly (both sides edited);
//! - sharing a subject (names, places, stock phrases) or a template (a newsletter's intro and
//!   footer) is not enough: those share a minority of 3-word shingles.

mod index;
mod url;

pub use index::{BandIndex, KEY_FANOUT, decode_bands, encode_bands};
pub use url::canonical_url;

use std::hash::Hasher;

use siphasher::sip::SipHasher13;
use unicode_normalization::UnicodeNormalization;

/// How far apart (seconds) two copies of one story may first be seen and still be joined by
/// text similarity; older stories are news of another day.
pub const NEAR_DUPLICATE_WINDOW: i64 = 3 * 24 * 3600;

/// At most this many candidates are checked per lookup, those sharing the most band keys first:
/// a template shared by many stories must not make one lookup read them all.
pub const MAX_CANDIDATES: usize = 24;

/// The stories of `index` worth checking against a text with fingerprint `fp`, best first:
/// those sharing more band keys, and among equals the newest (today's copy is likelier than
/// last week's); at most [`MAX_CANDIDATES`].
pub fn candidates(index: &BandIndex, fp: &Fingerprint) -> Vec<i64> {
    // (story, keys shared), counted by sorting: when stock phrases crowd the keys, ~40 keys of
    // up to 64 stories each give thousands of ids, and a search of the list per id would grow
    // with the square of that.
    let mut ids: Vec<i64> = Vec::new();
    std::hint::black_box(index.warm(&fp.bands));
    for key in &fp.bands {
        index.stories_with(*key, |id| ids.push(id));
    }
    ids.sort_unstable();
    let mut counted: Vec<(i64, usize)> = ids
        .chunk_by(|a, b| a == b)
        .map(|same| (same[0], same.len()))
        .collect();
    counted.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    counted
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|(id, _)| id)
        .collect()
}

/// Whether a story first seen at `then` can be joined by text to one seen at `now`.
pub fn within_window(now: i64, then: i64) -> bool {
    (now - then).abs() <= NEAR_DUPLICATE_WINDOW
}

/// Lowercased, diacritic-free word tokens of a text.
pub fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// At most this many leading lines are skipped looking for the lead.
const MAX_HEADING_LINES: usize = 4;

/// Where the prose of a text starts: after leading lines that do not end like a sentence (a
/// headline, a byline, a dateline, "Updated 10:42"), which an extracted page carries and its
/// feed summary does not.
fn prose_start(text: &str) -> usize {
    let (mut offset, mut skipped) = (0, 0);
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.is_empty() {
            offset += line.len();
            continue;
        }
        let sentence = t.ends_with(['.', '!', '?', '…', '"', '”', '’', '\'', ')', ']', ':']);
        if sentence || skipped >= MAX_HEADING_LINES {
            return offset;
        }
        offset += line.len();
        skipped += 1;
    }
    // All heading-like: use the whole text rather than nothing.
    0
}

/// A hash of the normalised words of a text: equal for copies that differ only in markup,
/// whitespace or punctuation.
pub fn content_hash(title: &str, text: &str) -> String {
    let mut h = keyed_hasher(0);
    let mut buf = String::new();
    for part in [title, text] {
        each_word(part, &mut buf, &mut |w| content_word(&mut h, w));
    }
    format!("{:016x}", h.finish())
}

/// [`content_hash`] and [`Shingles::of`] the text in one pass over its words, for the ingest of
/// every new item.
pub fn digest(title: &str, text: &str) -> (String, Shingles) {
    let mut h = keyed_hasher(0);
    let mut buf = String::new();
    each_word(title, &mut buf, &mut |w| content_word(&mut h, w));
    let shingles = Shingles::build(text, &mut |w| content_word(&mut h, w));
    (format!("{:016x}", h.finish()), shingles)
}

fn content_word(h: &mut SipHasher13, w: &str) {
    h.write(w.as_bytes());
    h.write_u8(0);
}

/// Calls `f` on each word of `text`, lowercased and diacritics removed: the words of [`words`],
/// streamed through `buf` instead of allocated one by one, since this runs on every item of
/// every poll. Decomposing char by char equals decomposing the whole text here: the only
/// difference, the order of combining marks, is dropped with the marks. ASCII letters are
/// lowercased as they come, which leaves the lowercasing of a word with other letters (and
/// its final-sigma rule) as it was.
fn each_word(text: &str, buf: &mut String, f: &mut impl FnMut(&str)) {
    fn emit(buf: &mut String, ascii: &mut bool, f: &mut impl FnMut(&str)) {
        if *ascii {
            f(buf);
        } else {
            f(&buf.to_lowercase());
        }
        buf.clear();
        *ascii = true;
    }
    buf.clear();
    let mut ascii = true;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            if b.is_ascii_alphanumeric() {
                buf.push(b.to_ascii_lowercase() as char);
            } else if !buf.is_empty() {
                emit(buf, &mut ascii, f);
            }
            i += 1;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        for d in std::iter::once(c)
            .nfkd()
            .filter(|d| !unicode_normalization::char::is_combining_mark(*d))
        {
            if d.is_ascii_alphanumeric() {
                // "É" decomposes to "E" and a mark.
                buf.push(d.to_ascii_lowercase());
            } else if d.is_alphanumeric() {
                ascii = false;
                buf.push(d);
            } else if !buf.is_empty() {
                emit(buf, &mut ascii, f);
            }
        }
    }
    if !buf.is_empty() {
        emit(buf, &mut ascii, f);
    }
}

/// Fixed keys: stored hashes must not change across Rust versions or restarts.
fn keyed_hasher(seed: u64) -> SipHasher13 {
    SipHasher13::new_with_keys(
        0x6665_6564_7761_7463 ^ seed,
        0x6873_746f_7279_2121u64.wrapping_add(seed),
    )
}

/// Words per shingle. Three: two unrelated articles share about 0.1 % of their 3-shingles
/// (2-shingles: 1.3 %, through "of the", "said on"), which keeps band lookups selective in a
/// store of a million stories, while a reworded sentence still leaves its neighbours intact.
const SHINGLE_WORDS: usize = 3;

/// Bands and rows of the whole-text MinHash. A pair with shingle Jaccard `J` shares a band with
/// probability `1 - (1 - J^ROWS)^BANDS`: 0.88 at J = 0.5, 0.998 at J = 0.7, and 2e-8 at the
/// J = 0.001 of unrelated articles, so a lookup meets almost no strangers.
const BANDS: usize = 16;
const ROWS: usize = 3;

/// A lead: the first words of a paragraph. A feed summary is the article cut to its first
/// sentences, so it and its article agree exactly on a lead, however little else of the
/// article it carries; a wire copy that rewrote the first paragraph still agrees on the next.
const LEAD_WORDS: usize = 20;
const LEAD_BANDS: usize = 5;
const LEAD_ROWS: usize = 3;
/// Leads taken: from the first paragraphs (a headline or subtitle line first, or not) and from
/// where the prose starts (past a headline, byline and dateline).
const LEADS_FROM_TOP: usize = 3;
const LEADS_FROM_PROSE: usize = 2;

/// Fewer distinct shingles than this is too little text to judge: a headline alone or a
/// one-line teaser says nothing about sameness.
const MIN_SHINGLES: usize = 8;

/// The shingles of a text, computed once and compared with many candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shingles {
    /// Every distinct shingle hash of the text, sorted, so two sets intersect by merging.
    all: Vec<u64>,
    /// The distinct shingles of each lead (see [`LEAD_WORDS`]), for the lead bands.
    leads: Vec<Vec<u64>>,
}

/// The word offsets of the leads among a text's line starts (byte offset, word offset): the
/// first `LEADS_FROM_TOP` lines, and the first `LEADS_FROM_PROSE` from where the prose starts.
fn lead_offsets(text: &str, line_starts: &[(usize, usize)]) -> Vec<usize> {
    let prose = prose_start(text);
    let mut offsets: Vec<usize> = Vec::new();
    let top = line_starts.iter().take(LEADS_FROM_TOP);
    let from_prose = line_starts
        .iter()
        .filter(|(byte, _)| *byte >= prose)
        .take(LEADS_FROM_PROSE);
    for (_, word) in top.chain(from_prose) {
        if !offsets.contains(word) {
            offsets.push(*word);
        }
    }
    offsets
}

/// Appends the hash of each word of `line` (lowercased, diacritics removed: the same words as
/// [`words`]) to `out`, without allocating per word: this runs on every stored and looked-up
/// text.
fn word_hashes(line: &str, buf: &mut String, out: &mut Vec<u64>, also: &mut impl FnMut(&str)) {
    each_word(line, buf, &mut |w| {
        also(w);
        let mut h = keyed_hasher(1);
        h.write(w.as_bytes());
        out.push(h.finish());
    });
}

/// One shingle from its words' hashes; order matters ("troops leave iraq" is not "iraq
/// leave troops").
fn shingle_hash(ws: &[u64]) -> u64 {
    ws.iter().fold(0x7368_696e_676c_6521u64, |acc, w| {
        mix(acc.rotate_left(23) ^ w)
    })
}

impl Shingles {
    pub fn of(text: &str) -> Shingles {
        Shingles::build(text, &mut |_| {})
    }

    /// The shingles of `text`, its words also handed to `also` as they are read.
    fn build(text: &str, also: &mut impl FnMut(&str)) -> Shingles {
        let mut hashes: Vec<u64> = Vec::with_capacity(text.len() / 5);
        // (byte, word) offsets of the first lines holding words, for the leads.
        let mut line_starts: Vec<(usize, usize)> = Vec::new();
        let (mut byte, mut buf) = (0, String::new());
        for line in text.split_inclusive('\n') {
            let before = hashes.len();
            word_hashes(line, &mut buf, &mut hashes, also);
            if hashes.len() > before && line_starts.len() < 16 {
                line_starts.push((byte, before));
            }
            byte += line.len();
        }
        let all: Vec<u64> = if hashes.len() < SHINGLE_WORDS {
            (!hashes.is_empty())
                .then(|| shingle_hash(&hashes))
                .into_iter()
                .collect()
        } else {
            hashes.windows(SHINGLE_WORDS).map(shingle_hash).collect()
        };
        let per_lead = LEAD_WORDS.saturating_sub(SHINGLE_WORDS - 1);
        let leads = lead_offsets(text, &line_starts)
            .into_iter()
            .filter(|&from| from < all.len())
            .map(|from| {
                let mut lead = all[from..(from + per_lead).min(all.len())].to_vec();
                lead.sort_unstable();
                lead.dedup();
                lead
            })
            .collect();
        let mut all = all;
        all.sort_unstable();
        all.dedup();
        Shingles { all, leads }
    }

    /// Distinct shingles in the text.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// A sample of the set to keep beside a story: its [`SKETCH_LEN`] smallest hashes, which
    /// are a uniform sample since the hashes are random. [`could_be_same`] reads it to rule a
    /// candidate out without reading and shingling its text again.
    pub fn sketch(&self) -> &[u64] {
        &self.all[..self.all.len().min(SKETCH_LEN)]
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}

/// The lookup keys of a text: MinHash bands of the whole text, then of its lead. Two texts
/// with shingle Jaccard `J` share a whole-text key with probability `1 - (1 - J^3)^16`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Band keys; each already names its band (the band index is hashed in), so one index
    /// over keys serves all bands and a whole-text key never meets a lead key.
    pub bands: Vec<i64>,
}

impl Fingerprint {
    pub fn of(text: &str) -> Option<Fingerprint> {
        Fingerprint::of_shingles(&Shingles::of(text))
    }

    pub fn of_shingles(sh: &Shingles) -> Option<Fingerprint> {
        if sh.len() < MIN_SHINGLES {
            return None;
        }
        let mut bands = one_permutation_bands(&sh.all, BANDS, ROWS);
        for lead in sh.leads.iter().filter(|l| l.len() >= MIN_SHINGLES) {
            for key in minhash_bands(lead, LEAD_BANDS, LEAD_ROWS, 1_000) {
                if !bands.contains(&key) {
                    bands.push(key);
                }
            }
        }
        Some(Fingerprint { bands })
    }
}

fn minhash_bands(set: &[u64], bands: usize, rows: usize, seed: u64) -> Vec<i64> {
    let mut mins = vec![u64::MAX; bands * rows];
    for (i, m) in mins.iter_mut().enumerate() {
        // Cheap independent permutations: mix the shingle hash with a per-function key.
        let key = (seed + i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // A branch, not `min`: a new minimum is rare, so the branch is predicted and the
        // loop runs ahead, where `min` chains every step to the last (a third slower).
        for s in set {
            let v = mix(*s ^ key);
            if v < *m {
                *m = v;
            }
        }
    }
    band_keys(&mins, rows, seed)
}

/// One key per band of `rows` MinHash values, naming its band (and `seed`'s family).
fn band_keys(mins: &[u64], rows: usize, seed: u64) -> Vec<i64> {
    mins.chunks(rows)
        .enumerate()
        .map(|(b, rows)| {
            let mut h = keyed_hasher(2 + seed + b as u64);
            for r in rows {
                h.write_u64(*r);
            }
            h.finish() as i64
        })
        .collect()
}

/// The whole text's bands by one-permutation hashing: each shingle is hashed once and falls
/// into one of `bands × rows` bins, whose minimum is that bin's MinHash value, instead of
/// `bands × rows` hashes of every shingle (storing a story spent most of its time there).
/// Two texts agree on a bin with probability their Jaccard similarity, as with classic
/// MinHash. A bin no shingle fell into (short texts) takes the minimum of another bin chosen
/// by a hash sequence of its own index, the same for every text ("optimal densification",
/// Shrivastava 2017), so it keeps that property.
fn one_permutation_bands(set: &[u64], bands: usize, rows: usize) -> Vec<i64> {
    let bins = bands * rows;
    let mut mins = vec![u64::MAX; bins];
    for s in set {
        let v = mix(*s ^ 0x6f6e_6570_6572_6d21);
        // The high bits choose the bin (a multiply, not a modulo); the whole value orders.
        let bin = (((v >> 32) * bins as u64) >> 32) as usize;
        if v < mins[bin] {
            mins[bin] = v;
        }
    }
    if !set.is_empty() {
        // Only bins filled by shingles lend their value, not ones filled here.
        let filled = mins.clone();
        for (j, m) in mins.iter_mut().enumerate() {
            let mut attempt = 0u64;
            while *m == u64::MAX {
                attempt += 1;
                let probe = mix(((j as u64) << 32) | attempt);
                *m = filled[(((probe >> 32) * bins as u64) >> 32) as usize];
            }
        }
    }
    band_keys(&mins, rows, 0)
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// How much two texts share, in shingles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Shingles in both texts.
    pub common: usize,
    /// Common shingles over all distinct shingles of either: high only when both are alike.
    pub jaccard: f64,
    /// Common shingles over the shorter text's: high when one text is (mostly) inside the
    /// other, as a summary or a cut copy is.
    pub containment: f64,
    /// Distinct shingles of the shorter text.
    pub shorter: usize,
}

pub fn similarity(a: &Shingles, b: &Shingles) -> Similarity {
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < a.all.len() && j < b.all.len() {
        match a.all[i].cmp(&b.all[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = (a.len() + b.len() - common).max(1);
    let shorter = a.len().min(b.len());
    Similarity {
        common,
        jaccard: common as f64 / union as f64,
        containment: common as f64 / shorter.max(1) as f64,
        shorter,
    }
}

/// Above this Jaccard similarity two texts are one story whatever their lengths.
pub const SAME_JACCARD: f64 = 0.45;
/// Above this share of the shorter text found in the longer, the shorter is a copy of part of
/// the longer (a summary, a cut, a reworded lead) ...
pub const SAME_CONTAINMENT: f64 = 0.7;
/// ... provided they share at least this many shingles (a sentence's worth).
pub const MIN_COMMON: usize = 10;

/// The final word on two candidate texts' shingles.
pub fn same_shingles(a: &Shingles, b: &Shingles) -> bool {
    if a.len() < MIN_SHINGLES || b.len() < MIN_SHINGLES {
        return false;
    }
    let s = similarity(a, b);
    s.jaccard >= SAME_JACCARD || (s.containment >= SAME_CONTAINMENT && s.common >= MIN_COMMON)
}

/// The final word on two candidate texts: the same story when their shingles overlap enough,
/// measured both ways so a feed summary (a truncated copy) still joins its full article.
/// Shingle hashes kept per story as its sample (256 bytes).
pub const SKETCH_LEN: usize = 32;

/// Whether `a` may be the same story as a stored text of `b_len` shingles whose
/// [`Shingles::sketch`] is `b_sketch`; `false` only when the sample makes that all but
/// impossible, so [`same_shingles`] on the whole texts is still the judge of a `true`.
///
/// Two texts that [`same_shingles`] joins share at least 45% of the shorter one's shingles
/// (by either rule), so at least `0.45 × min(|A|, |B|)` of B's shingles are in A and the
/// sample of B should hold about `μ = k × 0.45 × min(|A|, |B|) / |B|` of them. Only a sample
/// expecting ten or more rules anything out, and only with fewer than a fifth of `μ` in A:
/// the chance of that for a true copy is about one in ten thousand (binomial tail), while a
/// stranger sharing one band key by chance has none or one.
pub fn could_be_same(a: &Shingles, b_sketch: &[u64], b_len: usize) -> bool {
    let k = b_sketch.len().min(b_len);
    if k == 0 || b_len == 0 {
        return true;
    }
    let expected = k as f64 * 0.45 * a.len().min(b_len) as f64 / b_len as f64;
    if expected < 10.0 {
        return true;
    }
    let hits = b_sketch
        .iter()
        .filter(|h| a.all.binary_search(h).is_ok())
        .count();
    hits as f64 * 5.0 >= expected
}

pub fn same_story(a: &str, b: &str) -> bool {
    same_shingles(&Shingles::of(a), &Shingles::of(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read_to_string(path).unwrap()
    }

    fn shared_keys(a: &str, b: &str) -> usize {
        let (fa, fb) = (Fingerprint::of(a).unwrap(), Fingerprint::of(b).unwrap());
        fa.bands.iter().filter(|k| fb.bands.contains(k)).count()
    }

    /// Content hashes are stored: a change to how they are computed would make every item
    /// seen again look changed.
    #[test]
    fn stored_content_hashes_do_not_change_between_versions() {
        assert_eq!(
            content_hash("Straße ΣΑΣ Title", "Hello, Wörld! ÉCOLE naïve 42"),
            "995814235527d7fa"
        );
        let tome = fixture("tome-iraq-troops.expected.txt");
        assert_eq!(content_hash("T", &tome), "e995d935b1e70081");
    }

    #[test]
    fn the_one_pass_digest_equals_hash_and_shingles_taken_apart() {
        for (title, text) in [
            ("Title", fixture("tome-iraq-troops.expected.txt")),
            (
                "Ünïcode ΣΑΣ",
                "Straße “quotes” ﬁne\n\nÉCOLE naïve 42".to_string(),
            ),
            ("", String::new()),
        ] {
            assert_eq!(
                digest(title, &text),
                (content_hash(title, &text), Shingles::of(&text))
            );
        }
    }

    #[test]
    fn the_sample_keeps_a_copy_and_rules_out_another_story() {
        let tome = fixture("tome-iraq-troops.expected.txt");
        let wire = fixture("wire-iraq-troops.expected.txt");
        let (a, b) = (Shingles::of(&tome), Shingles::of(&wire));
        assert!(same_shingles(&a, &b));
        assert!(could_be_same(&a, b.sketch(), b.len()));
        assert!(could_be_same(&b, a.sketch(), a.len()));
        // The same words in another order: another text, sharing no shingles.
        let mut words: Vec<&str> = tome.split_whitespace().collect();
        words.reverse();
        let other = Shingles::of(&words.join(" "));
        assert!(!could_be_same(&a, other.sketch(), other.len()));
    }

    #[test]
    fn content_hash_ignores_punctuation_whitespace_and_case() {
        assert_eq!(
            content_hash("Title", "Hello,   world!"),
            content_hash("title", "hello world")
        );
        assert_ne!(
            content_hash("Title", "hello world"),
            content_hash("Title", "hello there")
        );
    }

    #[test]
    fn content_hash_is_the_same_for_plain_and_accented_spellings() {
        // The streamed words must be the words `words` gives: stored hashes depend on them.
        let mut general = keyed_hasher(0);
        for w in words("Title")
            .iter()
            .chain(words("Hello,  World 42!").iter())
        {
            general.write(w.as_bytes());
            general.write_u8(0);
        }
        assert_eq!(
            content_hash("Title", "Hello,  World 42!"),
            format!("{:016x}", general.finish())
        );
        assert_eq!(content_hash("Cafe", "x"), content_hash("Café", "x"));
        let text = "Ünïcode ΣΑΣ “quotes” ﬁne Straße";
        let mut general = keyed_hasher(0);
        for w in words(text) {
            general.write(w.as_bytes());
            general.write_u8(0);
        }
        assert_eq!(content_hash("", text), format!("{:016x}", general.finish()));
    }

    #[test]
    fn the_reworded_wire_copy_is_the_same_story_as_the_original() {
        let a = fixture("tome-iraq-troops.expected.txt");
        let b = fixture("wire-iraq-troops.expected.txt");
        assert!(same_story(&a, &b));
        assert!(
            shared_keys(&a, &b) >= 1,
            "the pair must meet in at least one band to be found"
        );
    }

    #[test]
    fn a_different_event_on_the_same_subject_is_not_the_same_story() {
        // Same people, places and stock phrases (Al-Sudani, Austin, 2,500 troops, Daesh).
        let a = fixture("tome-iraq-troops.expected.txt");
        let other = fixture("dedup/iraq-other-event.txt");
        assert!(!same_story(&a, &other));
        assert!(!same_story(
            &fixture("wire-iraq-troops.expected.txt"),
            &other
        ));
    }

    #[test]
    fn newsletters_sharing_a_template_but_not_a_body_are_different_stories() {
        let monday = fixture("dedup/newsletter-monday.txt");
        let tuesday = fixture("dedup/newsletter-tuesday.txt");
        let s = similarity(&Shingles::of(&monday), &Shingles::of(&tuesday));
        assert!(s.common > 40, "the template is shared: {s:?}");
        assert!(!same_story(&monday, &tuesday), "{s:?}");
    }

    #[test]
    fn a_feed_summary_joins_its_article_even_behind_the_headline_line() {
        let article = fixture("tome-iraq-troops.expected.txt");
        let summary = fixture("dedup/tome-feed-summary.txt");
        assert!(same_story(&summary, &article));
        assert!(same_story(&article, &summary));
        assert!(
            shared_keys(&summary, &article) >= 1,
            "the summary must find the article through the lead bands"
        );
    }

    #[test]
    fn a_summary_of_one_article_does_not_join_another_on_the_same_subject() {
        let summary = fixture("dedup/tome-feed-summary.txt");
        assert!(!same_story(
            &summary,
            &fixture("dedup/iraq-other-event.txt")
        ));
    }

    #[test]
    fn boilerplate_appended_to_a_copy_does_not_split_the_story() {
        let a = fixture("tome-iraq-troops.expected.txt");
        let b = format!(
            "{a}\n\nReporting by Jane Doe; Editing by Mark Heinrich.\n\nSign up for our newsletter to get the top stories every morning."
        );
        assert!(same_story(&a, &b));
    }

    #[test]
    fn a_headline_alone_is_too_little_to_judge() {
        let a = "US and Iraq to discuss troops";
        assert!(Fingerprint::of(a).is_none());
        assert!(!same_story(a, a));
    }

    #[test]
    fn headline_lines_are_skipped_to_find_the_lead() {
        let text = "Big headline here\nBy Jane Doe\n\nThe lead sentence starts here.";
        assert_eq!(&text[prose_start(text)..], "The lead sentence starts here.");
        assert_eq!(prose_start("One sentence. And more."), 0);
    }

    #[test]
    fn fingerprints_are_stable_across_builds() {
        // Stored band keys must keep matching after an upgrade of Rust or of this crate's
        // dependencies; a change here needs a migration that drops the stored fingerprints
        // (as 0006 did: the keys of stories without one are computed from their text).
        let fp = Fingerprint::of(&fixture("tome-iraq-troops.expected.txt")).unwrap();
        assert_eq!(fp.bands.len(), BANDS + 3 * LEAD_BANDS);
        assert_eq!(fp.bands[0], STABLE_FIRST_KEY);
        assert_eq!(
            fp.bands.iter().fold(0i64, |a, b| a.wrapping_add(*b)),
            3_718_456_075_036_576_257
        );
    }

    const STABLE_FIRST_KEY: i64 = 8_778_799_402_510_388_746;
}
