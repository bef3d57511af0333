//! Character encodings: turns the raw bytes of a feed into UTF-8 text whose XML declaration
//! (if any) says UTF-8, so the XML parser downstream never decodes anything itself.
//!
//! Order of trust: a byte-order mark, then the HTTP `charset`, then the XML declaration, then
//! the bytes themselves (valid UTF-8, else chardetng's guess). A declaration the bytes cannot
//! honour (UTF-8 declared on Latin-1 bytes, UTF-16 declared on 8-bit bytes) is overridden and
//! reported as mislabelled; so is a legacy encoding declared on bytes that are UTF-8, and
//! UTF-8 with stray Windows-1252 bytes is read sequence by sequence.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// The document as UTF-8, with what was learnt while decoding it.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// UTF-8 text without a BOM; its XML declaration, if any, names UTF-8.
    pub text: Cow<'a, str>,
    /// The encoding the bytes were read as, for diagnostics and tests.
    pub encoding: &'static Encoding,
    /// The declared charset was wrong and was overridden (feedparser treats this as "bozo").
    pub mislabelled: bool,
}

/// Decodes `bytes` to UTF-8. `http_charset` is the `charset` parameter of the HTTP
/// `Content-Type`, if the feed came over HTTP with one.
pub fn decode<'a>(bytes: &'a [u8], http_charset: Option<&str>) -> Decoded<'a> {
    // A BOM is the one signal that cannot be mislabelled: it is in the bytes themselves.
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let body = &bytes[bom_len..];
        let (text, had_errors) = enc.decode_without_bom_handling(body);
        return finish(text, enc, had_errors);
    }
    // UTF-16 without a BOM still starts with `<` as a 16-bit unit.
    if bytes.len() >= 4 {
        if bytes[0] == b'<' && bytes[1] == 0 && bytes[2] != 0 && bytes[3] == 0 {
            let (text, had_errors) = UTF_16LE.decode_without_bom_handling(bytes);
            return finish(text, UTF_16LE, had_errors);
        }
        if bytes[0] == 0 && bytes[1] == b'<' && bytes[2] == 0 && bytes[3] != 0 {
            let (text, had_errors) = UTF_16BE.decode_without_bom_handling(bytes);
            return finish(text, UTF_16BE, had_errors);
        }
    }

    let declared = http_charset
        .and_then(|c| Encoding::for_label(c.trim().trim_matches('"').as_bytes()))
        .or_else(|| xml_declared_encoding(bytes));
    // Declaring UTF-16 on bytes that have no NULs is a common copy-paste mistake; `replacement`
    // (ISO-2022-KR and friends) would turn the whole document into one U+FFFD.
    let declared = declared.filter(|enc| {
        let utf16 = *enc == UTF_16LE || *enc == UTF_16BE;
        (!utf16 || bytes.iter().take(512).any(|&b| b == 0)) && *enc != encoding_rs::REPLACEMENT
    });

    match declared {
        // A legacy encoding declared on bytes that are UTF-8 (non-ASCII ones included): the
        // bytes win. Real Latin-1 text is never valid UTF-8 by accident; an editor or a
        // server default (`charset=ISO-8859-1`) that said the wrong thing is common.
        Some(enc) if enc != UTF_8 => {
            // Validated once: bytes that are UTF-8 are read as such whatever the outcome.
            let utf8 = (!bytes.is_ascii())
                .then(|| std::str::from_utf8(bytes).ok())
                .flatten();
            if let Some(s) = utf8 {
                return with_utf8_declaration(Cow::Borrowed(s), UTF_8, true);
            }
            let (text, had_errors) = enc.decode_without_bom_handling(bytes);
            if had_errors {
                // A multi-byte legacy encoding rejected the bytes: fall back to what they are.
                if let Ok(s) = std::str::from_utf8(bytes) {
                    return with_utf8_declaration(Cow::Borrowed(s), UTF_8, true);
                }
            }
            with_utf8_declaration(text, enc, had_errors)
        }
        _ => match std::str::from_utf8(bytes) {
            Ok(s) => with_utf8_declaration(Cow::Borrowed(s), UTF_8, false),
            Err(_) if mostly_utf8(bytes) => {
                // UTF-8 with a few Windows-1252 bytes pasted in (a title copied from a word
                // processor): each sequence read as what it is.
                with_utf8_declaration(Cow::Owned(utf8_with_1252(bytes)), UTF_8, true)
            }
            Err(_) => {
                let enc = guess(bytes);
                let (text, _) = enc.decode_without_bom_handling(bytes);
                // Undeclared non-UTF-8 is what the XML spec calls an error, so it counts as a
                // repair; so does UTF-8 declared on bytes that are not.
                with_utf8_declaration(text, enc, true)
            }
        },
    }
}

/// Whether bytes that are not valid UTF-8 are UTF-8 with stray legacy bytes rather than a
/// legacy document: some valid multi-byte sequences, and the invalid bytes stand alone among
/// ASCII as Windows-1252 punctuation and accents do ("don\x92t", "caf\xe9 "). The letters of
/// Windows-1251 or Shift_JIS text come in runs of high bytes, so few of their invalid bytes are
/// followed by ASCII.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut valid, mut invalid, mut alone) = (0usize, 0usize, 0usize);
    let mut chunks = bytes.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        valid += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        if !chunk.invalid().is_empty() {
            invalid += 1;
            let next = chunks.peek().and_then(|c| c.valid().bytes().next());
            if next.is_none_or(|b| b.is_ascii()) {
                alone += 1;
            }
        }
    }
    valid > 0 && alone * 10 >= invalid * 9
}

/// Decodes UTF-8, reading each byte that is not part of a valid sequence as Windows-1252.
fn utf8_with_1252(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(chunk.invalid());
        out.push_str(&text);
    }
    out
}

fn finish<'a>(text: Cow<'a, str>, enc: &'static Encoding, had_errors: bool) -> Decoded<'a> {
    with_utf8_declaration(text, enc, had_errors)
}

/// chardetng's guess, limited to the first 64 KiB so a 10 MiB feed costs no more than a small one.
fn guess(bytes: &[u8]) -> &'static Encoding {
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let head = &bytes[..bytes.len().min(64 * 1024)];
    det.feed(head, head.len() == bytes.len());
    det.guess(None, chardetng::Utf8Detection::Allow)
}

/// The `encoding` pseudo-attribute of an XML declaration at the start of an 8-bit document.
fn xml_declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(512)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = &head[..end];
    let at = find(decl, b"encoding")?;
    let rest = &decl[at + 8..];
    let q = rest.iter().position(|&b| b == b'"' || b == b'\'')?;
    let quote = rest[q];
    let value = &rest[q + 1..];
    let close = value.iter().position(|&b| b == quote)?;
    Encoding::for_label(&value[..close])
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Strips a leading BOM and rewrites the XML declaration's encoding to UTF-8, since the text
/// handed on is UTF-8 whatever the bytes were.
fn with_utf8_declaration<'a>(
    text: Cow<'a, str>,
    enc: &'static Encoding,
    mislabelled: bool,
) -> Decoded<'a> {
    let text = match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.strip_prefix('\u{feff}').unwrap_or(s)),
        Cow::Owned(s) => match s.strip_prefix('\u{feff}') {
            Some(rest) => Cow::Owned(rest.to_owned()),
            None => Cow::Owned(s),
        },
    };
    let text = rewrite_declaration(text);
    Decoded {
        text,
        encoding: enc,
        mislabelled,
    }
}

fn rewrite_declaration(text: Cow<'_, str>) -> Cow<'_, str> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with("<?xml") {
        return text;
    }
    let offset = text.len() - trimmed.len();
    let Some(end) = trimmed.find("?>") else {
        return text;
    };
    let decl = &trimmed[..end];
    let Some(at) = decl.find("encoding") else {
        return text;
    };
    let rest = &decl[at + 8..];
    let Some(q) = rest.find(['"', '\'']) else {
        return text;
    };
    let quote = rest.as_bytes()[q] as char;
    let value_start = at + 8 + q + 1;
    let Some(len) = decl[value_start..].find(quote) else {
        return text;
    };
    if decl[value_start..value_start + len].eq_ignore_ascii_case("utf-8") {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..offset + value_start]);
    out.push_str("UTF-8");
    out.push_str(&text[offset + value_start + len..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = "<?xml version=\"1.0\" encoding=\"ENC\"?><rss version=\"2.0\"><channel><title>Caf\u{e9} \u{20ac}</title></channel></rss>";

    fn feed(enc_label: &str) -> String {
        FEED.replace("ENC", enc_label)
    }

    #[test]
    fn utf8_is_passed_through_without_copying() {
        let src = feed("utf-8");
        let d = decode(src.as_bytes(), None);
        assert!(matches!(d.text, Cow::Borrowed(_)));
        assert!(d.text.contains("Café €"));
        assert!(!d.mislabelled);
    }

    #[test]
    fn a_utf8_bom_is_stripped() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(feed("utf-8").as_bytes());
        let d = decode(&bytes, None);
        assert!(d.text.starts_with("<?xml"));
    }

    fn utf16(s: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big_endian {
                &[0xFE, 0xFF]
            } else {
                &[0xFF, 0xFE]
            });
        }
        for u in s.encode_utf16() {
            let b = if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            };
            out.extend_from_slice(&b);
        }
        out
    }

    #[test]
    fn utf16_big_endian_with_bom_is_transcoded_and_redeclared() {
        let bytes = utf16(&feed("UTF-16"), true, true);
        let d = decode(&bytes, None);
        assert_eq!(d.encoding, UTF_16BE);
        assert!(d.text.contains("encoding=\"UTF-8\""));
        assert!(d.text.contains("Café €"));
    }

    #[test]
    fn utf16_little_endian_with_bom_is_transcoded() {
        let bytes = utf16(&feed("UTF-16"), false, true);
        let d = decode(&bytes, None);
        assert_eq!(d.encoding, UTF_16LE);
        assert!(d.text.contains("Café €"));
    }

    #[test]
    fn utf16_without_bom_is_recognised_from_the_first_bracket() {
        let bytes = utf16(&feed("UTF-16"), false, false);
        let d = decode(&bytes, None);
        assert!(d.text.contains("Café €"));
        let bytes = utf16(&feed("UTF-16"), true, false);
        let d = decode(&bytes, None);
        assert!(d.text.contains("Café €"));
    }

    #[test]
    fn the_xml_declaration_names_the_encoding() {
        let src = feed("windows-1252");
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&src);
        let d = decode(&bytes, None);
        assert!(d.text.contains("Café €"));
        assert!(d.text.contains("encoding=\"UTF-8\""));
        assert!(!d.mislabelled);
    }

    #[test]
    fn the_http_charset_wins_over_the_xml_declaration() {
        let src = feed("utf-8");
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&src);
        let d = decode(&bytes, Some("ISO-8859-1"));
        assert!(d.text.contains("Café €"));
    }

    #[test]
    fn undeclared_latin1_is_detected() {
        let src = "<rss version=\"2.0\"><channel><title>Caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e \u{e0} la fran\u{e7}aise</title></channel></rss>";
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(src);
        let d = decode(&bytes, None);
        assert!(d.text.contains("Café crème brûlée"));
        assert!(d.mislabelled);
    }

    #[test]
    fn latin1_bytes_labelled_utf8_are_read_as_latin1() {
        let src =
            feed("utf-8").replace("Caf\u{e9} \u{20ac}", "Caf\u{e9} cr\u{e8}me fran\u{e7}aise");
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&src);
        let d = decode(&bytes, None);
        assert!(d.text.contains("Café crème française"));
        assert!(d.mislabelled);
    }

    #[test]
    fn utf8_bytes_declared_latin1_are_read_as_utf8() {
        let src = feed("ISO-8859-1").replace("Caf\u{e9} \u{20ac}", "don\u{2019}t caf\u{e9}");
        let d = decode(src.as_bytes(), None);
        assert!(d.text.contains("don\u{2019}t café"), "{}", d.text);
        assert!(d.mislabelled);
        // And a server's charset=ISO-8859-1 default over a UTF-8 body.
        let d = decode(src.as_bytes(), Some("iso-8859-1"));
        assert!(d.text.contains("don\u{2019}t café"));
    }

    #[test]
    fn windows_1252_bytes_inside_utf8_are_read_each_as_what_it_is() {
        let mut bytes = feed("UTF-8")
            .replace("Caf\u{e9} \u{20ac}", "M\u{fc}nchen \u{2014} ")
            .into_bytes();
        let at = bytes.len() - "</title></channel></rss>".len();
        // "don’t" as Windows-1252 wrote it.
        bytes.splice(at..at, *b"don\x92t");
        let d = decode(&bytes, None);
        assert!(d.text.contains("München — don\u{2019}t"), "{}", d.text);
        assert!(d.mislabelled);
    }

    #[test]
    fn utf16_declared_on_eight_bit_bytes_is_ignored() {
        let src = feed("UTF-16");
        let d = decode(src.as_bytes(), None);
        assert!(d.text.contains("Café €"));
        assert!(d.text.contains("encoding=\"UTF-8\""));
    }
}
