// The npm package's bin (dist/lmc.cjs), and the entry of a single executable built
// without the start-up snapshot (cross builds, Node 22; see snapshot-entry.ts). All of
// lmc is one bundle (dist/lmc-bundle.cjs, from src/cli.ts); this only runs it with a
// V8 code cache (see code-cache.ts), which saves compiling the bundle and the SDK on
// every run.
//
// The package ships a cache recorded at build time, which only the V8 that made it
// accepts. On any other V8 (the user's Node is another version than the build's, a
// cross-built executable) lmc records its own cache after a successful run, in the
// user's cache directory, and uses that from then on. `LMC_NO_CACHE=1` leaves that
// directory alone. `NODE_DEBUG=lmc` tells which cache was used, and what was written;
// `--verbose` why a cache was not used. Only a directory and files that are the user's
// own are read or written (src/startup/cache-dir.ts): a cache is code that V8 runs.

import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { debuglog } from "node:util";
import type { Script } from "node:vm";
import { effectiveUid, inspectCacheDir, openCacheFile, type CacheDirState } from "./cache-dir.js";
import {
  BUNDLE,
  CODE_CACHE,
  USER_CACHE_FILE,
  bytesOf,
  cacheKeyOf,
  compilePart,
  fits,
  intact,
  packCache,
  partsOf,
  runBundle,
  runtimeIdentity,
  unpackCache,
  userCacheDir,
  userCacheDisabled,
  userCacheFileName,
  type Bytes,
  type CacheFile,
  type CacheIdentity,
  type Part,
} from "./code-cache.js";
import type { Launcher } from "./launcher.js";
import { startTimeline } from "./timeline.js";

interface Bundle {
  source: Bytes;
  cache: Bytes | undefined;
  filename: string;
}

/** Cache files kept in the user's directory: both parts of a bundle, for a few bundles and Node versions in use at once. */
const KEEP_FILES = 8;
/** A temporary file older than this was left by a killed run. */
const STALE_TEMP_MS = 10 * 60_000;

const debug = debuglog("lmc");
const timeline = startTimeline();

/** What the launcher has to say under --verbose, kept until main() knows whether the run is verbose. */
const notes: string[] = [];
let tellNote: ((note: string) => void) | undefined;
/** Set by batch mode, through the launcher it is handed: no cache is recorded then. */
let flagsChanged = false;

/** What the bundle is handed (launcher.ts). */
const launcher: Launcher = {
  mark: timeline.mark,
  tellNotes(tell) {
    tellNote = tell;
    for (const note of notes.splice(0)) tell(note);
  },
  v8FlagsChanged() {
    flagsChanged = true;
    timeline.mark("V8 flags set");
  },
};

/** A part whose cache in the user's directory is to be recorded at exit. */
interface ToRecord {
  part: Part;
  script: Script;
  /** The file's name in the user's cache directory. */
  name: string;
  /** It had one, of start-up only: recorded again once a run has loaded the SDK. */
  hadStartupCache: boolean;
}

function fromExecutable(): Bundle | undefined {
  // Only a single executable runs this file as itself: node:sea is not worth loading otherwise.
  if (__filename !== process.execPath) return undefined;
  let sea: typeof import("node:sea") | undefined;
  try {
    sea = require("node:sea") as typeof import("node:sea");
  } catch {
    return undefined; // a Node older than single executables' assets
  }
  if (!sea.isSea()) return undefined;
  let cache: Bytes | undefined;
  try {
    cache = bytesOf(Buffer.from(sea.getAsset(CODE_CACHE)));
  } catch {
    cache = undefined; // cross-built executables carry no cache
  }
  return { source: bytesOf(Buffer.from(sea.getAsset(BUNDLE))), cache, filename: process.execPath };
}

function fromFiles(): Bundle {
  const filename = join(__dirname, BUNDLE);
  const opened = openFile(filename);
  return { source: bytesOfFile(opened.fd, opened.size), cache: shippedCache(join(__dirname, CODE_CACHE)), filename };
}

function openFile(path: string): { fd: number; size: number } {
  const fd = openSync(path, "r");
  return { fd, size: fstatSync(fd).size };
}

/**
 * The cache the package ships: a file of the package, trusted as the bundle beside it is
 * (whoever can write one can write the other), so links are followed and its owner is not
 * checked; but a FIFO or a device in its place neither blocks nor floods the run.
 */
function shippedCache(path: string): Bytes | undefined {
  const opened = openCacheFile(path, { followLinks: true, uid: undefined });
  if ("refused" in opened) debug(`code cache ${path} not used: ${opened.refused}`);
  if (!("fd" in opened)) return undefined; // a package without one runs all the same
  return unreadableAsEmpty(bytesOfFile(opened.fd, opened.size));
}

/** A cache that cannot be read (EIO) is as good as none. */
function unreadableAsEmpty(file: Bytes): Bytes {
  return {
    size: file.size,
    read(start, length) {
      try {
        return file.read(start, length);
      } catch {
        return Buffer.alloc(0);
      }
    },
  };
}

/**
 * An open file read in pieces, as they are asked for (src/startup/code-cache.ts). It stays open
 * while lmc runs, so that a part compiled late (the SDK) comes from the same file as
 * the rest even when an upgrade replaces it meanwhile.
 */
function bytesOfFile(fd: number, size: number): Bytes {
  return {
    size,
    read(start, length) {
      const buffer = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - start)));
      return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, start));
    },
  };
}

/**
 * Says why a cache was not used: under NODE_DEBUG=lmc, and under --verbose (a note
 * kept for main(), or told at once when it came later: a cache compiled when the SDK
 * is first loaded).
 */
function notUsed(what: string, reason: string): void {
  const note = `${what} not used: ${reason}`;
  debug(note);
  if (tellNote) tellNote(note);
  else notes.push(note);
}

/** The records of the user's cache file at `path`, read only when it is safe to (src/startup/cache-dir.ts). */
function userCacheIn(path: string): CacheFile[] {
  const opened = openCacheFile(path, { followLinks: false, uid: effectiveUid() });
  if ("refused" in opened) notUsed(`code cache ${path}`, opened.refused);
  if (!("fd" in opened)) return [];
  try {
    return unpackCache(bytesOfFile(opened.fd, opened.size).read(0, opened.size));
  } catch {
    return []; // cannot be read (EIO): as good as none
  } finally {
    closeSync(opened.fd);
  }
}

/** Where the user's cache directory really is, or why it is not used (src/startup/cache-dir.ts). */
function inspectUserDir(dir: string, create: boolean): CacheDirState {
  try {
    return inspectCacheDir(dir, create);
  } catch (error) {
    return { refused: `it cannot be inspected: ${(error as Error).message}` };
  }
}

/**
 * os.homedir(), which on POSIX is $HOME when that is set and not empty, without loading
 * node:os for it (a quarter of a millisecond of every run).
 */
function homeDir(): string {
  const home = process.platform === "win32" ? undefined : process.env.HOME;
  return home || (require("node:os") as typeof import("node:os")).homedir();
}

/**
 * Compiles each part of the bundle, when it is needed, with the shipped cache when that
 * fits this V8, else with the user's own, and records the user's own at exit when it
 * was missing or refused. Every record's checksum is checked before V8 sees its data.
 */
function compiler(bundle: Bundle): (part: Part) => Script {
  const key = cacheKeyOf(bundle.source);
  const running = key === undefined ? undefined : runtimeIdentity(key);
  const shipped = unpackCache(bundle.cache);
  const userDir = running === undefined || userCacheDisabled(process.env) ? undefined : userCacheDir(process.env, process.platform, homeDir);
  // Inspected when first needed: a run that the shipped cache serves never looks.
  let userPlace: CacheDirState | undefined;
  const toRecord: ToRecord[] = [];
  return (part) => {
    const scriptWith = (cache?: Buffer) => compilePart(part, bundle.filename, cache);
    const about = part.name === "lmc" ? "" : ` (${part.name})`;
    const fromShipped = shipped.find((record) => record.part === part.name);
    let script: Script | undefined;
    if (running !== undefined && fits(fromShipped, running, true)) {
      if (!intact(fromShipped)) {
        notUsed(`code cache${about} shipped in ${bundle.filename}`, "it is damaged (its checksum does not match): install lmc again");
      } else {
        script = scriptWith(fromShipped.data);
        if (!script.cachedDataRejected) {
          debug(`code cache used${about}`);
          return script;
        }
        debug(`code cache rejected by V8${about}`);
      }
    } else {
      debug(`no code cache for this bundle and V8${about}`);
    }
    if (running === undefined || userDir === undefined) return script ?? scriptWith();

    if (userPlace === undefined) {
      userPlace = inspectUserDir(userDir, false);
      if ("refused" in userPlace) notUsed(`code cache in ${userDir}`, userPlace.refused);
    }
    if ("refused" in userPlace) return script ?? scriptWith();
    const name = userCacheFileName(running, part.name);
    let used: CacheFile | undefined;
    if ("dir" in userPlace) {
      const path = join(userPlace.dir, name);
      const [own] = userCacheIn(path);
      if (!fits(own, running) || own.part !== part.name) debug(`no code cache in ${path}`);
      else if (!intact(own)) notUsed(`code cache ${path}`, "it is damaged (its checksum does not match)");
      else {
        script = scriptWith(own.data);
        if (script.cachedDataRejected) notUsed(`code cache ${path}`, "V8 rejected it");
        else {
          debug(`code cache in ${path} used`);
          used = own;
        }
      }
    } else {
      debug(`no code cache in ${userDir}`);
    }
    script ??= scriptWith();
    if (used?.scope !== "sdk") {
      if (toRecord.length === 0) recordAtExit(running, userDir, toRecord);
      toRecord.push({ part, script, name, hadStartupCache: used !== undefined });
    }
    return script;
  };
}

/**
 * Records the caches when the run ends well: at exit, when the output is written and
 * flushed (src/cli.ts exits only then), so that recording never delays it. Skipped when
 * the run changed V8's flags (batch mode does): V8 would refuse that cache next time.
 * The directory is made here when it is not there yet, and inspected again: recording
 * happens only in a directory that is the user's own (src/startup/cache-dir.ts).
 */
function recordAtExit(running: CacheIdentity, userDir: string, toRecord: ToRecord[]): void {
  process.on("exit", (code) => {
    if (code !== 0) return debug(`code cache not recorded: exit status ${code}`);
    if (flagsChanged) return debug("code cache not recorded: the run changed V8's flags");
    const place = inspectUserDir(userDir, true);
    if ("refused" in place) return debug(`code cache not recorded: ${place.refused}`);
    if ("missing" in place) return; // made just now, and gone at once: nothing to do
    const scope = timeline.reached("SDK loaded") ? "sdk" : "startup";
    const written: string[] = [];
    for (const { part, script, name, hadStartupCache } of toRecord) {
      if (hadStartupCache && scope === "startup") continue; // it would hold nothing new
      const path = join(place.dir, name);
      try {
        writeAtomically(path, packCache([{ scope, part: part.name, data: script.createCachedData() }], running));
        debug(`code cache recorded in ${path}`);
        written.push(path);
      } catch (error) {
        debug(`code cache not recorded: ${(error as Error).message}`);
      }
    }
    if (written.length > 0) prune(place.dir, written);
  });
}

/**
 * Writes to a temporary file of this process's own, then renames it into place: many lmc
 * at once (make -j) each rename a whole file, and a reader never sees half of one. The
 * file is the user's alone (0600), whatever the umask: one that others may write is not used.
 */
function writeAtomically(path: string, data: Buffer): void {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temp, data, { flag: "wx", mode: 0o600 });
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // it was never made
    }
    throw error;
  }
}

/** Keeps the directory bounded: the newest few caches, and no temporary file left by a killed run. */
function prune(dir: string, keep: string[]): void {
  try {
    const now = Date.now();
    const caches: Array<{ path: string; mtimeMs: number }> = [];
    for (const name of readdirSync(dir)) {
      if (!USER_CACHE_FILE.test(name)) continue;
      const path = join(dir, name);
      const { mtimeMs } = lstatSync(path, { throwIfNoEntry: false }) ?? { mtimeMs: now };
      if (name.endsWith(".tmp")) {
        if (now - mtimeMs > STALE_TEMP_MS) remove(path);
      } else if (!keep.includes(path)) caches.push({ path, mtimeMs });
    }
    caches.sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const { path } of caches.slice(Math.max(0, KEEP_FILES - keep.length))) {
      if (remove(path)) debug(`old code cache ${path} removed`);
    }
  } catch {
    // the directory cannot be read: not ours to tidy
  }
}

function remove(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false; // another lmc removed it first
  }
}

process.on("exit", () => timeline.mark("exit"));
const bundle = fromExecutable() ?? fromFiles();
const compile = compiler(bundle);
const parts = partsOf(bundle.source);
if (parts === undefined) {
  process.stderr.write(`lmc: ${bundle.filename} is damaged (no header): install lmc again\n`);
  process.exit(1);
}
runBundle(
  parts,
  (part) => {
    const script = compile(part);
    if (part.name === "lmc") timeline.mark("bundle compiled");
    return script;
  },
  bundle.filename,
  module,
  require,
).run(launcher);
