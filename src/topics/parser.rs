//! Turns the lexer's tokens into a query tree, with NOT binding tighter than AND and AND
//! tighter than OR, and reports the structural errors (unbalanced parentheses, an operator
//! with nothing on one side, a malformed NEAR) with their columns. The matcher gets the tree.

use regex::Regex;

use super::QueryError;
use super::fold::{fold_into, folded_words, stem};
use super::lexer::{Field, Token, TokenKind};
use super::matcher::Key;

/// NEAR's distance when the query gives none (the same default as SQLite FTS5).
const DEFAULT_NEAR_DISTANCE: u32 = 10;

/// How deep groups and NOTs may nest. Parsing, matching and dropping a query each recurse once
/// per level, so without a bound a query of a few KB of `(` or `NOT` overflows the stack and
/// aborts the process (a stack overflow cannot be caught); no real query comes near it.
pub(crate) const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Term(Term),
}

#[derive(Debug, Clone)]
pub(crate) struct Term {
    /// Where the term is looked for.
    pub field: Field,
    /// How the term is looked for.
    pub kind: TermKind,
    /// The term as the user wrote it (with its field prefix), reported when it matches.
    pub display: String,
    /// Column of the term in the query, so reported terms follow the query's order.
    pub column: usize,
}

/// A run of folded words that must follow each other; the last may be a prefix.
#[derive(Debug, Clone)]
pub(crate) struct Seq {
    /// The folded words, unstemmed: a phrase in quotes means these exact words.
    pub words: Vec<Key>,
    /// Whether the last word only has to start with its text (`troop*`).
    pub last_prefix: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum TermKind {
    /// A bare word, matched by its English stem.
    Word {
        /// The word's English stem, folded.
        stem: Key,
    },
    /// A "phrase", a `prefix*`, or a bare word that folds to several words (`covid-19`).
    Seq(Seq),
    /// `NEAR(a b, n)`: every item within `distance` words of the others.
    Near {
        /// The items as written, for the terms reported.
        items: Vec<NearItem>,
        /// Indices in `items` of the items that differ (`troops` and `troop` are one stem):
        /// the matcher looks for these, so an item written twice costs nothing more.
        distinct: Vec<usize>,
        distance: u32,
    },
    Regex(Regex),
    /// A whole tag, folded, its words joined by single spaces.
    TagIs(Box<str>),
    /// The start of a tag, folded as for `TagIs`.
    TagPrefix(Box<str>),
}

#[derive(Debug, Clone)]
pub(crate) struct NearItem {
    /// A bare word matches by stem; a phrase or prefix by its folded words.
    pub kind: NearKind,
    /// The item as written, reported when the NEAR matches.
    pub display: String,
}

#[derive(Debug, Clone)]
pub(crate) enum NearKind {
    Word(Key),
    Seq(Seq),
}

impl NearKind {
    /// Equal for items that match the same places.
    fn identity(&self) -> (bool, Vec<&str>, bool) {
        match self {
            NearKind::Word(stem) => (false, vec![&*stem.text], false),
            NearKind::Seq(seq) => (
                true,
                seq.words.iter().map(|w| &*w.text).collect(),
                seq.last_prefix,
            ),
        }
    }
}

fn err(column: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        column,
        message: message.into(),
    }
}

struct Parser {
    /// The query's tokens; commas are separators except inside NEAR.
    tokens: Vec<Token>,
    /// Index of the next token to read.
    pos: usize,
    /// Groups and NOTs open around the token being read.
    depth: usize,
}

pub(crate) fn parse(tokens: Vec<Token>) -> Result<Node, QueryError> {
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    if p.peek().is_none() {
        return Err(err(
            1,
            "the query is empty; write the words to watch for, as in iraq troops",
        ));
    }
    let node = p.or_expr(Field::Body)?;
    match p.peek() {
        None => Ok(node),
        Some(t) if matches!(t.kind, TokenKind::RParen) => Err(err(
            t.column,
            "this ) has no matching (; remove it or add the ( it closes",
        )),
        // Every other token would have continued the expression.
        Some(t) => Err(err(t.column, format!("unexpected {}", t.source))),
    }
}

impl Parser {
    /// The next token that is not a comma (outside NEAR a comma only separates terms).
    fn peek(&mut self) -> Option<&Token> {
        while self
            .tokens
            .get(self.pos)
            .is_some_and(|t| matches!(t.kind, TokenKind::Comma))
        {
            self.pos += 1;
        }
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        self.peek()?;
        self.pos += 1;
        Some(self.tokens[self.pos - 1].clone())
    }

    fn starts_term(&mut self) -> bool {
        self.peek().is_some_and(|t| {
            !matches!(
                t.kind,
                TokenKind::And | TokenKind::Or | TokenKind::RParen | TokenKind::Comma
            )
        })
    }

    /// Fails unless a term follows the operator `op`.
    fn need_term_after(&mut self, op: &Token) -> Result<(), QueryError> {
        if self.starts_term() {
            return Ok(());
        }
        let what = match self.peek() {
            None => "the query ends".to_string(),
            Some(t) => format!("{} follows", t.source),
        };
        Err(err(
            op.column,
            format!(
                "{} needs a term after it, but {what}; add a term or remove the {}",
                op.source, op.source
            ),
        ))
    }

    /// Runs `f` one level deeper, the level opened by `at` (a `(`, `NOT` or `-`); refuses a
    /// level past [`MAX_DEPTH`].
    fn nested(
        &mut self,
        at: &Token,
        f: impl FnOnce(&mut Self) -> Result<Node, QueryError>,
    ) -> Result<Node, QueryError> {
        if self.depth >= MAX_DEPTH {
            return Err(err(
                at.column,
                format!(
                    "the query nests deeper than {MAX_DEPTH} levels of parentheses and NOTs here; \
                     write it flatter (NOT NOT x is x, and ((a)) is a)"
                ),
            ));
        }
        self.depth += 1;
        let node = f(self);
        self.depth -= 1;
        node
    }

    fn or_expr(&mut self, field: Field) -> Result<Node, QueryError> {
        let mut alternatives = vec![self.and_expr(field)?];
        while let Some(op) = self
            .peek()
            .filter(|t| matches!(t.kind, TokenKind::Or))
            .cloned()
        {
            self.pos += 1;
            self.need_term_after(&op)?;
            alternatives.push(self.and_expr(field)?);
        }
        Ok(if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            Node::Or(alternatives)
        })
    }

    fn and_expr(&mut self, field: Field) -> Result<Node, QueryError> {
        let mut all = vec![self.unary(field)?];
        loop {
            if let Some(op) = self
                .peek()
                .filter(|t| matches!(t.kind, TokenKind::And))
                .cloned()
            {
                self.pos += 1;
                self.need_term_after(&op)?;
            } else if !self.starts_term() {
                break;
            }
            all.push(self.unary(field)?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Node::And(all)
        })
    }

    fn unary(&mut self, field: Field) -> Result<Node, QueryError> {
        let Some(token) = self.peek().cloned() else {
            return Err(err(1, "the query ends where a term was expected"));
        };
        match token.kind {
            TokenKind::Not | TokenKind::Minus => {
                self.pos += 1;
                self.need_term_after(&token)?;
                let inner = self.nested(&token, |p| p.unary(field))?;
                Ok(Node::Not(Box::new(inner)))
            }
            _ => self.primary(field),
        }
    }

    fn primary(&mut self, mut field: Field) -> Result<Node, QueryError> {
        let ended = || err(1, "the query ends where a term was expected");
        let mut token = self.next().ok_or_else(ended)?;
        // In a chain of fields (title:author:x) the one nearest the term holds; read in a loop,
        // so a long chain costs no stack.
        while let TokenKind::Field(inner) = token.kind {
            field = inner;
            token = self.next().ok_or_else(ended)?;
        }
        let display = |source: &str| format!("{}{source}", field.prefix());
        match token.kind {
            TokenKind::Word { text, prefix } => {
                let kind = word_term(&text, prefix, field, token.column)?;
                Ok(Node::Term(Term {
                    field,
                    kind,
                    display: display(&token.source),
                    column: token.column,
                }))
            }
            TokenKind::Phrase(text) => {
                let words = folded_words(&text);
                if words.is_empty() {
                    return Err(err(
                        token.column,
                        "this phrase has no words in it; write words between the quotes",
                    ));
                }
                let kind = seq_term(words, false, field);
                Ok(Node::Term(Term {
                    field,
                    kind,
                    display: display(&token.source),
                    column: token.column,
                }))
            }
            TokenKind::Regex(regex) => Ok(Node::Term(Term {
                field,
                kind: TermKind::Regex(regex),
                display: display(&token.source),
                column: token.column,
            })),
            TokenKind::LParen => {
                if self
                    .peek()
                    .is_some_and(|t| matches!(t.kind, TokenKind::RParen))
                {
                    return Err(err(
                        token.column,
                        "these parentheses are empty; put terms inside or remove them",
                    ));
                }
                let inner = self.nested(&token, |p| p.or_expr(field))?;
                match self.next() {
                    Some(t) if matches!(t.kind, TokenKind::RParen) => Ok(inner),
                    _ => Err(err(
                        token.column,
                        "this ( is never closed; add a ) or remove it",
                    )),
                }
            }
            TokenKind::Near => self.near(token, field),
            TokenKind::And | TokenKind::Or => Err(err(
                token.column,
                format!(
                    "{} needs a term before it; add a term or remove the {}",
                    token.source, token.source
                ),
            )),
            TokenKind::RParen => Err(err(
                token.column,
                "this ) has no matching (; remove it or add the ( it closes",
            )),
            // A field was read above, so never meets this match.
            TokenKind::Not | TokenKind::Minus | TokenKind::Comma | TokenKind::Field(_) => {
                Err(err(token.column, format!("unexpected {}", token.source)))
            }
        }
    }

    /// `NEAR(item item…[, distance])`, the `NEAR` token already read.
    fn near(&mut self, near: Token, field: Field) -> Result<Node, QueryError> {
        if field == Field::Tag {
            return Err(err(
                near.column,
                "NEAR cannot be used on tag:, which matches whole tags",
            ));
        }
        let unclosed = || {
            err(
                near.column,
                "this NEAR( is never closed; write it as NEAR(iraq troops, 5)",
            )
        };
        // The lexer only makes a NEAR token when "(" follows.
        self.pos += 1;
        let mut items = Vec::new();
        let mut distance = None;
        loop {
            let Some(token) = self.tokens.get(self.pos).cloned() else {
                return Err(unclosed());
            };
            self.pos += 1;
            match token.kind {
                TokenKind::RParen => break,
                TokenKind::Comma if distance.is_none() => {
                    let number = self.tokens.get(self.pos).cloned();
                    let Some(Token {
                        kind:
                            TokenKind::Word {
                                text,
                                prefix: false,
                            },
                        column,
                        ..
                    }) = number
                    else {
                        return Err(err(
                            token.column,
                            "write the distance after the comma, as in NEAR(iraq troops, 5)",
                        ));
                    };
                    let Ok(n) = text.parse::<u32>() else {
                        return Err(err(
                            column,
                            "the distance in NEAR(…, N) must be a whole number of words",
                        ));
                    };
                    distance = Some(n);
                    self.pos += 1;
                }
                TokenKind::Word { ref text, prefix } if distance.is_none() => {
                    let kind = match word_term(text, prefix, Field::Body, token.column)? {
                        TermKind::Word { stem } => NearKind::Word(stem),
                        TermKind::Seq(seq) => NearKind::Seq(seq),
                        _ => {
                            return Err(err(
                                token.column,
                                "NEAR( ) takes words and \"phrases\" only",
                            ));
                        }
                    };
                    items.push(NearItem {
                        kind,
                        display: format!("{}{}", field.prefix(), token.source),
                    });
                }
                TokenKind::Phrase(ref text) if distance.is_none() => {
                    let words = folded_words(text);
                    if words.is_empty() {
                        return Err(err(
                            token.column,
                            "this phrase has no words in it; write words between the quotes",
                        ));
                    }
                    let words = words.iter().map(|w| Key::new(w)).collect();
                    items.push(NearItem {
                        kind: NearKind::Seq(Seq {
                            words,
                            last_prefix: false,
                        }),
                        display: format!("{}{}", field.prefix(), token.source),
                    });
                }
                _ if distance.is_some() => {
                    return Err(err(
                        token.column,
                        "NEAR( ) must end right after its distance, as in NEAR(iraq troops, 5)",
                    ));
                }
                _ => {
                    return Err(err(
                        token.column,
                        format!(
                            "NEAR( ) takes words and \"phrases\" only, not {}",
                            token.source
                        ),
                    ));
                }
            }
        }
        if items.len() < 2 {
            return Err(err(
                near.column,
                "NEAR needs at least two words or phrases, as in NEAR(iraq troops, 5)",
            ));
        }
        let display = items
            .iter()
            .map(|i| i.display.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let mut seen = std::collections::HashSet::new();
        let distinct = (0..items.len())
            .filter(|&i| seen.insert(items[i].kind.identity()))
            .collect();
        Ok(Node::Term(Term {
            field,
            kind: TermKind::Near {
                distinct,
                items,
                distance: distance.unwrap_or(DEFAULT_NEAR_DISTANCE),
            },
            display,
            column: near.column,
        }))
    }
}

/// The term for a bare word (its `*` already removed when `prefix`).
fn word_term(
    text: &str,
    prefix: bool,
    field: Field,
    column: usize,
) -> Result<TermKind, QueryError> {
    let words = folded_words(text);
    if words.is_empty() {
        return Err(err(
            column,
            format!(
                "{text} has no letters or digits to search for; remove it, or use a /regex/ for symbols"
            ),
        ));
    }
    if words.len() == 1 && !prefix && field != Field::Tag {
        return Ok(TermKind::Word {
            stem: Key::new(&stem(&words[0])),
        });
    }
    Ok(seq_term(words, prefix, field))
}

fn seq_term(words: Vec<String>, last_prefix: bool, field: Field) -> TermKind {
    if field == Field::Tag {
        let joined = words.join(" ").into_boxed_str();
        return if last_prefix {
            TermKind::TagPrefix(joined)
        } else {
            TermKind::TagIs(joined)
        };
    }
    TermKind::Seq(Seq {
        words: words.iter().map(|w| Key::new(w)).collect(),
        last_prefix,
    })
}

/// A tag as `TagIs` compares it: folded words joined by single spaces.
pub(crate) fn fold_tag(tag: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    super::fold::for_each_word(tag, |s, e| {
        fold_into(&tag[s..e], &mut word);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    });
    out
}
