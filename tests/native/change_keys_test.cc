// Changed keys in tables-changed events (src/change_set.h): local writes
// (typed and SQL through the view), transactions and rollbacks, discards,
// upload answers and the shape stream report the primary keys they touched;
// anything not tracked by key (writes to storage tables, too many rows)
// reports the table without keys.
#include <gtest/gtest.h>

#include "change_set.h"
#include "fake_electric.h"

namespace electrolite {
namespace testing {
namespace {

TEST(ChangeSetTest, KeysUpToTheCapThenUnknown) {
  ChangeSet cs;
  EXPECT_TRUE(cs.empty());
  cs.AddKey("items", {"id"}, "[1]");
  cs.AddKey("items", {"id"}, "[1]");
  cs.AddKey("items", {"id"}, "[\"a\"]");
  EXPECT_EQ(cs.Keys("items").size(), 2u);
  EXPECT_EQ(json::parse(cs.EventJson()),
            json::parse(R"({"type":"tables-changed","tables":["items"],)"
                        R"("keys":{"items":{"columns":["id"],"rows":[["a"],[1]]}}})"));
  for (int i = 0; i < 300; ++i) cs.AddKey("items", {"id"}, "[" + std::to_string(i) + "]");
  EXPECT_TRUE(cs.Unknown("items"));
  EXPECT_EQ(json::parse(cs.EventJson()),
            json::parse(R"({"type":"tables-changed","tables":["items"],"keys":{}})"));
  ChangeSet other;
  other.AddKey("notes", {"a", "b"}, "[1,\"x\"]");
  other.AddUnknown("scratch");
  cs.Merge(other);
  json ev = json::parse(cs.EventJson());
  EXPECT_EQ(ev["tables"], json::parse(R"(["items","notes","scratch"])"));
  EXPECT_EQ(ev["keys"], json::parse(R"({"notes":{"columns":["a","b"],"rows":[[1,"x"]]}})"));
}

TEST(ChangeSetTest, KeyValuesAsQueriesReturnThem) {
  std::string out;
  EXPECT_TRUE(AppendKeyInt(&out, 9007199254740991LL));
  EXPECT_FALSE(AppendKeyInt(&out, 9007199254740992LL));
  EXPECT_TRUE(AppendKeyReal(&out, 0.5));
  EXPECT_EQ(out, "90071992547409910.5");
  KeyCollector c;
  for (size_t i = 0; i < ChangeSet::kMaxKeys; ++i) c.Add("[" + std::to_string(i) + "]");
  EXPECT_FALSE(c.full());
  c.Add("[-1]");
  EXPECT_TRUE(c.full());
  ChangeSet cs;
  c.AddTo(&cs, "items", {"id"});
  EXPECT_TRUE(cs.Unknown("items"));
}

class ChangeKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    json opts = {{"path", ":memory:"},
                 {"baseUrl", "http://electric.test"},
                 {"clientId", "client-a"},
                 {"schemaSql", std::string(kItemsSchemaSql)},
                 {"policies", {{"items", {{"policy", "server-wins"}, {"writable", true}}}}},
                 {"uploadIntervalMs", 3600000},
                 {"nowMs", pair_now}};
    auto r = Engine::Open(opts.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    engine = std::move(r).value();
    pair = std::make_unique<SyncPair>(engine.get(), &electric);
    electric.Insert(ItemRow(1, "one"));
    electric.Insert(ItemRow(2, "two"));
    ASSERT_TRUE(pair->SyncUntilUpToDate());
    (void)pair->TakeEvents();
  }

  // The tables-changed events since the last call.
  std::vector<json> Changes() {
    std::vector<json> out;
    for (json& e : pair->TakeEvents()) {
      if (e["type"] == "tables-changed") out.push_back(std::move(e));
    }
    return out;
  }
  // The keys of `table` over every tables-changed event; "unknown" when one
  // of them named the table without keys.
  json KeysOf(const std::vector<json>& events, const std::string& table) {
    json keys = json::array();
    for (const json& e : events) {
      bool named = false;
      for (const json& t : e["tables"]) named |= t == table;
      if (!named) continue;
      if (!e.contains("keys") || !e["keys"].contains(table)) return "unknown";
      EXPECT_EQ(e["keys"][table]["columns"], json::array({"id"}));
      for (const json& k : e["keys"][table]["rows"]) keys.push_back(k);
    }
    return keys;
  }
  json Ok(const std::string& result) {
    json r = json::parse(result);
    EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
    return r;
  }

  int64_t pair_now = 1000000;
  FakeElectric electric{"items", kItemsSchemaHeader};
  std::unique_ptr<Engine> engine;
  std::unique_ptr<SyncPair> pair;
};

TEST_F(ChangeKeysTest, TypedWritesReportTheirKeys) {
  Ok(engine->Insert("items", R"({"id":3,"title":"three"})", pair_now));
  EXPECT_EQ(KeysOf(Changes(), "items"), json::parse("[[3]]"));
  Ok(engine->Update("items", R"({"id":1})", R"({"title":"uno"})", pair_now));
  EXPECT_EQ(KeysOf(Changes(), "items"), json::parse("[[1]]"));
  Ok(engine->Delete("items", R"({"id":2})", pair_now));
  EXPECT_EQ(KeysOf(Changes(), "items"), json::parse("[[2]]"));
}

TEST_F(ChangeKeysTest, SqlThroughTheViewReportsEveryRowAndNoUnknownChange) {
  Ok(engine->Exec("UPDATE items SET title = title || '!'", "[]", pair_now));
  std::vector<json> events = Changes();
  EXPECT_EQ(KeysOf(events, "items"), json::parse("[[1],[2]]"));
  Ok(engine->Exec("DELETE FROM items WHERE id = 1", "[]", pair_now));
  EXPECT_EQ(KeysOf(Changes(), "items"), json::parse("[[1]]"));
  // A write to the storage table is not tracked by key.
  Ok(engine->Exec("UPDATE items__synced SET title = 'raw' WHERE id = 2", "[]", pair_now));
  EXPECT_EQ(KeysOf(Changes(), "items"), "unknown");
  // A plain local table: unknown as well.
  Ok(engine->Exec("CREATE TABLE scratch (id INTEGER PRIMARY KEY)", "[]", pair_now));
  (void)Changes();
  Ok(engine->Exec("INSERT INTO scratch VALUES (1)", "[]", pair_now));
  EXPECT_EQ(KeysOf(Changes(), "scratch"), "unknown");
}

TEST_F(ChangeKeysTest, MoreRowsThanTheCapMakeTheTableUnknown) {
  Ok(engine->Exec("WITH RECURSIVE n(i) AS (SELECT 100 UNION ALL SELECT i + 1 FROM n WHERE i < 499)"
                  " INSERT INTO items (id, title) SELECT i, 'x' FROM n",
                  "[]", pair_now));
  EXPECT_EQ(KeysOf(Changes(), "items"), "unknown");
}

TEST_F(ChangeKeysTest, RollbackReportsEveryKeyTheTransactionTouched) {
  Ok(engine->Begin());
  Ok(engine->Insert("items", R"({"id":5,"title":"five"})", pair_now));
  Ok(engine->Exec("UPDATE items SET title = 'in txn' WHERE id = 1", "[]", pair_now));
  EXPECT_EQ(KeysOf(Changes(), "items"), json::parse("[[5],[1]]"));
  Ok(engine->Rollback());
  json keys = KeysOf(Changes(), "items");
  ASSERT_TRUE(keys.is_array()) << keys.dump();
  std::set<json> got(keys.begin(), keys.end());
  EXPECT_EQ(got, (std::set<json>{json::array({1}), json::array({5})}));
}

TEST_F(ChangeKeysTest, SqlRollbackReportsEveryKeyTheTransactionTouched) {
  Ok(engine->Exec("BEGIN", "[]", pair_now));
  Ok(engine->Exec("UPDATE items SET title = 'in txn' WHERE id = 2", "[]", pair_now));
  EXPECT_EQ(KeysOf(Changes(), "items"), json::parse("[[2]]"));
  Ok(engine->Exec("ROLLBACK", "[]", pair_now));
  EXPECT_EQ(KeysOf(Changes(), "items"), json::parse("[[2]]"));
  // A committed transaction leaves nothing for a later rollback to report.
  Ok(engine->Exec("BEGIN", "[]", pair_now));
  Ok(engine->Exec("UPDATE items SET title = 'kept' WHERE id = 1", "[]", pair_now));
  Ok(engine->Exec("COMMIT", "[]", pair_now));
  (void)Changes();
  Ok(engine->Begin());
  Ok(engine->Rollback());
  EXPECT_TRUE(Changes().empty());
}

TEST_F(ChangeKeysTest, DiscardReportsTheKey) {
  json id = Ok(engine->Update("items", R"({"id":2})", R"({"title":"dos"})", pair_now))["mutationId"];
  (void)Changes();
  Ok(engine->DiscardMutation(id.get<std::string>()));
  EXPECT_EQ(KeysOf(Changes(), "items"), json::parse("[[2]]"));
}

TEST_F(ChangeKeysTest, ShapeChangesReportTheirKeys) {
  pair->Advance(100);
  electric.Insert(ItemRow(7, "seven"));
  electric.Update(json{{"id", "1"}, {"title", "server"}});
  electric.Delete("2");
  pair->ReleaseHeld();
  json keys = KeysOf(Changes(), "items");
  ASSERT_TRUE(keys.is_array()) << keys.dump();
  std::set<json> got(keys.begin(), keys.end());
  EXPECT_EQ(got, (std::set<json>{json::array({7}), json::array({1}), json::array({2})}));
}

TEST_F(ChangeKeysTest, UploadAnswersReportTheKey) {
  Ok(engine->Update("items", R"({"id":1})", R"({"title":"local"})", pair_now));
  (void)Changes();
  // The upload goes out (the fake endpoint is not served: a network error),
  // then a rejection of the write arrives as a 4xx answer.
  std::optional<Request> req = engine->PollRequest(pair_now);
  ASSERT_TRUE(req.has_value());
  while (req && req->kind != "upload") req = engine->PollRequest(pair_now);
  ASSERT_TRUE(req.has_value());
  json body = json::parse(engine->RequestBody(req->id));
  const std::string mid = body["mutations"][0]["id"].get<std::string>();
  json answer = {{"results", json::array({{{"id", mid}, {"status", "rejected"}, {"reason", "no"}}})}};
  Status s = engine->HandleResponse(pair_now, req->id, 200, Headers{}, answer.dump());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(KeysOf(Changes(), "items"), json::parse("[[1]]"));
}

}  // namespace
}  // namespace testing
}  // namespace electrolite
