//! Untrusted text made safe to print: the one place that decides which characters of a feed,
//! a page or a server's answer may reach a terminal, a log line or a notification.
//!
//! Control characters are dropped: an escape sequence in a title could recolour, retitle or
//! clear the terminal of whoever runs `feedwatch stories`, and a CR or LF in a link could forge
//! a line of the log or a header of a message. Apply these where text is printed or sent,
//! not where it is stored, so that what was stored before is covered too.

use std::borrow::Cow;

/// Whether `c` may not be printed as it is: the C0 and C1 controls and DEL, and the line and
/// paragraph separators that some terminals and readers break lines at.
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `s` as one line: line breaks and tabs become spaces, other control characters are dropped.
pub fn line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if c.is_whitespace() {
            out.push(' ');
        }
    }
    Cow::Owned(out)
}

/// `s` with its line breaks kept (`\r\n` and a lone `\r` become `\n`) and its tabs, and every
/// other control character dropped.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| unsafe_char(c) && !matches!(c, '\n' | '\t'))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\n' | '\t' | '\u{2028}' | '\u{2029}' | '\u{85}' => {
                out.push(if c == '\t' { '\t' } else { '\n' })
            }
            c if unsafe_char(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_line_breaks_never_pass() {
        let hostile = "Title\x1b[2J\x1b]0;owned\x07 and\r\nFake: line\u{9b}31m\u{2028}end\x00";
        assert_eq!(line(hostile), "Title[2J]0;owned and  Fake: line31m end");
        assert_eq!(text(hostile), "Title[2J]0;owned and\nFake: line31m\nend");
        for out in [line(hostile), text(hostile)] {
            assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        }
    }

    #[test]
    fn clean_text_is_borrowed_unchanged() {
        assert!(matches!(line("Café — naïve ✓"), Cow::Borrowed(_)));
        assert!(matches!(text("two\nlines\tand a tab"), Cow::Borrowed(_)));
        assert_eq!(line("a\tb\nc"), "a b c");
    }
}
