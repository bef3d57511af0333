//! Recognising the same story: canonical URLs, content hashes and near-duplicate fingerprints.
//!
//! Owns the pure computations the store uses to decide whether an item is a story it already
//! holds: [`canonical_url`] (tracking junk stripped), [`content_hash`] (exact copies),
//! [`Fingerprint`] (MinHash over word shingles, banded for lookup) and [`same_story`] (the
//! final decision between two texts). Hands on plain values; the store keeps them.

use std::collections::HashSet;
use std::hash::Hasher;

use siphasher::sip::SipHasher13;
use unicode_normalization::UnicodeNormalization;
use url::Url;

/// Query parameters that only track the reader, never select content.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gclsrc",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "rb_clickid",
    "s_cid",
    "vero_conv",
    "vero_id",
    "wickedid",
    "twclid",
    "ref_src",
    "ref_url",
    "cmpid",
    "ncid",
    "sr_share",
    "at_medium",
    "at_campaign",
    "spm",
    "guccounter",
];

/// A URL with tracking parameters, fragment, default port and host case normalised away, so the
/// same page reached through different links compares equal.
pub fn canonical_url(raw: &str) -> Option<String> {
    let mut url = Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return Some(url.to_string());
    }
    url.set_fragment(None);
    // `Url` already lowercases the host and drops a default port when parsing.
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !(k.starts_with("utm_")
                || k.starts_with("pk_")
                || k.starts_with("mtm_")
                || TRACKING_PARAMS.contains(&k.as_str()))
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Some(url.to_string())
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

/// A hash of the normalised words of a text: equal for copies that differ only in markup,
/// whitespace or punctuation.
pub fn content_hash(title: &str, text: &str) -> String {
    let mut h = keyed_hasher(0);
    for w in words(title).iter().chain(words(text).iter()) {
        h.write(w.as_bytes());
        h.write_u8(0);
    }
    format!("{:016x}", h.finish())
}

/// Fixed keys: stored hashes must not change across Rust versions or restarts.
fn keyed_hasher(seed: u64) -> SipHasher13 {
    SipHasher13::new_with_keys(
        0x6665_6564_7761_7463 ^ seed,
        0x6873_746f_7279_2121u64.wrapping_add(seed),
    )
}

/// Number of MinHash functions; `BANDS * ROWS` of them.
const BANDS: usize = 16;
const ROWS: usize = 2;

/// Shingles of two consecutive words: robust to a reworded sentence, still specific enough that
/// two stories on the same subject share few.
fn shingles(text: &str) -> HashSet<u64> {
    let w = words(text);
    let mut set = HashSet::with_capacity(w.len());
    for pair in w.windows(2) {
        let mut h = keyed_hasher(1);
        h.write(pair[0].as_bytes());
        h.write_u8(b' ');
        h.write(pair[1].as_bytes());
        set.insert(h.finish());
    }
    if w.len() == 1 {
        let mut h = keyed_hasher(1);
        h.write(w[0].as_bytes());
        set.insert(h.finish());
    }
    set
}

/// The MinHash bands of a text: two texts with shingle Jaccard similarity `J` share at least one
/// band with probability `1 - (1 - J^ROWS)^BANDS` (0.97 at J = 0.5, 0.07 at J = 0.07).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub bands: Vec<i64>,
}

impl Fingerprint {
    pub fn of(text: &str) -> Option<Fingerprint> {
        let sh = shingles(text);
        if sh.len() < 8 {
            // Too little text to fingerprint: a headline alone says nothing about sameness.
            return None;
        }
        let mut mins = [u64::MAX; BANDS * ROWS];
        for s in &sh {
            for (i, m) in mins.iter_mut().enumerate() {
                // Cheap independent permutations: mix the shingle hash with a per-function key.
                let v = mix(*s ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                if v < *m {
                    *m = v;
                }
            }
        }
        let bands = mins
            .chunks(ROWS)
            .enumerate()
            .map(|(b, rows)| {
                let mut h = keyed_hasher(2 + b as u64);
                for r in rows {
                    h.write_u64(*r);
                }
                h.finish() as i64
            })
            .collect();
        Some(Fingerprint { bands })
    }
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The final word on two candidate texts: the same story when their shingles overlap enough,
/// measured both ways so a feed summary (a truncated copy) still joins its full article.
pub fn same_story(a: &str, b: &str) -> bool {
    let (sa, sb) = (shingles(a), shingles(b));
    if sa.len() < 8 || sb.len() < 8 {
        return false;
    }
    let common = sa.intersection(&sb).count() as f64;
    let jaccard = common / ((sa.len() + sb.len()) as f64 - common).max(1.0);
    let containment = common / sa.len().min(sb.len()) as f64;
    jaccard >= 0.3 || (containment >= 0.6 && sa.len().min(sb.len()) >= 30)
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

    #[test]
    fn tracking_parameters_and_fragments_do_not_make_a_new_url() {
        assert_eq!(
            canonical_url("HTTPS://Tome.Example:443/a/b?utm_source=rss&id=7&fbclid=xyz#comments")
                .as_deref(),
            Some("https://tome.example/a/b?id=7")
        );
        assert_eq!(
            canonical_url("https://x.example/p?utm_medium=feed").as_deref(),
            Some("https://x.example/p")
        );
        assert_eq!(canonical_url("not a url"), None);
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
    fn the_reworded_wire_copy_is_the_same_story_as_the_original() {
        let a = fixture("tome-iraq-troops.expected.txt");
        let b = fixture("wire-iraq-troops.expected.txt");
        assert!(same_story(&a, &b));
        let (fa, fb) = (Fingerprint::of(&a).unwrap(), Fingerprint::of(&b).unwrap());
        let shared = fa
            .bands
            .iter()
            .zip(&fb.bands)
            .filter(|(x, y)| x == y)
            .count();
        assert!(
            shared >= 1,
            "the pair must meet in at least one band to be found"
        );
    }

    #[test]
    fn a_different_story_on_the_same_subject_is_not_merged() {
        let a = fixture("tome-iraq-troops.expected.txt");
        let other = "Iraq's parliament met on Tuesday to debate the national budget for the coming year. \
            Lawmakers from the coalition argued over oil revenue sharing with the Kurdistan region, and \
            the prime minister urged a quick vote so that public salaries can be paid on time. The United \
            States embassy said it followed the budget talks closely. Protesters gathered outside the \
            building in Baghdad demanding better electricity supply during the summer months ahead.";
        assert!(!same_story(&a, other));
    }
}
