// Renders a chat with a model's own prompt template (GGUF `tokenizer.chat_template`), as
// LM Studio's `applyPromptTemplate` does: node-llama-cpp's Jinja chat wrapper renders the
// template with the messages and a generation prompt, and the special tokens it stands
// for (bos_token, eos_token) come out as the model's own token texts.

import { JinjaTemplateChatWrapper, SpecialToken, SpecialTokensText, type ChatHistoryItem, type LlamaText } from "node-llama-cpp";
import type { ChatMessage, PromptTemplateOptions } from "./engine-types.js";

/** The model's GGUF file has no `tokenizer.chat_template`. */
export class NoPromptTemplateError extends Error {
  constructor() {
    super("The model has no prompt template (its GGUF file has no tokenizer.chat_template)");
    this.name = "NoPromptTemplateError";
  }
}

/** The template does not parse, or fails while rendering (e.g. it raises an exception). */
export class PromptTemplateRenderError extends Error {
  constructor(readonly reason: string) {
    super(`Error rendering prompt with jinja template: "${reason}".`);
    this.name = "PromptTemplateRenderError";
  }
}

/** The texts of the model's special tokens, for the template's bos_token and eos_token. */
export interface SpecialTokenTexts {
  bos: string | null;
  eos: string | null;
  eot: string | null;
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** One model's template, parsed once (the wrapper checks it against sample chats when made). */
export class PromptTemplate {
  private wrapper: JinjaTemplateChatWrapper | PromptTemplateRenderError | undefined;

  constructor(
    private readonly template: string | undefined,
    private readonly tokens: SpecialTokenTexts,
  ) {}

  render(messages: readonly ChatMessage[], options: PromptTemplateOptions = {}): string {
    const wrapper = this.getWrapper();
    let text: LlamaText;
    try {
      // LM Studio ends the chat with the opening of the assistant's turn (add_generation_prompt):
      // for node-llama-cpp that is an empty model response at the end.
      const chatHistory: ChatHistoryItem[] = [...messages.map(toHistoryItem), { type: "model", response: [] }];
      text = wrapper.generateContextState({ chatHistory }).contextText;
    } catch (error) {
      throw new PromptTemplateRenderError(errorMessage(error));
    }
    let formatted = text.values.map((value) => this.textOf(value)).join("");
    const { bos, eos } = this.tokens;
    if (options.omitBosToken && bos && formatted.startsWith(bos)) formatted = formatted.slice(bos.length);
    if (options.omitEosToken && eos && formatted.endsWith(eos)) formatted = formatted.slice(0, -eos.length);
    return formatted;
  }

  private getWrapper(): JinjaTemplateChatWrapper {
    if (this.template === undefined) throw new NoPromptTemplateError();
    if (this.wrapper === undefined) {
      try {
        this.wrapper = new JinjaTemplateChatWrapper({
          template: this.template,
          // LM Studio hands the template the chat as it is: no system messages turned into
          // user messages, no adjacent messages joined.
          convertUnsupportedSystemMessagesToUserMessages: false,
          joinAdjacentMessagesOfTheSameType: false,
        });
      } catch (error) {
        // node-llama-cpp wraps the template's own error in a sentence of its own.
        const reason = errorMessage(error)
          .replace(/^The provided Jinja template failed the sanity test: /, "")
          .replace(/\. Inspect the Jinja template.*$/s, "");
        this.wrapper = new PromptTemplateRenderError(reason);
      }
    }
    if (this.wrapper instanceof PromptTemplateRenderError) throw this.wrapper;
    return this.wrapper;
  }

  private textOf(value: LlamaText["values"][number]): string {
    if (typeof value === "string") return value;
    if (value instanceof SpecialTokensText) return value.value;
    if (value instanceof SpecialToken) {
      const builtin = value.value;
      const text = builtin === "BOS" ? this.tokens.bos : builtin === "EOS" ? this.tokens.eos : builtin === "EOT" ? this.tokens.eot : null;
      if (text === null) throw new PromptTemplateRenderError(`the template uses the ${builtin} token, which the model does not have`);
      return text;
    }
    throw new PromptTemplateRenderError("the template rendered a token that is not text");
  }
}

function toHistoryItem(message: ChatMessage): ChatHistoryItem {
  if (message.role === "system") return { type: "system", text: message.content };
  if (message.role === "user") return { type: "user", text: message.content };
  return { type: "model", response: [message.content] };
}
