// A minimal GGUF (version 3) writer: typed metadata and F32/F16 tensors, laid out the
// way llama.cpp checks them (each tensor's offset is the running sum of the earlier
// tensors' sizes, each padded to the alignment; ne[0] is the contiguous dimension).

export const GGUF_ALIGNMENT = 32;

/** GGUF metadata value types (gguf.h). */
const ValueType = { U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;

/** ggml tensor types used here. */
export const TensorType = { F32: 0, F16: 1 } as const;
export type TensorType = (typeof TensorType)[keyof typeof TensorType];

/** A metadata value with its exact GGUF type (llama.cpp checks types strictly). */
export type MetadataValue =
  | { type: "u32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: readonly string[] }
  | { type: "f32[]"; value: ArrayLike<number> }
  | { type: "i32[]"; value: ArrayLike<number> };

export interface TensorSpec {
  name: string;
  /** ne[0] first: the contiguous (fastest-varying) dimension. */
  shape: readonly number[];
  type: TensorType;
  /** Row-major data with shape[0] contiguous; length = product of the shape. */
  data: Float32Array;
}

/** Growable little-endian byte buffer. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** Appends `size` bytes written by `write` at the current end. */
  private put(size: number, write: (offset: number) => void): void {
    this.reserve(size);
    write(this.length);
    this.length += size;
  }
  u8(v: number): void {
    this.put(1, (offset) => this.buf.writeUInt8(v, offset));
  }
  u32(v: number): void {
    this.put(4, (offset) => this.buf.writeUInt32LE(v, offset));
  }
  i32(v: number): void {
    this.put(4, (offset) => this.buf.writeInt32LE(v, offset));
  }
  u64(v: number): void {
    this.put(8, (offset) => this.buf.writeBigUInt64LE(BigInt(v), offset));
  }
  f32(v: number): void {
    this.put(4, (offset) => this.buf.writeFloatLE(v, offset));
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.bytes(b);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.reserve(pad);
    this.length += pad; // Buffer.alloc zero-fills
  }
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** IEEE 754 binary16 bits of a float, round to nearest even (handles subnormals and overflow). */
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export function float32ToFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000; // implicit leading 1
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) !== 0)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) !== 0)) half++; // may carry into the exponent: still correct
  return sign | half;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of a typed array in little-endian order. */
function littleEndianBytes(a: Uint16Array | Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const b = Buffer.alloc(a.byteLength);
  a.forEach((v, i) => (a instanceof Uint16Array ? b.writeUInt16LE(v, i * 2) : b.writeFloatLE(v, i * 4)));
  return b;
}

function tensorByteSize(t: TensorSpec): number {
  const count = t.shape.reduce((a, b) => a * b, 1);
  return count * (t.type === TensorType.F16 ? 2 : 4);
}

function writeMetadataValue(out: ByteSink, v: MetadataValue): void {
  switch (v.type) {
    case "u32":
      out.u32(ValueType.U32);
      out.u32(v.value);
      return;
    case "f32":
      out.u32(ValueType.F32);
      out.f32(v.value);
      return;
    case "bool":
      out.u32(ValueType.BOOL);
      out.u8(v.value ? 1 : 0);
      return;
    case "string":
      out.u32(ValueType.STRING);
      out.string(v.value);
      return;
    case "string[]":
      out.u32(ValueType.ARRAY);
      out.u32(ValueType.STRING);
      out.u64(v.value.length);
      for (const s of v.value) out.string(s);
      return;
    case "f32[]":
      out.u32(ValueType.ARRAY);
      out.u32(ValueType.F32);
      out.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) out.f32(v.value[i]!);
      return;
    case "i32[]":
      out.u32(ValueType.ARRAY);
      out.u32(ValueType.I32);
      out.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) out.i32(v.value[i]!);
      return;
  }
}

/** Serialises a GGUF file. Metadata is written in the given order, so output is deterministic. */
export function encodeGguf(metadata: ReadonlyArray<readonly [string, MetadataValue]>, tensors: readonly TensorSpec[]): Buffer {
  for (const t of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== expected) throw new Error(`tensor ${t.name}: ${t.data.length} values for shape [${t.shape.join(", ")}]`);
  }
  const out = new ByteSink();
  out.bytes(Buffer.from("GGUF", "latin1"));
  out.u32(3); // version
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    writeMetadataValue(out, value);
  }
  let offset = 0;
  for (const t of tensors) {
    out.string(t.name);
    out.u32(t.shape.length);
    for (const n of t.shape) out.u64(n);
    out.u32(t.type);
    out.u64(offset);
    offset += tensorByteSize(t);
    offset += (GGUF_ALIGNMENT - (offset % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;
  }
  out.padTo(GGUF_ALIGNMENT);
  for (const t of tensors) {
    if (t.type === TensorType.F16) {
      const half = new Uint16Array(t.data.length);
      for (let i = 0; i < t.data.length; i++) half[i] = float32ToFloat16Bits(t.data[i]!);
      out.bytes(littleEndianBytes(half));
    } else {
      out.bytes(littleEndianBytes(t.data));
    }
    out.padTo(GGUF_ALIGNMENT);
  }
  return out.toBuffer();
}
