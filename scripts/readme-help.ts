// Puts the real `lmc --help --all` text into README.md's Usage section (the docs test checks it is there).
// Run after changing an option: npm run readme-help

import { readFile, writeFile } from "node:fs/promises";
import { renderHelp } from "../src/command-line/help.js";

const { version } = JSON.parse(await readFile("package.json", "utf8"));
const readme = await readFile("README.md", "utf8");
const block = /(## Usage\n[\s\S]*?```text\n)[\s\S]*?(```\n)/;
if (!block.test(readme)) throw new Error("README.md has no Usage block to update");
await writeFile(
  "README.md",
  readme.replace(block, (_, open: string, close: string) => open + renderHelp(version, { all: true }) + close),
);
