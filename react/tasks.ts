// The tasks of one user, outside React: the live query useElectricTasks observes, the row
// mapping, the stats, and the writes (each one local write + outbox entry in the engine).

import { ElectroliteError } from '../js/errors.js';
import { newId, nowIso, requireId, rowMapper, toColumns } from './rows.js';
import type { ElectricClient, Row } from './types.js';

export type TaskStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'cancelled';
export const TASK_STATUSES: readonly TaskStatus[] = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'];

export interface Task {
  id: string;
  userId: string;
  title: string;
  description: string | null;
  status: TaskStatus;
  priority: number;
  environmentId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewTask {
  title: string;
  description?: string | null;
  status?: TaskStatus;
  priority?: number;
  environmentId?: string | null;
}

export type TaskPatch = Partial<Omit<Task, 'id' | 'userId' | 'createdAt' | 'updatedAt'>>;

export interface TaskStats {
  total: number;
  pending: number;
  inProgress: number;
  completed: number;
}

export const TASKS_SQL = 'SELECT * FROM tasks WHERE user_id = ? ORDER BY created_at DESC, id';
const WRITABLE = ['title', 'description', 'status', 'priority', 'environment_id'] as const;

export const mapTasks = (): ((rows: readonly Row[]) => Task[]) => rowMapper<Task>();

export function taskStats(tasks: readonly Task[]): TaskStats {
  const stats = { total: tasks.length, pending: 0, inProgress: 0, completed: 0 };
  for (const t of tasks) {
    if (t.status === 'pending') stats.pending++;
    else if (t.status === 'in_progress') stats.inProgress++;
    else if (t.status === 'completed') stats.completed++;
  }
  return stats;
}

function checkStatus(status: unknown): void {
  if (status !== undefined && !TASK_STATUSES.includes(status as TaskStatus)) {
    throw new ElectroliteError('invalid_argument', `task status must be one of ${TASK_STATUSES.join(', ')}`);
  }
}

export async function createTask(db: ElectricClient, userId: string, input: NewTask): Promise<Task> {
  requireId(userId, 'createTask: userId');
  if (typeof input?.title !== 'string' || input.title.trim() === '') {
    throw new ElectroliteError('invalid_argument', 'createTask: title must be a non-empty string');
  }
  checkStatus(input.status);
  const now = nowIso();
  const row: Row = {
    id: newId(), user_id: userId, title: input.title.trim(), description: input.description ?? null,
    status: input.status ?? 'pending', priority: input.priority ?? 0,
    environment_id: input.environmentId ?? null, created_at: now, updated_at: now,
  };
  await db.insert('tasks', row);
  return mapTasks()([row])[0]!;
}

export async function updateTask(db: ElectricClient, id: string, patch: TaskPatch): Promise<void> {
  requireId(id, 'updateTask: id');
  checkStatus(patch?.status);
  const columns = toColumns(patch as Record<string, unknown>, WRITABLE, 'updateTask');
  await db.update('tasks', { id }, { ...columns, updated_at: nowIso() });
}

export async function deleteTask(db: ElectricClient, id: string): Promise<void> {
  await db.delete('tasks', { id: requireId(id, 'deleteTask: id') });
}
