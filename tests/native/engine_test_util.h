// What engine tests that open a database file need: a fresh file that is gone again
// afterwards, and the rows of a query that must succeed.
#ifndef ELECTROLITE_TESTS_NATIVE_ENGINE_TEST_UTIL_H_
#define ELECTROLITE_TESTS_NATIVE_ENGINE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine.h"
#include "json_test_util.h"

namespace electrolite {
namespace testing {

// `db.sqlite` in a new directory under /tmp; the file, its WAL, shared-memory and
// journal files and the directory are removed when this goes out of scope, so declare
// it before the engine that uses it.
class TempDbFile {
 public:
  explicit TempDbFile(const std::string& tag) {
    std::string tmpl = "/tmp/electrolite-" + tag + "-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << tmpl;
      return;
    }
    dir_ = tmpl;
    path_ = dir_ + "/db.sqlite";
  }
  ~TempDbFile() {
    if (dir_.empty()) return;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path_ + suffix).c_str());
    rmdir(dir_.c_str());
  }
  TempDbFile(const TempDbFile&) = delete;
  TempDbFile& operator=(const TempDbFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

// The rows of `sql` (no parameters) on `engine`; a failing query fails the test.
inline Json QueryRows(Engine& engine, const std::string& sql) {
  Json r = Json::parse(engine.Query(sql, "[]"));
  EXPECT_TRUE(r["ok"].get<bool>()) << sql << ": " << r.dump();
  return r["rows"];
}

}  // namespace testing
}  // namespace electrolite

#endif  // ELECTROLITE_TESTS_NATIVE_ENGINE_TEST_UTIL_H_
