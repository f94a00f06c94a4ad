// The npm package's bin (dist/lmc.cjs) and the single executable's entry. All of lmc is
// one bundle (dist/lmc-bundle.cjs, from src/cli.ts); this only runs it with V8's code
// cache made at build time (see src/code-cache.ts), which saves compiling the bundle
// and the SDK on every run. Without a usable cache (another Node version, a cross-built
// executable) the bundle is compiled as usual. `NODE_DEBUG=lmc` tells which happened.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { debuglog } from "node:util";
import { BUNDLE, CODE_CACHE, cacheKeyOf, compileBundle, unpackCache } from "./code-cache.js";

interface Bundle {
  source: string;
  cache: Buffer | undefined;
  filename: string;
}

const debug = debuglog("lmc");

function fromExecutable(): Bundle | undefined {
  let sea: typeof import("node:sea") | undefined;
  try {
    sea = require("node:sea") as typeof import("node:sea");
  } catch {
    return undefined; // a Node older than single executables' assets
  }
  if (!sea.isSea()) return undefined;
  let cache: Buffer | undefined;
  try {
    cache = Buffer.from(sea.getAsset(CODE_CACHE));
  } catch {
    cache = undefined; // cross-built executables carry no cache
  }
  return { source: sea.getAsset(BUNDLE, "utf8"), cache, filename: process.execPath };
}

function fromFiles(): Bundle {
  const filename = join(__dirname, BUNDLE);
  let cache: Buffer | undefined;
  try {
    cache = readFileSync(join(__dirname, CODE_CACHE));
  } catch {
    cache = undefined;
  }
  return { source: readFileSync(filename, "utf8"), cache, filename };
}

const bundle = fromExecutable() ?? fromFiles();
const cachedData = unpackCache(cacheKeyOf(bundle.source), bundle.cache);
const script = compileBundle(bundle.source, bundle.filename, cachedData);
debug(
  cachedData === undefined
    ? "no code cache for this bundle"
    : script.cachedDataRejected
      ? "code cache rejected by V8"
      : "code cache used",
);
script.runInThisContext()(exports, require, module, bundle.filename, dirname(bundle.filename));
