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
    if (i === end || text[i] === ',') {
      out.push(null);
    } else {
      let v = '';
      while (i < end && text[i] !== ',') {
        const c = text[i];
        if (c === '"') {
          i++;
          for (;;) {
            if (i >= end) throw new Error('unterminated quote in record literal');
            const q = text[i];
            if (q === '\\') { v += text[i + 1]; i += 2; continue; }
            if (q === '"') {
              if (text[i + 1] === '"') { v += '"'; i += 2; continue; }
              i++;
              break;
            }
            v += q;
            i++;
          }
        } else if (c === '\\') {
          v += text[i + 1];
          i += 2;
        } else {
          v += c;
          i++;
        }
      }
      out.push(v);
    }
    if (i >= end) break;
    i++; // the comma
    if (i === end) { out.push(null); break; }
  }
  return out;
}
