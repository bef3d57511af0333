//! What an alert looks like on the wire: design.md's webhook JSON, the Slack, Discord and ntfy
//! presets, and the email subject, text and HTML.
//!
//! Pure functions of an [`Alert`]: no I/O, so every shape is tested here and the senders only
//! move bytes. Values from feeds are untrusted: they are escaped for each target (HTML, Slack
//! mrkdwn, Markdown) and the email HTML is sanitised again by ammonia on top.

use serde::Serialize;

use super::{Alert, AlertStory};

/// How much of the article a mail carries: the first paragraphs, or all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleCut {
    Paragraphs(usize),
    Full,
}

/// The zone a mail gives times in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailZone {
    /// The system's (or the `TZ` environment variable's).
    Local,
    Fixed(chrono::FixedOffset),
}

/// How an email notifier writes its mails (`article`, `timezone` in its config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailStyle {
    pub article: ArticleCut,
    pub zone: MailZone,
}

impl Default for MailStyle {
    fn default() -> Self {
        MailStyle {
            article: ArticleCut::Paragraphs(3),
            zone: MailZone::Local,
        }
    }
}

impl MailStyle {
    /// An RFC 3339 time as a reader reads it, in the mail's zone: "Sat 5 Dec 2026, 11:00
    /// (+01:00)"; anything else unchanged.
    fn time(&self, rfc3339: &str) -> String {
        let Ok(t) = chrono::DateTime::parse_from_rfc3339(rfc3339) else {
            return rfc3339.to_string();
        };
        let format = "%a %-d %b %Y, %H:%M (%:z)";
        match self.zone {
            MailZone::Local => t.with_timezone(&chrono::Local).format(format).to_string(),
            MailZone::Fixed(z) if z.local_minus_utc() == 0 => t
                .with_timezone(&z)
                .format("%a %-d %b %Y, %H:%M UTC")
                .to_string(),
            MailZone::Fixed(z) => t.with_timezone(&z).format(format).to_string(),
        }
    }

    /// The article's paragraphs the mail carries, and whether some were left out.
    fn paragraphs<'a>(&self, text: &'a str) -> (Vec<&'a str>, bool) {
        let all: Vec<&str> = text
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        match self.article {
            ArticleCut::Full => (all, false),
            ArticleCut::Paragraphs(n) => {
                let cut = all.len() > n;
                (all.into_iter().take(n).collect(), cut)
            }
        }
    }
}

/// `alert` with every value made printable ([`crate::printable`]): each shape below starts from
/// this, so no control character of a feed (an escape sequence, a CR or LF in a title or link)
/// reaches a notification, whichever shape carries it. The summary keeps its line breaks.
fn printable(alert: &Alert) -> Alert {
    use crate::printable::{line, text};
    let line = |s: &str| line(s).into_owned();
    Alert {
        id: alert.id.clone(),
        kind: alert.kind,
        topic: line(&alert.topic),
        stories: alert
            .stories
            .iter()
            .map(|s| AlertStory {
                id: line(&s.id),
                title: line(&s.title),
                url: line(&s.url),
                feed: line(&s.feed),
                published: s.published.as_deref().map(line),
                summary: text(&s.summary).into_owned(),
                matched: s.matched.iter().map(|m| line(m)).collect(),
                also_at: s.also_at.iter().map(|u| line(u)).collect(),
                byline: s.byline.as_deref().map(line),
                text: text(&s.text).into_owned(),
            })
            .collect(),
    }
}

/// design.md's webhook body: `{"type", "topic", "stories": [...]}`.
#[derive(Serialize)]
struct JsonBody<'a> {
    /// The alert kind ("topic.match", "feed.gone", …), so receivers can route on it.
    #[serde(rename = "type")]
    kind: &'a str,
    /// The topic name, so receivers can group alerts.
    topic: &'a str,
    /// The stories, with the fields of design.md.
    stories: &'a [AlertStory],
}

/// The default webhook body of design.md.
pub fn json_body(alert: &Alert) -> Vec<u8> {
    let mut alert = printable(alert);
    // The summary is plain text: the `**` marking matched terms is for the mail; the article's
    // text is for the mail too (the contract's fields, and the byline beside them).
    for s in &mut alert.stories {
        s.summary = unmarked(&s.summary);
        s.text.clear();
    }
    let alert = &alert;
    let body = JsonBody {
        kind: alert.kind.as_str(),
        topic: &alert.topic,
        stories: &alert.stories,
    };
    // Serialising plain strings into a Vec cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// One line naming what the alert is about, used by the chat presets and ntfy's title.
pub fn headline(alert: &Alert) -> String {
    let alert = &printable(alert);
    match alert.stories.as_slice() {
        [] => format!("{}: {}", alert.topic, alert.kind),
        [one] => format!("{}: {}", alert.topic, one.title),
        many => format!("{}: {} stories", alert.topic, many.len()),
    }
}

/// The email subject: `[feedwatch] <topic>: <story title>`, or `N stories` for a digest.
pub fn subject(alert: &Alert) -> String {
    let alert = &printable(alert);
    // Feed titles may carry newlines; a subject is one line.
    one_line(&format!("[feedwatch] {}", headline(alert)))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_web_link(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Slack's mrkdwn: only `&`, `<` and `>` are special, and they must be escaped as entities.
fn slack_escape(s: &str) -> String {
    one_line(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Slack's incoming-webhook body: `{"text": ...}` with `<url|title>` links.
pub fn slack_body(alert: &Alert) -> Vec<u8> {
    let alert = &printable(alert);
    let mut text = format!("*[feedwatch] {}*", slack_escape(&headline_prefix(alert)));
    for s in &alert.stories {
        text.push_str("\n• ");
        if is_web_link(&s.url) {
            text.push_str(&format!(
                "<{}|{}>",
                slack_escape(&s.url),
                slack_escape(&s.title)
            ));
        } else {
            text.push_str(&slack_escape(&s.title));
        }
        if !s.feed.is_empty() {
            text.push_str(&format!(" ({})", slack_escape(&s.feed)));
        }
        if !s.matched.is_empty() {
            text.push_str(&format!(
                "\n   matched: {}",
                slack_escape(&s.matched.join(", "))
            ));
        }
        let others: Vec<String> = s
            .also_at
            .iter()
            .filter(|u| is_web_link(u))
            .map(|u| format!("<{}>", slack_escape(u)))
            .collect();
        if !others.is_empty() {
            text.push_str(&format!("\n   also at: {}", others.join(" ")));
        }
    }
    serde_json::to_vec(&serde_json::json!({ "text": text })).unwrap_or_default()
}

/// The first line of the chat presets: the topic and what came, without the story title for a
/// single story (the title follows as the link).
fn headline_prefix(alert: &Alert) -> String {
    match alert.stories.len() {
        0 => format!("{}: {}", alert.topic, alert.kind),
        1 => alert.topic.clone(),
        n => format!("{}: {n} stories", alert.topic),
    }
}

/// Discord Markdown: backslash the characters that would format, link or mention.
fn discord_escape(s: &str) -> String {
    let mut out = String::new();
    for c in one_line(s).chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '(' | ')' | '<' | '>' | '#' | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Discord refuses a message whose content is longer than this.
const DISCORD_MAX: usize = 2000;

/// Discord's webhook body: `{"content": ...}` with Markdown links; mentions are disabled so a
/// headline saying "@everyone" pings nobody.
pub fn discord_body(alert: &Alert) -> Vec<u8> {
    let alert = &printable(alert);
    let mut content = format!(
        "**[feedwatch] {}**",
        discord_escape(&headline_prefix(alert))
    );
    for s in &alert.stories {
        let mut item = String::from("\n• ");
        if is_web_link(&s.url) {
            // `<url>` inside the link target stops Discord from embedding a preview per story.
            item.push_str(&format!(
                "[{}](<{}>)",
                discord_escape(&s.title),
                s.url.replace('>', "%3E").replace(' ', "%20")
            ));
        } else {
            item.push_str(&discord_escape(&s.title));
        }
        if !s.feed.is_empty() {
            item.push_str(&format!(" ({})", discord_escape(&s.feed)));
        }
        if !s.matched.is_empty() {
            item.push_str(&format!(
                "\n  matched: {}",
                discord_escape(&s.matched.join(", "))
            ));
        }
        let others: Vec<String> = s
            .also_at
            .iter()
            .filter(|u| is_web_link(u))
            .map(|u| format!("<{}>", u.replace('>', "%3E").replace(' ', "%20")))
            .collect();
        if !others.is_empty() {
            item.push_str(&format!("\n  also at: {}", others.join(" ")));
        }
        if content.chars().count() + item.chars().count() > DISCORD_MAX - 20 {
            content.push_str("\n…");
            break;
        }
        content.push_str(&item);
    }
    serde_json::to_vec(
        &serde_json::json!({ "content": content, "allowed_mentions": { "parse": [] } }),
    )
    .unwrap_or_default()
}

/// ntfy's body: plain text, one story per paragraph (title, link, matched terms). The title and
/// click-through link go in headers (see `ntfy_headers`).
pub fn ntfy_body(alert: &Alert) -> Vec<u8> {
    let alert = &printable(alert);
    let mut out = Vec::new();
    if alert.stories.is_empty() {
        out.push(format!("{}: {}", alert.topic, alert.kind));
    }
    for s in &alert.stories {
        let mut p = one_line(&s.title);
        if !s.url.is_empty() {
            p.push('\n');
            p.push_str(&s.url);
        }
        if !s.matched.is_empty() {
            p.push_str(&format!("\nmatched: {}", one_line(&s.matched.join(", "))));
        }
        if !s.also_at.is_empty() {
            p.push_str(&format!("\nalso at: {}", one_line(&s.also_at.join(" "))));
        }
        out.push(p);
    }
    out.join("\n\n").into_bytes()
}

/// ntfy's `Title` and `Click` headers, as `(name, value)` with header-safe values.
pub fn ntfy_headers(alert: &Alert) -> Vec<(&'static str, String)> {
    let alert = &printable(alert);
    let mut h = vec![(
        "Title",
        encode_header_word(&format!("[feedwatch] {}", headline_prefix(alert))),
    )];
    if let Some(first) = alert.stories.first().filter(|s| is_web_link(&s.url)) {
        // A URL with non-ASCII or control characters would make an invalid header: percent-encode them.
        if let Ok(u) = url::Url::parse(first.url.trim()) {
            h.push(("Click", u.to_string()));
        }
    }
    h
}

/// HTTP header values are ASCII; ntfy reads RFC 2047 encoded words for anything else.
fn encode_header_word(s: &str) -> String {
    let s = one_line(s);
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s;
    }
    use base64::Engine as _;
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
    )
}

/// The `Message-ID` of an alert's mail: `<{id}@feedwatch>`. The id is kept as is when it is made of
/// letters, digits, `-`, `_` and `+` (the usual case); any other byte is written `=XX`, so every id
/// maps to its own valid Message-ID and the same id always to the same one.
pub fn message_id(alert_id: &str) -> String {
    let mut local = String::new();
    for b in alert_id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+') {
            local.push(b as char);
        } else {
            local.push_str(&format!("={b:02X}"));
        }
    }
    if local.is_empty() {
        local.push_str("=00");
    }
    format!("<{local}@feedwatch>")
}

/// The plain-text part of the mail, written the default way.
#[cfg(test)]
pub fn email_text(alert: &Alert) -> String {
    email_text_styled(alert, &MailStyle::default())
}

/// The plain-text part of the mail.
pub fn email_text_styled(alert: &Alert, style: &MailStyle) -> String {
    let alert = &printable(alert);
    let mut out = format!("{}\n", subject(alert).trim_start_matches("[feedwatch] "));
    if alert.stories.is_empty() {
        out.push_str(&format!("\nEvent: {}\n", alert.kind));
    }
    for s in &alert.stories {
        out.push_str(&format!("\n{}\n", one_line(&s.title)));
        if !s.url.is_empty() {
            out.push_str(&format!("{}\n", s.url.trim()));
        }
        let mut meta = Vec::new();
        if !s.feed.is_empty() {
            meta.push(one_line(&s.feed));
        }
        if let Some(b) = &s.byline {
            meta.push(format!("by {}", one_line(b)));
        }
        if let Some(p) = &s.published {
            meta.push(style.time(p));
        }
        if !meta.is_empty() {
            out.push_str(&format!("{}\n", meta.join(" · ")));
        }
        if !s.matched.is_empty() {
            out.push_str(&format!("Matched: {}\n", s.matched.join(", ")));
        }
        if !s.summary.trim().is_empty() {
            // `**term**` reads as emphasis in plain text too.
            out.push_str(&format!("\n{}\n", s.summary.trim()));
        }
        let (paragraphs, cut) = style.paragraphs(&s.text);
        if !paragraphs.is_empty() {
            out.push_str("\n---\n");
            for p in &paragraphs {
                out.push_str(&format!("\n{p}\n"));
            }
            if cut && !s.url.is_empty() {
                out.push_str(&format!("\n[…] The rest at {}\n", s.url.trim()));
            }
        }
        if !s.also_at.is_empty() {
            out.push_str("\nAlso at:\n");
            for u in &s.also_at {
                out.push_str(&format!("  {}\n", u.trim()));
            }
        }
    }
    out.push_str("\n-- \nSent by feedwatch for the topic \"");
    out.push_str(&one_line(&alert.topic));
    out.push_str("\".\n");
    out
}

/// A summary without the `**` that mark its matched terms (see [`crate::topics::snippet`]).
fn unmarked(summary: &str) -> String {
    summary.replace("**", "")
}

/// Escaped HTML of a summary, its `**marked**` terms in `<strong>`: pairs of markers only, so
/// a stray one stays as text.
fn marked_html(summary: &str) -> String {
    let parts: Vec<&str> = summary.split("**").collect();
    if parts.len().is_multiple_of(2) {
        return esc(summary);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<strong>{}</strong>", esc(p))
            } else {
                esc(p)
            }
        })
        .collect()
}

/// HTML-escaped text for the mail body: the same escaping the feed stage uses.
fn esc(s: &str) -> String {
    crate::feed::normalise::escape_text(s)
}

/// A link when the URL is a web link, the escaped text otherwise (a `javascript:` URL from a feed
/// must not become clickable).
fn html_link(url: &str, text: &str) -> String {
    if is_web_link(url) {
        format!("<a href=\"{}\">{}</a>", esc(url.trim()), esc(text))
    } else {
        esc(text)
    }
}

/// The HTML part of the mail, written the default way.
#[cfg(test)]
pub fn email_html(alert: &Alert) -> String {
    email_html_styled(alert, &MailStyle::default())
}

/// The HTML part of the mail: built from escaped values, then sanitised by ammonia, then put in a
/// fixed document shell (ammonia keeps fragments only).
pub fn email_html_styled(alert: &Alert, style: &MailStyle) -> String {
    let alert = &printable(alert);
    // One story: its headline below is the mail's heading; a line above says which topic.
    // Several (a digest) or none (an event): the headline says it.
    let mut body = match alert.stories.len() {
        1 => format!(
            "<p><small>feedwatch · topic “{}”</small></p>\n",
            esc(&one_line(&alert.topic))
        ),
        _ => format!("<h2>{}</h2>\n", esc(&one_line(&headline(alert)))),
    };
    if alert.stories.is_empty() {
        body.push_str(&format!("<p>Event: {}</p>\n", esc(alert.kind.as_str())));
    }
    for s in &alert.stories {
        body.push_str("<div>\n");
        body.push_str(&format!(
            "<h3>{}</h3>\n",
            html_link(&s.url, &one_line(&s.title))
        ));
        let mut meta = Vec::new();
        if !s.feed.is_empty() {
            meta.push(esc(&one_line(&s.feed)));
        }
        if let Some(b) = &s.byline {
            meta.push(format!("by {}", esc(&one_line(b))));
        }
        if let Some(p) = &s.published {
            meta.push(esc(&style.time(p)));
        }
        if !meta.is_empty() {
            body.push_str(&format!("<p><small>{}</small></p>\n", meta.join(" · ")));
        }
        if !s.matched.is_empty() {
            let terms: Vec<String> = s
                .matched
                .iter()
                .map(|t| format!("<mark>{}</mark>", esc(t)))
                .collect();
            body.push_str(&format!("<p>Matched: {}</p>\n", terms.join(", ")));
        }
        if !s.summary.trim().is_empty() {
            body.push_str(&format!(
                "<blockquote>{}</blockquote>\n",
                marked_html(s.summary.trim())
            ));
        }
        let (paragraphs, cut) = style.paragraphs(&s.text);
        for p in &paragraphs {
            body.push_str(&format!("<p>{}</p>\n", esc(p)));
        }
        if cut {
            body.push_str(&format!(
                "<p>{}</p>\n",
                html_link(&s.url, "Read the whole article")
            ));
        }
        if !s.also_at.is_empty() {
            body.push_str("<p>Also at:</p>\n<ul>\n");
            for u in &s.also_at {
                body.push_str(&format!("<li>{}</li>\n", html_link(u, u.trim())));
            }
            body.push_str("</ul>\n");
        }
        body.push_str("</div>\n");
    }
    body.push_str(&format!(
        "<p><small>Sent by feedwatch for the topic “{}”.</small></p>\n",
        esc(&one_line(&alert.topic))
    ));
    let clean = ammonia::Builder::default()
        .add_tags(["mark"])
        .clean(&body)
        .to_string();
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{}</body></html>\n",
        esc(&subject(alert)),
        clean
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn story(title: &str, url: &str) -> AlertStory {
        AlertStory {
            id: "s1".into(),
            title: title.into(),
            url: url.into(),
            feed: "Wire".into(),
            published: Some("2026-11-20T10:00:00Z".into()),
            summary: "Coalition forces moved north.".into(),
            matched: vec!["iraq".into(), "coalition forces".into()],
            also_at: vec!["https://second.example/iraq".into()],
            byline: None,
            text: String::new(),
        }
    }

    pub fn alert(stories: Vec<AlertStory>) -> Alert {
        Alert {
            id: "alert-42".into(),
            kind: crate::outbox::AlertKind::TopicMatch,
            topic: "iraq-troops".into(),
            stories,
        }
    }

    #[test]
    fn a_one_story_mail_shows_its_headline_once() {
        let html = email_html(&alert(vec![story("Troops leave", "https://a.example/1")]));
        assert_eq!(
            html.matches("Troops leave").count(),
            2,
            "title and heading: {html}"
        );
        assert!(
            html.contains("<small>feedwatch · topic “iraq-troops”</small>"),
            "{html}"
        );
        let digest = email_html(&alert(vec![
            story("One", "https://a.example/1"),
            story("Two", "https://a.example/2"),
        ]));
        assert!(
            digest.contains("<h2>iraq-troops: 2 stories</h2>"),
            "{digest}"
        );
    }

    #[test]
    fn matched_terms_are_emphasis_in_the_mail_and_plain_in_the_webhook() {
        let mut s = story("Troops", "https://a.example/1");
        s.summary = "The **coalition forces** moved 3 * 4 km <north>.".into();
        let a = alert(vec![s]);
        let html = email_html(&a);
        assert!(
            html.contains("The <strong>coalition forces</strong> moved 3 * 4 km &lt;north&gt;."),
            "{html}"
        );
        assert!(!html.contains("**"), "{html}");
        let json: serde_json::Value = serde_json::from_slice(&json_body(&a)).unwrap();
        assert_eq!(
            json["stories"][0]["summary"],
            "The coalition forces moved 3 * 4 km <north>."
        );
        // A lone marker is text, not the start of emphasis.
        let mut odd = story("T", "https://a.example/2");
        odd.summary = "rated ** of 5".into();
        assert!(email_html(&alert(vec![odd])).contains("rated ** of 5"));
    }

    #[test]
    fn no_control_character_of_a_feed_reaches_any_shape_of_a_notification() {
        // A link stored raw before links were checked at normalisation, and a title, feed name
        // and summary carrying escape sequences and line breaks.
        let mut s = story(
            "Troops\x1b[2J\x1b]0;owned\x07 leave\r\nBcc: victim@example.org",
            "\x1b[31mhttps://wire.example/a\r\nX-Injected: 1",
        );
        s.feed = "Wire\u{9b}31m\u{2028}Fake".into();
        s.summary = "First line.\r\nSecond\x1b[1m line.\x08".into();
        s.also_at = vec!["https://b.example/\x1b[0m\n".into()];
        s.matched = vec!["iraq\x1b".into()];
        let a = alert(vec![s]);
        let text_of = |b: Vec<u8>| String::from_utf8(b).unwrap();
        let mut shapes = vec![
            ("json", text_of(json_body(&a))),
            ("slack", text_of(slack_body(&a))),
            ("discord", text_of(discord_body(&a))),
            ("ntfy", text_of(ntfy_body(&a))),
            ("subject", subject(&a)),
            ("text mail", email_text(&a)),
            ("html mail", email_html(&a)),
        ];
        for (name, value) in ntfy_headers(&a) {
            shapes.push((name, value));
        }
        for (shape, body) in &shapes {
            assert!(
                !body.chars().any(|c| c.is_control() && c != '\n'),
                "{shape}: {body:?}"
            );
            // JSON escapes would hide them from the check above.
            assert!(
                !body.contains("\\u001b") && !body.contains("\\r"),
                "{shape}: {body:?}"
            );
        }
        let subject = subject(&a);
        assert_eq!(
            subject,
            "[feedwatch] iraq-troops: Troops[2J]0;owned leave Bcc: victim@example.org"
        );
        let ntfy = text_of(ntfy_body(&a));
        assert!(
            ntfy.starts_with("Troops[2J]0;owned leave Bcc: victim@example.org\n[31mhttps://"),
            "{ntfy}"
        );
        // The text mail keeps the summary's paragraphs, and nothing else breaks a line.
        let mail = email_text(&a);
        assert!(mail.contains("\nFirst line.\nSecond[1m line.\n"), "{mail}");
        assert!(
            !mail
                .lines()
                .any(|l| l.starts_with("X-Injected") || l.starts_with("Fake")),
            "{mail}"
        );
    }

    #[test]
    fn the_json_body_has_the_fields_of_the_design() {
        let a = alert(vec![story("Troops leave", "https://wire.example/a")]);
        let v: serde_json::Value = serde_json::from_slice(&json_body(&a)).unwrap();
        assert_eq!(v["type"], "topic.match");
        assert_eq!(v["topic"], "iraq-troops");
        let s = &v["stories"][0];
        for key in [
            "id",
            "title",
            "url",
            "feed",
            "published",
            "summary",
            "matched",
            "also_at",
        ] {
            assert!(s.get(key).is_some(), "missing {key}");
        }
        assert_eq!(s["matched"][1], "coalition forces");
        assert_eq!(s["also_at"][0], "https://second.example/iraq");
        assert_eq!(
            v.as_object().unwrap().len(),
            3,
            "only type, topic, stories at the top"
        );
    }

    #[test]
    fn one_story_puts_its_title_in_the_subject_and_a_digest_counts_stories() {
        let one = alert(vec![story("Troops\nleave Basra", "https://wire.example/a")]);
        assert_eq!(subject(&one), "[feedwatch] iraq-troops: Troops leave Basra");
        let two = alert(vec![
            story("A", "https://a.example/"),
            story("B", "https://b.example/"),
        ]);
        assert_eq!(subject(&two), "[feedwatch] iraq-troops: 2 stories");
    }

    #[test]
    fn html_in_a_title_is_shown_as_text_not_markup() {
        let a = alert(vec![story(
            "<script>alert(1)</script> & <b>bold</b>",
            "https://wire.example/a",
        )]);
        let html = email_html(&a);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;"), "{html}");
        assert!(
            html.contains("<a href=\"https://wire.example/a\""),
            "{html}"
        );
        assert!(html.contains("<mark>coalition forces</mark>"), "{html}");
        assert!(
            html.contains("href=\"https://second.example/iraq\""),
            "{html}"
        );
    }

    #[test]
    fn a_javascript_url_is_never_a_link() {
        let a = alert(vec![story("Trap", "javascript:alert(1)")]);
        assert!(!email_html(&a).contains("href=\"javascript"));
        let slack: serde_json::Value = serde_json::from_slice(&slack_body(&a)).unwrap();
        assert!(!slack["text"].as_str().unwrap().contains("<javascript"));
    }

    #[test]
    fn the_text_part_lists_link_matches_and_other_outlets() {
        let text = email_text(&alert(vec![story(
            "Troops leave",
            "https://wire.example/a",
        )]));
        assert!(text.contains("https://wire.example/a\n"), "{text}");
        assert!(text.contains("Matched: iraq, coalition forces"), "{text}");
        assert!(
            text.contains("Also at:\n  https://second.example/iraq"),
            "{text}"
        );
    }

    #[test]
    fn slack_gets_escaped_mrkdwn_links() {
        let a = alert(vec![story("Q&A <live>", "https://wire.example/a?x=1&y=2")]);
        let v: serde_json::Value = serde_json::from_slice(&slack_body(&a)).unwrap();
        let text = v["text"].as_str().unwrap();
        assert!(
            text.contains("<https://wire.example/a?x=1&amp;y=2|Q&amp;A &lt;live&gt;>"),
            "{text}"
        );
        assert!(
            text.contains("also at: <https://second.example/iraq>"),
            "{text}"
        );
    }

    #[test]
    fn discord_gets_markdown_links_and_pings_nobody() {
        let a = alert(vec![story("@everyone [look]", "https://wire.example/a")]);
        let v: serde_json::Value = serde_json::from_slice(&discord_body(&a)).unwrap();
        let content = v["content"].as_str().unwrap();
        assert!(
            content.contains("[\\@everyone \\[look\\]](<https://wire.example/a>)"),
            "{content}"
        );
        assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));
        assert!(
            content.contains("also at: <https://second.example/iraq>"),
            "{content}"
        );
    }

    #[test]
    fn a_long_discord_digest_stays_under_the_limit() {
        let many: Vec<AlertStory> = (0..200)
            .map(|i| story(&format!("Story number {i}"), "https://wire.example/a"))
            .collect();
        let v: serde_json::Value = serde_json::from_slice(&discord_body(&alert(many))).unwrap();
        assert!(v["content"].as_str().unwrap().chars().count() <= DISCORD_MAX);
    }

    #[test]
    fn ntfy_gets_a_plain_body_and_an_ascii_title_header() {
        let a = alert(vec![story(
            "Truppen in Bagdad – Überblick",
            "https://wire.example/ä",
        )]);
        let body = String::from_utf8(ntfy_body(&a)).unwrap();
        assert!(
            body.starts_with("Truppen in Bagdad – Überblick\nhttps://wire.example/ä"),
            "{body}"
        );
        assert!(
            body.contains("also at: https://second.example/iraq"),
            "{body}"
        );
        let headers = ntfy_headers(&a);
        assert_eq!(headers[0], ("Title", "[feedwatch] iraq-troops".to_string()));
        assert_eq!(
            headers[1],
            ("Click", "https://wire.example/%C3%A4".to_string())
        );
        let odd = Alert {
            topic: "Überblick".into(),
            ..a
        };
        assert!(ntfy_headers(&odd)[0].1.starts_with("=?UTF-8?B?"));
    }

    #[test]
    fn a_plain_id_makes_the_plain_message_id_and_odd_ids_stay_distinct() {
        assert_eq!(message_id("alert-42"), "<alert-42@feedwatch>");
        assert_eq!(message_id("a b"), "<a=20b@feedwatch>");
        assert_ne!(message_id("a.b"), message_id("a=2Eb"));
        assert_eq!(message_id("a>b@c"), message_id("a>b@c"));
    }
}
