// Packs lmc into one executable file with Node's single executable applications (SEA):
// the launcher dist/lmc.cjs, the bundle and its code cache (see scripts/build.ts) become
// a blob, and postject injects the blob into a copy of a Node binary.
//
//   npm run package                          # dist/lmc, for this machine (Linux)
//   npm run package -- --target linux-arm64  # dist/lmc-linux-arm64
//   npm run package -- --target win-x64      # dist/lmc-win-x64.exe
//   npm run package -- --node 22             # dist/lmc on the newest Node 22 (see CONTRIBUTING.md)
//   npm run package -- --no-snapshot         # dist/lmc with the launcher and code cache (to compare)
//
// The native build starts from a V8 start-up snapshot, made by this Node, of lmc with
// the SDK loaded and initialised (src/startup/snapshot-entry.ts, scripts/snapshot-bundle.ts):
// a run skips loading the SDK and building its schemas. It is stripped of Node's
// symbols when binutils' strip is there. Cross builds take the Node binary of this same
// version from the npm package node-<target>, and cannot have a snapshot (only the
// target's Node can make it): they carry the launcher and the bundle, without the code
// cache (only this machine's V8 can use it), unstripped (strip knows only this
// machine's architecture); this script cannot run them to check them.
// darwin-x64 is not offered: a macOS binary must be re-signed after injection, with
// codesign, which exists only on macOS.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { BUNDLE, CODE_CACHE } from "../src/startup/code-cache.js";
import { snapshotEntry } from "./snapshot-bundle.js";

const run = promisify(execFile);

export const targets = ["linux-x64", "linux-arm64", "win-x64"] as const;
export type Target = (typeof targets)[number];

/** Node's SEA looks for this fuse in its binary; postject flips it when it injects. */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const LAUNCHER = "dist/lmc.cjs";
const INPUTS = [LAUNCHER, `dist/${BUNDLE}`, `dist/${CODE_CACHE}`];
const WORK = "build/sea";

export interface PackageOptions {
  /** Default: this machine. */
  target?: Target;
  /** Keep an executable built from the same bundle, Node and script. */
  reuseIfFresh?: boolean;
  /** A native build without the snapshot: the launcher, the bundle and its code cache. */
  noSnapshot?: boolean;
  log?: (message: string) => void;
}

export interface PackageResult {
  path: string;
  reused: boolean;
  /** Whether Node's symbols were stripped. */
  stripped: boolean;
  /** Whether it starts from a V8 snapshot of the initialised SDK. */
  snapshot: boolean;
}

export function hostTarget(): Target | undefined {
  const host = `${process.platform === "win32" ? "win" : process.platform}-${process.arch}`;
  return (targets as readonly string[]).includes(host) ? (host as Target) : undefined;
}

export function outputPath(target: Target): string {
  const name = target === hostTarget() ? "lmc" : `lmc-${target}`;
  return `dist/${name}${target.startsWith("win-") ? ".exe" : ""}`;
}

/** Builds the executable from dist/ as it is now (build that first). */
export async function packageExecutable(options: PackageOptions = {}): Promise<PackageResult> {
  const log = options.log ?? (() => {});
  const target = options.target ?? hostTarget();
  if (target === undefined) throw new Error(`no native target for ${process.platform}-${process.arch}; pick one of ${targets.join(", ")}`);
  const native = target === hostTarget();
  const output = outputPath(target);
  const stampFile = join(WORK, `${target}.stamp`);
  const stripped = native && process.platform === "linux" && (await canStrip());
  if (native && !stripped) log("strip (binutils) not found: the executable keeps Node's symbols");
  const snapshot = native && !options.noSnapshot;
  const entry = snapshot ? await snapshotEntry() : undefined;
  const stamp = await fingerprint(target, stripped, entry);
  // A build whose snapshot builder failed is stamped as such (see below).
  const fellBack = `${stamp} (the snapshot builder failed)`;
  if (options.reuseIfFresh && (await exists(output))) {
    const stamped = await readFile(stampFile, "utf8").catch(() => "");
    if (stamped === stamp || stamped === fellBack) {
      log(`${output} is up to date`);
      return { path: output, reused: true, stripped, snapshot: stamped === stamp && snapshot };
    }
  }

  await mkdir(WORK, { recursive: true });
  await rm(stampFile, { force: true });
  // Per process, like the executable below, so two builds at once cannot mix their files.
  const blob = resolve(WORK, `${target}.${process.pid}.blob`);
  const config = resolve(WORK, `${target}.${process.pid}.sea-config.json`);
  const entryFile = resolve(WORK, `${target}.${process.pid}.snapshot-entry.cjs`);
  if (entry !== undefined) await writeFile(entryFile, entry);
  await writeFile(
    config,
    JSON.stringify(
      entry !== undefined
        ? // Node runs the entry to build the snapshot, when it makes the blob.
          { main: entryFile, output: blob, disableExperimentalSEAWarning: true, useSnapshot: true }
        : {
            main: resolve(LAUNCHER),
            output: blob,
            disableExperimentalSEAWarning: true,
            // The launcher reads the bundle and its cache from these (src/startup/launch.ts).
            assets: {
              [BUNDLE]: resolve(`dist/${BUNDLE}`),
              ...(native ? { [CODE_CACHE]: resolve(`dist/${CODE_CACHE}`) } : {}),
            },
          },
    ),
  );

  const base = native ? process.execPath : await nodeFromNpm(target, log);
  // Made beside the output and renamed into place, so nothing ever runs a half-made one.
  const partial = `${output}.${process.pid}.partial`;
  try {
    const failure = await run(process.execPath, ["--experimental-sea-config", config]).then(
      () => undefined,
      (error: { stderr?: string }) => error.stderr ?? String(error),
    );
    if (failure !== undefined && entry === undefined) throw new Error(`making the blob failed:\n${failure}`);
    if (failure !== undefined) {
      const reason = failure
        .trim()
        .split("\n")
        .filter((line) => !/^\s*(\d+: 0x|\(node:|\(Use )/.test(line))
        .at(-1);
      // Node 22's builder aborts on this heap (std::length_error); 20, 24 and 26 make it.
      // Any other failure is a snapshot that broke, not to be hidden by the fallback.
      if (!/length_error/.test(failure)) throw new Error(`the snapshot builder failed:\n${failure}`);
      log(`the snapshot builder of Node ${process.version} failed (${reason}): built without the snapshot`);
      const result = await packageExecutable({ ...options, noSnapshot: true });
      // What this Node makes of this entry, so the next build with reuseIfFresh reuses it.
      await writeFile(stampFile, fellBack);
      return result;
    }
    await copyFile(base, partial);
    await chmod(partial, 0o755);
    if (stripped) await run("strip", [partial]);
    // postject's ELF library warns on stderr about Node's note sections; show that only on failure.
    const postject = createRequire(import.meta.url).resolve("postject/dist/cli.js");
    await run(process.execPath, [postject, partial, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE]).catch((error: { stderr?: string }) => {
      throw new Error(`postject failed:\n${error.stderr ?? String(error)}`);
    });
    await rename(partial, output);
  } finally {
    await Promise.all([partial, blob, config, entryFile].map((file) => rm(file, { force: true })));
  }
  await writeFile(stampFile, stamp);
  log(`${output}: ${((await stat(output)).size / 1e6).toFixed(1)} MB${stripped ? ", stripped" : ""}${snapshot ? ", with the snapshot" : ""}`);
  return { path: output, reused: false, stripped, snapshot };
}

/** What the executable is made of: when this is unchanged, so is the executable. */
async function fingerprint(target: Target, stripped: boolean, snapshotEntry: string | undefined): Promise<string> {
  const hash = (data: Buffer) => createHash("sha256").update(data).digest("hex");
  return JSON.stringify({
    target,
    node: process.version,
    execPath: process.execPath,
    // The snapshot's entry holds all of lmc and the SDK; the launcher, bundle and code
    // cache (which V8 does not record the same twice) are what the other build carries.
    // A cross build carries no code cache, which differs from build to build: leaving it
    // out lets a rebuilt but unchanged bundle reuse the cross build (test/e2e/windows.test.ts).
    inputs:
      snapshotEntry === undefined
        ? await Promise.all(INPUTS.filter((file) => target === hostTarget() || file !== `dist/${CODE_CACHE}`).map(async (file) => hash(await readFile(file))))
        : [hash(Buffer.from(snapshotEntry))],
    script: hash(await readFile(fileURLToPath(import.meta.url))),
    stripped,
  });
}

async function canStrip(): Promise<boolean> {
  return run("strip", ["--version"]).then(
    () => true,
    () => false,
  );
}

/** The Node binary of this version for `target`, from the npm package node-<target> (cached in build/). */
function nodeFromNpm(target: Target, log: (message: string) => void): Promise<string> {
  return nodeBinaryFromNpm(target, process.version.slice(1), log);
}

/**
 * The official Node binary for `target` from the npm package node-<target>, at `version`:
 * an exact version ("22.23.5") or a range npm resolves ("22" for the newest 22.x).
 * Cached in build/sea/node-<target>-<version>/; an exact version is looked up there first.
 */
export async function nodeBinaryFromNpm(target: Target, version: string, log: (message: string) => void = () => {}): Promise<string> {
  const bin = target.startsWith("win-") ? "package/bin/node.exe" : "package/bin/node";
  const cached = (v: string) => join(resolve(WORK, `node-${target}-${v}`), bin);
  if (/^\d+\.\d+\.\d+$/.test(version) && (await exists(cached(version)))) return cached(version);
  log(`fetching node-${target}@${version} from npm`);
  const download = resolve(WORK, `download.${process.pid}`);
  await mkdir(download, { recursive: true });
  try {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const { stdout } = await run(npm, ["pack", `node-${target}@${version}`, "--pack-destination", download, "--silent"], {
      shell: process.platform === "win32",
    });
    const tarballName = stdout.trim().split("\n").at(-1)!;
    const exact = /-(\d+\.\d+\.\d+)\.tgz$/.exec(tarballName)?.[1];
    if (exact === undefined) throw new Error(`unexpected tarball name from npm pack: ${tarballName}`);
    const binary = cached(exact);
    if (await exists(binary)) return binary;
    const dir = resolve(WORK, `node-${target}-${exact}`);
    // Extracted beside its place and renamed there, so a half-extracted binary is never found.
    const partial = `${dir}.${process.pid}.partial`;
    await mkdir(partial, { recursive: true });
    await run("tar", ["-xzf", join(download, tarballName), "-C", partial, bin]);
    await rename(partial, dir).catch(async (error) => {
      await rm(partial, { recursive: true, force: true });
      if (!(await exists(binary))) throw error;
    });
    return binary;
  } finally {
    await rm(download, { recursive: true, force: true });
  }
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function parseTarget(argv: string[]): Target | undefined {
  const i = argv.findIndex((a) => a === "--target" || a.startsWith("--target="));
  if (i < 0) return undefined;
  const value = argv[i]!.includes("=") ? argv[i]!.slice("--target=".length) : argv[i + 1];
  if (value === "darwin-x64") {
    throw new Error("darwin-x64 is not supported: the executable would have to be re-signed with macOS's codesign");
  }
  if (!(targets as readonly string[]).includes(value ?? "")) throw new Error(`--target takes one of ${targets.join(", ")}`);
  return value as Target;
}

/** --node VERSION: build (bundle, code cache, executable) under that Node, fetched from npm. */
async function rerunUnderNode(argv: string[]): Promise<boolean> {
  const i = argv.indexOf("--node");
  if (i < 0) return false;
  const version = argv[i + 1] ?? "";
  const host = hostTarget();
  if (!/^\d+(\.\d+\.\d+)?$/.test(version)) throw new Error("--node takes a version: 22, or 22.23.5");
  if (host !== "linux-x64" && host !== "linux-arm64") throw new Error("--node works on Linux only");
  const node = await nodeBinaryFromNpm(host, version, (m) => process.stderr.write(`${m}\n`));
  const rest = [...argv.slice(0, i), ...argv.slice(i + 2)];
  const script = fileURLToPath(import.meta.url);
  // The npm that fetched it stays this one; the child finds node first on PATH for anything it spawns.
  const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ""}` };
  await run(node, ["--import", "tsx", script, ...rest], { env }).then(
    ({ stderr }) => process.stderr.write(stderr),
    (error: { stderr?: string }) => {
      throw new Error(`under ${node}:\n${error.stderr ?? String(error)}`);
    },
  );
  return true;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    if (await rerunUnderNode(process.argv.slice(2))) process.exit();
    const target = parseTarget(process.argv.slice(2));
    const noSnapshot = process.argv.includes("--no-snapshot");
    await import("./build.js");
    const started = Date.now();
    const result = await packageExecutable({ target, noSnapshot, log: (m) => process.stderr.write(`${m}\n`) });
    process.stderr.write(`packaged ${result.path} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (error) {
    process.stderr.write(`package: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
