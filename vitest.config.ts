import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Every process that loads the engine gets one thread (see test/server/engine.ts),
    // and a 2-core machine runs two test files at a time.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // A developer's LMC_* variables must not leak into the tests.
    env: { LMC_MODEL: "", LMC_HOST: "", LMC_MAX_TOKENS: "", LMC_TEMPERATURE: "", LMC_TIMEOUT: "", LMC_DEBUG: "", LM_API_TOKEN: "", NO_COLOR: "1" },
  },
});
