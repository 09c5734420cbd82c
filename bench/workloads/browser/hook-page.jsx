// The `hook-render` page (bench/workloads/browser/hook-render.mjs), bundled once per subject
// with esbuild (SUBJECT = 'electrolite' | 'pglite'): a React 19 app listing the 50 most
// recently updated tasks through the subject's own live-query hook, which then moves one row
// at a time to the top with a local write and times write → React commit of the new list.
//
// What one sample is: t0 = performance.now() just before the write call (db.update through
// the db from useElectric(); for PGlite an UPDATE through usePGlite()'s PGliteWorker); t1 =
// performance.now() inside the list's useLayoutEffect, i.e. after React has committed the DOM
// of the render whose first <li> is the moved row (checked on the DOM itself), before paint.
// The next write starts once the previous write's promise has resolved and one macrotask ran.
/* global SUBJECT */
import { Component, useCallback, useEffect, useLayoutEffect, useRef } from 'react';
import { createRoot } from 'react-dom/client';

const LIST = 'SELECT id, title, status, updated_at FROM tasks ORDER BY updated_at DESC LIMIT 50';
const params = new URLSearchParams(location.search);

const finish = (result) => { window.__result = result; };
const fail = (err) => finish({ error: String(err?.stack ?? err) });

// One sample in flight at a time: the id that must come first, and who to tell.
let waiting = null;
function committed(rows) {
  if (!waiting || !rows?.length || rows[0].id !== waiting.id) return;
  if (document.querySelector('#list > li')?.dataset.id !== waiting.id) return;
  const w = waiting;
  waiting = null;
  w.resolve(performance.now());
}

function TaskList({ rows }) {
  useLayoutEffect(() => committed(rows), [rows]);
  return (
    <ul id="list">
      {rows.map((r) => <li key={r.id} data-id={r.id}>{r.title} · {r.status} · {String(r.updated_at)}</li>)}
    </ul>
  );
}

/** Runs the samples once the list is on screen; `write(target)` performs one local write. */
function useDriver(ready, write, after) {
  const started = useRef(false);
  useEffect(() => {
    if (!ready || started.current) return;
    started.current = true;
    (async () => {
      const targets = await (await fetch('/hook-targets.json')).json();
      const samples = [];
      const writes = []; // write call → its promise resolved (for the note; not the figure)
      for (const t of targets) {
        const shown = new Promise((resolve) => { waiting = { id: t.id, resolve }; });
        const t0 = performance.now();
        const written = write(t).then(() => performance.now());
        const t1 = await Promise.race([shown, written.then(() => shown)]); // a failed write ends the run, not a hang
        samples.push(t1 - t0);
        writes.push((await written) - t0);
        await new Promise((r) => setTimeout(r, 0));
      }
      finish({ samples, writes, ...(await after()) });
    })().catch(fail);
  }, [ready, write, after]);
}

async function electrolite(root) {
  const { ElectricProvider, useElectric, useLiveQuery } = await import('../../../dist/react/index.js');
  function App() {
    const { db } = useElectric();
    const { rows, error } = useLiveQuery(LIST);
    if (error) throw error;
    const write = useCallback((t) => db.update('tasks', { id: t.id }, { status: t.status, updated_at: t.updated_at }), [db]);
    const after = useCallback(async () => ({
      storage: db.status.storage, n: Number((await db.query('SELECT count(*) AS n FROM tasks')).rows[0].n),
    }), [db]);
    useDriver(Boolean(db && rows?.length), write, after);
    return rows ? <TaskList rows={rows} /> : <p>loading</p>;
  }
  // The database the setup page synced (no subscription: nothing but local writes moves the list).
  root.render(
    <ElectricProvider url={location.origin} storage={params.get('storage') ?? 'bench-hook.db'} workerUrl="/worker.js"
      autoSubscribe={false} uploadIntervalMs={3600000} liveTimeoutMs={3600000}>
      <App />
    </ElectricProvider>,
  );
}

async function pglite(root) {
  const { PGliteWorker } = await import('@electric-sql/pglite/worker');
  const { live } = await import('@electric-sql/pglite/live');
  const { PGliteProvider, usePGlite, useLiveQuery } = await import('@electric-sql/pglite-react');
  const pg = await PGliteWorker.create(new Worker('/peers/pglite-hook-worker.js', { type: 'module' }), { extensions: { live } });
  function App() {
    const db = usePGlite();
    const result = useLiveQuery(LIST, []);
    const rows = result?.rows;
    const write = useCallback((t) => db.query('UPDATE tasks SET status = $1, updated_at = $2 WHERE id = $3', [t.status, t.updated_at, t.id]), [db]);
    const after = useCallback(async () => ({ storage: 'opfs-ahp', n: (await db.query('SELECT count(*)::int AS n FROM tasks')).rows[0].n }), [db]);
    useDriver(Boolean(rows?.length), write, after);
    return rows ? <TaskList rows={rows} /> : <p>loading</p>;
  }
  root.render(<PGliteProvider db={pg}><App /></PGliteProvider>);
}

// Errors thrown while rendering end the run with the error, not a hang.
class Boundary extends Component {
  componentDidCatch(err) { fail(err); }
  render() { return this.props.children; }
}

try {
  const root = createRoot(document.getElementById('root'), { onUncaughtError: fail });
  const inner = { render: (el) => root.render(<Boundary>{el}</Boundary>) };
  await (SUBJECT === 'pglite' ? pglite(inner) : electrolite(inner));
} catch (err) {
  fail(err);
}
