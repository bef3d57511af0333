// Readability.js (the npm package @mozilla/readability, on jsdom) over a page set laid out as
// in the shared bench data (SET_DIR/html/<id>.html[.gz], SET_DIR/truth.json): writes one
// {"file", "text"} line per page, the article's textContent, for score.py.
// Run by scripts/extract_peers.sh, which installs the two packages outside the repository.
// Usage: NODE_PATH=DIR/node_modules node scripts/peer_readability.mjs SET_DIR OUT.jsonl
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { createRequire } from "node:module";

const require = createRequire(path.join(process.env.NODE_PATH || ".", "x.js"));
const { JSDOM, VirtualConsole } = require("jsdom");
const { Readability } = require("@mozilla/readability");

const [setDir, outPath] = process.argv.slice(2);
if (!setDir || !outPath) {
  console.error("usage: node peer_readability.mjs SET_DIR OUT.jsonl");
  process.exit(1);
}
const truth = JSON.parse(fs.readFileSync(path.join(setDir, "truth.json"), "utf8"));
const files = fs
  .readdirSync(path.join(setDir, "html"))
  .filter((f) => f.endsWith(".html") || f.endsWith(".html.gz"))
  .sort();
// Scripts never run and nothing is fetched: jsdom only parses.
const quiet = new VirtualConsole();
const out = fs.openSync(outPath, "w");
let took = 0;
let failed = 0;
for (const f of files) {
  let bytes = fs.readFileSync(path.join(setDir, "html", f));
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
  const id = f.replace(/\.gz$/, "").replace(/\.html$/, "");
  const url = (truth[id] && truth[id].url) || "http://localhost/";
  let text = "";
  const t = process.hrtime.bigint();
  try {
    // jsdom reads the bytes as the browser would (BOM, <meta charset>, else windows-1252).
    const dom = new JSDOM(bytes, { url, virtualConsole: quiet, contentType: "text/html" });
    const article = new Readability(dom.window.document).parse();
    text = (article && article.textContent) || "";
    dom.window.close();
  } catch (e) {
    failed += 1;
  }
  took += Number(process.hrtime.bigint() - t) / 1e6;
  fs.writeSync(out, JSON.stringify({ file: f, text }) + "\n");
}
fs.closeSync(out);
console.log(
  `readability: ${files.length} pages, ${(took / files.length).toFixed(2)} ms/page, ${failed} failed`
);
