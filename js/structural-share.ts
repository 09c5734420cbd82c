// Structural sharing for query results: rows whose values did not change keep their
// object identity, and an unchanged result keeps the previous array, so React (and any
// `===` check) sees only what really changed. Rows are matched by position first (the
// common case) and then by content, so an insert that shifts rows keeps their identity.

import type { Row } from './types.js';

function shallowEqualRow(a: Row, b: Row, columns: readonly string[]): boolean {
  for (const c of columns) {
    if (!Object.is(a[c], b[c])) return false;
  }
  return true;
}

/** A content key of a row over `columns` (values are JSON scalars from the engine). */
function rowKey(row: Row, columns: readonly string[]): string {
  let key = '';
  for (const c of columns) {
    const v = row[c];
    key += (v === null || v === undefined ? '\u0000' : typeof v + ':' + String(v)) + '\u0001';
  }
  return key;
}

/**
 * Returns `next` with unchanged rows replaced by the identical objects of `prev`; returns
 * `prev` itself when nothing changed.
 */
export function shareRows<R extends Row>(
  prev: readonly R[] | undefined,
  next: R[],
  columns: readonly string[],
  prevColumns: readonly string[] | undefined = columns,
): R[] {
  if (!prev || prev.length === 0) return next;
  const sameColumns = prevColumns.length === columns.length && prevColumns.every((c, i) => c === columns[i]);
  if (!sameColumns) return next;
  let byKey: Map<string, R[]> | undefined;
  const used = new Set<R>();
  let allReused = prev.length === next.length;
  const out = new Array<R>(next.length);
  for (let i = 0; i < next.length; i++) {
    const row = next[i]!;
    const atSamePos = prev[i];
    if (atSamePos !== undefined && !used.has(atSamePos) && shallowEqualRow(atSamePos, row, columns)) {
      out[i] = atSamePos;
      used.add(atSamePos);
      continue;
    }
    if (!byKey) {
      byKey = new Map();
      for (const p of prev) {
        const k = rowKey(p, columns);
        const list = byKey.get(k);
        if (list) list.push(p);
        else byKey.set(k, [p]);
      }
    }
    const candidates = byKey.get(rowKey(row, columns));
    let match: R | undefined;
    if (candidates) {
      while (candidates.length > 0) {
        const c = candidates.shift()!;
        if (!used.has(c)) {
          match = c;
          break;
        }
      }
    }
    if (match) {
      out[i] = match;
      used.add(match);
      if (match !== prev[i]) allReused = false;
    } else {
      out[i] = row;
      allReused = false;
    }
  }
  return allReused ? (prev as R[]) : out;
}

/** Turns the engine's array rows into objects keyed by column name. */
export function toObjects<R extends Row>(columns: readonly string[], rows: readonly unknown[][]): R[] {
  const out = new Array<R>(rows.length);
  const n = columns.length;
  for (let i = 0; i < rows.length; i++) {
    const src = rows[i]!;
    const obj: Row = {};
    for (let j = 0; j < n; j++) obj[columns[j]!] = src[j];
    out[i] = obj as R;
  }
  return out;
}
