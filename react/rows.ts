// Rows as the seed's components read them: camelCase fields (`env.isActive`), booleans as
// booleans, json columns parsed. Each mapped row is cached on its source row, so rows that
// kept their identity through structural sharing keep it after mapping too.

import { ElectroliteError } from '../js/errors.js';
import type { Row } from './types.js';

export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function toBool(v: unknown): boolean {
  return v === true || v === 1 || v === 1n || v === 't' || v === 'true' || v === '1';
}

function parseJson(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

export interface RowShape {
  bools?: readonly string[];
  json?: readonly string[];
}

/** Returns a mapper from raw (snake_case) rows to camelCase objects, cached per source row. */
export function rowMapper<T>(shape: RowShape = {}): (rows: readonly Row[]) => T[] {
  const cache = new WeakMap<Row, T>();
  const bools = new Set(shape.bools ?? []);
  const json = new Set(shape.json ?? []);
  const one = (row: Row): T => {
    let mapped = cache.get(row);
    if (!mapped) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) {
        out[camelCase(k)] = bools.has(k) ? toBool(v) : json.has(k) ? parseJson(v) : v;
      }
      mapped = out as T;
      cache.set(row, mapped);
    }
    return mapped;
  };
  let lastIn: readonly Row[] | undefined;
  let lastOut: T[] = [];
  return (rows) => {
    if (rows === lastIn) return lastOut;
    lastIn = rows;
    lastOut = rows.map(one);
    return lastOut;
  };
}

/** A camelCase patch as a snake_case row, keeping only the allowed columns. */
export function toColumns(patch: Record<string, unknown>, allowed: readonly string[], what: string): Row {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new ElectroliteError('invalid_argument', `${what}: expected an object`);
  }
  const out: Row = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const col = snakeCase(k);
    if (!allowed.includes(col)) {
      throw new ElectroliteError('invalid_argument', `${what}: unknown field ${JSON.stringify(k)}`);
    }
    out[col] = v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
  }
  return out;
}

export function requireId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id === '') {
    throw new ElectroliteError('invalid_argument', `${what}: expected an id string, got ${JSON.stringify(id)}`);
  }
  return id;
}

/** A v4 UUID; crypto.randomUUID where it exists, else getRandomValues (insecure origins). */
export function newId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  if (typeof c?.getRandomValues !== 'function') throw new ElectroliteError('internal', 'no crypto.getRandomValues for ids');
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const nowIso = (): string => new Date().toISOString();
