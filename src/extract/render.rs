//! The article's body as sanitised HTML, for email: paragraphs, headings, one level of list,
//! quotes and preformatted text, each block's text escaped.
//!
//! Written directly in the form ammonia's default policy gives back for the same markup, so
//! that ammonia need not parse it again: every tag written is one ammonia keeps, none has an
//! attribute, and the text is what an HTML parser reads back from it and what html5ever's
//! serialiser then writes. That means: `&`, `<`, `>` and the no-break space escaped; a NUL
//! dropped (the parser ignores it in body text); a carriage return, alone or before a line
//! feed, read as a line feed; and a line feed right after `<pre>` dropped (the parser skips
//! it). The tests hold this against ammonia itself.

use super::content::Kind;

/// The article as HTML, in the form `ammonia::clean` gives for the same blocks.
pub fn html(paras: &[(Kind, String)]) -> String {
    let mut out = String::with_capacity(paras.iter().map(|(_, t)| t.len() + 12).sum::<usize>());
    let mut in_list = false;
    for (kind, text) in paras {
        if in_list && *kind != Kind::Item {
            out.push_str("</ul>\n");
            in_list = false;
        }
        let (open, close): (&str, &str) = match kind {
            Kind::Para => ("<p>", "</p>\n"),
            Kind::Heading(level) => match (*level).clamp(2, 6) {
                2 => ("<h2>", "</h2>\n"),
                3 => ("<h3>", "</h3>\n"),
                4 => ("<h4>", "</h4>\n"),
                5 => ("<h5>", "</h5>\n"),
                _ => ("<h6>", "</h6>\n"),
            },
            Kind::Item => {
                if !in_list {
                    out.push_str("<ul>\n");
                    in_list = true;
                }
                ("<li>", "</li>\n")
            }
            Kind::Quote => ("<blockquote>", "</blockquote>\n"),
            Kind::Pre => ("<pre>", "</pre>\n"),
        };
        out.push_str(open);
        push_text(&mut out, text, *kind == Kind::Pre);
        out.push_str(close);
    }
    if in_list {
        out.push_str("</ul>\n");
    }
    out
}

/// The bytes [`push_text`] may have to change: the escaped ones, NUL, CR, and the lead byte of
/// a no-break space.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[0] = true;
    t[b'\r' as usize] = true;
    t[0xc2] = true;
    t
};

/// Appends `text` as the parser reads it and the serialiser writes it back (see the module
/// documentation); `pre` drops a first line feed, as the parser does after `<pre>`. Runs of
/// plain text are copied whole.
fn push_text(out: &mut String, text: &str, pre: bool) {
    let bytes = text.as_bytes();
    // A carriage return before a line feed is read as nothing, so a first `\r\n` is the
    // line feed `<pre>` drops too.
    let mut start = if !pre {
        0
    } else if text.starts_with("\r\n") {
        2
    } else if text.starts_with(['\n', '\r']) {
        1
    } else {
        0
    };
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        if !SPECIAL[usize::from(b)] {
            i += 1;
            continue;
        }
        let (put, width) = match b {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            0 => ("", 1),
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => ("", 1),
            b'\r' => ("\n", 1),
            0xc2 if bytes.get(i + 1) == Some(&0xa0) => ("&nbsp;", 2),
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&text[start..i]);
        out.push_str(put);
        i += width;
        start = i;
    }
    out.push_str(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the stage wrote before: the blocks as markup, escaped, then cleaned by ammonia.
    fn by_ammonia(paras: &[(Kind, String)]) -> String {
        let mut out = String::new();
        let mut in_list = false;
        for (kind, text) in paras {
            if in_list && *kind != Kind::Item {
                out.push_str("</ul>\n");
                in_list = false;
            }
            let esc = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            match kind {
                Kind::Para => out.push_str(&format!("<p>{esc}</p>\n")),
                Kind::Heading(level) => {
                    let l = (*level).clamp(2, 6);
                    out.push_str(&format!("<h{l}>{esc}</h{l}>\n"));
                }
                Kind::Item => {
                    if !in_list {
                        out.push_str("<ul>\n");
                        in_list = true;
                    }
                    out.push_str(&format!("<li>{esc}</li>\n"));
                }
                Kind::Quote => out.push_str(&format!("<blockquote>{esc}</blockquote>\n")),
                Kind::Pre => out.push_str(&format!("<pre>{esc}</pre>\n")),
            }
        }
        if in_list {
            out.push_str("</ul>\n");
        }
        ammonia::clean(&out)
    }

    const KINDS: [Kind; 9] = [
        Kind::Para,
        Kind::Heading(1),
        Kind::Heading(2),
        Kind::Heading(4),
        Kind::Heading(7),
        Kind::Item,
        Kind::Quote,
        Kind::Pre,
        Kind::Item,
    ];

    /// Pieces of text with everything a parser or serialiser treats specially.
    const PIECES: [&str; 22] = [
        "a",
        " ",
        "\n",
        "\r",
        "\r\n",
        "\n\n",
        "\0",
        "&",
        "&amp;",
        "<",
        ">",
        "</p>",
        "<script>x</script>",
        "\u{a0}",
        "\u{c2}",
        "é",
        "\u{feff}",
        "\t",
        "\u{c}",
        "\"'",
        "&#0;",
        "\u{1f600}",
    ];

    #[test]
    fn every_kind_with_tricky_text_is_written_as_ammonia_cleans_it() {
        let mut texts = vec![String::new()];
        for x in PIECES {
            for y in PIECES {
                texts.push(format!("{x}{y}"));
                texts.push(format!("{x}b{y}"));
            }
        }
        for (i, text) in texts.iter().enumerate() {
            for (k, kind) in KINDS.iter().enumerate() {
                // Each text as every kind, after and before blocks of other kinds (lists
                // open and close around it).
                let paras = vec![
                    (KINDS[(k + i) % KINDS.len()], "before".to_string()),
                    (*kind, text.clone()),
                    (KINDS[(k + 2 * i + 1) % KINDS.len()], text.clone()),
                ];
                assert_eq!(html(&paras), by_ammonia(&paras), "{paras:?}");
            }
        }
    }

    #[test]
    fn an_article_is_written_as_ammonia_cleans_it() {
        let paras = vec![
            (Kind::Heading(2), "Night & day".to_string()),
            (Kind::Para, "Buses <every> hour\u{a0}now.".to_string()),
            (Kind::Item, "one".to_string()),
            (Kind::Item, "two".to_string()),
            (Kind::Pre, "\r\n  fn main() {}\n".to_string()),
            (Kind::Quote, "said".to_string()),
        ];
        assert_eq!(html(&paras), by_ammonia(&paras));
        assert_eq!(html(&[]), by_ammonia(&[]));
    }
}
