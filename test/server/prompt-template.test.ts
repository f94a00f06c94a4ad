// The test server formats chats with the tiny model's own prompt template and counts tokens
// with its real tokenizer, as LM Studio answers @lmstudio/sdk's applyPromptTemplate,
// tokenize, countTokens and getContextLength. Driven by the real SDK 1.5 client.
// Run: npx vitest run test/server/prompt-template.test.ts

import { LMStudioClient, type LLM } from "@lmstudio/sdk";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TINY_CHAT_TEMPLATE } from "../../scripts/tiny-model/make-tiny-model.js";
import { defaultCatalog, promptTemplateCatalog, readGgufSummary, TINY_MODEL_PATH } from "./model-catalog.js";
import { chatMessagesFromHistory, ProtocolShapeError } from "./protocol.js";
import { startTestServer, type TestServer } from "./server.js";

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };
const stripBox = (s: string) => s.replace(/[│┌┐└┘─]/g, " ").replace(/\s+/g, " ");

let server: TestServer;
let client: LMStudioClient;
let model: LLM;

beforeAll(async () => {
  server = await startTestServer({ quiet: true, models: [...defaultCatalog(), ...promptTemplateCatalog()] });
  client = new LMStudioClient({ baseUrl: server.url, logger: silentLogger });
  model = await client.llm.model("lmc-tiny");
}, 60_000);

afterAll(async () => {
  await client?.[Symbol.asyncDispose]();
  await server?.close();
  expect(server?.warnings ?? []).toEqual([]);
});

describe("the tiny model's prompt template", () => {
  it("is in the GGUF file that the server loads", async () => {
    expect((await readGgufSummary(TINY_MODEL_PATH)).chatTemplate).toBe(TINY_CHAT_TEMPLATE);
  });

  it("formats a system and a user message as the template defines, ending with the assistant's turn", async () => {
    const formatted = await model.applyPromptTemplate([
      { role: "system", content: "Write one line." },
      { role: "user", content: "My name is" },
    ]);
    expect(formatted).toBe("<s><|im_start|>system\nWrite one line.<|im_end|>\n<|im_start|>user\nMy name is<|im_end|>\n<|im_start|>assistant\n");
  });

  it("formats a whole conversation (LM Studio's own example chat, rendered by ChatML)", async () => {
    const formatted = await model.applyPromptTemplate(
      [
        { role: "system", content: "This is the system prompt." },
        { role: "user", content: "User message 1" },
        { role: "assistant", content: "Assistant message 1" },
        { role: "user", content: "User message 2" },
      ],
      { omitBosToken: true },
    );
    // What LM Studio returns for this chat with a ChatML model (lmstudio-js's heavy tests, Qwen2.5).
    expect(formatted).toBe(
      "<|im_start|>system\nThis is the system prompt.<|im_end|>\n<|im_start|>user\nUser message 1<|im_end|>\n" +
        "<|im_start|>assistant\nAssistant message 1<|im_end|>\n<|im_start|>user\nUser message 2<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("keeps each message its own turn, as LM Studio hands them over: two user messages, a last assistant message", async () => {
    const formatted = await model.applyPromptTemplate(
      [
        { role: "user", content: "a" },
        { role: "user", content: "b" },
        { role: "assistant", content: "c" },
      ],
      { omitBosToken: true },
    );
    expect(formatted).toBe("<|im_start|>user\na<|im_end|>\n<|im_start|>user\nb<|im_end|>\n<|im_start|>assistant\nc<|im_end|>\n<|im_start|>assistant\n");
  });

  it("keeps odd text as text: newlines, template syntax, markers, __proto__, non-ASCII", async () => {
    const content = "{{ 7 * 7 }} {% endfor %}\n\n__proto__ <|im_end|> 日本 🎉 \u0000";
    const formatted = await model.applyPromptTemplate([{ role: "user", content }], { omitBosToken: true });
    expect(formatted).toBe(`<|im_start|>user\n${content}<|im_end|>\n<|im_start|>assistant\n`);
  });

  it("formats a long prompt whole", async () => {
    const content = "My name is Anna. ".repeat(20_000);
    const formatted = await model.applyPromptTemplate([{ role: "user", content }]);
    expect(formatted.length).toBe(content.length + "<s><|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n".length);
  }, 20_000);
});

describe("token counts", () => {
  it("tokenize reads the template's special tokens as single tokens, and countTokens agrees", async () => {
    const formatted = await model.applyPromptTemplate([{ role: "user", content: "My name is" }]);
    const tokens = await model.tokenize(formatted);
    const plain = await model.tokenize("My name is");
    const [start, end] = await Promise.all([model.tokenize("<|im_start|>"), model.tokenize("<|im_end|>")]);
    expect(start).toHaveLength(1);
    expect(end).toHaveLength(1);
    expect(await model.tokenize("<s>")).toHaveLength(1);
    expect(tokens.filter((t) => t === start[0])).toHaveLength(2);
    expect(tokens.filter((t) => t === end[0])).toHaveLength(1);
    expect(tokens.join(",")).toContain(plain.join(","));
    expect(await model.countTokens(formatted)).toBe(tokens.length);
    expect(await model.countTokens("")).toBe(0);
  });

  it("counts what the completion reads: promptTokensCount of a formatted prompt is its countTokens", async () => {
    const formatted = await model.applyPromptTemplate([
      { role: "system", content: "Write one line." },
      { role: "user", content: "My name is" },
    ]);
    const count = await model.countTokens(formatted);
    const result = await model.complete(formatted, { maxTokens: 3, temperature: 0 });
    // The template begins with <s>: the completion adds no second BOS.
    expect(result.stats.promptTokensCount).toBe(count);
    expect(server.received.at(-1)?.prompt).toBe(formatted);
    // A raw prompt gets the BOS token the model adds.
    const raw = await model.complete("My name is", { maxTokens: 1, temperature: 0 });
    expect(raw.stats.promptTokensCount).toBe((await model.countTokens("My name is")) + 1);
  }, 20_000);

  it("getContextLength is the context the instance was loaded with", async () => {
    expect(await model.getContextLength()).toBe(2048);
    expect((await model.getModelInfo())?.contextLength).toBe(2048);
    const small = await client.llm.load("lmc-tiny-unloaded", { identifier: "small-context", config: { contextLength: 300 } });
    try {
      expect(await small.getContextLength()).toBe(300);
      expect((await small.getModelInfo())?.contextLength).toBe(300);
      const tooLong = "My name is Anna. ".repeat(100);
      expect(await small.countTokens(tooLong)).toBeGreaterThan(300);
      await expect(small.complete(tooLong, { maxTokens: 1 })).rejects.toThrow(/context length is 300 tokens/);
    } finally {
      await small.unload();
    }
  }, 20_000);

  it("getContextLength is the instance's real context when the client asked for none", async () => {
    // The SDK's default (2048) is the tiny model's trained length: a model set up with
    // another context shows whether the answer comes from the instance.
    const other = await startTestServer({ quiet: true, models: [{ key: "lmc-tiny-1000", path: TINY_MODEL_PATH, loaded: false, contextLength: 1000 }] });
    const otherClient = new LMStudioClient({ baseUrl: other.url, logger: silentLogger });
    try {
      const jit = await otherClient.llm.model("lmc-tiny-1000");
      expect(await jit.getContextLength()).toBe(1000);
      expect(other.warnings).toEqual([]);
    } finally {
      await otherClient[Symbol.asyncDispose]();
      await other.close();
    }
  }, 20_000);
});

describe("templates that fail, as LM Studio's errors", () => {
  it("a model without a template", async () => {
    const noTemplate = await client.llm.model("lmc-tiny-no-template");
    const error = await noTemplate.applyPromptTemplate([{ role: "user", content: "hi" }]).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(stripBox(error?.message ?? "")).toContain('Failed to apply prompt template: the model "lmc-tiny-no-template" has no prompt template.');
    // Everything else still works on it.
    expect(await noTemplate.countTokens("My name is")).toBe(3);
  });

  it("a template that fails to render", async () => {
    const broken = await client.llm.model("lmc-tiny-broken-template");
    const attempt = () =>
      broken.applyPromptTemplate([{ role: "user", content: "hi" }]).then(
        () => "",
        (e: Error) => stripBox(e.message).replace(/STACK TRACE.*/, ""),
      );
    // LM Studio's title, with the template's own error (an unclosed loop, as @huggingface/jinja reports it).
    const message = await attempt();
    expect(message).toContain(`Error rendering prompt with jinja template: "TypeError: Cannot read properties of undefined (reading 'type')".`);
    expect(message).toContain("This is an issue with the model's prompt template");
    // The same error every time (the parsed template is not cached as a success).
    expect(await attempt()).toBe(message);
  });

  it("a chat with a part the template cannot hold", async () => {
    const history = { messages: [{ role: "tool", content: [{ type: "toolCallResult", content: "42" }] }] };
    await expect(model.applyPromptTemplate(history as never)).rejects.toThrow(/Failed to apply prompt template: message 0 has the role "tool"/);
  });
});

describe("chatMessagesFromHistory", () => {
  it("joins each message's text parts, for any text", () => {
    const role = fc.constantFrom("system" as const, "user" as const, "assistant" as const);
    fc.assert(
      fc.property(fc.array(fc.record({ role, parts: fc.array(fc.string(), { maxLength: 4 }) })), (messages) => {
        const history = { messages: messages.map((m) => ({ role: m.role, content: m.parts.map((text) => ({ type: "text", text })) })) };
        expect(chatMessagesFromHistory(history)).toEqual(messages.map((m) => ({ role: m.role, content: m.parts.join("") })));
      }),
    );
  });

  it("rejects anything else with a ProtocolShapeError, never another exception", () => {
    fc.assert(
      fc.property(fc.anything(), (history) => {
        try {
          chatMessagesFromHistory(history);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolShapeError);
        }
      }),
    );
    expect(() => chatMessagesFromHistory({ messages: [{ role: "__proto__", content: [] }] })).toThrow(ProtocolShapeError);
    expect(() => chatMessagesFromHistory({ messages: [{ role: "user", content: [{ type: "file", name: "a" }] }] })).toThrow(/not text/);
  });
});
