//! Bounds on what one untrusted document may cost: a time budget that a parse checks as it
//! goes, and a linear pre-pass that cuts HTML down to what html5ever's tree builder handles in
//! time proportional to its size ([`html`]).
//!
//! Feeds and pages are written by anyone. Each stage that reads them keeps its own work linear
//! in the input; these are the backstops for what is not in our hands (html5ever, ammonia,
//! feed-rs): a parse that still runs past its budget ends with [`OutOfTime`], and the caller
//! turns that into an error for that one feed or page.

pub mod html;

use std::io::Read;
use std::time::{Duration, Instant};

/// How long parsing one feed document may take (decoding, repairs, feed-rs, normalising). A
/// 10 MiB feed takes under half a second in a release build; the rest is headroom for slow
/// machines and debug builds.
pub const FEED_PARSE_BUDGET: Duration = Duration::from_secs(10);

/// How long extracting one article page may take (the slowest page of the extraction
/// benchmark: a quarter of a second). A poll fetches at most `max_articles_per_poll` pages, so
/// this also bounds what one hostile feed's pages can cost a poll.
pub const EXTRACT_BUDGET: Duration = Duration::from_secs(5);

/// How long sanitising one item's feed HTML may take (at most 1 MiB of it: see
/// `feed::normalise::MAX_FIELD_BYTES`).
pub const SANITISE_BUDGET: Duration = Duration::from_secs(2);

/// A parse ran past its time budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("gave up after {secs:.1} s (the limit for one document)", secs = .0.as_secs_f64())]
pub struct OutOfTime(pub Duration);

/// A deadline, checked by the work it bounds at points where stopping is cheap.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    start: Instant,
    limit: Duration,
}

impl Budget {
    pub fn new(limit: Duration) -> Budget {
        Budget {
            start: Instant::now(),
            limit,
        }
    }

    /// No limit worth the name: for the command-line tools, where the user is watching.
    pub fn unlimited() -> Budget {
        Budget::new(Duration::from_secs(365 * 24 * 3600))
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// `Err` once the budget is spent.
    pub fn check(&self) -> Result<(), OutOfTime> {
        if self.start.elapsed() > self.limit {
            Err(OutOfTime(self.limit))
        } else {
            Ok(())
        }
    }

    /// A reader over `bytes` that fails once the budget is spent, so a parser that reads its
    /// input as it goes (feed-rs, ammonia) stops within one read of the deadline.
    pub fn reader<'a>(&self, bytes: &'a [u8]) -> BudgetReader<'a> {
        BudgetReader {
            bytes,
            budget: *self,
        }
    }
}

/// See [`Budget::reader`]. Hands out at most [`BudgetReader::CHUNK`] bytes a read.
pub struct BudgetReader<'a> {
    bytes: &'a [u8],
    budget: Budget,
}

impl BudgetReader<'_> {
    pub const CHUNK: usize = 16 * 1024;
}

impl Read for BudgetReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Err(e) = self.budget.check() {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, e));
        }
        let n = buf.len().min(self.bytes.len()).min(Self::CHUNK);
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// Whether an I/O error is a [`BudgetReader`]'s deadline.
pub fn is_out_of_time(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut
        && e.get_ref().is_some_and(|inner| inner.is::<OutOfTime>())
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_budget_fails_the_reader_with_a_recognisable_error() {
        let budget = Budget::new(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        let mut out = Vec::new();
        let err = budget.reader(b"abc").read_to_end(&mut out).unwrap_err();
        assert!(is_out_of_time(&err), "{err}");
        let mut out = Vec::new();
        Budget::unlimited()
            .reader(&[7u8; 40_000])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 40_000);
    }

    #[test]
    fn prefixes_end_on_a_character() {
        assert_eq!(prefix("héllo", 2), "h");
        assert_eq!(prefix("héllo", 3), "hé");
        assert_eq!(prefix("abc", 10), "abc");
    }
}
