// A text made of many small pieces (a completion's fragments, often one token each),
// kept without an object per piece. `text += piece` would make a V8 cons string per
// piece, some 30 bytes each whatever the piece's size: 2 million one-letter fragments
// held 60 MB for 2 MB of text. Here the pieces are joined a batch at a time into flat
// strings, each byte copied about twice.

const PIECES_PER_JOIN = 1024;

export class TextBuilder {
  private readonly joined: string[] = [];
  private recent: string[] = [];
  private length = 0;

  constructor(start = "") {
    this.append(start);
  }

  append(piece: string): void {
    if (piece === "") return;
    this.length += piece.length;
    this.recent.push(piece);
    if (this.recent.length >= PIECES_PER_JOIN) {
      this.joined.push(this.recent.join(""));
      this.recent = [];
    }
  }

  /** Nothing was appended (or only empty text). */
  get isEmpty(): boolean {
    return this.length === 0;
  }

  toString(): string {
    return this.joined.join("") + this.recent.join("");
  }
}
