//! Text normalisation shared by queries, documents and snippets: splitting text into words,
//! folding case and diacritics, and English stemming.
//!
//! Both sides of a match go through these functions, or "Café" in a story would never meet
//! "cafe" in a query. Stems are cached per thread because the same few thousand English words
//! make up most of every story, and the stemmer is the costliest step of preparing a document.

use std::cell::RefCell;
use std::collections::HashMap;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// How many folded words the per-thread stem cache keeps before it starts over; bounds memory
/// when a feed sends pages of random tokens.
const STEM_CACHE_LIMIT: usize = 200_000;

/// Calls `f(start, end)` with the byte range of each word of `text`, in order.
///
/// A word is a run of letters, digits and combining marks; an apostrophe between two such
/// characters stays inside the word, so "Iraq's" is one word that stems to "iraq".
pub(crate) fn for_each_word(text: &str, mut f: impl FnMut(usize, usize)) {
    let mut start: Option<usize> = None;
    let mut end = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_word_char(c) {
            if start.is_none() {
                start = Some(i);
            }
            end = i + c.len_utf8();
        } else if start.is_some()
            && is_apostrophe(c)
            && chars.peek().is_some_and(|&(_, next)| is_word_char(next))
        {
            // Inside "Iraq's": keep going.
        } else if let Some(s) = start.take() {
            f(s, end);
        }
    }
    if let Some(s) = start {
        f(s, end);
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || (!c.is_ascii() && is_combining_mark(c))
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}')
}

/// Writes the case- and diacritic-folded form of `word` into `out` (cleared first).
pub(crate) fn fold_into(word: &str, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.push_str(word);
        out.make_ascii_lowercase();
        return;
    }
    for c in word.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        // Letters that carry their "accent" in the letter itself do not decompose; spell them
        // the way an English keyboard user would type them.
        match c {
            '\u{2019}' | '\u{02BC}' => out.push('\''),
            'ß' | 'ẞ' => out.push_str("ss"),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'ø' | 'Ø' => out.push('o'),
            'ł' | 'Ł' => out.push('l'),
            'đ' | 'Đ' => out.push('d'),
            'ı' => out.push('i'),
            'þ' | 'Þ' => out.push_str("th"),
            _ => out.extend(c.to_lowercase()),
        }
    }
}

/// The folded words of `text`, in order.
pub(crate) fn folded_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for_each_word(text, |s, e| {
        let mut w = String::new();
        fold_into(&text[s..e], &mut w);
        words.push(w);
    });
    words
}

struct StemCache {
    /// The Snowball English stemmer; built once per thread since it holds its tables.
    stemmer: Stemmer,
    /// Folded word to its stem, for words seen before on this thread.
    stems: HashMap<Box<str>, Box<str>, foldhash::fast::RandomState>,
}

thread_local! {
    static STEMS: RefCell<StemCache> = RefCell::new(StemCache {
        stemmer: Stemmer::create(Algorithm::English),
        stems: HashMap::default(),
    });
}

/// Calls `f` with the English stem of an already folded word ("troops" → "troop").
///
/// Words with digits are left alone: "1990s" is not a plural of anything.
pub(crate) fn with_stem<R>(folded: &str, f: impl FnOnce(&str) -> R) -> R {
    if folded.bytes().any(|b| b.is_ascii_digit()) {
        return f(folded);
    }
    STEMS.with(|cell| {
        let mut cache = cell.borrow_mut();
        if let Some(stem) = cache.stems.get(folded) {
            return f(stem);
        }
        let stem: Box<str> = cache.stemmer.stem(folded).into_owned().into_boxed_str();
        let result = f(&stem);
        if cache.stems.len() >= STEM_CACHE_LIMIT {
            cache.stems.clear();
        }
        cache.stems.insert(folded.into(), stem);
        result
    })
}

/// The English stem of an already folded word, as an owned string.
pub(crate) fn stem(folded: &str) -> String {
    with_stem(folded, str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for_each_word(text, |s, e| out.push(&text[s..e]));
        out
    }

    #[test]
    fn words_split_on_punctuation_but_keep_inner_apostrophes() {
        assert_eq!(
            words("Iraq's troops—coalition-led, 'quoted' (2003)."),
            ["Iraq's", "troops", "coalition", "led", "quoted", "2003"]
        );
    }

    #[test]
    fn folding_removes_case_and_accents() {
        assert_eq!(
            folded_words("Café NAÏVE Ærø Straße"),
            ["cafe", "naive", "aero", "strasse"]
        );
    }

    #[test]
    fn plurals_and_possessives_share_a_stem() {
        assert_eq!(stem("troops"), "troop");
        assert_eq!(stem("troop"), "troop");
        assert_eq!(stem("iraq's"), "iraq");
        assert_eq!(stem("1990s"), "1990s");
    }
}
