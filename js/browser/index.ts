// electrolite in the browser without a bundler: the worker-backed client and the error class.
export { BrowserElectrolite, type BrowserOpenOptions, type BrowserStatus, type StorageKind } from './client.js';
export { ElectroliteError } from '../errors.js';
