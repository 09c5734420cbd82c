// query/exec on local data: rows, params, int8 beyond 2^53 as strings, the
// tables a statement read (for live queries), errors as {ok:false, code}.
#include <gtest/gtest.h>

#include "fake_electric.h"

namespace electrolite {
namespace testing {
namespace {

class SeqEnv : public Env {
 public:
  uint64_t RandomU64() override { return ++n; }
  uint64_t n = 0;
};

TEST(LocalQueryTest, RowsParamsTablesAndBigInts) {
  SeqEnv env;
  json opts = {{"baseUrl", "http://e"}, {"schemaSql", std::string(kItemsSchemaSql) +
                                                        "CREATE TABLE tags (id int8 PRIMARY KEY, item_id int8);"}};
  auto e = Engine::Open(opts.dump(), &env);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Engine& engine = *e.value();
  FakeElectric server("items", kItemsSchemaHeader);
  server.Insert(json{{"id", "9007199254740993"}, {"title", "big"}, {"priority", "1"}, {"done", "t"}});
  server.Insert(ItemRow(2, "small", 3));
  // Only the items shape talks to this fake server; tags stays unsynced here.
  ASSERT_TRUE(json::parse(engine.Unsubscribe("tags"))["ok"].get<bool>());
  SyncPair pair(&engine, &server);
  ASSERT_TRUE(pair.SyncUntilUpToDate());
  json r = json::parse(engine.Query("SELECT id, title, done FROM items WHERE priority >= ? ORDER BY id", "[1]"));
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["columns"], json::parse(R"(["id","title","done"])"));
  EXPECT_EQ(r["rows"], json::parse(R"([[2,"small",0],["9007199254740993","big",1]])"));
  EXPECT_EQ(r["tables"], json::parse(R"(["items"])"));
  r = json::parse(engine.Query("SELECT i.title FROM items i JOIN tags t ON t.item_id = i.id", ""));
  EXPECT_EQ(r["tables"], json::parse(R"(["items","tags"])"));
  r = json::parse(engine.Query("SELECT * FROM nope", ""));
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_EQ(r["code"], "invalid_argument");
  EXPECT_NE(r["message"].get<std::string>().find("no such table"), std::string::npos);
  r = json::parse(engine.Query("SELECT ?", "{\"a\":1}"));
  EXPECT_EQ(r["code"], "invalid_argument");
  // Exec on a local scratch table reports what it wrote.
  r = json::parse(engine.Exec("CREATE TABLE scratch (a)", ""));
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  r = json::parse(engine.Exec("INSERT INTO scratch VALUES (?), (?)", "[1, \"x\"]"));
  EXPECT_EQ(r["changes"], 2);
  EXPECT_EQ(r["tables"], json::parse(R"(["scratch"])"));
  bool saw = false;
  for (const json& ev : pair.TakeEvents()) saw |= ev["type"] == "tables-changed" && ev["tables"] == json::parse(R"(["scratch"])");
  EXPECT_TRUE(saw);
}

TEST(LocalQueryTest, WritesToATableDeclaredReadOnlyAreReadOnlyErrors) {
  SeqEnv env;
  json policies = {{"items", {{"policy", "server-wins"}, {"writable", false}}}};
  auto e = Engine::Open(
      json{{"schemaSql", std::string(kItemsSchemaSql)}, {"policies", policies}}.dump(), &env);
  ASSERT_TRUE(e.ok());
  json r = json::parse(e.value()->Insert("items", R"({"id":1,"title":"t"})"));
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_EQ(r["code"], "read_only");
}

TEST(LocalQueryTest, ATableWithoutAPolicyEntryIsWritableAsAtTheEndpoint) {
  SeqEnv env;
  auto e = Engine::Open(json{{"schemaSql", std::string(kItemsSchemaSql)}}.dump(), &env);
  ASSERT_TRUE(e.ok());
  json r = json::parse(e.value()->Insert("items", R"({"id":1,"title":"t"})"));
  EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
}

TEST(LocalQueryTest, BadOptionsAndDeclarationsAreClearErrors) {
  SeqEnv env;
  EXPECT_EQ(Engine::Open("{not json", &env).status().code(), Code::kInvalidArgument);
  auto r = Engine::Open(R"({"schemaSql":"create table t (a int);"})", &env);
  EXPECT_EQ(r.status().code(), Code::kSchema);
  r = Engine::Open(R"({"tables":[{"name":"t","columns":[{"name":"a"}],"primaryKey":["b"]}]})", &env);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  auto ok = Engine::Open(R"({"schemaSql":"create table t (a int primary key);"})", &env);
  ASSERT_TRUE(ok.ok());
  json s = json::parse(ok.value()->Subscribe(R"({"table":"missing"})"));
  EXPECT_EQ(s["code"], "not_found");
  s = json::parse(ok.value()->Subscribe(R"({"table":"t","replica":"half"})"));
  EXPECT_EQ(s["code"], "invalid_argument");
  s = json::parse(ok.value()->Subscribe(R"({"table":"t","where":"a > $1","params":["3"]})"));
  ASSERT_TRUE(s["ok"].get<bool>()) << s.dump();
  EXPECT_NE(s["shapeId"].get<std::string>().find("t#"), std::string::npos);
  EXPECT_EQ(json::parse(ok.value()->StatusJson())["shapes"].size(), 2u);
}

}  // namespace
}  // namespace testing
}  // namespace electrolite
