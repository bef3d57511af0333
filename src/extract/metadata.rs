//! Page metadata: headline (without the site suffix), byline, publication date, site name,
//! language, canonical URL and lead image, from JSON-LD, OpenGraph, meta tags and `<time>`.
//! Also hands the content pass the JSON-LD `articleBody`, the headline element's position and
//! whether the page declares itself an article.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;
use url::Url;

use super::dom::{Dom, push_collapsed};

/// What the page says about itself.
#[derive(Debug, Default)]
pub struct Meta {
    /// Headline with the site suffix removed.
    pub title: Option<String>,
    /// Author name(s) as shown to readers.
    pub byline: Option<String>,
    /// First publication, UTC.
    pub published: Option<DateTime<Utc>>,
    /// The publication's name (OpenGraph, JSON-LD publisher, or the title suffix).
    pub site_name: Option<String>,
    /// Language tag of the page.
    pub lang: Option<String>,
    /// Canonical URL, absolute.
    pub url: Option<String>,
    /// Lead image, absolute.
    pub image: Option<String>,
    /// JSON-LD `articleBody`, a fallback when the DOM yields less.
    pub ld_body: Option<String>,
    /// JSON-LD `isAccessibleForFree: false`: a hint that a short body is a paywall stub.
    pub paywalled: bool,
    /// The page calls itself an article (JSON-LD article type, `og:type` article): a listing
    /// found beside the body is then the site's related links, not the content.
    pub declares_article: bool,
    /// The page calls itself a product's page (JSON-LD or microdata `Product`, `og:type`
    /// product): its reviews, questions and sales furniture are then not the content.
    pub declares_product: bool,
    /// The page calls itself a discussion (schema.org `DiscussionForumPosting` or `QAPage`, in
    /// JSON-LD or microdata): its replies are then content, not a comment section.
    pub declares_thread: bool,
    /// Index (in [`Dom`]) of the heading element that carries the headline.
    pub headline_idx: Option<usize>,
}

/// The raw values found, before choosing between sources.
#[derive(Default)]
struct Found {
    og_title: Option<String>,
    ld_headline: Option<String>,
    html_title: Option<String>,
    og_site: Option<String>,
    ld_publisher: Option<String>,
    app_name: Option<String>,
    ld_author: Option<String>,
    meta_author: Option<String>,
    ld_date: Option<String>,
    meta_date: Option<String>,
    time_date: Option<String>,
    html_lang: Option<String>,
    meta_lang: Option<String>,
    og_locale: Option<String>,
    ld_lang: Option<String>,
    canonical: Option<String>,
    og_url: Option<String>,
    og_image: Option<String>,
    tw_image: Option<String>,
    ld_image: Option<String>,
    /// Product items declared in JSON-LD and in microdata: one (or a product and its group)
    /// makes a product's page, many make a listing.
    ld_products: usize,
    micro_products: usize,
}

fn set(slot: &mut Option<String>, value: Option<&str>) {
    if slot.is_none()
        && let Some(v) = value.map(str::trim).filter(|v| !v.is_empty())
    {
        let mut s = String::new();
        push_collapsed(&mut s, v);
        *slot = Some(s.trim().to_string());
    }
}

pub fn read(dom: &Dom, page_url: Option<&Url>) -> Meta {
    let mut f = Found::default();
    let mut meta = Meta::default();
    let mut headings: Vec<usize> = Vec::new();
    for (idx, item) in dom.items.iter().enumerate() {
        if let Some(t) = item.schema_type() {
            if is_product_type(t) {
                f.micro_products += 1;
            }
            meta.declares_thread |= is_thread_type(t);
        }
        match item.tag() {
            "html" => set(
                &mut f.html_lang,
                item.attr("lang").or_else(|| item.attr("xml:lang")),
            ),
            "title" if f.html_title.is_none() => set(&mut f.html_title, Some(&dom.text_of(idx))),
            "meta" => {
                let key = item
                    .attr("property")
                    .or_else(|| item.attr("name"))
                    .or_else(|| item.attr("itemprop"));
                let content = item.attr("content");
                let key = key.map(str::to_ascii_lowercase).unwrap_or_default();
                match key.as_str() {
                    "og:title" => set(&mut f.og_title, content),
                    "og:type" => {
                        let c = content.map(str::trim).unwrap_or_default();
                        meta.declares_article |= c.eq_ignore_ascii_case("article");
                        meta.declares_product |= c.eq_ignore_ascii_case("product")
                            || c.eq_ignore_ascii_case("og:product");
                    }
                    "og:site_name" => set(&mut f.og_site, content),
                    "application-name" => set(&mut f.app_name, content),
                    "author" | "article:author" | "parsely-author" | "dc.creator" | "byl"
                    | "sailthru.author"
                        if !content.is_some_and(|c| c.starts_with("http")) =>
                    {
                        set(
                            &mut f.meta_author,
                            content.map(|c| c.trim_start_matches("By ").trim_start_matches("by ")),
                        )
                    }
                    "article:published_time"
                    | "og:published_time"
                    | "datepublished"
                    | "date"
                    | "pubdate"
                    | "publishdate"
                    | "publish-date"
                    | "dc.date"
                    | "dc.date.issued"
                    | "dcterms.created"
                    | "dcterms.date"
                    | "sailthru.date"
                    | "parsely-pub-date"
                    | "article.published"
                    | "article:published"
                    | "cxenseparse:recs:publishtime" => set(&mut f.meta_date, content),
                    "og:locale" => set(&mut f.og_locale, content),
                    "og:url" => set(&mut f.og_url, content),
                    "og:image" | "og:image:url" | "og:image:secure_url" => {
                        set(&mut f.og_image, content)
                    }
                    "twitter:image" | "twitter:image:src" => set(&mut f.tw_image, content),
                    _ => {}
                }
                if item
                    .attr("http-equiv")
                    .is_some_and(|h| h.eq_ignore_ascii_case("content-language"))
                {
                    set(&mut f.meta_lang, content);
                }
            }
            "link" => {
                let rel = item.attr("rel").unwrap_or_default();
                if rel
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("canonical"))
                {
                    set(&mut f.canonical, item.attr("href"));
                }
            }
            "script"
                if item
                    .attr("type")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json")) =>
            {
                let raw: String = dom.items[idx + 1..item.end as usize]
                    .iter()
                    .filter_map(|i| i.text())
                    .collect();
                if let Ok(v) = serde_json::from_str::<Value>(raw.trim().trim_end_matches(';')) {
                    read_ld(&v, &mut f, &mut meta, 0);
                }
            }
            "time" => set(&mut f.time_date, item.attr("datetime")),
            "h1" | "h2" => headings.push(idx),
            _ => {}
        }
    }

    let heading_texts: Vec<(usize, String)> =
        headings.iter().map(|&i| (i, dom.text_of(i))).collect();
    let (title, suffix) = choose_title(&f, &heading_texts);
    meta.headline_idx = title.as_deref().and_then(|t| {
        let t = fold(t);
        let folded: Vec<(usize, bool, String)> = heading_texts
            .iter()
            .map(|(i, h)| (*i, dom.items[*i].tag() == "h1", fold(h)))
            .filter(|(_, _, h)| !h.is_empty())
            .collect();
        let first = |test: &dyn Fn(bool, &str) -> bool| {
            folded
                .iter()
                .find(|(_, h1, h)| test(*h1, h))
                .map(|(i, _, _)| *i)
        };
        // The page's h1 carrying the title, alone or with a little more ("(latimes.com) 87");
        // only then another heading that repeats it exactly (a comment section's header
        // further down names the story too); last an h1 that is most of the title ("Reviews"
        // inside "Diet X. Reviews" is a section heading, and treating it as the headline
        // would discard the body above it).
        first(&|h1, h| h1 && h == t)
            .or_else(|| first(&|h1, h| h1 && h.contains(&t) && t.len() * 2 >= h.len()))
            .or_else(|| first(&|_, h| h == t))
            .or_else(|| first(&|h1, h| h1 && h.len() * 2 >= t.len() && t.contains(h)))
    });
    meta.title = title;
    meta.declares_product |= (1..=2).contains(&f.ld_products) || f.micro_products == 1;
    // A page that declares both (a blog post rated as a product for search results) is read
    // as the article it says it is.
    meta.declares_product &= !meta.declares_article;
    meta.site_name = f.og_site.or(f.ld_publisher).or(suffix).or(f.app_name);
    meta.byline = f.ld_author.or(f.meta_author);
    meta.published = [f.ld_date, f.meta_date, f.time_date]
        .into_iter()
        .flatten()
        .find_map(|d| parse_date(&d));
    meta.lang = f
        .html_lang
        .or(f.meta_lang)
        .or(f.ld_lang)
        .or(f.og_locale.map(|l| l.replace('_', "-")));
    meta.url = [f.canonical, f.og_url]
        .into_iter()
        .flatten()
        .find_map(|u| absolute(&u, page_url));
    meta.image = [f.og_image, f.tw_image, f.ld_image]
        .into_iter()
        .flatten()
        .find_map(|u| absolute(&u, page_url));
    meta
}

/// Schema.org types of a single product's page.
fn is_product_type(t: &str) -> bool {
    t.eq_ignore_ascii_case("product")
        || t.eq_ignore_ascii_case("productgroup")
        || t.eq_ignore_ascii_case("individualproduct")
}

/// Lowercase, alphanumerics only: compares headlines that differ in quotes or spacing.
pub fn fold(s: &str) -> String {
    folded(s).collect()
}

fn folded(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
}

/// Whether `s` folds to `key`, stopping at the first difference: every block of a page is
/// checked against the headline, and almost all differ within a few characters.
pub fn folds_to(s: &str, key: &str) -> bool {
    folded(s).eq(key.chars())
}

const SEPARATORS: [&str; 10] = [
    " | ", " - ", " – ", " — ", " :: ", " · ", " • ", " ~ ", " « ", " » ",
];

/// Picks the headline and strips a site suffix (`Headline | Site`); returns the suffix found
/// too, as a last resort for the site name.
fn choose_title(f: &Found, headings: &[(usize, String)]) -> (Option<String>, Option<String>) {
    let site = f
        .og_site
        .as_deref()
        .or(f.ld_publisher.as_deref())
        .or(f.app_name.as_deref());
    let candidates = [
        f.og_title.as_deref(),
        f.ld_headline.as_deref(),
        f.html_title.as_deref(),
    ];
    let Some(raw) = candidates.into_iter().flatten().find(|t| !t.is_empty()) else {
        let h1 = headings
            .first()
            .map(|(_, h)| h.clone())
            .filter(|h| !h.is_empty());
        return (h1, None);
    };
    // Blogger's layout, `Blog name: Post title`: a colon is no separator on its own (headlines
    // hold colons), only where what follows it is a heading of the page.
    for (cut, _) in raw.match_indices(": ") {
        let (site_part, head) = (&raw[..cut], &raw[cut + 2..]);
        if !site_part.trim().is_empty()
            && !head.trim().is_empty()
            && headings.iter().any(|(_, h)| fold(h) == fold(head))
        {
            return (
                Some(head.trim().to_string()),
                Some(site_part.trim().to_string()),
            );
        }
    }
    for sep in SEPARATORS {
        let Some(cut) = raw.rfind(sep).or_else(|| raw.find(sep)) else {
            continue;
        };
        for (head, tail) in [
            (&raw[..cut], &raw[cut + sep.len()..]),
            (&raw[cut + sep.len()..], &raw[..cut]),
        ] {
            // The part that names the site goes; the part that matches a heading stays.
            let tail_is_site = site.is_some_and(|s| {
                fold(s) == fold(tail) || fold(tail).contains(&fold(s)) && !s.is_empty()
            });
            let head_is_heading = headings.iter().any(|(_, h)| fold(h) == fold(head));
            if tail_is_site || head_is_heading {
                return (Some(head.trim().to_string()), Some(tail.trim().to_string()));
            }
        }
        // Unconfirmed: strip a short trailing part off a long headline (the common layout).
        let (head, tail) = (&raw[..cut], &raw[cut + sep.len()..]);
        if tail.split_whitespace().count() <= 4 && head.split_whitespace().count() >= 4 {
            return (Some(head.trim().to_string()), Some(tail.trim().to_string()));
        }
    }
    (Some(raw.to_string()), None)
}

const ARTICLE_TYPES: [&str; 12] = [
    "article",
    "newsarticle",
    "blogposting",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "backgroundnewsarticle",
    "techarticle",
    "scholarlyarticle",
    "report",
    "liveblogposting",
    "socialmediaposting",
];

/// Schema.org types of a page whose posts are its content.
fn is_thread_type(t: &str) -> bool {
    let t = t.trim();
    t.eq_ignore_ascii_case("DiscussionForumPosting") || t.eq_ignore_ascii_case("QAPage")
}

fn read_ld(v: &Value, f: &mut Found, meta: &mut Meta, depth: usize) {
    if depth > 6 {
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| read_ld(i, f, meta, depth + 1)),
        Value::Object(map) => {
            if let Some(graph) = map.get("@graph") {
                read_ld(graph, f, meta, depth + 1);
            }
            let types: Vec<String> = match map.get("@type") {
                Some(Value::String(s)) => vec![s.to_ascii_lowercase()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|t| t.as_str())
                    .map(str::to_ascii_lowercase)
                    .collect(),
                _ => vec![],
            };
            meta.declares_thread |= types.iter().any(|t| is_thread_type(t));
            let is_article = types.iter().any(|t| ARTICLE_TYPES.contains(&t.as_str()));
            if types.iter().any(|t| is_product_type(t)) {
                f.ld_products += 1;
            }
            meta.declares_article |= is_article;
            if !is_article {
                if types.iter().any(|t| t == "webpage") {
                    set(
                        &mut f.ld_lang,
                        map.get("inLanguage").and_then(Value::as_str),
                    );
                }
                return;
            }
            set(
                &mut f.ld_headline,
                map.get("headline")
                    .or_else(|| map.get("name"))
                    .and_then(Value::as_str),
            );
            set(
                &mut f.ld_date,
                map.get("datePublished")
                    .or_else(|| map.get("dateCreated"))
                    .and_then(Value::as_str),
            );
            set(
                &mut f.ld_lang,
                map.get("inLanguage").and_then(Value::as_str),
            );
            set(
                &mut f.ld_publisher,
                map.get("publisher")
                    .and_then(|p| p.get("name"))
                    .and_then(Value::as_str),
            );
            set(
                &mut f.ld_image,
                map.get("image").and_then(first_url).as_deref(),
            );
            if let Some(author) = map.get("author") {
                let names = names(author);
                if !names.is_empty() {
                    set(&mut f.ld_author, Some(&names.join(", ")));
                }
            }
            if meta.ld_body.is_none()
                && let Some(body) = map.get("articleBody").and_then(Value::as_str)
                && body.trim().len() > 100
            {
                meta.ld_body = Some(body.trim().to_string());
            }
            if map.get("isAccessibleForFree").is_some_and(|v| {
                v == &Value::Bool(false)
                    || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("false"))
            }) {
                meta.paywalled = true;
            }
        }
        _ => {}
    }
}

fn names(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) if !s.starts_with("http") => vec![s.trim().to_string()],
        Value::Object(m) => m
            .get("name")
            .and_then(Value::as_str)
            .map(|s| vec![s.trim().to_string()])
            .unwrap_or_default(),
        Value::Array(a) => a.iter().flat_map(names).collect(),
        _ => vec![],
    }
}

fn first_url(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m
            .get("url")
            .or_else(|| m.get("contentUrl"))
            .and_then(Value::as_str)
            .map(str::to_string),
        Value::Array(a) => a.iter().find_map(first_url),
        _ => None,
    }
}

fn absolute(u: &str, base: Option<&Url>) -> Option<String> {
    let u = u.trim();
    match base {
        Some(b) => b.join(u).ok(),
        None => Url::parse(u).ok(),
    }
    .filter(|u| matches!(u.scheme(), "http" | "https"))
    .map(String::from)
}

/// Reads the date formats pages use; a date without a zone is taken as UTC.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S %z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d.with_timezone(&Utc));
        }
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&d));
        }
    }
    let day = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Utc.from_utc_datetime(&d))
}
