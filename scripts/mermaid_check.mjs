// Parses Mermaid files with mermaid's own parser (the one GitHub renders with), in Node with a
// jsdom window instead of a browser. scripts/tools.sh copies this file next to the pinned
// mermaid and jsdom it installs; run it as `node "$FLOWFORM_MERMAID_CHECK" FILE...`.
// Prints one line per file ("ok" or the parse error); exits 1 when any file fails.
import { JSDOM } from "jsdom";
import fs from "node:fs";
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });
let bad = 0;
for (const f of process.argv.slice(2)) {
  try {
    await mermaid.parse(fs.readFileSync(f, "utf8"));
    console.log(`${f}: ok`);
  } catch (e) {
    bad++;
    console.log(`${f}: ${String(e.message || e).split("\n").slice(0, 4).join(" | ")}`);
  }
}
process.exit(bad ? 1 : 0);
