//! Extraction benchmark over a page set laid out as in the shared bench data
//! (`SET_DIR/html/<id>.html.gz` and `SET_DIR/truth.json`).
//!
//! `cargo bench --bench extract -- SET_DIR OUT.jsonl` extracts every page on one thread, writes
//! one `{"file", "text"}` line per page (what `score.py SET_DIR OUT.jsonl` reads), and prints
//! pages/s for our extractor and for a bare html5ever parse of the same pages (the floor for any
//! DOM-based extractor), by the wall clock and by the thread's CPU time (the figure to trust on a
//! shared machine), the slowest page, any panic, and the peak resident memory. The first page is
//! extracted and parsed once untimed before it is timed: it compiles the extractor's patterns,
//! a cost a process pays once.
//!
//! `--without RULE` (repeatable, or `--without A,B`) switches extraction rules off for the run
//! (names as `feedwatch extract --explain` prints them; see `src/extract/rules.rs`).
//! `--repeat N` times every page N times over (predictions are written once): a small set such
//! as news-dev is some 25 ms of extraction a pass, which one pass measures coarsely.
//! `--ablate` also writes, for every rule, `OUT.without-RULE.jsonl`: the predictions with that
//! rule alone switched off, for `scripts/extract_ablation.py`.
//!
//! With `--features bench-dom-smoothie` the same run also times dom_smoothie (a Readability
//! port on the same html5ever) on the same pages and writes its predictions to
//! `OUT.dom_smoothie.jsonl`, for a side-by-side score.

#[path = "support/cpu.rs"]
mod cpu;
use cpu::thread_cpu;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use feedwatch::extract::{self, Rule, Rules};

fn main() {
    let mut args: Vec<String> = Vec::new();
    let mut rules = Rules::ALL;
    let mut ablate = false;
    let mut repeat = 1usize;
    let mut all = std::env::args().skip(1);
    while let Some(a) = all.next() {
        let names = if a == "--without" {
            all.next().unwrap_or_default()
        } else if let Some(v) = a.strip_prefix("--without=") {
            v.to_string()
        } else if a == "--ablate" {
            ablate = true;
            continue;
        } else if a == "--repeat" {
            repeat = match all.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => n,
                _ => {
                    eprintln!("--repeat takes a number of passes, 1 or more");
                    std::process::exit(1);
                }
            };
            continue;
        } else {
            if !a.starts_with("--") {
                args.push(a);
            }
            continue;
        };
        for name in names.split(',').filter(|n| !n.is_empty()) {
            match Rule::from_name(name) {
                Some(rule) => rules = rules.without(rule),
                None => {
                    let known: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
                    eprintln!(
                        "no rule named {name:?}; the rules are: {}",
                        known.join(", ")
                    );
                    std::process::exit(1);
                }
            }
        }
    }
    let (Some(set), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!(
            "usage: cargo bench --bench extract -- SET_DIR OUT.jsonl [--without RULE] [--ablate] [--repeat N]"
        );
        std::process::exit(1);
    };
    if let Err(e) = run(Path::new(set), Path::new(out), rules, ablate, repeat) {
        eprintln!("extract bench: {e}");
        std::process::exit(1);
    }
}

fn run(
    set: &Path,
    out: &Path,
    rules: Rules,
    ablate: bool,
    repeat: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(set.join("truth.json"))?)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(set.join("html"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.to_string_lossy().ends_with(".html.gz") || p.to_string_lossy().ends_with(".html")
        })
        .collect();
    files.sort();
    // Pages are read one at a time so that peak memory is the extractor's, not the set's;
    // only parsing and extraction are timed.
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut parse_time = Duration::ZERO;
    let mut total = Duration::ZERO;
    let (mut parse_cpu, mut total_cpu) = (Duration::ZERO, Duration::ZERO);
    // Extraction's own parse (decoding, the hostile-input pre-pass, html5ever into its tree
    // chunk by chunk under the time budget), and the page parsed whole without the pre-pass:
    // the floor under extraction, beside the bare parse.
    let (mut own_cpu, mut unbounded_cpu) = (Duration::ZERO, Duration::ZERO);
    let mut warmed = false;
    let mut slowest = (Duration::ZERO, String::new());
    let mut panics = Vec::new();
    let mut flagged: std::collections::BTreeMap<String, usize> = Default::default();
    // One prediction file per rule switched off, for the ablation table.
    let mut ablations = Vec::new();
    if ablate {
        for rule in Rule::ALL {
            let path = out.with_extension(format!("without-{}.jsonl", rule.name()));
            ablations.push((
                rules.without(rule),
                std::io::BufWriter::new(std::fs::File::create(path)?),
            ));
        }
    }
    #[cfg(feature = "bench-dom-smoothie")]
    let mut ds = (
        Duration::ZERO,
        std::io::BufWriter::new(std::fs::File::create(
            out.with_extension("dom_smoothie.jsonl"),
        )?),
    );
    // Every pass after the first is timed only: predictions, ablations and the peer come from
    // the first.
    let passes = (0..repeat).flat_map(|pass| files.iter().map(move |f| (pass, f)));
    for (pass, f) in passes {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = name
            .trim_end_matches(".gz")
            .trim_end_matches(".html")
            .to_string();
        let url = truth
            .get(&id)
            .and_then(|t| t.get("url"))
            .and_then(|u| u.as_str())
            .and_then(|u| url::Url::parse(u).ok());
        let bytes = extract::page_bytes(std::fs::read(f)?)?;

        if !warmed {
            // The first page of a process compiles the extractor's patterns (tens of
            // milliseconds, once per process): done untimed, as a running daemon has.
            warmed = true;
            let _ = std::panic::catch_unwind(|| {
                extract::extract_with_rules(&bytes, url.as_ref(), rules)
            });
            std::hint::black_box(scraper::Html::parse_document(&String::from_utf8_lossy(
                &bytes,
            )));
        }

        let (t, c) = (Instant::now(), thread_cpu());
        let text = String::from_utf8_lossy(&bytes);
        std::hint::black_box(scraper::Html::parse_document(&text));
        parse_time += t.elapsed();
        parse_cpu += thread_cpu().saturating_sub(c);

        let c = thread_cpu();
        std::hint::black_box(extract::parse_floor(&bytes, true));
        own_cpu += thread_cpu().saturating_sub(c);
        let c = thread_cpu();
        std::hint::black_box(extract::parse_floor(&bytes, false));
        unbounded_cpu += thread_cpu().saturating_sub(c);

        let (t, c) = (Instant::now(), thread_cpu());
        let result =
            std::panic::catch_unwind(|| extract::extract_with_rules(&bytes, url.as_ref(), rules));
        let took = t.elapsed();
        total_cpu += thread_cpu().saturating_sub(c);
        total += took;
        if took > slowest.0 {
            slowest = (took, name.clone());
        }
        if pass > 0 {
            continue;
        }
        let text = match result {
            Ok(a) => {
                if let Some(reason) = a.not_article {
                    let kind = reason.split(':').next().unwrap_or_default().to_string();
                    *flagged.entry(kind).or_default() += 1;
                }
                a.text
            }
            Err(_) => {
                panics.push(name.clone());
                String::new()
            }
        };
        writeln!(w, "{}", serde_json::json!({"file": name, "text": text}))?;
        for (without, aw) in &mut ablations {
            let text = std::panic::catch_unwind(|| {
                extract::extract_with_rules(&bytes, url.as_ref(), *without).text
            })
            .unwrap_or_default();
            writeln!(aw, "{}", serde_json::json!({"file": name, "text": text}))?;
        }

        #[cfg(feature = "bench-dom-smoothie")]
        {
            let t = Instant::now();
            let html = String::from_utf8_lossy(&bytes);
            let doc_url = url.as_ref().map(|u| u.as_str());
            let text = std::panic::catch_unwind(|| {
                dom_smoothie::Readability::new(html.as_ref(), doc_url, None)
                    .and_then(|mut r| r.parse())
                    .map(|a| a.text_content.to_string())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
            ds.0 += t.elapsed();
            writeln!(ds.1, "{}", serde_json::json!({"file": name, "text": text}))?;
        }
    }
    #[cfg(feature = "bench-dom-smoothie")]
    {
        ds.1.flush()?;
        let n = files.len() as f64;
        println!(
            "dom_smoothie: {:.1} pages/s ({:.2} ms/page), predictions {}",
            n / ds.0.as_secs_f64(),
            ds.0.as_secs_f64() * 1000.0 / n,
            out.with_extension("dom_smoothie.jsonl").display()
        );
    }
    w.flush()?;
    for (_, aw) in &mut ablations {
        aw.flush()?;
    }

    let n = (files.len() * repeat) as f64;
    println!("pages: {} ({repeat} passes)", files.len());
    println!(
        "feedwatch extract: {:.1} pages/s ({:.2} ms/page)",
        n / total.as_secs_f64(),
        total.as_secs_f64() * 1000.0 / n
    );
    println!(
        "bare html5ever parse: {:.1} pages/s ({:.2} ms/page)",
        n / parse_time.as_secs_f64(),
        parse_time.as_secs_f64() * 1000.0 / n
    );
    println!(
        "ratio to bare parse: {:.2}x",
        total.as_secs_f64() / parse_time.as_secs_f64()
    );
    println!(
        "CPU time: feedwatch extract {:.2} ms/page, bare html5ever parse {:.2} ms/page, ratio {:.2}x",
        total_cpu.as_secs_f64() * 1000.0 / n,
        parse_cpu.as_secs_f64() * 1000.0 / n,
        total_cpu.as_secs_f64() / parse_cpu.as_secs_f64()
    );
    println!(
        "CPU time: feedwatch's own parse {:.3} ms/page ({:.2}x the bare parse; {:.2}x parsed whole \
         without the hostile-input pre-pass), extraction after it {:.3} ms/page ({:.2}x the bare parse)",
        own_cpu.as_secs_f64() * 1000.0 / n,
        own_cpu.as_secs_f64() / parse_cpu.as_secs_f64(),
        unbounded_cpu.as_secs_f64() / parse_cpu.as_secs_f64(),
        total_cpu.saturating_sub(own_cpu).as_secs_f64() * 1000.0 / n,
        total_cpu.saturating_sub(own_cpu).as_secs_f64() / parse_cpu.as_secs_f64(),
    );
    println!(
        "slowest page: {} ({:.1} ms)",
        slowest.1,
        slowest.0.as_secs_f64() * 1000.0
    );
    println!("flagged not_article: {flagged:?}");
    println!("panics: {} {:?}", panics.len(), panics);
    println!(
        "peak RSS: {}",
        peak_rss().unwrap_or_else(|| "unknown".into())
    );
    println!("predictions: {}", out.display());
    Ok(())
}

/// VmHWM of this process (Linux).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
}
