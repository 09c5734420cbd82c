// Snapshots: Export() -> zstd image with magic, version, schema
// fingerprint and checksum; open with import_snapshot restores rows, overlay,
// outbox and shape offsets, and the restored engine resumes without
// re-fetching. Damaged or foreign snapshots are refused and change nothing.
#include <gtest/gtest.h>

#include "engine_impl.h"
#include "fake_electric.h"
#include "content_coding.h"
#include "snapshot_export.h"

#include <zstd.h>

namespace electrolite {
namespace testing {
namespace {

class CountingEnv : public Env {
 public:
  uint64_t RandomU64() override { return state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL; }
  uint64_t state_ = 11;
};

json ItemsOptions(const std::string& schema = kItemsSchemaSql) {
  return json{{"path", ":memory:"}, {"baseUrl", "http://electric.test"}, {"schemaSql", schema},
              {"nowMs", 1000000},
              {"policies", {{"items", {{"policy", "server-wins"}, {"writable", true}}}}}};
}

std::unique_ptr<Engine> OpenWith(const json& opts, Env* env, const std::string& snapshot = "") {
  Result<EngineOptions> o = EngineOptions::FromJson(opts.dump());
  EXPECT_TRUE(o.ok());
  o->import_snapshot = snapshot;
  auto r = Engine::Open(o.value(), env);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

json Rows(Engine& e, const std::string& sql) {
  json r = json::parse(e.Query(sql, "[]"));
  EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
  return r["rows"];
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 1; i <= 50; i++) server_.Insert(ItemRow(i, "item " + std::to_string(i), i % 5));
    engine_ = OpenWith(ItemsOptions(), &env_);
    ASSERT_NE(engine_, nullptr);
    SyncPair pair(engine_.get(), &server_);
    ASSERT_TRUE(pair.SyncUntilUpToDate());
    now_ = pair.now;
  }
  CountingEnv env_;
  FakeElectric server_{"items", kItemsSchemaHeader};
  std::unique_ptr<Engine> engine_;
  int64_t now_ = 0;
};

TEST_F(SnapshotTest, RoundTripResumesWithoutRefetch) {
  // A pending local write (offline, so it stays in the outbox).
  engine_->SetOnline(false, now_);
  json w = json::parse(engine_->Update("items", R"({"id":3})", R"({"title":"local"})", now_));
  ASSERT_TRUE(w["ok"].get<bool>()) << w.dump();
  json before_status = json::parse(engine_->StatusJson());
  Result<std::string> snap = engine_->Export();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  Result<SnapshotInfo> info = ReadSnapshotHeader(snap.value());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->version, kSnapshotFormatVersion);
  EXPECT_LT(snap->size(), info->payload_bytes);  // compressed

  CountingEnv env2;
  std::unique_ptr<Engine> restored = OpenWith(ItemsOptions(), &env2, snap.value());
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(Rows(*restored, "SELECT id, title FROM items ORDER BY id"),
            Rows(*engine_, "SELECT id, title FROM items ORDER BY id"));
  EXPECT_EQ(Rows(*restored, "SELECT title FROM items WHERE id = 3")[0][0], "local");
  json pending = json::parse(restored->PendingMutations());
  ASSERT_EQ(pending["mutations"].size(), 1u) << pending.dump();
  EXPECT_EQ(pending["mutations"][0]["id"], w["mutationId"]);
  json st = json::parse(restored->StatusJson());
  EXPECT_EQ(st["shapes"][0]["offset"], before_status["shapes"][0]["offset"]);
  EXPECT_EQ(st["shapes"][0]["handle"], server_.handle());
  // The first request resumes at the exported offset with the same handle.
  std::optional<Request> req;
  for (int i = 0; i < 3; i++) {  // the pending write's upload may come first
    req = restored->PollRequest(now_ + 10);
    ASSERT_TRUE(req.has_value());
    if (req->kind == "shape") break;
  }
  ASSERT_EQ(req->kind, "shape");
  ParsedUrl url = ParseUrl(req->url);
  EXPECT_NE(url.query["offset"], "-1");
  EXPECT_EQ(url.query["offset"], before_status["shapes"][0]["offset"]);
  EXPECT_EQ(url.query["handle"], server_.handle());
}

TEST_F(SnapshotTest, DamagedSnapshotsAreRefusedWithClearErrors) {
  Result<std::string> snap = engine_->Export();
  ASSERT_TRUE(snap.ok());
  auto open_err = [&](const std::string& bytes, const json& opts = ItemsOptions()) {
    Result<EngineOptions> o = EngineOptions::FromJson(opts.dump());
    o->import_snapshot = bytes;
    CountingEnv env;
    auto r = Engine::Open(o.value(), &env);
    EXPECT_FALSE(r.ok());
    return r.ok() ? Status::Ok() : r.status();
  };
  Status s = open_err("SQLite format 3\0 not ours");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("not an Electrolite snapshot"), std::string::npos) << s.ToString();
  s = open_err(snap->substr(0, 20));
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  s = open_err(snap->substr(0, snap->size() - 7));
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  // A flipped byte anywhere in the compressed data.
  for (size_t pos : {kSnapshotHeaderSize + 10, snap->size() / 2, snap->size() - 3}) {
    std::string bad = snap.value();
    bad[pos] = static_cast<char>(bad[pos] ^ 0x20);
    s = open_err(bad);
    EXPECT_EQ(s.code(), Code::kCorruption) << "byte " << pos << ": " << s.ToString();
  }
  // The header's checksum itself.
  std::string bad = snap.value();
  bad[28] = static_cast<char>(bad[28] ^ 1);
  EXPECT_EQ(open_err(bad).code(), Code::kCorruption);
  // A future format version.
  bad = snap.value();
  bad[8] = 9;
  s = open_err(bad);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("version 9"), std::string::npos);
  // Another app's schema (foreign snapshot).
  s = open_err(snap.value(), ItemsOptions("CREATE TABLE notes (id bigint PRIMARY KEY, body text);"));
  EXPECT_EQ(s.code(), Code::kSchema) << s.ToString();
  EXPECT_NE(s.message().find("fingerprint"), std::string::npos);
}

// Every damage a transfer or a disk can do: any flipped byte, any truncation,
// trailing garbage. Each is refused (never a crash, never a partial import).
TEST_F(SnapshotTest, EveryFlippedByteTruncationAndTrailingGarbageIsRefused) {
  Result<std::string> snap = engine_->Export();
  ASSERT_TRUE(snap.ok());
  Result<uint64_t> fp = DeclaredFingerprint(EngineOptions::FromJson(ItemsOptions().dump()).value());
  ASSERT_TRUE(fp.ok());
  auto refused = [&](const std::string& bytes) {
    Result<std::unique_ptr<Store>> store = Store::Open(":memory:", "");
    EXPECT_TRUE(store.ok());
    Status s = ImportSnapshot(*store.value(), bytes, fp.value());
    Result<bool> touched = store.value()->TableExists("_el_tables");
    return !s.ok() && touched.ok() && !touched.value();
  };
  ASSERT_FALSE(refused(snap.value()));  // the intact image imports
  int flips = 0;
  for (size_t pos = 0; pos < snap->size(); pos += (pos < kSnapshotHeaderSize + 64 ? 1 : 5)) {
    for (unsigned char bit : {0x01, 0x80}) {
      std::string bad = snap.value();
      bad[pos] = static_cast<char>(bad[pos] ^ bit);
      ASSERT_TRUE(refused(bad)) << "flip 0x" << std::hex << int(bit) << " at byte " << std::dec << pos;
      flips++;
    }
  }
  for (size_t len = 0; len < snap->size(); len += 3) {
    ASSERT_TRUE(refused(snap->substr(0, len))) << "truncated to " << len;
  }
  ASSERT_TRUE(refused(snap.value() + "x"));
  ASSERT_TRUE(refused(snap.value() + snap.value()));
  EXPECT_GT(flips, 200);
}

TEST_F(SnapshotTest, RefusedImportLeavesAFileDatabaseUntouched) {
  // Import into a database file that already has content: a damaged image
  // changes nothing in it.
  std::string path = ::testing::TempDir() + "/el_snapshot_test.db";
  std::remove(path.c_str());
  json opts = ItemsOptions();
  opts["path"] = path;
  {
    std::unique_ptr<Engine> e = OpenWith(opts, &env_);
    ASSERT_NE(e, nullptr);
    SyncPair pair(e.get(), &server_);
    ASSERT_TRUE(pair.SyncUntilUpToDate());
  }
  Result<std::string> snap = engine_->Export();
  ASSERT_TRUE(snap.ok());
  std::string bad = snap.value();
  bad[bad.size() / 2] ^= 0x55;
  Result<EngineOptions> o = EngineOptions::FromJson(opts.dump());
  o->import_snapshot = bad;
  ASSERT_FALSE(Engine::Open(o.value(), &env_).ok());
  std::unique_ptr<Engine> e = OpenWith(opts, &env_);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(Rows(*e, "SELECT count(*) FROM items")[0][0], 50);
  // And a good image replaces the file's content.
  e.reset();
  std::unique_ptr<Engine> r = OpenWith(opts, &env_, snap.value());
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(Rows(*r, "SELECT count(*) FROM items")[0][0], 50);
  EXPECT_EQ(Rows(*r, "PRAGMA integrity_check")[0][0], "ok");
  r.reset();
  std::remove(path.c_str());
}

TEST(ContentCodingTest, ZstdDecompressWholeTruncatedForeignAndBounded) {
  std::string body;
  for (int i = 0; i < 20000; i++) body += "{\"headers\":{\"operation\":\"insert\"}},";
  std::string z(ZSTD_compressBound(body.size()), '\0');
  z.resize(ZSTD_compress(&z[0], z.size(), body.data(), body.size(), 3));
  Result<std::string> d = ZstdDecompress(z);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d.value(), body);
  // Two concatenated frames decode to both.
  d = ZstdDecompress(z + z);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->size(), 2 * body.size());
  EXPECT_EQ(ZstdDecompress(z.substr(0, z.size() / 2)).status().code(), Code::kCorruption);
  EXPECT_EQ(ZstdDecompress("[{\"a\":1}]").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ZstdDecompress(z, 1000).status().code(), Code::kStorageFull);
}

TEST(SnapshotUnitTest, Crc32MatchesZlib) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
}

}  // namespace
}  // namespace testing
}  // namespace electrolite
