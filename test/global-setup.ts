// Before any test: the built CLI that end-to-end tests spawn, and the tiny model
// the test server loads. Both are made from the sources, every run.

import { execFileSync } from "node:child_process";

export default function setup(): void {
  execFileSync(process.execPath, ["--import", "tsx", "scripts/build.ts"], { stdio: "inherit" });
  execFileSync(process.execPath, ["--import", "tsx", "scripts/tiny-model/make-tiny-model.ts"], { stdio: "inherit" });
}
