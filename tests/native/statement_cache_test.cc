// The prepared-statement cache behind query/exec (src/statement_cache.h):
// repeated statements keep their results, tables and columns; a schema change
// (the app's DDL or the engine's own) re-prepares them; DDL is never kept.
#include <gtest/gtest.h>

#include "fake_electric.h"
#include "statement_cache.h"

namespace electrolite {
namespace testing {
namespace {

json Ok(const std::string& r) {
  json j = json::parse(r);
  EXPECT_TRUE(j["ok"].get<bool>()) << j.dump();
  return j;
}

TEST(StatementCacheTest, RepeatedStatementsKeepResultsTablesAndColumns) {
  auto e = Engine::Open(json{{"baseUrl", "http://e"}}.dump());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Engine& engine = *e.value();
  Ok(engine.Exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", ""));
  Ok(engine.Exec("INSERT INTO notes (body) VALUES (?)", "[\"a\"]"));
  json r = Ok(engine.Exec("INSERT INTO notes (body) VALUES (?)", "[\"b\"]"));
  EXPECT_EQ(r["changes"], 1);
  EXPECT_EQ(r["tables"], json::parse(R"(["notes"])"));  // from the cached entry
  for (int i = 0; i < 3; ++i) {
    r = Ok(engine.Query("SELECT id, body FROM notes WHERE id >= ? ORDER BY id", "[1]"));
    EXPECT_EQ(r["columns"], json::parse(R"(["id","body"])"));
    EXPECT_EQ(r["rows"], json::parse(R"([[1,"a"],[2,"b"]])"));
    EXPECT_EQ(r["tables"], json::parse(R"(["notes"])"));
  }
  // Unbound parameters of a reused statement are NULL again.
  r = Ok(engine.Query("SELECT ?1, ?2", "[1, 2]"));
  r = Ok(engine.Query("SELECT ?1, ?2", "[3]"));
  EXPECT_EQ(r["rows"], json::parse("[[3,null]]"));
  // The schema changes: SELECT * sees the new column.
  Ok(engine.Exec("ALTER TABLE notes ADD COLUMN n INTEGER DEFAULT 7", ""));
  r = Ok(engine.Query("SELECT * FROM notes ORDER BY id", ""));
  EXPECT_EQ(r["columns"], json::parse(R"(["id","body","n"])"));
  EXPECT_EQ(r["rows"][0], json::parse(R"([1,"a",7])"));
  // A view replaced under the same name: its new definition is read.
  Ok(engine.Exec("CREATE VIEW v AS SELECT body FROM notes", ""));
  EXPECT_EQ(Ok(engine.Query("SELECT * FROM v ORDER BY 1", ""))["rows"], json::parse(R"([["a"],["b"]])"));
  Ok(engine.Exec("DROP VIEW v", ""));
  Ok(engine.Exec("CREATE VIEW v AS SELECT id FROM notes", ""));
  r = Ok(engine.Query("SELECT * FROM v ORDER BY 1", ""));
  EXPECT_EQ(r["columns"], json::parse(R"(["id"])"));
  EXPECT_EQ(r["rows"], json::parse("[[1],[2]]"));
  // A failing statement leaves nothing behind that breaks the next call.
  EXPECT_FALSE(json::parse(engine.Query("SELECT ?", "[1, 2]"))["ok"].get<bool>());
  EXPECT_EQ(Ok(engine.Query("SELECT ?", "[5]"))["rows"], json::parse("[[5]]"));
  // DROP TABLE and VACUUM (db.clear) work with statements cached over the table.
  Ok(engine.Exec("DROP VIEW v", ""));
  Ok(engine.Exec("DROP TABLE notes", ""));
  EXPECT_FALSE(json::parse(engine.Query("SELECT id, body FROM notes WHERE id >= ? ORDER BY id", "[1]"))["ok"].get<bool>());
  Ok(engine.Clear());
}

TEST(StatementCacheTest, EvictsTheLeastRecentlyUsedAndDropsDdl) {
  auto store = Store::Open(":memory:", "");
  ASSERT_TRUE(store.ok());
  StatementCache cache(store.value().get());
  auto put = [&](const std::string& sql) {
    ASSERT_FALSE(cache.Take(sql).has_value());
    StatementCache::Entry entry;
    Result<Stmt> st = store.value()->Prepare(sql);
    ASSERT_TRUE(st.ok());
    entry.stmt = std::move(st).value();
    entry.schema_version = cache.schema_version();
    cache.Put(sql, std::move(entry), false);
  };
  for (size_t i = 0; i < StatementCache::kMaxEntries + 5; ++i) put("SELECT " + std::to_string(i));
  EXPECT_EQ(cache.size(), StatementCache::kMaxEntries);
  EXPECT_FALSE(cache.Take("SELECT 0").has_value());  // evicted first
  EXPECT_TRUE(cache.Take("SELECT " + std::to_string(StatementCache::kMaxEntries + 4)).has_value());
  // A statement that changed the schema is not kept.
  StatementCache::Entry ddl;
  (void)cache.Take("CREATE TABLE t (a)");
  ddl.stmt = std::move(store.value()->Prepare("CREATE TABLE t (a)")).value();
  ddl.schema_version = cache.schema_version();
  ASSERT_TRUE(ddl.stmt.Run().ok());
  ddl.stmt.Reset();
  cache.Put("CREATE TABLE t (a)", std::move(ddl), true);
  EXPECT_EQ(cache.size(), 0u);  // the schema moved: everything went
}

}  // namespace
}  // namespace testing
}  // namespace electrolite
