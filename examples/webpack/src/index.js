// A local-only task list with the browser client and no framework, bundled by webpack 5 with
// no configuration (webpack-cli's defaults: src/index.js → dist/main.js). webpack emits the
// worker and the .wasm files from their `new URL(..., import.meta.url)` references. Pass a
// `url` to BrowserElectrolite.open to sync.
import { BrowserElectrolite } from 'electrolite/browser';

const db = await BrowserElectrolite.open({ storage: 'webpack-example.db' });
const list = document.querySelector('[data-testid="tasks"]');
const status = document.querySelector('[data-testid="status"]');

db.live('SELECT id, title FROM tasks ORDER BY created_at, id', [], ({ rows }) => {
  list.replaceChildren(...rows.map((r) => Object.assign(document.createElement('li'), { textContent: r.title })));
});
const showStatus = (s) => {
  status.textContent = `sync ${s.sync} · ${s.pendingChanges} pending · ${s.storage}`;
  status.dataset.sync = s.sync;
};
db.onStatus(showStatus);
showStatus(db.status);

document.querySelector('form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = e.target.querySelector('input');
  const title = input.value.trim();
  if (!title) return;
  const now = new Date().toISOString();
  await db.insert('tasks', { id: crypto.randomUUID(), user_id: 'local', title, status: 'pending', created_at: now, updated_at: now });
  input.value = '';
});
