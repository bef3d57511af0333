#!/usr/bin/env python3
"""trafilatura (from the Python package registry) over a page set laid out as in the shared
bench data (SET_DIR/html/<id>.html[.gz], SET_DIR/truth.json): writes one {"file", "text"}
line per page, for score.py. Run by scripts/extract_peers.sh, which installs trafilatura in a
virtual environment outside the repository.

    peer_trafilatura.py SET_DIR OUT.jsonl [--comments]

Comments are left out (include_comments=False: the article body is what is scored) unless
--comments is given (trafilatura's default).
"""
import gzip
import json
import sys
import time
from pathlib import Path

import trafilatura


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    set_dir, out = Path(argv[1]), Path(argv[2])
    comments = "--comments" in argv
    truth = json.loads((set_dir / "truth.json").read_text())
    files = sorted(p for p in (set_dir / "html").iterdir() if p.name.endswith((".html", ".html.gz")))
    took, failed = 0.0, 0
    with out.open("w", encoding="utf-8") as w:
        for f in files:
            raw = f.read_bytes()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            pid = f.name.removesuffix(".gz").removesuffix(".html")
            url = truth.get(pid, {}).get("url")
            t = time.perf_counter()
            try:
                # Bytes in: trafilatura decodes them itself, as it would a fetched page.
                text = trafilatura.extract(raw, url=url, include_comments=comments) or ""
            except Exception:  # a page it cannot read counts as an empty extraction
                text, failed = "", failed + 1
            took += time.perf_counter() - t
            w.write(json.dumps({"file": f.name, "text": text}) + "\n")
    print(f"trafilatura: {len(files)} pages, {took * 1000 / max(len(files), 1):.2f} ms/page, {failed} failed")


if __name__ == "__main__":
    main(sys.argv)
