// The checksum of a code cache record's data (src/startup/code-cache.ts), checked before V8 sees
// the data: V8 trusts a cache whose header fits, and damaged data crashes it (segfaults,
// fatal errors, hangs). Damage, not forgery, is what it is for: a forged cache is kept
// out by who owns the cache directory and its files (src/startup/cache-dir.ts).
//
// It runs on every start-up that uses a cache, over 0.1 MB (lmc's part) to 0.6 MB (the
// SDK's), so it is a few lines of WebAssembly: as plain JavaScript the loop runs in V8's
// interpreter at start-up, 2–3 ms for lmc's part against about 0.5 ms here, compiling
// included; zlib's crc32 is missing before Node 20.15 and loading node:zlib with its
// streams costs more than the hash (BENCHMARKS.md).

/**
 * The module, in WebAssembly's text format:
 *
 *   (module
 *     (memory (export "memory") 1)
 *     ;; A 64-bit hash of the first $n bytes of memory, read as little-endian 64-bit
 *     ;; words; the bytes after them, up to the next multiple of 8, must be zero.
 *     (func (export "hash") (param $n i32) (result i64)
 *       (local $at i32) (local $h i64)
 *       (local.set $h (i64.xor (i64.const 0x27d4eb2f165667c5) (i64.extend_i32_u (local.get $n))))
 *       (block $done
 *         (loop $next
 *           (br_if $done (i32.ge_u (local.get $at) (local.get $n)))
 *           (local.set $h
 *             (i64.mul
 *               (i64.rotl
 *                 (i64.add (local.get $h) (i64.mul (i64.load (local.get $at)) (i64.const 0xc2b2ae3d27d4eb4f)))
 *                 (i64.const 31))
 *               (i64.const 0x9e3779b185ebca87)))
 *           (local.set $at (i32.add (local.get $at) (i32.const 8)))
 *           (br $next)))
 *       (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33)))
 *                              (i64.const 0xc2b2ae3d27d4eb4f)))
 *       (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29)))))
 *
 * The loop is xxHash64's round, on one lane: each step is a bijection of the state, so
 * one changed word always changes the result, and a word is multiplied before it meets
 * the state, so that a change in one word is not cancelled by a change in the next (as
 * it is in FNV, where flipping a word's top bit equals flipping a bit of the next word).
 * test/unit/checksum.test.ts holds the same function in plain JavaScript and checks
 * this one against it.
 */
// One instruction a line, with what it does: the formatter leaves it so.
// prettier-ignore
const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7e, // types: (func (param i32) (result i64))
  0x03, 0x02, 0x01, 0x00, // functions: one, of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // memories: one, of 1 page at first
  0x07, 0x11, 0x02, // exports: two
  0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, // "memory", memory 0
  0x04, 0x68, 0x61, 0x73, 0x68, 0x00, 0x00, // "hash", function 0
  0x0a, 0x6f, 0x01, 0x6d, // code: one body of 109 bytes
  0x02, 0x01, 0x7f, 0x01, 0x7e, // locals: $at i32, $h i64
  0x42, 0xc5, 0xcf, 0xd9, 0xb2, 0xf1, 0xe5, 0xba, 0xea, 0x27, // i64.const 0x27d4eb2f165667c5
  0x20, 0x00, 0xad, 0x85, 0x21, 0x02, // local.get $n, i64.extend_i32_u, i64.xor, local.set $h
  0x02, 0x40, 0x03, 0x40, // block $done, loop $next
  0x20, 0x01, 0x20, 0x00, 0x4f, 0x0d, 0x01, // br_if $done ($at >= $n)
  0x20, 0x02, 0x20, 0x01, 0x29, 0x03, 0x00, // local.get $h, i64.load $at
  0x42, 0xcf, 0xd6, 0xd3, 0xbe, 0xd2, 0xc7, 0xab, 0xd9, 0x42, 0x7e, 0x7c, // * 0xc2b2ae3d27d4eb4f, i64.add
  0x42, 0x1f, 0x89, // i64.const 31, i64.rotl
  0x42, 0x87, 0x95, 0xaf, 0xaf, 0x98, 0xb6, 0xde, 0x9b, 0x9e, 0x7f, 0x7e, 0x21, 0x02, // * 0x9e3779b185ebca87, local.set $h
  0x20, 0x01, 0x41, 0x08, 0x6a, 0x21, 0x01, // $at += 8
  0x0c, 0x00, 0x0b, 0x0b, // br $next, end loop, end block
  0x20, 0x02, 0x20, 0x02, 0x42, 0x21, 0x88, 0x85, // $h ^ ($h >> 33)
  0x42, 0xcf, 0xd6, 0xd3, 0xbe, 0xd2, 0xc7, 0xab, 0xd9, 0x42, 0x7e, 0x21, 0x02, // * 0xc2b2ae3d27d4eb4f, local.set $h
  0x20, 0x02, 0x20, 0x02, 0x42, 0x1d, 0x88, 0x85, // $h ^ ($h >> 29)
  0x0b, // end
]);

const PAGE = 65536;

interface Hasher {
  memory: WebAssembly.Memory;
  hash(length: number): bigint;
}

let hasher: Hasher | null | undefined;

/** The module, instantiated on first use; null where WebAssembly is not available (node --jitless). */
function instance(): Hasher | null {
  if (hasher !== undefined) return hasher;
  try {
    hasher = new WebAssembly.Instance(new WebAssembly.Module(MODULE)).exports as unknown as Hasher;
  } catch {
    hasher = null;
  }
  return hasher;
}

/**
 * The checksum of `data`, as 16 hexadecimal digits; undefined where it cannot be computed
 * (no WebAssembly), in which case no cache is trusted.
 */
export function checksumOf(data: Uint8Array): string | undefined {
  const wasm = instance();
  if (wasm === null) return undefined;
  const { memory } = wasm;
  const padded = Math.ceil(data.length / 8) * 8;
  if (padded > memory.buffer.byteLength) memory.grow(Math.ceil((padded - memory.buffer.byteLength) / PAGE));
  const view = new Uint8Array(memory.buffer);
  view.set(data);
  view.fill(0, data.length, padded);
  return BigInt.asUintN(64, wasm.hash(data.length)).toString(16).padStart(16, "0");
}
