// Builds what the npm package ships, in dist/:
//   lmc-bundle.cjs        all of lmc in one file of two CommonJS parts: lmc's own code, from
//                         src/cli.ts, and the SDK, which lmc requires lazily, so --help and
//                         usage errors never compile or load it (src/code-cache.ts)
//   lmc-bundle.cjs.cache  V8's code cache for it, recorded by running it once
//   lmc.cjs               the bin: runs the bundle with the cache (src/launch.ts)
//   THIRD-PARTY-NOTICES.txt  the licences of the packages in the bundle
// The single executable (scripts/package.ts) is made of the same three files.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { build, type BuildOptions, type Plugin } from "esbuild";
import { BUNDLE, CODE_CACHE, packBundle } from "../src/code-cache.js";
import { thirdPartyNotices } from "./third-party-notices.js";

const common: BuildOptions = { bundle: true, platform: "node", target: "node20", format: "cjs", logLevel: "warning" };
const bundleOptions = {
  ...common,
  minify: true,
  legalComments: "none", // the licences go to THIRD-PARTY-NOTICES.txt, whole
  metafile: true,
  write: false,
  outfile: "unused.cjs",
  define: {
    // ws otherwise probes for optional native add-ons that lmc does not ship.
    "process.env.WS_NO_BUFFER_UTIL": '"1"',
    "process.env.WS_NO_UTF_8_VALIDATE": '"1"',
  },
} satisfies BuildOptions;

/**
 * Node modules that lmc's part imports but most runs never use, loaded on first use
 * rather than at start: fs/promises brings readline and streams along, v8 its
 * serialiser and profiler bindings, crypto (for -o's random temporary name) its
 * ciphers and streams; together about 8 ms of every run, --version's too. And
 * stream/consumers (reading stdin), which loads Node's streams, which a run that makes
 * no stream of stdin, stdout or stderr (--version, --help) does without; and os, for
 * the signals' numbers of a second Ctrl-C (0.25 ms).
 */
const LAZY_BUILTINS = ["node:fs/promises", "node:v8", "node:crypto", "node:stream/consumers", "node:os"];

/**
 * Replaces each of these modules by a stand-in whose exports are getters that require
 * the module on first use. esbuild reads a CommonJS module's exports by name when they
 * are used, so nothing is loaded at import. The names are this Node's; a name another
 * Node lacks reads as undefined, as it would from the module itself.
 */
function lazyBuiltins(modules: string[]): Plugin {
  return {
    name: "lazy-builtins",
    setup(build) {
      const filter = new RegExp(`^(${modules.map((m) => m.replace(/[/]/g, "\\/")).join("|")})$`);
      // The stand-in's own require is of the real module.
      build.onResolve({ filter }, (args) =>
        args.namespace === "lazy-builtin" ? { path: args.path, external: true } : { path: args.path, namespace: "lazy-builtin" },
      );
      build.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, async (args) => {
        const names = Object.keys(await import(args.path)).filter((name) => name !== "default");
        const real = `require(${JSON.stringify(args.path)})`;
        const getters = names.map((name) => `  get ${JSON.stringify(name)}() { return ${real}[${JSON.stringify(name)}]; },`);
        // On the prototype: esbuild's import of a CommonJS module copies each of its own
        // properties (a getter made per name, per importing file: 250 at start-up), but
        // takes its prototype as it is.
        return { contents: `module.exports = Object.create({\n${getters.join("\n")}\n});\n`, loader: "js" };
      });
    },
  };
}

const bundleFile = `dist/${BUNDLE}`;
// Two parts in one file (src/code-cache.ts): lmc's own code, with the SDK left out, and
// the SDK, which lmc requires lazily, so that the launcher compiles it only then.
const SDK = "@lmstudio/sdk";
const parts = await Promise.all([
  build({ ...bundleOptions, entryPoints: ["src/cli.ts"], external: [SDK], plugins: [lazyBuiltins(LAZY_BUILTINS)] }),
  build({ ...bundleOptions, stdin: { contents: `module.exports = require(${JSON.stringify(SDK)});`, resolveDir: ".", loader: "js" } }),
]);
const [lmcSource, sdkSource] = parts.map((result) => result.outputFiles![0]!.text);
const key = createHash("sha256").update(lmcSource!).update(sdkSource!).digest("hex").slice(0, 32);
await mkdir("dist", { recursive: true });
await writeFile(bundleFile, packBundle(key, { lmc: lmcSource!, [SDK]: sdkSource! }));
const metafile = { inputs: { ...parts[0].metafile.inputs, ...parts[1].metafile.inputs }, outputs: {} };
await writeFile("dist/THIRD-PARTY-NOTICES.txt", await thirdPartyNotices(metafile));

// Minified too: Node compiles the launcher itself without a cache.
await build({ ...common, entryPoints: ["src/launch.ts"], outfile: "dist/lmc.cjs", minify: true, banner: { js: "#!/usr/bin/env node" } });
await chmod("dist/lmc.cjs", 0o755);

await recordCodeCache();

/**
 * Runs the bundle once, on a completion against a port where nothing listens: that
 * loads and initialises the SDK and tries to connect, which is most of what V8 compiles
 * in a real run, without needing a server. Exit status 3 (unreachable) is expected.
 */
async function recordCodeCache(): Promise<void> {
  const recorder = "build/record-code-cache.cjs";
  await build({ ...common, entryPoints: ["scripts/record-code-cache.ts"], outfile: recorder });
  await rm(`dist/${CODE_CACHE}`, { force: true });
  const port = await closedPort();
  const args = [recorder, bundleFile, "--host", `ws://127.0.0.1:${port}`, "-n", "1", "code cache"];
  const failure = await promisify(execFile)(process.execPath, args, { env: { ...process.env, NODE_OPTIONS: "" } }).then(
    () => "it exited with status 0",
    (error: { code?: unknown; stderr?: string }) => (error.code === 3 ? undefined : `status ${String(error.code)}: ${error.stderr}`),
  );
  if (failure !== undefined) throw new Error(`recording the code cache failed: ${failure}`);
}

/** A loopback port that was free a moment ago. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}
