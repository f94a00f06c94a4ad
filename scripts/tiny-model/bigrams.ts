// Bigram statistics of the corpus, turned into the log-probabilities the model's
// output layer holds: logit[next] = log P(next | current token).

import { BOS_ID, EOS_ID, tokenize, type Vocab } from "./tokenizer.js";

/** Logits never go below this (no -inf: 0 * -inf would be NaN in the matmul). */
export const LOGIT_FLOOR = -20;
/** Weight of the unigram distribution mixed into every row (additive smoothing). */
const SMOOTHING = 1;

/** Documents are separated by blank lines; each one is `<s> text </s>`. */
export function corpusDocuments(corpus: string): string[] {
  return corpus
    .replace(/\r\n/g, "\n")
    .split(/\n[ \t]*\n+/)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

export interface BigramModel {
  /**
   * Context classes: class 0 is "any other token" (pieces never seen in the corpus),
   * then one class per token that is followed by something in the corpus.
   */
  classOfToken: Int32Array;
  classCount: number;
  /** logits[c * nVocab + next] */
  logits: Float32Array;
}

export function buildBigrams(corpus: string, vocab: Vocab): BigramModel {
  const nVocab = vocab.tokens.length;
  const pairCounts = new Map<number, Map<number, number>>();
  const unigram = new Float64Array(nVocab);
  let unigramTotal = 0;
  for (const doc of corpusDocuments(corpus)) {
    const seq = [BOS_ID, ...tokenize(doc, vocab), EOS_ID];
    for (let i = 0; i + 1 < seq.length; i++) {
      const cur = seq[i]!;
      const next = seq[i + 1]!;
      let row = pairCounts.get(cur);
      if (row === undefined) pairCounts.set(cur, (row = new Map()));
      row.set(next, (row.get(next) ?? 0) + 1);
      unigram[next]! += 1;
      unigramTotal += 1;
    }
  }
  const contexts = [...pairCounts.keys()].sort((a, b) => a - b);
  const classOfToken = new Int32Array(nVocab); // 0 = other
  contexts.forEach((tok, i) => {
    classOfToken[tok] = i + 1;
  });
  const classCount = contexts.length + 1;
  const logits = new Float32Array(classCount * nVocab);
  const logOf = (p: number) => (p > 0 ? Math.max(LOGIT_FLOOR, Math.log(p)) : LOGIT_FLOOR);
  for (let next = 0; next < nVocab; next++) logits[next] = logOf(unigram[next]! / unigramTotal);
  contexts.forEach((tok, i) => {
    const row = pairCounts.get(tok)!;
    let rowTotal = 0;
    for (const n of row.values()) rowTotal += n;
    const base = (i + 1) * nVocab;
    for (let next = 0; next < nVocab; next++) {
      const p = ((row.get(next) ?? 0) + SMOOTHING * (unigram[next]! / unigramTotal)) / (rowTotal + SMOOTHING);
      logits[base + next] = logOf(p);
    }
  });
  return { classOfToken, classCount, logits };
}
