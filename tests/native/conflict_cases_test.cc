// The table of conflict cases (tests/fixtures/conflict-cases/*.json) through
// the engine's decision, DecideWriteJson: the same entry point the write
// endpoint calls through wasm (tests/server/conflict-cases.test.mjs runs the
// same files against the endpoint and PostgreSQL), so the two cannot drift.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "conflict_policy.h"
#include "json.h"

namespace electrolite {
namespace {

using json = Json;

std::vector<std::filesystem::path> FixtureFiles() {
  std::vector<std::filesystem::path> files;
  const std::filesystem::path dir =
      std::filesystem::path(EL_SOURCE_DIR) / "tests" / "fixtures" / "conflict-cases";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

json ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

// The decideWrite input of one case: the case's fields plus the file's
// policy (unless the case names its own) and column types.
json CaseInput(const json& file, const json& c) {
  json in = json::object();
  for (auto it = c.begin(); it != c.end(); ++it) {
    if (it.key() != "name" && it.key() != "expect" && it.key() != "e2e") in[it.key()] = it.value();
  }
  if (!in.contains("policy")) in["policy"] = *file.find("policy");
  in["types"] = *file.find("columns");
  return in;
}

TEST(ConflictCasesTest, EveryFixtureCaseDecidesAsExpected) {
  int cases = 0;
  for (const auto& path : FixtureFiles()) {
    const json file = ReadJson(path);
    ASSERT_TRUE(file.is_object()) << path;
    auto list = file.find("cases");
    ASSERT_TRUE(list != file.end() && list->is_array()) << path;
    for (const json& c : *list) {
      const std::string name = path.filename().string() + ": " + JsonStr(c, "name");
      const json out = json::parse(DecideWriteJson(CaseInput(file, c).dump()));
      ASSERT_TRUE(JsonBool(out, "ok", false)) << name << ": " << out.dump();
      const json& expect = *c.find("expect");
      for (auto it = expect.begin(); it != expect.end(); ++it) {
        auto got = out.find(it.key());
        EXPECT_TRUE(got != out.end() && *got == it.value())
            << name << ": " << it.key() << " expected " << it.value().dump() << ", got "
            << out.dump();
      }
      if (!expect.contains("reason")) EXPECT_FALSE(out.contains("reason")) << name;
      ++cases;
    }
  }
  EXPECT_GE(cases, 40);
}

TEST(ConflictCasesTest, MalformedInputIsAnInvalidArgument) {
  const json bad_op = json::parse(DecideWriteJson(R"({"op":"upsert"})"));
  EXPECT_FALSE(JsonBool(bad_op, "ok", true));
  EXPECT_EQ(JsonStr(bad_op, "code"), "invalid_argument");
  const json bad_policy = json::parse(DecideWriteJson(R"({"op":"update","policy":{"policy":"x"}})"));
  EXPECT_EQ(JsonStr(bad_policy, "code"), "invalid_argument");
  EXPECT_EQ(JsonStr(json::parse(DecideWriteJson("[")), "code"), "invalid_argument");
}

}  // namespace
}  // namespace electrolite
