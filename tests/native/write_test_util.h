// Test support for the write path: a store with the demo schema's synced
// tables + overlays, a fake write endpoint (an in-memory "Postgres" that
// applies mutations under the same policies, hands out txids and remembers
// mutation ids), a stream that feeds its changes into T__synced the way a
// shape apply does, and a fault-injecting SQLite VFS.
#ifndef ELECTROLITE_TESTS_NATIVE_WRITE_TEST_UTIL_H_
#define ELECTROLITE_TESTS_NATIVE_WRITE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <zstd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "env.h"
#include "json_test_util.h"
#include "store.h"
#include "synced_tables.h"
#include "table_decl.h"
#include "upload.h"
#include "write_path.h"
#include "write_schema.h"

namespace electrolite {
namespace testing_write {

using json = Json;

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string SchemaSql() { return ReadFile(std::string(EL_SOURCE_DIR) + "/schema/schema.sql"); }
inline std::string PoliciesJson() {
  return ReadFile(std::string(EL_SOURCE_DIR) + "/schema/policies.json");
}

constexpr char kTask1[] = "00000000-0000-4000-8000-000000000001";
constexpr char kTask2[] = "00000000-0000-4000-8000-000000000002";
constexpr char kMem1[] = "00000000-0000-4000-8000-0000000000a1";

// ---------------------------------------------------------------------------
// A store with every demo table materialised the way the engine does it.
struct WriteHarness {
  std::unique_ptr<Store> store;
  SeededEnv env{42};
  std::unique_ptr<WritePath> writes;
  std::unique_ptr<Uploader> uploader;
  std::vector<std::unique_ptr<SyncedTable>> tables;
  int64_t next_request_id = 1;

  Status Open(const std::string& path = ":memory:", const std::string& vfs = "",
              UploadOptions options = {}, const std::string& policies = "") {
    Close();
    EL_ASSIGN_OR_RETURN(store, Store::Open(path, vfs));
    writes = std::make_unique<WritePath>(store.get(), &env);
    EL_RETURN_IF_ERROR(CreateBookkeeping(*store));
    EL_RETURN_IF_ERROR(writes->Init());
    const std::string sql = SchemaSql();
    EL_ASSIGN_OR_RETURN(std::vector<TableDecl> decls, ParseCreateTables(sql));
    EL_RETURN_IF_ERROR(ApplyPoliciesJson(policies.empty() ? PoliciesJson() : policies, &decls));
    const SchemaDefaults defaults = SchemaDefaultsOf(decls);
    WritePath* w = writes.get();
    ViewBuilder builder = [w, defaults](Store&, const TableDecl& decl) -> Status {
      EL_ASSIGN_OR_RETURN(WriteTable t, WriteTable::FromDecl(decl, defaults));
      return w->DeclareTable(std::move(t));
    };
    tables.clear();
    for (TableDecl& d : decls) {
      tables.push_back(std::make_unique<SyncedTable>(store.get(), d));
      // Reopen: the view exists already; declare the overlay ourselves.
      EL_RETURN_IF_ERROR(tables.back()->Materialize(builder));
      if (writes->Find(d.name) == nullptr) EL_RETURN_IF_ERROR(builder(*store, d));
    }
    if (options.client_id.empty()) options.client_id = "client-1";
    uploader = std::make_unique<Uploader>(store.get(), writes.get(), &env, options);
    return uploader->Init();
  }

  void Close() {
    uploader.reset();
    tables.clear();
    writes.reset();
    store.reset();
  }

  // Rows of a SELECT as JSON objects.
  std::vector<json> Rows(const std::string& sql) {
    std::vector<json> out;
    Result<Stmt> st = store->Prepare(sql);
    EXPECT_TRUE(st.ok()) << st.status().ToString() << " in " << sql;
    if (!st.ok()) return out;
    for (;;) {
      Result<bool> r = st->Step();
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok() || !r.value()) break;
      json row = json::object();
      for (int i = 0; i < st->ColumnCount(); ++i) row[st->ColumnName(i)] = ColumnJson(*st, i);
      out.push_back(std::move(row));
    }
    return out;
  }
  json Row(const std::string& table, const std::string& id) {
    auto rows = Rows("SELECT * FROM \"" + table + "\" WHERE id = '" + id + "'");
    return rows.empty() ? json() : rows[0];
  }
  int64_t Count(const std::string& sql) {
    auto rows = Rows(sql);
    return rows.empty() ? -1 : rows[0].begin()->get<int64_t>();
  }

  // Executes SQL the way Engine::Exec does: one transaction, triggers' errors
  // surfaced as their Status.
  Status Exec(const std::string& sql, int64_t now_ms, int64_t* mutations = nullptr) {
    Txn txn(store.get());
    EL_RETURN_IF_ERROR(txn.Begin());
    writes->BeginSql(now_ms);
    Status s = store->Exec(sql);
    s = writes->EndSql(std::move(s), mutations);
    if (!s.ok()) return s;
    Status c = txn.Commit();
    uploader->NoteWrites();
    return c;
  }

  std::optional<Request> Poll(int64_t now_ms) {
    Result<std::optional<Request>> r = uploader->Poll(now_ms, next_request_id);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || !r.value()) return std::nullopt;
    ++next_request_id;
    return r.value();
  }

  // A synced `tasks` row as the server would have it (priority 1, pending, 2023-01-01).
  Status SeedTask(const std::string& id, const std::string& title, int64_t now_ms) {
    json row = {{"id", id},           {"user_id", "u1"},  {"title", title},
                {"status", "pending"}, {"priority", 1},
                {"created_at", "2023-01-01 00:00:00+00"},
                {"updated_at", "2023-01-01 00:00:00+00"}};
    return ApplyServerRows("tasks", {row}, {}, now_ms);
  }

  // Applies server rows to T__synced as a shape response would, in one
  // transaction with the write path's hook.
  Status ApplyServerRows(const std::string& table, const std::vector<json>& wire_rows,
                         const std::vector<int64_t>& txids, int64_t now_ms,
                         const std::vector<json>& deleted_keys = {}) {
    const WriteTable* t = writes->Find(table);
    if (t == nullptr) return Status::NotFound(table);
    Txn txn(store.get());
    EL_RETURN_IF_ERROR(txn.Begin());
    for (const json& wire : wire_rows) {
      std::string cols, params;
      std::vector<json> values;
      for (const WriteColumn& c : t->columns) {
        auto it = wire.find(c.name);
        json v = it == wire.end() ? json() : *it;
        EL_ASSIGN_OR_RETURN(json stored, NormalizeValue(*t, c, v));
        if (!cols.empty()) {
          cols += ", ";
          params += ", ";
        }
        cols += QuoteIdent(c.name);
        params += "?" + std::to_string(values.size() + 1);
        values.push_back(stored);
      }
      std::string update;
      for (const WriteColumn& c : t->columns) {
        if (!update.empty()) update += ", ";
        update += QuoteIdent(c.name) + " = excluded." + QuoteIdent(c.name);
      }
      EL_ASSIGN_OR_RETURN(Stmt st, store->Prepare(
          "INSERT INTO " + QuoteIdent(t->SyncedName()) + " (" + cols + ") VALUES (" + params +
          ") ON CONFLICT DO UPDATE SET " + update));
      for (size_t i = 0; i < values.size(); ++i) BindJson(&st, static_cast<int>(i + 1), values[i]);
      EL_RETURN_IF_ERROR(st.Run());
    }
    for (const json& key : deleted_keys) {
      EL_ASSIGN_OR_RETURN(Stmt st, store->Prepare("DELETE FROM " + QuoteIdent(t->SyncedName()) +
                                                  " WHERE id = ?1"));
      BindJson(&st, 1, key["id"]);
      EL_RETURN_IF_ERROR(st.Run());
    }
    EL_RETURN_IF_ERROR(writes->OnChangesApplied(table, txids, now_ms));
    return txn.Commit();
  }

  std::vector<json> Events() {
    std::vector<json> out;
    for (const std::string& e : writes->TakeEvents()) out.push_back(json::parse(e));
    return out;
  }
};

// ---------------------------------------------------------------------------
// The write endpoint, in memory: one "transaction" (txid) per request,
// mutation ids remembered, the same conflict rules as the engine.
class FakeWriteServer {
 public:
  struct Change {
    std::string table;
    std::string op;  // insert | update | delete
    json row;        // wire form (full row; key only for delete)
    int64_t txid;
  };

  explicit FakeWriteServer(const WriteHarness* h) : h_(h) {}

  std::map<std::string, std::map<std::string, json>> rows;  // table -> id -> wire row
  std::vector<std::string> seen_ids;                        // every mutation id received
  std::map<std::string, int> applied_count;                 // id -> times applied
  std::vector<Change> changes;                              // stream, in commit order
  std::vector<size_t> batch_sizes;
  std::map<std::string, std::map<std::string, std::string>> last_writer;  // table -> id -> mutation
  std::string now_text = "2023-11-14T22:13:20Z";  // the endpoint's now() (R1)
  int64_t next_txid = 700;

  // Answers one request: (status, body). Sets *compressed when the body was zstd.
  std::pair<int, std::string> Handle(const Request& req, const std::string& body,
                                     bool* compressed = nullptr) {
    std::string text = body;
    bool zstd = false;
    for (const auto& [k, v] : req.headers) {
      if (k == "content-encoding" && v == "zstd") zstd = true;
    }
    if (compressed) *compressed = zstd;
    if (zstd) {
      const unsigned long long n = ZSTD_getFrameContentSize(body.data(), body.size());
      text.assign(static_cast<size_t>(n), '\0');
      const size_t got = ZSTD_decompress(text.data(), text.size(), body.data(), body.size());
      if (ZSTD_isError(got)) return {400, R"({"error":"bad zstd"})"};
    }
    json j = json::parse(text);
    if (!j.is_object() || !j["mutations"].is_array()) return {400, R"({"error":"bad body"})"};
    const int64_t txid = next_txid++;
    json results = json::array();
    batch_sizes.push_back(j["mutations"].size());
    for (const json& m : j["mutations"]) {
      const std::string id = m["id"].get<std::string>();
      seen_ids.push_back(id);
      auto done = results_.find(id);
      if (done != results_.end()) {  // R7: never applied twice, no txid of its own
        results.push_back({{"id", id}, {"status", "duplicate"}, {"original", done->second["status"]}});
        continue;
      }
      json r = Apply(m, txid);
      results_[id] = r;
      results.push_back(r);
    }
    return {200, json{{"txid", std::to_string(txid)}, {"results", results}}.dump()};
  }

  // A server-side change by someone else (another client; `writer`: its
  // mutation id when it came through the endpoint).
  void ServerWrite(const std::string& table, const json& row, const std::string& writer = "") {
    const int64_t txid = next_txid++;
    if (!writer.empty()) last_writer[table][row["id"].get<std::string>()] = writer;
    json& cur = rows[table][row["id"].get<std::string>()];
    if (cur.is_null()) cur = json::object();
    for (auto it = row.begin(); it != row.end(); ++it) cur[it.key()] = it.value();
    changes.push_back({table, "update", cur, txid});
  }

 private:
  // The endpoint's rules in memory: R1 here, the decision (R0, R2-R5) the
  // shared DecideWrite, as server/policy.ts runs it.
  json Apply(const json& m, int64_t txid) {
    const std::string id = m["id"].get<std::string>(), table = m["table"].get<std::string>(),
                      op = m["op"].get<std::string>();
    const WriteTable* t = h_->writes->Find(table);
    json r = {{"id", id}};
    const std::string key = m["key"]["id"].get<std::string>();
    auto& table_rows = rows[table];
    auto it = table_rows.find(key);
    const json* cur = it == table_rows.end() ? nullptr : &it->second;
    if (t == nullptr) return json{{"id", id}, {"status", "rejected"}, {"reason", "read_only"}};
    const std::string ts = t->policy.timestamp_column;
    json value = m.contains("value") && m["value"].is_object() ? m["value"] : json::object();
    if (op != "delete" && t->ColumnIndex(ts) >= 0 && !value.contains(ts)) value[ts] = now_text;  // R1
    const json now = now_text;
    const json* base = m.contains("base") && m["base"].is_object() ? &m["base"] : nullptr;
    WriteCase c;
    c.op = op == "insert" ? WriteOp::kInsert : op == "delete" ? WriteOp::kDelete : WriteOp::kUpdate;
    c.mutation_id = id;
    c.value = &value;
    c.base = base;
    c.server = cur;
    c.now = &now;
    auto w = last_writer[table].find(key);
    c.last_writer = LastWriter{w != last_writer[table].end() ? w->second : "", false};
    const Verdict v = DecideWrite(t->policy, t->Types(), c);
    if (v.outcome != Outcome::kApplied) {
      r["status"] = "rejected";
      r["reason"] = v.reason;
      r["row"] = cur ? *cur : json();
      return r;
    }
    if (c.op == WriteOp::kDelete) {
      table_rows.erase(key);
      changes.push_back({table, "delete", m["key"], txid});
    } else {
      json row = cur ? *cur : json::object();
      for (auto x = value.begin(); x != value.end(); ++x) row[x.key()] = x.value();
      for (auto k = m["key"].begin(); k != m["key"].end(); ++k) row[k.key()] = k.value();
      table_rows[key] = row;
      changes.push_back({table, cur ? "update" : "insert", row, txid});
    }
    ++applied_count[id];
    last_writer[table][key] = id;
    r["status"] = "applied";
    return r;
  }

  const WriteHarness* h_;
  std::map<std::string, json> results_;
};

// Feeds the fake server's changes from `*cursor` on into the harness, one
// response per table per call (all pending changes), like a live shape poll.
inline Status DeliverChanges(WriteHarness* h, FakeWriteServer* s, size_t* cursor, int64_t now_ms) {
  std::map<std::string, std::vector<json>> upserts, deletes;
  std::map<std::string, std::vector<int64_t>> txids;
  for (; *cursor < s->changes.size(); ++*cursor) {
    const auto& c = s->changes[*cursor];
    if (c.op == "delete") {
      deletes[c.table].push_back(c.row);
    } else {
      upserts[c.table].push_back(c.row);
    }
    txids[c.table].push_back(c.txid);
  }
  for (auto& [table, ids] : txids) {
    EL_RETURN_IF_ERROR(h->ApplyServerRows(table, upserts[table], ids, now_ms, deletes[table]));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// A VFS over the default one that fails the Nth write or sync (counted over
// every file) with SQLITE_IOERR, and everything after it until Reset().
class FaultVfs {
 public:
  static FaultVfs& Get() {
    static FaultVfs vfs;
    return vfs;
  }
  static constexpr const char* kName = "el-fault";

  void Arm(int fail_at) {
    count_ = 0;
    fail_at_ = fail_at;
    failed_ = false;
  }
  void Disarm() { fail_at_ = -1; }
  bool failed() const { return failed_; }
  int count() const { return count_; }

 private:
  struct File {
    sqlite3_file base;
    sqlite3_file* real;
  };

  FaultVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = kName;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.xOpen = &Open;
    vfs_.pAppData = this;
    io_.iVersion = 1;
    io_.xClose = [](sqlite3_file* f) {
      File* p = reinterpret_cast<File*>(f);
      int rc = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
      return rc;
    };
    io_.xRead = [](sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
      File* p = reinterpret_cast<File*>(f);
      return p->real->pMethods->xRead(p->real, b, n, o);
    };
    io_.xWrite = [](sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
      File* p = reinterpret_cast<File*>(f);
      if (Get().Tick()) return SQLITE_IOERR_WRITE;
      return p->real->pMethods->xWrite(p->real, b, n, o);
    };
    io_.xTruncate = [](sqlite3_file* f, sqlite3_int64 n) {
      File* p = reinterpret_cast<File*>(f);
      return p->real->pMethods->xTruncate(p->real, n);
    };
    io_.xSync = [](sqlite3_file* f, int flags) {
      File* p = reinterpret_cast<File*>(f);
      if (Get().Tick()) return SQLITE_IOERR_FSYNC;
      return p->real->pMethods->xSync(p->real, flags);
    };
    io_.xFileSize = [](sqlite3_file* f, sqlite3_int64* n) {
      File* p = reinterpret_cast<File*>(f);
      return p->real->pMethods->xFileSize(p->real, n);
    };
    io_.xLock = [](sqlite3_file* f, int l) {
      File* p = reinterpret_cast<File*>(f);
      return p->real->pMethods->xLock(p->real, l);
    };
    io_.xUnlock = [](sqlite3_file* f, int l) {
      File* p = reinterpret_cast<File*>(f);
      return p->real->pMethods->xUnlock(p->real, l);
    };
    io_.xCheckReservedLock = [](sqlite3_file* f, int* r) {
      File* p = reinterpret_cast<File*>(f);
      return p->real->pMethods->xCheckReservedLock(p->real, r);
    };
    io_.xFileControl = [](sqlite3_file* f, int op, void* a) {
      File* p = reinterpret_cast<File*>(f);
      return p->real->pMethods->xFileControl(p->real, op, a);
    };
    io_.xSectorSize = [](sqlite3_file* f) {
      File* p = reinterpret_cast<File*>(f);
      return p->real->pMethods->xSectorSize(p->real);
    };
    io_.xDeviceCharacteristics = [](sqlite3_file* f) {
      File* p = reinterpret_cast<File*>(f);
      return p->real->pMethods->xDeviceCharacteristics(p->real);
    };
    sqlite3_vfs_register(&vfs_, 0);
  }

  bool Tick() {
    if (fail_at_ < 0) return false;
    if (failed_) return true;
    if (++count_ == fail_at_) {
      failed_ = true;
      return true;
    }
    return false;
  }

  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out) {
    FaultVfs* self = static_cast<FaultVfs*>(vfs->pAppData);
    File* p = reinterpret_cast<File*>(f);
    p->real = reinterpret_cast<sqlite3_file*>(p + 1);
    std::memset(p->real, 0, static_cast<size_t>(self->real_->szOsFile));
    int rc = self->real_->xOpen(self->real_, name, p->real, flags, out);
    p->base.pMethods = p->real->pMethods ? &self->io_ : nullptr;
    return rc;
  }

  sqlite3_vfs* real_;
  sqlite3_vfs vfs_;
  sqlite3_io_methods io_{};
  int count_ = 0;
  int fail_at_ = -1;
  bool failed_ = false;
};

}  // namespace testing_write
}  // namespace electrolite

#endif  // ELECTROLITE_TESTS_NATIVE_WRITE_TEST_UTIL_H_
