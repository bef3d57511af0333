//! The HTML pages, rendered on the server with maud (which escapes every value it is given: a
//! feed's title or text can never become markup). No script; links only to `http(s)` URLs;
//! no image from anywhere.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::api::{self, CHART_DAYS, FeedStatus, TESTER_BUDGET};
use super::{Params, Web, chart, safe_link, store_failure, tester};
use crate::outbox::OutboxState;
use crate::store::{Copy, StoryCursor, StoryListing, TopicMatch};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Every page's frame: the title, the stylesheet, the menu.
fn layout(title: &str, current: &str, body: Markup) -> Response {
    let menu = [
        ("/", "Overview"),
        ("/feeds", "Feeds"),
        ("/stories", "Stories"),
        ("/topics", "Topics"),
        ("/alerts", "Alerts"),
    ];
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · feedwatch" }
                link rel="stylesheet" href="/style.css";
                // No icon: an empty one, so the browser does not ask for /favicon.ico.
                link rel="icon" href="data:,";
            }
            body {
                header {
                    span.brand { "feedwatch" }
                    nav {
                        @for (href, label) in menu {
                            a href=(href) class=[(href == current).then_some("current")] { (label) }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
        .into_response()
}

fn problem(status: StatusCode, message: &str) -> Response {
    let mut r = layout(
        "Problem",
        "",
        html! { h1 { "Cannot show this" } p.error { (message) } },
    );
    *r.status_mut() = status;
    r
}

fn failed(e: crate::store::StoreError) -> Response {
    let (status, message) = store_failure(e);
    problem(status, &message)
}

/// A link to a feed's page when its URL is `http(s)`; the text alone otherwise.
fn out_link(url: &str, text: &str) -> Markup {
    html! {
        @if let Some(u) = safe_link(url) {
            a href=(u) rel="noopener noreferrer nofollow" { (text) }
        } @else {
            span { (text) }
        }
    }
}

/// A time as the pages show it: RFC 3339 without the seconds' noise.
fn when(t: Option<&str>) -> String {
    t.map(|t| t.replace('T', " ").trim_end_matches('Z').to_string() + " UTC")
        .unwrap_or_else(|| "–".into())
}

pub async fn overview(State(web): State<Web>) -> Response {
    let now = now();
    let feeds = match api::feed_views(&web) {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let (stories, today) = match web.store.story_counts(now - 86400) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let counts = match web.store.outbox_counts() {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let health = web.metrics.unhealthy_because(now, 120);
    let failing: Vec<&api::FeedView> = feeds
        .iter()
        .filter(|f| f.status == FeedStatus::Failing)
        .collect();
    let pending: i64 = counts.iter().map(|c| c.pending + c.sending).sum();
    let given_up: i64 = counts.iter().map(|c| c.failed).sum();
    layout(
        "Overview",
        "/",
        html! {
            h1 { "Overview" }
            p class=(if health.is_none() { "health ok" } else { "health bad" }) {
                @match &health { None => "The daemon is healthy.", Some(why) => { "Unhealthy: " (why) } }
            }
            ul.tiles {
                li { a href="/feeds" { strong { (feeds.len()) } " feeds" } br; (failing.len()) " failing" }
                li { a href="/stories" { strong { (stories) } " stories" } br; (today) " in the last 24 h" }
                li { a href="/alerts?state=pending" { strong { (pending) } " alerts waiting" } br; a href="/alerts?state=failed" { (given_up) " given up" } }
                li { a href="/topics" { strong { (web.catalog().topics.len()) } " topics" } }
            }
            @if !failing.is_empty() {
                h2 { "Failing feeds" }
                ul {
                    @for f in &failing {
                        li { a href={"/stories?feed=" (urlencode(&f.key))} { (f.name) } ": " (f.last_error.as_deref().unwrap_or("")) " (" (f.consecutive_errors) " in a row)" }
                    }
                }
            }
        },
    )
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn feeds(State(web): State<Web>) -> Response {
    let feeds = match api::feed_views(&web) {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    layout(
        "Feeds",
        "/feeds",
        html! {
            h1 { "Feeds" }
            @if feeds.is_empty() { p { "No feed has been registered yet." } }
            table.feeds {
                thead { tr {
                    th { "Feed" } th { "Status" } th { "Last success" } th { "Errors in a row" }
                    th { "Next poll" } th { "Items" } th { "Last " (api::POLLS_SHOWN) " polls" }
                } }
                tbody {
                    @for f in &feeds {
                        tr {
                            td {
                                a href={"/stories?feed=" (urlencode(&f.key))} { (f.name) }
                                br; small { (out_link(&f.url, &f.url)) }
                            }
                            td {
                                span class={"status " (f.status.as_str())} { (f.status.as_str()) }
                                @if let Some(s) = &f.last_status { br; small { (s) } }
                                @if let Some(e) = &f.last_error { br; small.error { (e) } }
                            }
                            td { (when(f.last_success.as_deref())) }
                            td.num { (f.consecutive_errors) }
                            td {
                                (when(f.next_poll.as_deref()))
                                @if let Some(r) = &f.next_poll_reason { br; small { (r) } }
                            }
                            td.num { (f.items) }
                            td { (chart::polls(&f.polls)) }
                        }
                    }
                }
            }
            p.legend { span.swatch.ok {} " ok " span.swatch.nm {} " not modified (304) " span.swatch.err {} " error; the taller, the slower" }
        },
    )
}

fn also_at(copies: &[Copy]) -> Markup {
    html! {
        @if !copies.is_empty() {
            div.also { "Also at: "
                @for (i, c) in copies.iter().enumerate() {
                    @if i > 0 { ", " }
                    span.outlet { (out_link(&c.url, &c.feed)) }
                }
            }
        }
    }
}

fn topic_list(topics: &[TopicMatch]) -> Markup {
    html! {
        @if !topics.is_empty() {
            div.topics {
                @for t in topics {
                    span.topic { a href={"/stories?topic=" (urlencode(&t.topic))} { (t.topic) }
                        @if !t.terms.is_empty() { " (" (t.terms.join(", ")) ")" } }
                }
            }
        }
    }
}

fn story_item(s: &StoryListing) -> Markup {
    html! {
        li.story {
            a.title href={"/stories/" (s.id)} { (s.title) }
            div.meta {
                a href={"/stories?feed=" (urlencode(&s.feed_key))} { (s.feed) } " · "
                (when(s.published.as_deref().or(Some(&s.first_seen))))
                " · " (out_link(&s.url, "original"))
            }
            (also_at(&s.also_at))
            (topic_list(&s.topics))
        }
    }
}

pub async fn stories(State(web): State<Web>, RawQuery(q): RawQuery) -> Response {
    let p = Params::of(q.as_deref());
    let catalog = web.catalog();
    let (filter, after, limit) = match api::story_query(&p, &catalog, now()) {
        Ok(x) => x,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e),
    };
    let (items, next) = match api::story_page(&web, &filter, after, limit) {
        Ok(x) => x,
        Err(e) => return failed(e),
    };
    let mut feeds: Vec<(String, String)> = match web.store.feed_names() {
        Ok(f) => f
            .into_iter()
            .map(|(key, title)| (super::feed_name(&catalog, &key, title.as_deref()), key))
            .collect(),
        Err(e) => return failed(e),
    };
    feeds.sort();
    let keep = |name: &str| -> String {
        ["topic", "feed", "tag", "since", "limit"]
            .iter()
            .filter(|&&k| k != name)
            .filter_map(|k| p.get(k).map(|v| format!("{k}={}", urlencode(v))))
            .collect::<Vec<_>>()
            .join("&")
    };
    layout(
        "Stories",
        "/stories",
        html! {
            h1 { "Stories" }
            form.filters method="get" action="/stories" {
                label { "Topic " select name="topic" {
                    option value="" { "any" }
                    @for t in &catalog.topics { option value=(t.name) selected[p.get("topic") == Some(&t.name)] { (t.name) } }
                } }
                label { "Feed " select name="feed" {
                    option value="" { "any" }
                    @for (name, key) in &feeds { option value=(key) selected[p.get("feed") == Some(key)] { (name) } }
                } }
                label { "Tag " input name="tag" value=[p.get("tag")] list="tags" size="10"; }
                datalist id="tags" { @for t in catalog.tags() { option value=(t) {} } }
                label { "Since " select name="since" {
                    option value="" { "ever" }
                    @for s in ["24h", "7d", "30d"] { option value=(s) selected[p.get("since") == Some(s)] { (s) } }
                } }
                button type="submit" { "Show" }
            }
            @if items.is_empty() { p { "No stories match." } }
            ol.stories { @for s in &items { (story_item(s)) } }
            @if let Some(n) = next {
                @let rest = keep("after");
                p.more { a rel="next" href={"/stories?" (rest) @if !rest.is_empty() { "&" } "after=" (n)} { "Older stories →" } }
            }
        },
    )
}

pub async fn story(State(web): State<Web>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("{id} is not a story id; story ids are numbers, as /stories links them"),
        );
    };
    let s = match web.store.story_detail(id) {
        Ok(Some(s)) => s,
        Ok(None) => return problem(StatusCode::NOT_FOUND, &format!("There is no story {id}.")),
        Err(e) => return failed(e),
    };
    let l = &s.listing;
    layout(
        &l.title,
        "/stories",
        html! {
            article.story {
                h1 { (l.title) }
                dl.meta {
                    dt { "Feed" } dd { a href={"/stories?feed=" (urlencode(&l.feed_key))} { (l.feed) } }
                    dt { "Published" } dd { (when(l.published.as_deref())) }
                    dt { "First seen" } dd { (when(Some(&l.first_seen))) }
                    @if let Some(b) = &l.byline { dt { "By" } dd { (b) } }
                    @if let Some(site) = &s.site_name { dt { "Site" } dd { (site) } }
                    dt { "Original" } dd { (out_link(&l.url, &l.url)) }
                    @if !s.categories.is_empty() { dt { "Categories" } dd { (s.categories.join(", ")) } }
                    @if let Some(n) = &s.extraction_note { dt { "Text" } dd { "the feed's own text: " (n) } }
                }
                (topic_list(&l.topics))
                (also_at(&l.also_at))
                @if s.items.len() > 1 {
                    h2 { "Seen in " (s.items.len()) " items" }
                    ul { @for i in &s.items {
                        li { (i.feed) ": " (out_link(i.url.as_deref().unwrap_or(""), i.title.as_deref().unwrap_or("(untitled)"))) " · " (when(Some(&i.first_seen))) }
                    } }
                }
                div.text {
                    @for para in s.text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) { p { (para) } }
                    @if s.text.trim().is_empty() { p { (l.summary) } }
                }
            }
        },
    )
}

pub async fn topics(State(web): State<Web>, RawQuery(q): RawQuery) -> Response {
    let p = Params::of(q.as_deref());
    let now = now();
    let topics = match api::topic_views(&web, now) {
        Ok(t) => t,
        Err(e) => return failed(e),
    };
    let query = p.get("q");
    let after = p.get("after").and_then(StoryCursor::decode);
    let found =
        query.map(|q| tester::search(&web.store, &web.catalog(), q, after, 50, TESTER_BUDGET));
    let today = now.div_euclid(86400);
    layout(
        "Topics",
        "/topics",
        html! {
            h1 { "Topics" }
            @if topics.is_empty() { p { "No topic is configured." } }
            table.topics {
                thead { tr { th { "Topic" } th { "Query" } th { "Hits, last " (CHART_DAYS) " days" } th { "Notifies" } } }
                tbody { @for t in &topics {
                    tr {
                        td { a href={"/stories?topic=" (urlencode(&t.name))} { (t.name) } @if t.digest { br; small { "digest" } } }
                        td { code { (t.query) } br; a.small href={"/topics?q=" (urlencode(&t.query)) "#tester"} { "test it" } }
                        td { (chart::per_day(&t.days, today, CHART_DAYS)) " " (t.hits) }
                        td { (t.notify.join(", ")) }
                    }
                } }
            }
            h2 id="tester" { "Try a query" }
            form.tester method="get" action="/topics#tester" {
                input name="q" value=[query] size="60" placeholder="iraq AND (troops OR \"coalition forces\") NOT sport" aria-label="query";
                button type="submit" { "Search stored stories" }
            }
            @match &found {
                None => {}
                Some(Err(e)) => p.error { (e.to_string()) },
                Some(Ok(f)) => {
                    p.summary { (f.hits.len()) @if f.hits.len() == 1 { " hit" } @else { " hits" } " in the " (f.searched) " newest stories searched"
                        @if after.is_some() { " (carried on from the last search)" } "." }
                    ol.hits { @for h in &f.hits {
                        li {
                            a.title href={"/stories/" (h.id)} { (h.title) }
                            div.meta { (h.feed) " · " (when(h.published.as_deref().or(Some(&h.first_seen)))) " · matched: " (h.matched.join(", ")) }
                            p.snippet { @for (marked, run) in tester::marked_runs(&h.snippet) {
                                @if marked { mark { (run) } } @else { (run) }
                            } }
                        }
                    } }
                    @if let Some(n) = &f.next {
                        p.more { a rel="next" href={"/topics?q=" (urlencode(&f.query)) "&after=" (n) "#tester"} { "Search older stories →" } }
                    }
                }
            }
        },
    )
}

pub async fn alerts(State(web): State<Web>, RawQuery(q): RawQuery) -> Response {
    let p = Params::of(q.as_deref());
    let (filter, limit) = match api::alert_query(&p) {
        Ok(x) => x,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e),
    };
    let counts = match web.store.outbox_counts() {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let (items, next) = match api::alert_page(&web, &filter, limit) {
        Ok(x) => x,
        Err(e) => return failed(e),
    };
    let states = [
        OutboxState::Pending,
        OutboxState::Sending,
        OutboxState::Delivered,
        OutboxState::Failed,
    ];
    layout(
        "Alerts",
        "/alerts",
        html! {
            h1 { "Alerts" }
            @if counts.is_empty() { p { "The outbox is empty: no alert has been queued." } }
            table.counts {
                thead { tr { th { "Notifier" } @for s in states { th { a href={"/alerts?state=" (s)} { (s) } } } } }
                tbody { @for c in &counts {
                    tr {
                        td { a href={"/alerts?notifier=" (urlencode(&c.notifier))} { (c.notifier) } }
                        @for (s, n) in [(OutboxState::Pending, c.pending), (OutboxState::Sending, c.sending), (OutboxState::Delivered, c.delivered), (OutboxState::Failed, c.failed)] {
                            td.num { a href={"/alerts?notifier=" (urlencode(&c.notifier)) "&state=" (s)} { (n) } }
                        }
                    }
                } }
            }
            @if filter.state.is_some() || filter.notifier.is_some() {
                p { "Showing "
                    @if let Some(s) = filter.state { (s) " " }
                    "alerts" @if let Some(n) = &filter.notifier { " to " (n) }
                    ". " a href="/alerts" { "Show all" } }
            }
            table.alerts {
                thead { tr { th { "Queued" } th { "Notifier" } th { "Topic" } th { "State" } th { "Tries" } th { "Story" } th { "Last error" } } }
                tbody { @for a in &items {
                    tr {
                        td { a href={"/alerts/" (a.id)} { (when(Some(&a.created))) } }
                        td { (a.notifier) }
                        td { (a.topic) }
                        td { span class={"state " (a.state)} { (a.state) } }
                        td.num { (a.attempts) }
                        td { @for s in a.stories.iter().take(1) { (s.title) } @if a.stories.len() > 1 { " and " (a.stories.len() - 1) " more" } }
                        td.error { (a.last_error.as_deref().unwrap_or("")) }
                    }
                } }
            }
            @if let Some(n) = next {
                p.more { a rel="next" href={"/alerts?"
                    @if let Some(s) = filter.state { "state=" (s) "&" }
                    @if let Some(nf) = &filter.notifier { "notifier=" (urlencode(nf)) "&" }
                    "before=" (n)} { "Older alerts →" } }
            }
        },
    )
}

pub async fn alert(State(web): State<Web>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("{id} is not an alert id; alert ids are numbers, as /alerts links them"),
        );
    };
    let (row, log) = match web.store.alert_detail(id) {
        Ok(Some(x)) => x,
        Ok(None) => return problem(StatusCode::NOT_FOUND, &format!("There is no alert {id}.")),
        Err(e) => return failed(e),
    };
    let a = api::AlertView::of(&row);
    layout(
        "Alert",
        "/alerts",
        html! {
            h1 { "Alert to " (a.notifier) ": " (a.topic) }
            dl.meta {
                dt { "Id" } dd { code { (a.alert_id) } }
                dt { "State" } dd { span class={"state " (a.state)} { (a.state) } }
                dt { "Queued" } dd { (when(Some(&a.created))) }
                @if let Some(n) = &a.next_attempt { dt { "Next try" } dd { (when(Some(n))) } }
                @if let Some(d) = &a.delivered { dt { "Delivered" } dd { (when(Some(d))) } }
                dt { "Tries" } dd { (a.attempts) }
                @if let Some(e) = &a.last_error { dt { "Last error" } dd.error { (e) } }
            }
            h2 { "Stories" }
            ul { @for s in &a.stories {
                li { @if let Some(id) = s.id { a href={"/stories/" (id)} { (s.title) } } @else { (s.title) } " · " (out_link(&s.url, "original")) }
            } }
            h2 { "Delivery log" }
            @if log.is_empty() { p { "Not tried yet." } }
            table.log {
                thead { tr { th { "At" } th { "Then" } th { "Error" } } }
                tbody { @for l in &log { tr { td { (when(Some(&l.at))) } td { (l.state) } td.error { (l.error.as_deref().unwrap_or("")) } } } }
            }
        },
    )
}
