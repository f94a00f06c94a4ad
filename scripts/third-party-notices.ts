// The licences of the packages bundled into dist/lmc-bundle.cjs, for
// dist/THIRD-PARTY-NOTICES.txt: the MIT, ISC and Apache licences of the code lmc
// ships inside its bundle ask for their notices to travel with it.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Metafile } from "esbuild";

/** The package folders (node_modules/NAME or node_modules/@SCOPE/NAME) esbuild took code from. */
export function bundledPackages(metafile: Metafile): string[] {
  const folders = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const folder = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
    if (folder !== undefined) folders.add(folder);
  }
  return [...folders].sort();
}

export async function thirdPartyNotices(metafile: Metafile): Promise<string> {
  const sections = await Promise.all(
    bundledPackages(metafile).map(async (folder) => {
      const { name, version, license } = JSON.parse(await readFile(join(folder, "package.json"), "utf8"));
      const file = (await readdir(folder)).find((entry) => /^(licen[cs]e|copying)(\.|$)/i.test(entry));
      if (file === undefined) throw new Error(`${name} has no licence file to ship with the bundle`);
      const text = (await readFile(join(folder, file), "utf8")).trim();
      return `${name} ${version} (${license})\n\n${text}\n`;
    }),
  );
  const rule = `\n${"-".repeat(72)}\n\n`;
  return `lmc bundles the following packages, under these licences.\n${rule}${sections.join(rule)}`;
}
