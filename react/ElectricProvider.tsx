// <ElectricProvider>: opens the database (props first, then ELECTRIC_URL, ELECTRIC_AUTH_TOKEN,
// ELECTRIC_DEBUG) when mounted in a browser and closes it when unmounted. During server-side
// rendering nothing opens: hooks render their loading state.

import { useEffect, useMemo, type ReactNode } from 'react';
import { ElectricClientStore, defaultOpen, type Opener } from './client-store.js';
import { resolveConfig, type ElectricConfig } from './config.js';
import { ElectricContext } from './context.js';
import type { ElectricClient } from './types.js';

export interface ElectricProviderProps extends ElectricConfig {
  children?: ReactNode;
  /** A database the app opened itself (the provider will not close it). */
  db?: ElectricClient;
  /** How to open the database from the resolved config (default: worker in browsers). */
  open?: Opener;
}

/** Config identity: functions (a token function) are kept from the first render. */
function configKey(config: ElectricConfig): string {
  return JSON.stringify(config, (_k, v) => (typeof v === 'function' ? '[fn]' : v));
}

export function ElectricProvider({ children, db, open, ...config }: ElectricProviderProps): ReactNode {
  const key = configKey(config);
  const store = useMemo(
    () => (db ? new ElectricClientStore({ db })
      : new ElectricClientStore({ open: open ?? defaultOpen, config: resolveConfig(config) })),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [db, open, key],
  );
  useEffect(() => store.retain(), [store]);
  return <ElectricContext.Provider value={store}>{children}</ElectricContext.Provider>;
}
