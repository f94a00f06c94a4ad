import { describe, expect, it } from "vitest";
import {
  USER_CACHE_FILE,
  bytesOf,
  cacheKeyOf,
  compilePart,
  fits,
  flagsKey,
  intact,
  packBundle,
  packCache,
  partsOf,
  runBundle,
  runtimeIdentity,
  unpackCache,
  userCacheDir,
  userCacheDisabled,
  userCacheFileName,
  type Bytes,
  type CacheIdentity,
} from "../../src/startup/code-cache.js";

/** `buffer` as Bytes that count what is read of them. */
function counted(buffer: Buffer): Bytes & { readBytes: number } {
  const bytes = bytesOf(buffer);
  return {
    size: bytes.size,
    readBytes: 0,
    read(start, length) {
      const piece = bytes.read(start, length);
      this.readBytes += piece.length;
      return piece;
    },
  };
}

const bundleA = "module.exports = () => 'a';";
const bundleB = "module.exports = () => 'b';";
const here: CacheIdentity = runtimeIdentity("key-a", {});

const part = (source: string) => ({ name: "lmc", source, lineOffset: 0 });

function run(script: ReturnType<typeof compilePart>): unknown {
  const module = { exports: {} as unknown };
  script.runInThisContext()(module.exports, require, module, "bundle.cjs", ".");
  return (module.exports as () => unknown)();
}

function recorded(source: string): Buffer {
  const script = compilePart(part(source), "bundle.cjs");
  run(script);
  return script.createCachedData();
}

describe("code cache", () => {
  it("reads the key back from the bundle's header", () => {
    expect(cacheKeyOf(Buffer.from(packBundle("key-a", { lmc: bundleA })))).toBe("key-a");
    expect(cacheKeyOf(Buffer.from("no header here"))).toBeUndefined();
    expect(cacheKeyOf(Buffer.from(""))).toBeUndefined();
  });

  it("reads back the records a cache file was packed with: identity, scope, part and data", () => {
    const [lmc, sdk] = [recorded(bundleA), recorded(bundleB)];
    const records = unpackCache(
      packCache(
        [
          { scope: "startup", part: "lmc", data: lmc },
          { scope: "sdk", part: "@lmstudio/sdk", data: sdk },
        ],
        here,
      ),
    );
    expect(records.map((r) => [r.identity, r.scope, r.part])).toEqual([
      [here, "startup", "lmc"],
      [here, "sdk", "@lmstudio/sdk"],
    ]);
    expect(records[0]!.data.equals(lmc)).toBe(true);
    expect(records[1]!.data.equals(sdk)).toBe(true);
  });

  it("takes no file that is not a cache of this format, or is cut short", () => {
    expect(unpackCache(undefined)).toEqual([]);
    expect(unpackCache(Buffer.from("garbage without a header line"))).toEqual([]);
    // The first format: the bundle key alone on the first line.
    expect(unpackCache(Buffer.from("key-a\n\x01\x02"))).toEqual([]);
    const packed = packCache([{ scope: "sdk", part: "lmc", data: Buffer.from("data") }], here);
    expect(unpackCache(packed)).toHaveLength(1);
    expect(unpackCache(Buffer.from(packed.toString("latin1").replace(" sdk ", " everything "), "latin1"))).toEqual([]);
    expect(unpackCache(Buffer.from(packed.toString("latin1").replace("/4 ", "/3 "), "latin1"))).toEqual([]);
    expect(unpackCache(packed.subarray(0, packed.length - 1))).toEqual([]);
  });

  it("finds a record whose data is not what was recorded, before V8 sees it", () => {
    const data = recorded(bundleA);
    const packed = packCache([{ scope: "sdk", part: "lmc", data }], here);
    const [record] = unpackCache(packed);
    expect(intact(record!)).toBe(true);
    const damaged = Buffer.from(packed);
    damaged[damaged.length - 1]! ^= 1;
    expect(intact(unpackCache(damaged)[0]!)).toBe(false);
    // A header without a checksum, or with one that is not 16 hex digits, is not of this format.
    const header = packed.subarray(0, packed.indexOf(10)).toString("latin1");
    const withChecksum = (checksum: string) => Buffer.concat([Buffer.from(`${header.slice(0, header.lastIndexOf(" "))}${checksum}\n`, "latin1"), data]);
    expect(unpackCache(withChecksum(""))).toEqual([]);
    expect(unpackCache(withChecksum(" 0123"))).toEqual([]);
    expect(unpackCache(withChecksum(" 0123456789ABCDEF"))).toEqual([]);
    expect(unpackCache(withChecksum(` ${record!.checksum}`))).toHaveLength(1);
  });

  it("reads of a cache file only its header lines, and a record's data when it is asked for", () => {
    const [lmc, sdk] = [Buffer.alloc(5000, 1), Buffer.alloc(50_000, 2)];
    const file = counted(
      packCache(
        [
          { scope: "sdk", part: "lmc", data: lmc },
          { scope: "sdk", part: "@lmstudio/sdk", data: sdk },
        ],
        here,
      ),
    );
    const records = unpackCache(file);
    expect(records.map((r) => r.part)).toEqual(["lmc", "@lmstudio/sdk"]);
    expect(file.readBytes).toBeLessThan(1000);
    expect(records[0]!.data.equals(lmc)).toBe(true);
    expect(file.readBytes).toBeLessThan(1000 + lmc.length);
    expect(records[1]!.data.equals(sdk)).toBe(true);
  });

  it("reads of the bundle only its header, and a part when its source is asked for", () => {
    const sdk = "x".repeat(50_000);
    const bundle = counted(Buffer.from(packBundle("key", { lmc: "lmc", "@lmstudio/sdk": sdk })));
    const parts = partsOf(bundle)!;
    expect(cacheKeyOf(bundle)).toBe("key");
    expect(parts[0]!.source).toBe("lmc");
    expect(bundle.readBytes).toBeLessThan(1000);
    expect(parts[1]!.source).toBe(sdk);
  });

  it("splits the bundle into its parts, each knowing its first line in the file", () => {
    const bundle = packBundle("key", { lmc: "lmc line 1\nlmc line 2 ü", "@lmstudio/sdk": "sdk line 1 ✓\nsdk line 2" });
    const lines = bundle.split("\n");
    const parts = partsOf(Buffer.from(bundle))!;
    expect(parts.map((part) => [part.name, part.source])).toEqual([
      ["lmc", "lmc line 1\nlmc line 2 ü"],
      ["@lmstudio/sdk", "sdk line 1 ✓\nsdk line 2"],
    ]);
    expect(lines[parts[0]!.lineOffset]).toBe("lmc line 1");
    expect(lines[parts[1]!.lineOffset]).toBe("sdk line 1 ✓");
    expect(partsOf(Buffer.from("no header"))).toBeUndefined();
    // A header that points past the end of the file: cut short.
    expect(partsOf(Buffer.from(bundle).subarray(0, bundle.length - 5))).toBeUndefined();
  });

  it("runs the bundle's lazy parts only when lmc requires them, once", () => {
    const bundle = packBundle("key", { lmc: "module.exports = () => require('lazy').value + require('lazy').value;", lazy: "module.exports = { value: 21 };" });
    const compiled: string[] = [];
    const module = { exports: {} as unknown } as NodeJS.Module;
    runBundle(partsOf(Buffer.from(bundle))!, (p) => (compiled.push(p.name), compilePart(p, "/x/bundle.cjs")), "/x/bundle.cjs", module, require);
    expect(compiled).toEqual(["lmc"]);
    expect((module.exports as () => number)()).toBe(42);
    expect(compiled).toEqual(["lmc", "lazy"]);
  });

  it("gives a cache only to the bundle, V8, architecture and flags it was made for", () => {
    const [file] = unpackCache(packCache([{ scope: "sdk", part: "lmc", data: recorded(bundleA) }], here));
    expect(fits(file, here)).toBe(true);
    expect(fits(file, { ...here, bundle: "key-b" })).toBe(false);
    expect(fits(file, { ...here, v8: "12.4.254.21-node.33" })).toBe(false);
    expect(fits(file, { ...here, arch: "arm64" })).toBe(false);
    expect(fits(file, { ...here, flags: flagsKey(["--jitless"], undefined) })).toBe(false);
    // The shipped cache is recorded without flags; whether the user's matter is V8's call.
    expect(fits(file, { ...here, flags: flagsKey(["--jitless"], undefined) }, true)).toBe(true);
    expect(fits(undefined, here)).toBe(false);
  });

  it("keys the flags by Node's own and NODE_OPTIONS", () => {
    expect(flagsKey([], undefined)).toBe(flagsKey([], ""));
    const keys = [flagsKey([], undefined), flagsKey(["--max-old-space-size=100"], undefined), flagsKey([], "--max-old-space-size=100")];
    expect(new Set(keys).size).toBe(3);
  });

  it("names one file per part, bundle, V8, architecture and flags", () => {
    const name = userCacheFileName(here, "lmc");
    expect(name).toMatch(USER_CACHE_FILE);
    expect(name).not.toMatch(/[/\\]/);
    const others = [{ bundle: "key-b" }, { v8: "99.1" }, { arch: "arm64" }, { flags: "0123456789abcdef" }].map((change) =>
      userCacheFileName({ ...here, ...change }, "lmc"),
    );
    const sdk = userCacheFileName(here, "@lmstudio/sdk");
    expect(sdk).toMatch(USER_CACHE_FILE);
    expect(new Set([name, sdk, ...others]).size).toBe(6);
    expect(userCacheFileName({ ...here, v8: "12.4/../../x" }, "../x")).not.toMatch(/[/\\]/);
    expect(`${name}.1234.abc.tmp`).toMatch(USER_CACHE_FILE);
    expect("notes.txt").not.toMatch(USER_CACHE_FILE);
  });

  it("runs the bundle with its cache, which V8 accepts", () => {
    const [file] = unpackCache(packCache([{ scope: "sdk", part: "lmc", data: recorded(bundleA) }], here));
    const cached = compilePart(part(bundleA), "bundle.cjs", file!.data);
    expect(cached.cachedDataRejected).toBe(false);
    expect(run(cached)).toBe("a");
  });

  it("needs the key: V8 itself would take a cache made for another source of the same length", () => {
    expect(bundleA.length).toBe(bundleB.length);
    const wrong = compilePart(part(bundleB), "bundle.cjs", recorded(bundleA));
    expect(wrong.cachedDataRejected).toBe(false);
  });
});

describe("the user's cache directory", () => {
  it("is $XDG_CACHE_HOME/lmc when that is an absolute path", () => {
    expect(userCacheDir({ XDG_CACHE_HOME: "/var/cache/me" }, "linux", "/home/me")).toBe("/var/cache/me/lmc");
    const asked: string[] = [];
    const home = () => (asked.push("home"), "/home/me");
    expect(userCacheDir({ XDG_CACHE_HOME: "/var/cache/me" }, "linux", home)).toBe("/var/cache/me/lmc");
    expect(asked).toEqual([]); // the home directory (node:os without $HOME) is not asked for
    expect(userCacheDir({}, "linux", home)).toBe("/home/me/.cache/lmc");
    expect(userCacheDir({ XDG_CACHE_HOME: "/var/cache/me" }, "darwin", "/Users/me")).toBe("/var/cache/me/lmc");
    expect(userCacheDir({ XDG_CACHE_HOME: "relative" }, "linux", "/home/me")).toBe("/home/me/.cache/lmc");
    expect(userCacheDir({ XDG_CACHE_HOME: "" }, "linux", "/home/me")).toBe("/home/me/.cache/lmc");
  });

  it("is the platform's place for caches otherwise", () => {
    expect(userCacheDir({}, "linux", "/home/me")).toBe("/home/me/.cache/lmc");
    expect(userCacheDir({}, "freebsd", "/home/me")).toBe("/home/me/.cache/lmc");
    expect(userCacheDir({}, "darwin", "/Users/me")).toBe("/Users/me/Library/Caches/lmc");
    const windows = userCacheDir({ LOCALAPPDATA: "C:\\Users\\me\\AppData\\Local" }, "win32", "C:\\Users\\me");
    expect(windows?.replaceAll("\\", "/")).toBe("C:/Users/me/AppData/Local/lmc/Cache");
  });

  it("is none without a home", () => {
    expect(userCacheDir({}, "linux", "")).toBeUndefined();
  });

  it("is none with a relative home ($HOME=. or rel): a cache made in whatever folder lmc runs in", () => {
    expect(userCacheDir({}, "linux", ".")).toBeUndefined();
    expect(userCacheDir({}, "linux", "rel")).toBeUndefined();
    expect(userCacheDir({}, "darwin", "rel")).toBeUndefined();
    expect(userCacheDir({ XDG_CACHE_HOME: "rel" }, "linux", "rel")).toBeUndefined();
  });

  it("is turned off by LMC_NO_CACHE set to anything but empty, 0 or false", () => {
    expect(userCacheDisabled({ LMC_NO_CACHE: "1" })).toBe(true);
    expect(userCacheDisabled({ LMC_NO_CACHE: "yes" })).toBe(true);
    expect(userCacheDisabled({ LMC_NO_CACHE: "0" })).toBe(false);
    expect(userCacheDisabled({ LMC_NO_CACHE: "false" })).toBe(false);
    expect(userCacheDisabled({ LMC_NO_CACHE: "FALSE" })).toBe(false);
    expect(userCacheDisabled({ LMC_NO_CACHE: "" })).toBe(false);
    expect(userCacheDisabled({})).toBe(false);
  });
});
