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
  const state = openError ? 'error' : !db ? 'connecting' : status.isOffline ? 'offline' : status.connection;
  const label = openError ? 'Failed to open' : !db ? 'Starting…' : status.isOffline ? 'Offline' : LABELS[state] ?? state;
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
      onClick={onClick} disabled={!db || busy} title={failure ?? undefined} aria-busy={syncing}>
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
      Offline{n > 0 ? ` · ${n} pending change${n === 1 ? '' : 's'}` : ''}
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

export function ElectricMetrics({ className }: { className?: string }): ReactNode {
  const { metrics, metricsError, status } = useElectric();
  return (
    <dl className={className ?? 'electric-metrics'} data-electric="metrics">
      <dt>storage</dt><dd>{status.storage ?? '—'}</dd>
      <dt>pendingChanges</dt><dd>{status.pendingChanges}</dd>
      {metrics && metricRows(metrics).map(([k, v]) => [<dt key={`t-${k}`}>{k}</dt>, <dd key={`d-${k}`}>{v}</dd>])}
      {metricsError && <><dt>error</dt><dd>{metricsError.message}</dd></>}
    </dl>
  );
}
