import { useState, type FormEvent } from 'react';
import { useElectric, useLiveQuery, useSubset } from 'electrolite/react';

const PAGE = 50;
const STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'];

type Task = { id: string; title: string; status: string; priority: number };

/**
 * Keyset paging by `priority` (unique and indexed): a page is "the next PAGE rows after the
 * last priority seen", which PostgreSQL answers from the index at any depth (an OFFSET would
 * read and skip every row before the page). `cursors` holds where each page visited so far
 * starts, so "previous" pops back to the page before.
 */
export function App() {
  const { status } = useElectric();
  const [filter, setFilter] = useState('');
  const [cursors, setCursors] = useState<number[]>([0]);
  const after = cursors[cursors.length - 1];

  // What the page shows, once as the subset to load (PostgreSQL: $n) and once as the local query
  // that reads it (SQLite: ?): the same where, order and limit.
  const where = filter ? 'priority > $1 AND status = $2' : 'priority > $1';
  const params = filter ? [after, filter] : [after];
  const subset = useSubset({ table: 'tasks' }, { where, params, orderBy: 'priority', limit: PAGE });
  const { rows } = useLiveQuery<Task>(
    `SELECT id, title, status, priority FROM tasks WHERE ${where.replace(/\$\d/g, '?')} ORDER BY priority LIMIT ${PAGE}`,
    params);
  // What is local: pages left behind are released (after a few seconds), so this stays near
  // two pages however far you page.
  const { rows: local } = useLiveQuery<{ n: number }>('SELECT count(*) AS n FROM tasks');

  const tasks = rows ?? [];
  const last = tasks.length ? tasks[tasks.length - 1].priority : null;
  const next = () => last !== null && setCursors((c) => [...c, last]);
  const prev = () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c));
  const pickFilter = (s: string) => { setFilter(s); setCursors([0]); };
  // A deep page costs what the first does: the cursor is a where, not a count of rows to skip.
  const jump = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const to = Number(new FormData(e.currentTarget).get('from'));
    if (Number.isFinite(to) && to > 0) setCursors([0, to - 1]);
  };

  return (
    <main>
      <h1>Tasks, a page at a time</h1>
      <p data-testid="status" data-connection={status.connection}>{status.connection}</p>
      <p>
        <label>
          Status{' '}
          <select aria-label="Status filter" value={filter} onChange={(e) => pickFilter(e.target.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>{' '}
        <button onClick={prev} disabled={cursors.length === 1}>← Previous</button>{' '}
        <span data-testid="page">rows after priority {after}</span>{' '}
        <button onClick={next} disabled={subset.loading || tasks.length < PAGE}>Next →</button>
      </p>
      <form onSubmit={jump}>
        <label>Go to priority <input name="from" aria-label="Go to priority" type="number" min={1} /></label>{' '}
        <button type="submit">Go</button>
      </form>
      <p data-testid="subset" data-state={subset.error ? 'error' : subset.loading ? 'loading' : 'loaded'}
        data-after={after} data-filter={filter}>
        subset: {subset.error ? subset.error.message : subset.loading ? 'loading…' : `loaded (${subset.rows} rows)`}
        {' · '}
        <span data-testid="local" data-rows={local?.[0]?.n ?? 0}>{local?.[0]?.n ?? 0} rows local</span>
      </p>
      <table data-testid="tasks">
        <thead><tr><th>priority</th><th>title</th><th>status</th></tr></thead>
        <tbody>
          {tasks.map((t) => (
            <tr key={t.id} data-priority={t.priority}><td>{t.priority}</td><td>{t.title}</td><td>{t.status}</td></tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}
