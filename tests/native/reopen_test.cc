// Reopening a persisted database: the tables, overlays, views and triggers built from
// the same declarations are kept as they are (no DDL re-run, the schema cookie does not
// move), while a changed declaration still rebuilds them — and the data and pending
// writes survive both.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "engine.h"
#include "engine_test_seams.h"
#include "engine_test_util.h"
#include "old_outbox_schema.h"
#include "store.h"

namespace electrolite {
namespace {

using testing::QueryRows;
using testing::TempDbFile;

const char kSchemaV1[] =
    "CREATE TABLE notes (id uuid PRIMARY KEY, body text NOT NULL, updated_at timestamptz);";
const char kSchemaV2[] =
    "CREATE TABLE notes (id uuid PRIMARY KEY, body text NOT NULL, updated_at timestamptz,"
    " pinned boolean);";
const char kPolicies[] = R"({"notes": {"policy": "last-write-wins", "timestamp": "updated_at", "writable": true}})";
const char kNote[] = "00000000-0000-4000-8000-000000000001";

class ReopenTest : public ::testing::Test {
 protected:
  std::unique_ptr<Engine> Open(const char* schema) {
    EngineOptions o;
    o.path = path_;
    o.synchronous = "normal";
    o.schema_sql = schema;
    o.policies_json = kPolicies;
    o.auto_subscribe = false;
    o.now_ms = 1000 * ++opens_;  // seeds the mutation ids, as the host's clock does
    Result<std::unique_ptr<Engine>> e = Engine::Open(o, nullptr);
    EXPECT_TRUE(e.ok()) << e.status().message();
    return e.ok() ? std::move(e).value() : nullptr;
  }

  // PRAGMA schema_version of the closed database: every DDL statement moves it.
  int SchemaVersion() {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA schema_version", -1, &st, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }

  // A v1 database holding one note (a pending local insert), closed again.
  void CreateWithOneNote() {
    auto e = Open(kSchemaV1);
    ASSERT_NE(e, nullptr);
    std::string r = e->Insert("notes", std::string(R"({"id":")") + kNote + R"(","body":"hello"})", 1000);
    ASSERT_NE(r.find("\"ok\":true"), std::string::npos) << r;
  }

  TempDbFile file_{"reopen"};
  const std::string path_ = file_.path();
  int opens_ = 0;
};

TEST_F(ReopenTest, SameDeclarationsRunNoDdlAndKeepDataAndPendingWrites) {
  ASSERT_NO_FATAL_FAILURE(CreateWithOneNote());
  const int before = SchemaVersion();
  for (int i = 0; i < 2; i++) {
    auto e = Open(kSchemaV1);
    ASSERT_NE(e, nullptr);
    std::string q = e->Query("SELECT body FROM notes", "[]");
    EXPECT_NE(q.find(i == 0 ? "hello" : "edited"), std::string::npos) << q;
    // The triggers still route writes through the overlay + outbox.
    std::string w = e->Exec("UPDATE notes SET body = 'edited' WHERE id = ?1",
                            std::string("[\"") + kNote + "\"]", 2000 + i);
    ASSERT_NE(w.find("\"ok\":true"), std::string::npos) << w;
    EXPECT_NE(e->Query("SELECT body FROM notes", "[]").find("edited"), std::string::npos);
  }
  EXPECT_EQ(SchemaVersion(), before);
}

// Each open used to rewrite the outbox's stats row (a WAL frame and a sync on
// every page load) and re-run the bookkeeping DDL.
TEST_F(ReopenTest, UnchangedReopenChangesNoRow) {
  ASSERT_NO_FATAL_FAILURE(CreateWithOneNote());
  const int before = SchemaVersion();
  auto e = Open(kSchemaV1);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(sqlite3_total_changes64(EngineTestSeams::store(*e).raw()), 0);
  EXPECT_NE(e->StatusJson().find("\"pendingChanges\":1"), std::string::npos) << e->StatusJson();
  e.reset();
  EXPECT_EQ(SchemaVersion(), before);
}

TEST_F(ReopenTest, ChangedDeclarationRebuildsTheViewWithTheNewColumn) {
  ASSERT_NO_FATAL_FAILURE(CreateWithOneNote());
  const int before = SchemaVersion();
  {
    auto e = Open(kSchemaV2);
    ASSERT_NE(e, nullptr);
    std::string w = e->Exec("UPDATE notes SET pinned = true WHERE id = ?1",
                            std::string("[\"") + kNote + "\"]", 3000);
    ASSERT_NE(w.find("\"ok\":true"), std::string::npos) << w;
    std::string q = e->Query("SELECT body, pinned FROM notes", "[]");
    EXPECT_NE(q.find("hello"), std::string::npos) << q;
    EXPECT_NE(q.find("pinned"), std::string::npos) << q;
  }
  EXPECT_GT(SchemaVersion(), before);
  // And reopening with v2 again is a no-DDL open once more.
  const int after = SchemaVersion();
  { ASSERT_NE(Open(kSchemaV2), nullptr); }
  EXPECT_EQ(SchemaVersion(), after);
}

// A database whose outbox an earlier build created (IN-list CHECKs, count kept
// by triggers) opens with its pending writes, and the count stays exact.
TEST_F(ReopenTest, OutboxOfAnEarlierBuildIsUpgradedOnOpen) {
  CreateWithOneNote();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    const std::string downgrade = std::string(
        "BEGIN;"
        "CREATE TABLE _el_outbox_copy AS SELECT * FROM _el_outbox;"
        "DROP TABLE _el_outbox; DROP TABLE _el_outbox_stats;") +
        kOldOutboxDdl +
        "INSERT INTO _el_outbox SELECT * FROM _el_outbox_copy;"
        "DROP TABLE _el_outbox_copy;";
    ASSERT_EQ(sqlite3_exec(db, downgrade.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE _el_kv SET value = ?1 WHERE key = 'schema:outbox'",
                                 -1, &st, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(st, 1, kOldOutboxDdl, -1, SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
    ASSERT_EQ(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    ASSERT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  {
    auto e = Open(kSchemaV1);
    ASSERT_NE(e, nullptr);
    EXPECT_NE(e->PendingMutations().find(kNote), std::string::npos);
    std::string r = e->Update("notes", std::string(R"({"id":")") + kNote + R"("})",
                              R"({"body":"again"})", 2000);
    ASSERT_NE(r.find("\"ok\":true"), std::string::npos) << r;
    std::string q = e->Query("SELECT body FROM notes", "[]");
    EXPECT_NE(q.find("again"), std::string::npos) << q;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto count = [db](const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sql;
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    const int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
  };
  EXPECT_EQ(count("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                  " AND tbl_name = '_el_outbox'"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM sqlite_master WHERE name = '_el_outbox'"
                  " AND sql LIKE '%IN (%'"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM _el_outbox"), 2);
  EXPECT_EQ(count("SELECT unacked FROM _el_outbox_stats"), 2);
  sqlite3_close(db);
}

}  // namespace
}  // namespace electrolite
