// The provider's store in React context, and the internal hook that reads the open database.

import { createContext, useContext, useSyncExternalStore } from 'react';
import { ElectroliteError } from '../js/errors.js';
import type { ClientState, ElectricClientStore } from './client-store.js';
import type { ElectricClient } from './types.js';

export const ElectricContext = createContext<ElectricClientStore | null>(null);

/** The database once open (null before), and the error if opening failed. */
export function useElectricClient(): ClientState {
  const store = useContext(ElectricContext);
  if (!store) {
    throw new ElectroliteError('invalid_argument', 'Electric hooks must be used inside <ElectricProvider>');
  }
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/** For write callbacks: the database, or a clear error while it is not open yet. */
export function requireDb(db: ElectricClient | null, what: string): ElectricClient {
  if (!db) throw new ElectroliteError('closed', `${what}: the database is not open yet`);
  return db;
}
