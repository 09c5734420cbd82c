// The WAL's kept space (wasm/vfs/wal_space.h) through the raw SQLite VFS: commits overwrite
// allocated bytes instead of growing the WAL, a TRUNCATE checkpoint keeps the bytes but empties
// the WAL for recovery, and what a FULL commit returned survives a crash at any point (the
// files as they were at their last sync).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "vfs/mem_storage.h"
#include "vfs/sqlite_vfs.h"
#include "vfs/wal_space.h"
#include "vfs_control.h"

namespace electrolite {
namespace vfs {
namespace {

// Memory storage that behaves as storage on disk (so the WAL keeps its space), counts the
// writes that grow a file, and keeps each file as it was at its last sync: the image a crash
// (tab, browser or OS) leaves.
class DiskLike : public Storage {
 public:
  IoCode Open(const std::string& name, bool create, std::unique_ptr<File>* file) override {
    std::unique_ptr<File> inner;
    IoCode code = mem_.Open(name, create, &inner);
    if (code == IoCode::kOk) *file = std::make_unique<Tracked>(this, name, std::move(inner));
    return code;
  }
  IoCode Delete(const std::string& name) override {
    durable_.erase(name);
    return mem_.Delete(name);
  }
  IoCode Stat(const std::string& name, uint64_t* size) override { return mem_.Stat(name, size); }
  std::string LastError() const override { return mem_.LastError(); }
  bool OnDisk() const override { return true; }

  // The files as of their last sync, in a storage of their own.
  std::unique_ptr<MemStorage> CrashImage() const {
    auto image = std::make_unique<MemStorage>();
    for (const auto& [name, bytes] : durable_) {
      std::unique_ptr<File> f;
      EXPECT_EQ(image->Open(name, true, &f), IoCode::kOk);
      EXPECT_EQ(f->Write(0, ConstBytes{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}), IoCode::kOk);
    }
    return image;
  }

  std::string Contents(const std::string& name) {
    std::unique_ptr<File> f;
    if (mem_.Open(name, false, &f) != IoCode::kOk) return "";
    uint64_t size = 0;
    f->Size(&size);
    std::string out(size, '\0');
    size_t n = 0;
    f->Read(0, MutableBytes{reinterpret_cast<uint8_t*>(&out[0]), out.size()}, &n);
    return out;
  }

  std::map<std::string, int> growing_writes;  // by file name
  std::map<std::string, int> writes;

 private:
  class Tracked : public File {
   public:
    Tracked(DiskLike* owner, std::string name, std::unique_ptr<File> inner)
        : owner_(owner), name_(std::move(name)), inner_(std::move(inner)) {}
    IoCode Read(uint64_t o, MutableBytes d, size_t* n) override { return inner_->Read(o, d, n); }
    IoCode Write(uint64_t o, ConstBytes s) override {
      uint64_t size = 0;
      inner_->Size(&size);
      owner_->writes[name_]++;
      if (o + s.size > size) owner_->growing_writes[name_]++;
      return inner_->Write(o, s);
    }
    IoCode Truncate(uint64_t size) override { return inner_->Truncate(size); }
    IoCode Sync() override {
      owner_->durable_[name_] = owner_->Contents(name_);
      return inner_->Sync();
    }
    IoCode Size(uint64_t* size) override { return inner_->Size(size); }

   private:
    DiskLike* owner_;
    std::string name_;
    std::unique_ptr<File> inner_;
  };

  MemStorage mem_;
  std::map<std::string, std::string> durable_;
};

std::string One(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return out;
}

// As Store::ApplyDurability opens a persistent database (synchronous FULL, write combining on).
sqlite3* OpenFull(const std::string& vfs) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2("app.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs.c_str()), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         " PRAGMA journal_size_limit=5242880", nullptr, nullptr, nullptr), SQLITE_OK);
  int on = 1;
  EXPECT_EQ(sqlite3_file_control(db, "main", kFcntlCombineWrites, &on), SQLITE_OK);
  return db;
}

int g_images = 0;

// Opens the crash image of `disk` and returns "count,max(id)" of t (after an integrity check).
std::string AfterCrash(const DiskLike& disk) {
  std::unique_ptr<MemStorage> image = disk.CrashImage();
  const std::string vfs = "wal-space-crash-" + std::to_string(++g_images);
  EXPECT_EQ(RegisterVfs(vfs, image.get(), false), SQLITE_OK);
  sqlite3* db = OpenFull(vfs);
  EXPECT_EQ(One(db, "PRAGMA integrity_check"), "ok");
  std::string out = One(db, "SELECT count(*) || ',' || coalesce(max(id), 0) FROM t");
  sqlite3_close(db);
  return out;
}

// Row i: 400 hex digits from a fixed generator, so the unique index's page splits, and with
// them the WAL's size, are the same on every run.
void Insert(sqlite3* db, int i) {
  uint64_t x = 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(i);
  std::string v;
  while (v.size() < 400) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    static const char kHex[] = "0123456789abcdef";
    for (int k = 0; k < 16; ++k) v += kHex[(x >> (4 * k)) & 15];
  }
  const std::string sql = "INSERT INTO t(id, v) VALUES (" + std::to_string(i) + ", '" + v + "')";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
}

TEST(WalSpace, CommitsOverwriteTheWalAndSurviveACrash) {
  DiskLike disk;
  ASSERT_EQ(RegisterVfs("wal-space", &disk, false), SQLITE_OK);
  sqlite3* db = OpenFull("wal-space");
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  const int writes_before = disk.writes["app.db-wal"];
  const int grew_before = disk.growing_writes["app.db-wal"];
  for (int i = 1; i <= 200; ++i) {
    Insert(db, i);
    if (i == 1 || i == 77 || i == 200) EXPECT_EQ(AfterCrash(disk), std::to_string(i) + "," + std::to_string(i));
  }
  // One write per commit (combined); the WAL (~3 frames a commit) grew once per 512 KB chunk.
  EXPECT_EQ(disk.writes["app.db-wal"] - writes_before, 200);
  const uint64_t chunks = (disk.Contents("app.db-wal").size() + WalSpaceFile::kChunk - 1) / WalSpaceFile::kChunk;
  EXPECT_LE(disk.growing_writes["app.db-wal"] - grew_before, static_cast<int>(chunks));

  // The idle checkpoint: everything is in the database, the WAL keeps its bytes but is empty.
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), SQLITE_OK);
  const std::string wal = disk.Contents("app.db-wal");
  ASSERT_GE(wal.size(), WalSpaceFile::kChunk);
  EXPECT_EQ(wal.substr(0, WalSpaceFile::kWalHeader), std::string(WalSpaceFile::kWalHeader, '\0'));
  EXPECT_EQ(AfterCrash(disk), "200,200");
  // The next commits start the WAL again at its beginning: over bytes it has.
  const int grew_after_checkpoint = disk.growing_writes["app.db-wal"];
  for (int i = 201; i <= 260; ++i) Insert(db, i);
  EXPECT_EQ(disk.growing_writes["app.db-wal"], grew_after_checkpoint);
  EXPECT_EQ(AfterCrash(disk), "260,260");
  sqlite3_close(db);
  db = OpenFull("wal-space");
  EXPECT_EQ(One(db, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(One(db, "SELECT count(*) || ',' || max(id) FROM t"), "260,260");
  sqlite3_close(db);
}

// Where the kept space is off (storage in memory), every commit appends.
TEST(WalSpace, OffInMemory) {
  MemStorage mem;
  ASSERT_EQ(RegisterVfs("wal-space-mem", &mem, false), SQLITE_OK);
  sqlite3* db = OpenFull("wal-space-mem");
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", nullptr, nullptr, nullptr), SQLITE_OK);
  for (int i = 1; i <= 20; ++i) Insert(db, i);
  uint64_t size = 0;
  ASSERT_EQ(mem.Stat("app.db-wal", &size), IoCode::kOk);
  EXPECT_LT(size, WalSpaceFile::kChunk);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(mem.Stat("app.db-wal", &size), IoCode::kOk);
  EXPECT_EQ(size, 0u);
  sqlite3_close(db);
}

}  // namespace
}  // namespace vfs
}  // namespace electrolite
