// Bundles the CLI into one CommonJS file, dist/lmc.cjs: the npm package's bin
// and the input of the single executable. The SDK sits in the same file but
// behind a lazy import, so --help and usage errors never initialise it.

import { build } from "esbuild";
import { chmod } from "node:fs/promises";

const outfile = "dist/lmc.cjs";
await build({
  entryPoints: ["src/cli.ts"],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: true,
  legalComments: "linked",
  define: {
    // ws otherwise probes for optional native add-ons that lmc does not ship.
    "process.env.WS_NO_BUFFER_UTIL": '"1"',
    "process.env.WS_NO_UTF_8_VALIDATE": '"1"',
  },
  logLevel: "warning",
});
await chmod(outfile, 0o755);
