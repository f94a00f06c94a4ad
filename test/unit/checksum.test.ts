import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksumOf } from "../../src/startup/checksum.js";

const MASK = (1n << 64n) - 1n;

/** The WebAssembly module's function (src/startup/checksum.ts), in plain JavaScript. */
function reference(data: Uint8Array): string {
  const padded = new Uint8Array(Math.ceil(data.length / 8) * 8);
  padded.set(data);
  const words = new DataView(padded.buffer);
  let h = 0x27d4eb2f165667c5n ^ BigInt(data.length);
  for (let at = 0; at < padded.length; at += 8) {
    h = (h + words.getBigUint64(at, true) * 0xc2b2ae3d27d4eb4fn) & MASK;
    h = (((h << 31n) | (h >> 33n)) * 0x9e3779b185ebca87n) & MASK;
  }
  h = ((h ^ (h >> 33n)) * 0xc2b2ae3d27d4eb4fn) & MASK;
  h ^= h >> 29n;
  return h.toString(16).padStart(16, "0");
}

describe("the checksum of a cache record", () => {
  it("is the reference function's, for any bytes at any offset", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), (bytes, offset) => {
        const unaligned = new Uint8Array(bytes.length + offset).subarray(offset);
        unaligned.set(bytes);
        expect(checksumOf(unaligned)).toBe(reference(bytes));
      }),
    );
  });

  it("is the same after a larger input left its bytes in the module's memory", () => {
    const small = Buffer.from("abc");
    const before = checksumOf(small);
    checksumOf(Buffer.alloc(200_000, 0xff)); // grows the memory, fills it past `small`'s padding
    expect(checksumOf(small)).toBe(before);
    expect(checksumOf(Buffer.alloc(200_000, 0xff))).toBe(reference(Buffer.alloc(200_000, 0xff)));
  });

  it("tells apart data that differs in a byte, in its length or in bits of two words that would cancel in a plain FNV", () => {
    const data = Buffer.from("a record's data, some words long");
    const seen = new Set([checksumOf(data)]);
    for (let at = 0; at < data.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(data);
        flipped[at]! ^= 1 << bit;
        seen.add(checksumOf(flipped));
      }
    }
    expect(seen.size).toBe(1 + data.length * 8);
    expect(checksumOf(Buffer.concat([data, Buffer.alloc(1)]))).not.toBe(checksumOf(data));
    // Pairs that cancel in FNV-like hashes: there (h ^ w) * odd keeps a flip of a word's top
    // bit in the state's top bit, where the next word's top bit (or, after a rotation by
    // 29, its bit 28) undoes it.
    for (const [byte, bit] of [
      [15, 0x80],
      [11, 0x10],
    ] as const) {
      const twoWords = Buffer.from(data);
      twoWords[7]! ^= 0x80;
      twoWords[byte]! ^= bit;
      expect(checksumOf(twoWords)).not.toBe(checksumOf(data));
    }
  });

  it("finds 8 flipped bits anywhere in a record of lmc's size, every time", () => {
    const data = Buffer.alloc(100_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const genuine = checksumOf(data);
    fc.assert(
      fc.property(fc.array(fc.nat(data.length * 8 - 1), { minLength: 8, maxLength: 8 }), (bits) => {
        const damaged = Buffer.from(data);
        for (const bit of bits) damaged[bit >> 3]! ^= 1 << (bit & 7);
        // Bits flipped twice cancel: then it is the genuine data.
        expect(checksumOf(damaged) === genuine).toBe(damaged.equals(data));
      }),
      { numRuns: 200 },
    );
  });
});
