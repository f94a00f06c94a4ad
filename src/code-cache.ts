// V8's code cache for the bundle: the functions V8 compiled during one recorded run
// (lmc's own and the SDK's initialisation), so that later runs skip parsing and
// compiling them. Shared by the launcher (src/launch.ts) and the build's recorder.
//
// V8 rejects a cache made by another V8 version or with other flags, but of the source
// it checks only the length; a cache made for an older bundle of the same length would
// be taken. So the bundle ends with a key (a hash of its content) and the cache file
// starts with the key it was made for: a cache whose key differs is not used.

import { Script } from "node:vm";

/** File names in dist/, and asset names in the single executable. */
export const BUNDLE = "lmc-bundle.cjs";
export const CODE_CACHE = `${BUNDLE}.cache`;

const KEY_MARK = "//# lmcCodeCacheKey=";

export function withCacheKey(bundleSource: string, key: string): string {
  return `${bundleSource}\n${KEY_MARK}${key}\n`;
}

export function cacheKeyOf(bundleSource: string): string | undefined {
  const at = bundleSource.lastIndexOf(KEY_MARK);
  return at < 0 ? undefined : bundleSource.slice(at + KEY_MARK.length).trim();
}

export function packCache(key: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${key}\n`), data]);
}

/** The cache data in `file`, if it was made for the bundle with this key. */
export function unpackCache(key: string | undefined, file: Buffer | undefined): Buffer | undefined {
  if (key === undefined || file === undefined) return undefined;
  const header = Buffer.from(`${key}\n`);
  return file.subarray(0, header.length).equals(header) ? file.subarray(header.length) : undefined;
}

/** The bundle as a CommonJS module function, compiled with `cachedData` when given. */
export function compileBundle(source: string, filename: string, cachedData?: Buffer): Script {
  // Node's own module wrapper, on the first line so that line numbers stay right.
  return new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename,
    cachedData,
  });
}
