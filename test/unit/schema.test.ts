import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { loadSchema } from "../../src/prompt/schema.js";
import { tempDir } from "../temp-dir.js";

describe("loadSchema", () => {
  it("takes inline JSON", async () => {
    expect(await loadSchema(' {"type":"object"}')).toEqual({ type: "object" });
  });
  it("reads a file", async () => {
    const file = join(tempDir("schema"), "s.json");
    await writeFile(file, '{"type":"array"}');
    expect(await loadSchema(file)).toEqual({ type: "array" });
  });
  it.each([
    ["{not json", /--schema: the argument is not valid JSON/],
    ["/nonexistent/schema.json", /--schema: cannot read \/nonexistent\/schema.json/],
  ])("refuses %j", async (source, message) => {
    await expect(loadSchema(source)).rejects.toThrow(UsageError);
    await expect(loadSchema(source)).rejects.toThrow(message);
  });
  it("names the file and the place of a syntax error, never the file's contents", async () => {
    const file = join(tempDir("schema"), "shadow");
    await writeFile(file, "root:$6$secrethash:19000:0:99999:7:::\n");
    const failure = () =>
      loadSchema(file).then(
        () => "loaded",
        (e: Error) => e.message,
      );
    await expect(loadSchema(file)).rejects.toThrow(UsageError);
    expect(await failure()).toBe(`--schema: ${file} is not valid JSON: line 1, column 1`);
    await writeFile(file, '{\n  "type": "object",\n  "x": secretstuff\n}');
    expect(await failure()).toBe(`--schema: ${file} is not valid JSON: line 3, column 8`);
    await writeFile(file, '{"type": "obj');
    expect(await failure()).toBe(`--schema: ${file} is not valid JSON: it ends too early (line 1, column 14)`);
  });
  it("refuses JSON that is not an object", async () => {
    const file = join(tempDir("schema"), "s.json");
    await writeFile(file, "[1, 2]");
    await expect(loadSchema(file)).rejects.toThrow(/is not a JSON Schema object/);
  });
});
