// Records V8's code cache for the bundle (see src/code-cache.ts). build.ts bundles this
// file and runs it under plain node, with no flags that V8 would hold against the cache:
//   node record-code-cache.cjs BUNDLE LMC_ARGS...
// It runs the bundle once with LMC_ARGS, the way the launcher does, and when the bundle
// exits writes BUNDLE.cache with every function V8 compiled by then.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { cacheKeyOf, compileBundle, packCache, runtimeIdentity } from "../src/code-cache.js";

const [bundleFile, ...lmcArgs] = process.argv.slice(2);
if (bundleFile === undefined) throw new Error("usage: record-code-cache BUNDLE LMC_ARGS...");
const source = readFileSync(bundleFile, "utf8");
const key = cacheKeyOf(source);
if (key === undefined) throw new Error(`${bundleFile} has no code cache key`);

process.argv = [process.argv[0]!, bundleFile, ...lmcArgs];
const script = compileBundle(source, bundleFile);
// The flags are those of a plain `node`, which build.ts makes sure of.
const identity = runtimeIdentity(key);
process.on("exit", () => writeFileSync(`${bundleFile}.cache`, packCache(identity, "sdk", script.createCachedData())));
script.runInThisContext()(exports, require, module, bundleFile, dirname(bundleFile));
