// Debug logging (ELECTRIC_DEBUG=true): connection events, each sync (shape, rows, bytes,
// ms), each upload batch, each conflict resolution, engine log lines and a periodic
// performance line. Installed only when debug is on, so it costs nothing when off.

import type { EngineEvent } from './engine-host.js';

export type LogSink = (line: string) => void;

function fmtBytes(n: unknown): string {
  const v = Number(n ?? 0);
  if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(1)}MB`;
  if (v >= 1024) return `${(v / 1024).toFixed(1)}KB`;
  return `${v}B`;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export class DebugLog {
  private lastConnection: string | undefined;
  private readonly sink: LogSink;

  constructor(sink: LogSink = (line) => console.debug(line)) {
    this.sink = sink;
  }

  line(kind: string, text: string): void {
    this.sink(`[electrolite] ${kind}: ${text}`);
  }

  /** Formats one engine event; returns nothing for events it does not log. */
  event(ev: EngineEvent): void {
    switch (ev.type) {
      case 'status': {
        const conn = str(ev.connection);
        if (conn !== this.lastConnection) {
          const err = ev.error as { code?: string; message?: string } | null | undefined;
          this.line(
            'connection',
            `${this.lastConnection ?? 'start'} -> ${conn}${ev.isOffline ? ' (offline)' : ''}${err ? ` error=${err.code}: ${err.message}` : ''}`,
          );
          this.lastConnection = conn;
        }
        return;
      }
      case 'sync':
        this.line('sync', `shape=${str(ev.shapeId)} table=${str(ev.table)} rows=${ev.rows} bytes=${fmtBytes(ev.bytes)} ms=${ev.ms}`);
        return;
      case 'upload':
        this.line(
          'upload',
          `mutations=${ev.mutations} bytes=${fmtBytes(ev.bytes)} compressed=${fmtBytes(ev.compressedBytes)} status=${str(ev.status)}`,
        );
        return;
      case 'conflict':
        this.line(
          'conflict',
          `table=${str(ev.table)} key=${str(ev.key)} policy=${str(ev.policy)} outcome=${str(ev.outcome)}${ev.reason ? ` reason=${str(ev.reason)}` : ''}`,
        );
        return;
      case 'error':
        this.line('error', `${str(ev.code)}: ${str(ev.message)}${ev.shapeId ? ` shape=${str(ev.shapeId)}` : ''}`);
        return;
      case 'security':
        this.line('security', `table=${str(ev.table)} dropped=${ev.dropped} (${str(ev.reason)})`);
        return;
      case 'log':
        this.line(`engine ${str(ev.level)}`, str(ev.message));
        return;
      default:
        return;
    }
  }

  /** The periodic performance line from db.metrics(). */
  perf(metrics: Record<string, unknown>): void {
    const t = (metrics.transport ?? {}) as Record<string, number>;
    const parts: string[] = [];
    for (const [k, v] of Object.entries(metrics)) {
      if (k === 'transport' || (typeof v !== 'number' && typeof v !== 'string')) continue;
      parts.push(`${k}=${v}`);
    }
    parts.push(`requests=${t.requests ?? 0}`, `failed=${t.failedRequests ?? 0}`);
    parts.push(`in=${fmtBytes(t.bytesIn)}`, `out=${fmtBytes(t.bytesOut)}`);
    this.line('perf', parts.join(' '));
  }
}
