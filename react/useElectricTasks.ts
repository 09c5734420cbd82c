// useElectricTasks(userId): the user's tasks live from the local database, their stats, and
// the writes (local first, uploaded by the engine). Logic lives in tasks.ts.

import { useCallback, useMemo } from 'react';
import { requireDb, useElectricClient } from './context.js';
import * as ops from './tasks.js';
import type { NewTask, Task, TaskPatch, TaskStats } from './tasks.js';
import { useLiveQuery } from './useLiveQuery.js';

export interface UseElectricTasks {
  tasks: Task[];
  loading: boolean;
  error: Error | null;
  createTask: (input: NewTask) => Promise<Task>;
  updateTask: (id: string, patch: TaskPatch) => Promise<void>;
  deleteTask: (id: string) => Promise<void>;
  taskStats: TaskStats;
}

const NONE: Task[] = [];

export function useElectricTasks(userId: string): UseElectricTasks {
  const { db } = useElectricClient();
  const { rows, loading, error } = useLiveQuery(ops.TASKS_SQL, [userId]);
  const map = useMemo(ops.mapTasks, []);
  const tasks = useMemo(() => (rows ? map(rows) : NONE), [rows, map]);
  const taskStats = useMemo(() => ops.taskStats(tasks), [tasks]);
  const createTask = useCallback(
    async (input: NewTask) => ops.createTask(requireDb(db, 'createTask'), userId, input), [db, userId]);
  const updateTask = useCallback(
    async (id: string, patch: TaskPatch) => ops.updateTask(requireDb(db, 'updateTask'), id, patch), [db]);
  const deleteTask = useCallback(
    async (id: string) => ops.deleteTask(requireDb(db, 'deleteTask'), id), [db]);
  return { tasks, loading, error, createTask, updateTask, deleteTask, taskStats };
}
