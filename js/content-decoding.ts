// Content-Encoding of shape responses. Browsers' fetch decodes whatever it advertised
// (gzip, br, zstd in recent ones); Node 20's fetch decodes gzip/deflate/br but hands zstd
// bodies over encoded, and a custom `fetch` may decode nothing. So: decode what is still
// encoded (checked by its magic bytes, never by the header alone), zstd with the engine's
// own zstd, gzip/deflate/br with node:zlib where it exists. Also reports the bytes that
// crossed the wire for db.metrics().

export type ZstdDecoder = (body: Uint8Array) => Uint8Array;

export class ContentDecodingError extends Error {
  override readonly name = 'ContentDecodingError';
}

interface Zlib {
  gunzipSync(b: Uint8Array, o?: { maxOutputLength?: number }): Uint8Array;
  inflateSync(b: Uint8Array, o?: { maxOutputLength?: number }): Uint8Array;
  brotliDecompressSync(b: Uint8Array, o?: { maxOutputLength?: number }): Uint8Array;
}

const MAX_DECODED = 512 * 1024 * 1024;

function zlib(): Zlib | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.('node:zlib') as Zlib | undefined;
}

function isZstd(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd;
}
function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}
function isZlibStream(b: Uint8Array): boolean {
  return b.length >= 2 && (b[0] & 0x0f) === 8 && ((b[0] << 8) | b[1]) % 31 === 0;
}
/** A decoded JSON body starts with `[`, `{` or whitespace (an empty body is decoded too). */
function looksDecoded(b: Uint8Array): boolean {
  if (b.length === 0) return true;
  const c = b[0];
  return c === 0x5b || c === 0x7b || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export interface DecodedBody {
  body: Uint8Array;
  /** Bytes that crossed the wire (the encoded size when known). */
  wireBytes: number;
  /** Encodings this function removed (empty when fetch had already decoded). */
  decoded: string[];
}

/**
 * Removes the encodings `content-encoding` lists (last applied first) that are still on
 * `body`. Throws ContentDecodingError for an encoding it cannot remove.
 */
export function decodeBody(headers: Record<string, string>, body: Uint8Array, zstd?: ZstdDecoder): DecodedBody {
  const header = (headers['content-encoding'] ?? '').toLowerCase();
  const encodings = header.split(',').map((e) => e.trim()).filter((e) => e !== '' && e !== 'identity');
  const length = Number(headers['content-length']);
  let out = body;
  const decoded: string[] = [];
  for (const enc of encodings.reverse()) {
    if (enc === 'zstd') {
      if (!isZstd(out)) break;
      if (!zstd) throw new ContentDecodingError('content-encoding zstd: no zstd decoder in this build');
      out = zstd(out);
    } else if (enc === 'gzip' || enc === 'x-gzip') {
      if (!isGzip(out)) break;
      out = need(enc).gunzipSync(out, { maxOutputLength: MAX_DECODED });
    } else if (enc === 'deflate') {
      if (!isZlibStream(out)) break;
      out = need(enc).inflateSync(out, { maxOutputLength: MAX_DECODED });
    } else if (enc === 'br') {
      // Brotli has no magic bytes (a stream may even start with "["): try it; a body fetch
      // already decoded fails at once and is kept when it looks like JSON.
      let br: Uint8Array | undefined;
      try {
        br = need(enc).brotliDecompressSync(out, { maxOutputLength: MAX_DECODED });
      } catch (err) {
        if (looksDecoded(out)) break;
        throw new ContentDecodingError(`content-encoding br: ${(err as Error).message}`);
      }
      if (!looksDecoded(br) && looksDecoded(out)) break;
      out = br;
    } else {
      if (looksDecoded(out)) break;
      throw new ContentDecodingError(`content-encoding ${enc} is not supported`);
    }
    decoded.push(enc);
  }
  // fetch decoded it: the wire size is the encoded Content-Length, when the server sent one.
  const wireBytes = decoded.length > 0 ? body.byteLength : encodings.length > 0 && length >= 0 ? length : body.byteLength;
  return { body: out, wireBytes, decoded };
}

function need(enc: string): Zlib {
  const z = zlib();
  if (!z) throw new ContentDecodingError(`content-encoding ${enc}: cannot decode here (no node:zlib)`);
  return z;
}
