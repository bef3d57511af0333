//! Fuzz target `topic_query`: see `feedwatch::fuzz::topic_query` for what it reads and how.
#![no_main]

libfuzzer_sys::fuzz_target!(init: feedwatch::fuzz::init(), |data: &[u8]| {
    feedwatch_fuzz::run_within_cpu_limit(feedwatch::fuzz::topic_query, data)
});
