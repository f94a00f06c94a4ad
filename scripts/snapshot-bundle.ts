// The script the single executable's V8 start-up snapshot is built from (src/startup/snapshot-entry.ts,
// bundled with the SDK into one file, as Node's snapshot builder asks): see scripts/package.ts.

import { build, type Plugin } from "esbuild";
import { bundleOptions, LAZY_BUILTINS, lazyBuiltins, processFree } from "./bundle-options.js";

/**
 * Node modules that Node's snapshot builder cannot hold, or does not vouch for, and that the
 * SDK's dependencies require when they are loaded: ws requires http, https, net and tls (the
 * builder stops with "global handle not serialized" on http's HTTPParser). Made stand-ins,
 * they are loaded when a run first connects. tty too, which nothing requires since
 * lms-isomorphic's terminalSize gave way to a stand-in (processFree), should it come back.
 */
const UNSNAPSHOTTABLE = ["http", "https", "net", "tls", "tty"];

/**
 * chalk asks supports-color, when loaded, whether stdout and stderr are colour terminals;
 * in the snapshot that would be the build's answer, and it loads tty. lmc strips the SDK's
 * colours from every message it shows (src/terminal/terminal-text.ts), so: no colour.
 */
const noColour: Plugin = {
  name: "no-colour",
  setup(build) {
    build.onResolve({ filter: /^supports-color$/ }, () => ({ path: "supports-color", namespace: "no-colour" }));
    build.onLoad({ filter: /.*/, namespace: "no-colour" }, () => ({
      contents: "module.exports = { supportsColor: () => false, stdout: false, stderr: false };",
      loader: "js",
    }));
  },
};

/** The snapshot's entry, with lmc and the SDK, as one CommonJS script. */
export async function snapshotEntry(): Promise<string> {
  const lazy = [...LAZY_BUILTINS, ...UNSNAPSHOTTABLE.flatMap((name) => [name, `node:${name}`])];
  const result = await build({
    ...bundleOptions,
    metafile: false,
    entryPoints: ["src/startup/snapshot-entry.ts"],
    plugins: [...processFree, lazyBuiltins(lazy, { forwardFunctions: true }), noColour],
  });
  return result.outputFiles[0]!.text;
}
