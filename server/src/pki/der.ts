// Just enough DER (ITU-T X.690, distinguished encoding) for leaf.ts: writers for the few types a
// leaf certificate is made of, and a strict reader that takes an element apart (definite, minimal
// lengths only) to find the CA's subject and a key's bits. Not a general ASN.1 library: parsing of
// anything a peer sends stays with @peculiar/x509.

/** Tags (universal class unless noted). */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** A DER element: tag, definite minimal length, content. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  let header: Buffer;
  if (n < 0x80) header = Buffer.from([tag, n]);
  else if (n < 0x100) header = Buffer.from([tag, 0x81, n]);
  else if (n < 0x10000) header = Buffer.from([tag, 0x82, n >> 8, n & 0xff]);
  else if (n < 0x1000000) header = Buffer.from([tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  else throw new RangeError(`DER element of ${n} bytes is larger than this writer allows`);
  return Buffer.concat([header, content]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(Tag.sequence, Buffer.concat(items));
export const set = (...items: Uint8Array[]): Buffer => tlv(Tag.set, Buffer.concat(items));
export const octetString = (bytes: Uint8Array): Buffer => tlv(Tag.octetString, bytes);
/** A BIT STRING of whole bytes (no unused bits). */
export const bitString = (bytes: Uint8Array): Buffer => tlv(Tag.bitString, Buffer.concat([Buffer.of(0), bytes]));
export const BOOLEAN_TRUE = Buffer.of(Tag.boolean, 1, 0xff);
/** [n] EXPLICIT: constructed context-specific tag around one element. */
export const explicit = (n: number, inner: Uint8Array): Buffer => tlv(0xa0 | n, inner);
/** [n] IMPLICIT on a primitive type: context-specific primitive tag with the type's content. */
export const implicitPrimitive = (n: number, content: Uint8Array): Buffer => tlv(0x80 | n, content);

/** An OBJECT IDENTIFIER from its dotted form ("1.2.840.10045.4.3.2"). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => {
    if (!/^(0|[1-9][0-9]*)$/.test(a)) throw new RangeError(`OID ${JSON.stringify(dotted)} has a malformed arc ${JSON.stringify(a)}`);
    return BigInt(a);
  });
  if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) throw new RangeError(`OID ${JSON.stringify(dotted)} is not valid`);
  const bytes: number[] = [];
  const push = (v: bigint) => {
    const groups: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    bytes.push(...groups);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(Tag.oid, Uint8Array.from(bytes));
}

/**
 * A non-negative INTEGER from big-endian magnitude bytes: leading zero bytes dropped, one 0x00
 * added when the top bit is set (DER's minimal two's complement).
 */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  if (m.length === 0) return tlv(Tag.integer, Buffer.of(0));
  return tlv(Tag.integer, m[0]! & 0x80 ? Buffer.concat([Buffer.of(0), m]) : m);
}

/**
 * RFC 5280 4.1.2.5: UTCTime (YYMMDDHHMMSSZ) for 1950..2049, GeneralizedTime (YYYYMMDDHHMMSSZ)
 * otherwise; always UTC, whole seconds (milliseconds are dropped, as X.509 has none).
 */
export function x509Time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  if (!Number.isFinite(d.getTime()) || y < 1950 || y > 9999) throw new RangeError(`certificate time ${String(d)} is outside 1950..9999`);
  const two = (n: number) => String(n).padStart(2, '0');
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return y < 2050 ? tlv(Tag.utcTime, Buffer.from(two(y % 100) + rest, 'latin1')) : tlv(Tag.generalizedTime, Buffer.from(String(y) + rest, 'latin1'));
}

/** One element found by readElement: `der.subarray(start, end)` is the whole element, content from contentStart. */
export interface DerElement {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

export class DerError extends Error {
  override name = 'DerError';
}

/** Reads the element at `offset` of `der`, strictly: one-byte tags, definite minimal lengths, inside `limit`. */
export function readElement(der: Uint8Array, offset: number, limit = der.length): DerElement {
  if (offset + 2 > limit) throw new DerError(`truncated DER: no element header at byte ${offset}`);
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`unsupported multi-byte DER tag at byte ${offset}`);
  let len = der[offset + 1]!;
  let contentStart = offset + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    if (count === 0) throw new DerError(`indefinite length at byte ${offset} (not DER)`);
    if (count > 3) throw new DerError(`DER length of ${count} bytes at byte ${offset} is too large`);
    if (contentStart + count > limit) throw new DerError(`truncated DER length at byte ${offset}`);
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + der[contentStart + i]!;
    if (der[contentStart] === 0 || len < 0x80) throw new DerError(`non-minimal DER length at byte ${offset}`);
    contentStart += count;
  }
  const end = contentStart + len;
  if (end > limit) throw new DerError(`DER element at byte ${offset} (${len} bytes) runs past its container`);
  return { tag, start: offset, contentStart, end };
}

/** The children of a constructed element, which must fill it exactly. */
export function children(der: Uint8Array, parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const e = readElement(der, at, parent.end);
    out.push(e);
    at = e.end;
  }
  return out;
}

/** Reads the single element that `der` consists of (no trailing bytes), expecting `tag`. */
export function readWhole(der: Uint8Array, tag: number, what: string): DerElement {
  const e = readElement(der, 0);
  if (e.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${e.tag.toString(16)}`);
  if (e.end !== der.length) throw new DerError(`${what}: ${der.length - e.end} bytes after the end of the DER element`);
  return e;
}

/** Base64 PEM with 64-character lines, no newline after the END line (as @peculiar/x509's PemConverter writes it). */
export function pem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`;
}
