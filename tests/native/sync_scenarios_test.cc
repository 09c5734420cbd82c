// Client scenarios of the protocol notes §6, driven through the engine with
// a fake Electric server and simulated time. Test names carry scenario ids.
#include <gtest/gtest.h>

#include <set>

#include "fake_electric.h"
#include "shape.h"

namespace electrolite {
namespace testing {
namespace {

class CountingEnv : public Env {
 public:
  uint64_t RandomU64() override { return state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL; }
  uint64_t state_ = 42;
};

std::unique_ptr<Engine> OpenItems(Env* env, const std::string& path = ":memory:") {
  json opts = {{"path", path}, {"baseUrl", "http://electric.test"}, {"schemaSql", std::string(kItemsSchemaSql)},
               {"nowMs", 1000000}};
  auto r = Engine::Open(opts.dump(), env);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

json Query(Engine& e, const std::string& sql) {
  json r = json::parse(e.Query(sql, "[]"));
  EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
  return r;
}

int64_t Count(Engine& e) { return Query(e, "SELECT count(*) FROM items")["rows"][0][0].get<int64_t>(); }

class SyncScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = OpenItems(&env_);
    ASSERT_NE(engine_, nullptr);
    pair_ = std::make_unique<SyncPair>(engine_.get(), &server_);
  }
  CountingEnv env_;
  FakeElectric server_{"items", kItemsSchemaHeader};
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<SyncPair> pair_;
};

TEST_F(SyncScenarioTest, C_EMPTY_EmptyTableGoesLiveWithCursor) {
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  pair_->Advance(1000);
  ASSERT_GE(server_.urls.size(), 3u);
  ParsedUrl first = ParseUrl(server_.urls[0]);
  EXPECT_EQ(first.query["offset"], "-1");
  EXPECT_EQ(first.query.count("live"), 0u);
  EXPECT_EQ(first.query["log"], "full");
  ParsedUrl second = ParseUrl(server_.urls[1]);
  EXPECT_EQ(second.query["offset"], "0_0");
  EXPECT_EQ(second.query["handle"], server_.handle());
  ParsedUrl last = ParseUrl(server_.urls.back());
  EXPECT_EQ(last.query["live"], "true");
  EXPECT_EQ(last.query.count("cursor"), 1u);
  EXPECT_NE(last.query["offset"], "-1");
  EXPECT_EQ(Count(*engine_), 0);
  json st = json::parse(engine_->StatusJson());
  EXPECT_EQ(st["connection"], "connected");
  EXPECT_EQ(st["sync"], "idle");
  EXPECT_TRUE(st["isUpToDate"].get<bool>());
  EXPECT_EQ(st["lastSyncedAt"].get<int64_t>(), pair_->now - 1000);
}

TEST(ShapeUrlTest, C_URL_SortedParamsQuotedColumnsParamsN) {
  ShapeDef def;
  def.table = "foo";
  def.where = "a=$1 and b=$2";
  def.columns = {"id"};
  def.params = {"test1", "test2"};
  // The state part a shape at offset -1 holding handle "potato" sends (Shape::BuildUrl).
  EXPECT_EQ(def.Url("http://h", {{"offset", "-1"}, {"handle", "potato"}}),
            "http://h/v1/shape?columns=%22id%22&handle=potato&log=full&offset=-1&params%5B1%5D="
            "test1&params%5B2%5D=test2&table=foo&where=a%3D%241+and+b%3D%242");
}

TEST_F(SyncScenarioTest, SnapshotCatchUpLiveAndEvents) {
  server_.Insert(ItemRow(1, "one"));
  server_.Insert(ItemRow(2, "two", 5, true));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(Count(*engine_), 2);
  json row = Query(*engine_, "SELECT id, title, priority, done FROM items WHERE id = 2")["rows"][0];
  EXPECT_EQ(row, json::parse(R"([2,"two",5,1])"));
  // Live: a change arrives on the held long-poll.
  pair_->Advance(100);
  server_.Insert(ItemRow(3, "three"));
  pair_->ReleaseHeld();
  EXPECT_EQ(Count(*engine_), 3);
  bool saw_tables_changed = false, saw_sync = false;
  for (const json& ev : pair_->TakeEvents()) {
    if (ev["type"] == "tables-changed" && ev["tables"] == json::array({"items"})) saw_tables_changed = true;
    if (ev["type"] == "sync" && ev["rows"].get<int>() == 1) saw_sync = true;
  }
  EXPECT_TRUE(saw_tables_changed);
  EXPECT_TRUE(saw_sync);
  // txids of applied changes are recorded for the write path.
  json tx = Query(*engine_, "SELECT count(*) FROM _el_txids WHERE shape_id = 'items'");
  EXPECT_EQ(tx["rows"][0][0].get<int>(), 1);
}

TEST_F(SyncScenarioTest, C_HDR_MISSING_IsFatalAndNotRetried) {
  server_.overrides.push_back({200, {{"electric-offset", "0_0"}}, "[]"});
  pair_->Pump();
  pair_->Advance(60000);
  EXPECT_EQ(server_.urls.size(), 1u);
  ASSERT_FALSE(pair_->handle_results.empty());
  Status s = pair_->handle_results[0];
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("electric-handle"), std::string::npos);
  EXPECT_NE(s.message().find("electric-schema"), std::string::npos);
  int errors = 0;
  for (const json& ev : pair_->TakeEvents()) errors += ev["type"] == "error";
  EXPECT_EQ(errors, 1);
  json st = json::parse(engine_->StatusJson());
  EXPECT_EQ(st["sync"], "error");
  EXPECT_EQ(st["error"]["code"], "protocol");
}

TEST_F(SyncScenarioTest, C_HDR_MISSING_LiveNeedsCursor) {
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  server_.overrides.push_back({200, {{"electric-offset", "0_inf"}}, "[]"});
  pair_->Advance(100);
  Status s = pair_->handle_results.back();
  EXPECT_NE(s.message().find("electric-handle"), std::string::npos);
  EXPECT_NE(s.message().find("electric-cursor"), std::string::npos);
  EXPECT_EQ(s.message().find("electric-schema"), std::string::npos);
}

TEST_F(SyncScenarioTest, C_409_NewSnapshotReplacesRowsWithoutEmptyState) {
  for (int i = 1; i <= 3; i++) server_.Insert(ItemRow(i, "old"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  std::string old_handle = server_.handle();
  // Server-side: the shape is rotated and its rows change.
  server_.Rotate();
  server_.Delete("1");
  server_.Insert(ItemRow(9, "new"));
  server_.snapshot_chunk_rows = 1;  // the new snapshot spans several responses
  pair_->after_response = [&] { EXPECT_GT(Count(*engine_), 0) << "app saw an empty table"; };
  pair_->ReleaseHeld();
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  json rows = Query(*engine_, "SELECT id FROM items ORDER BY id")["rows"];
  EXPECT_EQ(rows, json::parse("[[2],[3],[9]]"));
  json st = json::parse(engine_->StatusJson());
  EXPECT_NE(st["shapes"][0]["handle"], old_handle);
  EXPECT_EQ(st["shapes"][0]["handle"], server_.handle());
  // The request after the 409 restarts at -1 with the new handle + cache buster.
  bool found = false;
  for (const auto& u : server_.urls) {
    ParsedUrl p = ParseUrl(u);
    if (p.query["offset"] == "-1" && p.query["handle"] == server_.handle()) {
      found = true;
      EXPECT_EQ(p.query.count("cache-buster"), 1u);
      EXPECT_EQ(p.query["expired_handle"], old_handle);
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(Query(*engine_, "SELECT count(*) FROM items__stage")["rows"][0][0], 0);
}

TEST_F(SyncScenarioTest, C_409_STALE_CachedResponseWithExpiredHandleIsRetried) {
  server_.Insert(ItemRow(1, "a"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  const std::string h1 = server_.handle();
  size_t first = server_.urls.size() - 1;  // the held live request carries H1
  server_.Rotate();                        // its answer is 409 H1 -> H2
  const std::string h2 = server_.handle();
  server_.overrides.push_back({409, {{"electric-handle", h2}}, R"([{"headers":{"control":"must-refetch"}}])"});
  // The request after the 409 gets a stale cached 200 that still carries H1.
  server_.overrides.push_back({200,
                               {{"electric-handle", h1}, {"electric-offset", "0_0"},
                                {"electric-schema", kItemsSchemaHeader}},
                               R"([{"headers":{"control":"snapshot-end"}}])"});
  pair_->Advance(0);  // releases the held long-poll into the scripted answers
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  ASSERT_GE(server_.urls.size(), first + 3);
  std::vector<std::string> handles;
  for (size_t i = first; i < first + 3; i++) handles.push_back(ParseUrl(server_.urls[i]).query["handle"]);
  EXPECT_EQ(handles, (std::vector<std::string>{h1, h2, h2}));
  ParsedUrl stale_req = ParseUrl(server_.urls[first + 1]);
  ParsedUrl retry = ParseUrl(server_.urls[first + 2]);
  EXPECT_EQ(retry.query["offset"], "-1");
  EXPECT_EQ(retry.query.count("cache-buster"), 1u);
  EXPECT_NE(retry.query["cache-buster"], stale_req.query["cache-buster"]);
  EXPECT_EQ(json::parse(engine_->StatusJson())["shapes"][0]["handle"], h2);
  EXPECT_EQ(Count(*engine_), 1);
}

TEST_F(SyncScenarioTest, C_409_NOHANDLE_RetriesUseDistinctCacheBusters) {
  for (int i = 0; i < 3; i++) {
    server_.overrides.push_back({409, {}, R"([{"headers":{"control":"must-refetch"}}])"});
  }
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  std::set<std::string> distinct;
  for (size_t i = 1; i < 4; i++) {
    const std::string& u = server_.urls[i];
    ParsedUrl p = ParseUrl(u);
    EXPECT_EQ(p.query.count("cache-buster"), 1u) << u;
    EXPECT_EQ(u.find("-next"), std::string::npos);
    distinct.insert(u);
  }
  EXPECT_EQ(distinct.size(), 3u);
}

TEST_F(SyncScenarioTest, C_RETRY_500Then200) {
  server_.overrides.push_back({500, {}, R"({"error":"Internal server error"})"});
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(ParseUrl(server_.urls[1]).query["offset"], "-1");
}

TEST_F(SyncScenarioTest, C_RETRY_429Then200) {
  server_.overrides.push_back({429, {}, ""});
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
}

TEST_F(SyncScenarioTest, C_RETRY_400IsTerminal) {
  server_.overrides.push_back({400, {}, R"({"message":"Invalid request","errors":{"where":["syntax error"]}})"});
  pair_->Pump();
  pair_->Advance(120000);
  EXPECT_EQ(server_.urls.size(), 1u);
  json st = json::parse(engine_->StatusJson());
  EXPECT_EQ(st["sync"], "error");
  EXPECT_EQ(st["connection"], "error");
  EXPECT_EQ(st["error"]["code"], "invalid_argument");
  EXPECT_NE(st["error"]["message"].get<std::string>().find("syntax error"), std::string::npos);
}

// One retry rule for shapes and uploads (retry.h): 4xx other than 429 is never
// retried, a 408 included.
TEST_F(SyncScenarioTest, A408StopsTheShapeWithoutRetrying) {
  server_.overrides.push_back({408, {}, R"({"message":"request timeout"})"});
  pair_->Pump();
  pair_->Advance(120000);
  EXPECT_EQ(server_.urls.size(), 1u);
  json st = json::parse(engine_->StatusJson());
  EXPECT_EQ(st["connection"], "error");
  EXPECT_NE(st["error"]["message"].get<std::string>().find("HTTP 408"), std::string::npos);
  EXPECT_EQ(engine_->PollTimeout(), -1);
}

TEST_F(SyncScenarioTest, C_RETRY_503RetryAfterIsAFloor) {
  server_.overrides.push_back({503, {{"retry-after", "5"}}, R"({"message":"not ready"})"});
  pair_->Pump();
  int64_t deadline = engine_->PollTimeout();
  EXPECT_GE(deadline - pair_->now, 5000);
  pair_->Advance(4999);
  EXPECT_EQ(server_.urls.size(), 1u);
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
}

TEST_F(SyncScenarioTest, BackoffIsFullJitterExponentialAndCapped) {
  for (int i = 0; i < 12; i++) server_.overrides.push_back({500, {}, ""});
  pair_->Pump();
  std::vector<int64_t> waits;
  for (int i = 0; i < 12; i++) {
    int64_t t = engine_->PollTimeout();
    ASSERT_GE(t, pair_->now);
    waits.push_back(t - pair_->now);
    pair_->Advance(t - pair_->now);
  }
  int64_t cap = 1000;
  for (int64_t w : waits) {
    EXPECT_LE(w, cap);
    cap = std::min<int64_t>(cap * 2, 32000);
  }
  json st = json::parse(engine_->StatusJson());
  EXPECT_TRUE(st["isUpToDate"].get<bool>() || st["connection"] == "connected" || st["connection"] == "connecting");
}

TEST_F(SyncScenarioTest, NetworkErrorsRetryAndStatusShowsConnecting) {
  pair_->Pump(0);
  std::optional<Request> r = engine_->PollRequest(pair_->now);
  ASSERT_TRUE(r);
  engine_->HandleNetworkError(pair_->now, r->id, "connection refused");
  json st = json::parse(engine_->StatusJson());
  EXPECT_EQ(st["connection"], "connecting");
  EXPECT_FALSE(engine_->PollRequest(pair_->now));  // backing off
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(json::parse(engine_->StatusJson())["connection"], "connected");
}

TEST_F(SyncScenarioTest, OfflineStopsRequestsOnlineResumes) {
  engine_->SetOnline(false, pair_->now);
  EXPECT_FALSE(engine_->PollRequest(pair_->now));
  EXPECT_EQ(json::parse(engine_->StatusJson())["connection"], "disconnected");
  engine_->SetOnline(true, pair_->now);
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
}

TEST_F(SyncScenarioTest, AuthErrorWaitsForTokenAndResumesAtSameOffset) {
  server_.Insert(ItemRow(1, "a"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  server_.overrides.push_back({401, {}, R"({"message":"Unauthorized"})"});
  pair_->Advance(100);
  pair_->Advance(60000);
  json st = json::parse(engine_->StatusJson());
  EXPECT_EQ(st["error"]["code"], "auth");
  std::string offset = st["shapes"][0]["offset"].get<std::string>();
  size_t before = server_.urls.size();
  engine_->SetToken("tok", pair_->now);
  server_.Insert(ItemRow(2, "b"));
  pair_->Pump();
  ASSERT_GT(server_.urls.size(), before);
  ParsedUrl p = ParseUrl(server_.urls[before]);
  EXPECT_EQ(p.query["offset"], offset);
  EXPECT_EQ(Count(*engine_), 2);
}

TEST_F(SyncScenarioTest, C_MERGE_UpdateKeepsUnchangedColumns) {
  server_.Insert(ItemRow(1, "first", 7));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  server_.Update(json{{"id", "1"}, {"title", "renamed"}});
  pair_->ReleaseHeld();
  json row = Query(*engine_, "SELECT title, priority FROM items WHERE id = 1")["rows"][0];
  EXPECT_EQ(row, json::parse(R"(["renamed",7])"));
}

TEST_F(SyncScenarioTest, PrimaryKeyChangeIsDeletePlusInsert) {
  server_.Insert(ItemRow(1, "a", 3));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  server_.ChangePk("1", ItemRow(5, "a", 3));
  pair_->ReleaseHeld();
  EXPECT_EQ(Query(*engine_, "SELECT id, title FROM items")["rows"], json::parse(R"([[5,"a"]])"));
}

TEST_F(SyncScenarioTest, C_STATE_MustRefetchResetsButKeepsLastSyncedAt) {
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  int64_t synced_at = json::parse(engine_->StatusJson())["lastSyncedAt"].get<int64_t>();
  server_.overrides.push_back({409, {{"electric-handle", "NEW"}}, R"([{"headers":{"control":"must-refetch"}}])"});
  server_.overrides.push_back({503, {}, ""});  // keep it at -1 for inspection
  pair_->Advance(10);
  json st = json::parse(engine_->StatusJson());
  EXPECT_EQ(st["shapes"][0]["offset"], "-1");
  EXPECT_EQ(st["shapes"][0]["handle"], "NEW");
  EXPECT_FALSE(st["shapes"][0]["isUpToDate"].get<bool>());
  EXPECT_EQ(st["lastSyncedAt"].get<int64_t>(), synced_at);
  json row = Query(*engine_, "SELECT cursor, schema, refetching FROM _el_shapes")["rows"][0];
  EXPECT_EQ(row, json::parse(R"(["","",1])"));
}

TEST_F(SyncScenarioTest, P_REFETCH_OnlyNewSnapshotRowsRemain) {
  server_.Insert(ItemRow(100, "hundred"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  server_.Rotate();
  server_.Delete("100");
  server_.Insert(ItemRow(21, "twenty-one"));
  pair_->ReleaseHeld();
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(Query(*engine_, "SELECT id FROM items")["rows"], json::parse("[[21]]"));
}

TEST_F(SyncScenarioTest, MustRefetchInside200BodyDiscardsBatch) {
  server_.Insert(ItemRow(1, "a"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  server_.overrides.push_back(
      {200,
       {{"electric-handle", server_.handle()}, {"electric-offset", "2000_0"}, {"electric-cursor", "5"}},
       json::array({server_.rows().begin()->second.is_null() ? json() : json{{"key", "k"}, {"value", ItemRow(50, "x")}, {"headers", {{"operation", "insert"}}}},
                    json{{"headers", {{"control", "must-refetch"}}}}})
           .dump()});
  pair_->Advance(10);
  EXPECT_EQ(Query(*engine_, "SELECT count(*) FROM items WHERE id = 50")["rows"][0][0], 0);
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(Query(*engine_, "SELECT id FROM items")["rows"], json::parse("[[1]]"));
}

TEST_F(SyncScenarioTest, P_TXN_BadMessageRollsBackWholeResponse) {
  server_.Insert(ItemRow(1, "a"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  json bad = json::array();
  for (int i = 10; i < 15; i++) {
    bad.push_back(json{{"key", "k"}, {"value", ItemRow(i, "ok")}, {"headers", {{"operation", "insert"}, {"txids", {900}}}}});
  }
  bad.push_back(json{{"key", "k"}, {"value", {{"id", "16"}, {"title", nullptr}}}, {"headers", {{"operation", "insert"}}}});
  bad.push_back(json{{"headers", {{"control", "up-to-date"}}}});
  std::string offset_before = json::parse(engine_->StatusJson())["shapes"][0]["offset"].get<std::string>();
  server_.overrides.push_back({200,
                               {{"electric-handle", server_.handle()}, {"electric-offset", "5000_0"},
                                {"electric-cursor", "7"}},
                               bad.dump()});
  pair_->Advance(10);
  Status s = pair_->handle_results.back();
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("Column \"title\" does not allow NULL values"), std::string::npos) << s.ToString();
  EXPECT_EQ(Count(*engine_), 1);
  EXPECT_EQ(json::parse(engine_->StatusJson())["shapes"][0]["offset"], offset_before);
  EXPECT_EQ(Query(*engine_, "SELECT count(*) FROM _el_txids")["rows"][0][0], 0);
  // The engine retries the same offset and recovers.
  pair_->Advance(2000);
  EXPECT_EQ(ParseUrl(server_.urls.back()).query["offset"], offset_before);
}

TEST_F(SyncScenarioTest, C_FASTLOOP_Always409EndsInError) {
  for (int i = 0; i < 200; i++) {
    server_.overrides.push_back({409, {{"electric-handle", "h" + std::to_string(i)}},
                                 R"([{"headers":{"control":"must-refetch"}}])"});
  }
  pair_->Pump();
  pair_->Advance(120000);
  json st = json::parse(engine_->StatusJson());
  EXPECT_EQ(st["sync"], "error");
  EXPECT_NE(st["error"]["message"].get<std::string>().find("fast retry loop"), std::string::npos);
  EXPECT_LT(server_.urls.size(), 100u);
}

TEST_F(SyncScenarioTest, LiveTimeoutAnswersUpToDateAndCursorAdvances) {
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  pair_->Advance(45000);
  std::vector<std::string> cursors;
  for (const auto& u : server_.urls) {
    ParsedUrl p = ParseUrl(u);
    if (p.query["live"] == "true") cursors.push_back(p.query["cursor"]);
  }
  ASSERT_GE(cursors.size(), 3u);
  EXPECT_NE(cursors[1], cursors[2]);
}

TEST_F(SyncScenarioTest, LiveWatchdogAbandonsAndReissuesStuckRequest) {
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  // The harness holds one live request that never gets an answer.
  int64_t deadline = engine_->PollTimeout();
  ASSERT_GT(deadline, pair_->now);
  EXPECT_EQ(deadline - pair_->now, 45000);
  engine_->HandleTimeout(deadline);
  // After the watchdog the request is treated as failed and retried later.
  json st = json::parse(engine_->StatusJson());
  EXPECT_EQ(st["connection"], "connecting");
  int64_t retry_at = engine_->PollTimeout();
  ASSERT_GE(retry_at, deadline);
  std::optional<Request> again = engine_->PollRequest(retry_at);
  ASSERT_TRUE(again);
  // The request is reissued as a reconnect probe: without live, so a server that is there
  // answers at once; the shape goes live again after that answer.
  EXPECT_FALSE(again->live);
}

TEST_F(SyncScenarioTest, C_204_DeprecatedNoContentMeansUpToDate) {
  server_.Insert(ItemRow(1, "a"));
  pair_->Pump(1);  // offset -1 snapshot
  server_.overrides.push_back({204, {{"electric-handle", server_.handle()}, {"electric-offset", "0_inf"},
                                     {"electric-schema", kItemsSchemaHeader}}, ""});
  pair_->Pump(1);
  json st = json::parse(engine_->StatusJson());
  EXPECT_TRUE(st["isUpToDate"].get<bool>());
  EXPECT_EQ(st["lastSyncedAt"].get<int64_t>(), pair_->now);
  EXPECT_EQ(Count(*engine_), 1);
}

TEST_F(SyncScenarioTest, ChunkedSnapshotNeedsSeveralRequestsBeforeUpToDate) {
  for (int i = 1; i <= 5; i++) server_.Insert(ItemRow(i, "r"));
  server_.snapshot_chunk_rows = 2;
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(Count(*engine_), 5);
  std::vector<std::string> offsets;
  for (const auto& u : server_.urls) offsets.push_back(ParseUrl(u).query["offset"]);
  ASSERT_GE(offsets.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(offsets.begin(), offsets.begin() + 4),
            (std::vector<std::string>{"-1", "0_0", "0_1", "0_2"}));
  json snap = Query(*engine_, "SELECT snapshot_xmin, snapshot_xmax, snapshot_xip FROM _el_shapes")["rows"][0];
  EXPECT_EQ(snap, json::parse(R"(["690","700","[\"695\"]"])"));
}

TEST_F(SyncScenarioTest, DebugLogOnlyWhenEnabled) {
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  for (const json& ev : pair_->TakeEvents()) EXPECT_NE(ev["type"], "log");
  CountingEnv env;
  json opts = {{"baseUrl", "http://e"}, {"schemaSql", std::string(kItemsSchemaSql)}, {"debug", true}};
  auto e = Engine::Open(opts.dump(), &env);
  ASSERT_TRUE(e.ok());
  FakeElectric server("items", kItemsSchemaHeader);
  SyncPair pair(e.value().get(), &server);
  ASSERT_TRUE(pair.SyncUntilUpToDate());
  int logs = 0;
  for (const json& ev : pair.TakeEvents()) logs += ev["type"] == "log";
  EXPECT_GT(logs, 0);
}

// Reconnecting: while the server cannot be reached one shape probes it (at least every 2 s),
// the others send nothing; the first answer resumes every shape within half a second.
TEST_F(SyncScenarioTest, UnreachableServerIsProbedByOneShapeAndAllResumeOnItsAnswer) {
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  for (int p : {1, 2, 3}) {
    json def = {{"table", "items"}, {"where", "priority = " + std::to_string(p)}};
    ASSERT_FALSE(engine_->Subscribe(def.dump(), pair_->now).empty());
  }
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  // The server goes away: every request fails to connect.
  int64_t down_at = pair_->now;
  std::vector<int64_t> sent;
  int max_in_flight = 0;
  std::vector<int64_t> in_flight;
  auto fail_all = [&](int64_t until) {
    while (pair_->now < until) {
      while (std::optional<Request> r = engine_->PollRequest(pair_->now)) {
        if (r->kind != "shape") continue;
        EXPECT_FALSE(r->live) << "a probe asks without live, so a server that is back answers at once";
        sent.push_back(pair_->now);
        in_flight.push_back(r->id);
        max_in_flight = std::max<int>(max_in_flight, static_cast<int>(in_flight.size()));
      }
      for (int64_t id : in_flight) engine_->HandleNetworkError(pair_->now, id, "connection refused");
      in_flight.clear();
      int64_t next = engine_->PollTimeout();
      pair_->now = next < 0 ? until : std::max(pair_->now + 1, std::min(next, until));
      engine_->HandleTimeout(pair_->now);
    }
  };
  // The held live polls' connections drop first.
  for (int64_t id = 1; id < 1000; id++) engine_->HandleNetworkError(pair_->now, id, "connection reset");
  fail_all(down_at + 60000);
  EXPECT_EQ(max_in_flight, 1) << "one probe at a time while unreachable";
  // One request every 1-2 s: bounded for the server, prompt for the client.
  ASSERT_GE(sent.size(), 30u);
  EXPECT_LE(sent.size(), 130u);
  for (size_t i = 1; i < sent.size(); i++) EXPECT_LE(sent[i] - sent[i - 1], 2001) << i;
  // The server is back: the next probe's answer resumes every shape.
  int64_t back_at = pair_->now;
  server_.Insert(ItemRow(9, "after the restart", 1));
  size_t before = server_.urls.size();
  pair_->Advance(2600);
  ASSERT_GT(server_.urls.size(), before);
  std::set<std::string> resumed;
  for (size_t i = before; i < server_.urls.size(); i++) resumed.insert(ParseUrl(server_.urls[i]).query["where"]);
  EXPECT_EQ(resumed.size(), 4u) << "every shape asked again within 2.6 s of the server's return";
  EXPECT_EQ(Count(*engine_), 1);
  (void)back_at;
}

}  // namespace
}  // namespace testing
}  // namespace electrolite
