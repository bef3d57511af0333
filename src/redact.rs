//! Hiding the credentials a URL may carry before it is logged or shown: a feed behind HTTP basic
//! auth (`https://user:password@host/feed`), a database URL (`postgres://user:password@host/db`).
//!
//! The password becomes `***`; a username given without a password is itself the credential
//! (`https://TOKEN@host/`) and becomes `***` too. Everything else (scheme, host, path, query) is
//! kept, so the log still tells which feed or server it is about.

use url::Url;

/// What hidden credentials are shown as.
pub const HIDDEN: &str = "***";

/// `url` with its password (or a lone username) replaced by `***`.
pub fn url(url: &Url) -> String {
    if url.password().is_none() && url.username().is_empty() {
        return url.to_string();
    }
    let mut shown = url.clone();
    let hidden = if url.password().is_some() {
        shown.set_password(Some(HIDDEN))
    } else {
        shown.set_username(HIDDEN)
    };
    match hidden {
        Ok(()) => shown.to_string(),
        // A URL that cannot carry credentials has none to hide; never fall back to the original.
        Err(()) => format!("{}://{HIDDEN}", url.scheme()),
    }
}

/// [`url`] for text that may be a URL (a database setting, say); text that does not parse as
/// one is returned unchanged, as it carries no URL credentials.
pub fn url_text(text: &str) -> String {
    match Url::parse(text) {
        Ok(u) => url(&u),
        Err(_) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_lone_usernames_are_hidden_and_the_rest_kept() {
        for (given, shown) in [
            (
                "https://feeduser:Pa55w0rd@feeds.example.org/a.xml?x=1",
                "https://feeduser:***@feeds.example.org/a.xml?x=1",
            ),
            (
                "postgres://feedwatch:s3cr%40t@db.internal:5432/feedwatch",
                "postgres://feedwatch:***@db.internal:5432/feedwatch",
            ),
            (
                "postgresql://u:p@localhost/db?sslmode=require",
                "postgresql://u:***@localhost/db?sslmode=require",
            ),
            (
                "https://ghp_T0KEN@feeds.example.org/",
                "https://***@feeds.example.org/",
            ),
            (
                "https://feeds.example.org/a.xml",
                "https://feeds.example.org/a.xml",
            ),
            ("smtp://127.0.0.1:25", "smtp://127.0.0.1:25"),
        ] {
            assert_eq!(url_text(given), shown, "{given}");
        }
        assert_eq!(
            url_text("/var/lib/feedwatch/feedwatch.db"),
            "/var/lib/feedwatch/feedwatch.db"
        );
    }
}
