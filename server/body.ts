// Request bodies, read within limits: the wire size, the size after decompression (for every
// encoding, checked before the memory is spent), and the nesting depth of the JSON. Each limit
// is answered with its own status and a message that says which limit and how large it is.
import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Decompress } from 'fzstd';

export class BadRequest extends Error {
  constructor(readonly errors: string[], readonly status = 400) { super(errors.join('; ')); }
}

export interface BodyLimits {
  /** Largest body on the wire and after decompression, bytes. */
  maxBytes: number;
  /** Deepest nesting of JSON arrays and objects. */
  maxDepth: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { maxBytes: 16 * 1024 * 1024, maxDepth: 32 };

/** Reads, decompresses and parses a JSON body. Throws BadRequest (400, 413 or 415). */
export async function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<unknown> {
  const raw = await readBody(req, limits.maxBytes);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  return parseJson(decode(raw, encoding, limits.maxBytes), limits.maxDepth);
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) { reject(new BadRequest([`body larger than ${max} bytes`], 413)); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tooLarge(max: number): BadRequest {
  return new BadRequest([`decompressed body larger than ${max} bytes`], 413);
}

export function decode(raw: Buffer, encoding: string, max: number): string {
  let out: Uint8Array;
  try {
    if (encoding === 'zstd') out = zstdBounded(new Uint8Array(raw.buffer, raw.byteOffset, raw.length), max);
    else if (encoding === 'gzip') out = gunzipSync(raw, { maxOutputLength: max });
    else if (encoding === 'identity' || encoding === '') out = raw;
    else throw new BadRequest([`unsupported Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} (use zstd, gzip or none)`], 415);
  } catch (e) {
    if (e instanceof BadRequest) throw e;
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(max);
    throw new BadRequest([`body could not be decompressed as ${encoding}: ${(e as Error).message}`]);
  }
  if (out.length > max) throw tooLarge(max);
  return Buffer.from(out.buffer, out.byteOffset, out.length).toString('utf8');
}

/**
 * zstd, never allocating more than `max` for a frame: every frame's header is read first (its
 * window and declared content size must fit), then frames decode as a stream whose output is
 * counted as it arrives.
 */
function zstdBounded(data: Uint8Array, max: number): Uint8Array {
  for (let at = 0; at < data.length; ) at = checkFrame(data, at, max);
  const parts: Uint8Array[] = [];
  let total = 0;
  const d = new Decompress((chunk) => {
    total += chunk.length;
    if (total > max) throw tooLarge(max);
    parts.push(chunk);
  });
  d.push(data, true);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Checks the zstd frame at `at` against `max`; returns where the next frame starts. */
function checkFrame(d: Uint8Array, at: number, max: number): number {
  const u32 = (i: number) => {
    if (i + 4 > d.length) throw new Error('truncated frame');
    return (d[i] | (d[i + 1] << 8) | (d[i + 2] << 16)) + d[i + 3] * 0x1000000;
  };
  const magic = u32(at);
  if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) return at + 8 + u32(at + 4);   // skippable frame
  if (magic !== 0xfd2fb528) throw new Error('not a zstd frame');
  let i = at + 4;
  if (i >= d.length) throw new Error('truncated frame');
  const fhd = d[i++];
  const single = (fhd >> 5) & 1, checksum = (fhd >> 2) & 1, dictBytes = [0, 1, 2, 4][fhd & 3];
  const fcsBytes = [single, 2, 4, 8][fhd >> 6];
  let window = 0;
  if (!single) {
    const wd = d[i++];
    const base = 2 ** (10 + (wd >> 3));
    window = base + (base / 8) * (wd & 7);
  }
  i += dictBytes;
  let size = 0;
  for (let k = 0; k < fcsBytes; k++) size += (d[i + k] ?? 0) * 2 ** (8 * k);
  if (fcsBytes === 2) size += 256;
  i += fcsBytes;
  if (Math.max(window, size) > max) throw tooLarge(max);
  for (;;) {   // blocks: a 3-byte header, then its payload (an RLE block's payload is one byte)
    if (i + 3 > d.length) throw new Error('truncated frame');
    const bh = d[i] | (d[i + 1] << 8) | (d[i + 2] << 16);
    const type = (bh >> 1) & 3;
    i += 3 + (type === 1 ? 1 : bh >>> 3);
    if (bh & 1) break;
  }
  return i + (checksum ? 4 : 0);
}

/** JSON.parse after checking the nesting depth, so deep input is a 400, not a stack overflow. */
export function parseJson(text: string, maxDepth: number): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;             // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > maxDepth) throw new BadRequest([`body is nested deeper than ${maxDepth} levels`]);
    } else if (c === 93 || c === 125) depth--;
  }
  try { return JSON.parse(text); } catch (e) { throw new BadRequest([`body is not valid JSON: ${(e as Error).message}`]); }
}
