// The models the test server pretends to have downloaded, and the model-info objects
// LM Studio reports for them. Infos carry every field SDK 2.x requires (1.5 strips the
// ones it does not know): publisher, indexedModelIdentifier, deviceIdentifier, and on
// instances ttlMs and lastUsedTime.

import { open, rename, stat, mkdir, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

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

export function defaultCatalog(): CatalogEntry[] {
  return [
    { key: "lmc-tiny", path: TINY_MODEL_PATH, loaded: true, displayName: "LMC Tiny" },
    { key: "lmc-tiny-unloaded", path: TINY_MODEL_PATH, loaded: false, displayName: "LMC Tiny (not loaded)" },
  ];
}

let tinyModelPromise: Promise<string> | undefined;

/** Makes sure build/tiny-model.gguf exists (generating it once per process, atomically). */
export function ensureTinyModel(): Promise<string> {
  tinyModelPromise ??= (async () => {
    if (existsSync(TINY_MODEL_PATH)) return TINY_MODEL_PATH;
    const { writeTinyModel } = await import("../../scripts/tiny-model/make-tiny-model.js");
    await mkdir(path.dirname(TINY_MODEL_PATH), { recursive: true });
    const tmp = `${TINY_MODEL_PATH}.${process.pid}.${Date.now()}.tmp`;
    try {
      await writeTinyModel(tmp);
      await rename(tmp, TINY_MODEL_PATH);
    } finally {
      await rm(tmp, { force: true });
    }
    return TINY_MODEL_PATH;
  })();
  tinyModelPromise.catch(() => {
    tinyModelPromise = undefined;
  });
  return tinyModelPromise;
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
}

const GGUF_SCALAR_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Reads general.architecture, general.name and <arch>.context_length from a GGUF header. */
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
    return {
      addBosToken: typeof addBos === "boolean" ? addBos : undefined,
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
  if (file === TINY_MODEL_PATH) await ensureTinyModel();
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
