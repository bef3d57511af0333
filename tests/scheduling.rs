//! The daemon's timing on paused tokio time: days of polling run in moments and nothing sleeps
//! for real. The daemon runs in this process (`daemon::run_with_clock` on a clock that moves
//! with tokio's) against real HTTP servers on loopback, in the same runtime, so that time only
//! moves when every task waits on a timer.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use feedwatch::clock::Clock;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use support::*;

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// An RSS document of `(guid, date)` items, newest first, with `channel` added to the channel.
fn dated_rss(title: &str, channel: &str, items: &[(String, DateTime<Utc>)]) -> Vec<u8> {
    let mut s = format!(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>{title}</title>\
         <link>https://example.org/</link><description>t</description>{channel}\n"
    );
    for (guid, date) in items {
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title} {guid}</title>\
             <link>https://example.org/{guid}</link><pubDate>{}</pubDate></item>\n",
            date.to_rfc2822()
        ));
    }
    s.push_str("</channel></rss>\n");
    s.into_bytes()
}

fn serve(site: &Site, path: &str, body: Vec<u8>, version: usize) {
    site.route(
        path,
        Route::Body {
            content_type: "application/rss+xml",
            body,
            etag: Some(format!("\"v{version}\"")),
        },
    );
}

fn write_config(dir: &Path, rest: &str) -> PathBuf {
    let path = dir.join("feedwatch.toml");
    std::fs::write(
        &path,
        format!(
            "[daemon]\ndatabase = \"{}\"\nallow_private_addresses = true\n\n\
             [defaults]\ninterval = \"30m\"\nfull_article = false\n\n{rest}",
            support::database(dir)
        ),
    )
    .unwrap();
    path
}

/// The daemon on `config`, on a clock reading `start` now and moving with tokio's.
struct Daemon {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    _reload: mpsc::Sender<()>,
}

impl Daemon {
    fn start(config: &Path, start: DateTime<Utc>) -> Daemon {
        let config = feedwatch::config::load(config).unwrap_or_else(|e| panic!("{e}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let (reload, reloads) = mpsc::channel(1);
        let task = tokio::spawn(feedwatch::daemon::run_with_clock(
            config,
            Clock::tokio(start),
            async move {
                let _ = stopped.await;
            },
            reloads,
        ));
        Daemon {
            stop: Some(stop),
            task,
            _reload: reload,
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

/// Gaps between the requests to `path`, in minutes.
fn gaps_minutes(site: &Site, path: &str) -> Vec<f64> {
    let seen = site.requests_to(path);
    seen.windows(2)
        .map(|w| (w[1].at - w[0].at).as_secs_f64() / 60.0)
        .collect()
}

/// The `feeds` table's line for a feed.
async fn feeds_line(config: &Path, feed: &str) -> String {
    let out = feedwatch(config, &["feeds"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .find(|l| l.starts_with(feed))
        .unwrap_or_else(|| panic!("no line for {feed}: {}", text(&out.stdout)))
        .to_string()
}

#[tokio::test(start_paused = true)]
async fn a_feed_posting_hourly_is_polled_far_more_often_than_one_posting_weekly() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    let start = Utc::now();
    let hour = chrono::Duration::hours(1);
    let mut hourly: Vec<(String, DateTime<Utc>)> = (0..20)
        .map(|i| (format!("h{i}"), start - hour * i))
        .collect();
    let weekly: Vec<(String, DateTime<Utc>)> = (0..10)
        .map(|i| (format!("w{i}"), start - chrono::Duration::days(7 * i + 2)))
        .collect();
    serve(&site, "/hourly.xml", dated_rss("Hourly", "", &hourly), 0);
    serve(&site, "/weekly.xml", dated_rss("Weekly", "", &weekly), 0);
    let config = write_config(
        dir.path(),
        &format!(
            "[[feed]]\nname = \"hourly\"\nurl = \"{base}/hourly.xml\"\n\n\
             [[feed]]\nname = \"weekly\"\nurl = \"{base}/weekly.xml\"\n"
        ),
    );
    let daemon = Daemon::start(&config, start);
    // Two days; the hourly feed posts every hour on the hour of its own clock.
    for n in 1..=48 {
        tokio::time::sleep(Duration::from_secs(HOUR)).await;
        hourly.insert(0, (format!("n{n}"), start + hour * n));
        hourly.truncate(20);
        serve(
            &site,
            "/hourly.xml",
            dated_rss("Hourly", "", &hourly),
            n as usize,
        );
    }
    daemon.stop().await;

    let hourly_polls = site.requests_to("/hourly.xml").len();
    let weekly_polls = site.requests_to("/weekly.xml").len();
    // Half an hour apart (an hour's gap between posts, halved): about 96 in two days.
    assert!(
        (80..=110).contains(&hourly_polls),
        "hourly feed polled {hourly_polls} times in 2 days: {:?}",
        gaps_minutes(&site, "/hourly.xml")
    );
    // Weekly posts: at max_interval (6 h), about 8 in two days (its first poll's place in the
    // period comes within 3 to 9 hours).
    assert!(
        (7..=10).contains(&weekly_polls),
        "weekly feed polled {weekly_polls} times in 2 days: {:?}",
        gaps_minutes(&site, "/weekly.xml")
    );
    let gaps = gaps_minutes(&site, "/weekly.xml");
    assert!(
        gaps[1..].iter().all(|g| (g - 360.0).abs() < 2.0),
        "{gaps:?}"
    );
    let line = feeds_line(&config, "hourly").await;
    assert!(line.contains("rate (3"), "{line}");
    let line = feeds_line(&config, "weekly").await;
    assert!(line.contains("max-interval (6h)"), "{line}");
}

#[tokio::test(start_paused = true)]
async fn ttl_and_skip_hours_hold_a_busy_feed_back_and_a_cron_line_wins_over_them() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    // Midnight GMT, so the skipped hours (02:00-05:59) come within the first day.
    let start = DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    // Posts every 10 minutes, but asks for 2 hours between polls and none from 2 to 6 GMT.
    let busy: Vec<(String, DateTime<Utc>)> = (0..20)
        .map(|i| (format!("b{i}"), start - chrono::Duration::minutes(10 * i)))
        .collect();
    let hints = "<ttl>120</ttl><skipHours><hour>2</hour><hour>3</hour><hour>4</hour><hour>5</hour></skipHours>";
    serve(&site, "/ttl.xml", dated_rss("Ttl", hints, &busy), 0);
    serve(&site, "/cron.xml", dated_rss("Cron", hints, &busy), 0);
    let config = write_config(
        dir.path(),
        &format!(
            "[[feed]]\nname = \"ttl\"\nurl = \"{base}/ttl.xml\"\n\n\
             [[feed]]\nname = \"cron\"\nurl = \"{base}/cron.xml\"\nschedule = \"0 */1 * * *\"\n"
        ),
    );
    let daemon = Daemon::start(&config, start);
    // Until 23:30, short of the next day's first poll.
    tokio::time::sleep(Duration::from_secs(DAY - HOUR / 2)).await;
    daemon.stop().await;

    let ttl = site.requests_to("/ttl.xml");
    let gaps = gaps_minutes(&site, "/ttl.xml");
    // Never sooner than the ttl, and nothing in the skipped hours.
    assert!(gaps.iter().all(|g| *g >= 119.9), "{gaps:?}");
    let origin = ttl[0].at;
    let hours: Vec<u64> = ttl
        .iter()
        .map(|s| (s.at - origin).as_secs() / HOUR)
        .collect();
    assert!(
        hours.iter().all(|h| !(2..6).contains(h)),
        "polled in a skipped hour: {hours:?}"
    );
    // Every two hours from midnight, 06:00 standing in for 02:00 and 04:00.
    assert_eq!(hours, vec![0, 6, 8, 10, 12, 14, 16, 18, 20, 22]);
    // The cron line is kept: hourly, the skipped hours included.
    let cron = site.requests_to("/cron.xml").len();
    assert!((24..=25).contains(&cron), "cron feed polled {cron} times");
    let line = feeds_line(&config, "ttl").await;
    assert!(line.contains("ttl (2h)"), "{line}");
    let line = feeds_line(&config, "cron").await;
    assert!(line.contains(" cron "), "{line}");
}

#[tokio::test(start_paused = true)]
async fn a_failing_feed_backs_off_doubling_and_is_back_on_its_interval_once_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/down.xml",
        Route::Status {
            status: 503,
            retry_after: None,
        },
    );
    let config = write_config(
        dir.path(),
        &format!("[[feed]]\nname = \"down\"\nurl = \"{base}/down.xml\"\n"),
    );
    let start = Utc::now();
    let daemon = Daemon::start(&config, start);
    tokio::time::sleep(Duration::from_secs(2 * HOUR)).await;
    let gaps = gaps_minutes(&site, "/down.xml");
    // 1 minute, 2, 4, 8, … each within the ±20% jitter (and a second of rounding).
    assert!(gaps.len() >= 5, "{gaps:?}");
    for (i, g) in gaps.iter().enumerate() {
        let expected = 2f64.powi(i as i32);
        assert!(
            *g >= expected * 0.8 - 0.02 && *g <= expected * 1.2 + 0.02,
            "retry {i} after {g} min, expected about {expected}: {gaps:?}"
        );
    }
    let line = feeds_line(&config, "down").await;
    assert!(line.contains("backoff ("), "{line}");

    // It answers again: the retry due gets it, and from then on it is polled on its interval
    // (30 min while its rate is unknown), from its own place in the period.
    serve(&site, "/down.xml", dated_rss("Down", "", &[]), 1);
    let failures = gaps.len() + 1;
    tokio::time::sleep(Duration::from_secs(6 * HOUR)).await;
    daemon.stop().await;
    let gaps = gaps_minutes(&site, "/down.xml");
    let after = &gaps[failures + 1..];
    assert!(
        after.len() >= 8 && after.iter().all(|g| (g - 30.0).abs() < 0.5),
        "{gaps:?}"
    );
    let line = feeds_line(&config, "down").await;
    assert!(line.contains("interval (30m)"), "{line}");
}

/// The number of stories in the webhooks a receiver got, and the type of each.
fn received(hook: &Receiver) -> Vec<(String, usize)> {
    hook.received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            (
                v["type"].as_str().unwrap_or_default().to_string(),
                v["stories"].as_array().map_or(0, Vec::len),
            )
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_digest_goes_at_its_hour_and_an_alert_in_quiet_hours_when_they_end() {
    use chrono::{Local, TimeZone, Timelike};
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/moon.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss(
                "Moon",
                &[
                    (
                        "m1",
                        "Artemis crew named for the moon",
                        "https://example.org/m1",
                    ),
                    ("m2", "Moon rock returns to Earth", "https://example.org/m2"),
                ],
            ),
            etag: Some("\"m\"".into()),
        },
    );
    let digest_hook = webhook_receiver(vec![200]).await;
    let quiet_hook = webhook_receiver(vec![200]).await;
    // 23:00 on the machine's clock, inside quiet hours that end at 07:00; the digest goes at
    // the hour (its cron line reads UTC) nine hours on.
    let start = Local
        .with_ymd_and_hms(2026, 12, 7, 23, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc);
    let digest_hour = (start + chrono::Duration::hours(9)).hour();
    let config = write_config(
        dir.path(),
        &format!(
            "[[feed]]\nname = \"moon\"\nurl = \"{base}/moon.xml\"\nalert_backlog = true\n\n\
             [[topic]]\nname = \"daily\"\nquery = \"moon\"\nnotify = [\"digest\"]\ndigest = \"0 {digest_hour} * * *\"\n\n\
             [[topic]]\nname = \"night\"\nquery = \"moon\"\nnotify = [\"quiet\"]\nquiet_hours = \"22:00-07:00\"\n\n\
             [[notifier]]\nname = \"digest\"\ntype = \"webhook\"\nurl = \"{}\"\n\n\
             [[notifier]]\nname = \"quiet\"\ntype = \"webhook\"\nurl = \"{}\"\n",
            digest_hook.url, quiet_hook.url
        ),
    );
    let daemon = Daemon::start(&config, start);
    let minute = Duration::from_secs(60);
    tokio::time::sleep(8 * Duration::from_secs(HOUR) - minute).await;
    assert!(!site.requests_to("/moon.xml").is_empty());
    assert_eq!(received(&quiet_hook), vec![], "sent in quiet hours");
    assert_eq!(
        received(&digest_hook),
        vec![],
        "digest sent before its hour"
    );
    // 07:01: the held alerts go, one per story.
    tokio::time::sleep(2 * minute).await;
    assert_eq!(
        received(&quiet_hook),
        vec![
            ("topic.match".to_string(), 1),
            ("topic.match".to_string(), 1)
        ]
    );
    assert_eq!(
        received(&digest_hook),
        vec![],
        "digest sent before its hour"
    );
    // Just past the digest's hour: one message with both stories.
    tokio::time::sleep(Duration::from_secs(HOUR)).await;
    daemon.stop().await;
    assert_eq!(
        received(&digest_hook),
        vec![("topic.digest".to_string(), 2)]
    );
}

/// An RSS document of undated items.
fn undated_rss(guids: &[String]) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>Blog</title>\
         <link>https://example.org/</link><description>t</description>\n",
    );
    for g in guids {
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{g}</guid><title>Post {g}</title>\
             <link>https://example.org/{g}</link></item>\n"
        ));
    }
    s.push_str("</channel></rss>\n");
    s.into_bytes()
}

#[tokio::test(start_paused = true)]
async fn an_undated_feed_is_timed_by_first_sightings_and_its_republished_archive_is_one_post() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    let mut posts: Vec<String> = (0..5).map(|i| format!("p{i}")).collect();
    serve(&site, "/blog.xml", undated_rss(&posts), 0);
    let config = write_config(
        dir.path(),
        &format!("[[feed]]\nname = \"blog\"\nurl = \"{base}/blog.xml\"\n"),
    );
    let daemon = Daemon::start(&config, Utc::now());
    let mut version = 0;
    let mut post = |site: &Site, posts: &mut Vec<String>, extra: &[String]| {
        version += 1;
        posts.insert(0, format!("n{version}"));
        let mut all = posts.clone();
        all.extend_from_slice(extra);
        serve(site, "/blog.xml", undated_rss(&all), version);
    };
    // A post every two hours for a day: polled about hourly once that is seen.
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_secs(2 * HOUR)).await;
        post(&site, &mut posts, &[]);
    }
    let line = feeds_line(&config, "blog").await;
    assert!(
        line.contains("rate (1h") || line.contains("rate (5"),
        "{line}"
    );
    let before = site.requests_to("/blog.xml").len();
    // The whole archive, 300 old posts, republished at once with the next post; then a post
    // every two hours again.
    let archive: Vec<String> = (0..300).map(|i| format!("old{i}")).collect();
    tokio::time::sleep(Duration::from_secs(2 * HOUR)).await;
    post(&site, &mut posts, &archive);
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(2 * HOUR)).await;
        post(&site, &mut posts, &archive);
    }
    daemon.stop().await;
    let after = site.requests_to("/blog.xml").len() - before;
    // Twelve hours at about an hour apart; not the 72 polls of a feed that looked busy.
    assert!(
        (9..=16).contains(&after),
        "{after} polls in 12 h: {:?}",
        gaps_minutes(&site, "/blog.xml")
    );
    let line = feeds_line(&config, "blog").await;
    assert!(
        line.contains("rate (") && !line.contains("min-interval"),
        "{line}"
    );
}
