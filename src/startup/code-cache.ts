// V8's code cache for the bundle: the functions V8 compiled during one recorded run
// (lmc's own and the SDK's initialisation), so that later runs skip parsing and
// compiling them. Shared by the launcher (src/startup/launch.ts) and the build's recorder.
//
// V8 rejects a cache made by another V8 version or with other flags, but of the source
// it checks only the length; a cache made for an older bundle of the same length would
// be taken. So the bundle starts with a key (a hash of its content) and every cache file
// starts with a header line naming the bundle key, V8 version, architecture and flags
// it was made with: a cache whose header does not fit is not even handed to V8. The line
// ends with a checksum of the record's data (src/startup/checksum.ts): V8 crashes on damaged data.
//
// Two kinds of cache files: the one the package ships (recorded at build time, by this
// machine's Node) and, when that one does not fit the user's V8, those that lmc records
// itself after a successful run, in the user's cache directory (src/startup/launch.ts).
//
// The bundle is one file of two parts, each compiled as a script of its own: lmc itself,
// then the SDK, which lmc requires lazily. So --version, --help and usage errors
// read, compile and deserialise the cache of lmc's own code only, a tenth of the bundle.

import { dirname, join } from "node:path";
import { Script } from "node:vm";
import { envFlag } from "../lib/env-flag.js";
import { checksumOf } from "./checksum.js";
import type { BundleEntry } from "./launcher.js";

/** File names in dist/, and asset names in the single executable. */
export const BUNDLE = "lmc-bundle.cjs";
export const CODE_CACHE = `${BUNDLE}.cache`;

const HEADER_MARK = "//# lmcBundle";
/** The header line's length: fixed, so that it can be found without scanning the bundle. */
const HEADER_BYTES = 400;
const MAGIC = "lmc-code-cache/4";
/** A cache record's header line is shorter than this. */
const RECORD_HEADER_BYTES = 400;

/**
 * A bundle or cache file, read a piece at a time: a run reads only the parts it
 * compiles (the header and lmc's own 65 kB for --version, not the SDK's 0.5 MB), and
 * of a cache only the header lines until one fits, then that record's data.
 */
export interface Bytes {
  readonly size: number;
  /** `length` bytes from `start`, or fewer at the end. */
  read(start: number, length: number): Buffer;
}

/** A file or asset already in memory, as Bytes. */
export function bytesOf(buffer: Buffer): Bytes {
  return { size: buffer.length, read: (start, length) => buffer.subarray(start, start + length) };
}

const asBytes = (file: Buffer | Bytes): Bytes => (Buffer.isBuffer(file) ? bytesOf(file) : file);

/** A part of the bundle: lmc's own code ("lmc"), or a module it requires lazily, by its name. */
export interface Part {
  readonly name: string;
  /** Decoded when first asked for: only the parts a run compiles are. */
  readonly source: string;
  /** Lines in the bundle file before the part, so that stack traces name the right line. */
  readonly lineOffset: number;
}

/**
 * The bundle file: a header line, then each part. The header names the bundle's key (a
 * hash of its content: V8 checks only a source's length, and would take a cache made
 * for another bundle of the same length) and where each part is, in bytes and lines,
 * so that a run decodes and compiles only the parts it needs.
 */
export function packBundle(key: string, parts: Record<string, string>): string {
  let body = "";
  let bytes = HEADER_BYTES + 1;
  let lines = 1;
  const places: string[] = [];
  for (const [name, source] of Object.entries(parts)) {
    const length = Buffer.byteLength(source);
    places.push(`${name}:${bytes}:${length}:${lines}`);
    body += `${source}\n`;
    bytes += length + 1;
    lines += source.split("\n").length;
  }
  const header = `${HEADER_MARK} ${key} ${places.join(" ")}`;
  if (header.length > HEADER_BYTES) throw new Error("the bundle's header is too long");
  return `${header.padEnd(HEADER_BYTES)}\n${body}`;
}

/** The bundle's key; undefined when the file has no header. */
export function cacheKeyOf(bundle: Buffer | Bytes): string | undefined {
  return headerOf(asBytes(bundle))?.key;
}

/** The bundle's parts, lmc's own first; undefined when the file has no header. */
export function partsOf(file: Buffer | Bytes): Part[] | undefined {
  const bundle = asBytes(file);
  return headerOf(bundle)?.parts.map(({ name, start, length, lineOffset }) => {
    let source: string | undefined;
    return {
      name,
      lineOffset,
      get source() {
        return (source ??= bundle.read(start, length).toString("utf8"));
      },
    };
  });
}

function headerOf(bundle: Bytes) {
  const header = bundle.read(0, HEADER_BYTES).toString("latin1");
  if (!header.startsWith(`${HEADER_MARK} `)) return undefined;
  const [key, ...places] = header
    .slice(HEADER_MARK.length + 1)
    .trimEnd()
    .split(" ");
  if (!key || places.length === 0) return undefined;
  const parts = places.map((place) => {
    const [name = "", start, length, lineOffset] = place.split(":"); // no name: refused below
    return { name, start: Number(start), length: Number(length), lineOffset: Number(lineOffset) };
  });
  const fits = parts.every((part) => part.name && part.start >= HEADER_BYTES && part.start + part.length <= bundle.size);
  return fits ? { key, parts } : undefined;
}

/** What a cache is valid for. V8 checks the last three itself, but only once it has the data. */
export interface CacheIdentity {
  bundle: string;
  v8: string;
  arch: string;
  /** A hash of the flags Node and V8 were started with (see flagsKey). */
  flags: string;
}

/**
 * How much the recorded run compiled: only lmc's start-up (--version, --help, a usage
 * error), or the SDK as well. A start-up cache is recorded again after a run that
 * loads the SDK, so the first run after an upgrade decides nothing for good.
 */
type CacheScope = "startup" | "sdk";

export interface CacheFile {
  identity: CacheIdentity;
  scope: CacheScope;
  /** The part of the bundle it was made for. */
  part: string;
  /** Of the data (src/startup/checksum.ts): V8 crashes on damaged data, so it is checked first (see intact). */
  checksum: string;
  data: Buffer;
}

/** The running V8's identity, for the bundle with this key. */
export function runtimeIdentity(bundle: string, env: NodeJS.ProcessEnv = process.env): CacheIdentity {
  return { bundle, v8: process.versions.v8, arch: process.arch, flags: flagsKey(process.execArgv, env.NODE_OPTIONS) };
}

/**
 * The flags part of a cache's identity. V8 refuses a cache made under other V8 flags;
 * keying the user's cache file by the flags keeps two ways of running lmc (say, with and
 * without a NODE_OPTIONS) from overwriting each other's cache on every run.
 */
export function flagsKey(execArgv: readonly string[], nodeOptions: string | undefined): string {
  if (execArgv.length === 0 && !nodeOptions) return "noflags";
  return fnv1a(JSON.stringify([execArgv, nodeOptions ?? ""]));
}

/** A short hash without loading node:crypto, which would cost every run a few milliseconds. */
function fnv1a(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    a = Math.imul(a ^ text.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ text.charCodeAt(i), 0x5bd1e995);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** A cache file: one record (header line and data) per part, back to back. */
export function packCache(records: Array<Omit<CacheFile, "identity" | "checksum">>, identity: CacheIdentity): Buffer {
  const { bundle, v8, arch, flags } = identity;
  return Buffer.concat(
    records.flatMap(({ scope, part, data }) => {
      const checksum = checksumOf(data);
      if (checksum === undefined) throw new Error("no checksum without WebAssembly");
      return [Buffer.from(`${MAGIC} ${bundle} ${v8} ${arch} ${flags} ${scope} ${part} ${data.length} ${checksum}\n`), data];
    }),
  );
}

/** Whether a record's data is what was recorded: V8 is never handed data that fails this. */
export function intact(record: CacheFile): boolean {
  return checksumOf(record.data) === record.checksum;
}

/**
 * A cache file's records; none when it is not a cache file (or of an older format), or
 * is cut short. Each record's data is read when first asked for.
 */
export function unpackCache(input: Buffer | Bytes | undefined): CacheFile[] {
  const records: CacheFile[] = [];
  const file = input === undefined ? undefined : asBytes(input);
  for (let at = 0; file !== undefined && at < file.size;) {
    const line = file.read(at, RECORD_HEADER_BYTES + 1);
    const end = line.indexOf(10); // "\n"
    if (end < 0) return [];
    const [magic, bundle, v8, arch, flags, scope, part, bytes, checksum, ...rest] = line.subarray(0, end).toString("latin1").split(" ");
    const start = at + end + 1;
    const length = Number(bytes);
    if (magic !== MAGIC || rest.length > 0 || (scope !== "startup" && scope !== "sdk")) return [];
    if (!bundle || !v8 || !arch || !flags || !part || !/^\d+$/.test(bytes ?? "") || start + length > file.size) return [];
    if (checksum === undefined || !/^[\da-f]{16}$/.test(checksum)) return [];
    let data: Buffer | undefined;
    records.push({
      identity: { bundle, v8, arch, flags },
      scope,
      part,
      checksum,
      get data() {
        return (data ??= file.read(start, length));
      },
    });
    at = start + length;
  }
  return records;
}

/**
 * Whether a cache may be handed to this V8. The shipped cache is recorded without flags;
 * whether the user's flags matter is left to V8 (`ignoreFlags`), since most do not.
 */
export function fits(cache: CacheFile | undefined, running: CacheIdentity, ignoreFlags = false): cache is CacheFile {
  if (cache === undefined) return false;
  const made = cache.identity;
  return made.bundle === running.bundle && made.v8 === running.v8 && made.arch === running.arch && (ignoreFlags || made.flags === running.flags);
}

/** The user's cache file for this part of this bundle on this V8 with these flags. */
export function userCacheFileName(identity: CacheIdentity, part: string): string {
  const safe = (text: string) => text.replace(/[^\w.-]/g, "_");
  return `lmc-${identity.bundle.slice(0, 16)}-${safe(part)}-v8-${safe(identity.v8)}-${identity.arch}-${identity.flags}.cache`;
}

/** Whether a file in the cache directory is one of lmc's code caches (or a temporary one). */
export const USER_CACHE_FILE = /^lmc-[\w.-]+\.cache(\.[\w.-]+\.tmp)?$/;

/**
 * The user's cache directory for lmc: $XDG_CACHE_HOME/lmc where that is set (to an
 * absolute path, as the XDG spec asks), else the platform's place for caches. The
 * home directory may be given as a function, asked only when needed (it may load node:os).
 */
export function userCacheDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, homeDir: string | (() => string)): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  const home = () => (typeof homeDir === "function" ? homeDir() : homeDir);
  if (platform === "win32") {
    const local = env.LOCALAPPDATA || (home() ? join(home(), "AppData", "Local") : undefined);
    return local ? join(local, "lmc", "Cache") : undefined;
  }
  if (xdg && xdg.startsWith("/")) return join(xdg, "lmc");
  const dir = home();
  // A relative home would put the cache in whatever folder lmc runs in.
  if (!dir || !dir.startsWith("/")) return undefined;
  return platform === "darwin" ? join(dir, "Library", "Caches", "lmc") : join(dir, ".cache", "lmc");
}

/** LMC_NO_CACHE turns the user's cache off, when set to anything but empty, 0 or false. */
export function userCacheDisabled(env: NodeJS.ProcessEnv): boolean {
  return envFlag(env.LMC_NO_CACHE);
}

/** A part of the bundle as a CommonJS module function, compiled with `cachedData` when given. */
export function compilePart(part: Part, filename: string, cachedData?: Buffer): Script {
  // Node's own module wrapper, on the first line so that line numbers stay right.
  return new Script(`(function (exports, require, module, __filename, __dirname) {${part.source}\n})`, {
    filename,
    lineOffset: part.lineOffset,
    cachedData,
  });
}

/**
 * Runs the bundle as the CommonJS module `module`: lmc's part now, each other part
 * when lmc first requires it by its name. `compile` gives each part's script. Returns
 * what lmc's part exports, its entry, for the caller to run with its launcher.
 */
export function runBundle(parts: Part[], compile: (part: Part) => Script, filename: string, module: NodeJS.Module, require: NodeJS.Require): BundleEntry {
  const folder = dirname(filename);
  const lazy = new Map(parts.slice(1).map((part) => [part.name, part]));
  const loaded = new Map<string, unknown>();
  const bundleRequire = Object.assign((id: string): unknown => {
    const part = lazy.get(id);
    if (part === undefined) return require(id);
    if (!loaded.has(id)) {
      const partModule = { exports: {} };
      compile(part).runInThisContext()(partModule.exports, bundleRequire, partModule, filename, folder);
      loaded.set(id, partModule.exports);
    }
    return loaded.get(id);
  }, require);
  compile(parts[0]!).runInThisContext()(module.exports, bundleRequire, module, filename, folder);
  return module.exports as BundleEntry;
}
