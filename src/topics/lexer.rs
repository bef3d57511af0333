//! Splits a query into tokens, each with the 1-based column it starts at, and reports the
//! errors that are visible at this level: an unterminated phrase or regex, a bad regex, an
//! unknown field, a misplaced `*` or `-`. The parser gets the tokens.

use regex::{Regex, RegexBuilder};

use super::QueryError;

/// The fields a term can be limited to with `name:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// No prefix: the title and the article text.
    Body,
    Title,
    Author,
    Feed,
    Tag,
    Url,
}

impl Field {
    fn from_name(name: &str) -> Option<Field> {
        Some(match name.to_ascii_lowercase().as_str() {
            "title" => Field::Title,
            "author" => Field::Author,
            "feed" => Field::Feed,
            "tag" => Field::Tag,
            "url" => Field::Url,
            _ => return None,
        })
    }

    /// The prefix the user writes, empty for the body.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Field::Body => "",
            Field::Title => "title:",
            Field::Author => "author:",
            Field::Feed => "feed:",
            Field::Tag => "tag:",
            Field::Url => "url:",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum TokenKind {
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Not,
    /// `-` written against a term.
    Minus,
    /// `title:` and friends, written against a term.
    Field(Field),
    /// A bare word as written.
    Word {
        /// The word without its trailing `*`.
        text: String,
        /// Whether it ended in `*`.
        prefix: bool,
    },
    /// The text between the quotes.
    Phrase(String),
    Regex(Regex),
    /// `NEAR` directly followed by `(`.
    Near,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// What was written.
    pub kind: TokenKind,
    /// 1-based column of its first character, for errors and for ordering matched terms.
    pub column: usize,
    /// The term as the user wrote it (quotes dropped), reported back when it matches.
    pub source: String,
}

/// Largest compiled size allowed for a `/regex/`: a topic runs against every story, so one
/// pathological pattern must not eat the matcher's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn err(column: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        column,
        message: message.into(),
    }
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | ',')
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    // Set right after `title:` so the next term is read as a term even if it spells AND.
    let mut after_field: Option<usize> = None;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let mut push = |kind, end: usize| {
            tokens.push(Token {
                kind,
                column,
                source: chars[column - 1..end].iter().collect(),
            });
        };
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let field_column = after_field.take();
        match c {
            '(' => {
                push(TokenKind::LParen, i + 1);
                i += 1;
            }
            ')' => {
                push(TokenKind::RParen, i + 1);
                i += 1;
            }
            ',' => {
                push(TokenKind::Comma, i + 1);
                i += 1;
            }
            '"' => {
                let Some(len) = chars[i + 1..].iter().position(|&c| c == '"') else {
                    return Err(err(
                        column,
                        "this \" opens a phrase that is never closed; add the closing \"",
                    ));
                };
                let inner: String = chars[i + 1..i + 1 + len].iter().collect();
                tokens.push(Token {
                    kind: TokenKind::Phrase(inner.clone()),
                    column,
                    source: inner,
                });
                i += len + 2;
            }
            '-' => {
                if let Some(fc) = field_column {
                    return Err(err(
                        fc,
                        "put the - before the field to exclude it, as in -title:sport",
                    ));
                }
                if chars
                    .get(i + 1)
                    .is_none_or(|&n| n.is_whitespace() || n == ')' || n == ',')
                {
                    return Err(err(
                        column,
                        "a lone - excludes nothing; write it against the term, as in -sport",
                    ));
                }
                push(TokenKind::Minus, i + 1);
                i += 1;
            }
            '/' => {
                let (regex, end) = lex_regex(&chars, i)?;
                push(TokenKind::Regex(regex), end);
                i = end;
            }
            _ => {
                // A field name ends at the word's first ':'. Only that far is read before the
                // field is known, so a chain of fields (title:title:…) costs its length once,
                // not once per field.
                let name_end = (i..chars.len())
                    .find(|&k| ends_word(chars[k]) || chars[k] == ':')
                    .unwrap_or(chars.len());
                if name_end > i && chars.get(name_end) == Some(&':') {
                    let name: String = chars[i..name_end].iter().collect();
                    if let Some(field) = Field::from_name(&name) {
                        let next = name_end + 1;
                        if chars
                            .get(next)
                            .is_none_or(|&n| n.is_whitespace() || n == ')' || n == ',')
                        {
                            return Err(err(
                                column,
                                format!(
                                    "{name}: must be followed, without a space, by a word, \
                                     a \"phrase\", a /regex/ or a (group)"
                                ),
                            ));
                        }
                        push(TokenKind::Field(field), next);
                        after_field = Some(column);
                        i = next;
                        continue;
                    }
                    let looks_like_field = name.chars().all(|c| c.is_ascii_alphabetic());
                    if looks_like_field && chars.get(name_end + 1) != Some(&'/') {
                        return Err(err(
                            column,
                            format!(
                                "unknown field {name}:; the fields are title:, author:, feed:, \
                                 tag: and url: (put the words in quotes to search for them)"
                            ),
                        ));
                    }
                }
                let mut end = name_end;
                while end < chars.len() && !ends_word(chars[end]) {
                    end += 1;
                }
                let word: String = chars[i..end].iter().collect();
                let keyword = match word.as_str() {
                    "NEAR" if chars.get(end) == Some(&'(') => Some(TokenKind::Near),
                    // Right after `title:` an operator's spelling is a word to look for.
                    _ if field_column.is_some() => None,
                    "AND" => Some(TokenKind::And),
                    "OR" => Some(TokenKind::Or),
                    "NOT" => Some(TokenKind::Not),
                    _ => None,
                };
                let kind = match keyword {
                    Some(k) => k,
                    None => {
                        let (text, prefix) = match word.strip_suffix('*') {
                            Some(stem) => (stem.to_string(), true),
                            None => (word.clone(), false),
                        };
                        if let Some(star) = text.chars().position(|c| c == '*') {
                            return Err(err(
                                column + star,
                                "* can only end a word, as in troop* (put it in quotes to search for it)",
                            ));
                        }
                        TokenKind::Word { text, prefix }
                    }
                };
                push(kind, end);
                i = end;
            }
        }
    }
    Ok(tokens)
}

/// Reads `/pattern/flags` starting at the opening slash; returns the compiled regex and the
/// index just past it.
fn lex_regex(chars: &[char], open: usize) -> Result<(Regex, usize), QueryError> {
    let column = open + 1;
    let mut pattern = String::new();
    let mut j = open + 1;
    loop {
        match chars.get(j) {
            None => {
                return Err(err(
                    column,
                    "this / opens a regex that is never closed; end it with / (and i to ignore case)",
                ));
            }
            Some('/') => break,
            // `\/` is how a slash is written inside the pattern; the regex engine wants it bare.
            Some('\\') if chars.get(j + 1) == Some(&'/') => {
                pattern.push('/');
                j += 2;
            }
            Some('\\') if j + 1 < chars.len() => {
                pattern.push('\\');
                pattern.push(chars[j + 1]);
                j += 2;
            }
            Some(&c) => {
                pattern.push(c);
                j += 1;
            }
        }
    }
    if pattern.is_empty() {
        return Err(err(
            column,
            "the regex // is empty; write a pattern between the slashes",
        ));
    }
    let mut builder = RegexBuilder::new(&pattern);
    builder.size_limit(REGEX_SIZE_LIMIT);
    j += 1;
    while let Some(&flag) = chars.get(j).filter(|c| c.is_ascii_alphabetic()) {
        match flag {
            'i' => builder.case_insensitive(true),
            'm' => builder.multi_line(true),
            's' => builder.dot_matches_new_line(true),
            _ => {
                return Err(err(
                    j + 1,
                    format!(
                        "unknown regex flag {flag}; use i (ignore case), m (multi-line) or s (dot matches newline)"
                    ),
                ));
            }
        };
        j += 1;
    }
    match builder.build() {
        Ok(regex) => Ok((regex, j)),
        Err(e) => {
            let text = e.to_string();
            // The engine's message is a block with the pattern and a caret; its "error:" line
            // is the part that says what is wrong.
            let reason = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("error: "))
                .unwrap_or(text.lines().last().unwrap_or("invalid pattern"))
                .to_string();
            Err(err(
                column,
                format!("this regex is not valid ({reason}); fix the pattern or quote the words"),
            ))
        }
    }
}
