// Local retention: old synced rows are pruned in small batches on
// the engine's timer, never rows with a pending local write, never uploaded,
// and pruned rows do not come back on the next sync. Simulated time.
#include <gtest/gtest.h>

#include "fake_electric.h"
#include "retention.h"

namespace electrolite {
namespace testing {
namespace {

constexpr int64_t kDay = 86400000;
constexpr int64_t kT0 = 1764000000000;  // 2025-11-24T16:00:00Z

const char kEventsSql[] =
    "CREATE TABLE events (id bigint PRIMARY KEY, user_id text NOT NULL, ts timestamptz NOT NULL,"
    " note text);"
    "CREATE TABLE memory (id bigint PRIMARY KEY, user_id text NOT NULL, expires_at timestamptz,"
    " content text);";
const char kEventsHeader[] =
    R"({"id":{"type":"int8","pk_index":0,"not_null":true},"user_id":{"type":"text","not_null":true},)"
    R"("ts":{"type":"timestamptz","not_null":true},"note":{"type":"text"}})";
const char kMemoryHeader[] =
    R"({"id":{"type":"int8","pk_index":0,"not_null":true},"user_id":{"type":"text","not_null":true},)"
    R"("expires_at":{"type":"timestamptz"},"content":{"type":"text"}})";

class CountingEnv : public Env {
 public:
  uint64_t RandomU64() override { return state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL; }
  uint64_t state_ = 7;
};

// Postgres text form of a timestamptz at `ms`.
std::string PgTime(int64_t ms) {
  std::string iso = IsoUtcFromMs(ms);  // 2025-11-24T16:00:00.000Z
  return iso.substr(0, 10) + " " + iso.substr(11, 12) + "+00";
}

json EventRow(int id, int64_t ts_ms, const std::string& note = "n") {
  return json{{"id", std::to_string(id)}, {"user_id", "u1"}, {"ts", PgTime(ts_ms)}, {"note", note}};
}

class RetentionTest : public ::testing::Test {
 protected:
  void Open(const std::string& table, int batch = 2) {
    json policies = {{"events", {{"policy", "server-wins"}, {"writable", true},
                                 {"retention", {{"column", "ts"}, {"days", 7}}}}},
                     {"memory", {{"policy", "server-wins"}, {"writable", true},
                                 {"expires_column", "expires_at"}}}};
    json tables = json::array({{{"name", table}}});
    json opts = {{"path", ":memory:"}, {"baseUrl", "http://electric.test"},
                 {"schemaSql", kEventsSql}, {"policies", policies}, {"nowMs", kT0},
                 {"autoSubscribe", false}, {"retentionBatch", batch}};
    auto r = Engine::Open(opts.dump(), &env_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    engine_ = std::move(r).value();
    json sub = json::parse(engine_->Subscribe(json{{"table", table}}.dump(), kT0));
    ASSERT_TRUE(sub["ok"].get<bool>()) << sub.dump();
    pair_ = std::make_unique<SyncPair>(engine_.get(), server_.get());
    pair_->now = kT0;
  }
  int64_t Count(const std::string& sql) {
    json r = json::parse(engine_->Query(sql, "[]"));
    EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
    return r["rows"][0][0].get<int64_t>();
  }
  // Jumps simulated time (no need to replay days of long-polls).
  void Jump(int64_t ms) {
    pair_->now += ms;
    engine_->HandleTimeout(pair_->now);
    pair_->Advance(1);
  }
  json Metrics() { return json::parse(engine_->Metrics(pair_->now)); }

  CountingEnv env_;
  std::unique_ptr<FakeElectric> server_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<SyncPair> pair_;
};

TEST(RetentionUnitTest, IsoUtcFromMsMatchesStoredForm) {
  EXPECT_EQ(IsoUtcFromMs(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoUtcFromMs(kT0 + 123), "2025-11-24T16:00:00.123Z");
  EXPECT_EQ(IsoUtcFromMs(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(IsoUtcFromMs(-1), "1969-12-31T23:59:59.999Z");
}

TEST(RetentionUnitTest, RulesFromDeclarationsAndErrors) {
  TableDecl a{"a", {}, {"id"}, R"({"retention":{"column":"t","days":30}})"};
  TableDecl b{"b", {}, {"id"}, R"({"expires_column":"e"})"};
  auto rules = RetentionRulesFromDecls({a, b});
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0].max_age_ms, 30 * kDay);
  EXPECT_EQ((*rules)[1].max_age_ms, 0);
  TableDecl bad{"c", {}, {"id"}, R"({"retention":{"column":"t","days":0}})"};
  auto err = RetentionRulesFromDecls({bad});
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("policies.c.retention.days"), std::string::npos);
}

TEST_F(RetentionTest, PrunesOldRowsInBatchesAndNeverUploads) {
  server_ = std::make_unique<FakeElectric>("events", kEventsHeader);
  for (int i = 1; i <= 5; i++) server_->Insert(EventRow(i, kT0 - 10 * kDay));  // expired
  server_->Insert(EventRow(6, kT0 - 3 * kDay));
  server_->Insert(EventRow(7, kT0 - 1 * kDay));
  Open("events", /*batch=*/2);
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  pair_->Advance(10);
  EXPECT_EQ(Count("SELECT count(*) FROM events"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE id IN (6, 7)"), 2);
  json m = Metrics();
  EXPECT_EQ(m["retention"]["rowsPruned"], 5);
  EXPECT_EQ(m["retention"]["byTable"]["events"], 5);
  EXPECT_GE(m["retention"]["runs"].get<int>(), 3);  // 5 rows in batches of 2
  // Pruning is local only: nothing waits to be uploaded, the server keeps its rows.
  json pending = json::parse(engine_->PendingMutations());
  EXPECT_EQ(pending["mutations"].size(), 0u) << pending.dump();
  EXPECT_EQ(server_->rows().size(), 7u);
  bool changed = false;
  for (const json& ev : pair_->TakeEvents()) {
    if (ev["type"] == "tables-changed" && ev["tables"][0] == "events") changed = true;
  }
  EXPECT_TRUE(changed);
  // Four days later row 6 is 7+ days old: pruned at the next check.
  Jump(4 * kDay + 61000);
  EXPECT_EQ(Count("SELECT count(*) FROM events"), 1);
}

TEST_F(RetentionTest, PrunedRowsDoNotComeBackOnRefetchOrResend) {
  server_ = std::make_unique<FakeElectric>("events", kEventsHeader);
  server_->Insert(EventRow(1, kT0 - 10 * kDay));
  server_->Insert(EventRow(2, kT0 - 1 * kDay));
  Open("events");
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  pair_->Advance(10);
  ASSERT_EQ(Count("SELECT count(*) FROM events"), 1);
  // An update of the pruned row's other columns: nothing appears.
  server_->Update(json{{"id", "1"}, {"note", "late edit"}});
  pair_->ReleaseHeld();
  pair_->Advance(10);
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE id = 1"), 0);
  // The server rotates the shape: the re-fetched snapshot holds row 1 again,
  // and it never becomes visible (kept out in the swap's transaction).
  server_->Rotate();
  pair_->ReleaseHeld();
  pair_->after_response = [&] {
    EXPECT_EQ(Count("SELECT count(*) FROM events WHERE id = 1"), 0);
  };
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  pair_->after_response = nullptr;
  EXPECT_EQ(Count("SELECT count(*) FROM events"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM events__synced"), 1);
}

TEST_F(RetentionTest, RowWithPendingLocalWriteIsKept) {
  server_ = std::make_unique<FakeElectric>("events", kEventsHeader);
  server_->Insert(EventRow(1, kT0 - 10 * kDay));
  server_->Insert(EventRow(2, kT0 - 10 * kDay));
  Open("events");
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  // A local edit of row 1 waits in the outbox (offline: it cannot upload).
  engine_->SetOnline(false, pair_->now);
  json w = json::parse(engine_->Update("events", R"({"id":1})", R"({"note":"mine"})", pair_->now));
  ASSERT_TRUE(w["ok"].get<bool>()) << w.dump();
  Jump(61000);
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE id = 1"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM events__synced WHERE id = 1"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE id = 2"), 0);
  EXPECT_EQ(Metrics()["pendingChanges"], 1);
}

TEST_F(RetentionTest, ExpiresColumnRemovesRowsAtTheirExpiry) {
  server_ = std::make_unique<FakeElectric>("memory", kMemoryHeader);
  auto row = [](int id, const json& expires) {
    return json{{"id", std::to_string(id)}, {"user_id", "u1"}, {"expires_at", expires},
                {"content", "c"}};
  };
  server_->Insert(row(1, PgTime(kT0 - 1000)));        // expired
  server_->Insert(row(2, nullptr));                   // never expires
  server_->Insert(row(3, PgTime(kT0 + 2 * 3600000)));  // in two hours
  Open("memory");
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  pair_->Advance(10);
  EXPECT_EQ(Count("SELECT count(*) FROM memory"), 2);
  Jump(3 * 3600000);
  EXPECT_EQ(Count("SELECT count(*) FROM memory"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM memory WHERE id = 2"), 1);
}

TEST_F(RetentionTest, AnExpiryExtendedOnTheServerBringsTheRowBack) {
  server_ = std::make_unique<FakeElectric>("memory", kMemoryHeader);
  server_->Insert(json{{"id", "1"}, {"user_id", "u1"}, {"expires_at", PgTime(kT0 - 1000)},
                       {"content", "c"}});
  server_->Insert(json{{"id", "2"}, {"user_id", "u1"}, {"expires_at", PgTime(kT0 - 1000)},
                       {"content", "still expired"}});
  Open("memory");
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  pair_->Advance(10);
  ASSERT_EQ(Count("SELECT count(*) FROM memory"), 0);
  // The server extends row 1; a re-fetch brings full rows: 1 is back, 2 stays out.
  server_->Update(json{{"id", "1"}, {"expires_at", PgTime(kT0 + 86400000)}});
  server_->Rotate();
  pair_->ReleaseHeld();
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(Count("SELECT count(*) FROM memory WHERE id = 1"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM memory WHERE id = 2"), 0);
}

}  // namespace
}  // namespace testing
}  // namespace electrolite
