// Builds what the npm package ships, in dist/:
//   lmc-bundle.cjs        all of lmc in one file of two CommonJS parts: lmc's own code, from
//                         src/cli.ts, and the SDK, which lmc requires lazily, so --help and
//                         usage errors never compile or load it (src/startup/code-cache.ts)
//   lmc-bundle.cjs.cache  V8's code cache for it, recorded by running it once
//   lmc.cjs               the bin: runs the bundle with the cache (src/startup/launch.ts)
//   THIRD-PARTY-NOTICES.txt  the licences of the packages in the bundle
// The single executable (scripts/package.ts) is made of the same three files.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { build } from "esbuild";
import { BUNDLE, CODE_CACHE, packBundle } from "../src/startup/code-cache.js";
import { bundleOptions, common, LAZY_BUILTINS, lazyBuiltins, processFree } from "./bundle-options.js";
import { thirdPartyNotices } from "./third-party-notices.js";

const bundleFile = `dist/${BUNDLE}`;
// Two parts in one file (src/startup/code-cache.ts): lmc's own code, with the SDK left out, and
// the SDK, which lmc requires lazily, so that the launcher compiles it only then.
const SDK = "@lmstudio/sdk";
const parts = await Promise.all([
  build({ ...bundleOptions, entryPoints: ["src/cli.ts"], external: [SDK], plugins: [...processFree, lazyBuiltins(LAZY_BUILTINS)] }),
  build({ ...bundleOptions, stdin: { contents: `module.exports = require(${JSON.stringify(SDK)});`, resolveDir: ".", loader: "js" }, plugins: processFree }),
]);
const [lmcSource, sdkSource] = parts.map((result) => result.outputFiles[0]!.text);
const key = createHash("sha256").update(lmcSource!).update(sdkSource!).digest("hex").slice(0, 32);
await mkdir("dist", { recursive: true });
await writeFile(bundleFile, packBundle(key, { lmc: lmcSource!, [SDK]: sdkSource! }));
const metafile = { inputs: { ...parts[0].metafile.inputs, ...parts[1].metafile.inputs }, outputs: {} };
await writeFile("dist/THIRD-PARTY-NOTICES.txt", await thirdPartyNotices(metafile));

// Minified too: Node compiles the launcher itself without a cache.
await build({
  ...common,
  entryPoints: ["src/startup/launch.ts"],
  outfile: "dist/lmc.cjs",
  minify: true,
  banner: { js: "#!/usr/bin/env node" },
  plugins: processFree,
});
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
