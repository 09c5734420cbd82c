// ElectricProvider's configuration: props first, then ELECTRIC_URL, ELECTRIC_AUTH_TOKEN and
// ELECTRIC_DEBUG as the app's bundler exposes them (process.env replaced by webpack/Next/
// esbuild `define`, NEXT_PUBLIC_* and VITE_* variants, Vite's import.meta.env). Each name is
// written out literally because bundlers only replace literal member expressions; reading a
// missing `process` in a browser throws and is caught, so this is safe everywhere.

import type { TokenSource } from '../js/types.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const process: { env: Record<string, string | undefined> };

function viteEnv(): Record<string, string | undefined> {
  try {
    return ((import.meta as any).env ?? {}) as Record<string, string | undefined>;
  } catch {
    return {};
  }
}

function first(...values: Array<() => string | undefined>): string | undefined {
  for (const read of values) {
    try {
      const v = read();
      if (typeof v === 'string' && v !== '') return v;
    } catch {
      // `process` does not exist here: try the next source.
    }
  }
  return undefined;
}

export interface ElectricEnv {
  url: string | undefined;
  token: string | undefined;
  debug: string | undefined;
}

/** The ELECTRIC_* values the bundler exposed (undefined where none). */
export function readElectricEnv(): ElectricEnv {
  const vite = viteEnv();
  return {
    url: first(() => process.env.ELECTRIC_URL, () => process.env.NEXT_PUBLIC_ELECTRIC_URL,
      () => vite.ELECTRIC_URL, () => vite.VITE_ELECTRIC_URL),
    token: first(() => process.env.ELECTRIC_AUTH_TOKEN, () => process.env.NEXT_PUBLIC_ELECTRIC_AUTH_TOKEN,
      () => vite.ELECTRIC_AUTH_TOKEN, () => vite.VITE_ELECTRIC_AUTH_TOKEN),
    debug: first(() => process.env.ELECTRIC_DEBUG, () => process.env.NEXT_PUBLIC_ELECTRIC_DEBUG,
      () => vite.ELECTRIC_DEBUG, () => vite.VITE_ELECTRIC_DEBUG),
  };
}

export interface ElectricConfig {
  url?: string;
  token?: TokenSource;
  debug?: boolean;
  [option: string]: unknown;
}

/** Props win; the environment fills what they leave out. */
export function resolveConfig(props: ElectricConfig, env: ElectricEnv = readElectricEnv()): ElectricConfig {
  const config: ElectricConfig = { ...props };
  if (config.url === undefined && env.url !== undefined) config.url = env.url;
  if (config.token === undefined && env.token !== undefined) config.token = env.token;
  if (config.debug === undefined && env.debug !== undefined) {
    config.debug = ['1', 'true', 'yes', 'on'].includes(env.debug.trim().toLowerCase());
  }
  return config;
}
