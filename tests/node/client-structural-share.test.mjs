// Structural sharing of query results (what keeps unchanged rows' identity for React).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shareRows, toObjects } from '../../dist/js/structural-share.js';
import { logicalTable } from '../../dist/js/live-query.js';

const cols = ['id', 'title', 'n'];
const rows = (list) => toObjects(cols, list);

test('an unchanged result returns the previous array itself', () => {
  const a = rows([[1, 'a', 1], [2, 'b', 2]]);
  const b = rows([[1, 'a', 1], [2, 'b', 2]]);
  assert.equal(shareRows(a, b, cols), a);
});

test('only the changed row gets a new object', () => {
  const a = rows([[1, 'a', 1], [2, 'b', 2], [3, 'c', 3]]);
  const b = rows([[1, 'a', 1], [2, 'B', 2], [3, 'c', 3]]);
  const s = shareRows(a, b, cols);
  assert.notEqual(s, a);
  assert.equal(s[0], a[0]);
  assert.notEqual(s[1], a[1]);
  assert.deepEqual(s[1], { id: 2, title: 'B', n: 2 });
  assert.equal(s[2], a[2]);
});

test('an insert at the front keeps the identity of the shifted rows', () => {
  const a = rows([[1, 'a', 1], [2, 'b', 2]]);
  const b = rows([[0, 'z', 0], [1, 'a', 1], [2, 'b', 2]]);
  const s = shareRows(a, b, cols);
  assert.equal(s.length, 3);
  assert.equal(s[1], a[0]);
  assert.equal(s[2], a[1]);
  assert.deepEqual(s[0], { id: 0, title: 'z', n: 0 });
});

test('a delete returns a new array of the surviving objects', () => {
  const a = rows([[1, 'a', 1], [2, 'b', 2], [3, 'c', 3]]);
  const b = rows([[1, 'a', 1], [3, 'c', 3]]);
  const s = shareRows(a, b, cols);
  assert.notEqual(s, a);
  assert.deepEqual(s, [a[0], a[2]]);
  assert.equal(s[0], a[0]);
  assert.equal(s[1], a[2]);
});

test('duplicate rows are each reused once; null and "null" are different', () => {
  const a = rows([[1, null, 1], [1, null, 1], [2, 'null', 2]]);
  const b = rows([[2, 'null', 2], [1, null, 1], [1, null, 1]]);
  const s = shareRows(a, b, cols);
  assert.equal(new Set(s).size, 3);
  assert.equal(s[0], a[2]);
  assert.ok(s[1] === a[0] || s[1] === a[1]);
  const c = rows([[2, null, 2]]);
  assert.notEqual(shareRows(rows([[2, 'null', 2]]), c, cols)[0], undefined);
  assert.equal(shareRows(rows([[2, 'null', 2]]), c, cols)[0], c[0]);
});

test('a change of columns never reuses rows', () => {
  const a = toObjects(['id'], [[1]]);
  const b = toObjects(['id', 'x'], [[1, 2]]);
  assert.equal(shareRows(a, b, ['id', 'x'], ['id']), b);
});

test('storage tables map to the logical table a live query watches', () => {
  assert.equal(logicalTable('tasks__synced'), 'tasks');
  assert.equal(logicalTable('Tasks__overlay'), 'tasks');
  assert.equal(logicalTable('agent_memory'), 'agent_memory');
});
