//! Turns a page's bytes into text: byte-order mark first, then the HTTP charset, then the
//! page's own `<meta charset>` / `http-equiv`, then a guess from the bytes (chardetng).

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How far into a page a `<meta charset>` is looked for (the HTML standard's prescan uses 1024
/// bytes; real pages put long scripts first, so look further).
const PRESCAN: usize = 8192;

/// Decodes `bytes` to text. `http_charset` is the `charset` of the HTTP `Content-Type`, and
/// `tld` the page host's top-level domain, which sharpens the guess when nothing is declared.
pub fn decode(bytes: &[u8], http_charset: Option<&str>, tld: Option<&str>) -> String {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        return enc
            .decode_without_bom_handling(&bytes[bom_len..])
            .0
            .into_owned();
    }
    let declared = http_charset
        .and_then(|label| Encoding::for_label(label.trim().trim_matches('"').as_bytes()))
        .or_else(|| meta_charset(&bytes[..bytes.len().min(PRESCAN)]))
        .map(html_override);
    let enc = match declared {
        Some(enc) => enc,
        None if std::str::from_utf8(bytes).is_ok() => UTF_8,
        None => {
            let mut detector =
                chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
            detector.feed(bytes, true);
            detector.guess(tld.map(str::as_bytes), chardetng::Utf8Detection::Allow)
        }
    };
    enc.decode_without_bom_handling(bytes).0.into_owned()
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
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"<meta") {
        let start = from + pos + 5;
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(c) = find(tag, b"charset") {
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

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
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
    fn undeclared_legacy_bytes_are_guessed() {
        let page = "<p>Der Bär läuft über die Straße und grüßt die Bürger.</p>";
        let (bytes, _, _) = WINDOWS_1252.encode(page);
        assert_eq!(decode(&bytes, None, Some("de")), page);
    }
}
