// Conflict policies (DESIGN.md "Conflicts", schema/policies.json) as pure
// functions over rows, so the engine decides exactly what the write endpoint
// (server/) decides. Rows are JSON objects: column -> value (string, number,
// bool or null), as the engine stores them.
//
// The rules are the write endpoint's (server/policy.ts "POLICY RULES", R0-R7);
// the engine predicts its answer with them while a local edit is pending and
// a server change arrives, and the endpoint's answer is final:
//
//  * Conflict (R3): an insert of an existing row; an update/delete whose
//    `base` (the row the client saw) differs from the server row in any
//    column. No conflict: applied.
//  * last-write-wins (R4): compare the `timestamp` column (default
//    updated_at; the engine stamps it on every local write, a delete sends
//    its local time) as instants: later wins.
//  * importance (R4): the server row overlaid with the local values vs the
//    server row, compared on `order` (default importance, last_accessed_at,
//    updated_at) lexicographically, NULL lowest; greater wins. A conflicting
//    delete loses.
//  * server-wins, and custom (R4): the server row wins. For custom the app's
//    resolver (local, remote) => row merges on the client, which then writes
//    the merged row with base = the server row it merged with.
//  * Tie (R5): the incoming write wins iff the last mutation the endpoint
//    applied to the row came earlier in the same request, or its id is
//    smaller than the incoming one's; with no recorded writer the server row
//    wins. The engine never knows that id
//    for a streamed row, so it predicts "server wins" on a tie.
// Values compare by type: numbers numerically, timestamps as instants,
// booleans false < true, other text byte-wise; NULL lowest.
#ifndef ELECTROLITE_SRC_CONFLICT_POLICY_H_
#define ELECTROLITE_SRC_CONFLICT_POLICY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"
#include "status.h"

namespace electrolite {

enum class PolicyKind { kLastWriteWins, kServerWins, kImportance, kCustom };

// "last-write-wins", "server-wins", "importance", "custom".
const char* PolicyName(PolicyKind kind);

// One table's entry of policies.json.
struct TablePolicy {
  PolicyKind kind = PolicyKind::kServerWins;
  bool writable = false;
  std::string timestamp_column = "updated_at";  // LWW order; stamped on every write (R1)
  std::vector<std::string> order;               // importance

  // Parses {"policy": ..., "writable": ..., "timestamp": ..., "order": [...]}.
  // Unknown policy names and wrongly typed fields are invalid_argument errors.
  static Result<TablePolicy> FromJson(const Json& entry);
};

// Who wins between a local (pending) write and a concurrent server version.
enum class Winner { kLocal, kRemote, kResolver };

struct Contender {
  const Json* row = nullptr;  // full row (object); must not be null
  std::string_view mutation_id;         // "" when unknown
};

// Decides a conflict between `local` (the local row: server row overlaid with
// the local values) and `remote` under `policy`. kResolver is returned only for
// kCustom when `custom_resolvable` (a resolver is registered); otherwise
// custom is server-wins, as on the endpoint.
Winner Decide(const TablePolicy& policy, const Contender& local, const Contender& remote,
              bool custom_resolvable = false);

// Whether `server_row` still matches what the client saw: every column present
// in `base` equals the server's value (type-tolerant: 5 == "5", t == true).
// A null/absent server row matches only an empty base.
bool BaseMatches(const Json& base, const Json* server_row);

// Type-tolerant ordering of two column values: numbers (and numeric strings)
// numerically, timestamps as instants, booleans false < true, anything else
// byte-wise; null is lowest. Returns <0, 0, >0.
int CompareValues(const Json& a, const Json& b);

// Microseconds since the Unix epoch for an ISO-8601 / Postgres timestamptz
// text ("2024-01-02 03:04:05.123+00", "2024-01-02T03:04:05Z", "2024-01-02").
// Text without an offset is UTC. nullopt when `s` is not a timestamp.
std::optional<int64_t> ParseTimestampMicros(std::string_view s);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_CONFLICT_POLICY_H_
