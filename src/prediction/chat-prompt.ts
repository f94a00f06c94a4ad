// --chat: the prompt that is sent is the user's text as one user message (a system
// message before it when given), formatted by the model's own prompt template in LM
// Studio. Without --chat it is the user's text as it is. Single runs, batch items and
// --show-prompt all make the prompt here, so what --show-prompt shows is what is sent.

import { raceAbort } from "../lib/abort.js";
import type { ModelRequest, Session } from "../lmstudio/session.js";

/** What --chat asks: the system message, when there is one. */
export interface ChatSettings {
  system?: string;
}

export interface PromptRequest extends Omit<ModelRequest, "signal"> {
  prompt: string;
  /** undefined: the prompt is sent as it is. */
  chat?: ChatSettings;
}

/** The raw prompt to complete for `request`: formatted by the model's template with --chat, else the prompt itself. */
export async function promptToSend(session: Session, request: PromptRequest, signal: AbortSignal): Promise<string> {
  if (!request.chat) return request.prompt;
  const { prompt, chat, ...model } = request;
  return raceAbort(session.formatPrompt({ ...model, signal, system: chat.system, user: prompt }), signal);
}
