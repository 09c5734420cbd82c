// Server-sent events, the wire format (WHATWG HTML "Parsing an event stream"): bytes in, whole
// events out. Electric frames one message per event (`data: <json>\n\n`) and keeps an idle
// stream open with comments (`: keep-alive\n\n`); both are reported, nothing else is decided here.

/** One dispatched event: its data lines joined by `\n`, or a comment line. */
export type SseEvent = { kind: 'data'; data: string } | { kind: 'comment'; text: string };

export class SseParser {
  private readonly decoder = new TextDecoder();
  private pending = '';
  private data: string[] = [];
  private sawData = false;

  /** Feeds the next chunk of the body; returns the events it completed, in order. */
  push(chunk: Uint8Array): SseEvent[] {
    this.pending += this.decoder.decode(chunk, { stream: true });
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = this.nextBreak(start);
      if (nl < 0) break;
      const line = this.pending.slice(start, nl);
      // `\r\n` is one line break; a lone `\r` at the end of a chunk may still be its first half.
      start = this.pending[nl] === '\r' && this.pending[nl + 1] === '\n' ? nl + 2 : nl + 1;
      this.line(line, out);
    }
    this.pending = this.pending.slice(start);
    return out;
  }

  /** The index of the next `\n` or `\r` (not a `\r` that ends the text: its `\n` may follow). */
  private nextBreak(from: number): number {
    for (let i = from; i < this.pending.length; i++) {
      const c = this.pending.charCodeAt(i);
      if (c === 10) return i;
      if (c === 13) return i + 1 < this.pending.length ? i : -1;
    }
    return -1;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.sawData) out.push({ kind: 'data', data: this.data.join('\n') });
      this.data = [];
      this.sawData = false;
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) {
      out.push({ kind: 'comment', text: line.slice(1).trimStart() });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.sawData = true;
    }
    // `event`, `id` and `retry` carry nothing Electric uses.
  }
}
