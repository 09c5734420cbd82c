// WritePath, server side: upload answers, txid matching against the shape
// stream, concurrent server changes under pending local edits, conflict
// records and metrics.
#include <cstdlib>

#include "pg_value.h"
#include "snapshot_visibility.h"
#include "store.h"
#include "write_path.h"

namespace electrolite {

namespace {

using json = Json;

constexpr int kKeepSeenTxids = 4096;  // per table
constexpr int kKeepSnapshots = 8;     // per table
constexpr int kKeepConflicts = 1000;


json Merge(json base, const json& over) {
  if (!base.is_object()) base = json::object();
  if (over.is_object()) {
    for (auto it = over.begin(); it != over.end(); ++it) base[it.key()] = it.value();
  }
  return base;
}

// The storage form of a row the endpoint sent (Postgres text, as the shape
// stream sends it), converted as the stream's rows are; columns the table
// lacks are dropped.
json StorageRow(const WriteTable& t, const json& text_row) {
  json out = json::object();
  if (!text_row.is_object()) return out;
  for (const WriteColumn& c : t.columns) {
    auto it = text_row.find(c.name);
    if (it == text_row.end()) continue;
    if (it->is_string()) {
      std::string scratch;
      SqlValue v;
      if (ConvertPgValue(c.cls, c.dims, it->get_ref<const std::string&>(), &scratch, &v).ok()) {
        out[c.name] = v.kind == 1   ? json(v.i)
                      : v.kind == 2 ? json(v.d)
                      : v.kind == 3 ? json(std::string(v.text))
                                    : json();
        continue;
      }
    }
    Result<json> v = NormalizeValue(t, c, *it);
    out[c.name] = v.ok() ? v.value() : *it;
  }
  return out;
}

WriteOp OpOf(std::string_view op) {
  if (op == "insert") return WriteOp::kInsert;
  if (op == "delete") return WriteOp::kDelete;
  return WriteOp::kUpdate;
}

}  // namespace

Status WritePath::MatchSeenTxid(const OutboxEntry& e, bool* matched) {
  *matched = false;
  if (!e.txid) return Status::Ok();
  EL_ASSIGN_OR_RETURN(Stmt * seen, store_->Cached(
      "SELECT 1 FROM _el_seen_txids WHERE tbl = ?1 AND txid = ?2"));
  seen->BindText(1, e.table);
  seen->BindInt64(2, *e.txid);
  Result<bool> hit = seen->Step();
  seen->Reset();
  if (!hit.ok()) return hit.status();
  if (hit.value()) {
    *matched = true;
    return Status::Ok();
  }
  EL_ASSIGN_OR_RETURN(Stmt * snaps, store_->Cached(
      "SELECT xmin, xmax, xip FROM _el_snapshots WHERE tbl = ?1"));
  snaps->BindText(1, e.table);
  for (;;) {
    Result<bool> row = snaps->Step();
    if (!row.ok()) {
      snaps->Reset();
      return row.status();
    }
    if (!row.value()) break;
    // A stored snapshot that does not parse matches nothing (it was checked when stored).
    Result<SnapshotVisibility> snap = SnapshotVisibility::Parse(
        snaps->ColumnText(0), snaps->ColumnText(1), snaps->ColumnText(2), std::string_view());
    if (snap.ok() && snap.value().SawChange({*e.txid})) {
      *matched = true;
      break;
    }
  }
  snaps->Reset();
  return Status::Ok();
}

Status WritePath::DropIfConverged(const WriteTable& t, const OutboxEntry& e, bool* dropped) {
  *dropped = false;
  EL_ASSIGN_OR_RETURN(std::optional<json> synced, overlay_->ReadSynced(t, e.key));
  bool converged;
  if (e.op == "delete") {
    converged = !synced.has_value();
  } else {
    converged = synced.has_value();
    const ColumnTypes types = t.Types();
    for (auto it = e.value.begin(); converged && it != e.value.end(); ++it) {
      if (CompareColumn(types, it.key(), it.value(), (*synced)[it.key()]) != 0) converged = false;
    }
  }
  if (!converged) return Status::Ok();
  EL_RETURN_IF_ERROR(outbox_->Remove(e.id));
  EL_RETURN_IF_ERROR(overlay_->Rebuild(t, e.key, /*local_write=*/false));
  NoteChanged(t, e.key);
  *dropped = true;
  return Status::Ok();
}

Status WritePath::Acked(const OutboxEntry& e, int64_t txid) {
  EL_RETURN_IF_ERROR(outbox_->MarkAcked(e.id, txid));
  OutboxEntry acked = e;
  acked.status = "acked";
  acked.txid = txid;
  bool matched = false;
  EL_RETURN_IF_ERROR(MatchSeenTxid(acked, &matched));
  const WriteTable* t = Find(e.table);
  if (t == nullptr) return Status::Ok();
  if (matched) {
    // The stream already delivered this write: the synced row holds it.
    EL_RETURN_IF_ERROR(outbox_->Remove(e.id));
    EL_RETURN_IF_ERROR(overlay_->Rebuild(*t, e.key, /*local_write=*/false));
    NoteChanged(*t, e.key);
    return Status::Ok();
  }
  bool dropped = false;
  EL_RETURN_IF_ERROR(DropIfConverged(*t, acked, &dropped));
  if (dropped) return Status::Ok();
  // The server's answer is final: an applied write shows even where the
  // policy had let a concurrent server version through.
  EL_ASSIGN_OR_RETURN(std::optional<OverlayRow> ov, overlay_->Read(*t, e.key));
  if (ov && ov->yield) {
    EL_RETURN_IF_ERROR(overlay_->SetYield(*t, e.key, false));
    NoteChanged(*t, e.key);
  }
  return Status::Ok();
}

Status WritePath::Rejected(const OutboxEntry& e, std::string_view reason, const json& server_row,
                           int64_t now_ms) {
  EL_RETURN_IF_ERROR(outbox_->Remove(e.id));
  const WriteTable* t = Find(e.table);
  if (t == nullptr) return Status::Ok();
  // Roll back exactly this mutation: the overlay is refolded from what is left.
  EL_RETURN_IF_ERROR(overlay_->Rebuild(*t, e.key, /*local_write=*/false));
  NoteChanged(*t, e.key);
  // A custom table's write lost to a newer server row: the app's resolver
  // merges it with that row (the reply's), unless later local writes of the
  // row are still to be answered (they meet the server on their own).
  if (t->policy.kind == PolicyKind::kCustom && resolvers_.count(t->name) != 0 &&
      reason == "conflict" && e.op != "delete" && server_row.is_object()) {
    EL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> rest, outbox_->ForKey(t->name, e.key));
    if (rest.empty()) {
      json remote = StorageRow(*t, server_row);
      json local = Merge(remote, e.value);
      AskResolver(*t, e.key, local, std::move(remote), /*from_reply=*/true);
      return Status::Ok();
    }
  }
  json local = RowToWire(*t, Merge(Merge(e.base, e.key), e.value));
  return RecordConflict(*t, e.key, "rejected", local, server_row, reason, e.id, now_ms);
}

void WritePath::AskResolver(const WriteTable& t, const json& key, const json& local, json remote,
                            bool from_reply) {
  // One question per row at a time: a later server row updates the open one.
  for (auto& [id, pending] : resolves_) {
    if (pending.table == t.name && pending.key == key) {
      pending.remote = from_reply ? std::optional<json>(std::move(remote)) : std::nullopt;
      return;
    }
  }
  const std::string id = NewMutationId();
  Emit({{"type", "resolve"}, {"id", id}, {"table", t.name}, {"key", RowToWire(t, key)},
        {"local", RowToWire(t, local)}, {"remote", RowToWire(t, remote)}});
  resolves_[id] = PendingResolve{t.name, key,
                                 from_reply ? std::optional<json>(std::move(remote)) : std::nullopt};
}

Status WritePath::OnSnapshotEnd(std::string_view table, std::string_view xmin,
                                std::string_view xmax, const std::vector<std::string>& xip,
                                bool refetching) {
  const WriteTable* t = Find(table);
  if (t == nullptr) return Status::Ok();
  json list = json::array();
  for (const std::string& x : xip) list.push_back(x);
  EL_ASSIGN_OR_RETURN(SnapshotVisibility snap,
                      SnapshotVisibility::Parse(xmin, xmax, Dump(list), std::string_view()));
  EL_ASSIGN_OR_RETURN(Stmt * ins, store_->Cached(
      "INSERT OR IGNORE INTO _el_snapshots (tbl, xmin, xmax, xip, seq) VALUES (?1, ?2, ?3, ?4,"
      " (SELECT coalesce(max(seq), 0) + 1 FROM _el_snapshots WHERE tbl = ?1))"));
  ins->BindText(1, table);
  ins->BindText(2, xmin);
  ins->BindText(3, xmax);
  ins->BindText(4, Dump(list));
  Status s = ins->Run();
  ins->Reset();
  EL_RETURN_IF_ERROR(s);
  EL_ASSIGN_OR_RETURN(Stmt * prune, store_->Cached(
      "DELETE FROM _el_snapshots WHERE tbl = ?1 AND seq <= (SELECT max(seq) FROM _el_snapshots"
      " WHERE tbl = ?1) - ?2"));
  prune->BindText(1, table);
  prune->BindInt64(2, kKeepSnapshots);
  s = prune->Run();
  prune->Reset();
  EL_RETURN_IF_ERROR(s);
  if (refetching) return Status::Ok();  // matched once the stage is swapped in
  // Writes that committed before the snapshot will never arrive as changes.
  EL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> acked, outbox_->Acked(table, std::nullopt));
  for (const OutboxEntry& e : acked) {
    if (e.txid && snap.SawChange({*e.txid})) {
      EL_RETURN_IF_ERROR(outbox_->Remove(e.id));
      EL_RETURN_IF_ERROR(overlay_->Rebuild(*t, e.key, /*local_write=*/false));
      NoteChanged(*t, e.key);
    }
  }
  // Rows the snapshot (re)wrote under pending local edits.
  EL_ASSIGN_OR_RETURN(std::vector<json> dirty, overlay_->TakeDirty(*t));
  for (const json& key : dirty) EL_RETURN_IF_ERROR(DecideConcurrent(*t, key, 0));
  return Status::Ok();
}

Status WritePath::OnChangesApplied(std::string_view table, const std::vector<int64_t>& txids,
                                   int64_t now_ms, bool refetching) {
  const WriteTable* t = Find(table);
  if (t == nullptr) return Status::Ok();
  std::set<int64_t> here(txids.begin(), txids.end());
  // 1. Rows the server changed under an overlay: our own acknowledged writes
  //    are dropped in this transaction, other changes go to the policy.
  EL_ASSIGN_OR_RETURN(std::vector<json> dirty, overlay_->TakeDirty(*t));
  for (const json& key : dirty) {
    EL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> entries, outbox_->ForKey(t->name, key));
    bool removed = false;
    for (const OutboxEntry& e : entries) {
      if (e.status != "acked") continue;
      if (e.txid && here.count(*e.txid) != 0) {
        EL_RETURN_IF_ERROR(outbox_->Remove(e.id));
        removed = true;
      } else {
        bool dropped = false;
        EL_RETURN_IF_ERROR(DropIfConverged(*t, e, &dropped));
      }
    }
    if (removed) {
      EL_RETURN_IF_ERROR(overlay_->Rebuild(*t, key, /*local_write=*/false));
      NoteChanged(*t, key);
    }
    EL_RETURN_IF_ERROR(DecideConcurrent(*t, key, now_ms));
  }
  // 2. Acknowledged writes whose transaction was streamed in an earlier
  //    response without touching their row (no-op, outside the shape), or
  //    that a snapshot already holds.
  EL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> acked, outbox_->Acked(table, std::nullopt));
  for (const OutboxEntry& e : acked) {
    if (refetching) break;
    if (!e.txid || here.count(*e.txid) != 0) continue;
    bool matched = false;
    EL_RETURN_IF_ERROR(MatchSeenTxid(e, &matched));
    if (matched) {
      EL_RETURN_IF_ERROR(outbox_->Remove(e.id));
      EL_RETURN_IF_ERROR(overlay_->Rebuild(*t, e.key, /*local_write=*/false));
      NoteChanged(*t, e.key);
    }
  }
  // 3. Remember this response's txids for acks that arrive later.
  if (!here.empty()) {
    EL_ASSIGN_OR_RETURN(Stmt * ins, store_->Cached(
        "INSERT OR IGNORE INTO _el_seen_txids (tbl, txid, seq) VALUES (?1, ?2,"
        " (SELECT coalesce(max(seq), 0) + 1 FROM _el_seen_txids WHERE tbl = ?1))"));
    for (int64_t x : here) {
      ins->BindText(1, table);
      ins->BindInt64(2, x);
      Status s = ins->Run();
      ins->Reset();
      EL_RETURN_IF_ERROR(s);
    }
    EL_ASSIGN_OR_RETURN(Stmt * prune, store_->Cached(
        "DELETE FROM _el_seen_txids WHERE tbl = ?1 AND seq <= (SELECT max(seq) FROM"
        " _el_seen_txids WHERE tbl = ?1) - ?2"));
    prune->BindText(1, table);
    prune->BindInt64(2, kKeepSeenTxids);
    Status s = prune->Run();
    prune->Reset();
    EL_RETURN_IF_ERROR(s);
  }
  return Status::Ok();
}

Status WritePath::DecideConcurrent(const WriteTable& t, const json& key, int64_t now_ms) {
  EL_ASSIGN_OR_RETURN(std::optional<OverlayRow> ov, overlay_->Read(t, key));
  if (!ov) return Status::Ok();
  EL_ASSIGN_OR_RETURN(std::optional<json> remote, overlay_->ReadSynced(t, key));
  // The server deleted the row: a pending update hides with it, a pending
  // insert still shows; the server's answer to the upload decides.
  if (!remote) return Status::Ok();
  EL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> entries, outbox_->ForKey(t.name, key));
  bool all_acked = !entries.empty();
  for (const OutboxEntry& e : entries) all_acked = all_acked && e.status == "acked";
  if (all_acked) {
    // The server already applied our writes and their transaction has not
    // streamed yet: this change committed before them, ours will land on top.
    if (ov->yield) {
      EL_RETURN_IF_ERROR(overlay_->SetYield(t, key, false));
      NoteChanged(t, key);
    }
    return Status::Ok();
  }
  // Predict the endpoint's answer to our pending mutations (the first one it
  // has not answered meets this row first) with its own decision.
  const OutboxEntry* first = nullptr;
  for (const OutboxEntry& e : entries) {
    if (e.status != "acked") {
      first = &e;
      break;
    }
  }
  const ColumnTypes types = t.Types();
  json local = *remote;
  json value = json::object();
  if (ov->op == "delete") {
    if (!entries.empty()) value = entries.back().value;  // its timestamp (LWW)
    for (auto it = value.begin(); it != value.end(); ++it) local[it.key()] = it.value();
  } else {
    bool converged = true;
    for (auto it = ov->values.begin(); it != ov->values.end(); ++it) {
      local[it.key()] = it.value();
      if (CompareColumn(types, it.key(), it.value(), (*remote)[it.key()]) != 0) converged = false;
    }
    if (converged) {  // the server already holds what we wrote
      if (ov->yield) EL_RETURN_IF_ERROR(overlay_->SetYield(t, key, false));
      return Status::Ok();
    }
    value = ov->values;
  }
  WriteCase c;
  c.op = OpOf(ov->op);
  c.mutation_id = ov->write_id;
  c.value = &value;
  c.base = first != nullptr ? &first->base : nullptr;
  c.server = &*remote;
  c.last_writer = LastWriter{};  // never known here: a tie goes to the server row
  const Verdict v = DecideWrite(t.policy, types, c);
  const bool yield = v.outcome != Outcome::kApplied;
  if (!v.conflict) {
    // Based on this very row: the endpoint applies ours on top of it.
    if (ov->yield) {
      EL_RETURN_IF_ERROR(overlay_->SetYield(t, key, false));
      NoteChanged(t, key);
    }
    return Status::Ok();
  }
  if (yield && t.policy.kind == PolicyKind::kCustom && resolvers_.count(t.name) != 0 &&
      c.op != WriteOp::kDelete) {
    AskResolver(t, key, local, *remote, /*from_reply=*/false);
    return Status::Ok();
  }
  if (yield != ov->yield) {
    EL_RETURN_IF_ERROR(overlay_->SetYield(t, key, yield));
    NoteChanged(t, key);
  }
  return RecordConflict(t, key, yield ? "remote" : "local", RowToWire(t, local),
                        RowToWire(t, *remote), "concurrent server change", ov->write_id, now_ms);
}

Status WritePath::RecordConflict(const WriteTable& t, const json& key, std::string_view outcome,
                                 const json& local, const json& remote, std::string_view reason,
                                 std::string_view mutation_id, int64_t now_ms) {
  const char* policy = PolicyName(t.policy.kind);
  const json wire_key = RowToWire(t, key);
  EL_ASSIGN_OR_RETURN(Stmt * ins, store_->Cached(
      "INSERT INTO _el_conflicts (at_ms, mutation_id, tbl, key, policy, outcome, local, remote,"
      " reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
  ins->BindInt64(1, now_ms);
  ins->BindText(2, mutation_id);
  ins->BindText(3, t.name);
  ins->BindText(4, Dump(wire_key));
  ins->BindText(5, policy);
  ins->BindText(6, outcome);
  ins->BindText(7, Dump(local));
  ins->BindText(8, Dump(remote));
  ins->BindText(9, reason);
  Status s = ins->Run();
  ins->Reset();
  EL_RETURN_IF_ERROR(s);
  EL_ASSIGN_OR_RETURN(Stmt * stat, store_->Cached(
      "INSERT INTO _el_conflict_stats (tbl, policy, outcome, count) VALUES (?1, ?2, ?3, 1)"
      " ON CONFLICT (tbl, policy, outcome) DO UPDATE SET count = count + 1"));
  stat->BindText(1, t.name);
  stat->BindText(2, policy);
  stat->BindText(3, outcome);
  s = stat->Run();
  stat->Reset();
  EL_RETURN_IF_ERROR(s);
  EL_ASSIGN_OR_RETURN(Stmt * prune, store_->Cached(
      "DELETE FROM _el_conflicts WHERE seq <= (SELECT max(seq) FROM _el_conflicts) - ?1"));
  prune->BindInt64(1, kKeepConflicts);
  s = prune->Run();
  prune->Reset();
  EL_RETURN_IF_ERROR(s);
  Emit({{"type", "conflict"}, {"table", t.name}, {"key", wire_key}, {"policy", policy},
        {"outcome", outcome}, {"local", local}, {"remote", remote}, {"reason", reason},
        {"mutationId", mutation_id}});
  return Status::Ok();
}

Result<json> WritePath::Metrics() {
  json conflicts = json::array();
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
      "SELECT tbl, policy, outcome, count FROM _el_conflict_stats ORDER BY tbl, policy, outcome"));
  for (;;) {
    Result<bool> row = st->Step();
    if (!row.ok()) {
      st->Reset();
      return row.status();
    }
    if (!row.value()) break;
    conflicts.push_back({{"table", std::string(st->ColumnText(0))},
                         {"policy", std::string(st->ColumnText(1))},
                         {"outcome", std::string(st->ColumnText(2))},
                         {"count", st->ColumnInt64(3)}});
  }
  st->Reset();
  json outbox = json::object();
  for (const char* status : {"pending", "in_flight", "acked", "failed"}) {
    EL_ASSIGN_OR_RETURN(int64_t n, outbox_->CountByStatus(status));
    outbox[status] = n;
  }
  return json{{"conflicts", conflicts}, {"outbox", outbox}};
}

}  // namespace electrolite
