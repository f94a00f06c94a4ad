import { Readable } from "node:stream";
import { expect, it } from "vitest";
import { readStdin } from "../../src/prompt/stdin.js";

const streamOf = (chunks: Buffer[], isTTY?: boolean) => Object.assign(Readable.from(chunks), { isTTY }) as unknown as NodeJS.ReadStream;

it("reads all of the stream it is handed, as bytes", async () => {
  const hints: string[] = [];
  const bytes = await readStdin(streamOf([Buffer.from("My name"), Buffer.from([0x20, 0xff])]), (h) => hints.push(h));
  expect(Buffer.from(bytes)).toEqual(Buffer.from([...Buffer.from("My name"), 0x20, 0xff]));
  expect(hints).toEqual([]);
});

it("says how to end the prompt when the stream is a terminal", async () => {
  const hints: string[] = [];
  await readStdin(streamOf([Buffer.from("typed")], true), (h) => hints.push(h));
  expect(hints).toEqual(["reading the prompt from the terminal; end it with Ctrl-D"]);
});

it("refuses more than the limit, in words, as a usage error", async () => {
  const reading = readStdin(streamOf([Buffer.from("12345"), Buffer.from("678")]), () => {}, 7);
  await expect(reading).rejects.toMatchObject({ exitCode: 2, message: "stdin is too large for a prompt (more than 32 MiB)" });
  expect(Buffer.from(await readStdin(streamOf([Buffer.from("12345"), Buffer.from("67")]), () => {}, 7)).toString()).toBe("1234567");
});
