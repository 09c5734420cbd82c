// The environments of one user, outside React. Activating one deactivates the others in the
// same engine transaction, so no reader ever sees two active environments or none half-way.

import { ElectroliteError } from '../js/errors.js';
import { newId, nowIso, requireId, rowMapper, toBool, toColumns } from './rows.js';
import type { ElectricClient, Row } from './types.js';

export interface Environment {
  id: string;
  userId: string;
  name: string;
  description: string | null;
  config: unknown;
  isActive: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NewEnvironment {
  name: string;
  description?: string | null;
  config?: unknown;
}

export type EnvironmentPatch = Partial<Pick<Environment, 'name' | 'description' | 'config'>>;

export const ENVIRONMENTS_SQL = 'SELECT * FROM environments WHERE user_id = ? ORDER BY name, id';
const WRITABLE = ['name', 'description', 'config'] as const;

export const mapEnvironments = (): ((rows: readonly Row[]) => Environment[]) =>
  rowMapper<Environment>({ bools: ['is_active'], json: ['config'] });

export function activeOf(envs: readonly Environment[]): Environment | null {
  return envs.find((e) => e.isActive) ?? null;
}

export async function activateEnvironment(db: ElectricClient, userId: string, id: string): Promise<void> {
  requireId(userId, 'activateEnvironment: userId');
  requireId(id, 'activateEnvironment: id');
  await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string; is_active: unknown }>(
      'SELECT id, is_active FROM environments WHERE user_id = ?', [userId]);
    if (!rows.some((r) => r.id === id)) {
      throw new ElectroliteError('not_found', `activateEnvironment: no environment ${id} for this user`);
    }
    const now = nowIso();
    for (const r of rows) {
      const active = r.id === id;
      if (toBool(r.is_active) !== active) {
        await tx.update('environments', { id: r.id }, { is_active: active, updated_at: now });
      }
    }
  });
}

export async function createEnvironment(db: ElectricClient, userId: string, input: NewEnvironment): Promise<string> {
  requireId(userId, 'createEnvironment: userId');
  if (typeof input?.name !== 'string' || input.name.trim() === '') {
    throw new ElectroliteError('invalid_argument', 'createEnvironment: name must be a non-empty string');
  }
  const now = nowIso();
  const id = newId();
  await db.insert('environments', {
    id, user_id: userId, name: input.name.trim(), description: input.description ?? null,
    config: JSON.stringify(input.config ?? {}), is_active: false, created_at: now, updated_at: now,
  });
  return id;
}

export async function updateEnvironment(db: ElectricClient, id: string, patch: EnvironmentPatch): Promise<void> {
  requireId(id, 'updateEnvironment: id');
  const columns = toColumns(patch as Record<string, unknown>, WRITABLE, 'updateEnvironment');
  await db.update('environments', { id }, { ...columns, updated_at: nowIso() });
}

export async function deleteEnvironment(db: ElectricClient, id: string): Promise<void> {
  await db.delete('environments', { id: requireId(id, 'deleteEnvironment: id') });
}
