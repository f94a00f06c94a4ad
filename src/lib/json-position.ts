// Where JSON text goes wrong, so that an error message can point at the place
// without quoting the text: V8's JSON.parse messages quote it, and the text may
// be a file the user did not mean to show (`--schema /etc/shadow`). Pure.

interface TextPosition {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  /** The text ended where more JSON was needed. */
  atEnd: boolean;
}

/** Where `text`, which JSON.parse refused, stops being JSON. */
export function jsonErrorPosition(text: string): TextPosition {
  const offset = jsonErrorOffset(text);
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: offset - lineStart + 1, atEnd: offset >= text.length };
}

/** "line 3, column 12", or "it ends too early (line 3, column 1)" when the text stops too early. */
export function describePosition({ line, column, atEnd }: TextPosition): string {
  return atEnd ? `it ends too early (line ${line}, column ${column})` : `line ${line}, column ${column}`;
}

const literal = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/**
 * The offset of the first character that cannot continue a JSON text (its length,
 * when the text ends too early). A small scanner with its own stack, so that deep
 * nesting cannot overflow the call stack.
 */
export function jsonErrorOffset(text: string): number {
  let at = 0;
  const closers: string[] = [];
  let expect: "value" | "firstKey" | "key" | "after" = "value";
  const skipSpace = () => {
    while (at < text.length && " \t\n\r".includes(text[at]!)) at++;
  };
  /** Moves past the string at `at` and returns -1, or returns where it breaks (no string there: `at`). */
  const string = (): number => {
    if (text[at] !== '"') return at;
    for (let i = at + 1; i < text.length; i++) {
      if (text.charCodeAt(i) < 0x20) return i;
      if (text[i] === '"') {
        at = i + 1;
        return -1;
      }
      if (text[i] === "\\") {
        if (!/^(["\\/bfnrt]|u[0-9a-fA-F]{4})/.test(text.slice(i + 1, i + 6))) return i;
        i += text[i + 1] === "u" ? 5 : 1;
      }
    }
    return text.length;
  };
  for (;;) {
    skipSpace();
    const char = text[at];
    switch (expect) {
      case "value":
        if (char === "{") {
          closers.push("}");
          at++;
          expect = "firstKey";
        } else if (char === "[") {
          closers.push("]");
          at++;
          skipSpace();
          if (text[at] === "]") {
            closers.pop();
            at++;
            expect = "after";
          }
        } else if (char === '"') {
          const broken = string();
          if (broken >= 0) return broken;
          expect = "after";
        } else {
          literal.lastIndex = at;
          if (!literal.test(text)) return at;
          at = literal.lastIndex;
          expect = "after";
        }
        break;
      case "firstKey":
      case "key": {
        if (expect === "firstKey" && char === "}") {
          closers.pop();
          at++;
          expect = "after";
          break;
        }
        const broken = string();
        if (broken >= 0) return broken;
        skipSpace();
        if (text[at] !== ":") return at;
        at++;
        expect = "value";
        break;
      }
      case "after": {
        const closer = closers.at(-1);
        if (closer === undefined) return at; // the end of the text, or whatever follows a whole value
        if (char === ",") {
          at++;
          expect = closer === "}" ? "key" : "value";
        } else if (char === closer) {
          closers.pop();
          at++;
        } else return at;
        break;
      }
    }
  }
}
