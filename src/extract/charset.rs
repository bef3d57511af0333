//! Turns a page's bytes into text: byte-order mark first, then the HTTP charset, then the
//! page's own `<meta charset>` / `http-equiv`, then a guess from the bytes (chardetng).

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How far into a page a `<meta charset>` is looked for (the HTML standard's prescan uses 1024
/// bytes; real pages put long scripts first, so look further).
const PRESCAN: usize = 8192;

/// Decodes `bytes` to text. `http_charset` is the `charset` of the HTTP `Content-Type`, and
/// `tld` the page host's top-level domain, which sharpens the guess when nothing is declared.
/// A page already in valid UTF-8 is borrowed, not copied.
pub fn decode<'a>(bytes: &'a [u8], http_charset: Option<&str>, tld: Option<&str>) -> Cow<'a, str> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        return enc.decode_without_bom_handling(&bytes[bom_len..]).0;
    }
    let declared = http_charset
        .and_then(|label| Encoding::for_label(label.trim().trim_matches('"').as_bytes()))
        .or_else(|| meta_charset(&bytes[..bytes.len().min(PRESCAN)]))
        .map(html_override);
    let enc = match declared {
        Some(enc) => enc,
        None => match std::str::from_utf8(bytes) {
            Ok(text) => return Cow::Borrowed(text),
            Err(_) => {
                let mut detector =
                    chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
                detector.feed(bytes, true);
                detector.guess(tld.map(str::as_bytes), chardetng::Utf8Detection::Allow)
            }
        },
    };
    enc.decode_without_bom_handling(bytes).0
}

/// A page served as UTF-16 without a BOM cannot declare that in ASCII, so a UTF-16 label in
/// a meta tag is a lie the standard maps to UTF-8; `x-user-defined` means windows-1252.
fn html_override(enc: &'static Encoding) -> &'static Encoding {
    if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
        UTF_8
    } else if enc == encoding_rs::X_USER_DEFINED {
        WINDOWS_1252
    } else {
        enc
    }
}

/// Finds `charset=` inside a `<meta …>` tag of the page's head.
/// Names are matched ignoring ASCII case, in place; the label's case does not matter to
/// [`Encoding::for_label`].
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let mut from = 0;
    while let Some(pos) = find_ascii(&head[from..], b"<meta") {
        let start = from + pos + 5;
        let end = memchr::memchr(b'>', &head[start..]).map_or(head.len(), |e| start + e);
        let tag = &head[start..end];
        if let Some(c) = find_ascii(tag, b"charset") {
            let rest = &tag[c + 7..];
            let rest = trim_start(rest);
            if let Some(rest) = rest.strip_prefix(b"=") {
                let rest = trim_start(rest);
                let rest = rest
                    .strip_prefix(b"\"")
                    .or_else(|| rest.strip_prefix(b"'"))
                    .unwrap_or(rest);
                let len = rest
                    .iter()
                    .position(|b| {
                        matches!(
                            b,
                            b'"' | b'\'' | b';' | b' ' | b'/' | b'>' | b'\t' | b'\n' | b'\r'
                        )
                    })
                    .unwrap_or(rest.len());
                if let Some(enc) = Encoding::for_label(&rest[..len]) {
                    return Some(enc);
                }
            }
        }
        from = end;
    }
    None
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

/// Where `needle` (ASCII, lowercase) first occurs in `hay`, ignoring ASCII case: candidates
/// by their first byte, found with memchr.
fn find_ascii(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), hay).find(|&at| {
        hay.get(at..at + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_wins_over_a_wrong_http_charset() {
        let bytes = b"\xEF\xBB\xBF<p>caf\xC3\xA9</p>";
        assert_eq!(decode(bytes, Some("iso-8859-1"), None), "<p>café</p>");
    }

    #[test]
    fn the_http_charset_is_used_when_there_is_no_bom() {
        assert_eq!(
            decode(b"<p>caf\xE9</p>", Some("ISO-8859-1"), None),
            "<p>café</p>"
        );
    }

    #[test]
    fn a_meta_charset_is_read_from_the_page() {
        let page =
            b"<html><head><meta charset=\"windows-1251\"></head><p>\xCF\xF0\xE8\xE2\xE5\xF2</p>";
        assert!(decode(page, None, None).contains("Привет"));
    }

    #[test]
    fn an_http_equiv_content_type_is_read_from_the_page() {
        let page = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-15\"><p>\xA4</p>";
        assert!(decode(page, None, None).contains('€'));
    }

    #[test]
    fn a_meta_charset_is_read_whatever_its_case() {
        let page = b"<HTML><Head><META Http-Equiv=\"Content-Type\" CONTENT=\"text/html; CharSet=ISO-8859-15\"><p>\xA4</p>";
        assert!(decode(page, None, None).contains('€'));
        let page = b"<meta name=x><Meta CHARSET = 'Windows-1251'><p>\xCF</p>";
        assert!(decode(page, None, None).contains('П'));
    }

    #[test]
    fn a_utf8_page_is_borrowed() {
        let page = "<meta charset=utf-8><p>café</p>";
        assert!(matches!(
            decode(page.as_bytes(), None, None),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            decode(b"<p>caf\xC3\xA9</p>", None, None),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn undeclared_legacy_bytes_are_guessed() {
        let page = "<p>Der Bär läuft über die Straße und grüßt die Bürger.</p>";
        let (bytes, _, _) = WINDOWS_1252.encode(page);
        assert_eq!(decode(&bytes, None, Some("de")), page);
    }
}
