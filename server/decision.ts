// The conflict decision of the write endpoint: the engine's own compiled rules
// (src/conflict_policy.h, R0-R5), called through its wasm build (decideWrite), so the
// endpoint and every client decide a mutation the same way. policy.ts keeps only the SQL.
import { loadEngineModule } from '../js/wasm-loader.js';
import type { TableInfo } from './catalog.js';
import type { TablePolicy, TextRow } from './policy.js';

/** What the decision needs of one mutation and the row the endpoint found. */
export interface DecisionInput {
  policy: TablePolicy;
  /** Every column of the table with its Postgres type: values compare as that type. */
  types: Record<string, string>;
  op: 'insert' | 'update' | 'delete';
  id: string;
  /** The columns set, after stamping (R1). */
  value: TextRow;
  base: TextRow | null;
  /** The current row, or null. */
  server: TextRow | null;
  /** The transaction time (a last-write-wins delete without a timestamp competes at it). */
  now?: string;
  /** R5: absent = not asked yet; null = none recorded. */
  lastWriter?: { id: string; sameRequest: boolean } | null;
}

export interface Verdict {
  status: 'applied' | 'rejected' | 'needLastWriter';
  /** What an applied mutation does to the row. */
  action: 'insert' | 'update' | 'delete' | 'none';
  reason?: string;
  /** Whether the mutation conflicted with the row (R3). */
  conflict: boolean;
}

interface DecisionModule {
  decideWrite(caseJson: string): string;
}

let loaded: Promise<DecisionModule> | null = null;

function decisionModule(): Promise<DecisionModule> {
  if (!loaded) {
    loaded = loadEngineModule().then((m) => {
      const mod = m as unknown as Partial<DecisionModule>;
      if (typeof mod.decideWrite !== 'function') throw new Error('the engine build has no decideWrite');
      return mod as DecisionModule;
    });
    loaded.catch(() => { loaded = null; });
  }
  return loaded;
}

/** Loads the decision (the engine's wasm) ahead of the first request. */
export async function loadDecision(): Promise<void> {
  await decisionModule();
}

/** Decides one mutation (conflict_policy.h "THE RULES"). */
export async function decide(input: DecisionInput): Promise<Verdict> {
  const m = await decisionModule();
  const out = JSON.parse(m.decideWrite(JSON.stringify(input))) as Verdict & { ok: boolean; message?: string };
  if (!out.ok) throw new Error(`conflict decision: ${out.message ?? 'failed'}`);
  return out;
}

/** The Postgres type of each column, as the decision names them ("int4", "timestamptz", "text[]"). */
export function columnTypes(t: TableInfo): Record<string, string> {
  const types: Record<string, string> = {};
  for (const c of t.columns) types[c.name] = c.dims > 0 ? `${c.typname}[]` : c.typname;
  return types;
}
