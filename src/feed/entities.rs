//! Character and entity references as feeds write them, made into what an XML parser reads.
//!
//! Feeds are XML, which knows five named entities; their writers use HTML's 2,231 (`&alpha;`,
//! `&hellip;`), numeric references in either case (`&#X41;`), Windows-1252 numbers for curly
//! quotes (`&#146;`), bare ampersands (`Q & A`), and now and then entities declared in the
//! document's own DOCTYPE. [`normalise`] rewrites all of them, in one pass linear in the
//! document, into references any XML parser reads the same way: HTML names become numeric
//! references (from the HTML5 table html5ever keeps, not a list of our own), declared entities
//! become their text (expanded once, never recursively, and within a fixed budget of bytes, so
//! "billion laughs" stays a few bytes), bare `&` becomes `&amp;`. CDATA sections and comments,
//! where `&` is literal, are left alone.

use std::borrow::Cow;
use std::collections::HashMap;

/// The characters of the HTML5 named reference `name` (written without `&`; with its `;`
/// where the name needs one, as `alpha;`, or without for the legacy ones like `nbsp`).
pub fn html5(name: &str) -> Option<(char, Option<char>)> {
    let &(a, b) = html5ever::data::NAMED_ENTITIES.get(name)?;
    // The table also lists every prefix of a name, mapped to nothing.
    let first = char::from_u32(a).filter(|_| a != 0)?;
    Some((first, char::from_u32(b).filter(|_| b != 0)))
}

/// `&#150;` and friends mean Windows-1252 characters, as browsers read them: the C1 control
/// range is never text.
pub fn windows_1252(c: u32) -> u32 {
    const MAP: [u32; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    if (0x80..0xA0).contains(&c) {
        MAP[(c - 0x80) as usize]
    } else {
        c
    }
}

/// Whether XML 1.0 allows the character at all.
fn xml_char(c: u32) -> bool {
    matches!(c, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

/// Bytes that entities declared in a DOCTYPE may add to a document, all uses together.
pub const MAX_EXPANSION: usize = 1024 * 1024;
/// Bytes of one declared entity's text that are kept.
const MAX_ENTITY_VALUE: usize = 4096;

/// What [`normalise`] changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    /// References XML does not know (HTML names, `&#X..;`, bare `&`): the document was not
    /// well-formed.
    pub ill_formed: usize,
    /// Uses of entities the DOCTYPE declares, replaced by their text.
    pub declared: usize,
    /// Declared entities left as text: the expansion budget was spent, or the value refers to
    /// another declared entity (never expanded: no recursion).
    pub not_expanded: usize,
    /// Numeric references to characters XML forbids (`&#0;`, C0 controls), dropped.
    pub dropped: usize,
}

/// Rewrites the references of an XML document as described in the module doc; `None` when
/// there was nothing to rewrite.
pub fn normalise(text: &str) -> Option<(String, Changes)> {
    // memchr's searches (built optimised in debug builds too, where the hostile-input bounds
    // are checked).
    let bytes = text.as_bytes();
    let next_amp =
        |from: usize| memchr::memchr(b'&', &bytes[from..]).map_or(bytes.len(), |i| from + i);
    // '!' is rare in feeds, '<' is every tag: the search looks for the former.
    let next_open =
        |from: usize| super::repair::find_from(text, "<!", 1, from).unwrap_or(bytes.len());
    let mut first = text.find('&')?;
    let declared = doctype_entities(text);
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut changes = Changes::default();
    let mut budget = MAX_EXPANSION;
    // Where the next CDATA section or comment starts: '&' inside one is literal. Looked for
    // only once a reference that would be rewritten is met: the references XML reads as
    // written (`&lt;`, `&amp;`, `&#39;`) are kept wherever they are, so a feed with no other
    // kind is never searched for sections at all.
    let mut next_section: Option<usize> = None;
    let mut pos = first;
    loop {
        if let Some(used) = text.get(pos..).and_then(kept_as_written) {
            pos += used;
            if first < pos {
                first = next_amp(pos.min(bytes.len()));
            }
            if first >= bytes.len() {
                break;
            }
            pos = first;
            continue;
        }
        let next_section = next_section.get_or_insert_with(|| next_open(0));
        // Step over sections that start before this '&'.
        while *next_section < pos {
            let rest = &text[*next_section..];
            let end = if rest.starts_with("<![CDATA[") {
                rest.find("]]>").map(|e| *next_section + e + 3)
            } else if rest.starts_with("<!--") {
                rest.find("-->").map(|e| *next_section + e + 3)
            } else if rest.starts_with("<!DOCTYPE") {
                doctype_end(rest).map(|e| *next_section + e)
            } else {
                Some(*next_section + 2)
            }
            .unwrap_or(bytes.len());
            let from = end.max(*next_section + 2).min(bytes.len());
            *next_section = next_open(from);
            if end > pos {
                pos = end;
            }
        }
        if pos >= bytes.len() {
            break;
        }
        if bytes[pos] == b'&' {
            let (used, replacement) = reference(&text[pos..], &declared, &mut budget, &mut changes);
            if let Some(r) = replacement {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len() + 64));
                o.push_str(&text[copied..pos]);
                o.push_str(&r);
                copied = pos + used;
            }
            pos += used.max(1);
        }
        // The next '&' at or after pos.
        if first < pos {
            first = next_amp(pos.min(bytes.len()));
        }
        if first >= bytes.len() {
            break;
        }
        pos = first;
    }
    let mut o = out?;
    o.push_str(&text[copied..]);
    Some((o, changes))
}

/// How many bytes the reference at the start of `s` (which starts with '&') spans when
/// [`reference`] keeps it as written: one of XML's five names, or a character reference to a
/// character XML allows, written `&#N;` or `&#xN;` and not in Windows-1252's range. Changes
/// no count or budget, so it may be asked of a reference inside a CDATA section.
fn kept_as_written(s: &str) -> Option<usize> {
    let body = s.as_bytes().get(1..)?;
    let len = body
        .iter()
        .take(64)
        .position(|&b| b == b';')
        .filter(|&l| l > 0)?;
    let name = &body[..len];
    if matches!(name, b"amp" | b"lt" | b"gt" | b"quot" | b"apos") {
        return Some(len + 2);
    }
    let (digits, radix) = match name {
        [b'#', b'x', hex @ ..] => (hex, 16),
        [b'#', dec @ ..] => (dec, 10),
        _ => return None,
    };
    if digits.is_empty()
        || !digits
            .iter()
            .all(|b| b.is_ascii_digit() || radix == 16 && b.is_ascii_hexdigit())
    {
        return None;
    }
    let code = u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()?;
    (windows_1252(code) == code && xml_char(code)).then_some(len + 2)
}

/// Reads the reference at the start of `s` (which starts with '&'): how many bytes it spans,
/// and what to write instead (`None`: keep it as written).
fn reference(
    s: &str,
    declared: &HashMap<String, Option<String>>,
    budget: &mut usize,
    changes: &mut Changes,
) -> (usize, Option<Cow<'static, str>>) {
    let body = &s.as_bytes()[1..];
    let len = body
        .iter()
        .take(64)
        .position(|&b| {
            !(b.is_ascii_alphanumeric() || b == b'#' || b == b'_' || b == b'.' || b == b'-')
        })
        .unwrap_or(body.len().min(64));
    let name = &s[1..1 + len];
    let terminated = body.get(len) == Some(&b';');
    let bare = || {
        // Not a reference: the '&' is text.
        (1, Some(Cow::Borrowed("&amp;")))
    };
    if !terminated {
        // HTML's legacy names may go without ';' ("&nbsp ", "&copy 2024"), but not in a
        // query string ("?a=1&copy=2").
        if !name.is_empty()
            && body.get(len) != Some(&b'=')
            && !name.starts_with('#')
            && let Some((a, b)) = html5(name)
        {
            changes.ill_formed += 1;
            return (1 + len, Some(Cow::Owned(numeric(a, b))));
        }
        changes.ill_formed += 1;
        return bare();
    }
    let used = len + 2;
    if let Some(num) = name.strip_prefix('#') {
        let (digits, radix, upper) = match num.strip_prefix('x') {
            Some(h) => (h, 16, false),
            None => match num.strip_prefix('X') {
                Some(h) => (h, 16, true),
                None => (num, 10, false),
            },
        };
        let Some(code) = u32::from_str_radix(digits, radix)
            .ok()
            .filter(|_| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit()))
        else {
            changes.ill_formed += 1;
            return bare();
        };
        let fixed = windows_1252(code);
        if !xml_char(fixed) {
            changes.dropped += 1;
            return (used, Some(Cow::Borrowed("")));
        }
        if fixed != code || upper {
            changes.ill_formed += usize::from(upper);
            return (used, Some(Cow::Owned(format!("&#{fixed};"))));
        }
        return (used, None);
    }
    if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
        return (used, None);
    }
    if let Some(value) = declared.get(name) {
        match value {
            Some(v) if v.len() <= *budget => {
                *budget -= v.len();
                changes.declared += 1;
                return (used, Some(Cow::Owned(v.clone())));
            }
            _ => {
                changes.not_expanded += 1;
                return bare();
            }
        }
    }
    if let Some((a, b)) = html5(&s[1..used]) {
        changes.ill_formed += 1;
        return (used, Some(Cow::Owned(numeric(a, b))));
    }
    changes.ill_formed += 1;
    bare()
}

fn numeric(a: char, b: Option<char>) -> String {
    match b {
        Some(b) => format!("&#{};&#{};", a as u32, b as u32),
        None => format!("&#{};", a as u32),
    }
}

/// The general entities an internal DTD subset declares (`<!ENTITY name "text">`), each as
/// XML text ready to stand in its place: character references and HTML names in it read, `<`
/// and `&` escaped. A value that names another declared entity is `None`: expanding it would be
/// recursion, which is what "billion laughs" lives on. External and parameter entities are
/// ignored. Only the prolog (before the root element) is looked at.
fn doctype_entities(text: &str) -> HashMap<String, Option<String>> {
    let mut out = HashMap::new();
    let Some(rest) = prolog_doctype(text) else {
        return out;
    };
    let Some(gt) = rest.find('>') else {
        return out;
    };
    let Some(open) = rest[..gt].find('[') else {
        return out;
    };
    let Some(close) = rest[open..].find(']') else {
        return out;
    };
    let subset = &rest[open + 1..open + close];
    let mut raw: Vec<(&str, &str)> = Vec::new();
    for decl in subset.split("<!ENTITY").skip(1) {
        let decl = decl.trim_start();
        if decl.starts_with('%') {
            continue;
        }
        let name_end = decl.find(|c: char| c.is_whitespace()).unwrap_or(decl.len());
        let name = &decl[..name_end];
        let after = decl[name_end..].trim_start();
        let Some(q) = after.chars().next().filter(|&c| c == '"' || c == '\'') else {
            // SYSTEM or PUBLIC: an external entity, never fetched.
            continue;
        };
        let Some(end) = after[1..].find(q) else {
            continue;
        };
        raw.push((name, &after[1..1 + end]));
    }
    let names: std::collections::HashSet<&str> = raw.iter().map(|(n, _)| *n).collect();
    for (name, value) in raw {
        let value = crate::bounds::prefix(value, MAX_ENTITY_VALUE);
        out.insert(name.to_string(), entity_text(value, &names));
    }
    out
}

/// The document from its DOCTYPE declaration on, if the prolog (declaration, comments,
/// processing instructions, before the root element) has one. Reads the prolog only.
fn prolog_doctype(text: &str) -> Option<&str> {
    let mut rest = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    loop {
        if rest.starts_with("<!DOCTYPE") {
            return Some(rest);
        }
        let end = if rest.starts_with("<?") {
            rest.find("?>")? + 2
        } else if rest.starts_with("<!--") {
            rest.find("-->")? + 3
        } else {
            return None;
        };
        rest = rest[end..].trim_start();
    }
}

/// One past the end of the DOCTYPE declaration `s` starts with, internal subset included.
fn doctype_end(s: &str) -> Option<usize> {
    let gt = s.find('>')?;
    match s[..gt].find('[') {
        None => Some(gt + 1),
        Some(open) => {
            let close = open + s[open..].find(']')?;
            Some(close + s[close..].find('>')? + 1)
        }
    }
}

/// A declared entity's value as escaped XML text, or `None` if it refers to a declared entity.
fn entity_text(value: &str, declared: &std::collections::HashSet<&str>) -> Option<String> {
    let mut text = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        text.push_str(&rest[..at]);
        let r = &rest[at + 1..];
        let Some(semi) = r.find(';').filter(|&s| s <= 64) else {
            text.push('&');
            rest = r;
            continue;
        };
        let name = &r[..semi];
        if declared.contains(name) {
            return None;
        }
        let c: Option<String> = if let Some(num) = name.strip_prefix('#') {
            let code = match num.strip_prefix(['x', 'X']) {
                Some(h) => u32::from_str_radix(h, 16).ok(),
                None => num.parse().ok(),
            };
            code.map(windows_1252)
                .filter(|&c| xml_char(c))
                .and_then(char::from_u32)
                .map(String::from)
        } else {
            match name {
                "amp" => Some("&".into()),
                "lt" => Some("<".into()),
                "gt" => Some(">".into()),
                "quot" => Some("\"".into()),
                "apos" => Some("'".into()),
                _ => {
                    html5(&r[..=semi]).map(|(a, b)| b.map_or(a.to_string(), |b| format!("{a}{b}")))
                }
            }
        };
        match c {
            Some(c) => {
                text.push_str(&c);
                rest = &r[semi + 1..];
            }
            None => {
                text.push('&');
                rest = r;
            }
        }
    }
    text.push_str(rest);
    Some(
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn references_kept_as_written_are_those_reference_keeps() {
        // The quick look and the full reading agree on which references stay as they are,
        // and on their length.
        let mut cases: Vec<String> = [
            "&amp;",
            "&lt;",
            "&gt;",
            "&quot;",
            "&apos;",
            "&AMP;",
            "&amp",
            "&;",
            "&#;",
            "&#x;",
            "&#X41;",
            "&#x41;",
            "&#65;",
            "&#0000000065;",
            "&#0;",
            "&#9;",
            "&#x85;",
            "&#150;",
            "&#129;",
            "&#x9D;",
            "&#xD800;",
            "&#xFFFE;",
            "&#x10FFFF;",
            "&#x110000;",
            "&#4294967296;",
            "&#xfffffffff;",
            "&nbsp;",
            "&alpha;",
            "&a&lt;",
            "&#x&lt;",
            "&#-1;",
            "&#+1;",
            "&#x+1;",
            "&#1a;",
            "&#xg;",
            "&lt",
            "& lt;",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for c in 0..0x200u32 {
            cases.push(format!("&#{c};"));
            cases.push(format!("&#x{c:x};"));
        }
        let declared = HashMap::new();
        for case in &cases {
            let (mut budget, mut changes) = (MAX_EXPANSION, Changes::default());
            let (used, replacement) = reference(case, &declared, &mut budget, &mut changes);
            let expected = replacement.is_none().then_some(used);
            assert_eq!(kept_as_written(case), expected, "{case}");
        }
    }

    use super::*;

    fn norm(s: &str) -> String {
        normalise(s).map_or(s.to_string(), |(t, _)| t)
    }

    #[test]
    fn the_whole_html5_table_is_known() {
        // quick-xml's table read `&alpha;` as ';'.
        assert_eq!(html5("alpha;"), Some(('\u{3b1}', None)));
        assert_eq!(
            html5("NotNestedGreaterGreater;"),
            Some(('\u{2aa2}', Some('\u{338}')))
        );
        assert_eq!(html5("nbsp"), Some(('\u{a0}', None)));
        assert_eq!(html5("alph"), None);
    }

    #[test]
    fn html_names_become_numeric_references_outside_cdata_and_comments() {
        assert_eq!(
            norm("<t>testing &alpha; &hellip;<![CDATA[&alpha;]]><!-- &beta; --></t>"),
            "<t>testing &#945; &#8230;<![CDATA[&alpha;]]><!-- &beta; --></t>"
        );
    }

    #[test]
    fn numeric_references_in_either_case_and_windows_1252_numbers_are_read() {
        assert_eq!(
            norm("<t>&#X41;&#x42;&#67; don&#146;t &#0; x</t>"),
            "<t>&#65;&#x42;&#67; don&#8217;t  x</t>"
        );
    }

    #[test]
    fn bare_ampersands_and_unknown_names_are_text() {
        assert_eq!(
            norm("<t>Q & A &bogus; &amp; &lt;</t>"),
            "<t>Q &amp; A &amp;bogus; &amp; &lt;</t>"
        );
        assert_eq!(normalise("<t>&amp; &#233;</t>"), None);
    }

    #[test]
    fn declared_entities_are_expanded_once_and_never_recursively() {
        let doc = "<!DOCTYPE rss [<!ENTITY who \"caf&#xE9; &amp; bar\"><!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><t>&who; &lol2;</t>";
        let (t, c) = normalise(doc).unwrap();
        assert!(t.ends_with("<t>café &amp; bar &amp;lol2;</t>"), "{t}");
        assert_eq!((c.declared, c.not_expanded), (1, 1));
    }

    #[test]
    fn declared_entities_cost_a_bounded_number_of_bytes() {
        let value = "x".repeat(4000);
        let mut doc = format!("<!DOCTYPE r [<!ENTITY big \"{value}\">]><r>");
        for _ in 0..1000 {
            doc.push_str("&big;");
        }
        doc.push_str("</r>");
        let (t, c) = normalise(&doc).unwrap();
        assert!(
            t.len() <= doc.len() + MAX_EXPANSION + 4 * 1000,
            "{}",
            t.len()
        );
        assert!(c.not_expanded > 0);
    }
}
