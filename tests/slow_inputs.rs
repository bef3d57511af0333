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

/// The tokens of `fuzz/dicts/<target>.dict` (libFuzzer's format: one `"token"` a line, with
/// `\"`, `\\` and `\xNN` escapes).
fn dictionary(target: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(root().join("fuzz/dicts").join(format!("{target}.dict")))
        .unwrap_or_default();
    let mut tokens = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let (Some(start), Some(end)) = (line.find('"'), line.rfind('"')) else {
            continue;
        };
        if line.starts_with('#') || end <= start {
            continue;
        }
        let raw = &line.as_bytes()[start + 1..end];
        let mut token = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            match (raw[i], raw.get(i + 1)) {
                (b'\\', Some(b'x')) if i + 3 < raw.len() + 1 => {
                    let hex =
                        std::str::from_utf8(raw.get(i + 2..i + 4).unwrap_or(b"")).unwrap_or("");
                    token.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                    i += 4;
                }
                (b'\\', Some(&c)) => {
                    token.push(c);
                    i += 2;
                }
                (c, _) => {
                    token.push(c);
                    i += 1;
                }
            }
        }
        tokens.push(token);
    }
    tokens
}

/// A small, fast pseudo-random generator (xorshift64*): the run needs no crate, and a seed
/// printed with a failure names the run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to eight of the mutations a fuzzer makes: a flipped bit, a dictionary token put in, a
/// range cut out or repeated, or a piece of another seed spliced in.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, tokens: &[Vec<u8>], other: &[u8]) {
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(input.len() + 1);
        match rng.below(5) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 if !tokens.is_empty() => {
                let token = &tokens[rng.below(tokens.len())];
                input.splice(at..at, token.iter().copied());
            }
            2 if at < input.len() => {
                let end = (at + 1 + rng.below(64)).min(input.len());
                input.drain(at..end);
            }
            3 if at < input.len() => {
                let end = (at + 1 + rng.below(256)).min(input.len());
                let piece: Vec<u8> = input[at..end].to_vec();
                for _ in 0..1 + rng.below(16) {
                    input.splice(at..at, piece.iter().copied());
                }
            }
            _ if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(512)).min(other.len());
                input.splice(at..at, other[from..end].iter().copied());
            }
            _ => input.push(b'<'),
        }
    }
    input.truncate(1 << 20);
}

/// A time-bounded fuzz run in every `cargo test`: for a few seconds per target, seeds mutated
/// the way a fuzzer mutates them (without its coverage guidance: `scripts/fuzz` is the real
/// run) go through each target, and none may panic or take over its bound. A failing input is
/// written under the test's temporary folder, with the seed that made it
/// (`FEEDWATCH_FUZZ_SEED` runs that seed again).
#[test]
fn mutated_seeds_run_through_their_fuzz_targets_for_a_few_seconds_without_a_panic() {
    let seed: u64 = std::env::var("FEEDWATCH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-smoke");
    let mut problems = Vec::new();
    let mut runs = Vec::new();
    for (target, run) in TARGETS {
        let seeds: Vec<Vec<u8>> = seeds(target).iter().map(|p| input(p)).collect();
        let tokens = dictionary(target);
        let mut rng = Rng((seed ^ (target.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
        let started = Instant::now();
        let mut count = 0;
        while started.elapsed() < Duration::from_secs(3) {
            let mut data = seeds[rng.below(seeds.len())].clone();
            let other = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, &mut data, &tokens, other);
            let start = Instant::now();
            let result = std::panic::catch_unwind(|| run(&data));
            let took = start.elapsed();
            count += 1;
            if result.is_err() || took > bound(target) {
                std::fs::create_dir_all(&out).expect("the test's temporary folder");
                let path = out.join(format!("{target}-{seed}-{count}"));
                std::fs::write(&path, &data).expect("the failing input written");
                problems.push(format!(
                    "{target}: {} (seed {seed}, {} bytes, {took:.1?}): {}",
                    if result.is_err() {
                        "panicked"
                    } else {
                        "too slow"
                    },
                    data.len(),
                    path.display()
                ));
            }
        }
        runs.push(format!("{target}: {count} inputs"));
    }
    eprintln!("seed {seed}: {}", runs.join(", "));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
