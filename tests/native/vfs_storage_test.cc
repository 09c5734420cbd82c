// The wasm storage layer built natively: ChaCha20-Poly1305 against RFC 8439's vectors,
// EncryptedStorage's byte semantics against a plain reference under random writes and
// truncates, and SQLite on an encrypted VFS (round trip, wrong key, tampered page, WAL).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "vfs/chacha20poly1305.h"
#include "vfs/encrypted_storage.h"
#include "vfs/mem_storage.h"
#include "vfs/sqlite_vfs.h"
#include "vfs_control.h"

namespace electrolite {
namespace vfs {
namespace {

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string ToHex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

TEST(ChaCha20Poly1305, Rfc8439ChaCha20Encryption_2_4_2) {
  std::vector<uint8_t> key(32);
  for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i);
  const uint8_t nonce[12] = {0, 0, 0, 0, 0, 0, 0, 0x4a, 0, 0, 0, 0};
  std::string pt =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  std::vector<uint8_t> buf(pt.begin(), pt.end());
  ChaCha20Xor(key.data(), 1, nonce, buf.data(), buf.data(), buf.size());
  EXPECT_EQ(ToHex(buf.data(), buf.size()),
            "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593d"
            "abcd62b3571639d624e65152ab8f530c359f0861d807ca0dbf500d6a6156a38e088a22b65e52bc514d16cc"
            "f806818ce91ab77937365af90bbf74a35be6b40b8eedf2785e42874d");
}

TEST(ChaCha20Poly1305, Rfc8439Poly1305_2_5_2) {
  auto key = FromHex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
  std::string msg = "Cryptographic Forum Research Group";
  uint8_t tag[16];
  Poly1305(key.data(), reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), tag);
  EXPECT_EQ(ToHex(tag, 16), "a8061dc1305136c6c22b8baf0c0127a9");
}

TEST(ChaCha20Poly1305, Rfc8439Aead_2_8_2) {
  auto key = FromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  auto nonce = FromHex("070000004041424344454647");
  auto aad = FromHex("50515253c0c1c2c3c4c5c6c7");
  std::string pt =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  std::vector<uint8_t> buf(pt.begin(), pt.end());
  uint8_t tag[16];
  AeadSeal(key.data(), nonce.data(), aad.data(), aad.size(), buf.data(), buf.size(), tag);
  EXPECT_EQ(ToHex(buf.data(), buf.size()),
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb"
            "69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad6"
            "75945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116");
  EXPECT_EQ(ToHex(tag, 16), "1ae10b594f09e26a7e902ecbd0600691");
  std::vector<uint8_t> copy = buf;
  ASSERT_TRUE(AeadOpen(key.data(), nonce.data(), aad.data(), aad.size(), copy.data(), copy.size(), tag));
  EXPECT_EQ(std::string(copy.begin(), copy.end()), pt);
  // Any flipped bit (ciphertext, aad, tag) is refused and nothing is decrypted.
  copy = buf;
  copy[7] ^= 1;
  EXPECT_FALSE(AeadOpen(key.data(), nonce.data(), aad.data(), aad.size(), copy.data(), copy.size(), tag));
  EXPECT_EQ(copy[0], buf[0]);
  aad[0] ^= 0x80;
  copy = buf;
  EXPECT_FALSE(AeadOpen(key.data(), nonce.data(), aad.data(), aad.size(), copy.data(), copy.size(), tag));
}

std::string EncryptedSqliteTest_One(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return sqlite3_errmsg(db);
  std::string out;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(st, 0);
    out = t ? reinterpret_cast<const char*>(t) : "NULL";
  } else {
    out = "error " + std::to_string(rc) + ": " + sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  return out;
}

const uint8_t kKey[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                          17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

std::vector<uint8_t> ReadAll(File* f) {
  uint64_t size = 0;
  EXPECT_EQ(f->Size(&size), IoCode::kOk);
  std::vector<uint8_t> out(size);
  size_t n = 0;
  EXPECT_EQ(f->Read(0, MutableBytes{out.data(), out.size()}, &n), IoCode::kOk);
  EXPECT_EQ(n, size);
  return out;
}

// Writes `data` at `offset` to the file and to `model`, the plain byte vector it must match
// (a write past the end leaves zeros in the gap).
void WriteBoth(File* f, std::vector<uint8_t>* model, uint64_t offset, const std::vector<uint8_t>& data) {
  ASSERT_EQ(f->Write(offset, ConstBytes{data.data(), data.size()}), IoCode::kOk);
  if (model->size() < offset + data.size()) model->resize(offset + data.size(), 0);
  std::memcpy(model->data() + offset, data.data(), data.size());
}

// Random writes, truncates and reopens: the encrypted file always reads back exactly as a
// plain byte vector would, and nothing of the plaintext is visible in the stored bytes.
TEST(EncryptedStorage, MatchesAPlainFileUnderRandomWritesAndTruncates) {
  MemStorage mem;
  EncryptedStorage enc(&mem, kKey);
  std::mt19937_64 rng(42);
  std::vector<uint8_t> model;
  std::unique_ptr<File> f;
  ASSERT_EQ(enc.Open("f", true, &f), IoCode::kOk);
  for (int step = 0; step < 400; ++step) {
    int op = static_cast<int>(rng() % 10);
    if (op < 7) {
      uint64_t offset = rng() % (model.size() + 9000);
      size_t len = 1 + rng() % 9000;
      std::vector<uint8_t> data(len);
      for (auto& c : data) c = 'a' + rng() % 26;
      ASSERT_NO_FATAL_FAILURE(WriteBoth(f.get(), &model, offset, data));
    } else if (op < 9) {
      uint64_t size = rng() % (model.size() + 5000);
      ASSERT_EQ(f->Truncate(size), IoCode::kOk);
      model.resize(size, 0);
    } else {
      f.reset();
      ASSERT_EQ(enc.Open("f", false, &f), IoCode::kOk);
    }
    ASSERT_EQ(ReadAll(f.get()), model) << "step " << step;
    uint64_t stat = 0;
    ASSERT_EQ(enc.Stat("f", &stat), IoCode::kOk);
    ASSERT_EQ(stat, model.size());
  }
  // Short read at the end: fewer bytes, no error.
  std::vector<uint8_t> tail(100);
  size_t n = 0;
  ASSERT_EQ(f->Read(model.size() > 10 ? model.size() - 10 : 0, MutableBytes{tail.data(), 100}, &n), IoCode::kOk);
  EXPECT_EQ(n, model.size() > 10 ? 10u : model.size());
  // The stored bytes hold no run of the plaintext alphabet longer than chance allows.
  std::unique_ptr<File> raw;
  ASSERT_EQ(mem.Open("f", false, &raw), IoCode::kOk);
  std::vector<uint8_t> stored = ReadAll(raw.get());
  size_t run = 0, longest = 0;
  for (uint8_t c : stored) {
    run = (c >= 'a' && c <= 'z') ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  EXPECT_LT(longest, 16u);
}

// The memory file against a plain byte vector: writes past the end (gaps), across
// 64 KB chunks, shrinking then growing again. Every byte the file never wrote
// reads as zero, whatever its chunk held before.
TEST(MemStorageTest, MatchesAPlainFileWhereverItGrows) {
  MemStorage mem;
  std::mt19937_64 rng(7);
  std::vector<uint8_t> model;
  std::unique_ptr<File> f;
  ASSERT_EQ(mem.Open("m", true, &f), IoCode::kOk);
  for (int step = 0; step < 600; ++step) {
    int op = static_cast<int>(rng() % 10);
    if (op < 6) {
      uint64_t offset = rng() % (model.size() + 150000);
      size_t len = 1 + rng() % (rng() % 2 ? 5000 : 140000);
      std::vector<uint8_t> data(len, static_cast<uint8_t>(1 + rng() % 255));
      ASSERT_NO_FATAL_FAILURE(WriteBoth(f.get(), &model, offset, data));
    } else {
      uint64_t size = rng() % (model.size() + 150000);
      ASSERT_EQ(f->Truncate(size), IoCode::kOk);
      model.resize(size, 0);
    }
    ASSERT_EQ(ReadAll(f.get()), model) << "step " << step;
  }
}

TEST(EncryptedStorage, WrongKeyAndPlainFilesAreRecognised) {
  MemStorage mem;
  {
    EncryptedStorage enc(&mem, kKey);
    std::unique_ptr<File> f;
    ASSERT_EQ(enc.Open("db", true, &f), IoCode::kOk);
    std::string hello = "hello";
    ASSERT_EQ(f->Write(0, ConstBytes{reinterpret_cast<const uint8_t*>(hello.data()), 5}), IoCode::kOk);
    EXPECT_EQ(enc.CheckKey("db"), EncryptedStorage::KeyCheck::kMatches);
    EXPECT_EQ(enc.CheckKey("missing"), EncryptedStorage::KeyCheck::kEmpty);
  }
  uint8_t other[32];
  std::memcpy(other, kKey, 32);
  other[31] ^= 1;
  EncryptedStorage wrong(&mem, other);
  EXPECT_EQ(wrong.CheckKey("db"), EncryptedStorage::KeyCheck::kWrongKey);
  std::unique_ptr<File> f;
  EXPECT_EQ(wrong.Open("db", false, &f), IoCode::kCorrupt);
  EXPECT_NE(wrong.LastError().find("wrong encryption key"), std::string::npos) << wrong.LastError();
  // A file written without encryption.
  std::unique_ptr<File> plain;
  ASSERT_EQ(mem.Open("plain", true, &plain), IoCode::kOk);
  std::vector<uint8_t> junk(200, 'x');
  ASSERT_EQ(plain->Write(0, ConstBytes{junk.data(), junk.size()}), IoCode::kOk);
  EXPECT_EQ(wrong.CheckKey("plain"), EncryptedStorage::KeyCheck::kNotEncrypted);
}

// SQLite over EncryptedStorage over MemStorage, registered as its own VFS.
class EncryptedSqliteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mem_ = new MemStorage();
    enc_ = new EncryptedStorage(mem_, kKey);
    ASSERT_EQ(RegisterVfs("enc-test", enc_, false), SQLITE_OK);
    uint8_t other[32] = {9};
    wrong_ = new EncryptedStorage(mem_, other);
    ASSERT_EQ(RegisterVfs("enc-wrong", wrong_, false), SQLITE_OK);
  }

  static sqlite3* OpenDb(const char* name, const char* vfs, int* rc_out = nullptr) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(name, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
    if (rc_out != nullptr) *rc_out = rc;
    if (rc != SQLITE_OK) {
      sqlite3_close(db);
      return nullptr;
    }
    return db;
  }

  static int Exec(sqlite3* db, const std::string& sql) {
    return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }

  static std::string One(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return "prepare error";
    std::string out;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t ? reinterpret_cast<const char*>(t) : "NULL";
    } else {
      out = "error " + std::to_string(rc);
    }
    sqlite3_finalize(st);
    return out;
  }

  static MemStorage* mem_;
  static EncryptedStorage* enc_;
  static EncryptedStorage* wrong_;
};

MemStorage* EncryptedSqliteTest::mem_ = nullptr;
EncryptedStorage* EncryptedSqliteTest::enc_ = nullptr;
EncryptedStorage* EncryptedSqliteTest::wrong_ = nullptr;

TEST_F(EncryptedSqliteTest, RoundTripInWalAndRollbackJournal) {
  for (std::string mode : {"wal", "truncate"}) {
    std::string name = "rt-" + mode + ".db";
    sqlite3* db = OpenDb(name.c_str(), "enc-test");
    ASSERT_NE(db, nullptr);
    ASSERT_EQ(Exec(db, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=" + mode +
                           "; PRAGMA synchronous=FULL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"),
              SQLITE_OK);
    ASSERT_EQ(Exec(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 3000) "
                       "INSERT INTO t SELECT i, printf('secret-%05d-', i) || hex(randomblob(20)) FROM c"),
              SQLITE_OK);
    // A rolled-back transaction leaves nothing.
    ASSERT_EQ(Exec(db, "BEGIN; DELETE FROM t; ROLLBACK"), SQLITE_OK);
    sqlite3_close(db);
    db = OpenDb(name.c_str(), "enc-test");
    ASSERT_NE(db, nullptr);
    ASSERT_EQ(Exec(db, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=" + mode), SQLITE_OK);
    EXPECT_EQ(One(db, "SELECT count(*) FROM t"), "3000");
    EXPECT_EQ(One(db, "PRAGMA integrity_check"), "ok");
    sqlite3_close(db);
    // No plaintext in the stored bytes.
    std::unique_ptr<File> raw;
    ASSERT_EQ(mem_->Open(name, false, &raw), IoCode::kOk);
    std::vector<uint8_t> bytes = ReadAll(raw.get());
    std::string s(bytes.begin(), bytes.end());
    EXPECT_EQ(s.find("secret-"), std::string::npos) << mode;
    EXPECT_EQ(s.find("SQLite format 3"), std::string::npos) << mode;
  }
}

TEST_F(EncryptedSqliteTest, WrongKeyIsRefusedAndTamperingIsCorruption) {
  sqlite3* db = OpenDb("tamper.db", "enc-test");
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(Exec(db, "CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('a'), ('b')"), SQLITE_OK);
  ASSERT_EQ(Exec(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 500) "
                     "INSERT INTO t SELECT hex(randomblob(100)) FROM c"),
            SQLITE_OK);
  sqlite3_close(db);

  EXPECT_EQ(wrong_->CheckKey("tamper.db"), EncryptedStorage::KeyCheck::kWrongKey);
  int rc = 0;
  sqlite3* bad = OpenDb("tamper.db", "enc-wrong", &rc);
  if (bad != nullptr) {  // SQLite opens lazily: the first read fails
    EXPECT_EQ(One(bad, "SELECT count(*) FROM t"), "error " + std::to_string(SQLITE_CORRUPT));
    sqlite3_close(bad);
  } else {
    EXPECT_EQ(rc & 0xff, SQLITE_CORRUPT);
  }

  // Flip one byte inside the ciphertext of block 3 (a table page).
  std::unique_ptr<File> raw;
  ASSERT_EQ(mem_->Open("tamper.db", false, &raw), IoCode::kOk);
  uint64_t off = EncryptedStorage::kHeaderSize + 3 * EncryptedStorage::kPhysicalBlockSize + 100;
  uint8_t byte = 0;
  size_t n = 0;
  ASSERT_EQ(raw->Read(off, MutableBytes{&byte, 1}, &n), IoCode::kOk);
  byte ^= 0x01;
  ASSERT_EQ(raw->Write(off, ConstBytes{&byte, 1}), IoCode::kOk);
  db = OpenDb("tamper.db", "enc-test");
  ASSERT_NE(db, nullptr);
  std::string r = One(db, "SELECT count(*) FROM t");
  EXPECT_EQ(r, "error " + std::to_string(SQLITE_CORRUPT));
  EXPECT_NE(enc_->LastError().find("failed authentication"), std::string::npos) << enc_->LastError();
  sqlite3_close(db);
}

// Fault injection at the storage seam (STYLE.md #14): a Storage whose Nth write or sync
// fails. For N = 1, 2, ... a transaction on a WAL database (encrypted, or combining writes)
// either succeeds or fails cleanly; after reopening, integrity_check is ok and the table
// holds exactly the rows of the committed transactions.
class FaultStorage : public Storage {
 public:
  explicit FaultStorage(Storage* base) : base_(base) {}
  void FailAt(int n) {
    fail_at_ = n;
    ops_ = 0;
  }
  IoCode Open(const std::string& name, bool create, std::unique_ptr<File>* file) override {
    std::unique_ptr<File> inner;
    IoCode code = base_->Open(name, create, &inner);
    if (code == IoCode::kOk) *file = std::make_unique<FaultFile>(this, std::move(inner));
    return code;
  }
  IoCode Delete(const std::string& name) override { return base_->Delete(name); }
  IoCode Stat(const std::string& name, uint64_t* size) override { return base_->Stat(name, size); }
  std::string LastError() const override { return "injected fault"; }

  int writes = 0;  // every Write that reached this storage

 private:
  class FaultFile : public File {
   public:
    FaultFile(FaultStorage* owner, std::unique_ptr<File> inner) : owner_(owner), inner_(std::move(inner)) {}
    IoCode Read(uint64_t o, MutableBytes d, size_t* n) override { return inner_->Read(o, d, n); }
    IoCode Write(uint64_t o, ConstBytes s) override {
      owner_->writes++;
      return owner_->Fault() ? IoCode::kIoError : inner_->Write(o, s);
    }
    IoCode Truncate(uint64_t size) override { return inner_->Truncate(size); }
    IoCode Sync() override { return owner_->Fault() ? IoCode::kIoError : inner_->Sync(); }
    IoCode Size(uint64_t* size) override { return inner_->Size(size); }

   private:
    FaultStorage* owner_;
    std::unique_ptr<File> inner_;
  };
  bool Fault() { return fail_at_ > 0 && ++ops_ == fail_at_; }

  Storage* base_;
  int fail_at_ = 0;
  int ops_ = 0;
};

// Opens `file` on `vfs` the way Store::ApplyDurability does (synchronous FULL, or NORMAL when
// `normal`), with write combining (vfs/write_combiner.h) switched on through the store's file
// control when `combine`.
void OpenFull(const std::string& vfs, const char* file, bool combine, sqlite3** db, bool normal = false) {
  ASSERT_EQ(sqlite3_open_v2(file, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs.c_str()), SQLITE_OK);
  const std::string pragmas = std::string("PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=") +
                              (normal ? "NORMAL" : "FULL");
  ASSERT_EQ(sqlite3_exec(*db, pragmas.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  int on = combine ? 1 : 0;
  ASSERT_EQ(sqlite3_file_control(*db, "main", kFcntlCombineWrites, &on), SQLITE_OK);
}

// A single-row commit reaches the storage as one write when combined (the WAL frames of
// the commit joined, handed over with the commit frame), several without; the data reads back
// the same after reopening. Under synchronous FULL (a sync after it) and NORMAL (none).
class WriteCombining : public ::testing::TestWithParam<bool> {};

TEST_P(WriteCombining, OneHostWritePerCommitAndTheSameData) {
  const bool normal = GetParam();
  MemStorage mem;
  FaultStorage counted(&mem);
  const std::string vfs = normal ? "combine-count-normal" : "combine-count";
  ASSERT_EQ(RegisterVfs(vfs, &counted, false), SQLITE_OK);
  int writes_per_commit[2] = {0, 0};
  for (bool combine : {false, true}) {
    const char* file = combine ? "on.db" : "off.db";
    sqlite3* db = nullptr;
    OpenFull(vfs, file, combine, &db, normal);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)", nullptr, nullptr, nullptr),
              SQLITE_OK);
    const int before = counted.writes;
    for (int i = 0; i < 50; ++i) {
      std::string sql = "INSERT INTO t(v) VALUES ('row " + std::to_string(i) + "')";
      ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    }
    writes_per_commit[combine] = (counted.writes - before) / 50;
    sqlite3_close(db);
    OpenFull(vfs, file, combine, &db, normal);
    EXPECT_EQ(EncryptedSqliteTest_One(db, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(EncryptedSqliteTest_One(db, "SELECT count(*) || ',' || max(v) FROM t"), "50,row 9");
    sqlite3_close(db);
  }
  EXPECT_EQ(writes_per_commit[1], 1);
  EXPECT_GE(writes_per_commit[0], 4);  // header + page per frame, table and index pages
}

INSTANTIATE_TEST_SUITE_P(FullOrNormal, WriteCombining, ::testing::Bool());

// Params: reopen the database after every transaction (or keep the connection that saw the
// fault and reopen only at the end); encrypted storage (which never combines writes) or
// plain storage with write combining on; synchronous FULL or NORMAL (no sync at a commit:
// the commit frame's combined write is the one that must fail it).
class StorageFaults : public ::testing::TestWithParam<std::tuple<bool, bool, bool>> {};

TEST_P(StorageFaults, FailingTheNthWriteOrSyncLosesNothingCommitted) {
  const bool reopen_each = std::get<0>(GetParam());
  const bool combine = std::get<1>(GetParam());
  const bool normal = std::get<2>(GetParam());
  const std::string vfs_name = std::string(combine ? "combined" : "enc") + "-faults-" +
                               (reopen_each ? "reopen" : "keep") + (normal ? "-normal" : "");
  MemStorage mem;
  FaultStorage faults(&mem);
  EncryptedStorage enc(&faults, kKey);
  ASSERT_EQ(RegisterVfs(vfs_name, combine ? static_cast<Storage*>(&faults) : &enc, false), SQLITE_OK);
  // A small page cache: each transaction spills pages to the WAL and then changes them again,
  // so SQLite overwrites its own frames and rewrites their headers before the commit counts.
  auto open = [&vfs_name, combine, normal](sqlite3** db) {
    OpenFull(vfs_name, "faults.db", combine, db, normal);
    ASSERT_EQ(sqlite3_exec(*db, "PRAGMA cache_size=4", nullptr, nullptr, nullptr), SQLITE_OK);
  };
  sqlite3* db = nullptr;
  open(&db);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", nullptr, nullptr, nullptr), SQLITE_OK);
  int committed = 0;
  int failures = 0;
  for (int n = 1; n <= 60; ++n) {
    faults.FailAt(n);
    // One transaction of 40 rows (several pages, spilling across WAL frames).
    std::string sql = "BEGIN; ";
    for (int i = 0; i < 40; ++i) {
      sql += "INSERT INTO t(v) VALUES (printf('%d-%d-', " + std::to_string(n) + ", " + std::to_string(i) +
             ") || hex(randomblob(300))); ";
    }
    sql += "UPDATE t SET v = v || 'x' WHERE id > (SELECT max(id) - 40 FROM t); COMMIT;";
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) {
      committed += 40;
    } else {
      ++failures;
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    faults.FailAt(0);
    if (reopen_each || n == 60) {
      // Reopen: what is there is exactly what was committed.
      sqlite3_close(db);
      open(&db);
    }
    ASSERT_EQ(EncryptedSqliteTest_One(db, "PRAGMA integrity_check"), "ok") << "n=" << n;
    ASSERT_EQ(EncryptedSqliteTest_One(db, "SELECT count(*) FROM t"), std::to_string(committed)) << "n=" << n;
  }
  sqlite3_close(db);
  // Combined, a transaction reaches the storage as one write and one sync (FULL) or one write
  // (NORMAL): each is failed.
  EXPECT_GT(failures, combine ? (normal ? 0 : 1) : 10) << "the faults hit the transactions";
  EXPECT_GT(committed, 0);
}

INSTANTIATE_TEST_SUITE_P(ReopenOrKeep, StorageFaults,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Bool()));

}  // namespace
}  // namespace vfs
}  // namespace electrolite
