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

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Deep structural sharing for plain data (TanStack Query's replaceEqualDeep): returns `prev`
 * where `next` is deeply equal to it (metrics snapshots polled by react/).
 */
export function replaceEqualDeep<T>(prev: unknown, next: T): T {
  if (prev === next) return prev as T;
  const arrays = Array.isArray(prev) && Array.isArray(next);
  if (!arrays && !(isPlainObject(prev) && isPlainObject(next))) return next;
  const p = prev as Record<string, unknown>;
  const n = next as Record<string, unknown>;
  const nKeys = arrays ? null : Object.keys(n);
  const pLen = arrays ? (prev as unknown[]).length : Object.keys(p).length;
  const nLen = arrays ? (next as unknown[]).length : nKeys!.length;
  const copy: Record<string, unknown> | unknown[] = arrays ? [] : {};
  let equal = 0;
  for (let i = 0; i < nLen; i++) {
    const key = arrays ? i : nKeys![i]!;
    const value = replaceEqualDeep(p[key as string], n[key as string]);
    (copy as Record<string, unknown>)[key as string] = value;
    if (value === p[key as string] && (arrays || Object.prototype.hasOwnProperty.call(p, key))) equal++;
  }
  return (pLen === nLen && equal === pLen ? prev : copy) as T;
}
