// Property-based tests of the option table: a setting is one row, so however its
// value arrives (its flag, --option KEY=VALUE, a JSON Lines field) the same text is
// taken or refused alike and becomes the same value, under the same key. A failure
// prints fast-check's seed and the smallest value that breaks.

import assert from "node:assert";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonItem } from "../../src/batch/input.js";
import { parseArgs } from "../../src/command-line/args.js";
import { flagSettings, itemSettings, optionSettings, predictionKey, settings, type SettingSpec } from "../../src/command-line/option-table.js";
import { resolveOptions } from "../../src/command-line/resolve-options.js";
import { UsageError } from "../../src/errors.js";

const runs = { numRuns: 300 };

/** What becomes of a value: refused, or the prediction setting it gives under its key. */
type Outcome = { refused: true } | { key: string; value: unknown };

function fromCommandLine(argv: string[]): Outcome {
  let options;
  try {
    options = resolveOptions(parseArgs([...argv, "hi"]), {});
  } catch (error) {
    if (error instanceof UsageError) return { refused: true };
    throw error;
  }
  assert(options.action === "complete");
  const [entry, ...more] = Object.entries(options.prediction);
  expect(more).toEqual([]);
  assert(entry);
  return { key: entry[0], value: entry[1] };
}

function fromJsonLines(field: string, value: unknown): Outcome {
  const item = jsonItem(0, JSON.stringify({ prompt: "hi", [field]: value }));
  if (item.problem !== undefined) return { refused: true };
  const [entry, ...more] = Object.entries(item.prediction ?? {});
  expect(more).toEqual([]);
  assert(entry);
  return { key: entry[0], value: entry[1] };
}

/** Values near every bound of the table's types, and words, as a user may type them. */
const valueText = fc.oneof(
  fc.constantFrom("off", "false", "max", "0", "1", "-1", "0.5", "500", "501", "1e3", "0x10", "Infinity", "NaN", "", " 1", "stopAtLimit", "model-a"),
  fc.double({ min: -2, max: 600, noNaN: true }).map(String),
  fc.integer({ min: -5, max: 1000 }).map(String),
  fc.string({ maxLength: 6 }),
);
/** JSON Lines may carry a number where a flag carries its text. */
const jsonValue = fc.oneof(valueText, fc.double({ min: -2, max: 600, noNaN: true }), fc.integer({ min: -5, max: 1000 }), fc.boolean());

describe("the option table, property-based", () => {
  const itemFields = Object.entries(itemSettings);

  it.each(itemFields.map(([field, setting]) => [field, setting]))("the JSON Lines field %s takes what its flag takes, as the same value", (field, setting) => {
    const flag = flagSettings.find((row) => row.key === setting.key);
    assert(flag);
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(fromJsonLines(field, value)).toEqual(fromCommandLine([`--${flag.name}`, String(value)]));
      }),
      runs,
    );
  });

  const flaggedOptions = flagSettings.filter((row) => row.option !== false && !row.flagWords);

  it.each(flaggedOptions.map((row) => [row.name, row]))("--%s takes what --option takes by its key, as the same value", (_, row) => {
    fc.assert(
      fc.property(valueText, (text) => {
        expect(fromCommandLine([`--option`, `${row.key}=${text}`])).toEqual(fromCommandLine([`--${row.name}`, text]));
      }),
      runs,
    );
  });

  it("every prediction setting reached by --option goes under its raw key when it has one, else its SDK name", () => {
    for (const [key, setting] of Object.entries(optionSettings)) {
      const text = ["1", "0.5", "stopAtLimit"].find((value) => setting.type.parse(value) !== undefined);
      assert(text !== undefined);
      const outcome = fromCommandLine(["--option", `${key}=${text}`]);
      expect(outcome).toMatchObject({ key: setting.raw ?? key });
    }
  });

  it("raw keys are LM Studio's configuration keys and SDK names are not, as the session tells them apart", () => {
    const rows: Array<SettingSpec<unknown>> = Object.values(settings);
    for (const row of rows) {
      if (row.raw !== undefined) expect(row.raw).toMatch(/^llm\.prediction\./);
      if (row.key !== undefined) expect(row.key).toMatch(/^\w+$/);
    }
    expect(rows.filter((row) => row.raw !== undefined).map((row) => row.key)).toEqual(["xtcProbability", "xtcThreshold", "logProbs", "seed"]);
    expect(predictionKey(settings.seed)).toBe("llm.prediction.seed");
  });
});

describe("where the stats go", () => {
  const flagValue = fc.option(fc.string(), { nil: undefined });
  const variable = fc.option(fc.oneof(fc.string(), fc.constantFrom("1", "0", "false", "yes", "")), { nil: undefined });
  it("a flag wins over the environment, the two flags are refused together, and LMC_NO_STATS wins over LMC_STATS_FILE", () => {
    fc.assert(
      fc.property(flagValue, fc.boolean(), variable, variable, (file, noStats, LMC_STATS_FILE, LMC_NO_STATS) => {
        const argv = [...(file === undefined ? [] : [`--stats-file=${file}`]), ...(noStats ? ["--no-stats"] : []), "hi"];
        const resolve = () => resolveOptions(parseArgs(argv), { LMC_STATS_FILE, LMC_NO_STATS });
        if (file !== undefined && (noStats || file === "")) {
          expect(resolve).toThrow(UsageError);
          return;
        }
        const { stats } = resolve() as { stats: unknown };
        const quiet = LMC_NO_STATS !== undefined && !["", "0"].includes(LMC_NO_STATS) && LMC_NO_STATS.toLowerCase() !== "false";
        if (file !== undefined) expect(stats).toEqual({ file });
        else if (noStats || quiet) expect(stats).toBe(false);
        else expect(stats).toEqual(LMC_STATS_FILE ? { file: LMC_STATS_FILE } : "stderr");
      }),
      runs,
    );
  });
});
