// electrolite: the public entry point (docs/client-api.md).
export { Electrolite } from './client.js';
export type { Transaction, AdvancedOpenOptions } from './client.js';
export { ElectroliteError } from './errors.js';
export type { ErrorCode, ErrorData } from './errors.js';
export { LiveQuery } from './live-query.js';
export type { ConnectRequest, Connector, HostPort } from './host-port.js';
export type { EngineEvent, HostMethods } from './engine-host.js';
export type { SubsetHandle, SubsetInfo, SubsetOptions } from './subsets.js';
export type * from './types.js';
