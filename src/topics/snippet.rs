//! The short excerpt an alert carries: the text around the first place a matched term occurs,
//! with every matched term in it marked `**like this**`, so the reader sees why it fired.

use regex::{Regex, RegexBuilder};

use super::Document;
use super::fold::{fold_into, for_each_word, stem};

/// How to find one matched term again in the text.
enum Marker {
    /// Folded words in a row; the last may be a prefix. Compared by stem, so a phrase that
    /// matched exactly is found too.
    Words {
        folded: Vec<String>,
        stems: Vec<String>,
        last_prefix: bool,
    },
    Regex(Regex),
}

/// Turns a reported term (`"troop*"`, `"title:iraq"`, `"/^breaking/i"`) back into something to
/// look for in the text; terms on fields other than the title and text have nothing to mark.
fn marker(term: &str) -> Option<Marker> {
    let mut term = term;
    if let Some((name, rest)) = term.split_once(':') {
        match name {
            "title" => term = rest,
            "author" | "feed" | "tag" | "url" => return None,
            _ => {}
        }
    }
    if let Some(body) = term.strip_prefix('/') {
        let close = body.rfind('/')?;
        let flags = &body[close + 1..];
        let pattern = body[..close].replace("\\/", "/");
        let regex = RegexBuilder::new(&pattern)
            .case_insensitive(flags.contains('i'))
            .multi_line(flags.contains('m'))
            .dot_matches_new_line(flags.contains('s'))
            .build()
            .ok()?;
        return Some(Marker::Regex(regex));
    }
    let (words, last_prefix) = match term.strip_suffix('*') {
        Some(t) => (t, true),
        None => (term, false),
    };
    let folded = super::fold::folded_words(words);
    if folded.is_empty() {
        return None;
    }
    let stems = folded.iter().map(|w| stem(w)).collect();
    Some(Marker::Words {
        folded,
        stems,
        last_prefix,
    })
}

/// A word of the text: where it is, folded and stemmed.
struct Word {
    /// Byte offset where the word starts.
    start: usize,
    /// Byte offset just past the word.
    end: usize,
    /// For prefix comparison.
    folded: String,
    /// For word comparison.
    stem: String,
}

fn spans(text: &str, markers: &[Marker]) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut buf = String::new();
    for_each_word(text, |start, end| {
        fold_into(&text[start..end], &mut buf);
        words.push(Word {
            start,
            end,
            folded: buf.clone(),
            stem: stem(&buf),
        });
    });
    let mut spans = Vec::new();
    for marker in markers {
        match marker {
            Marker::Regex(re) => {
                spans.extend(
                    re.find_iter(text)
                        .filter(|m| !m.is_empty())
                        .map(|m| (m.start(), m.end())),
                );
            }
            Marker::Words {
                folded,
                stems,
                last_prefix,
            } => {
                let n = stems.len();
                for at in 0..words.len().saturating_sub(n - 1) {
                    let hit = (0..n).all(|i| {
                        let w = &words[at + i];
                        if i == n - 1 && *last_prefix {
                            w.folded.starts_with(&folded[i])
                        } else {
                            w.stem == stems[i]
                        }
                    });
                    if hit {
                        spans.push((words[at].start, words[at + n - 1].end));
                    }
                }
            }
        }
    }
    spans.sort_unstable();
    // Overlapping marks would nest their asterisks; join them.
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Byte offset of the start of a whitespace-separated chunk at or before `first`, about
/// `chars_before` characters earlier, so the first match comes with some lead-in.
fn window_start(text: &str, first: usize, chars_before: usize) -> usize {
    let mut start = text[..first]
        .char_indices()
        .rev()
        .nth(chars_before)
        .map_or(0, |(i, _)| i);
    if start == 0 {
        return 0;
    }
    // Begin at the next whole word rather than mid-word.
    if let Some(space) = text[start..first].find(char::is_whitespace) {
        start += space;
    } else {
        return first;
    }
    start
        + text[start..]
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(0)
}

/// A short excerpt of the story's text around the first match, matched terms marked `**…**`.
///
/// `matched` is what [`super::Query::matches`] returned. The excerpt holds at most `max_chars`
/// characters of text (marks and ellipses not counted), its whitespace collapsed, cut at word
/// boundaries with "…" where text was left out. When the text is empty the title is used; when
/// no term occurs in the text the excerpt is its beginning.
pub fn snippet(doc: &Document, matched: &[String], max_chars: usize) -> String {
    let text = if doc.text.trim().is_empty() {
        doc.title
    } else {
        doc.text
    };
    let markers: Vec<Marker> = matched.iter().filter_map(|m| marker(m)).collect();
    let spans = spans(text, &markers);
    let start = spans
        .first()
        .map_or(0, |&(s, _)| window_start(text, s, max_chars / 4));
    let start = start
        + text[start..]
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(text.len() - start);

    let mut out = String::new();
    if text[..start].chars().any(|c| !c.is_whitespace()) {
        out.push('…');
    }
    let mut used = 0;
    let mut open = false;
    let mut next = spans.partition_point(|&(_, e)| e <= start);
    let mut cut = false;
    let mut rest = start;
    let chunks = text[start..].split_whitespace().map(|w| {
        let s = w.as_ptr() as usize - text.as_ptr() as usize;
        (s, s + w.len())
    });
    for (cs, mut ce) in chunks {
        let len = text[cs..ce].chars().count();
        let sep = usize::from(used > 0);
        if used + sep + len > max_chars {
            cut = true;
            if used > 0 {
                break;
            }
            // A single word longer than the whole budget: show what fits.
            ce = cs
                + text[cs..]
                    .char_indices()
                    .nth(max_chars)
                    .map_or(text.len() - cs, |(i, _)| i);
        }
        if sep == 1 {
            out.push(' ');
        }
        used += sep + text[cs..ce].chars().count();
        for (i, c) in text[cs..ce].char_indices() {
            let at = cs + i;
            while next < spans.len() && spans[next].1 <= at {
                if open {
                    out.push_str("**");
                    open = false;
                }
                next += 1;
            }
            if !open && next < spans.len() && spans[next].0 <= at {
                out.push_str("**");
                open = true;
            }
            out.push(c);
        }
        if open && spans[next].1 <= ce {
            out.push_str("**");
            open = false;
            next += 1;
        }
        rest = ce;
        if cut {
            break;
        }
    }
    if open {
        out.push_str("**");
    }
    if cut || text[rest..].chars().any(|c| !c.is_whitespace()) {
        out.push('…');
    }
    out
}
