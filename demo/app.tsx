// The seed's example app (spec/seed-electric-integration.md) as one page: header with the
// connection status and sync button, tasks with stats, environments, the offline banner,
// and panels for agent executions, observability events, agent memory and metrics.

import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import {
  ElectricConnectionStatus, ElectricMetrics, ElectricOfflineIndicator, ElectricSyncButton, useElectric, useElectricClient,
  useElectricEnvironments, useElectricTasks, useLiveQuery, useOfflineState, type Task,
} from '../react/index.js';
import type { PendingMutation } from '../js/types.js';
import { newId } from '../react/rows.js';
import { registerOfflineShell } from './offline-shell.js';

function Header({ userId }: { userId: string }) {
  return (
    <header>
      <h1>Electrolite tasks</h1>
      <span className="user">user: {userId}</span>
      <div className="connection-status">
        <ElectricConnectionStatus />
        <ElectricSyncButton />
      </div>
    </header>
  );
}

function NewTaskForm({ onCreate }: { onCreate: (title: string, description: string) => Promise<unknown> }) {
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [failure, setFailure] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await onCreate(title, description);
      setTitle('');
      setDescription('');
      setFailure(null);
    } catch (err) {
      setFailure((err as Error).message);
    }
  };
  return (
    <>
      <form className="new-task" onSubmit={submit}>
        <input name="title" placeholder="New task title" value={title} onChange={(e) => setTitle(e.target.value)} />
        <input name="description" placeholder="Description (optional)" value={description}
          onChange={(e) => setDescription(e.target.value)} />
        <button type="submit">Add task</button>
      </form>
      {failure && <p className="error">{failure}</p>}
    </>
  );
}

/** "Run agent": one transaction writes an execution, its event and a memory entry. */
function useRunAgent(userId: string) {
  const { db } = useElectric();
  return async (task: Task) => {
    if (!db) throw new Error('the database is not open yet');
    const now = new Date().toISOString();
    const executionId = newId();
    await db.transaction(async (tx) => {
      await tx.insert('agent_executions', {
        id: executionId, user_id: userId, task_id: task.id, agent_type: 'summarizer', status: 'completed',
        input: JSON.stringify({ title: task.title }), output: JSON.stringify({ summary: `Summary of “${task.title}”` }),
        started_at: now, completed_at: now, execution_time_ms: 1 + Math.floor(Math.random() * 900), updated_at: now,
      });
      await tx.insert('observability_events', {
        id: newId(), user_id: userId, execution_id: executionId, event_type: 'execution.completed',
        severity: 'info', message: `summarizer finished “${task.title}”`, data: JSON.stringify({ taskId: task.id }),
        timestamp: now,
      });
      await tx.insert('agent_memory', {
        id: newId(), user_id: userId, agent_type: 'summarizer', context_key: `task:${task.id}`,
        content: `“${task.title}” was summarised`, importance: 1 + (task.title.length % 10), access_count: 0,
        last_accessed_at: now, created_at: now, updated_at: now,
      });
    });
  };
}

/** Runs a button's write and keeps its failure message for display (nothing is unhandled). */
function useAction(): [string | null, (p: Promise<unknown>) => void] {
  const [failure, setFailure] = useState<string | null>(null);
  const act = (p: Promise<unknown>) => {
    p.then(() => setFailure(null), (err: unknown) => setFailure(err instanceof Error ? err.message : String(err)));
  };
  return [failure, act];
}

/** Keys (`id`) of `table`'s rows with local changes the server has not acknowledged yet. */
function useUnsynced(table: string): Set<string> {
  const { db, status } = useElectric();
  const [keys, setKeys] = useState<Set<string>>(() => new Set());
  useEffect(() => {
    if (!db) return;
    let live = true;
    Promise.resolve(db.pendingMutations()).then((pending: PendingMutation[]) => {
      if (!live) return;
      // An acked entry stays in the outbox until its echo arrives: the server has confirmed it.
      const open = pending.filter((m) => m.table === table && m.status !== 'acked' && m.key?.id !== undefined);
      setKeys(new Set(open.map((m) => String(m.key!.id))));
    }, () => undefined);
    return () => { live = false; };
  }, [db, table, status.pendingChanges]);
  return keys;
}

function TaskList({ userId }: { userId: string }) {
  const { tasks, loading, error, createTask, updateTask, deleteTask, taskStats } = useElectricTasks(userId);
  const unsynced = useUnsynced('tasks');
  const runAgent = useRunAgent(userId);
  const [failure, act] = useAction();
  useEffect(() => { if (!loading) registerOfflineShell(); }, [loading]); // after the first screen
  if (loading) return <section data-testid="tasks"><div>Loading tasks...</div></section>;
  if (error) return <section data-testid="tasks"><div className="error">Error: {error.message}</div></section>;
  return (
    <section data-testid="tasks">
      <h2>Tasks ({taskStats.total})</h2>
      <div className="stats">
        <span>Pending: {taskStats.pending}</span>
        <span>In Progress: {taskStats.inProgress}</span>
        <span>Completed: {taskStats.completed}</span>
      </div>
      <NewTaskForm onCreate={(title, description) => createTask({ title, description: description || null })} />
      {failure && <p className="error" data-testid="action-error">{failure}</p>}
      {tasks.length === 0 && <p className="empty">No tasks yet: add one above.</p>}
      {tasks.map((task) => (
        <div key={task.id} className="task-item" data-task-id={task.id} data-unsynced={unsynced.has(task.id) || undefined}>
          <h3>{task.title}</h3>
          {unsynced.has(task.id) && <span className="unsynced" title="changed here; the server has not confirmed it yet">not synced yet</span>}
          <p>{task.description}</p>
          <div className="actions">
            <span className={`status ${task.status}`}>{task.status}</span>
            {task.status === 'pending' && (
              <button onClick={() => act(updateTask(task.id, { status: 'in_progress' }))}>Start</button>
            )}
            <button onClick={() => act(updateTask(task.id, { status: 'completed' }))} disabled={task.status === 'completed'}>
              Complete
            </button>
            <button onClick={() => act(runAgent(task))}>Run agent</button>
            <button onClick={() => act(deleteTask(task.id))} aria-label={`Delete ${task.title}`}>Delete</button>
          </div>
        </div>
      ))}
    </section>
  );
}

function EnvironmentSelector({ userId }: { userId: string }) {
  const { environments, activeEnvironment, loading, error, activateEnvironment, createEnvironment } =
    useElectricEnvironments(userId);
  const [name, setName] = useState('');
  const [failure, act] = useAction();
  if (loading) return <section><div>Loading environments...</div></section>;
  return (
    <section data-testid="environments">
      <h3>Environments</h3>
      {(error || failure) && <p className="error">{error?.message ?? failure}</p>}
      <div className="envs">
        {environments.map((env) => (
          <button key={env.id} onClick={() => act(activateEnvironment(env.id))} className={env.isActive ? 'active' : ''}>
            {env.name}
          </button>
        ))}
        {environments.length === 0 && <span className="empty">none yet</span>}
      </div>
      <p>Active: {activeEnvironment?.name ?? '—'}</p>
      <form className="new-task" onSubmit={(e) => {
        e.preventDefault();
        if (name.trim()) act(createEnvironment({ name }).then(() => setName('')));
      }}>
        <input placeholder="New environment" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit">Add</button>
      </form>
    </section>
  );
}

function Panel({ title, sql, userId, render, testId }: {
  title: string; sql: string; userId: string; testId: string;
  render: (row: Record<string, unknown>) => [ReactNode, ReactNode];
}) {
  const { rows, loading, error } = useLiveQuery(sql, [userId]);
  return (
    <section data-testid={testId}>
      <h3>{title}</h3>
      {loading && <div>Loading...</div>}
      {error && <div className="error">{error.message}</div>}
      {rows && rows.length === 0 && <p className="empty">nothing yet</p>}
      {rows?.map((row) => {
        const [left, right] = render(row);
        return <div className="panel-row" key={String(row.id)}><span>{left}</span><span>{right}</span></div>;
      })}
    </section>
  );
}

const time = (v: unknown) => (typeof v === 'string' ? v.replace('T', ' ').slice(0, 19) : String(v ?? ''));

function OfflineBanner() {
  const { isOffline, network, pendingChanges } = useOfflineState();
  if (!isOffline) return null;
  const pending = pendingChanges === 1 ? ' (1 pending change)' : pendingChanges > 1 ? ` (${pendingChanges} pending changes)` : '';
  return (
    <div className="offline-banner" data-testid="offline-banner" data-network={network}>
      {network === 'offline'
        ? "You're offline. Changes will sync when you're back online."
        : 'The server is unreachable. Working from local data; changes will sync when it is back.'}
      {pending}
    </div>
  );
}

/** The last conflicts the client resolved or the server refused: table, row, policy, outcome. */
function RecentConflicts() {
  const { db } = useElectric();
  const [recent, setRecent] = useState<Array<{ at: number; table: string; key: string; policy: string; outcome: string; reason?: string }>>([]);
  useEffect(() => db?.onConflict?.((c) => {
    const key = Object.values(c.key ?? {}).map(String).join('/');
    setRecent((r) => [{ at: Date.now(), table: c.table, key, policy: c.policy, outcome: c.outcome, reason: c.reason }, ...r].slice(0, 6));
  }), [db]);
  return (
    <section data-testid="conflicts">
      <h3>Recent conflicts</h3>
      {recent.length === 0 && <p className="empty">none</p>}
      {recent.map((c) => (
        <div className="panel-row" key={`${c.at}:${c.table}:${c.key}`} data-outcome={c.outcome}>
          <span>{c.table} · {c.key.slice(0, 8)}</span>
          <span>{c.policy} → {c.outcome}{c.reason ? ` (${c.reason})` : ''}</span>
        </div>
      ))}
    </section>
  );
}

function Storage() {
  const { status } = useElectric();
  const reason = (status as { storageReason?: string }).storageReason;
  return (
    <footer data-testid="storage">
      Local database: {status.storage === 'opfs' ? 'persisted in OPFS (reloads start from local data)'
        : status.storage === 'idb' ? 'persisted in IndexedDB (reloads start from local data)'
        : `in memory${reason ? ` (${reason})` : ''}: a reload starts from the server again`}.
    </footer>
  );
}

export function App({ userId }: { userId: string }) {
  const { error } = useElectricClient();
  if (error) {
    return (
      <div>
        <Header userId={userId} />
        <div className="offline-banner error" data-testid="open-error">
          The local database could not be opened: {error.message}
        </div>
      </div>
    );
  }
  return (
    <div>
      <Header userId={userId} />
      <OfflineBanner />
      <main>
        <TaskList userId={userId} />
        <div className="side">
          <EnvironmentSelector userId={userId} />
          <Panel title="Agent executions" testId="executions" userId={userId}
            sql="SELECT e.id, e.agent_type, e.status, e.execution_time_ms, t.title AS task_title FROM agent_executions e LEFT JOIN tasks t ON t.id = e.task_id WHERE e.user_id = ? ORDER BY e.started_at DESC LIMIT 8"
            render={(r) => [`${r.agent_type} · ${r.task_title ?? 'deleted task'}`, `${r.status} · ${r.execution_time_ms ?? '—'} ms`]} />
          <Panel title="Events" testId="events" userId={userId}
            sql="SELECT id, event_type, severity, message, timestamp FROM observability_events WHERE user_id = ? ORDER BY timestamp DESC LIMIT 8"
            render={(r) => [`[${r.severity}] ${r.message ?? r.event_type}`, time(r.timestamp)]} />
          <Panel title="Agent memory" testId="memory" userId={userId}
            sql="SELECT id, context_key, content, importance FROM agent_memory WHERE user_id = ? ORDER BY importance DESC, last_accessed_at DESC LIMIT 8"
            render={(r) => [String(r.content), `importance ${r.importance}`]} />
          <RecentConflicts />
          <section data-testid="metrics"><h3>Sync metrics</h3><ElectricMetrics /></section>
        </div>
      </main>
      <ElectricOfflineIndicator />
      <Storage />
    </div>
  );
}
