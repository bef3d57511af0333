//! The slow-input check: every fuzz seed (the fixtures `fuzz/seeds.txt` names) and every
//! regression input (`fuzz/regressions/<target>/`: the hostile inputs of issue 18 and whatever
//! a fuzzer found) is run through its fuzz target's own entry point (`feedwatch::fuzz`), and
//! each must end, without a panic, within a bound. The bound is generous for a debug build on a
//! loaded machine, and far below what the quadratic cases of issue 18 cost before their fixes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use feedwatch::bounds::{EXTRACT_BUDGET, FEED_PARSE_BUDGET};
use feedwatch::fuzz::TARGETS;

/// The most one input may take through `target` in a debug build on a loaded machine: under
/// the daemon's own time budget for the stage, so an input that only the budget stops counts
/// as too slow. The slowest here take a few seconds in a debug build (a tenth of that in
/// release); before issue 18's fixes they took from 15 s to many minutes, in release.
fn bound(target: &str) -> Duration {
    match target {
        "feed_parse" => FEED_PARSE_BUDGET * 4 / 5,
        "extract" => EXTRACT_BUDGET * 4 / 5,
        _ => Duration::from_secs(8),
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The seeds of `target`: every file of each folder `fuzz/seeds.txt` names for it.
fn seeds(target: &str) -> Vec<PathBuf> {
    let list = std::fs::read_to_string(root().join("fuzz/seeds.txt")).expect("fuzz/seeds.txt");
    let mut files = Vec::new();
    for line in list.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(t), Some(dir)) = (words.next(), words.next()) else {
            panic!("fuzz/seeds.txt: {line:?} is not \"TARGET FOLDER [EXTENSION]\"");
        };
        let ext = words.next();
        assert!(
            TARGETS.iter().any(|(name, _)| *name == t),
            "fuzz/seeds.txt names no target {t}"
        );
        if t == target {
            files.extend(files_in(&root().join(dir), ext));
        }
    }
    files
}

fn files_in(dir: &Path, ext: Option<&str>) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.is_file())
        .filter(|p| ext.is_none_or(|x| p.extension().is_some_and(|e| e == x)))
        .collect();
    files.sort();
    files
}

/// A file's bytes; a `.gz` file is stored compressed (the hostile inputs are megabytes of one
/// pattern) and read uncompressed.
fn input(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_none_or(|e| e != "gz") {
        return raw;
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

/// Runs every file through its target; returns the ones that panicked or were too slow.
fn replay(target: &str, files: &[PathBuf]) -> Vec<String> {
    let run = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .expect("a target");
    let mut problems = Vec::new();
    for path in files {
        let data = input(path);
        let start = Instant::now();
        let result = std::panic::catch_unwind(|| run(&data));
        let took = start.elapsed();
        let name = path.strip_prefix(root()).unwrap_or(path).display();
        // Shown with --nocapture: how far each input is from the bound.
        eprintln!("{target}: {name}: {took:.2?}");
        if result.is_err() {
            problems.push(format!("{target}: {name} panicked"));
        } else if took > bound(target) {
            problems.push(format!(
                "{target}: {name} ({} bytes) took {took:.1?}, over {:?}",
                data.len(),
                bound(target)
            ));
        }
    }
    problems
}

#[test]
fn every_seed_runs_through_its_fuzz_target_quickly() {
    let mut problems = Vec::new();
    for (target, _) in TARGETS {
        let files = seeds(target);
        assert!(files.len() >= 2, "{target} has {} seeds", files.len());
        problems.extend(replay(target, &files));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_regression_input_runs_through_its_fuzz_target_quickly() {
    let mut problems = Vec::new();
    for (target, _) in TARGETS {
        let files = files_in(&root().join("fuzz/regressions").join(target), None);
        assert!(!files.is_empty(), "no regression inputs for {target}");
        problems.extend(replay(target, &files));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
