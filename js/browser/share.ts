// Structural sharing (TanStack Query's replaceEqualDeep): returns `prev` where `next` is deeply
// equal to it, so unchanged rows keep their identity after a result crossed postMessage.

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function replaceEqualDeep<T>(prev: unknown, next: T): T {
  if (prev === next) return prev as T;
  const arrays = Array.isArray(prev) && Array.isArray(next);
  if (!arrays && !(isPlainObject(prev) && isPlainObject(next))) return next;
  const p = prev as Record<string, unknown>;
  const n = next as Record<string, unknown>;
  const nKeys = arrays ? null : Object.keys(n);
  const pLen = arrays ? (prev as unknown[]).length : Object.keys(p).length;
  const nLen = arrays ? (next as unknown[]).length : nKeys!.length;
  const copy: Record<string, unknown> | unknown[] = arrays ? [] : {};
  let equal = 0;
  for (let i = 0; i < nLen; i++) {
    const key = arrays ? i : nKeys![i]!;
    const value = replaceEqualDeep(p[key as string], n[key as string]);
    (copy as Record<string, unknown>)[key as string] = value;
    if (value === p[key as string] && (arrays || Object.prototype.hasOwnProperty.call(p, key))) equal++;
  }
  return (pLen === nLen && equal === pLen ? prev : copy) as T;
}
