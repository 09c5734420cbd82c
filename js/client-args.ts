// Argument checks of the public API and token resolution: bad input becomes an
// ElectroliteError('invalid_argument') before anything reaches the engine.

import { ElectroliteError } from './errors.js';
import type { Row, TokenSource } from './types.js';

export function checkSql(sql: unknown): string {
  if (typeof sql !== 'string' || sql.trim() === '') throw new ElectroliteError('invalid_argument', 'sql: expected a non-empty string');
  return sql;
}

export function checkParams(params: unknown): unknown[] {
  if (params === undefined || params === null) return [];
  if (!Array.isArray(params)) throw new ElectroliteError('invalid_argument', 'params: expected an array');
  return params;
}

export function checkTable(table: unknown): string {
  if (typeof table !== 'string' || table === '') throw new ElectroliteError('invalid_argument', 'table: expected a table name');
  return table;
}

export function checkRow(name: string, row: unknown): Row {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw new ElectroliteError('invalid_argument', `${name}: expected an object of column values`);
  }
  return row as Row;
}

export async function resolveToken(source: TokenSource | undefined): Promise<string | undefined> {
  if (source === undefined) return undefined;
  const token = typeof source === 'function' ? await source() : source;
  if (token === undefined || token === null || token === '') return undefined;
  if (typeof token !== 'string') throw new ElectroliteError('invalid_argument', 'token: the token function must return a string');
  return token;
}
