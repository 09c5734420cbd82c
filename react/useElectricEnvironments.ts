// useElectricEnvironments(userId): the user's environments, the active one, and the writes;
// activating one deactivates the others in one transaction (environments.ts).

import { useCallback, useMemo } from 'react';
import { requireDb, useElectricClient } from './context.js';
import * as ops from './environments.js';
import type { Environment, EnvironmentPatch, NewEnvironment } from './environments.js';
import { useLiveQuery } from './useLiveQuery.js';

export interface UseElectricEnvironments {
  environments: Environment[];
  activeEnvironment: Environment | null;
  loading: boolean;
  error: Error | null;
  activateEnvironment: (id: string) => Promise<void>;
  createEnvironment: (input: NewEnvironment) => Promise<string>;
  updateEnvironment: (id: string, patch: EnvironmentPatch) => Promise<void>;
  deleteEnvironment: (id: string) => Promise<void>;
}

const NONE: Environment[] = [];

export function useElectricEnvironments(userId: string): UseElectricEnvironments {
  const { db } = useElectricClient();
  const { rows, loading, error } = useLiveQuery(ops.ENVIRONMENTS_SQL, [userId]);
  const map = useMemo(ops.mapEnvironments, []);
  const environments = useMemo(() => (rows ? map(rows) : NONE), [rows, map]);
  const activeEnvironment = useMemo(() => ops.activeOf(environments), [environments]);
  const activateEnvironment = useCallback(
    async (id: string) => ops.activateEnvironment(requireDb(db, 'activateEnvironment'), userId, id), [db, userId]);
  const createEnvironment = useCallback(
    async (input: NewEnvironment) => ops.createEnvironment(requireDb(db, 'createEnvironment'), userId, input),
    [db, userId]);
  const updateEnvironment = useCallback(
    async (id: string, patch: EnvironmentPatch) => ops.updateEnvironment(requireDb(db, 'updateEnvironment'), id, patch),
    [db]);
  const deleteEnvironment = useCallback(
    async (id: string) => ops.deleteEnvironment(requireDb(db, 'deleteEnvironment'), id), [db]);
  return {
    environments, activeEnvironment, loading, error,
    activateEnvironment, createEnvironment, updateEnvironment, deleteEnvironment,
  };
}
