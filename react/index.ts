// electrolite/react: the seed's provider, hooks and status components. Importing this module
// touches no browser global (SSR-safe); the database opens when <ElectricProvider> mounts.
// 'use client': in Next.js's app router these are client components, without a wrapper.
'use client';

export { ElectricProvider, type ElectricProviderProps } from './ElectricProvider.js';
export { useElectric, useElectricStatus, type UseElectric } from './useElectric.js';
export { useElectricClient } from './context.js';
export { useLiveQuery, type LiveQueryResult } from './useLiveQuery.js';
export { useSubset } from './useSubset.js';
export { useElectricTasks, type UseElectricTasks } from './useElectricTasks.js';
export { useElectricEnvironments, type UseElectricEnvironments } from './useElectricEnvironments.js';
export { useOfflineState, type OfflineState } from './useOfflineState.js';
export {
  ElectricConnectionStatus, ElectricMetrics, ElectricOfflineIndicator, ElectricSyncButton,
} from './components.js';
export { LiveQueryObserver, KEEP_ALIVE_MS } from './live-query-observer.js';
export { SubsetObserver, type SubsetState } from './subset-observer.js';
export { MetricsObserver, StatusObserver, metricsObserver, statusObserver, type ElectricStatus } from './status-observer.js';
export { ElectricClientStore, defaultOpen, type ClientState, type Opener } from './client-store.js';
export { readElectricEnv, resolveConfig, type ElectricConfig } from './config.js';
export { taskStats, TASK_STATUSES, type NewTask, type Task, type TaskPatch, type TaskStats, type TaskStatus } from './tasks.js';
export type { Environment, EnvironmentPatch, NewEnvironment } from './environments.js';
export type { ElectricClient, ElectricTransaction, QueryState } from './types.js';
