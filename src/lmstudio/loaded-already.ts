// --context-length, --gpu and --ttl take effect only when lmc loads the model: a model
// already loaded keeps the settings it was loaded with. What that instance has, and the
// one line that says so when it is not what was asked, with what to do about it.

import { oneLine } from "../terminal/terminal-text.js";
import type { LoadSettings } from "./session.js";

/** A model instance that was loaded before lmc asked for it. */
export interface LoadedInstance {
  modelKey: string;
  identifier: string;
  /** As LM Studio reports it; undefined when it was not asked (no --context-length). */
  contextLength?: number;
}

/** What a run asked of the load: the settings that apply only when lmc loads the model. */
export interface AskedLoad {
  /** The model named with --model; undefined: the one already loaded. */
  model?: string;
  load: LoadSettings;
  ttlSec?: number;
}

/** Whether any setting that applies only to a load was given (the check costs nothing otherwise). */
export const asksLoadSettings = ({ load, ttlSec }: AskedLoad): boolean => load.contextLength !== undefined || load.gpu !== undefined || ttlSec !== undefined;

/**
 * The line to say when `loaded` may not have what was asked, else undefined. Through
 * SDK 1.5 LM Studio tells an instance's context length, not its TTL (the SDK drops
 * it) nor its GPU offload: --ttl or --gpu given for a model already loaded is always
 * said, as lmc cannot tell whether it holds.
 */
export function loadedAlreadyNote(asked: AskedLoad, loaded: LoadedInstance): string | undefined {
  const ignored: string[] = [];
  const { contextLength, gpu } = asked.load;
  const contextDiffers = contextLength !== undefined && contextLength !== loaded.contextLength;
  if (contextDiffers) ignored.push(`--context-length ${contextLength}`);
  if (asked.ttlSec !== undefined) ignored.push(`--ttl ${asked.ttlSec}`);
  if (gpu !== undefined) ignored.push(`--gpu ${gpu.ratio}`);
  if (ignored.length === 0) return undefined;
  const unknown = [asked.ttlSec !== undefined && "idle TTL", gpu !== undefined && "GPU offload"].filter(Boolean).join(" or ");
  const has = [
    contextDiffers && loaded.contextLength !== undefined && ` with context length ${loaded.contextLength}`,
    unknown && ` (lmc cannot tell its ${unknown})`,
  ]
    .filter(Boolean)
    .join("");
  // The server's names, bound for a terminal, on one line.
  const name = oneLine(loaded.identifier);
  const then = asked.model === undefined ? `then run again with --model ${oneLine(loaded.modelKey)}` : "then run again";
  return (
    `${name} is already loaded${has}; ${listed(ignored)} ${ignored.length > 1 ? "apply" : "applies"} when lmc loads it: ` +
    `unload it in LM Studio or with \`lms unload ${name}\`, ${then}`
  );
}

/** "a", "a and b", "a, b and c". */
const listed = (words: string[]) => (words.length > 1 ? `${words.slice(0, -1).join(", ")} and ${words.at(-1)}` : words.join(""));
