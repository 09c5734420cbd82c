// Prefetching (child shapes follow a parent row, released after a grace
// period together with their rows), the client-side user check, Clear() and
// the prefetch and security metrics. Simulated time, fake Electric server.
#include <gtest/gtest.h>

#include "fake_electric.h"
#include "prefetch.h"

namespace electrolite {
namespace testing {
namespace {

constexpr int64_t kT0 = 1764000000000;

const char kSql[] =
    "CREATE TABLE tasks (id text PRIMARY KEY, user_id text NOT NULL, title text);"
    "CREATE TABLE runs (id bigint PRIMARY KEY, user_id text NOT NULL, task_id text, note text);";
const char kRunsHeader[] =
    R"({"id":{"type":"int8","pk_index":0,"not_null":true},"user_id":{"type":"text","not_null":true},)"
    R"("task_id":{"type":"text"},"note":{"type":"text"}})";

class CountingEnv : public Env {
 public:
  uint64_t RandomU64() override { return state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL; }
  uint64_t state_ = 5;
};

json RunRow(int id, const std::string& task, const std::string& user = "u1") {
  return json{{"id", std::to_string(id)}, {"user_id", user}, {"task_id", task}, {"note", "n"}};
}

class PrefetchTest : public ::testing::Test {
 protected:
  void Open(json extra = json::object()) {
    json policies = {{"tasks", {{"policy", "server-wins"}, {"writable", true},
                                {"prefetch_children", {"runs.task_id"}}}},
                     {"runs", {{"policy", "server-wins"}, {"writable", true}}}};
    json opts = {{"path", ":memory:"}, {"baseUrl", "http://electric.test"}, {"schemaSql", kSql},
                 {"policies", policies}, {"nowMs", kT0}, {"autoSubscribe", false},
                 {"prefetchGraceMs", 30000}};
    for (auto it = extra.begin(); it != extra.end(); ++it) opts[it.key()] = it.value();
    auto r = Engine::Open(opts.dump(), &env_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    engine_ = std::move(r).value();
    pair_ = std::make_unique<SyncPair>(engine_.get(), &server_);
    pair_->now = kT0;
  }
  json Q(const std::string& sql) {
    json r = json::parse(engine_->Query(sql, "[]"));
    EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
    return r["rows"];
  }
  json Metrics() { return json::parse(engine_->Metrics(pair_->now)); }

  CountingEnv env_;
  FakeElectric server_{"runs", kRunsHeader};
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<SyncPair> pair_;
};

TEST(PrefetchUnitTest, RulesAndGracePeriod) {
  TableDecl t{"tasks", {}, {"id"}, R"({"prefetch_children":["runs.task_id","notes.task_id"]})"};
  auto rules = PrefetchRulesFromDecls({t});
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules->size(), 2u);
  TableDecl bad{"tasks", {}, {"id"}, R"({"prefetch_children":["runs"]})"};
  EXPECT_FALSE(PrefetchRulesFromDecls({bad}).ok());

  Prefetcher p(std::move(rules).value(), 1000);
  auto kids = p.ChildrenOf("tasks", "t1");
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0].def.where, "\"task_id\" = $1");
  EXPECT_EQ(kids[0].def.params, std::vector<std::string>{"t1"});
  p.Acquire("tasks", "t1");
  p.Acquire("tasks", "t1");
  ASSERT_TRUE(p.Release("tasks", "t1", 100).ok());
  EXPECT_EQ(p.NextDeadline(), -1);  // still used once
  ASSERT_TRUE(p.Release("tasks", "t1", 200).ok());
  EXPECT_EQ(p.NextDeadline(), 1200);
  EXPECT_TRUE(p.TakeExpired(1199).empty());
  p.Acquire("tasks", "t1");  // used again within the grace period
  EXPECT_EQ(p.NextDeadline(), -1);
  ASSERT_TRUE(p.Release("tasks", "t1", 300).ok());
  EXPECT_EQ(p.TakeExpired(1300).size(), 1u);
  EXPECT_EQ(p.Release("tasks", "t1", 400).code(), Code::kNotFound);
}

TEST_F(PrefetchTest, ChildrenAreLocalBeforeTheFirstQueryAndDroppedAfterRelease) {
  server_.Insert(RunRow(1, "t1"));
  server_.Insert(RunRow(2, "t1"));
  Open();
  EXPECT_EQ(Q("SELECT count(*) FROM runs")[0][0], 0);
  json r = json::parse(engine_->Prefetch("tasks", "\"t1\"", kT0));
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  ASSERT_EQ(r["shapeIds"].size(), 1u);
  std::string shape_id = r["shapeIds"][0].get<std::string>();
  EXPECT_EQ(shape_id, Prefetcher::ShapeId("runs", "task_id", "t1"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  // The child shape asked the server for this task's runs only.
  ParsedUrl url = ParseUrl(server_.urls[0]);
  EXPECT_EQ(url.query["table"], "runs");
  EXPECT_EQ(url.query["where"], "\"task_id\" = $1");
  EXPECT_EQ(url.query["params[1]"], "t1");
  EXPECT_EQ(Q("SELECT count(*) FROM runs WHERE task_id = 't1'")[0][0], 2);
  EXPECT_EQ(Metrics()["prefetch"]["active"], 1);

  // Released: kept through the grace period, then shape and rows go.
  ASSERT_TRUE(json::parse(engine_->Release("tasks", "\"t1\"", pair_->now))["ok"].get<bool>());
  pair_->Advance(20000);
  EXPECT_EQ(Q("SELECT count(*) FROM runs")[0][0], 2);
  pair_->Advance(15000);
  EXPECT_EQ(Q("SELECT count(*) FROM runs")[0][0], 0);
  json st = json::parse(engine_->StatusJson());
  EXPECT_EQ(st["shapes"].size(), 0u);
  json m = Metrics();
  EXPECT_EQ(m["prefetch"]["released"], 1);
  EXPECT_EQ(m["prefetch"]["rowsDropped"], 2);
  // Releasing what is not prefetched is an error.
  json again = json::parse(engine_->Release("tasks", "\"t1\"", pair_->now));
  EXPECT_EQ(again["code"], "not_found");
}

TEST_F(PrefetchTest, WholeTableShapeCoversChildrenAndBadCallsFail) {
  Open();
  ASSERT_TRUE(json::parse(engine_->Subscribe(R"({"table":"runs"})", kT0))["ok"].get<bool>());
  json r = json::parse(engine_->Prefetch("tasks", R"({"id":"t9"})", kT0));
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["shapeIds"].size(), 0u);
  EXPECT_EQ(r["covered"][0], "runs");
  EXPECT_EQ(json::parse(engine_->Prefetch("runs", "\"x\"", kT0))["code"], "invalid_argument");
  EXPECT_EQ(json::parse(engine_->Prefetch("nope", "\"x\"", kT0))["code"], "not_found");
  EXPECT_EQ(json::parse(engine_->Prefetch("tasks", "[1,2]", kT0))["code"], "invalid_argument");
}

TEST_F(PrefetchTest, ForeignUserRowsAreDroppedAndReported) {
  server_.Insert(RunRow(1, "t1", "u1"));
  server_.Insert(RunRow(2, "t1", "intruder"));
  Open({{"userId", "u1"}});
  ASSERT_TRUE(json::parse(engine_->Subscribe(R"({"table":"runs"})", kT0))["ok"].get<bool>());
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(Q("SELECT id FROM runs"), json::parse("[[1]]"));
  bool reported = false;
  for (const json& ev : pair_->TakeEvents()) {
    if (ev["type"] == "security") {
      reported = true;
      EXPECT_EQ(ev["table"], "runs");
      EXPECT_EQ(ev["dropped"], 1);
    }
  }
  EXPECT_TRUE(reported);
  // A row moved to another user leaves.
  server_.Update(json{{"id", "1"}, {"user_id", "someone-else"}});
  pair_->ReleaseHeld();
  pair_->Advance(10);
  EXPECT_EQ(Q("SELECT count(*) FROM runs")[0][0], 0);
  json m = Metrics();
  EXPECT_EQ(m["security"]["foreignRowsDropped"], 2);
  EXPECT_EQ(m["security"]["byTable"]["runs"], 2);
}

TEST_F(PrefetchTest, ExcludedColumnsAreNeverRequested) {
  json policies = {{"tasks", {{"policy", "server-wins"}, {"writable", true}}},
                   {"runs", {{"policy", "server-wins"}, {"writable", true}, {"exclude", {"note"}}}}};
  Open({{"policies", policies}});
  json r = json::parse(engine_->Subscribe(R"({"table":"runs"})", kT0));
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  std::optional<Request> req = engine_->PollRequest(kT0);
  ASSERT_TRUE(req.has_value());
  ParsedUrl url = ParseUrl(req->url);
  EXPECT_EQ(url.query["columns"], "\"id\",\"user_id\",\"task_id\"");
  json bad = json::parse(engine_->Subscribe(R"({"table":"runs","columns":["id","note"],"id":"x"})", kT0));
  EXPECT_EQ(bad["code"], "invalid_argument");
  EXPECT_NE(bad["message"].get<std::string>().find("excluded"), std::string::npos);
}

TEST_F(PrefetchTest, MetricsAndClear) {
  server_.Insert(RunRow(1, "t1"));
  Open();
  ASSERT_TRUE(json::parse(engine_->Subscribe(R"({"table":"runs"})", kT0))["ok"].get<bool>());
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  pair_->Advance(5000);
  json m = Metrics();
  EXPECT_EQ(m["uptimeMs"], pair_->now - kT0);
  EXPECT_GT(m["connectionUptimeMs"].get<int64_t>(), 0);
  EXPECT_GE(m["syncs"].get<int>(), 2);
  EXPECT_GE(m["syncsPerMinute"].get<int>(), 2);
  EXPECT_TRUE(m["lastSyncAt"].is_number());
  EXPECT_TRUE(m.contains("lastSyncDurationMs"));
  EXPECT_EQ(m["rowsApplied"], 1);

  json c = json::parse(engine_->Clear());
  ASSERT_TRUE(c["ok"].get<bool>()) << c.dump();
  json tables = json::parse(engine_->Query("SELECT count(*) FROM sqlite_master", "[]"));
  EXPECT_EQ(tables["rows"][0][0], 0);
  EXPECT_FALSE(engine_->PollRequest(pair_->now + 100000).has_value());
}

}  // namespace
}  // namespace testing
}  // namespace electrolite
