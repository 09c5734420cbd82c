// Outbox: the durable queue of local mutations (`_el_outbox`).
//
// Every local write appends one entry in the same SQLite transaction that
// updates the overlay. An entry lives until the server's answer is final:
//   pending   -> in_flight (part of the batch being uploaded)
//   in_flight -> acked (applied/duplicate; waits for its txid on the stream)
//             -> failed (4xx: kept, with the reason, until DiscardMutation)
//             -> pending (5xx/network: retried with the same id)
//   acked     -> removed when the txid is seen (same txn as the synced row)
//   rejected  -> removed, the conflict recorded in `_el_conflicts`.
// Keys, values and bases are stored as JSON in storage form.
#ifndef ELECTROLITE_SRC_OUTBOX_H_
#define ELECTROLITE_SRC_OUTBOX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"
#include "status.h"

namespace electrolite {

class Store;

struct OutboxEntry {
  int64_t seq = 0;        // outbox order
  std::string id;         // mutation id (UUID v4): the idempotency key
  std::string table;
  std::string op;         // insert | update | delete
  Json key;     // {pk: value}
  Json value;   // changed columns (full row for insert)
  Json base;    // the row the client saw before the write ({} for insert)
  int64_t local_ms = 0;
  std::string status = "pending";  // pending | in_flight | acked | failed
  std::string reason;
  std::optional<int64_t> txid;
  int64_t attempts = 0;

  // {id, table, op, key, value, base, localMs, status, reason?, txid?, attempts}
  Json ToJson() const;
};

class Outbox {
 public:
  // `store` must outlive the outbox.
  explicit Outbox(Store* store) : store_(store) {}

  // Creates the tables; entries left in_flight by a crash become pending.
  [[nodiscard]] Status Init();

  [[nodiscard]] Status Append(const OutboxEntry& entry);
  // `key_text`: KeyText(entry.key), when the caller has it already.
  [[nodiscard]] Status Append(const OutboxEntry& entry, std::string_view key_text);
  // Entries for one row, in outbox order.
  [[nodiscard]] Result<std::vector<OutboxEntry>> ForKey(std::string_view table,
                                                        const Json& key);
  // The id of the newest entry of the row whose KeyText is `key_text`
  // (nullopt: it has none).
  [[nodiscard]] Result<std::optional<std::string>> LastIdForKey(std::string_view table,
                                                                std::string_view key_text);
  // Up to `limit` pending entries in outbox order.
  [[nodiscard]] Result<std::vector<OutboxEntry>> NextBatch(int limit);
  [[nodiscard]] Result<std::optional<OutboxEntry>> Get(std::string_view id);
  // Every entry in outbox order.
  [[nodiscard]] Result<std::vector<OutboxEntry>> All();
  // Acked entries of `table` waiting for `txid` (all txids when nullopt).
  [[nodiscard]] Result<std::vector<OutboxEntry>> Acked(std::string_view table,
                                                       std::optional<int64_t> txid);

  [[nodiscard]] Status SetStatus(std::string_view id, std::string_view status,
                                 std::string_view reason = {});
  [[nodiscard]] Status MarkAcked(std::string_view id, int64_t txid);
  [[nodiscard]] Status Remove(std::string_view id);

  // Entries not yet acked by the server (pending + in_flight + failed); O(1),
  // from `_el_outbox_stats`, which Append/SetStatus/MarkAcked/Remove keep in
  // the transaction of their change (their own one when the caller has none).
  // Nothing else may insert, delete or (un)ack outbox rows.
  [[nodiscard]] Result<int64_t> CountUnacked();
  // Entries with `status`, counting at most `limit` (-1: all).
  [[nodiscard]] Result<int64_t> CountByStatus(std::string_view status, int64_t limit = -1);

  // Canonical text of a key (sorted JSON), used to index entries by row.
  static std::string KeyText(const Json& key);

 private:
  [[nodiscard]] Result<std::vector<OutboxEntry>> Select(const std::string& where,
                                                        const std::vector<std::string>& args,
                                                        int limit);
  // Upgrades the table of an earlier build (see outbox.cc).
  [[nodiscard]] Status UpgradeTable();
  // Runs one of the count updates in outbox.cc (?1 = id, ?2 = status when given).
  [[nodiscard]] Status AdjustUnacked(const std::string& sql, std::string_view id,
                                     std::string_view status);
  Store* store_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_OUTBOX_H_
