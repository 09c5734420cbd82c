// Conflict policies (DESIGN.md "Conflicts", spec policies.json) as one pure
// decision: what the write endpoint does with a mutation given the row it
// finds. The write endpoint (server/policy.ts) runs this very code, compiled
// to wasm (decideWrite, bindings/conflict_bindings.cc), and keeps only its SQL;
// the engine runs it to predict the endpoint's answer while a local edit is
// pending and a server change arrives. Tables of cases under
// tests/fixtures/conflict-cases/ run through both.
//
// THE RULES (a mutation m = {id, op, key, value, base} on table T; cur = the
// row of T with m's key that the caller may see, or none):
// R0 A table with "writable": false rejects every mutation: "read_only".
//    "writable" defaults to true (policies.json declares it for each table).
// R1 (the caller's job, before deciding) An insert/update whose value does
//    not set T's timestamp column (policy "timestamp", default updated_at)
//    gets it stamped with the write's time.
// R2 No cur: an insert is applied (insert), a delete is applied (nothing to
//    do), an update is rejected "not_found".
// R3 Conflict iff: insert and cur exists; or update/delete without base; or
//    some column c of base has base[c] != cur[c] (typed, value_order.h).
//    No conflict: applied (update / delete).
// R4 A conflict is resolved by T's policy:
//    last-write-wins: t_in = value[ts] (a delete without it: `now`), t_cur =
//      cur[ts]; later -> applied, earlier -> rejected "stale", equal -> R5.
//      A table without the timestamp column is server-wins.
//    importance (order, default importance, last_accessed_at, updated_at):
//      a delete is rejected "conflict"; otherwise cur overlaid with value vs
//      cur, lexicographically on the order's columns (NULL lowest): greater
//      -> applied, smaller -> rejected "lower_importance", equal -> R5.
//    server-wins, custom: rejected "conflict". For custom the client calls
//      the app's resolver (local, the rejected reply's row) and writes the
//      merged row with base = that row, which then has no conflict.
// R5 Tie: the incoming write wins iff the last mutation w applied to the row
//    came earlier in the same request, or m.id > w.id (byte-wise); with no
//    recorded w the server row wins ("stale"). The verdict asks for w
//    (kNeedLastWriter) when the caller has not said; the engine, which never
//    knows w, says "none" and so predicts the server row.
// An insert on an existing row that wins updates cur with the insert's value.
#ifndef ELECTROLITE_SRC_CONFLICT_POLICY_H_
#define ELECTROLITE_SRC_CONFLICT_POLICY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"
#include "status.h"
#include "value_order.h"

namespace electrolite {

enum class PolicyKind { kLastWriteWins, kServerWins, kImportance, kCustom };

// "last-write-wins", "server-wins", "importance", "custom".
const char* PolicyName(PolicyKind kind);

// One table's entry of policies.json.
struct TablePolicy {
  PolicyKind kind = PolicyKind::kServerWins;
  bool writable = true;  // R0
  std::string timestamp_column = "updated_at";  // LWW order; stamped on every write (R1)
  std::vector<std::string> order;               // importance

  // Parses {"policy": ..., "writable": ..., "timestamp": ..., "order": [...]}.
  // Unknown policy names and wrongly typed fields are invalid_argument errors.
  static Result<TablePolicy> FromJson(const Json& entry);
};

enum class WriteOp { kInsert, kUpdate, kDelete };

// The last mutation the endpoint applied to the row (R5).
struct LastWriter {
  std::string id;             // "" when none is recorded
  bool same_request = false;  // applied earlier in the request being decided
};

// One mutation against the row the endpoint finds. Rows are JSON objects
// (column -> value) in any form value_order.h accepts.
struct WriteCase {
  WriteOp op = WriteOp::kUpdate;
  std::string_view mutation_id;
  const Json* value = nullptr;   // the columns set, after R1; may be null for a delete
  const Json* base = nullptr;    // what the client saw; null when absent
  const Json* server = nullptr;  // cur; null when there is none
  const Json* now = nullptr;     // the write's time (LWW delete without a timestamp)
  std::optional<LastWriter> last_writer;  // nullopt: not asked yet
};

enum class Outcome { kApplied, kRejected, kNeedLastWriter };
// What an applied mutation does to the row.
enum class RowAction { kNone, kInsert, kUpdate, kDelete };

struct Verdict {
  Outcome outcome = Outcome::kRejected;
  RowAction action = RowAction::kNone;
  const char* reason = "";  // rejected: read_only, not_found, stale, lower_importance, conflict
  bool conflict = false;    // R3 found a conflict (R4 decided)
};

// The endpoint's decision for `c` under `policy` (R0-R5). `types`: every
// column of the table with its canonical Postgres type.
Verdict DecideWrite(const TablePolicy& policy, const ColumnTypes& types, const WriteCase& c);

// R3's test: every column of `base` equals the server's value (typed). An
// absent server row matches only an empty base.
bool BaseMatches(const ColumnTypes& types, const Json& base, const Json* server_row);

// DecideWrite over JSON, the form the write endpoint calls through wasm and
// the fixtures use:
//   {"policy": {policies.json entry}, "types": {column: type}, "op": "update",
//    "id": "...", "value": {...}, "base": {...} | null, "server": {...} | null,
//    "now": "...", "lastWriter": {"id": "...", "sameRequest": false} | null}
// ("lastWriter" absent: not asked yet; null: none recorded). Answers
//   {"ok": true, "status": "applied" | "rejected" | "needLastWriter",
//    "action": "insert" | "update" | "delete" | "none", "reason": "...",
//    "conflict": bool}
// or {"ok": false, "code": "invalid_argument", "message": ...}.
std::string DecideWriteJson(std::string_view case_json);

const char* OutcomeName(Outcome outcome);
const char* RowActionName(RowAction action);


}  // namespace electrolite

#endif  // ELECTROLITE_SRC_CONFLICT_POLICY_H_
