// The tiny model's word-level, SentencePiece-style ("llama") vocabulary, and a
// tokenizer that merges pieces exactly like llama.cpp's SPM tokenizer does, so the
// bigram statistics are counted over the same tokens the model will later see.

/** llama.cpp token types (llama_token_type / LLAMA_TOKEN_TYPE_*). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const;

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
/** `<0x00>` is token 3, `<0xFF>` token 258. */
export const FIRST_BYTE_ID = 3;

/** SentencePiece's visible space. */
export const SPACE = "\u2581";

/**
 * Control tokens of the chat template (ChatML's turn markers), last in the vocabulary so
 * that every other token keeps its id. The corpus never holds them: the model has no
 * statistics for them, and llama.cpp reads them only where special tokens are parsed.
 * llama.cpp also knows `<|im_end|>` as an end-of-turn token by its text.
 */
export const CHAT_TOKENS = ["<|im_start|>", "<|im_end|>"] as const;

export interface Vocab {
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
  ids: Map<string, number>;
}

/**
 * Words, numbers and contractions of the corpus, including file names, paths and times
 * ("notes.md", "home/anna", "09:00:00"); every other character is its own piece.
 */
export function corpusWords(text: string): string[] {
  return text.match(/[A-Za-z0-9']+(?:[./:-][A-Za-z0-9']+)*/g) ?? [];
}

function byteToken(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
}

/**
 * Special tokens, the 256 byte tokens, `▁` and printable ASCII, then every corpus word
 * with and without a leading `▁`, with all its prefixes (SentencePiece only merges two
 * pieces whose concatenation is itself a token, so a word is reached through them).
 * A piece's score is its length: longer merges win, so whole words come out. The chat
 * template's control tokens come last.
 */
export function buildVocab(corpus: string): Vocab {
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(byteToken(b));
    types.push(TokenType.BYTE);
  }
  const singles = [SPACE];
  for (let c = 0x21; c <= 0x7e; c++) singles.push(String.fromCharCode(c));
  for (const s of singles) {
    tokens.push(s);
    types.push(TokenType.NORMAL);
  }
  const pieces = new Set<string>();
  for (const word of new Set(corpusWords(corpus))) {
    for (const form of [word, SPACE + word]) {
      const chars = Array.from(form);
      for (let n = 2; n <= chars.length; n++) pieces.add(chars.slice(0, n).join(""));
    }
  }
  const known = new Set(tokens);
  const sorted = [...pieces].filter((p) => !known.has(p)).sort((a, b) => Array.from(a).length - Array.from(b).length || (a < b ? -1 : a > b ? 1 : 0));
  for (const p of sorted) {
    tokens.push(p);
    types.push(TokenType.NORMAL);
  }
  for (const t of CHAT_TOKENS) {
    tokens.push(t);
    types.push(TokenType.CONTROL);
  }
  const scores = new Float32Array(tokens.length);
  tokens.forEach((t, i) => {
    scores[i] = types[i] === TokenType.NORMAL ? Array.from(t).length : 0;
  });
  if (tokens.some((t) => t.indexOf(SPACE, 1) > 0)) throw new Error("a piece has an inner \u2581 (tokenize() relies on there being none)");
  const ids = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (types[i] === TokenType.NORMAL) ids.set(t, i);
  });
  return { tokens, scores, types: Int32Array.from(types), ids };
}

/**
 * llama.cpp's SPM tokenization (add_space_prefix = false, no special-token parsing):
 * spaces become `▁`, the text is split into characters, then the adjacent pair whose
 * concatenation is a token with the best score is merged (ties: leftmost first) until
 * no pair is a token. Characters that are not tokens become their UTF-8 byte tokens.
 */
export function tokenize(text: string, vocab: Vocab): number[] {
  // No piece has a `▁` after its first character, so no merge crosses the position
  // before a `▁`: the text can be merged in independent runs (much faster, same result).
  const runs = text.replace(/ /g, SPACE).split(/(?=\u2581)/u);
  return runs.flatMap((run) => tokenizeRun(run, vocab));
}

function tokenizeRun(run: string, vocab: Vocab): number[] {
  const symbols = Array.from(run);
  for (;;) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const id = vocab.ids.get(symbols[i]! + symbols[i + 1]!);
      if (id === undefined) continue;
      const score = vocab.scores[id]!;
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    if (best < 0) break;
    symbols.splice(best, 2, symbols[best]! + symbols[best + 1]!);
  }
  const out: number[] = [];
  for (const s of symbols) {
    const id = vocab.ids.get(s);
    if (id !== undefined) out.push(id);
    else for (const b of Buffer.from(s, "utf8")) out.push(FIRST_BYTE_ID + b);
  }
  return out;
}
