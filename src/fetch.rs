//! The fetch stage: HTTP GETs of feeds and article pages, politely and safely.
//!
//! Owns the HTTP client (rustls, gzip/brotli, User-Agent), conditional requests, redirects
//! (followed by hand so each hop is checked and permanent moves reported), the refusal of
//! private addresses, body size caps, and turning HTTP answers into a [`FetchOutcome`] or a
//! [`FetchError`] the scheduler can act on (Retry-After, 410 Gone).
