// Records V8's code cache for the bundle (see src/startup/code-cache.ts). build.ts bundles this
// file and runs it under plain node, with no flags that V8 would hold against the cache:
//   node record-code-cache.cjs BUNDLE LMC_ARGS...
// It runs the bundle once with LMC_ARGS, the way the launcher does, and when the bundle
// exits writes BUNDLE.cache with every function V8 compiled by then, for every part.

import { readFileSync, writeFileSync } from "node:fs";
import type { Script } from "node:vm";
import { cacheKeyOf, compilePart, packCache, partsOf, runBundle, runtimeIdentity, type Part } from "../src/startup/code-cache.js";

const [bundleFile, ...lmcArgs] = process.argv.slice(2);
if (bundleFile === undefined) throw new Error("usage: record-code-cache BUNDLE LMC_ARGS...");
const source = readFileSync(bundleFile);
const key = cacheKeyOf(source);
const parts = partsOf(source);
if (key === undefined || parts === undefined) throw new Error(`${bundleFile} has no header`);

process.argv = [process.argv[0]!, bundleFile, ...lmcArgs];
// The flags are those of a plain `node`, which build.ts makes sure of.
const identity = runtimeIdentity(key);
const compiled: Array<{ part: Part; script: Script }> = [];
process.on("exit", () => {
  if (compiled.length !== parts.length) {
    process.stderr.write(`record-code-cache: the run compiled ${compiled.map((c) => c.part.name).join(", ")} of ${parts.map((p) => p.name).join(", ")}\n`);
    process.exitCode = 1;
    return;
  }
  const records = compiled.map(({ part, script }) => ({ scope: "sdk" as const, part: part.name, data: script.createCachedData() }));
  writeFileSync(`${bundleFile}.cache`, packCache(records, identity));
});
runBundle(
  parts,
  (part) => {
    const script = compilePart(part, bundleFile);
    compiled.push({ part, script });
    return script;
  },
  bundleFile,
  module,
  require,
  // A launcher with no timeline and no notes, as a run without NODE_DEBUG and --verbose has.
).run({ mark: () => {}, tellNotes: () => {}, v8FlagsChanged: () => {} });
