// useOfflineState(): { isOffline, network, pendingChanges } from the client's status.

import type { NetworkState } from '../js/types.js';
import { useElectricStatus } from './useElectric.js';

export interface OfflineState {
  /** True when the server cannot be reached (`network` is not `online`). */
  isOffline: boolean;
  /** `offline`: no network; `unreachable`: the network is up but the server does not answer. */
  network: NetworkState;
  pendingChanges: number;
}

export function useOfflineState(): OfflineState {
  const status = useElectricStatus();
  const network = status.network ?? (status.isOffline ? 'unreachable' : 'online');
  return { isOffline: status.isOffline, network, pendingChanges: status.pendingChanges };
}
