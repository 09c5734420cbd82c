// Schema images (src/schema_image.h): a new database copies the image's pages instead of
// running the DDL, and only where it fits — a database with no schema yet, the same declared
// tables, a real SQLite file. Everywhere else the image is ignored and the open builds its own
// schema, as without one.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "engine.h"

namespace electrolite {
namespace {

const char kSchema[] =
    "CREATE TABLE notes (id uuid PRIMARY KEY, body text NOT NULL, updated_at timestamptz);";
const char kOtherSchema[] = "CREATE TABLE todos (id uuid PRIMARY KEY, done boolean);";
const char kPolicies[] = R"({"notes": {"policy": "last-write-wins", "timestamp": "updated_at", "writable": true}})";

class SchemaImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/electrolite-image-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const char* name : {"image", "target"}) {
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((File(name) + suffix).c_str());
    }
    rmdir(dir_.c_str());
  }
  std::string File(const char* name) const { return dir_ + "/" + name + ".db"; }

  std::unique_ptr<Engine> Open(const std::string& path, const char* schema, std::string image = "") {
    EngineOptions o;
    o.path = path;
    if (path != ":memory:") o.synchronous = "full";
    o.schema_sql = schema;
    o.policies_json = schema == kSchema ? kPolicies : "";
    o.auto_subscribe = false;
    o.now_ms = 1000;
    o.schema_image = std::move(image);
    Result<std::unique_ptr<Engine>> e = Engine::Open(o, nullptr);
    EXPECT_TRUE(e.ok()) << e.status().message();
    return e.ok() ? std::move(e).value() : nullptr;
  }

  static void Sql(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  // As wasm/schema-image.mjs makes it: a fresh open's file, in rollback-journal format; with a
  // marker table, so a test sees whether its pages were copied.
  std::string MarkedImage() {
    Open(File("image"), kSchema).reset();
    Sql(File("image"), "PRAGMA journal_mode=DELETE; CREATE TABLE image_marker (x);");
    std::ifstream in(File("image"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.size() % 4096, 0u);
    EXPECT_EQ(bytes[18], 1);
    return bytes;
  }

  static std::string One(Engine& e, const char* sql) { return e.Query(sql, "[]"); }
  static bool HasMarker(Engine& e) {
    return One(e, "SELECT count(*) AS n FROM sqlite_master WHERE name = 'image_marker'").find("[[1]]") !=
           std::string::npos;
  }

  std::string dir_;
};

TEST_F(SchemaImageTest, ANewFileDatabaseCopiesTheImageAndIsAnOrdinaryDatabaseAfterwards) {
  std::string image = MarkedImage();
  {
    std::unique_ptr<Engine> e = Open(File("target"), kSchema, image);
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(HasMarker(*e));
    std::string r = e->Exec("INSERT INTO notes (id, body) VALUES ('00000000-0000-4000-8000-000000000001', 'one')", "[]");
    EXPECT_NE(r.find("\"ok\":true"), std::string::npos) << r;
  }
  // Reopened without the image: the row, the engine's tables, WAL and a sound file.
  std::unique_ptr<Engine> e = Open(File("target"), kSchema);
  ASSERT_NE(e, nullptr);
  EXPECT_NE(One(*e, "SELECT body FROM notes").find("one"), std::string::npos);
  EXPECT_NE(One(*e, "PRAGMA journal_mode").find("wal"), std::string::npos);
  EXPECT_NE(One(*e, "PRAGMA integrity_check").find("\"ok\""), std::string::npos);
}

TEST_F(SchemaImageTest, AnInMemoryDatabaseCopiesItToo) {
  std::unique_ptr<Engine> e = Open(":memory:", kSchema, MarkedImage());
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(HasMarker(*e));
}

TEST_F(SchemaImageTest, AnExistingDatabaseIsLeftAsItIs) {
  std::string image = MarkedImage();
  Open(File("target"), kSchema).reset();
  std::unique_ptr<Engine> e = Open(File("target"), kSchema, image);
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(HasMarker(*e));
}

// The image is checked on its copy, which is then undone: nothing of it is left, in a file or
// in memory, and the database is the one the DDL builds.
TEST_F(SchemaImageTest, OtherDeclaredTablesBuildTheirOwnSchema) {
  const std::string image = MarkedImage();
  for (const std::string& path : {File("target"), std::string(":memory:")}) {
    SCOPED_TRACE(path);
    std::unique_ptr<Engine> e = Open(path, kOtherSchema, image);
    ASSERT_NE(e, nullptr);
    EXPECT_FALSE(HasMarker(*e));
    EXPECT_NE(One(*e, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%notes%'").find("[[0]]"), std::string::npos);
    EXPECT_NE(One(*e, "SELECT count(*) FROM todos").find("[[0]]"), std::string::npos);
    EXPECT_NE(One(*e, "PRAGMA integrity_check").find("\"ok\""), std::string::npos);
    std::string r = e->Exec("INSERT INTO todos (id, done) VALUES ('00000000-0000-4000-8000-000000000001', 1)", "[]");
    EXPECT_NE(r.find("\"ok\":true"), std::string::npos) << r;
  }
}

// A SQLite file that is not one of ours (no recorded declarations) is undone the same way.
TEST_F(SchemaImageTest, ADatabaseThatIsNoImageIsUndone) {
  Sql(File("image"), "CREATE TABLE foreign_table (x); INSERT INTO foreign_table VALUES (1);");
  std::ifstream in(File("image"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::unique_ptr<Engine> e = Open(File("target"), kSchema, bytes);
  ASSERT_NE(e, nullptr);
  EXPECT_NE(One(*e, "SELECT count(*) FROM sqlite_master WHERE name = 'foreign_table'").find("[[0]]"), std::string::npos);
  EXPECT_NE(One(*e, "SELECT count(*) FROM notes").find("[[0]]"), std::string::npos);
}

// A damaged image (cut short, or its schema page scrambled) never leaves its damage: whether
// the copy fails or its check does, the open builds the schema and the file is sound.
TEST_F(SchemaImageTest, ADamagedImageLeavesASoundDatabase) {
  const std::string image = MarkedImage();
  std::string scrambled = image;
  for (size_t i = 200; i < 4096; i++) scrambled[i] = static_cast<char>(scrambled[i] ^ 0x55);
  for (const std::string& bytes : {image.substr(0, 8192), image.substr(0, image.size() / 2), scrambled}) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((File("target") + suffix).c_str());
    std::unique_ptr<Engine> e = Open(File("target"), kSchema, bytes);
    ASSERT_NE(e, nullptr);
    EXPECT_NE(One(*e, "PRAGMA integrity_check").find("\"ok\""), std::string::npos);
    EXPECT_NE(One(*e, "SELECT count(*) FROM notes").find("[[0]]"), std::string::npos);
    std::string r = e->Exec("INSERT INTO notes (id, body) VALUES ('00000000-0000-4000-8000-000000000001', 'one')", "[]");
    EXPECT_NE(r.find("\"ok\":true"), std::string::npos) << r;
  }
}

TEST_F(SchemaImageTest, BytesThatAreNotADatabaseAreIgnored) {
  std::unique_ptr<Engine> e = Open(File("target"), kSchema, std::string(8192, '\x07'));
  ASSERT_NE(e, nullptr);
  EXPECT_NE(One(*e, "SELECT count(*) FROM notes").find("[[0]]"), std::string::npos);
}

}  // namespace
}  // namespace electrolite
