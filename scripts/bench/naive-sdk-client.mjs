// The baseline for npm run bench: a completion done the way the SDK's docs show it,
// with @lmstudio/sdk loaded unbundled from node_modules.
//   node scripts/bench/naive-sdk-client.mjs URL MAX_TOKENS PROMPT

import { LMStudioClient } from "@lmstudio/sdk";

const [baseUrl, maxTokens, prompt] = process.argv.slice(2);
const client = new LMStudioClient({ baseUrl });
const model = await client.llm.model();
const completion = model.complete(prompt, { maxTokens: Number(maxTokens), temperature: 0 });
for await (const { content } of completion) {
  process.stdout.write(content);
}
const { stats } = await completion.result();
console.error(JSON.stringify(stats));
// The client keeps its connection open until it is disposed.
await client[Symbol.asyncDispose]();
