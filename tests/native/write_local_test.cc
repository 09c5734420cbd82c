// Local writes: typed API and plain SQL on the view take the same path into
// overlay + outbox; validation; the merged view; discard.
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "write_test_util.h"

namespace electrolite {
namespace testing_write {
namespace {

constexpr int64_t kNow = 1700000000000;  // 2023-11-14T22:13:20Z

class WriteLocalTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h.Open().ok()); }

  // A synced task as the server would have it.
  void SeedTask(const char* id, const char* title) { ASSERT_TRUE(h.SeedTask(id, title, kNow).ok()); }

  WriteHarness h;
};

TEST_F(WriteLocalTest, TypedInsertShowsInViewAndQueuesOneMutation) {
  Result<std::string> id = h.writes->Insert(
      "tasks", {{"id", kTask1}, {"user_id", "u1"}, {"title", "write tests"}}, kNow);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->size(), 36u);
  EXPECT_EQ((*id)[14], '4');  // UUID v4
  json row = h.Row("tasks", kTask1);
  EXPECT_EQ(row["title"], "write tests");
  EXPECT_EQ(row["status"], "pending");  // schema DEFAULT 'pending'
  EXPECT_EQ(row["priority"], 0);        // DEFAULT 0
  EXPECT_EQ(row["created_at"], "2023-11-14T22:13:20.000Z");  // DEFAULT now()
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__synced"), 0);
  Result<json> pending = h.writes->PendingMutations();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  const json& m = (*pending)[0];
  EXPECT_EQ(m["id"], *id);
  EXPECT_EQ(m["op"], "insert");
  EXPECT_EQ(m["key"], json({{"id", kTask1}}));
  EXPECT_EQ(m["value"]["title"], "write tests");
  EXPECT_EQ(m["status"], "pending");
  EXPECT_EQ(m["localMs"], kNow);
  EXPECT_EQ(*h.writes->PendingCount(), 1);
}

TEST_F(WriteLocalTest, SqlWritesGoThroughTheSamePath) {
  int64_t n = 0;
  Status s = h.Exec(std::string("INSERT INTO tasks (id, user_id, title) VALUES ('") + kTask1 +
                        "', 'u1', 'from sql'), ('" + kTask2 + "', 'u1', 'second')",
                    kNow, &n);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(n, 2);
  s = h.Exec("UPDATE tasks SET priority = 7 WHERE title = 'from sql'", kNow + 1, &n);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(n, 1);
  EXPECT_EQ(h.Row("tasks", kTask1)["priority"], 7);
  ASSERT_TRUE(h.Exec(std::string("DELETE FROM tasks WHERE id = '") + kTask2 + "'", kNow + 2, &n)
                  .ok());
  EXPECT_EQ(n, 1);
  EXPECT_TRUE(h.Row("tasks", kTask2).is_null());
  auto ops = h.Rows("SELECT op FROM _el_outbox ORDER BY seq");
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(ops[0]["op"], "insert");
  EXPECT_EQ(ops[2]["op"], "update");
  EXPECT_EQ(ops[3]["op"], "delete");
  // The update carries only what changed plus the LWW timestamp.
  auto value = json::parse(h.Rows("SELECT value FROM _el_outbox WHERE op = 'update'")[0]["value"]
                               .get<std::string>());
  EXPECT_EQ(value.size(), 2u);
  EXPECT_EQ(value["priority"], 7);
  EXPECT_EQ(value["updated_at"], "2023-11-14T22:13:20.001Z");
}

// The merged view flattens into the outer query (its arms' column affinities agree), so a
// sorted, limited read of a few columns does not build every merged column of every row
// in a co-routine first; a key lookup still uses each arm's primary key.
TEST_F(WriteLocalTest, MergedViewFlattensIntoTheQueryAndKeepsKeyLookups) {
  SeedTask(kTask1, "synced");
  ASSERT_TRUE(h.writes->Insert("tasks", {{"id", kTask2}, {"user_id", "u1"}, {"title", "local"}}, kNow).ok());
  auto plan = [&](const std::string& sql) {
    std::string text;
    for (const json& r : h.Rows("EXPLAIN QUERY PLAN " + sql)) text += r["detail"].get<std::string>() + " | ";
    return text;
  };
  // (SQLite flattens only when each ORDER BY term is also a result column.)
  const std::string sorted = plan("SELECT id, title, updated_at FROM tasks ORDER BY updated_at DESC LIMIT 50");
  EXPECT_EQ(sorted.find("CO-ROUTINE"), std::string::npos) << sorted;
  const std::string by_key = plan(std::string("SELECT * FROM tasks WHERE id = '") + kTask1 + "'");
  EXPECT_NE(by_key.find("SEARCH s USING INDEX"), std::string::npos) << by_key;
  EXPECT_NE(by_key.find("SEARCH o USING INDEX"), std::string::npos) << by_key;
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks"), 2);
  EXPECT_EQ(h.Rows("SELECT title FROM tasks ORDER BY updated_at DESC LIMIT 1")[0]["title"], "local");
}

// A database whose overlay has an untyped key (earlier builds) is rebuilt on open with
// the typed key, keeping its rows, so its view flattens too.
TEST(WriteLocalUpgradeTest, AnUntypedOverlayKeyIsRetypedKeepingItsRows) {
  char tmpl[] = "/tmp/electrolite-overlay-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string path = dir + "/db.sqlite";
  {
    WriteHarness h;
    ASSERT_TRUE(h.Open(path).ok());
    ASSERT_TRUE(h.writes->Insert("tasks", {{"id", kTask1}, {"user_id", "u1"}, {"title", "pending"}}, kNow).ok());
    // Back to the earlier layout: the overlay's key without a type, and its recorded DDL.
    std::string create = h.Rows("SELECT sql FROM sqlite_schema WHERE name = 'tasks__overlay'")[0]["sql"].get<std::string>();
    const std::string typed = "\"id\" TEXT,";
    ASSERT_NE(create.find(typed), std::string::npos) << create;
    create.replace(create.find(typed), typed.size(), "\"id\",");
    ASSERT_TRUE(h.store->Exec("DROP VIEW tasks; ALTER TABLE tasks__overlay RENAME TO old_overlay; " + create +
                              "; INSERT INTO tasks__overlay SELECT * FROM old_overlay; DROP TABLE old_overlay;"
                              " UPDATE _el_kv SET value = 'earlier' WHERE key = 'ddl:tasks'").ok());
    EXPECT_EQ(h.Rows("SELECT type FROM pragma_table_info('tasks__overlay') WHERE name = 'id'")[0]["type"], "");
  }
  WriteHarness h;
  ASSERT_TRUE(h.Open(path).ok());
  EXPECT_EQ(h.Rows("SELECT type FROM pragma_table_info('tasks__overlay') WHERE name = 'id'")[0]["type"], "TEXT");
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "pending");
  EXPECT_EQ(*h.writes->PendingCount(), 1);
  EXPECT_EQ(h.Count("SELECT count(*) FROM sqlite_schema WHERE name = 'tasks__overlay__untyped'"), 0);
  std::string plan;
  for (const json& r : h.Rows("EXPLAIN QUERY PLAN SELECT id, updated_at FROM tasks ORDER BY updated_at LIMIT 5")) plan += r["detail"].get<std::string>();
  EXPECT_EQ(plan.find("CO-ROUTINE"), std::string::npos) << plan;
  h.Close();
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path + suffix).c_str());
  rmdir(dir.c_str());
}

TEST_F(WriteLocalTest, UpdateOverlaysOnlyChangedColumns) {
  SeedTask(kTask1, "synced title");
  Result<std::string> id = h.writes->Update("tasks", {{"id", kTask1}}, {{"status", "completed"}},
                                            kNow);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  json row = h.Row("tasks", kTask1);
  EXPECT_EQ(row["status"], "completed");
  EXPECT_EQ(row["title"], "synced title");
  // A server change to another column shows through the overlay.
  json server = h.Rows("SELECT * FROM tasks__synced")[0];
  server["title"] = "renamed on server";
  ASSERT_TRUE(h.ApplyServerRows("tasks", {server}, {900}, kNow).ok());
  row = h.Row("tasks", kTask1);
  EXPECT_EQ(row["title"], "renamed on server");
  EXPECT_EQ(row["status"], "completed");
  // The base is what the client saw.
  auto base = json::parse(h.Rows("SELECT base FROM _el_outbox")[0]["base"].get<std::string>());
  EXPECT_EQ(base["status"], "pending");
  EXPECT_EQ(base["title"], "synced title");
}

TEST_F(WriteLocalTest, NothingChangedRecordsNoMutation) {
  SeedTask(kTask1, "same");
  Result<std::string> id = h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "same"}}, kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "");
  int64_t n = -1;
  ASSERT_TRUE(h.Exec("UPDATE tasks SET title = title", kNow, &n).ok());
  EXPECT_EQ(n, 0);
  EXPECT_EQ(*h.writes->PendingCount(), 0);
}

TEST_F(WriteLocalTest, ReadOnlyTableFailsAtOnceAndChangesNothing) {
  Result<std::string> r = h.writes->Insert(
      "workflows", {{"id", kTask1}, {"user_id", "u"}, {"name", "n"}, {"definition", "{}"}}, kNow);
  EXPECT_EQ(r.status().code(), Code::kReadOnly);
  EXPECT_NE(r.status().message().find("workflows"), std::string::npos);
  Status s = h.Exec(std::string("INSERT INTO workflows (id, user_id, name, definition) VALUES ('") +
                        kTask1 + "', 'u', 'n', '{}')",
                    kNow);
  EXPECT_EQ(s.code(), Code::kReadOnly) << s.ToString();
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM workflows"), 0);
}

TEST_F(WriteLocalTest, SchemaViolationsAreSchemaErrors) {
  auto code = [&](json row) { return h.writes->Insert("tasks", row, kNow).status().code(); };
  json ok = {{"id", kTask1}, {"user_id", "u1"}, {"title", "t"}};
  json unknown = ok;
  unknown["colour"] = "red";
  EXPECT_EQ(code(unknown), Code::kSchema);
  json wrong = ok;
  wrong["priority"] = "high";
  EXPECT_EQ(code(wrong), Code::kSchema);
  json bad_uuid = ok;
  bad_uuid["id"] = "not-a-uuid";
  EXPECT_EQ(code(bad_uuid), Code::kSchema);
  json missing = {{"id", kTask1}, {"user_id", "u1"}};  // title NOT NULL, no default
  EXPECT_EQ(code(missing), Code::kSchema);
  json bad_ts = ok;
  bad_ts["updated_at"] = "soon";
  EXPECT_EQ(code(bad_ts), Code::kSchema);
  EXPECT_EQ(h.writes->Insert("nope", ok, kNow).status().code(), Code::kNotFound);
  EXPECT_EQ(h.writes->Insert("tasks", json::array(), kNow).status().code(),
            Code::kInvalidArgument);
  // SQL: a NOT NULL violation and a wrong type abort the whole statement.
  Status s = h.Exec(std::string("INSERT INTO tasks (id, user_id, title) VALUES ('") + kTask1 +
                        "', 'u1', 'fine'), ('" + kTask2 + "', 'u1', NULL)",
                    kNow);
  EXPECT_EQ(s.code(), Code::kSchema) << s.ToString();
  s = h.Exec(std::string("INSERT INTO tasks (id, user_id, title, priority) VALUES ('") + kTask1 +
                 "', 'u1', 'x', 'high')",
             kNow);
  EXPECT_EQ(s.code(), Code::kSchema) << s.ToString();
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__overlay"), 0);
  // Updates: unknown column, NOT NULL, primary key change, missing row.
  SeedTask(kTask1, "t");
  EXPECT_EQ(h.writes->Update("tasks", {{"id", kTask1}}, {{"nope", 1}}, kNow).status().code(),
            Code::kSchema);
  EXPECT_EQ(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", nullptr}}, kNow).status().code(),
            Code::kSchema);
  EXPECT_EQ(h.writes->Update("tasks", {{"id", kTask1}}, {{"id", kTask2}}, kNow).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(h.writes->Update("tasks", {{"id", kTask2}}, {{"title", "x"}}, kNow).status().code(),
            Code::kNotFound);
  EXPECT_EQ(h.writes->Delete("tasks", {{"title", "x"}}, kNow).status().code(), Code::kSchema);
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
}

TEST_F(WriteLocalTest, InsertOfAnExistingRowIsAConflict) {
  SeedTask(kTask1, "t");
  Result<std::string> r =
      h.writes->Insert("tasks", {{"id", kTask1}, {"user_id", "u1"}, {"title", "again"}}, kNow);
  EXPECT_EQ(r.status().code(), Code::kConflict);
}

TEST_F(WriteLocalTest, ValuesAreStoredLikeTheSyncedMirror) {
  json row = {{"id", "00000000-0000-4000-8000-0000000000E1"},
              {"user_id", "u1"},
              {"name", "env"},
              {"config", {{"region", "eu"}, {"n", 2}}},
              {"is_active", true},
              {"updated_at", "2024-05-01 12:00:00+02"}};
  ASSERT_TRUE(h.writes->Insert("environments", row, kNow).ok());
  json got = h.Rows("SELECT * FROM environments")[0];
  EXPECT_EQ(got["id"], "00000000-0000-4000-8000-0000000000e1");  // uuid lower-cased
  EXPECT_EQ(got["is_active"], 1);                                  // bool as 0/1
  EXPECT_EQ(json::parse(got["config"].get<std::string>())["region"], "eu");
  EXPECT_EQ(got["updated_at"], "2024-05-01T10:00:00Z");  // ISO UTC, as the mirror
  // The wire form the endpoint receives: bool, JSON value.
  json m = (*h.writes->PendingMutations())[0];
  EXPECT_EQ(m["value"]["is_active"], true);
  EXPECT_EQ(m["value"]["config"]["n"], 2);
}

TEST_F(WriteLocalTest, LocalDeleteHidesAndDiscardRestores) {
  SeedTask(kTask1, "keep me");
  Result<std::string> id = h.writes->Delete("tasks", {{"id", kTask1}}, kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(h.Row("tasks", kTask1).is_null());
  ASSERT_TRUE(h.writes->DiscardMutation(*id).ok());
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "keep me");
  EXPECT_EQ(*h.writes->PendingCount(), 0);
  EXPECT_EQ(h.writes->DiscardMutation(*id).code(), Code::kNotFound);
}

TEST_F(WriteLocalTest, DiscardRollsBackOnlyItsOwnColumns) {
  SeedTask(kTask1, "t0");
  Result<std::string> a = h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "t1"}}, kNow);
  Result<std::string> b = h.writes->Update("tasks", {{"id", kTask1}}, {{"priority", 9}}, kNow + 5);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(h.writes->DiscardMutation(*a).ok());
  json row = h.Row("tasks", kTask1);
  EXPECT_EQ(row["title"], "t0");
  EXPECT_EQ(row["priority"], 9);
}

TEST_F(WriteLocalTest, RolledBackTransactionLeavesNoTrace) {
  ASSERT_TRUE(h.store->Exec("BEGIN").ok());
  ASSERT_TRUE(
      h.writes->Insert("tasks", {{"id", kTask1}, {"user_id", "u"}, {"title", "t"}}, kNow).ok());
  EXPECT_EQ(*h.writes->PendingCount(), 1);
  // No upload while the app's transaction is open.
  EXPECT_FALSE(h.Poll(kNow).has_value());
  ASSERT_TRUE(h.store->Exec("ROLLBACK").ok());
  EXPECT_EQ(*h.writes->PendingCount(), 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks"), 0);
}

TEST_F(WriteLocalTest, FailedSqlStatementInsideATransactionUndoesOnlyItself) {
  ASSERT_TRUE(h.store->Exec("BEGIN").ok());
  h.writes->BeginSql(kNow);
  Status s = h.store->Exec(std::string("INSERT INTO tasks (id, user_id, title) VALUES ('") +
                           kTask1 + "', 'u', 'kept')");
  ASSERT_TRUE(h.writes->EndSql(std::move(s), nullptr).ok());
  h.writes->BeginSql(kNow);
  s = h.store->Exec(std::string("INSERT INTO tasks (id, user_id, title) VALUES ('") + kTask2 +
                    "', 'u', 'undone'), ('00000000-0000-4000-8000-000000000003', 'u', NULL)");
  EXPECT_EQ(h.writes->EndSql(std::move(s), nullptr).code(), Code::kSchema);
  ASSERT_TRUE(h.store->Exec("COMMIT").ok());
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 1);
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__overlay"), 1);
  EXPECT_EQ(h.Rows("SELECT title FROM tasks")[0]["title"], "kept");
}

TEST_F(WriteLocalTest, SchemaDefaultsParser) {
  Result<std::vector<TableDecl>> decls = ParseCreateTables(
      "create table t (id uuid primary key default gen_random_uuid(),"
      " s text not null default 'it''s', n integer default -3, b boolean default true,"
      " ts timestamptz default now(), j jsonb not null default '{}', x int default f(1));");
  ASSERT_TRUE(decls.ok()) << decls.status().ToString();
  SchemaDefaults d = SchemaDefaultsOf(decls.value());
  EXPECT_EQ(d["t"]["id"].kind, ColumnDefault::kUuid);
  EXPECT_EQ(d["t"]["s"].value, "it's");
  EXPECT_EQ(d["t"]["n"].value, -3);
  EXPECT_EQ(d["t"]["b"].value, true);
  EXPECT_EQ(d["t"]["ts"].kind, ColumnDefault::kNow);
  EXPECT_EQ(d["t"]["j"].value, "{}");
  EXPECT_EQ(d["t"]["x"].kind, ColumnDefault::kServer);
}

// Defaults come from the engine's one CREATE TABLE parser (table_decl.h), so a
// comment, a quoted schema-qualified name or a cast reads as the declarations do.
TEST(WriteSchemaTest, SchemaDefaultsUseTheDeclarationsParser) {
  const char* sql =
      "CREATE TABLE IF NOT EXISTS public.\"Items\" (\n"
      "  id int8 PRIMARY KEY, -- the key, default none\n"
      "  note text DEFAULT NULL,\n"
      "  n int DEFAULT 1::int,\n"
      "  t timestamptz NOT NULL DEFAULT now() at time zone 'utc',\n"
      "  label text DEFAULT 'a, b' NOT NULL);";
  Result<std::vector<TableDecl>> decls = ParseCreateTables(sql);
  ASSERT_TRUE(decls.ok()) << decls.status().ToString();
  ASSERT_EQ(decls->front().name, "Items");
  SchemaDefaults d = SchemaDefaultsOf(decls.value());
  ASSERT_EQ(d.count("Items"), 1u);
  EXPECT_EQ(d["Items"].count("id"), 0u);
  EXPECT_EQ(d["Items"]["note"].kind, ColumnDefault::kServer);
  EXPECT_EQ(d["Items"]["n"].kind, ColumnDefault::kServer);
  EXPECT_EQ(d["Items"]["t"].kind, ColumnDefault::kNow);
  EXPECT_EQ(d["Items"]["label"].value, "a, b");
}

TEST(WriteSchemaTest, IsoFromMsAgreesWithGmtime) {
  EXPECT_EQ(IsoFromMs(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoFromMs(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(IsoFromMs(951782400123), "2000-02-29T00:00:00.123Z");
  EXPECT_EQ(IsoFromMs(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(IsoFromMs(253402300800000), "10000-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoFromMs(-62167219200001), "-001-12-31T23:59:59.999Z");
  uint64_t x = 12345;
  for (int i = 0; i < 20000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    // Years 1 .. 9999, either side of 1970.
    const int64_t ms = static_cast<int64_t>((x >> 16) % 315537897600000ULL) - 62135596800000;
    const int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    const time_t tt = static_cast<time_t>(secs);
    struct tm tm;
    ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
    if (tm.tm_year + 1900 < 0) continue;
    char want[64];
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms - secs * 1000));
    ASSERT_EQ(IsoFromMs(ms), want) << ms;
  }
}

TEST(WriteSchemaTest, AppendJsonStringFastWritesWhatAppendJsonStringWrites) {
  for (const std::string& s :
       {std::string(), std::string("00000000-0000-4000-8000-000000000001"), std::string("a\"b"),
        std::string("back\\slash"), std::string("tab\there"), std::string("nl\n"),
        std::string("nul\0in", 6), std::string("caf\xC3\xA9"), std::string("bad \xC3("),
        std::string("\x7f del"), std::string("\x1f")}) {
    std::string want = "prefix", got = "prefix";
    AppendJsonString(&want, s);
    AppendJsonStringFast(&got, s);
    EXPECT_EQ(got, want);
  }
}

}  // namespace
}  // namespace testing_write
}  // namespace electrolite
