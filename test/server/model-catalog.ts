// The models the test server pretends to have downloaded, and the model-info objects
// LM Studio reports for them. Infos carry every field SDK 2.x requires (1.5 strips the
// ones it does not know): publisher, indexedModelIdentifier, deviceIdentifier, and on
// instances ttlMs and lastUsedTime.

import { open, rename, stat, mkdir, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TinyModelVariant } from "../../scripts/tiny-model/make-tiny-model.js";

export interface CatalogEntry {
  /** The model key (what `client.llm.model(key)` names). */
  key: string;
  /** The GGUF file. Default: build/tiny-model.gguf (generated when missing). */
  path?: string;
  /** Loaded when the server starts (identifier = `identifier ?? key`). Default false. */
  loaded?: boolean;
  /** Identifier of the instance loaded at start. Default: the key. */
  identifier?: string;
  displayName?: string;
  publisher?: string;
  /** Context length to load with (default: the engine's choice). */
  contextLength?: number;
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TINY_MODEL_PATH = path.join(REPO_ROOT, "build", "tiny-model.gguf");
/** The tiny model without a prompt template (no tokenizer.chat_template). */
export const TINY_NO_TEMPLATE_PATH = path.join(REPO_ROOT, "build", "tiny-model-no-template.gguf");
/** The tiny model with a prompt template that does not render. */
export const TINY_BROKEN_TEMPLATE_PATH = path.join(REPO_ROOT, "build", "tiny-model-broken-template.gguf");

/** The generated files, by the variant of the tiny model each holds. */
const GENERATED: ReadonlyMap<string, TinyModelVariant> = new Map([
  [TINY_MODEL_PATH, "chat"],
  [TINY_NO_TEMPLATE_PATH, "no-template"],
  [TINY_BROKEN_TEMPLATE_PATH, "broken-template"],
]);

export function defaultCatalog(): CatalogEntry[] {
  return [
    { key: "lmc-tiny", path: TINY_MODEL_PATH, loaded: true, displayName: "LMC Tiny" },
    { key: "lmc-tiny-unloaded", path: TINY_MODEL_PATH, loaded: false, displayName: "LMC Tiny (not loaded)" },
  ];
}

/**
 * Models whose prompt template is missing or broken, for tests of applyPromptTemplate's
 * errors; add them to a server's catalog (`models: [...defaultCatalog(), ...promptTemplateCatalog()]`).
 * Loaded at start, so that the error is the template's, not a load's.
 */
export function promptTemplateCatalog(): CatalogEntry[] {
  return [
    { key: "lmc-tiny-no-template", path: TINY_NO_TEMPLATE_PATH, loaded: true, displayName: "LMC Tiny (no prompt template)" },
    { key: "lmc-tiny-broken-template", path: TINY_BROKEN_TEMPLATE_PATH, loaded: true, displayName: "LMC Tiny (broken prompt template)" },
  ];
}

const generating = new Map<string, Promise<string>>();

/**
 * Makes sure a generated tiny model file exists and is current (generating it once per
 * process, atomically). A file left by an older generator is known by its prompt template,
 * which is not the one this generator writes.
 */
export function ensureTinyModel(file: string = TINY_MODEL_PATH): Promise<string> {
  const variant = GENERATED.get(file);
  if (variant === undefined) return Promise.reject(new Error(`${file} is not a generated tiny model`));
  let promise = generating.get(file);
  if (promise === undefined) {
    promise = (async () => {
      const { chatTemplateOf, writeTinyModel } = await import("../../scripts/tiny-model/make-tiny-model.js");
      if (existsSync(file) && (await readGgufSummary(file)).chatTemplate === chatTemplateOf(variant)) return file;
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
      try {
        await writeTinyModel(tmp, variant);
        await rename(tmp, file);
      } finally {
        await rm(tmp, { force: true });
      }
      return file;
    })();
    promise.catch(() => generating.delete(file));
    generating.set(file, promise);
  }
  return promise;
}

// ---------------------------------------------------------------------------
// GGUF metadata (just enough to describe a model that is not loaded)
// ---------------------------------------------------------------------------

export interface GgufSummary {
  architecture?: string;
  name?: string;
  contextLength?: number;
  fileType?: number;
  /** tokenizer.ggml.add_bos_token: the model sees a BOS token before the prompt. */
  addBosToken?: boolean;
  /** tokenizer.chat_template: the model's own prompt template. */
  chatTemplate?: string;
}

const GGUF_SCALAR_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Reads general.architecture, general.name, <arch>.context_length and the chat template from a GGUF header. */
export async function readGgufSummary(file: string): Promise<GgufSummary> {
  const fh = await open(file, "r");
  try {
    const size = (await fh.stat()).size;
    const length = Math.min(size, 32 * 1024 * 1024);
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, 0);
    let off = 0;
    const need = (n: number) => {
      if (off + n > buf.length) throw new RangeError("GGUF header larger than the read window");
    };
    const u32 = () => (need(4), (off += 4), buf.readUInt32LE(off - 4));
    const u64 = () => (need(8), (off += 8), Number(buf.readBigUInt64LE(off - 8)));
    const str = () => {
      const n = u64();
      need(n);
      off += n;
      return buf.toString("utf8", off - n, off);
    };
    const readValue = (type: number): unknown => {
      switch (type) {
        case 0:
          return (need(1), (off += 1), buf.readUInt8(off - 1));
        case 1:
          return (need(1), (off += 1), buf.readInt8(off - 1));
        case 2:
          return (need(2), (off += 2), buf.readUInt16LE(off - 2));
        case 3:
          return (need(2), (off += 2), buf.readInt16LE(off - 2));
        case 4:
          return u32();
        case 5:
          return (need(4), (off += 4), buf.readInt32LE(off - 4));
        case 6:
          return (need(4), (off += 4), buf.readFloatLE(off - 4));
        case 7:
          return (need(1), (off += 1), buf.readUInt8(off - 1) !== 0);
        case 8:
          return str();
        case 9: {
          const itemType = u32();
          const count = u64();
          const scalar = GGUF_SCALAR_SIZES[itemType];
          if (scalar !== undefined) {
            need(scalar * count);
            off += scalar * count;
          } else {
            for (let i = 0; i < count; i++) readValue(itemType);
          }
          return undefined;
        }
        case 10:
          return u64();
        case 11:
          return (need(8), (off += 8), Number(buf.readBigInt64LE(off - 8)));
        case 12:
          return (need(8), (off += 8), buf.readDoubleLE(off - 8));
        default:
          throw new Error(`unknown GGUF value type ${type}`);
      }
    };
    if (buf.toString("latin1", 0, 4) !== "GGUF") throw new Error(`${file} is not a GGUF file`);
    off = 4;
    u32(); // version
    u64(); // tensor count
    const kvCount = u64();
    const kv = new Map<string, unknown>();
    for (let i = 0; i < kvCount; i++) {
      const key = str();
      const type = u32();
      kv.set(key, readValue(type));
    }
    const architecture = typeof kv.get("general.architecture") === "string" ? (kv.get("general.architecture") as string) : undefined;
    const ctx = architecture ? kv.get(`${architecture}.context_length`) : undefined;
    const name = kv.get("general.name");
    const fileType = kv.get("general.file_type");
    const addBos = kv.get("tokenizer.ggml.add_bos_token");
    const chatTemplate = kv.get("tokenizer.chat_template");
    return {
      addBosToken: typeof addBos === "boolean" ? addBos : undefined,
      chatTemplate: typeof chatTemplate === "string" ? chatTemplate : undefined,
      architecture,
      name: typeof name === "string" ? name : undefined,
      contextLength: typeof ctx === "number" ? ctx : undefined,
      fileType: typeof fileType === "number" ? fileType : undefined,
    };
  } catch {
    return {};
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------
// Model infos
// ---------------------------------------------------------------------------

export interface LlmInfo {
  type: "llm";
  modelKey: string;
  format: "gguf";
  displayName: string;
  publisher: string;
  path: string;
  sizeBytes: number;
  indexedModelIdentifier: string;
  deviceIdentifier: string | null;
  architecture?: string;
  paramsString?: string;
  vision: boolean;
  trainedForToolUse: boolean;
  maxContextLength: number;
}

export interface LlmInstanceInfo extends LlmInfo {
  identifier: string;
  instanceReference: string;
  ttlMs: number | null;
  lastUsedTime: number | null;
  contextLength: number;
}

/** A catalog entry with the facts read from its file. */
export interface ResolvedEntry {
  key: string;
  file: string;
  loaded: boolean;
  identifier: string;
  contextLength?: number;
  info: LlmInfo;
}

export const DEFAULT_MAX_CONTEXT_LENGTH = 2048;

export async function resolveEntry(entry: CatalogEntry): Promise<ResolvedEntry> {
  const file = path.resolve(entry.path ?? TINY_MODEL_PATH);
  if (GENERATED.has(file)) await ensureTinyModel(file);
  let sizeBytes = 0;
  let summary: GgufSummary = {};
  if (existsSync(file)) {
    sizeBytes = (await stat(file)).size;
    summary = await readGgufSummary(file);
  }
  const publisher = entry.publisher ?? "lmc";
  // LM Studio reports paths relative to its models folder: publisher/repo/file.gguf
  const relPath = `${publisher}/${entry.key}/${path.basename(file)}`;
  return {
    key: entry.key,
    file,
    loaded: entry.loaded ?? false,
    identifier: entry.identifier ?? entry.key,
    contextLength: entry.contextLength,
    info: {
      type: "llm",
      modelKey: entry.key,
      format: "gguf",
      displayName: entry.displayName ?? summary.name ?? entry.key,
      publisher,
      path: relPath,
      sizeBytes,
      indexedModelIdentifier: relPath,
      deviceIdentifier: null,
      ...(summary.architecture !== undefined ? { architecture: summary.architecture } : {}),
      vision: false,
      trainedForToolUse: false,
      maxContextLength: summary.contextLength ?? DEFAULT_MAX_CONTEXT_LENGTH,
    },
  };
}
