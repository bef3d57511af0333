//! Canonical URLs: one spelling per page, so the same page reached by different links (a
//! newsletter's tracking link, a feed's `utm_` link, a shouting host name) is recognised.
//!
//! Conservative on purpose: only what provably never selects content is removed (tracking
//! parameters, the fragment, a default port, host case, an empty query). Paths are left alone
//! (`/a/index.html` and `/a/` may be different pages on some servers), and kept query
//! parameters keep their order and their exact encoding, since a server may care about both.

use url::Url;

/// Query parameters that only track the reader, never select content.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gclsrc",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "rb_clickid",
    "s_cid",
    "vero_conv",
    "vero_id",
    "wickedid",
    "twclid",
    "ref_src",
    "ref_url",
    "cmpid",
    "ncid",
    "sr_share",
    "at_medium",
    "at_campaign",
    "spm",
    "guccounter",
];

fn is_tracking(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.starts_with("utm_")
        || k.starts_with("pk_")
        || k.starts_with("mtm_")
        || TRACKING_PARAMS.contains(&k.as_str())
}

/// A URL with tracking parameters, fragment, default port and host case normalised away, so the
/// same page reached through different links compares equal. `None` when `raw` is not a URL.
pub fn canonical_url(raw: &str) -> Option<String> {
    // `Url` lowercases the scheme and host, drops a default port and resolves `.`/`..` path
    // segments when parsing; none of those can select different content.
    let mut url = Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return Some(url.to_string());
    }
    url.set_fragment(None);
    // A trailing dot names the same host (`example.com.` is the fully qualified spelling).
    if let Some(host) = url.host_str()
        && host.len() > 1
        && host.ends_with('.')
        && url.domain().is_some()
    {
        let bare = host.trim_end_matches('.').to_string();
        url.set_host(Some(&bare)).ok()?;
    }
    // Filter the raw `&`-separated pieces rather than decode and re-encode them: re-encoding
    // would turn `?page` into `?page=` and `%20` into `+`, which a server may treat differently.
    let kept: Vec<String> = url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|piece| !piece.is_empty())
        .filter(|piece| {
            let key = piece.split('=').next().unwrap_or("");
            let key = percent_decode(key);
            !is_tracking(&key)
        })
        .map(str::to_string)
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.set_query(Some(&kept.join("&")));
    }
    Some(url.to_string())
}

/// Decodes `%XX` escapes (and `+` as a space) of a query key, for comparing it with the list;
/// invalid escapes are kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical_url(s).unwrap()
    }

    #[test]
    fn tracking_parameters_and_fragments_do_not_make_a_new_url() {
        assert_eq!(
            canon("HTTPS://Tome.Example:443/a/b?utm_source=rss&id=7&fbclid=xyz#comments"),
            "https://tome.example/a/b?id=7"
        );
        assert_eq!(
            canon("https://x.example/p?utm_medium=feed"),
            "https://x.example/p"
        );
        assert_eq!(canonical_url("not a url"), None);
    }

    #[test]
    fn default_ports_host_case_and_an_empty_query_are_normalised() {
        assert_eq!(canon("http://News.Example:80/a"), "http://news.example/a");
        assert_eq!(
            canon("https://news.example:443/a?"),
            "https://news.example/a"
        );
        assert_eq!(canon("https://news.example./a"), "https://news.example/a");
        assert_eq!(
            canon("https://news.example/a/./b/../c"),
            "https://news.example/a/c"
        );
    }

    #[test]
    fn different_pages_are_never_merged() {
        // Another port, scheme, path case, index file or trailing slash may be another page.
        assert_ne!(
            canon("https://n.example:8443/a"),
            canon("https://n.example/a")
        );
        assert_ne!(canon("http://n.example/a"), canon("https://n.example/a"));
        assert_ne!(canon("https://n.example/A"), canon("https://n.example/a"));
        assert_ne!(
            canon("https://n.example/a/index.html"),
            canon("https://n.example/a/")
        );
        assert_ne!(canon("https://n.example/a/"), canon("https://n.example/a"));
        assert_ne!(
            canon("https://n.example/a?id=1"),
            canon("https://n.example/a?id=2")
        );
    }

    #[test]
    fn kept_parameters_keep_their_spelling_and_order() {
        assert_eq!(
            canon("https://n.example/s?q=a%20b&page&utm_campaign=x&b=2"),
            "https://n.example/s?q=a%20b&page&b=2"
        );
        assert_eq!(
            canon("https://n.example/s?%75tm_source=x&id=3"),
            "https://n.example/s?id=3"
        );
    }
}
