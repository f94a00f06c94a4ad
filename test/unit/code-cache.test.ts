import { describe, expect, it } from "vitest";
import { cacheKeyOf, compileBundle, packCache, unpackCache, withCacheKey } from "../../src/code-cache.js";

const bundleA = withCacheKey("module.exports = () => 'a';", "key-a");
const bundleB = withCacheKey("module.exports = () => 'b';", "key-b");

function run(script: ReturnType<typeof compileBundle>): unknown {
  const module = { exports: {} as unknown };
  script.runInThisContext()(module.exports, require, module, "bundle.cjs", ".");
  return (module.exports as () => unknown)();
}

describe("code cache", () => {
  it("reads the key back from the bundle's last line", () => {
    expect(cacheKeyOf(bundleA)).toBe("key-a");
    expect(cacheKeyOf("no key here")).toBeUndefined();
  });

  it("gives the cache only to the bundle it was made for", () => {
    const recorded = compileBundle(bundleA, "bundle.cjs");
    run(recorded);
    const file = packCache("key-a", recorded.createCachedData());
    expect(unpackCache(cacheKeyOf(bundleA), file)).toBeDefined();
    expect(unpackCache(cacheKeyOf(bundleB), file)).toBeUndefined();
    expect(unpackCache(undefined, file)).toBeUndefined();
    expect(unpackCache("key-a", undefined)).toBeUndefined();
  });

  it("runs the bundle with its cache, which V8 accepts", () => {
    const recorded = compileBundle(bundleA, "bundle.cjs");
    run(recorded);
    const cached = compileBundle(bundleA, "bundle.cjs", unpackCache("key-a", packCache("key-a", recorded.createCachedData())));
    expect(cached.cachedDataRejected).toBe(false);
    expect(run(cached)).toBe("a");
  });

  it("needs the key: V8 itself would take a cache made for another source of the same length", () => {
    expect(bundleA.length).toBe(bundleB.length);
    const recorded = compileBundle(bundleA, "bundle.cjs");
    run(recorded);
    const wrong = compileBundle(bundleB, "bundle.cjs", recorded.createCachedData());
    expect(wrong.cachedDataRejected).toBe(false);
  });
});
