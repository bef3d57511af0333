#!/usr/bin/env python3
"""What each extraction rule is worth on every development set: F1 with all rules on, and with
each rule switched off alone, scored as the shared `score.py` scores.

    scripts/extract_ablation.py [BENCH_DIR] [OUT_DIR] [--doc docs/extraction.md]

Builds the `news` sets (scripts/make_news_set.py) into OUT_DIR, runs
`cargo bench --bench extract -- SET OUT.jsonl --ablate` on zyte, wcxb-dev and news-dev (one
extraction per page per rule, in one process), scores every prediction file, prints the
table, and with `--doc` rewrites the table between the markers in that file. The held-out
half of the news set is not scored here.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

SETS = ["zyte", "wcxb-dev", "news-dev"]
BEGIN, END = "<!-- ablation:begin -->", "<!-- ablation:end -->"


def load_score(bench):
    spec = importlib.util.spec_from_file_location("score", bench / "score.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def f1_of(score, set_dir, preds_path):
    truth = json.loads((set_dir / "truth.json").read_text(encoding="utf-8"))
    preds = {}
    for line in preds_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            pid = score.page_id(obj.get("file", ""), truth)
            if pid is not None:
                preds[pid] = obj.get("text") or ""
    rows = [score.page_counts(item["articleBody"], preds.get(pid, "")) for pid, item in truth.items()]
    return score.summarise(rows)[0]


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    doc = Path(argv[argv.index("--doc") + 1]) if "--doc" in argv else None
    if doc is not None:
        args = [a for a in args if a != str(doc)]
    bench = Path(args[0] if args else "../shared/bench/extraction")
    out = Path(args[1] if len(args) > 1 else "target/extract-ablation")
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "scripts/make_news_set.py", str(bench), str(out)], check=True)
    score = load_score(bench)
    dirs = {s: (out / s if s.startswith("news") else bench / s) for s in SETS}
    results = {}
    for name, set_dir in dirs.items():
        preds = out / f"{name}.jsonl"
        # EXTRACT_BENCH_BIN names an already built bench binary, to run it without cargo.
        cmd = ([os.environ["EXTRACT_BENCH_BIN"]] if os.environ.get("EXTRACT_BENCH_BIN")
               else ["cargo", "bench", "--quiet", "--bench", "extract", "--"])
        subprocess.run(cmd + [str(set_dir), str(preds), "--ablate"], check=True,
                       stdout=subprocess.DEVNULL)
        base = f1_of(score, set_dir, preds)
        results[name] = {"all rules": base}
        for p in sorted(out.glob(f"{name}.without-*.jsonl")):
            rule = p.name[len(name) + len(".without-"):-len(".jsonl")]
            results[name][rule] = f1_of(score, set_dir, p)
    rules = [r for r in results[SETS[0]] if r != "all rules"]
    lines = ["| rule | " + " | ".join(f"{s} without (Δ)" for s in SETS) + " |",
             "| --- | " + " | ".join("---:" for _ in SETS) + " |",
             "| *all rules on* | " + " | ".join(f"**{results[s]['all rules']:.4f}**" for s in SETS) + " |"]
    for r in rules:
        cells = []
        for s in SETS:
            f = results[s].get(r)
            if f is None:
                cells.append("n/a")
                continue
            d = results[s]["all rules"] - f
            cells.append(f"{f:.4f} ({d:+.4f})")
        lines.append(f"| `{r}` | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if doc is not None:
        text = doc.read_text(encoding="utf-8")
        a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
        doc.write_text(text[:a] + "\n" + table + "\n" + text[b:], encoding="utf-8")
        print(f"table written to {doc}")


if __name__ == "__main__":
    main(sys.argv)
