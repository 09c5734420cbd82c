// The seed's status components: connection status, sync button, offline indicator, metrics.
// Unstyled apart from class names and data attributes; the app styles them.

import { useState, type ReactNode } from 'react';
import { useElectric, useElectricStatus } from './useElectric.js';
import { useElectricClient } from './context.js';

const LABELS: Record<string, string> = {
  connected: 'Connected', connecting: 'Connecting…', disconnected: 'Disconnected', error: 'Connection error',
};

export function ElectricConnectionStatus({ className }: { className?: string }): ReactNode {
  const { db, error: openError } = useElectricClient();
  const status = useElectricStatus();
  const local = status.sync === 'disabled'; // opened without a url
  const state = openError ? 'error' : !db ? 'connecting' : local ? 'local' : status.isOffline ? 'offline' : status.connection;
  const offlineLabel = status.network === 'unreachable' ? 'Server unreachable' : 'Offline';
  const label = openError ? 'Failed to open' : !db ? 'Starting…' : local ? 'Local only' : status.isOffline ? offlineLabel
    : status.error?.code === 'server_error' ? 'Server error' : LABELS[state] ?? state;
  const detail = openError?.message ?? status.error?.message;
  return (
    <span className={className ?? 'electric-connection-status'} data-electric="connection" data-state={state}
      data-sync={status.sync} title={detail ?? undefined} role="status">
      <span className="electric-dot" aria-hidden="true" />
      {label}
      {db && status.sync === 'syncing' ? ' · syncing' : ''}
    </span>
  );
}

export function ElectricSyncButton({ className, children }: { className?: string; children?: ReactNode }): ReactNode {
  const { db } = useElectricClient();
  const status = useElectricStatus();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const onClick = async () => {
    if (!db) return;
    setBusy(true);
    setFailure(null);
    try {
      await db.syncNow();
    } catch (err) {
      setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const syncing = busy || status.sync === 'syncing';
  return (
    <button type="button" className={className ?? 'electric-sync-button'} data-electric="sync"
      onClick={onClick} disabled={!db || busy || status.sync === 'disabled'} title={failure ?? undefined} aria-busy={syncing}>
      {children ?? (syncing ? 'Syncing…' : 'Sync now')}
    </button>
  );
}

export function ElectricOfflineIndicator({ className }: { className?: string }): ReactNode {
  const status = useElectricStatus();
  if (!status.isOffline) return null;
  const n = status.pendingChanges;
  return (
    <div className={className ?? 'electric-offline-indicator'} data-electric="offline" role="alert">
      {status.network === 'unreachable' ? 'Server unreachable' : 'Offline'}{n > 0 ? ` · ${n} pending change${n === 1 ? '' : 's'}` : ''}
    </div>
  );
}

function format(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);
  if (value === null || value === undefined) return '—';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Flattens nested metrics into "a.b" → value rows (scalars only, objects one level deeper). */
export function metricRows(metrics: Record<string, unknown>, prefix = ''): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(metrics)) {
    if (k === 'ok') continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && prefix === '') {
      out.push(...metricRows(v as Record<string, unknown>, `${k}.`));
    } else {
      out.push([prefix + k, format(v)]);
    }
  }
  return out;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function bytes(n: number | undefined): string {
  if (n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The seed's metrics: uptime, sync frequency, pending changes, conflict stats, data transfer. */
export function summarizeMetrics(m: Record<string, unknown>, pendingChanges: number): Array<[string, string]> {
  const transport = (m.transport ?? {}) as Record<string, unknown>;
  const writes = (m.writes ?? {}) as { conflicts?: Array<{ table?: string; outcome?: string; count?: number }> };
  const conflicts = Array.isArray(writes.conflicts) ? writes.conflicts : [];
  const total = conflicts.reduce((n, c) => n + (num(c.count) ?? 0), 0);
  const byTable = conflicts.map((c) => `${c.table}: ${c.count} ${c.outcome}`).join(', ');
  return [
    ['Connection uptime', duration(num(m.connectionUptimeMs))],
    ['Syncs per minute', format(num(m.syncsPerMinute) ?? null)],
    ['Pending changes', String(pendingChanges)],
    ['Conflicts resolved', total === 0 ? '0' : `${total} (${byTable})`],
    ['Rows applied', format(num(m.rowsApplied) ?? null)],
    ['Last sync took', num(m.lastSyncDurationMs) === undefined ? '—' : `${num(m.lastSyncDurationMs)} ms`],
    ['Data in / out', `${bytes(num(transport.bytesIn))} / ${bytes(num(transport.bytesOut))}`],
  ];
}

/** The seed's metrics; `all` lists every counter the engine and transport report. */
export function ElectricMetrics({ className, all = false }: { className?: string; all?: boolean }): ReactNode {
  const { metrics, metricsError, status } = useElectric();
  const rows: Array<[string, string]> = [['Storage', status.storage ?? '—']];
  if (metrics) rows.push(...(all ? metricRows(metrics) : summarizeMetrics(metrics, status.pendingChanges)));
  if (metricsError) rows.push(['Error', metricsError.message]);
  return (
    <dl className={className ?? 'electric-metrics'} data-electric="metrics">
      {rows.map(([k, v]) => [<dt key={`t-${k}`}>{k}</dt>, <dd key={`d-${k}`}>{v}</dd>])}
    </dl>
  );
}
