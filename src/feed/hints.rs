//! What an RSS feed says about how often to poll it: `<ttl>` (minutes a copy stays fresh),
//! `sy:updatePeriod`/`sy:updateFrequency` (the Syndication module's "updated n times per
//! period"), and `<skipHours>`/`<skipDays>` (hours, in GMT, and days when aggregators should not
//! poll). The scheduler acts on them; they are stored with the feed so a 304 keeps them.
//!
//! These are channel elements, written before the first item (RSS 2.0) or in the channel that
//! precedes the items (RSS 1.0), now and then after the last one: only those two stretches of
//! the document are searched, and read only when one of the names occurs there, so the items
//! (most of a feed) cost nothing.

use std::time::Duration;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// A feed's own polling hints; all empty for most feeds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// `<ttl>`: how long a copy stays fresh.
    pub ttl: Option<Duration>,
    /// `sy:updatePeriod` / `sy:updateFrequency`: the period over the frequency.
    pub update_period: Option<Duration>,
    /// `<skipHours>`: bit `h` set when hour `h` (GMT, 0-23) is to be skipped.
    pub skip_hours: u32,
    /// `<skipDays>`: bit `d` set when weekday `d` (Monday 0 … Sunday 6) is to be skipped.
    pub skip_days: u8,
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl Hints {
    pub fn is_empty(&self) -> bool {
        *self == Hints::default()
    }

    /// The stored form: `ttl=SECS period=SECS skip-hours=MASK skip-days=MASK`, only what is
    /// set; `None` when nothing is.
    pub fn encode(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(t) = self.ttl {
            parts.push(format!("ttl={}", t.as_secs()));
        }
        if let Some(p) = self.update_period {
            parts.push(format!("period={}", p.as_secs()));
        }
        if self.skip_hours != 0 {
            parts.push(format!("skip-hours={}", self.skip_hours));
        }
        if self.skip_days != 0 {
            parts.push(format!("skip-days={}", self.skip_days));
        }
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// Reads [`Hints::encode`]'s form; what it does not understand is left out.
    pub fn decode(text: &str) -> Hints {
        let mut h = Hints::default();
        for part in text.split_whitespace() {
            let Some((name, value)) = part.split_once('=') else {
                continue;
            };
            let Ok(n) = value.parse::<u64>() else {
                continue;
            };
            match name {
                "ttl" => h.ttl = Some(Duration::from_secs(n)),
                "period" => h.update_period = Some(Duration::from_secs(n)),
                "skip-hours" => h.skip_hours = u32::try_from(n).unwrap_or(0) & 0x00ff_ffff,
                "skip-days" => h.skip_days = u8::try_from(n).unwrap_or(0) & 0x7f,
                _ => {}
            }
        }
        h
    }
}

/// The hints of an XML feed document (empty for Atom, which has none of these).
pub fn scan(text: &str) -> Hints {
    const NAMES: [&str; 5] = [
        "<ttl",
        "updatePeriod",
        "updateFrequency",
        "skipHours",
        "skipDays",
    ];
    // The channel before the first item, and what follows the last one: each read only when
    // one of the names is in it, so the items (most of a feed) are never searched.
    let head_end = first_item(text).unwrap_or(text.len());
    let tail_start = text
        .rfind("</item>")
        .map_or(text.len(), |i| (i + "</item>".len()).max(head_end));
    let mut found = Found::default();
    for stretch in [&text[..head_end], &text[tail_start..]] {
        if NAMES.iter().any(|n| stretch.contains(n)) {
            read(stretch, &mut found);
        }
    }
    found.into_hints()
}

/// Where the first `<item>` element starts (not `<items>`, which RSS 1.0's channel holds).
fn first_item(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("<item") {
        let at = from + i;
        let next = text.as_bytes().get(at + "<item".len()).copied();
        if matches!(next, Some(b'>' | b'/' | b' ' | b'\t' | b'\r' | b'\n')) {
            return Some(at);
        }
        from = at + "<item".len();
    }
    None
}

#[derive(Default)]
struct Found {
    ttl_minutes: Option<u64>,
    period: Option<u64>,
    frequency: Option<u64>,
    skip_hours: u32,
    skip_days: u8,
}

impl Found {
    fn into_hints(self) -> Hints {
        let update_period = match (self.period, self.frequency) {
            (None, None) => None,
            // The module's defaults: daily, once.
            (p, f) => {
                let secs = p.unwrap_or(86_400) / f.unwrap_or(1).max(1);
                Some(Duration::from_secs(secs))
            }
        };
        Hints {
            ttl: self
                .ttl_minutes
                .map(|m| Duration::from_secs(m.saturating_mul(60))),
            update_period,
            // Every hour or every day skipped is a feed that asks to be never polled: a mistake.
            skip_hours: if self.skip_hours == 0x00ff_ffff {
                0
            } else {
                self.skip_hours
            },
            skip_days: if self.skip_days == 0x7f {
                0
            } else {
                self.skip_days
            },
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Ttl,
    Period,
    Frequency,
    Hour,
    Day,
}

/// Reads one stretch of the document; stops quietly at the first XML error.
fn read(text: &str, found: &mut Found) {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    reader.config_mut().allow_unmatched_ends = true;
    let mut field: Option<Field> = None;
    let mut in_skip_hours = false;
    let mut in_skip_days = false;
    let mut buf = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => return,
            Ok(Event::Start(e)) => {
                let local = e.local_name();
                let name: &str = local.as_ref();
                buf.clear();
                field = match name {
                    "ttl" => Some(Field::Ttl),
                    "updatePeriod" => Some(Field::Period),
                    "updateFrequency" => Some(Field::Frequency),
                    "hour" if in_skip_hours => Some(Field::Hour),
                    "day" if in_skip_days => Some(Field::Day),
                    "skipHours" => {
                        in_skip_hours = true;
                        None
                    }
                    "skipDays" => {
                        in_skip_days = true;
                        None
                    }
                    _ => None,
                };
            }
            Ok(Event::Text(t)) if field.is_some() => buf.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) if field.is_some() => buf.push_str(&t.xml10_content()),
            Ok(Event::End(e)) => {
                let local = e.local_name();
                match local.as_ref() {
                    "skipHours" => in_skip_hours = false,
                    "skipDays" => in_skip_days = false,
                    _ => {}
                }
                if let Some(f) = field.take() {
                    take(f, buf.trim(), found);
                }
            }
            Ok(_) => {}
        }
    }
}

fn take(field: Field, value: &str, found: &mut Found) {
    let number = || value.parse::<u64>().ok();
    match field {
        // A ttl of 0 says nothing.
        Field::Ttl => found.ttl_minutes = number().filter(|&m| m > 0).or(found.ttl_minutes),
        Field::Frequency => found.frequency = number().filter(|&n| n > 0).or(found.frequency),
        Field::Period => {
            let secs = match value.to_ascii_lowercase().as_str() {
                "hourly" => 3_600,
                "daily" => 86_400,
                "weekly" => 7 * 86_400,
                "monthly" => 30 * 86_400,
                "yearly" => 365 * 86_400,
                _ => return,
            };
            found.period = Some(secs);
        }
        // 24 is written for midnight by some feeds.
        Field::Hour => {
            if let Some(h) = number().filter(|&h| h <= 24) {
                found.skip_hours |= 1 << (h % 24);
            }
        }
        Field::Day => {
            if let Some(d) = DAYS.iter().position(|d| d.eq_ignore_ascii_case(value)) {
                found.skip_days |= 1 << d;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_sy_and_skips_of_the_channel_are_read_and_the_items_ignored() {
        let doc = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
<channel><title>T</title><ttl>90</ttl>
<sy:updatePeriod> hourly </sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>
<skipHours><hour>0</hour><hour>1</hour><hour>24</hour></skipHours>
<item><title>ttl</title><ttl>5</ttl><description>skipHours</description></item>
<item><title>b</title></item>
<skipDays><day>Saturday</day><day>sunday</day><day>Caturday</day></skipDays>
</channel></rss>"#;
        let h = scan(doc);
        assert_eq!(h.ttl, Some(Duration::from_secs(90 * 60)));
        assert_eq!(h.update_period, Some(Duration::from_secs(1800)));
        assert_eq!(h.skip_hours, 0b11);
        assert_eq!(h.skip_days, 0b110_0000);
        assert_eq!(Hints::decode(&h.encode().unwrap()), h);
    }

    #[test]
    fn a_feed_without_hints_or_with_nonsense_gives_none() {
        assert!(scan("<rss><channel><title>x</title><item/></channel></rss>").is_empty());
        let every_hour: String = (0..24).map(|h| format!("<hour>{h}</hour>")).collect();
        let doc = format!(
            "<rss><channel><ttl>soon</ttl><ttl>0</ttl><skipHours>{every_hour}</skipHours>\
             <sy:updatePeriod>fortnightly</sy:updatePeriod></channel></rss>"
        );
        assert!(scan(&doc).is_empty(), "{:?}", scan(&doc));
        assert_eq!(Hints::default().encode(), None);
        assert!(Hints::decode("ttl=x period bogus=3").is_empty());
    }

    #[test]
    fn the_syndication_module_defaults_to_daily() {
        let h = scan(
            "<rdf:RDF><channel><sy:updateFrequency>4</sy:updateFrequency></channel><item/></rdf:RDF>",
        );
        assert_eq!(h.update_period, Some(Duration::from_secs(6 * 3600)));
        // RSS 1.0: the channel lists its items (`<items>`) before the hints may come.
        let h = scan(
            "<rdf:RDF><channel><items><rdf:Seq/></items><sy:updatePeriod>weekly</sy:updatePeriod>\
             </channel><item rdf:about=\"x\"><title>t</title></item></rdf:RDF>",
        );
        assert_eq!(h.update_period, Some(Duration::from_secs(7 * 86_400)));
    }
}
