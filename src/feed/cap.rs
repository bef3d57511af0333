//! The newest items of a feed, taken before the feed parser sees the rest.
//!
//! A 10 MiB feed may hold 300,000 tiny items (or a JSON Feed 640,000); parsing them all cost
//! half a gigabyte and minutes downstream. [`newest_xml`] and [`newest_json`] read the document
//! once, date each item cheaply, and hand on a document with only the newest `max` items (the
//! first in document order where dates are missing, as feeds list the newest first), so what
//! feed-rs and everything after it hold is bounded by `max`, not by what the publisher wrote.
//! A document with `max` items or fewer comes back untouched (`None`).

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

use super::dates::parse_date;
use super::repair::{EndTags, next_start_tag};

/// Which `n` of `dates` to keep: the newest, ties and undated ones in document order.
fn newest(dates: &[Option<DateTime<Utc>>], n: usize) -> Vec<bool> {
    let mut order: Vec<usize> = (0..dates.len()).collect();
    // Dated before undated, newest first; stable, so ties keep document order.
    order.sort_by(|&a, &b| dates[b].cmp(&dates[a]));
    let mut keep = vec![false; dates.len()];
    for &i in order.iter().take(n) {
        keep[i] = true;
    }
    keep
}

/// An RSS, RDF or Atom document with only its newest `max` items (`<item>`, `<entry>`, under
/// any prefix); `None` when it has no more than `max`. Linear in the document.
pub fn newest_xml(text: &str, max: usize) -> Option<String> {
    let is_item = |name: &str| {
        let local = name.rsplit(':').next().unwrap_or(name);
        local == "item" || local == "entry"
    };
    // Cheap counts first: most feeds are far under the cap. A document holds fewer items than
    // bytes (no count at all without a cap); each item opens with a '<' (one vectorised byte
    // count), and its tag name holds "item" or "entry".
    if text.len() <= max
        || text.bytes().filter(|&b| b == b'<').count() <= max
        || text.matches("item").count() + text.matches("entry").count() <= max
    {
        return None;
    }
    let closes = EndTags::new(text, |local| local == "item" || local == "entry");
    // (start, end) of each top-level item, in document order.
    let mut items: Vec<(usize, usize)> = Vec::new();
    let mut pos = 0;
    while let Some(tag) = next_start_tag(text, pos) {
        pos = tag.end;
        if !is_item(tag.name) || tag.self_closing {
            continue;
        }
        // An item never closed runs to the end: nothing after it can be cut safely.
        let Some(close) = closes.first_at_or_after(tag.name, tag.end) else {
            break;
        };
        let end = close + tag.name.len() + 3;
        items.push((tag.start, end));
        pos = end;
    }
    if items.len() <= max {
        return None;
    }
    let dates: Vec<Option<DateTime<Utc>>> = items
        .iter()
        .map(|&(start, end)| item_date(&text[start..end]))
        .collect();
    let keep = newest(&dates, max);
    let mut out = String::with_capacity(text.len() / 2);
    let mut copied = 0;
    for (&(start, end), keep) in items.iter().zip(keep) {
        if !keep {
            out.push_str(&text[copied..start]);
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// The date of an item: its first `pubDate`, `published`, `updated`, `date`, `issued` or
/// `modified` element (any prefix) that parses.
fn item_date(item: &str) -> Option<DateTime<Utc>> {
    let mut pos = 1;
    while let Some(tag) = next_start_tag(item, pos) {
        pos = tag.end;
        let local = tag.name.rsplit(':').next().unwrap_or(tag.name);
        let dated = [
            "pubdate",
            "published",
            "updated",
            "date",
            "issued",
            "modified",
        ]
        .iter()
        .any(|d| local.eq_ignore_ascii_case(d));
        if !dated || tag.self_closing {
            continue;
        }
        let value = &item[tag.end..];
        let value = value.strip_prefix("<![CDATA[").unwrap_or(value);
        let end = value.find(['<', ']']).unwrap_or(value.len()).min(128);
        if let Some(d) = parse_date(crate::bounds::prefix(value, end).trim()) {
            return Some(d);
        }
    }
    None
}

/// A JSON Feed with only its newest `max` items, the other members kept as written; `None`
/// when it has no more than `max`, or is not an object with an `items` array. Items are read
/// as raw JSON, never as values, so 640,000 of them cost their bytes and no more.
pub fn newest_json(text: &str, max: usize) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Dates {
        date_published: Option<String>,
        date_modified: Option<String>,
    }
    // Fewer items than bytes: without a cap, no read at all.
    if text.len() <= max {
        return None;
    }
    let top = members(text)?;
    let items_raw = top.iter().find(|(k, _)| k == "items")?.1;
    let items: Vec<&RawValue> = serde_json::from_str(items_raw.get()).ok()?;
    if items.len() <= max {
        return None;
    }
    let dates: Vec<Option<DateTime<Utc>>> = items
        .iter()
        .map(|raw| {
            let d: Dates = serde_json::from_str(raw.get()).ok()?;
            d.date_published
                .or(d.date_modified)
                .and_then(|s| parse_date(&s))
        })
        .collect();
    let keep = newest(&dates, max);
    let mut out = String::with_capacity(text.len() / 2);
    out.push('{');
    for (i, (key, value)) in top.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).ok()?);
        out.push(':');
        if key == "items" {
            out.push('[');
            let kept = items.iter().zip(&keep).filter(|(_, k)| **k);
            for (j, (item, _)) in kept.enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(item.get());
            }
            out.push(']');
        } else {
            out.push_str(value.get());
        }
    }
    out.push('}');
    Some(out)
}

/// The members of a JSON object, in order, their values raw.
fn members(text: &str) -> Option<Vec<(String, &RawValue)>> {
    use serde::de::{Deserializer, MapAccess, Visitor};
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, &'de RawValue)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let out = (&mut de).deserialize_map(Members).ok()?;
    de.end().ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss_items(n: usize, dated: bool) -> String {
        let mut s = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for i in 0..n {
            s.push_str(&format!("<item><title>n{i}</title><guid>g{i}</guid>"));
            if dated {
                // Items in no particular order of date: i*7 mod n days after the epoch.
                let day = (i * 7) % n;
                let d = DateTime::from_timestamp(day as i64 * 86_400, 0).unwrap();
                s.push_str(&format!("<pubDate>{}</pubDate>", d.to_rfc2822()));
            }
            s.push_str("</item>");
        }
        s.push_str("</channel></rss>");
        s
    }

    #[test]
    fn a_feed_under_the_cap_is_left_alone() {
        assert_eq!(newest_xml(&rss_items(10, true), 10), None);
        assert_eq!(newest_json(r#"{"items":[{},{}]}"#, 2), None);
    }

    #[test]
    fn the_newest_items_are_kept_by_date_in_document_order() {
        let doc = newest_xml(&rss_items(100, true), 5).unwrap();
        assert_eq!(doc.matches("<item>").count(), 5);
        // Days 95..99 are the newest: i*7 mod 100 = 95..99 for these i, kept in order.
        let kept: Vec<usize> = (0..100).filter(|i| (i * 7) % 100 >= 95).collect();
        let titles: Vec<String> = kept
            .iter()
            .map(|i| format!("<title>n{i}</title>"))
            .collect();
        let mut at = 0;
        for t in &titles {
            let found = doc[at..].find(t.as_str()).unwrap();
            at += found;
        }
        assert!(doc.ends_with("</channel></rss>"));
    }

    #[test]
    fn undated_items_are_taken_first_in_the_document() {
        let doc = newest_xml(&rss_items(50, false), 3).unwrap();
        assert!(doc.contains("n0<") && doc.contains("n2<") && !doc.contains("n3<"));
    }

    #[test]
    fn json_feed_items_are_cut_and_the_rest_kept() {
        let items: Vec<String> = (0..20)
            .map(|i| {
                format!(
                    r#"{{"id":"{i}","date_published":"2024-01-{:02}T00:00:00Z"}}"#,
                    i + 1
                )
            })
            .collect();
        let doc = format!(
            r#"{{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{}],"home_page_url":"https://a/"}}"#,
            items.join(",")
        );
        let cut = newest_json(&doc, 2).unwrap();
        let v: serde_json::Value = serde_json::from_str(&cut).unwrap();
        let ids: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["18", "19"]);
        assert_eq!(v["title"], "T");
        assert_eq!(v["home_page_url"], "https://a/");
    }
}
