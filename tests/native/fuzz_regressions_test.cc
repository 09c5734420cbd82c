// Replays the fuzz seed corpus and every crash regression input
// (tests/fuzz/corpus, tests/fuzz/regressions) through the decoder whole and
// split, and through an engine: no crash, and whole/split agree; and as a
// JsonValue: what parses round-trips through dump().
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine.h"
#include "json_value.h"
#include "message_decoder.h"

namespace electrolite {
namespace {

class Counter : public MessageSink {
 public:
  Status OnMessage(const ShapeMessage& m, int64_t) override {
    count++;
    return Status::Ok();
  }
  int count = 0;
};

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
  }
  closedir(d);
  return out;
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SeqEnv : public Env {
 public:
  uint64_t RandomU64() override { return ++n; }
  uint64_t n = 0;
};

TEST(FuzzRegressionsTest, CorpusAndRegressionsDecodeConsistently) {
  std::vector<std::string> files = Files(std::string(EL_FUZZ_DIR) + "/corpus");
  for (const std::string& f : Files(std::string(EL_FUZZ_DIR) + "/regressions")) files.push_back(f);
  ASSERT_GE(files.size(), 5u);
  SeqEnv env;
  for (const std::string& path : files) {
    std::string data = Read(path);
    if (data.empty()) continue;
    std::string body = data.substr(1);
    Counter whole;
    MessageDecoder d1(&whole);
    Status s1 = d1.Feed(body);
    if (s1.ok()) s1 = d1.Finish();
    for (size_t cut = 0; cut <= body.size(); cut += 1 + body.size() / 64) {
      Counter split;
      MessageDecoder d2(&split);
      Status s2 = d2.Feed(body.substr(0, cut));
      if (s2.ok()) s2 = d2.Feed(body.substr(cut));
      if (s2.ok()) s2 = d2.Finish();
      EXPECT_EQ(s1.ok(), s2.ok()) << path << " cut " << cut;
      EXPECT_EQ(whole.count, split.count) << path;
    }
    JsonValue doc = JsonValue::parse(body);
    if (!doc.is_discarded()) {
      const std::string text = doc.dump();
      JsonValue again = JsonValue::parse(text);
      EXPECT_FALSE(again.is_discarded()) << path;
      EXPECT_TRUE(again == doc) << path;
      EXPECT_EQ(again.dump(), text) << path;
    }
    auto e = Engine::Open(
        R"({"baseUrl":"http://f","schemaSql":"CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL, tags text[], done boolean, at timestamptz, x float8);"})",
        &env);
    ASSERT_TRUE(e.ok());
    auto req = e.value()->PollRequest(0);
    ASSERT_TRUE(req);
    Headers h = {{"electric-handle", "h-1"}, {"electric-offset", "0_0"},
                 {"electric-schema", R"({"id":{"type":"int8","pk_index":0},"title":{"type":"text","not_null":true},"tags":{"type":"text","dims":1},"done":{"type":"bool"},"at":{"type":"timestamptz"},"x":{"type":"float8"}})"}};
    Status s = e.value()->HandleResponse(0, req->id, 200, h, body);
    if (!s1.ok()) EXPECT_EQ(s.code(), Code::kProtocol) << path;
  }
}

}  // namespace
}  // namespace electrolite
