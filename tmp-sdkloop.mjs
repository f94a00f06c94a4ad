import { LMStudioClient } from "@lmstudio/sdk";
const [baseUrl, n] = process.argv.slice(2);
const client = new LMStudioClient({ baseUrl });
const model = await client.llm.model();
let next = 0;
async function worker() {
  while (next < Number(n)) {
    const i = next++;
    const ac = new AbortController();
    const p = model.complete(`prompt ${i}`, { maxTokens: 8, signal: ac.signal });
    let s = ""; for await (const f of p) s += f.content;
    const r = await p.result();
    process.stdout.write(JSON.stringify({ i, s, stats: r.stats }) + "\n");
  }
}
await Promise.all([worker(), worker(), worker(), worker()]);
await client[Symbol.asyncDispose]();
