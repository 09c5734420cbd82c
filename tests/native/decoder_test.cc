// The response decoder fed whole, split at every byte boundary, in random
// splits, with trailing garbage, truncated, and malformed.
#include <gtest/gtest.h>

#include <cstdint>
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

// Feeds `body` to `dec` cut at `cuts` (ascending offsets), then finishes it.
Status FeedSplit(MessageDecoder* dec, const std::string& body, const std::vector<size_t>& cuts) {
  size_t prev = 0;
  for (size_t cut : cuts) {
    // Copy each piece so no view can outlive its chunk unnoticed (ASan).
    std::string piece = body.substr(prev, cut - prev);
    Status s = dec->Feed(piece);
    if (!s.ok()) return s;
    prev = cut;
  }
  std::string piece = body.substr(prev);
  Status s = dec->Feed(piece);
  return s.ok() ? dec->Finish() : s;
}

std::vector<std::string> DecodeSplits(const std::string& body, const std::vector<size_t>& cuts, Status* status) {
  Recorder rec;
  MessageDecoder dec(&rec);
  *status = FeedSplit(&dec, body, cuts);
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
      {R"([{"key":"k","value":{},"headers":{"operation":5}}])", "headers.operation must be a string"},
      {R"([{"headers":{"control":"snapshot-end","xmin":true}}])", "headers.xmin must be a string"},
      {R"([{"headers":{"control":"snapshot-end","xip_list":[{}]}}])", "headers.xip_list must hold"},
      {R"([{"key":"k","value":{},"headers":{"operation":"insert","txids":[null]}}])", "headers.txids must hold"},
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


// ---- String scanning (word-at-a-time fast path) ----

// Captures the decoded text of value column "t".
class TextSink : public MessageSink {
 public:
  Status OnMessage(const ShapeMessage& m, int64_t) override {
    for (const auto& c : m.value) {
      if (c.name == "t") texts.emplace_back(c.text);
    }
    return Status::Ok();
  }
  std::vector<std::string> texts;
};

uint32_t NextRand(uint32_t* state) {
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

void AppendU(std::string* out, uint32_t unit) {
  static const char kHex[] = "0123456789abcdef";
  *out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) *out += kHex[(unit >> shift) & 15];
}

// Pieces of decoded text and how each may be written in JSON.
struct Piece {
  const char* text;       // UTF-8
  uint32_t code_point;
};
const Piece kPieces[] = {
    {"a", 'a'}, {"Z", 'Z'}, {" ", ' '}, {"\"", '"'}, {"\\", '\\'}, {"/", '/'},
    {"\n", '\n'}, {"\t", '\t'}, {"\x7f", 0x7f}, {"\xc3\xa9", 0xe9}, {"\xe2\x82\xac", 0x20ac},
    {"\xf0\x9f\x98\x80", 0x1f600}, {"\x01", 0x01}, {"x", 'x'}, {"y", 'y'}, {"0", '0'},
};

// Writes the piece as JSON string content: raw when JSON allows it and
// `style` says so, else as a short escape or \uXXXX (a surrogate pair above
// the BMP).
void Encode(const Piece& p, uint32_t style, std::string* out) {
  uint32_t cp = p.code_point;
  bool must_escape = cp < 0x20 || cp == '"' || cp == '\\';
  if (!must_escape && style % 3 != 0) {
    *out += p.text;
    return;
  }
  if (style % 2 == 0) {
    switch (cp) {
      case '"': *out += "\\\""; return;
      case '\\': *out += "\\\\"; return;
      case '/': *out += "\\/"; return;
      case '\n': *out += "\\n"; return;
      case '\t': *out += "\\t"; return;
      default: break;
    }
  }
  if (cp >= 0x10000) {
    AppendU(out, 0xD800 + ((cp - 0x10000) >> 10));
    AppendU(out, 0xDC00 + ((cp - 0x10000) & 0x3FF));
  } else {
    AppendU(out, cp);
  }
}

std::string Body(const std::string& encoded_t) {
  return R"([{"key":"k","value":{"id":"1","t":")" + encoded_t +
         R"("},"headers":{"operation":"insert"}}])";
}

std::vector<std::string> DecodeTexts(const std::string& body, const std::vector<size_t>& cuts,
                                     Status* status) {
  TextSink sink;
  MessageDecoder dec(&sink);
  *status = FeedSplit(&dec, body, cuts);
  return sink.texts;
}

TEST(DecoderTest, StringsWithEscapesAndUnicodeAtEveryWordOffset) {
  // Runs of plain bytes of every length around each kind of escape, so every
  // escape, quote and multi-byte character lands on every offset within an
  // 8-byte word, and the body is split at every byte.
  uint32_t rng = 7;
  for (int len = 0; len < 40; len++) {
    for (int round = 0; round < 12; round++) {
      std::string decoded, encoded;
      for (int i = 0; i < len; i++) {
        const Piece& p = kPieces[NextRand(&rng) % (sizeof kPieces / sizeof kPieces[0])];
        decoded += p.text;
        Encode(p, NextRand(&rng), &encoded);
      }
      std::string body = Body(encoded);
      Status s;
      std::vector<std::string> whole = DecodeTexts(body, {}, &s);
      ASSERT_TRUE(s.ok()) << body << ": " << s.ToString();
      ASSERT_EQ(whole, std::vector<std::string>{decoded}) << body;
      if (round % 4 != 0) continue;
      for (size_t cut = 0; cut <= body.size(); cut++) {
        ASSERT_EQ(DecodeTexts(body, {cut}, &s), whole) << body << " cut " << cut;
        ASSERT_TRUE(s.ok());
      }
    }
  }
}

TEST(DecoderTest, LongStringsSplitAcrossManyChunks) {
  // 200 KB of text with escapes every few hundred bytes, fed in chunks of
  // several sizes (escapes and \u sequences straddle chunk boundaries).
  uint32_t rng = 11;
  std::string decoded, encoded;
  while (decoded.size() < 200000) {
    int run = static_cast<int>(NextRand(&rng) % 300);
    for (int i = 0; i < run; i++) {
      char c = static_cast<char>('a' + NextRand(&rng) % 26);
      decoded += c;
      encoded += c;
    }
    const Piece& p = kPieces[3 + NextRand(&rng) % 10];
    decoded += p.text;
    Encode(p, NextRand(&rng), &encoded);
  }
  std::string body = Body(encoded);
  for (size_t chunk : {1u, 3u, 7u, 8u, 9u, 64u, 4093u, 65536u}) {
    std::vector<size_t> cuts;
    for (size_t c = chunk; c < body.size(); c += chunk) cuts.push_back(c);
    Status s;
    std::vector<std::string> out = DecodeTexts(body, cuts, &s);
    ASSERT_TRUE(s.ok()) << "chunk " << chunk << ": " << s.ToString();
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(out[0] == decoded) << "chunk " << chunk;
  }
}

TEST(DecoderTest, EscapedStringsAroundTheLocalBufferSize) {
  // Short escaped strings are decoded into a 512-byte buffer; longer ones
  // take the general path. Both sides of the limit, escapes at either end.
  for (size_t len = 500; len <= 525; len++) {
    for (int where = 0; where < 3; where++) {
      std::string decoded(len, 'a'), encoded;
      size_t at = where == 0 ? 0 : where == 1 ? len / 2 : len - 1;
      decoded[at] = '"';
      for (size_t i = 0; i < len; i++) encoded += i == at ? std::string("\\\"") : std::string(1, 'a');
      Status s;
      std::string body = Body(encoded);
      ASSERT_EQ(DecodeTexts(body, {}, &s), std::vector<std::string>{decoded}) << len << "/" << where;
      ASSERT_TRUE(s.ok()) << s.ToString();
      for (size_t cut : {body.size() / 2, body.size() - 10}) {
        ASSERT_EQ(DecodeTexts(body, {cut}, &s), std::vector<std::string>{decoded}) << len;
      }
    }
  }
}

TEST(DecoderTest, ControlCharacterAtEveryWordOffsetIsRejected) {
  for (int c = 0; c < 0x20; c++) {
    for (int pos = 0; pos < 20; pos++) {
      std::string text(24, 'a');
      text[pos] = static_cast<char>(c);
      Status s;
      DecodeTexts(Body(text), {}, &s);
      ASSERT_EQ(s.code(), Code::kProtocol) << "byte " << c << " at " << pos;
      EXPECT_NE(s.message().find("control character"), std::string::npos) << s.message();
    }
  }
  // Bytes at and above 0x20 (incl. 0x7f and non-ASCII) are plain text.
  std::string text;
  for (int c = 0x20; c < 0x100; c++) {
    if (c != '"' && c != '\\') text += static_cast<char>(c);
  }
  Status s;
  EXPECT_EQ(DecodeTexts(Body(text), {}, &s), std::vector<std::string>{text});
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(DecoderTest, LoneSurrogatesBecomeReplacementCharacters) {
  Status s;
  EXPECT_EQ(DecodeTexts(Body(R"(a\ud83db\ude00c\ud83d\ud83d\ude00)"), {}, &s),
            std::vector<std::string>{"a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xf0\x9f\x98\x80"});
  EXPECT_TRUE(s.ok()) << s.ToString();
}

}  // namespace
}  // namespace electrolite
