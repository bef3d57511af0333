//! Fuzz target `feed_parse`: see `feedwatch::fuzz::feed_parse` for what it reads and how.
#![no_main]

libfuzzer_sys::fuzz_target!(init: feedwatch::fuzz::init(), |data: &[u8]| {
    feedwatch_fuzz::run_within_cpu_limit(feedwatch::fuzz::feed_parse, data)
});
