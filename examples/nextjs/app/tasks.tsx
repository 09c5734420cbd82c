'use client';
// The task list on Electrolite. Next.js bundles the package's worker and .wasm files from
// their `new URL(..., import.meta.url)` references; no next.config is needed.
import { useState, type FormEvent } from 'react';
import { ElectricProvider, useElectric, useElectricTasks } from 'electrolite/react';

// The sync service (NEXT_PUBLIC_ELECTRIC_URL at build time; the dev server's default port).
const url = process.env.NEXT_PUBLIC_ELECTRIC_URL || 'http://127.0.0.1:5133';

export function Tasks({ userId }: { userId: string }) {
  /** A development token from the dev server (a real app gets its JWT from its own auth). */
  const token = async (): Promise<string> => {
    const res = await fetch(`${url}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: userId, sub: userId }),
    });
    if (!res.ok) throw new Error(`POST /v1/token: HTTP ${res.status}`);
    return ((await res.json()) as { token: string }).token;
  };
  return (
    <ElectricProvider url={url} token={token} storage={`tasks-${userId}`}>
      <TaskList userId={userId} />
    </ElectricProvider>
  );
}

function TaskList({ userId }: { userId: string }) {
  const { tasks, loading, error, createTask, updateTask, deleteTask } = useElectricTasks(userId);
  const { status } = useElectric();
  const [title, setTitle] = useState('');

  const add = async (e: FormEvent) => {
    e.preventDefault();
    if (!title.trim()) return;
    await createTask({ title: title.trim() });
    setTitle('');
  };

  return (
    <>
      <p data-testid="status" data-connection={status.connection} data-storage={(status as { storage?: string }).storage}>
        {status.connection} · {status.pendingChanges} pending
      </p>
      <form onSubmit={add}>
        <input aria-label="New task" value={title} onChange={(e) => setTitle(e.target.value)} placeholder="What needs doing?" />
        <button type="submit">Add</button>
      </form>
      {error && <p role="alert">{error.message}</p>}
      {loading ? (
        <p>Loading…</p>
      ) : (
        <ul data-testid="tasks">
          {tasks.map((t) => (
            <li key={t.id} data-status={t.status}>
              <label>
                <input
                  type="checkbox"
                  checked={t.status === 'completed'}
                  onChange={() => void updateTask(t.id, { status: t.status === 'completed' ? 'pending' : 'completed' })}
                />
                {t.title}
              </label>
              <button onClick={() => void deleteTask(t.id)} aria-label={`Delete ${t.title}`}>×</button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
