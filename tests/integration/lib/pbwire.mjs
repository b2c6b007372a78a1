// pbwire.mjs — a minimal protobuf wire-format reader and writer, written independently of
// otelprofd's C code so that the integration tests never trust our own decoder on both
// ends of a wire. Only what the tests need: varints, fixed64, length-delimited fields.

export const WT_VARINT = 0;
export const WT_I64 = 1;
export const WT_LEN = 2;
export const WT_I32 = 5;

// Returns [value as BigInt, next position]; throws on truncation or a varint over 10 bytes.
export function readVarint(buf, pos, end = buf.length) {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new Error(`truncated varint at ${pos}`);
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result & 0xffffffffffffffffn, pos];
    shift += 7n;
  }
  throw new Error(`varint longer than 10 bytes at ${pos}`);
}

// Yields {field, wt, tagStart, start, end, value} for every field in buf[start, end).
// For WT_LEN, [start, end) is the payload; for WT_VARINT, value is a BigInt; for
// WT_I64/WT_I32, [start, end) are the raw bytes.
export function* fields(buf, start = 0, end = buf.length) {
  let pos = start;
  while (pos < end) {
    const tagStart = pos;
    let tag;
    [tag, pos] = readVarint(buf, pos, end);
    const field = Number(tag >> 3n);
    const wt = Number(tag & 7n);
    if (field === 0) throw new Error(`field number 0 at ${tagStart}`);
    switch (wt) {
      case WT_VARINT: {
        let v;
        const s = pos;
        [v, pos] = readVarint(buf, pos, end);
        yield { field, wt, tagStart, start: s, end: pos, value: v };
        break;
      }
      case WT_I64:
        if (pos + 8 > end) throw new Error(`truncated fixed64 at ${pos}`);
        yield { field, wt, tagStart, start: pos, end: pos + 8 };
        pos += 8;
        break;
      case WT_LEN: {
        let len;
        [len, pos] = readVarint(buf, pos, end);
        if (len > BigInt(end - pos)) throw new Error(`length ${len} past end at ${pos}`);
        const s = pos;
        pos += Number(len);
        yield { field, wt, tagStart, start: s, end: pos };
        break;
      }
      case WT_I32:
        if (pos + 4 > end) throw new Error(`truncated fixed32 at ${pos}`);
        yield { field, wt, tagStart, start: pos, end: pos + 4 };
        pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wt} at ${tagStart}`);
    }
  }
}

// Sub-messages of field `num` (WT_LEN only) in buf[start, end).
export function* children(buf, num, start = 0, end = buf.length) {
  for (const f of fields(buf, start, end)) {
    if (f.field === num && f.wt === WT_LEN) yield f;
  }
}

export function decodeString(buf, f) {
  return Buffer.from(buf.buffer, buf.byteOffset + f.start, f.end - f.start).toString('utf8');
}

// Values of a repeated varint field that may be packed or not.
export function repeatedVarints(buf, num, start, end) {
  const out = [];
  for (const f of fields(buf, start, end)) {
    if (f.field !== num) continue;
    if (f.wt === WT_VARINT) out.push(f.value);
    else if (f.wt === WT_LEN) {
      let p = f.start;
      while (p < f.end) {
        let v;
        [v, p] = readVarint(buf, p, f.end);
        out.push(v);
      }
    }
  }
  return out;
}

// Interprets a 64-bit varint as a signed int64 (int32 -1 is sent as 10 bytes of 0xff..01).
export function asInt64(v) {
  return BigInt.asIntN(64, v);
}

// ---- writer --------------------------------------------------------------------------

function varintBytes(v) {
  let n = BigInt.asUintN(64, BigInt(v));
  const out = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) b |= 0x80;
    out.push(b);
  } while (n !== 0n);
  return Buffer.from(out);
}

// Builds a message from parts; each method returns `this` so calls chain.
export class Msg {
  constructor() {
    this.parts = [];
  }
  tag(num, wt) {
    this.parts.push(varintBytes((BigInt(num) << 3n) | BigInt(wt)));
    return this;
  }
  // Signed values are sign-extended to 64 bits, as protobuf does for int32/int64.
  varint(num, v) {
    return this.tag(num, WT_VARINT).raw(varintBytes(v));
  }
  fixed64(num, v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
    return this.tag(num, WT_I64).raw(b);
  }
  bytes(num, data) {
    const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
    return this.tag(num, WT_LEN).raw(varintBytes(b.length)).raw(b);
  }
  string(num, s) {
    return this.bytes(num, Buffer.from(s, 'utf8'));
  }
  msg(num, m) {
    return this.bytes(num, m.toBuffer());
  }
  packedVarints(num, vals) {
    return this.bytes(num, Buffer.concat(vals.map(varintBytes)));
  }
  packedFixed64(num, vals) {
    const b = Buffer.alloc(8 * vals.length);
    vals.forEach((v, i) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), 8 * i));
    return this.bytes(num, b);
  }
  raw(b) {
    this.parts.push(b);
    return this;
  }
  toBuffer() {
    return Buffer.concat(this.parts);
  }
}
