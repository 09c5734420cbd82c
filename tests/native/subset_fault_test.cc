// Fault injection at the storage seam for on-demand sync: the Nth write or sync fails while a
// subset's rows are applied, and while a subset is released, for N = 1, 2, ... Every run
// succeeds or fails cleanly; after reopening without faults the database passes
// integrity_check and holds one of the two states whole — the subset loaded with its rows and
// its row list, or not (and asked for again) — never rows without their holder or the reverse.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "engine.h"
#include "fault_vfs.h"
#include "json_test_util.h"

namespace electrolite {
namespace testing {
namespace {

using json = Json;

constexpr char kSql[] = "CREATE TABLE items (id integer PRIMARY KEY, title text, n integer);";
constexpr char kSchema[] = R"({"id":{"type":"int4","pk_index":0,"not_null":true},"title":{"type":"text"},"n":{"type":"int4"}})";

std::unique_ptr<Engine> OpenAt(const std::string& path, const std::string& vfs) {
  json opts = {{"path", path}, {"vfs", vfs}, {"baseUrl", "http://e"}, {"schemaSql", std::string(kSql)},
               {"autoSubscribe", false}, {"nowMs", 1000000}};
  auto r = Engine::Open(opts.dump());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

Headers Hdr(bool live) {
  Headers h = {{"electric-handle", "h-1"}, {"electric-offset", "10_0"}};
  if (live) h.emplace_back("electric-cursor", "1");
  else h.emplace_back("electric-schema", kSchema);
  return h;
}

std::string Page(int from, int to) {
  json data = json::array();
  for (int i = from; i <= to; i++) {
    data.push_back({{"key", "\"public\".\"items\"/\"" + std::to_string(i) + "\""},
                    {"value", {{"id", std::to_string(i)}, {"title", std::string(200, 'x')}, {"n", std::to_string(i)}}},
                    {"headers", {{"operation", "insert"}, {"relation", json::array({"public", "items"})}}}});
  }
  json meta = {{"xmin", "500"}, {"xmax", "505"}, {"xip_list", json::array()}, {"snapshot_mark", 1}, {"database_lsn", "10"}};
  return json({{"metadata", meta}, {"data", data}}).dump();
}

// Answers every request the engine has out: shape requests from the script below, subsets
// with `page` for the subset whose id the request body names... one subset at a time here.
struct Driver {
  Engine* e;
  int64_t now = 1000000;
  Status Pump(const std::string& subset_body) {
    Status last = Status::Ok();
    for (int i = 0; i < 10; i++) {
      std::optional<Request> r = e->PollRequest(now);
      if (!r) break;
      if (r->kind == "subset") {
        last = e->HandleResponse(now, r->id, 200, Hdr(false), subset_body);
      } else if (!r->live) {
        const bool first = r->url.find("offset=-1") != std::string::npos;
        last = e->HandleResponse(now, r->id, 200, Hdr(false),
                                 first ? R"([{"headers":{"control":"snapshot-end","xmin":"1","xmax":"1","xip_list":[]}}])"
                                       : R"([{"headers":{"control":"up-to-date","global_last_seen_lsn":"10"}}])");
      }  // a live request stays out
    }
    return last;
  }
};

json Q(Engine& e, const std::string& sql) {
  json r = json::parse(e.Query(sql, "[]"));
  EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
  return r["rows"];
}
int64_t Count(Engine& e, const std::string& sql) { return Q(e, sql)[0][0].get<int64_t>(); }

// Subset a (rows 1-3) loaded cleanly; subset b (rows 3-8) applied with the Nth write or sync
// failing (phase 0), or a released with it failing (phase 1). Returns whether the fault fired.
bool RunOnce(int n, bool fail_sync, int phase, const std::string& dir) {
  const std::string path = dir + "/db" + std::to_string(phase) + (fail_sync ? "s" : "w") + std::to_string(n) + ".sqlite";
  bool fired = false;
  {
    auto e = OpenAt(path, "faulty");
    if (!e) return false;
    Driver d{e.get()};
    EXPECT_TRUE(json::parse(e->Subscribe(R"({"id":"od","table":"items","log":"changes_only"})", d.now))["ok"].get<bool>());
    d.Pump(std::string());
    EXPECT_TRUE(json::parse(e->LoadSubset("od", R"({"id":"a","where":"n <= 3"})", d.now))["ok"].get<bool>());
    EXPECT_TRUE(d.Pump(Page(1, 3)).ok());
    EXPECT_EQ(Count(*e, "SELECT count(*) FROM items"), 3);
    if (phase == 0) EXPECT_TRUE(json::parse(e->LoadSubset("od", R"({"id":"b","where":"n >= 3"})", d.now))["ok"].get<bool>());
    g_fault = FaultState();
    (fail_sync ? g_fault.sync_countdown : g_fault.write_countdown) = n;
    if (phase == 0) (void)d.Pump(Page(3, 8));
    else (void)e->ReleaseSubset("a");
    fired = g_fault.fired;
    g_fault = FaultState();
  }
  auto e = OpenAt(path, "");
  if (!e) return fired;
  EXPECT_EQ(Q(*e, "PRAGMA integrity_check")[0][0], "ok") << "n=" << n;
  const int64_t rows = Count(*e, "SELECT count(*) FROM items");
  const json subsets = json::parse(e->SubsetsJson())["subsets"];
  if (phase == 0) {
    EXPECT_EQ(subsets.size(), 2u) << "n=" << n;
    if (subsets.size() != 2u) return fired;
    if (subsets[1]["state"] == "loaded") {
      EXPECT_EQ(rows, 8) << "n=" << n;
      EXPECT_EQ(Count(*e, "SELECT count(*) FROM _el_subset_rows WHERE subset_id = 'b'"), 6) << "n=" << n;
    } else {
      EXPECT_EQ(subsets[1]["state"], "loading") << "n=" << n;  // asked for again
      EXPECT_EQ(rows, 3) << "n=" << n;
      EXPECT_EQ(Count(*e, "SELECT count(*) FROM _el_subset_rows WHERE subset_id = 'b'"), 0) << "n=" << n;
    }
  } else if (subsets.empty()) {
    EXPECT_EQ(rows, 0) << "n=" << n;
    EXPECT_EQ(Count(*e, "SELECT count(*) FROM _el_subset_rows"), 0) << "n=" << n;
  } else {
    EXPECT_EQ(rows, 3) << "n=" << n;
    EXPECT_EQ(Count(*e, "SELECT count(*) FROM _el_subset_rows WHERE subset_id = 'a'"), 3) << "n=" << n;
  }
  e.reset();
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return fired;
}

void Loop(bool fail_sync, int phase, int max) {
  RegisterFaultVfs();
  char tmpl[] = "/tmp/el_subset_fault_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  int n = 1;
  for (; n < max; n++) {
    if (!RunOnce(n, fail_sync, phase, tmpl) || ::testing::Test::HasFailure()) break;
  }
  std::printf("subset fault runs (%s, %s): N = 1..%d failed, then a clean run\n", phase == 0 ? "apply" : "release",
              fail_sync ? "sync" : "write", n - 1);
  EXPECT_GT(n, 1) << "the step should take at least one " << (fail_sync ? "sync" : "write");
  EXPECT_LT(n, max);
  rmdir(tmpl);
}

TEST(SubsetFaultTest, FailNthWriteWhileASubsetApplies) { Loop(false, 0, 200); }
TEST(SubsetFaultTest, FailNthSyncWhileASubsetApplies) { Loop(true, 0, 50); }
TEST(SubsetFaultTest, FailNthWriteWhileASubsetIsReleased) { Loop(false, 1, 200); }
TEST(SubsetFaultTest, FailNthSyncWhileASubsetIsReleased) { Loop(true, 1, 50); }

}  // namespace
}  // namespace testing
}  // namespace electrolite
