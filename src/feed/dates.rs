//! Dates as feeds write them, to a UTC instant.
//!
//! Reads RFC 3339 / W3C-DTF / ISO 8601 (with or without zone, seconds, separators; date-only,
//! year-month, year), RFC 822/2822 and its real-world mistakes (named zones such as EST/PDT/CEST,
//! military letters, two-digit years, wrong or long weekday names, day and month swapped, full
//! month names), asctime, Perforce and MS-SQL styles, and month names in French, German,
//! Spanish, Italian, Dutch, Portuguese, Greek, Hungarian and Korean. A date without a zone is UTC.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use regex::Regex;

/// Parses one date string; `None` when nothing in it can be read as a date.
pub fn parse_date(input: &str) -> Option<DateTime<Utc>> {
    let s = input.trim();
    if s.is_empty() {
        return None;
    }
    // The common, well-formed cases first: they cost one chrono call.
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    parse_iso(s)
        .or_else(|| parse_korean(s))
        .or_else(|| parse_tokens(s))
}

fn iso_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)^
            (\d{4})                                   # year
            (?:[-/]?(\d{2}|[[:alpha:]\p{L}]+)          # month, number or name (Hungarian feeds)
              (?:[-/]?(\d{1,2}))?)?                   # day
            (?:[T\x20]+(\d{1,2}):?(\d{2})             # hour, minute
              (?::?(\d{2})(?:[.,]\d+)?)?              # second, fraction
            )?
            \s*(Z|[+-]\d{1,2}(?::?\d{2})?|[[:alpha:]]{1,5}(?:[+-]\d{1,2}(?::?\d{2})?)?)?  # zone
            $",
        )
        .expect("static regex")
    })
}

fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    let c = iso_re().captures(s)?;
    let year: i32 = c[1].parse().ok()?;
    let month = match c.get(2) {
        None => 1,
        Some(m) => m
            .as_str()
            .parse()
            .ok()
            .or_else(|| month_from_name(&m.as_str().to_lowercase()))?,
    };
    let day = c.get(3).map_or(Some(1), |d| d.as_str().parse().ok())?;
    let hour = c.get(4).map_or(Some(0), |h| h.as_str().parse().ok())?;
    let minute = c.get(5).map_or(Some(0), |m| m.as_str().parse().ok())?;
    let second = c.get(6).map_or(Some(0), |m| m.as_str().parse().ok())?;
    let offset = match c.get(7) {
        None => 0,
        Some(z) => zone_offset_minutes(z.as_str())?,
    };
    assemble(year, month, day, hour, minute, second, offset)
}

/// OnBlog "2004년 05월 28일 01:31:15" and Nate "2004-05-25 오후 11:23:17".
fn parse_korean(s: &str) -> Option<DateTime<Utc>> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^(\d{4})(?:년|-)\s*(\d{1,2})(?:월|-)\s*(\d{1,2})일?\s+(오전|오후)?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?$")
            .expect("static regex")
    });
    let c = re.captures(s)?;
    let mut hour: u32 = c[5].parse().ok()?;
    match c.get(4).map(|m| m.as_str()) {
        Some("오후") if hour < 12 => hour += 12,
        Some("오전") if hour == 12 => hour = 0,
        _ => {}
    }
    let second = c.get(7).map_or(Some(0), |m| m.as_str().parse().ok())?;
    // Korean sites of that era wrote local time without a zone: KST.
    assemble(
        c[1].parse().ok()?,
        c[2].parse().ok()?,
        c[3].parse().ok()?,
        hour,
        c[6].parse().ok()?,
        second,
        9 * 60,
    )
}

/// Word-by-word reading for RFC 822 and everything shaped like it.
fn parse_tokens(s: &str) -> Option<DateTime<Utc>> {
    let cleaned = s.to_lowercase();
    let mut year: Option<i32> = None;
    let mut month: Option<u32> = None;
    let mut time: Option<(u32, u32, u32)> = None;
    let mut offset: Option<i32> = None;
    let mut pm: Option<bool> = None;

    let mut tokens: Vec<&str> = Vec::new();
    for raw in cleaned.split(|c: char| c.is_whitespace() || c == ',') {
        if raw.is_empty() {
            continue;
        }
        // "2006/09/15" and "15-Jan-2004" carry several parts in one token.
        if raw.contains('/') || (raw.contains('-') && !raw.starts_with(['-', '+'])) {
            tokens.extend(raw.split(['/', '-']).filter(|t| !t.is_empty()));
        } else {
            tokens.push(raw);
        }
    }

    let mut numbers: Vec<u32> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].trim_end_matches('.');
        i += 1;
        if t.contains(':') && t.starts_with(|c: char| c.is_ascii_digit()) {
            time = Some(parse_clock(t)?);
            continue;
        }
        if t.starts_with(['+', '-'])
            && t.len() > 1
            && t[1..].chars().all(|c| c.is_ascii_digit() || c == ':')
        {
            offset = Some(numeric_offset(t)?);
            continue;
        }
        if let Ok(n) = t.parse::<u32>() {
            if t.len() >= 3 {
                year = Some(n as i32);
            } else {
                numbers.push(n);
            }
            continue;
        }
        match t {
            "am" | "a.m." => {
                pm = Some(false);
                continue;
            }
            "pm" | "p.m." => {
                pm = Some(true);
                continue;
            }
            "at" | "de" | "del" | "of" | "the" | "um" | "à" | "h" => continue,
            _ => {}
        }
        // "1st", "22nd": a day with an English suffix.
        if let Some(n) = t
            .strip_suffix("st")
            .or_else(|| t.strip_suffix("nd"))
            .or_else(|| t.strip_suffix("rd"))
            .or_else(|| t.strip_suffix("th"))
            .and_then(|n| n.parse::<u32>().ok())
        {
            numbers.push(n);
            continue;
        }
        if month.is_none()
            && let Some(m) = month_from_name(t)
        {
            month = Some(m);
            continue;
        }
        if is_weekday(t) {
            continue;
        }
        if let Some(off) = named_zone(t) {
            offset = Some(off + offset.unwrap_or(0));
            continue;
        }
        // "GMT+0100" and "UTC-5" glue the offset to the name.
        if let Some(pos) = t.find(['+', '-'])
            && named_zone(&t[..pos]).is_some()
        {
            offset = Some(numeric_offset(&t[pos..])?);
            continue;
        }
        return None;
    }

    let (day, month) = match month {
        Some(m) => {
            // Named month: the remaining small numbers are the day and perhaps a 2-digit year.
            let mut it = numbers.iter();
            let day = it.next().copied();
            if year.is_none() {
                year = it.next().map(|&y| two_digit_year(y));
            }
            (day, m)
        }
        None => {
            // All numeric ("15/09/2006" is rare; feeds that do this are US-style month first
            // only when the first part cannot be a month).
            if numbers.len() < 2 {
                return None;
            }
            let (a, b) = (numbers[0], numbers[1]);
            if year.is_none() {
                year = numbers.get(2).map(|&y| two_digit_year(y));
            }
            if a > 12 { (Some(a), b) } else { (Some(b), a) }
        }
    };
    let year = year?;
    let day = day?;
    let (mut hour, minute, second) = time.unwrap_or((0, 0, 0));
    match pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    assemble(year, month, day, hour, minute, second, offset.unwrap_or(0))
}

fn two_digit_year(y: u32) -> i32 {
    match y {
        0..=49 => 2000 + y as i32,
        50..=99 => 1900 + y as i32,
        _ => y as i32,
    }
}

fn parse_clock(t: &str) -> Option<(u32, u32, u32)> {
    let t = t.split(['.', ',']).next()?;
    let mut parts = t.split(':');
    let h = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let s = parts.next().map_or(Some(0), |s| s.parse().ok())?;
    Some((h, m, s))
}

fn numeric_offset(t: &str) -> Option<i32> {
    let sign = if t.starts_with('-') { -1 } else { 1 };
    let digits: String = t[1..].chars().filter(|c| c.is_ascii_digit()).collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        3 => (
            digits[..1].parse::<i32>().ok()?,
            digits[1..].parse::<i32>().ok()?,
        ),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if h > 14 || m > 59 {
        return None;
    }
    Some(sign * (h * 60 + m))
}

fn zone_offset_minutes(z: &str) -> Option<i32> {
    if z.starts_with(['+', '-']) {
        return numeric_offset(z);
    }
    let lower = z.to_lowercase();
    if let Some(off) = named_zone(&lower) {
        return Some(off);
    }
    let pos = lower.find(['+', '-'])?;
    named_zone(&lower[..pos])?;
    numeric_offset(&lower[pos..])
}

/// Zone abbreviations feeds use, in minutes east of UTC.
fn named_zone(z: &str) -> Option<i32> {
    let h = |x: i32| Some(x * 60);
    match z {
        "z" | "ut" | "utc" | "gmt" | "wet" | "zulu" => h(0),
        "est" => h(-5),
        "edt" => h(-4),
        "cst" => h(-6),
        "cdt" => h(-5),
        "mst" => h(-7),
        "mdt" => h(-6),
        "pst" => h(-8),
        "pdt" => h(-7),
        "akst" => h(-9),
        "akdt" => h(-8),
        "hst" => h(-10),
        "ast" => h(-4),
        "adt" => h(-3),
        "nst" => Some(-210),
        "ndt" => Some(-150),
        "bst" | "cet" | "met" | "west" | "wat" => h(1),
        "cest" | "mest" | "eet" | "sast" | "cat" => h(2),
        "eest" | "msk" | "eat" => h(3),
        "ist" => Some(330),
        "ict" | "wib" => h(7),
        "hkt" | "sgt" | "awst" | "pht" | "wita" => h(8),
        "jst" | "kst" | "wit" => h(9),
        "acst" => Some(570),
        "acdt" => Some(630),
        "aest" => h(10),
        "aedt" => h(11),
        "nzst" => h(12),
        "nzdt" => h(13),
        // RFC 822 military zones, as RFC 1123 says they were meant (A = -1 … M = -12,
        // N = +1 … Y = +12); real feeds that use them mean this.
        _ if z.len() == 1 => {
            let c = z.as_bytes()[0];
            match c {
                b'a'..=b'i' => h(-((c - b'a' + 1) as i32)),
                b'k'..=b'm' => h(-((c - b'a') as i32)),
                b'n'..=b'y' => h((c - b'n' + 1) as i32),
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_weekday(t: &str) -> bool {
    const DAYS: &[&str] = &[
        // English, French, German, Spanish, Italian, Dutch, Portuguese (prefixes)
        "mon", "tue", "wed", "thu", "fri", "sat", "sun", "lun", "mar", "mer", "jeu", "ven", "sam",
        "dim", "mon", "die", "mit", "don", "fre", "sam", "son", "mié", "mie", "jue", "vie", "sáb",
        "dom", "gio", "maa", "din", "woe", "vri", "zat", "zon", "seg", "ter", "qua", "qui", "sex",
        "κυρ", "δευ", "τρι", "τετ", "πεμ", "παρ", "σαβ",
    ];
    // German and French two-letter forms ("Mi", "Do", "Je").
    const SHORT: &[&str] = &[
        "mo", "di", "mi", "do", "fr", "sa", "so", "lu", "ma", "me", "je", "ve",
    ];
    if SHORT.contains(&t) {
        return true;
    }
    let head: String = t.chars().take(3).collect();
    t.chars().all(char::is_alphabetic) && DAYS.contains(&head.as_str())
}

/// Month number from a name in one of the languages feeds are written in.
fn month_from_name(t: &str) -> Option<u32> {
    const MONTHS: &[(&str, u32)] = &[
        // English, and the abbreviations of most Latin-script languages
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
        // French
        ("janv", 1),
        ("févr", 2),
        ("fevr", 2),
        ("mars", 3),
        ("avr", 4),
        ("mai", 5),
        ("juin", 6),
        ("juil", 7),
        ("août", 8),
        ("aout", 8),
        ("déc", 12),
        // German
        ("jän", 1),
        ("mär", 3),
        ("mrz", 3),
        ("okt", 10),
        ("dez", 12),
        // Spanish, Portuguese, Italian
        ("ene", 1),
        ("abr", 4),
        ("ago", 8),
        ("set", 9),
        ("dic", 12),
        ("fev", 2),
        ("out", 10),
        ("dez", 12),
        ("gen", 1),
        ("mag", 5),
        ("giu", 6),
        ("lug", 7),
        ("ott", 10),
        ("gennaio", 1),
        ("febbraio", 2),
        ("marzo", 3),
        ("aprile", 4),
        ("maggio", 5),
        ("giugno", 6),
        ("luglio", 7),
        ("agosto", 8),
        ("settembre", 9),
        ("ottobre", 10),
        ("novembre", 11),
        ("dicembre", 12),
        ("enero", 1),
        ("febrero", 2),
        ("abril", 4),
        ("mayo", 5),
        ("junio", 6),
        ("julio", 7),
        ("septiembre", 9),
        ("setiembre", 9),
        ("octubre", 10),
        ("noviembre", 11),
        ("diciembre", 12),
        ("janeiro", 1),
        ("fevereiro", 2),
        ("março", 3),
        ("maio", 5),
        ("junho", 6),
        ("julho", 7),
        ("setembro", 9),
        ("outubro", 10),
        ("dezembro", 12),
        // Dutch
        ("mei", 5),
        ("maart", 3),
        ("januari", 1),
        ("februari", 2),
        ("augustus", 8),
        // Greek (feedparser's table)
        ("ιαν", 1),
        ("φεβ", 2),
        ("μάώ", 3),
        ("μάρ", 3),
        ("μαρ", 3),
        ("απρ", 4),
        ("μάι", 5),
        ("μαϊ", 5),
        ("μαι", 5),
        ("ιούν", 6),
        ("ιον", 6),
        ("ιουν", 6),
        ("ιούλ", 7),
        ("ιολ", 7),
        ("ιουλ", 7),
        ("αύγ", 8),
        ("αυγ", 8),
        ("σεπ", 9),
        ("οκτ", 10),
        ("νοέ", 11),
        ("νοε", 11),
        ("δεκ", 12),
        // Hungarian
        ("január", 1),
        ("februári", 2),
        ("március", 3),
        ("április", 4),
        ("máju", 5),
        ("május", 5),
        ("június", 6),
        ("július", 7),
        ("augusztus", 8),
        ("szeptember", 9),
        ("október", 10),
        ("december", 12),
    ];
    let t = t.trim_end_matches('.');
    if t.chars().count() < 3 || !t.chars().all(char::is_alphabetic) {
        return None;
    }
    // Exact match first (full names), then the longest known prefix.
    if let Some(&(_, m)) = MONTHS.iter().find(|(name, _)| *name == t) {
        return Some(m);
    }
    MONTHS
        .iter()
        .filter(|(name, _)| t.starts_with(name))
        .max_by_key(|(name, _)| name.len())
        .map(|&(_, m)| m)
}

fn assemble(
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    offset_minutes: i32,
) -> Option<DateTime<Utc>> {
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    // "24:00:00" is the end of the day; leap second 60 is clamped.
    let (hour, extra_day) = if hour == 24 { (0, 1) } else { (hour, 0) };
    let time = NaiveTime::from_hms_opt(hour, minute, second.min(59))?;
    let naive = NaiveDateTime::new(date, time) + Duration::days(extra_day)
        - Duration::minutes(offset_minutes as i64);
    Some(naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> String {
        parse_date(s)
            .unwrap_or_else(|| panic!("{s:?} did not parse"))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    #[test]
    fn rfc3339_with_offsets_and_fractions_reads_to_utc() {
        assert_eq!(utc("2003-12-13T18:30:02Z"), "2003-12-13T18:30:02Z");
        assert_eq!(utc("2003-12-13T18:30:02.25+01:00"), "2003-12-13T17:30:02Z");
        assert_eq!(utc("2019-10-12T07:20:50.52Z"), "2019-10-12T07:20:50Z");
    }

    #[test]
    fn w3dtf_variants_read_to_utc() {
        assert_eq!(utc("2003-12-13T18:30+0100"), "2003-12-13T17:30:00Z");
        assert_eq!(utc("2003-12-13 18:30:02"), "2003-12-13T18:30:02Z");
        assert_eq!(utc("20031213T183002Z"), "2003-12-13T18:30:02Z");
        assert_eq!(utc("2003-12-13T18:30:02-05"), "2003-12-13T23:30:02Z");
    }

    #[test]
    fn a_date_without_a_zone_is_utc() {
        assert_eq!(utc("2004-07-08T23:56:58"), "2004-07-08T23:56:58Z");
        assert_eq!(utc("Thu, 08 Jul 2004 23:56:58"), "2004-07-08T23:56:58Z");
    }

    #[test]
    fn date_only_year_month_and_year_read_as_midnight() {
        assert_eq!(utc("2003-12-13"), "2003-12-13T00:00:00Z");
        assert_eq!(utc("2003-12"), "2003-12-01T00:00:00Z");
        assert_eq!(utc("2003"), "2003-01-01T00:00:00Z");
        assert_eq!(utc("13 Dec 2003"), "2003-12-13T00:00:00Z");
    }

    #[test]
    fn rfc822_with_named_us_zones_reads_to_utc() {
        assert_eq!(utc("Thu, 01 Jan 2004 19:48:21 GMT"), "2004-01-01T19:48:21Z");
        assert_eq!(utc("Thu, 01 Jan 2004 19:48:21 EST"), "2004-01-02T00:48:21Z");
        assert_eq!(utc("Thu, 01 Jul 2004 19:48:21 PDT"), "2004-07-02T02:48:21Z");
        assert_eq!(
            utc("Thu, 01 Jan 2004 19:48:21 CEST"),
            "2004-01-01T17:48:21Z"
        );
        assert_eq!(utc("Thu, 01 Jan 2004 19:48:21 UTC"), "2004-01-01T19:48:21Z");
    }

    #[test]
    fn rfc822_mistakes_are_tolerated() {
        // no seconds, two-digit year, long names, wrong weekday, single-digit day and hour
        assert_eq!(utc("Thu, 01 Jan 04 19:48 +0100"), "2004-01-01T18:48:00Z");
        assert_eq!(
            utc("Thursday, 1 January 2004 9:48:21 GMT"),
            "2004-01-01T09:48:21Z"
        );
        assert_eq!(
            utc("Mon, 01 Jan 2004 19:48:21 -0000"),
            "2004-01-01T19:48:21Z"
        );
        assert_eq!(utc("01 Jan 2004 19:48:21 Z"), "2004-01-01T19:48:21Z");
        assert_eq!(utc("Jan 01 2004 19:48:21 GMT"), "2004-01-01T19:48:21Z");
        assert_eq!(
            utc("Thu, 01 Jan 2004 19:48:21 GMT+01:00"),
            "2004-01-01T18:48:21Z"
        );
        assert_eq!(utc("Thu, 01 Jan 2004 24:00:00 GMT"), "2004-01-02T00:00:00Z");
    }

    #[test]
    fn military_zone_letters_outside_rfc2822_read_to_utc() {
        // chrono's RFC 2822 reader takes "A" as an unknown zone (UTC), as RFC 2822 says; the
        // lenient path reads the letter when the rest is non-standard.
        assert_eq!(utc("01 January 2004 19:48:21 A"), "2004-01-01T20:48:21Z");
    }

    #[test]
    fn asctime_reads_to_utc() {
        assert_eq!(utc("Sun Jan  4 16:29:06 2004"), "2004-01-04T16:29:06Z");
        assert_eq!(utc("Sun Jan  4 16:29:06 PST 2004"), "2004-01-05T00:29:06Z");
    }

    #[test]
    fn perforce_and_mssql_styles_read_to_utc() {
        assert_eq!(utc("Fri, 2006/09/15 08:19:53 EDT"), "2006-09-15T12:19:53Z");
        assert_eq!(utc("2004-07-08 23:56:58.0"), "2004-07-08T23:56:58Z");
    }

    #[test]
    fn non_english_month_names_read_to_utc() {
        assert_eq!(
            utc("Mi, 14 Mär 2007 10:00:00 +0100"),
            "2007-03-14T09:00:00Z"
        );
        assert_eq!(
            utc("mer, 14 févr 2007 10:00:00 GMT"),
            "2007-02-14T10:00:00Z"
        );
        assert_eq!(
            utc("14 diciembre 2007 10:00:00 GMT"),
            "2007-12-14T10:00:00Z"
        );
        assert_eq!(
            utc("Κυρ, 11 Ιούλ 2004 12:00:00 EST"),
            "2004-07-11T17:00:00Z"
        );
        assert_eq!(utc("2004-július-13T9:15-05:00"), "2004-07-13T14:15:00Z");
        assert_eq!(utc("14 maggio 2007 10:00 GMT"), "2007-05-14T10:00:00Z");
    }

    #[test]
    fn korean_blog_dates_read_as_seoul_time() {
        assert_eq!(utc("2004년 05월 28일  01:31:15"), "2004-05-27T16:31:15Z");
        assert_eq!(utc("2004-05-25 오후 11:23:17"), "2004-05-25T14:23:17Z");
    }

    #[test]
    fn twelve_hour_clocks_read_to_utc() {
        assert_eq!(
            utc("January 5, 2004 at 3:04 PM GMT"),
            "2004-01-05T15:04:00Z"
        );
    }

    #[test]
    fn nonsense_is_no_date() {
        assert_eq!(parse_date("soon"), None);
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("2004-13-45"), None);
    }
}
