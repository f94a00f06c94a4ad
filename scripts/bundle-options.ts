// What scripts/build.ts (the npm package's bundle) and scripts/snapshot-bundle.ts (the
// single executable's snapshot) bundle with: esbuild's options, and stand-ins for Node
// modules that are loaded on first use.

import type { BuildOptions, Plugin } from "esbuild";

export const common: BuildOptions = { bundle: true, platform: "node", target: "node20", format: "cjs", logLevel: "warning" };

export const bundleOptions = {
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
 * the signals' numbers of a second Ctrl-C (0.25 ms); and net, for a FIFO the user
 * names (src/lib/fifo-open.ts).
 */
export const LAZY_BUILTINS = ["node:fs/promises", "node:v8", "node:crypto", "node:stream/consumers", "node:os", "node:net"];

/**
 * Replaces each of these modules by a stand-in whose exports are getters that require
 * the module on first use. esbuild reads a CommonJS module's exports by name when they
 * are used, so nothing is loaded at import. The names are this Node's; a name another
 * Node lacks reads as undefined, as it would from the module itself.
 *
 * `forwardFunctions`: a module's functions (those named in lower case, not its classes)
 * are stand-in functions that require the module when first called, so that code which
 * takes them when it is loaded does not load the module then: ws does
 * `const { websocketMask } = require("http")`, which Node 26 has.
 */
export function lazyBuiltins(modules: string[], { forwardFunctions = false } = {}): Plugin {
  return {
    name: "lazy-builtins",
    setup(build) {
      const filter = new RegExp(`^(${modules.map((m) => m.replace(/[/]/g, "\\/")).join("|")})$`);
      // The stand-in's own require is of the real module.
      build.onResolve({ filter }, (args) =>
        args.namespace === "lazy-builtin" ? { path: args.path, external: true } : { path: args.path, namespace: "lazy-builtin" },
      );
      build.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, async (args) => {
        const real: Record<string, unknown> = await import(args.path);
        const module = `require(${JSON.stringify(args.path)})`;
        const members = Object.keys(real)
          .filter((name) => name !== "default")
          .map((name) => {
            const key = JSON.stringify(name);
            if (forwardFunctions && typeof real[name] === "function" && /^[a-z]/.test(name)) {
              return `  ${key}: function (...args) { return ${module}[${key}].apply(this, args); },`;
            }
            return `  get ${key}() { return ${module}[${key}]; },`;
          });
        // On the prototype: esbuild's import of a CommonJS module copies each of its own
        // properties (a getter made per name, per importing file: 250 at start-up), but
        // takes its prototype as it is.
        return { contents: `module.exports = Object.create({\n${members.join("\n")}\n});\n`, loader: "js" };
      });
    },
  };
}

/**
 * lmc never starts a process. The SDK words its errors for a terminal as wide as
 * lms-isomorphic's terminalSize() says, and with no terminal around (cron, CI, ssh with a
 * command) that runs `tput` and `resize` found through PATH, with the whole environment
 * (the API token too), from the current directory when PATH has an empty entry. This
 * stand-in answers from what the process knows, as terminalSize does before it tries
 * those programs, and then with terminalSize's own fallback, 80x24: the SDK's messages
 * read as before.
 */
export const terminalSizeWithoutProcesses: Plugin = {
  name: "terminal-size-without-processes",
  setup(build) {
    build.onLoad({ filter: /[\\/]@lmstudio[\\/]lms-isomorphic[\\/].*[\\/]terminalSize\.js$/ }, () => ({
      contents: `"use strict";
exports.terminalSize = function terminalSize() {
  const { stdout, stderr, env } = process;
  const size = (columns, rows) => ({ columns: Number.parseInt(columns, 10), rows: Number.parseInt(rows, 10) });
  if (stdout && stdout.columns && stdout.rows) return size(stdout.columns, stdout.rows);
  if (stderr && stderr.columns && stderr.rows) return size(stderr.columns, stderr.rows);
  if (env.COLUMNS && env.LINES) return size(env.COLUMNS, env.LINES);
  return { columns: 80, rows: 24 };
};
`,
      loader: "js",
    }));
  },
};

/**
 * And so that nothing else in the bundle can start one, now or after an upgrade of the
 * SDK: a bundle that would require child_process is not built.
 */
export const noChildProcesses: Plugin = {
  name: "no-child-processes",
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) => ({
      errors: [{ text: `${args.importer} requires ${args.path}: lmc never starts a process (scripts/bundle-options.ts)` }],
    }));
  },
};

/** The plugins every bundle of lmc is made with, before any other. */
export const processFree: Plugin[] = [noChildProcesses, terminalSizeWithoutProcesses];
