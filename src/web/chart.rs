//! The small inline SVG charts of the pages: a feed's last polls (one bar each, its height the
//! poll's duration, its colour how it ended) and a topic's hits per day. Drawn on the server,
//! inline in the page: no script and no request of their own.

use maud::{Markup, html};

use crate::store::{PollOutcome, PollPoint};

/// A feed's last polls, oldest on the left: green ok, grey 304, red error; the taller, the
/// slower. Each bar's tooltip says when, how and how long.
pub fn polls(points: &[PollPoint]) -> Markup {
    let (w, h, bar) = (150.0_f64, 24.0_f64, 5.0_f64);
    let longest = points
        .iter()
        .filter_map(|p| p.duration_ms)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    html! {
        svg class="polls" width=(w) height=(h) viewBox={"0 0 " (w) " " (h)} role="img"
            aria-label={(points.len()) " recent polls"} {
            @for (i, p) in points.iter().enumerate() {
                @let height = p.duration_ms.map_or(h * 0.5, |d| (d as f64 / longest * (h - 2.0)).max(2.0));
                @let class = match p.outcome {
                    PollOutcome::Ok => "ok",
                    PollOutcome::NotModified => "nm",
                    PollOutcome::Error => "err",
                };
                rect class=(class) x=(i as f64 * bar) y=(h - height) width=(bar - 1.0) height=(height) {
                    title {
                        (crate::store::rfc3339(p.at)) " " (p.outcome.as_str())
                        @if let Some(s) = p.http_status { " (HTTP " (s) ")" }
                        @if let Some(d) = p.duration_ms { ", " (d) " ms" }
                        @if let Some(e) = &p.error { ": " (e) }
                    }
                }
            }
        }
    }
}

/// Hits per day over `days` days ending today: (unix day number, hits).
pub fn per_day(hits: &[(i64, i64)], today: i64, days: i64) -> Markup {
    let (bar, h) = (6.0_f64, 30.0_f64);
    let w = bar * days as f64;
    let most = hits.iter().map(|&(_, n)| n).max().unwrap_or(0).max(1) as f64;
    html! {
        svg class="perday" width=(w) height=(h) viewBox={"0 0 " (w) " " (h)} role="img"
            aria-label={"hits per day over " (days) " days"} {
            @for d in 0..days {
                @let day = today - days + 1 + d;
                @let n = hits.iter().find(|&&(k, _)| k == day).map_or(0, |&(_, n)| n);
                @let height = if n == 0 { 1.0 } else { (n as f64 / most * (h - 2.0)).max(2.0) };
                rect x=(d as f64 * bar) y=(h - height) width=(bar - 1.0) height=(height) class=(if n == 0 { "zero" } else { "hit" }) {
                    title { (day_label(day)) ": " (n) }
                }
            }
        }
    }
}

/// A unix day number as `YYYY-MM-DD`.
pub fn day_label(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * 86400, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_poll_is_one_bar_coloured_by_how_it_ended() {
        let p = |outcome, ms| PollPoint {
            at: 1_700_000_000,
            outcome,
            http_status: Some(200),
            duration_ms: Some(ms),
            new_items: 0,
            error: None,
        };
        let svg = polls(&[
            p(PollOutcome::Ok, 100),
            p(PollOutcome::Error, 50),
            p(PollOutcome::NotModified, 10),
        ])
        .into_string();
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        assert!(
            svg.contains("class=\"ok\"")
                && svg.contains("class=\"err\"")
                && svg.contains("class=\"nm\"")
        );
    }

    #[test]
    fn a_day_without_hits_still_has_its_place() {
        let svg = per_day(&[(100, 3)], 100, 30).into_string();
        assert_eq!(svg.matches("<rect").count(), 30);
        assert_eq!(svg.matches("class=\"hit\"").count(), 1);
    }
}
