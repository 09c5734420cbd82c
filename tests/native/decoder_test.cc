// The response decoder fed whole, split at every byte boundary, in random
// splits, with trailing garbage, truncated, and malformed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "message_decoder.h"

namespace electrolite {
namespace {

// Records every message as a canonical string.
class Recorder : public MessageSink {
 public:
  Status OnMessage(const ShapeMessage& m, int64_t index) override {
    std::string s = std::to_string(index) + ":";
    s += m.kind == ShapeMessage::Kind::kChange ? "change" : m.kind == ShapeMessage::Kind::kControl ? "control" : "other";
    s += "|op=" + std::to_string(static_cast<int>(m.op)) + "|key=" + std::string(m.key);
    for (const auto& c : m.value) {
      s += "|" + std::string(c.name) + "=" + (c.is_null ? std::string("<null>") : "'" + std::string(c.text) + "'");
    }
    for (const auto& c : m.old_value) s += "|old." + std::string(c.name) + "=" + std::string(c.text);
    s += "|ctl=" + std::string(m.control) + "|lsn=" + std::string(m.lsn);
    for (auto t : m.txids) s += "|tx=" + std::to_string(t);
    s += m.last ? "|last" : "";
    s += "|kct=" + std::string(m.key_change_to) + "|xmin=" + std::string(m.xmin) + "|xmax=" + std::string(m.xmax);
    for (auto x : m.xip_list) s += "|xip=" + std::string(x);
    out.push_back(s);
    return Status::Ok();
  }
  std::vector<std::string> out;
};

const char kBody[] = R"( [
 {"key":"\"public\".\"items\"/\"1\"","value":{"id":"1","title":"caf\u00e9 \"q\" \\ \ud83d\ude00","n":null,"s":"NULL"},
  "headers":{"operation":"insert","relation":["public","items"],"lsn":"2503481432","op_position":0,"txids":[987654],"last":true}},
 {"key":"k2","value":{"id":"2","title":"x"},"old_value":{"title":"y"},"headers":{"operation":"update","txids":["12"],"tags":[{"a":[1,2]}]}},
 {"key":"k3","value":{"id":"3"},"headers":{"operation":"delete","key_change_to":"k4"}},
 {"headers":{"event":"move-out","patterns":[{"pos":0,"value":"t"}]}},
 {"headers":{"control":"snapshot-end","xmin":"100","xmax":"110","xip_list":["105","107"]}},
 {"offset":"ignored","headers":{"control":"up-to-date","global_last_seen_lsn":"99"}}
] )";

std::vector<std::string> DecodeSplits(const std::string& body, const std::vector<size_t>& cuts, Status* status) {
  Recorder rec;
  MessageDecoder dec(&rec);
  size_t prev = 0;
  Status s;
  for (size_t cut : cuts) {
    // Copy each piece so no view can outlive its chunk unnoticed (ASan).
    std::string piece = body.substr(prev, cut - prev);
    s = dec.Feed(piece);
    if (!s.ok()) break;
    prev = cut;
  }
  if (s.ok()) {
    std::string piece = body.substr(prev);
    s = dec.Feed(piece);
  }
  if (s.ok()) s = dec.Finish();
  *status = s;
  return rec.out;
}

TEST(DecoderTest, WholeBody) {
  Status s;
  std::vector<std::string> out = DecodeSplits(kBody, {}, &s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0],
            "0:change|op=1|key=\"public\".\"items\"/\"1\"|id='1'|title='caf\xc3\xa9 \"q\" \\ \xf0\x9f\x98\x80'|n=<null>|s='NULL'"
            "|ctl=|lsn=2503481432|tx=987654|last|kct=|xmin=|xmax=");
  EXPECT_EQ(out[1], "1:change|op=2|key=k2|id='2'|title='x'|old.title=y|ctl=|lsn=|tx=12|kct=|xmin=|xmax=");
  EXPECT_EQ(out[2], "2:change|op=3|key=k3|id='3'|ctl=|lsn=|kct=k4|xmin=|xmax=");
  EXPECT_EQ(out[3].substr(0, 7), "3:other");
  EXPECT_EQ(out[4], "4:control|op=0|key=|ctl=snapshot-end|lsn=|kct=|xmin=100|xmax=110|xip=105|xip=107");
  EXPECT_EQ(out[5], "5:control|op=0|key=|ctl=up-to-date|lsn=|kct=|xmin=|xmax=");
}

TEST(DecoderTest, SplitAtEveryByteBoundary) {
  Status s;
  std::vector<std::string> whole = DecodeSplits(kBody, {}, &s);
  ASSERT_TRUE(s.ok());
  std::string body = kBody;
  for (size_t cut = 0; cut <= body.size(); cut++) {
    std::vector<std::string> out = DecodeSplits(body, {cut}, &s);
    ASSERT_TRUE(s.ok()) << "cut " << cut << ": " << s.ToString();
    ASSERT_EQ(out, whole) << "cut " << cut;
  }
}

TEST(DecoderTest, ByteByByte) {
  Status s;
  std::vector<std::string> whole = DecodeSplits(kBody, {}, &s);
  std::string body = kBody;
  std::vector<size_t> cuts;
  for (size_t i = 1; i < body.size(); i++) cuts.push_back(i);
  EXPECT_EQ(DecodeSplits(body, cuts, &s), whole);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(DecoderTest, EmptyBodyIsEmptyArray) {
  Status s;
  EXPECT_TRUE(DecodeSplits("", {}, &s).empty());
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(DecodeSplits("  []  ", {}, &s).empty());
  EXPECT_TRUE(s.ok());
}

struct BadCase {
  const char* body;
  const char* expect;
};

TEST(DecoderTest, MalformedTruncatedAndTrailingGarbageNameTheProblem) {
  const BadCase cases[] = {
      {R"({"headers":{}})", "not a JSON array"},
      {R"("string")", "not a JSON array"},
      {R"(42)", "not a JSON array"},
      {R"([1])", "not a JSON object"},
      {R"([{"key":"k","value":{"id":"1"},"headers":{"operation":"insert"}}] x)", "trailing data"},
      {R"([] [])", "trailing data"},
      {R"([{"key":"k","value":{"id":"1"},"headers":{"operation":"insert"}})", "truncated"},
      {R"([{"key":"k","value":{"id":"1)", "truncated"},
      {R"([{"key":"k","value":{"id":"1"},"headers":{"operation":"insert"}},])", "unexpected ']'"},
      {R"([{"key":"k" "value":1}])", "expected ','"},
      {R"([{"key" "k"}])", "expected ':'"},
      {R"([{"key":"k","value":{"id":"\x"}}])", "invalid escape"},
      {R"([{"key":"k","value":{"id":01}}])", "invalid number"},
      {R"([{"key":"k","value":{"id":tru}}])", "invalid literal"},
      {R"([{"key":"k","value":{"id":{"nested":1}},"headers":{"operation":"insert"}}])", "must be a string or null"},
      {R"([{"key":"k","value":{"id":"1"},"headers":{"operation":"upsert"}}])", "unknown operation"},
      {R"([{"key":"k","value":{"id":"1"},"headers":{}}])", "without headers.operation"},
      {R"([{"key":"k","headers":{"operation":"insert"}}])", "without value"},
      {R"([{"key":7}])", "key must be a string"},
      {R"([{"key":"k","value":{},"headers":{"operation":"insert","txids":["abc"]}}])", "invalid txid"},
  };
  for (const BadCase& c : cases) {
    Status s;
    DecodeSplits(c.body, {}, &s);
    EXPECT_EQ(s.code(), Code::kProtocol) << c.body;
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << c.body << " -> " << s.message();
    // Same verdict in every split.
    std::string body = c.body;
    for (size_t cut = 0; cut <= body.size(); cut++) {
      Status split;
      DecodeSplits(body, {cut}, &split);
      EXPECT_EQ(split.code(), Code::kProtocol) << c.body << " cut " << cut;
    }
  }
}

TEST(DecoderTest, DeepNestingIsRejected) {
  std::string body = "[{\"x\":" + std::string(200, '[') + std::string(200, ']') + "}]";
  Status s;
  DecodeSplits(body, {}, &s);
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("nesting too deep"), std::string::npos);
}

TEST(DecoderTest, ControlCharacterInStringIsRejected) {
  Status s;
  DecodeSplits(std::string("[{\"key\":\"a\nb\"}]"), {}, &s);
  EXPECT_NE(s.message().find("control character"), std::string::npos);
}

}  // namespace
}  // namespace electrolite
