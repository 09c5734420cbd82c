// Fault injection at the storage seam (SQLite's test_vfs.c / leveldb's
// fault_injection_test.cc): a VFS wrapping the default one fails the Nth
// write or sync while the engine applies a shape response, for N = 1, 2, ...
// Every run must succeed or fail cleanly; after reopening, the database
// passes integrity_check and holds exactly the last committed batch and the
// offset that goes with it.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "fake_electric.h"
#include "fault_vfs.h"

namespace electrolite {
namespace testing {
namespace {

class SeqEnv : public Env {
 public:
  uint64_t RandomU64() override { return ++n * 0x9e3779b97f4a7c15ULL; }
  uint64_t n = 0;
};

std::unique_ptr<Engine> Open(const std::string& path, const std::string& vfs, Env* env) {
  json opts = {{"path", path}, {"vfs", vfs}, {"baseUrl", "http://e"}, {"schemaSql", std::string(kItemsSchemaSql)}};
  auto r = Engine::Open(opts.dump(), env);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

json Q(Engine& e, const std::string& sql) {
  json r = json::parse(e.Query(sql, ""));
  EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
  return r["rows"];
}

// One run: sync 3 rows, then apply a live batch of 5 more with the Nth
// write (or sync) failing. Returns true if the fault fired.
bool RunOnce(int n, bool fail_sync, const std::string& dir) {
  std::string path = dir + "/db" + std::to_string(n) + (fail_sync ? "s" : "w") + ".sqlite";
  SeqEnv env;
  FakeElectric server("items", kItemsSchemaHeader);
  for (int i = 1; i <= 3; i++) server.Insert(ItemRow(i, "before"));
  std::string old_offset, new_offset;
  bool fired = false;
  bool applied = false;
  {
    auto engine = Open(path, "faulty", &env);
    if (!engine) return false;
    SyncPair pair(engine.get(), &server);
    EXPECT_TRUE(pair.SyncUntilUpToDate());
    old_offset = json::parse(engine->StatusJson())["shapes"][0]["offset"].get<std::string>();
    for (int i = 4; i <= 8; i++) server.Insert(ItemRow(i, std::string(300, 'x')));
    g_fault = FaultState();
    (fail_sync ? g_fault.sync_countdown : g_fault.write_countdown) = n;
    pair.ReleaseHeld();  // applies the live batch (and may retry on failure)
    fired = g_fault.fired;
    g_fault = FaultState();
    new_offset = json::parse(engine->StatusJson())["shapes"][0]["offset"].get<std::string>();
    applied = new_offset != old_offset;
    if (fired) {
      // A failed apply left the in-memory state where it was.
      EXPECT_TRUE(!applied || Q(*engine, "SELECT count(*) FROM items")[0][0] == 8) << "n=" << n;
    }
  }
  // Reopen without faults: consistent, and exactly one of the two states.
  auto engine = Open(path, "", &env);
  if (!engine) return fired;
  EXPECT_EQ(Q(*engine, "PRAGMA integrity_check")[0][0], "ok") << "n=" << n;
  int64_t rows = Q(*engine, "SELECT count(*) FROM items")[0][0].get<int64_t>();
  std::string offset = Q(*engine, "SELECT \"offset\" FROM _el_shapes")[0][0].get<std::string>();
  if (rows == 3) {
    EXPECT_EQ(offset, old_offset) << "n=" << n;
  } else {
    EXPECT_EQ(rows, 8) << "n=" << n;
    EXPECT_NE(offset, old_offset) << "n=" << n;
    EXPECT_EQ(Q(*engine, "SELECT count(*) FROM items WHERE title = 'before'")[0][0], 3);
  }
  engine.reset();
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return fired;
}

std::string TempDir() {
  char tmpl[] = "/tmp/el_fault_XXXXXX";
  char* d = mkdtemp(tmpl);
  return d != nullptr ? d : "/tmp";
}

TEST(FaultInjectionTest, FailNthWriteDuringApply) {
  RegisterFaultVfs();
  std::string dir = TempDir();
  int n = 1;
  for (; n < 200; n++) {
    if (!RunOnce(n, /*fail_sync=*/false, dir)) break;
    if (HasFailure()) break;
  }
  std::printf("fault runs: failed write N = 1..%d, then a clean run\n", n - 1);
  EXPECT_GT(n, 2) << "the batch should take several writes";
  EXPECT_LT(n, 200);
  rmdir(dir.c_str());
}

TEST(FaultInjectionTest, FailNthSyncDuringApply) {
  RegisterFaultVfs();
  std::string dir = TempDir();
  int n = 1;
  for (; n < 50; n++) {
    if (!RunOnce(n, /*fail_sync=*/true, dir)) break;
    if (HasFailure()) break;
  }
  std::printf("fault runs: failed sync N = 1..%d, then a clean run\n", n - 1);
  EXPECT_GT(n, 1);
  rmdir(dir.c_str());
}

// The same during an initial snapshot loaded in bulk (a text key, so the key
// index is left out until snapshot-end): the Nth write of its third response
// (of five) fails. After reopening, the rows and the offset agree (20 rows
// and the second response's offset, or 30 and the third's), and the load
// resumes to all 50 rows with the key index built and no key twice.
const char kNotesSql[] = "CREATE TABLE notes (id text PRIMARY KEY, title text NOT NULL);";
const char kNotesHeader[] =
    R"({"id":{"type":"text","pk_index":0,"not_null":true},"title":{"type":"text","not_null":true}})";

bool RunBulkOnce(int n, const std::string& dir) {
  std::string path = dir + "/bulk" + std::to_string(n) + ".sqlite";
  FakeElectric server("notes", kNotesHeader);
  for (int i = 1; i <= 50; i++) {
    server.Insert(json{{"id", "k" + std::to_string(i)}, {"title", std::string(200, 'x')}});
  }
  server.snapshot_chunk_rows = 10;
  json opts = {{"path", path}, {"vfs", "faulty"}, {"baseUrl", "http://e"}, {"schemaSql", kNotesSql}};
  std::string offset_before;
  bool fired = false;
  {
    auto r = Engine::Open(opts.dump());
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return false;
    std::unique_ptr<Engine> engine = std::move(r).value();
    SyncPair pair(engine.get(), &server);
    pair.Pump(2);
    offset_before = Q(*engine, "SELECT \"offset\" FROM _el_shapes")[0][0].get<std::string>();
    g_fault = FaultState();
    g_fault.write_countdown = n;
    pair.Pump(1);
    fired = g_fault.fired;
    g_fault = FaultState();
  }
  opts["vfs"] = "";
  auto r = Engine::Open(opts.dump());
  EXPECT_TRUE(r.ok()) << "n=" << n;
  if (!r.ok()) return fired;
  std::unique_ptr<Engine> engine = std::move(r).value();
  EXPECT_EQ(Q(*engine, "PRAGMA integrity_check")[0][0], "ok") << "n=" << n;
  int64_t rows = Q(*engine, "SELECT count(*) FROM notes")[0][0].get<int64_t>();
  std::string offset = Q(*engine, "SELECT \"offset\" FROM _el_shapes")[0][0].get<std::string>();
  if (rows == 20) {
    EXPECT_EQ(offset, offset_before) << "n=" << n;
  } else {
    EXPECT_EQ(rows, 30) << "n=" << n;
    EXPECT_NE(offset, offset_before) << "n=" << n;
  }
  SyncPair pair(engine.get(), &server);
  EXPECT_TRUE(pair.SyncUntilUpToDate()) << "n=" << n;
  EXPECT_EQ(Q(*engine, "SELECT count(*), count(DISTINCT id) FROM notes")[0], json::parse("[50,50]"))
      << "n=" << n;
  EXPECT_EQ(Q(*engine, "SELECT count(*) FROM sqlite_schema WHERE name = '_el_pk_notes'")[0][0], 1)
      << "n=" << n;
  engine.reset();
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return fired;
}

TEST(FaultInjectionTest, FailNthWriteDuringABulkLoadedSnapshot) {
  RegisterFaultVfs();
  std::string dir = TempDir();
  int n = 1;
  for (; n < 200; n++) {
    if (!RunBulkOnce(n, dir)) break;
    if (HasFailure()) break;
  }
  std::printf("bulk fault runs: failed write N = 1..%d, then a clean run\n", n - 1);
  EXPECT_GT(n, 2) << "the response should take several writes";
  EXPECT_LT(n, 200);
  rmdir(dir.c_str());
}

// Restart resumes where it stopped: nothing skipped, nothing applied twice
// (P-RESUME, C-CATCHUP).
TEST(ResumeTest, P_RESUME_C_CATCHUP_ReopenContinuesFromStoredHandleAndOffset) {
  std::string dir = TempDir();
  std::string path = dir + "/resume.sqlite";
  SeqEnv env;
  FakeElectric server("items", kItemsSchemaHeader);
  server.Insert(ItemRow(1, "a"));
  std::string handle, offset;
  {
    auto engine = Open(path, "", &env);
    SyncPair pair(engine.get(), &server);
    ASSERT_TRUE(pair.SyncUntilUpToDate());
    json st = json::parse(engine->StatusJson());
    handle = st["shapes"][0]["handle"].get<std::string>();
    offset = st["shapes"][0]["offset"].get<std::string>();
  }
  for (int i = 2; i <= 10; i++) server.Insert(ItemRow(i, "missed"));  // 9 while offline
  size_t before = server.urls.size();
  {
    auto engine = Open(path, "", &env);
    SyncPair pair(engine.get(), &server);
    int64_t synced_rows = 0;
    pair.after_response = [&] {};
    ASSERT_TRUE(pair.SyncUntilUpToDate());
    ParsedUrl first = ParseUrl(server.urls[before]);
    EXPECT_EQ(first.query["handle"], handle);
    EXPECT_EQ(first.query["offset"], offset);
    EXPECT_EQ(first.query.count("live"), 0u);  // catch-up is non-live
    for (const json& ev : pair.TakeEvents()) {
      if (ev["type"] == "sync") synced_rows += ev["rows"].get<int64_t>();
    }
    EXPECT_EQ(synced_rows, 9);
    EXPECT_EQ(Q(*engine, "SELECT count(*) FROM items")[0][0], 10);
  }
  {
    // Third session: accumulates, never restarts from -1.
    server.Insert(ItemRow(11, "later"));
    before = server.urls.size();
    auto engine = Open(path, "", &env);
    SyncPair pair(engine.get(), &server);
    ASSERT_TRUE(pair.SyncUntilUpToDate());
    EXPECT_NE(ParseUrl(server.urls[before]).query["offset"], "-1");
    EXPECT_EQ(Q(*engine, "SELECT count(*) FROM items")[0][0], 11);
  }
  for (const char* suffix : {"", "-journal"}) std::remove((path + suffix).c_str());
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace testing
}  // namespace electrolite
