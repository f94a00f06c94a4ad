// The most tokens a prompt can be, from its text alone: below the model's context
// length, the prompt cannot overflow it, and lmc need not ask LM Studio to count it.
//
// Why the bound holds for the tokenizers LM Studio runs (llama.cpp's and MLX's: BPE over
// bytes, SentencePiece with byte fallback, WordPiece/Unigram): every token that is not
// special stands for at least one byte of the text after the tokenizer's normalization,
// so the count is at most those bytes, plus the specials the tokenizer adds (BOS, EOS)
// and a prefix space some add. Normalization leaves ASCII as it is; NFKC, the widest
// some tokenizers use, turns one code point into at most 18 (U+FDFA), of at most 4
// bytes each.

/** Tokens a tokenizer may add to any text: BOS, EOS, a prefix space, and one to spare. */
export const ADDED_TOKENS = 4;

/** The most bytes, after normalization, that one non-ASCII code point may become (18 × 4). */
export const NON_ASCII_BYTES = 72;

/** An upper bound of the tokens `text` is in any tokenizer LM Studio runs; linear in its length. */
export function mostTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) ascii++;
    // A surrogate pair is one code point: counted at its high half only.
    else if (unit < 0xdc00 || unit > 0xdfff) other++;
  }
  return ascii + other * NON_ASCII_BYTES + ADDED_TOKENS;
}
