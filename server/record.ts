// Parser for PostgreSQL's composite (record) text output, `(a,"b c",,"")`: the change-capture
// trigger stores `NEW::text` so every column arrives exactly as its type's text output under
// Electric's display settings. Empty field = NULL; `""` = empty string; inside quotes `""` is a
// quote and `\x` is x (record_out escapes both).

export function parseRecord(text: string): (string | null)[] {
  if (text.length < 2 || text[0] !== '(' || text[text.length - 1] !== ')') {
    throw new Error(`not a record literal: ${text.slice(0, 40)}`);
  }
  const out: (string | null)[] = [];
  const end = text.length - 1;
  let i = 1;
  for (;;) {
    if (i === end || text.charCodeAt(i) === 44 /* , */) {
      out.push(null);
    } else if (text.charCodeAt(i) === 34 /* " */) {
      // Quoted: copy runs between escapes with slice (record_out never mixes quoted and bare parts).
      let v = '';
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        const b = text.indexOf('\\', from);
        if (q < 0 || q >= end + 1) throw new Error('unterminated quote in record literal');
        if (b >= 0 && b < q) { v += text.slice(from, b) + text[b + 1]; from = b + 2; continue; }
        v += text.slice(from, q);
        if (text.charCodeAt(q + 1) === 34) { v += '"'; from = q + 2; continue; }
        i = q + 1;
        break;
      }
      if (i > end) throw new Error('unterminated quote in record literal');
      out.push(v);
    } else {
      let j = text.indexOf(',', i);
      if (j < 0 || j > end) j = end;
      out.push(text.slice(i, j));
      i = j;
    }
    if (i >= end) break;
    i++; // the comma
    if (i === end) { out.push(null); break; }
  }
  return out;
}
