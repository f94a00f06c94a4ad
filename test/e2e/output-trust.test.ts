// -o where the path or the file is not simply the user's: a name ending in "/", a
// symlink or file another user put in a shared sticky folder such as /tmp, and an
// existing file guarded by its group or an ACL, which the result must not widen.

import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, lchownSync, linkSync, lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { expectOneErrorLine } from "./error-line.js";
import { cleanEnv, lmcCommand, runLmc, type LmcResult } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterAll(() => server?.close());

const greedy = () => ["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "4"];
/** Another user (nobody), who plants things. */
const OTHER = 65534;
const asRoot = process.getuid?.() === 0;

let expected: string | undefined;
async function completion(): Promise<string> {
  return (expected ??= (await runLmc([...greedy(), "My name is"])).text);
}

/** A folder like /tmp: sticky and writable by everyone, owned by the user running the test. */
function stickyDir(): string {
  const dir = tempDir("sticky");
  chmodSync(dir, 0o1777);
  return dir;
}

/** The three ways lmc writes -o: a single run, a batch, and a batch that resumes into its own output. */
const modes: [string, (out: string) => string[]][] = [
  ["a single run", (out) => ["-o", out, "My name is"]],
  ["a batch", (out) => ["--each", "-o", out]],
  ["--resume FILE -o FILE", (out) => ["--each", "--resume", out, "-o", out]],
];

describe("-o FILE/ names a folder, as for a shell's >", () => {
  // (--resume FILE/ says first that it cannot read FILE/.)
  it.each(modes.slice(0, 2))("%s: a regular FILE is left alone (not a directory); a new one is not made (is a directory)", async (_, args) => {
    const dir = tempDir("out-slash");
    writeFileSync(join(dir, "file"), "precious\n");
    for (const [path, why] of [
      [`${join(dir, "file")}/`, "not a directory"],
      [`${join(dir, "file")}/.`, "not a directory"],
      [`${join(dir, "new")}/`, "is a directory"],
    ] as const) {
      const result = await runLmc([...greedy(), ...args(path)], { input: "My name is\n" });
      expect(result.code).toBe(1);
      expectOneErrorLine(result, new RegExp(`^lmc: cannot write ${path.replace(/\./g, "\\.")}: ${why}$`));
      expect(result.stdout).toHaveLength(0);
      expect(readFileSync(join(dir, "file"), "utf8")).toBe("precious\n");
      expect(readdirSync(dir)).toEqual(["file"]);
    }
  });
});

describe("-o in a sticky folder everyone may write (fs.protected_symlinks and fs.protected_regular, whatever the system says)", () => {
  it.skipIf(!asRoot).each(modes)("%s: another user's symlink there is not followed, at the end or on the way", async (_, args) => {
    const sticky = stickyDir();
    const victim = join(tempDir("out-victim"), "victim.txt");
    writeFileSync(victim, "precious\n");
    symlinkSync(victim, join(sticky, "report.txt"));
    lchownSync(join(sticky, "report.txt"), OTHER, OTHER);
    symlinkSync(join(victim, ".."), join(sticky, "folder"));
    lchownSync(join(sticky, "folder"), OTHER, OTHER);
    for (const out of [join(sticky, "report.txt"), join(sticky, "folder", "victim.txt")]) {
      const result = await runLmc([...greedy(), ...args(out)], { input: "My name is\n" });
      expect(result.code).toBe(1);
      expectOneErrorLine(
        result,
        new RegExp(`^lmc: cannot write ${out}: permission denied \\(a symlink another user put in a shared folder with the sticky bit is not followed\\)$`),
      );
      expect(readFileSync(victim, "utf8")).toBe("precious\n");
      expect(readdirSync(sticky).sort()).toEqual(["folder", "report.txt"]);
    }
  });

  it.skipIf(!asRoot)("a symlink of the user's own, or of the folder's owner, is followed", async () => {
    const sticky = stickyDir();
    const owner = tempDir("out-owner");
    writeFileSync(join(owner, "mine.txt"), "old\n");
    symlinkSync(join(owner, "mine.txt"), join(sticky, "report.txt")); // root's, as lmc is
    const result = await runLmc([...greedy(), "-o", join(sticky, "report.txt"), "My name is"]);
    expect(result.code).toBe(0);
    expect(readFileSync(join(owner, "mine.txt"), "utf8")).toBe(await completion());

    // A folder of the other user's own, sticky and open to all: that user's links are the folder owner's.
    chownSync(sticky, OTHER, OTHER);
    lchownSync(join(sticky, "report.txt"), OTHER, OTHER);
    const again = await runLmc([...greedy(), "-o", join(sticky, "report.txt"), "My name is"]);
    expect(again.code).toBe(0);
  });

  it.skipIf(!asRoot).each(modes)("%s: a file another user planted there is not taken over", async (_, args) => {
    const sticky = stickyDir();
    const planted = join(sticky, "report.txt");
    writeFileSync(planted, "planted\n");
    chmodSync(planted, 0o666);
    chownSync(planted, OTHER, OTHER);
    const result = await runLmc([...greedy(), ...args(planted)], { input: "My name is\n" });
    expect(result.code).toBe(1);
    expectOneErrorLine(
      result,
      new RegExp(`^lmc: cannot write ${planted}: permission denied \\(a file another user put in a shared folder with the sticky bit is not taken over\\)$`),
    );
    expect(readFileSync(planted, "utf8")).toBe("planted\n");
    expect(statSync(planted)).toMatchObject({ uid: OTHER, gid: OTHER });
    expect(readdirSync(sticky)).toEqual(["report.txt"]);
  });
});

describe("-o over an existing file never widens who can read it", () => {
  it.skipIf(!asRoot)("a group-owned 0660 file written by a member of the group keeps its owner and group", async () => {
    const dir = tempDir("out-group");
    chmodSync(dir, 0o777); // nobody may make its temporary file there
    const file = join(dir, "shared.txt");
    writeFileSync(file, "old\n");
    chmodSync(file, 0o660);
    chownSync(file, 0, 4242);
    // nobody, whose own group is nogroup, and who is a member of group 4242 too.
    const result = await runAs(["--reuid", String(OTHER), "--regid", String(OTHER), "--groups", "4242"], [...greedy(), "-o", file, "My name is"]);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(await completion());
    expect(statSync(file)).toMatchObject({ uid: 0, gid: 4242 });
    expect(statSync(file).mode & 0o7777).toBe(0o660);
    expect(readdirSync(dir)).toEqual(["shared.txt"]);
  });

  it("a file with an ACL keeps it (the mode's group bits are the ACL's mask, not the group's right)", async (context) => {
    const dir = tempDir("out-acl");
    const file = join(dir, "private.txt");
    writeFileSync(file, "old\n");
    chmodSync(file, 0o600);
    try {
      execFileSync("setfacl", ["-m", `u:${OTHER}:rw`, file], { stdio: "ignore" });
    } catch {
      return context.skip(); // no setfacl, or a filesystem without ACLs
    }
    const before = acl(file);
    expect(before).toMatch(/^group::---$/m);
    expect(statSync(file).mode & 0o070).toBe(0o060); // the mask, shown as the group's bits
    for (const args of [["My name is"], ["--each"]]) {
      const result = await runLmc([...greedy(), "-o", file, ...args], { input: "My name is\n" });
      expect(result.code).toBe(0);
      expect(acl(file)).toBe(before);
    }
  });

  it("a file with a second hard link is written through both, as > writes", async () => {
    const dir = tempDir("out-hardlink");
    writeFileSync(join(dir, "a.txt"), "old\n");
    linkSync(join(dir, "a.txt"), join(dir, "b.txt"));
    const result = await runLmc([...greedy(), "-o", join(dir, "a.txt"), "My name is"]);
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, "b.txt"), "utf8")).toBe(await completion());
    expect(lstatSync(join(dir, "a.txt")).ino).toBe(lstatSync(join(dir, "b.txt")).ino);
  });

  it.skipIf(!asRoot)("a file lmc may not write fails before anything is asked of the server, as for >, though its folder is writable", async () => {
    const dir = tempDir("out-readonly");
    chmodSync(dir, 0o777);
    const file = join(dir, "locked.txt");
    writeFileSync(file, "old\n");
    chmodSync(file, 0o644);
    const result = await runAs(["--reuid", String(OTHER), "--regid", String(OTHER), "--clear-groups"], ["--host", "ws://127.0.0.1:9", "-o", file, "hi"]);
    expect(result.code).toBe(1);
    expectOneErrorLine(result, /^lmc: cannot write .*locked\.txt: permission denied$/);
    expect(readFileSync(file, "utf8")).toBe("old\n");
    expect(statSync(file).uid).toBe(0);
    expect(readdirSync(dir)).toEqual(["locked.txt"]);
  });
});

function acl(file: string): string {
  return execFileSync("getfacl", ["-cp", file], { encoding: "utf8" });
}

/** Runs lmc as another user, through setpriv (`privileges`: its options). Needs root. */
function runAs(privileges: string[], args: string[]): Promise<LmcResult> {
  const started = Date.now();
  const child = spawn("setpriv", [...privileges, "--", ...lmcCommand(), ...args], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  const stdout: Buffer[] = [];
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on("close", (code, signal) => {
      const out = Buffer.concat(stdout);
      resolve({ code, signal, stdout: out, stderr, text: out.toString("utf8"), elapsedMs: Date.now() - started });
    }),
  );
}
