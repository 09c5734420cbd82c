// Conflict policies (DESIGN.md "Conflicts", schema/policies.json) as pure
// functions over rows, so the engine decides exactly what the write endpoint
// (server/) decides. Rows are JSON objects: column -> value (string, number,
// bool or null), as the engine stores them.
//
// The rules, shared word for word with the server's policy file:
//
//  * A mutation conflicts when the server's current row no longer matches the
//    `base` the client saw (for an update/delete), or the row already exists
//    (for an insert). Without a conflict every writable policy applies it.
//  * last-write-wins: compare the `timestamp` column (default updated_at) of
//    the local row and the server row as instants; the later one wins. On a
//    tie, or when neither side has a timestamp, the local mutation wins iff
//    its mutation id is greater (byte-wise) than the server row's last
//    mutation id; a server row with no known mutation id loses a tie.
//  * server-wins: the server row always wins; the local mutation is rejected.
//  * importance: compare `order` (default importance, last_accessed_at,
//    updated_at) column by column: numbers numerically, timestamps as
//    instants, anything else byte-wise, null lowest; the first column that
//    differs decides. All equal: the mutation-id tie-break of
//    last-write-wins.
//  * custom: the app's resolver (local, remote) => row decides on the client;
//    the resolved row is uploaded as a new write based on the server row.
//    An unresolved mutation reaching the server is decided by
//    last-write-wins.
#ifndef ELECTROLITE_SRC_CONFLICT_POLICY_H_
#define ELECTROLITE_SRC_CONFLICT_POLICY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "status.h"

namespace electrolite {

enum class PolicyKind { kLastWriteWins, kServerWins, kImportance, kCustom };

// "last-write-wins", "server-wins", "importance", "custom".
const char* PolicyName(PolicyKind kind);

// One table's entry of policies.json.
struct TablePolicy {
  PolicyKind kind = PolicyKind::kServerWins;
  bool writable = false;
  std::string timestamp_column = "updated_at";  // last-write-wins
  std::vector<std::string> order;               // importance

  // Parses {"policy": ..., "writable": ..., "timestamp": ..., "order": [...]}.
  // Unknown policy names and wrongly typed fields are invalid_argument errors.
  static Result<TablePolicy> FromJson(const nlohmann::json& entry);
};

// Who wins between a local (pending) write and a concurrent server version.
enum class Winner { kLocal, kRemote, kResolver };

struct Contender {
  const nlohmann::json* row = nullptr;  // full row (object); must not be null
  std::string_view mutation_id;         // "" when unknown
};

// Decides a conflict between `local` and `remote` under `policy`. kResolver is
// returned only for kCustom when `custom_resolvable` (a resolver is
// registered); otherwise custom falls back to last-write-wins.
Winner Decide(const TablePolicy& policy, const Contender& local, const Contender& remote,
              bool custom_resolvable = false);

// Whether `server_row` still matches what the client saw: every column present
// in `base` equals the server's value (type-tolerant: 5 == "5", t == true).
// A null/absent server row matches only an empty base.
bool BaseMatches(const nlohmann::json& base, const nlohmann::json* server_row);

// Type-tolerant ordering of two column values: numbers (and numeric strings)
// numerically, timestamps as instants, booleans false < true, anything else
// byte-wise; null is lowest. Returns <0, 0, >0.
int CompareValues(const nlohmann::json& a, const nlohmann::json& b);

// Microseconds since the Unix epoch for an ISO-8601 / Postgres timestamptz
// text ("2024-01-02 03:04:05.123+00", "2024-01-02T03:04:05Z", "2024-01-02").
// Text without an offset is UTC. nullopt when `s` is not a timestamp.
std::optional<int64_t> ParseTimestampMicros(std::string_view s);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_CONFLICT_POLICY_H_
