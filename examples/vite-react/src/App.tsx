import { useState, type FormEvent } from 'react';
import { useElectric, useElectricTasks } from 'electrolite/react';

export function App({ userId }: { userId: string }) {
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
    <main>
      <h1>Tasks</h1>
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
    </main>
  );
}
