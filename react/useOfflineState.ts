// useOfflineState(): { isOffline, pendingChanges } from the client's status.

import { useElectricStatus } from './useElectric.js';

export interface OfflineState {
  isOffline: boolean;
  pendingChanges: number;
}

export function useOfflineState(): OfflineState {
  const status = useElectricStatus();
  return { isOffline: status.isOffline, pendingChanges: status.pendingChanges };
}
