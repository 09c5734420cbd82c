// JsonValue: parse/dump round trips, number kinds and exactness, doubles,
// escapes and UTF-8, malformed input (never a crash), and the container API.
// Expected texts are what nlohmann/json, which JsonValue replaced, produced
// (its dump() was stored in the outbox and declarations, so they must not
// change), except where noted.
#include "json_value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "json_test_util.h"

namespace electrolite {
namespace {

std::string RoundTrip(const std::string& text) {
  JsonValue v = JsonValue::parse(text);
  return v.is_discarded() ? "<discarded>" : v.dump();
}

bool Rejected(const std::string& text) { return JsonValue::parse(text).is_discarded(); }

TEST(JsonValueTest, DumpIsCompactWithSortedKeys) {
  EXPECT_EQ(RoundTrip(R"( { "b" : 1 , "a" : [ true , false , null , 1.5 , "x" ] , "B": {} } )"),
            R"({"B":{},"a":[true,false,null,1.5,"x"],"b":1})");
  EXPECT_EQ(RoundTrip("[]"), "[]");
  EXPECT_EQ(RoundTrip("{}"), "{}");
  EXPECT_EQ(RoundTrip("  \"s\"\n"), "\"s\"");
  EXPECT_EQ(RoundTrip("[[],[{}],{\"a\":[]}]"), "[[],[{}],{\"a\":[]}]");
  // Byte-wise key order: upper case, then lower case, then non-ASCII.
  EXPECT_EQ(RoundTrip(R"({"é":1,"b":2,"Z":3,"ab":4,"a":5})"),
            R"({"Z":3,"a":5,"ab":4,"b":2,"é":1})");
}

TEST(JsonValueTest, LastDuplicateKeyWins) {
  EXPECT_EQ(RoundTrip(R"({"a":1,"b":2,"a":3})"), R"({"a":3,"b":2})");
  EXPECT_EQ(RoundTrip(R"({"a":1,"a":2,"a":3})"), R"({"a":3})");
  EXPECT_EQ(RoundTrip(R"({"c":0,"b":1,"c":2,"a":3,"b":4})"), R"({"a":3,"b":4,"c":2})");
}

TEST(JsonValueTest, LargeObjectsSortInAnyOrder) {
  std::string text = "{";
  for (int i = 999; i >= 0; --i) {
    text += "\"k" + std::to_string(i % 500) + "\":" + std::to_string(i) + (i > 0 ? "," : "}");
  }
  JsonValue v = JsonValue::parse(text);
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.size(), 500u);
  std::string previous;
  for (auto it = v.begin(); it != v.end(); ++it) {
    EXPECT_LT(previous, it.key());
    previous = it.key();
  }
  EXPECT_EQ(v["k7"].get<int>(), 7);  // "k7":507 came first, "k7":7 last
}

TEST(JsonValueTest, IntegersKeepTheirKindAndAreExact) {
  JsonValue v = JsonValue::parse(
      "[0,-0,5,-5,9007199254740993,-9007199254740993,9223372036854775807,"
      "-9223372036854775808,9223372036854775808,18446744073709551615]");
  ASSERT_TRUE(v.is_array());
  EXPECT_TRUE(v[0].is_number_unsigned());
  EXPECT_TRUE(v[1].is_number_integer());
  EXPECT_FALSE(v[1].is_number_unsigned());
  EXPECT_TRUE(v[2].is_number_unsigned());
  EXPECT_TRUE(v[3].is_number_integer() && !v[3].is_number_unsigned());
  EXPECT_EQ(v[4].get<int64_t>(), 9007199254740993);  // 2^53 + 1, not a double
  EXPECT_EQ(v[5].get<int64_t>(), -9007199254740993);
  EXPECT_EQ(v[6].get<int64_t>(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(v[7].get<int64_t>(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(v[8].get<uint64_t>(), 9223372036854775808ULL);
  EXPECT_EQ(v[9].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(v.dump(),
            "[0,0,5,-5,9007199254740993,-9007199254740993,9223372036854775807,"
            "-9223372036854775808,9223372036854775808,18446744073709551615]");
  for (size_t i = 0; i < v.size(); ++i) EXPECT_FALSE(v[i].is_number_float()) << i;
}

TEST(JsonValueTest, IntegersOutsideBothRangesBecomeDoubles) {
  JsonValue big = JsonValue::parse("18446744073709551616");
  EXPECT_TRUE(big.is_number_float());
  EXPECT_EQ(big.dump(), "1.8446744073709552e+19");
  JsonValue low = JsonValue::parse("-9223372036854775809");
  EXPECT_TRUE(low.is_number_float());
  EXPECT_EQ(low.dump(), "-9.223372036854776e+18");
  EXPECT_TRUE(JsonValue::parse("1" + std::string(400, '0')).is_discarded());  // 1e400
}

TEST(JsonValueTest, ConstructedNumbersDump) {
  EXPECT_EQ(JsonValue(int64_t{-1}).dump(), "-1");
  EXPECT_EQ(JsonValue(std::numeric_limits<int64_t>::min()).dump(), "-9223372036854775808");
  EXPECT_EQ(JsonValue(std::numeric_limits<uint64_t>::max()).dump(), "18446744073709551615");
  EXPECT_TRUE(JsonValue(5).is_number_integer());
  EXPECT_FALSE(JsonValue(5).is_number_unsigned());
  EXPECT_TRUE(JsonValue(5u).is_number_unsigned());
  EXPECT_TRUE(JsonValue(true).is_boolean());
}

TEST(JsonValueTest, DoublesUseNlohmannLayout) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"1.0", "1.0"},           {"1.5", "1.5"},          {"-2.25", "-2.25"},
      {"0.1", "0.1"},           {"1e2", "100.0"},        {"0.0", "0.0"},
      {"-0.0", "-0.0"},         {"1e15", "1e+15"},       {"1e14", "100000000000000.0"},
      {"123456789012345.6", "123456789012345.6"},        {"1e16", "1e+16"},
      {"0.0001", "0.0001"},     {"0.00001", "1e-05"},    {"1.5e-7", "1.5e-07"},
      {"1e21", "1e+21"},        {"1e100", "1e+100"},     {"1.25e-100", "1.25e-100"},
      {"0.30000000000000004", "0.30000000000000004"},
      {"1.7976931348623157e308", "1.7976931348623157e+308"},
      {"2.2250738585072014e-308", "2.2250738585072014e-308"},
      {"5e-324", "5e-324"},     {"1e-400", "0.0"},
  };
  for (const Case& c : cases) EXPECT_EQ(RoundTrip(c.in), c.out) << c.in;
  EXPECT_TRUE(JsonValue::parse("1.0").is_number_float());
  EXPECT_EQ(JsonValue(std::nan("")).dump(), "null");
  EXPECT_EQ(JsonValue(std::numeric_limits<double>::infinity()).dump(), "null");
}

// Not nlohmann's output: its Grisu2 printed some doubles with more digits
// than needed (6.49e-4 as 0.0006489999999999999); we print the shortest.
TEST(JsonValueTest, DoublesAreShortestRoundTrip) {
  EXPECT_EQ(RoundTrip("6.49e-4"), "0.000649");
  EXPECT_EQ(RoundTrip("2.91e-11"), "2.91e-11");
  uint64_t state = 88172645463325252ULL;
  for (int i = 0; i < 20000; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    double d;
    std::memcpy(&d, &state, sizeof d);
    if (!std::isfinite(d)) continue;
    const std::string text = JsonValue(d).dump();
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), d) << text;
    JsonValue back = JsonValue::parse(text);
    ASSERT_TRUE(back.is_number_float()) << text;
    EXPECT_EQ(back.get<double>(), d) << text;
  }
}

TEST(JsonValueTest, DumpEscapesControlCharacters) {
  std::string s = "q\"b\\s/\b\f\n\r\t";
  s += '\0';
  s += "\x01\x1f\x7f";
  EXPECT_EQ(JsonValue(s).dump(), R"("q\"b\\s/\b\f\n\r\t\u0000\u0001\u001f)" "\x7f\"");
  EXPECT_EQ(JsonValue("é😀").dump(), "\"é😀\"");
}

TEST(JsonValueTest, ParseDecodesEscapes) {
  JsonValue v = JsonValue::parse(R"(["\"\\\/\b\f\n\r\t", "\u00e9\u00E9", "a\u0000b", "\ud83d\ude00",
                                     "\uD83D\uDE00x", "\u20ac"])");
  ASSERT_TRUE(v.is_array());
  EXPECT_EQ(v[0].get<std::string>(), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(v[1].get<std::string>(), "éé");
  EXPECT_EQ(v[2].get<std::string>(), std::string("a\0b", 3));
  EXPECT_EQ(v[3].get<std::string>(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(v[4].get<std::string>(), "😀x");
  EXPECT_EQ(v[5].get<std::string>(), "€");
  EXPECT_EQ(RoundTrip(R"("\u0001")"), R"("\u0001")");
}

TEST(JsonValueTest, ParseRejectsLoneSurrogates) {
  for (const char* bad : {R"("\ud800")", R"("\udc00")", R"("\ud800\u0041")", R"("\ud800x")",
                          R"("\ud800\ud800")", R"("\ude00\ud83d")", R"("\ud800\n")",
                          R"({"\ud800":1})"}) {
    EXPECT_TRUE(Rejected(bad)) << bad;
  }
}

TEST(JsonValueTest, ParseRejectsInvalidUtf8) {
  for (const char* bad : {"\"\xC3\"", "\"\xC3(\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"",
                          "\"\xF4\x90\x80\x80\"", "\"\xF5\x80\x80\x80\"", "\"\x80\"",
                          "\"\xE2\x82\"", "{\"\xFF\":1}"}) {
    EXPECT_TRUE(Rejected(bad)) << bad;
  }
  EXPECT_FALSE(Rejected("\"\xF4\x8F\xBF\xBF \xED\x9F\xBF \xEE\x80\x80\""));
}

TEST(JsonValueTest, DumpReplacesInvalidUtf8) {
  auto dump = [](const std::string& s) { return JsonValue(s).dump(); };
  EXPECT_EQ(dump("a\xC3"), "\"a\xEF\xBF\xBD\"");              // truncated at the end
  EXPECT_EQ(dump("\xE2\x82" "A"), "\"\xEF\xBF\xBD" "A\"");     // one per broken sequence
  EXPECT_EQ(dump("\xF0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // bad second byte, re-read
  EXPECT_EQ(dump("\x80\xFF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(dump("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
  JsonValue o = JsonValue::object();
  o["k\xC3"] = "v";
  EXPECT_EQ(o.dump(), "{\"k\xEF\xBF\xBD\":\"v\"}");
}

TEST(JsonValueTest, ParseRejectsMalformedInput) {
  for (const char* bad : {"", " ", "[", "]", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\"}", "{\"a\" 1}",
                          "{1:2}", "{'a':1}", "[1 2]", "[1]]", "[1]x", "1 2", "nul", "nulll",
                          "True", "NaN", "-Infinity", "01", "1.", ".5", "-", "1e", "1e+", "+1",
                          "0x10", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"a\tb\"",
                          "\"a\nb\"", "[1]/*c*/", "//c\n1", "\xEF\xBB{}"}) {
    EXPECT_TRUE(Rejected(bad)) << bad;
  }
}

TEST(JsonValueTest, EveryTruncationOfADocumentIsRejected) {
  const std::string doc =
      R"({"a":[1,-2.5e3,true,false,null,"s\u00e9\n"],"b":{"c":"😀"},"d":18446744073709551615})";
  ASSERT_FALSE(Rejected(doc));
  for (size_t n = 0; n < doc.size(); ++n) EXPECT_TRUE(Rejected(doc.substr(0, n))) << n;
  EXPECT_TRUE(Rejected(doc + "x"));
  EXPECT_TRUE(Rejected(doc + "{}"));
  EXPECT_FALSE(Rejected(doc + " \n\t\r"));
}

TEST(JsonValueTest, ByteOrderMarkAndNulEndAsInNlohmann) {
  EXPECT_EQ(RoundTrip("\xEF\xBB\xBF{\"a\":1}"), "{\"a\":1}");
  EXPECT_EQ(RoundTrip(std::string("[1]\0garbage", 11)), "[1]");
  EXPECT_TRUE(Rejected(std::string("[\"a\0b\"]", 7)));
  EXPECT_TRUE(Rejected(std::string("[1,\0]", 5)));
}

TEST(JsonValueTest, NestingIsBoundedWithoutCrashing) {
  const int max = JsonValue::kMaxDepth;
  EXPECT_FALSE(Rejected(std::string(max, '[') + std::string(max, ']')));
  EXPECT_TRUE(Rejected(std::string(max + 1, '[') + std::string(max + 1, ']')));
  EXPECT_TRUE(Rejected(std::string(1000000, '[')));
  std::string objects;
  for (int i = 0; i < 200000; ++i) objects += "{\"a\":";
  EXPECT_TRUE(Rejected(objects));
  std::string deep = std::string(max, '[') + "1" + std::string(max, ']');
  EXPECT_EQ(RoundTrip(deep), deep);
}

TEST(JsonValueTest, ObjectAccess) {
  JsonValue j;
  EXPECT_TRUE(j.is_null());
  j["b"]["c"] = 1;  // null becomes an object
  j["a"] = "x";
  EXPECT_EQ(j.dump(), R"({"a":"x","b":{"c":1}})");
  EXPECT_TRUE(j.contains("a"));
  EXPECT_EQ(j.count("zz"), 0u);
  EXPECT_TRUE(j.find("zz") == j.end());
  EXPECT_EQ(j.find("a")->get<std::string>(), "x");
  EXPECT_EQ(j.find("b").key(), "b");
  const JsonValue& c = j;
  EXPECT_TRUE(c["missing"].is_null());
  EXPECT_TRUE(c["a"]["not an object"].is_null());
  EXPECT_TRUE(c.at("b").is_object());
  EXPECT_FALSE(c.contains("missing"));  // the const lookup inserted nothing
  EXPECT_TRUE(j.emplace("a", 2).second == false);
  EXPECT_TRUE(j.emplace("0", 2).second);
  EXPECT_EQ(j.erase("b"), 1u);
  EXPECT_EQ(j.erase("b"), 0u);
  EXPECT_EQ(j.dump(), R"({"0":2,"a":"x"})");
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"0", "a"}));
  EXPECT_EQ(j.begin()->get<int>(), 2);
}

TEST(JsonValueTest, ArrayAccessAndSizes) {
  JsonValue a;
  EXPECT_EQ(a.size(), 0u);
  EXPECT_TRUE(a.empty());
  EXPECT_TRUE(a.begin() == a.end());
  a.push_back(1);  // null becomes an array
  a.emplace_back("two");
  a[3] = true;  // grows, with null between
  EXPECT_EQ(a.dump(), R"([1,"two",null,true])");
  EXPECT_EQ(a.size(), 4u);
  EXPECT_EQ(a.begin()->get<int>(), 1);
  EXPECT_TRUE(a[3].get<bool>());
  const JsonValue& c = a;
  EXPECT_TRUE(c[10].is_null());
  int n = 0;
  for (const JsonValue& e : c) n += e.is_null() ? 0 : 1;
  EXPECT_EQ(n, 3);
  // A scalar has size 1 and iterates over itself, as in nlohmann.
  JsonValue s = "x";
  EXPECT_EQ(s.size(), 1u);
  EXPECT_FALSE(s.empty());
  for (const JsonValue& e : s) EXPECT_EQ(e, "x");
  EXPECT_EQ(JsonValue(std::vector<std::string>{"a", "b"}).dump(), R"(["a","b"])");
}

TEST(JsonValueTest, InitializerListsFollowNlohmannRules) {
  JsonValue o = {{"a", 1}, {"b", {"x", "y"}}, {"c", {{"d", nullptr}}}, {"a", 2}};
  EXPECT_EQ(o.dump(), R"({"a":1,"b":["x","y"],"c":{"d":null}})");  // first duplicate wins
  JsonValue pair = {"a", 1};  // not a list of pairs: an array
  EXPECT_EQ(pair.dump(), R"(["a",1])");
  EXPECT_EQ(JsonValue::array({{"a", 1}}).dump(), R"([["a",1]])");
  EXPECT_EQ(JsonValue::array({{{"a", 1}}}).dump(), R"([{"a":1}])");
  EXPECT_EQ(JsonValue::array().dump(), "[]");
  EXPECT_EQ(JsonValue::object().dump(), "{}");
  JsonValue empty = {};
  EXPECT_TRUE(empty.is_null());
}

TEST(JsonValueTest, GetOfTheWrongTypeIsAZeroValue) {
  JsonValue s = "5";
  EXPECT_EQ(s.get<int64_t>(), 0);
  EXPECT_EQ(s.get<double>(), 0.0);
  EXPECT_FALSE(s.get<bool>());
  EXPECT_EQ(JsonValue(5).get<std::string>(), "");
  EXPECT_EQ(JsonValue(5).get_ref<const std::string&>(), "");
  EXPECT_EQ(JsonValue(2.9).get<int64_t>(), 2);
  EXPECT_EQ(JsonValue(1e300).get<int64_t>(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(JsonValue(-1e300).get<int64_t>(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(JsonValue(std::nan("")).get<int64_t>(), 0);
  EXPECT_EQ(JsonValue(uint64_t{7}).get<double>(), 7.0);
  EXPECT_EQ(JsonValue(true).get<int>(), 1);  // as nlohmann
}

TEST(JsonValueTest, EqualityAndOrder) {
  EXPECT_EQ(JsonValue::parse("5"), JsonValue(5));  // unsigned == signed
  EXPECT_EQ(JsonValue(5), JsonValue(5.0));
  EXPECT_NE(JsonValue(-1), JsonValue(std::numeric_limits<uint64_t>::max()));
  EXPECT_NE(JsonValue(1), JsonValue(true));
  EXPECT_NE(JsonValue("1"), JsonValue(1));
  EXPECT_EQ(JsonValue::parse(R"({"b":[1,{"c":null}],"a":"x"})"),
            JsonValue::parse(R"({"a":"x","b":[1.0,{"c":null}]})"));
  EXPECT_NE(JsonValue::parse(R"({"a":1})"), JsonValue::parse(R"({"a":1,"b":2})"));
  EXPECT_NE(JsonValue::parse("x"), JsonValue::parse("x"));  // discarded
  EXPECT_EQ(JsonValue(nullptr), JsonValue());
  std::set<JsonValue> set = {JsonValue(3), JsonValue(-1), JsonValue(2.5), JsonValue("a"),
                             JsonValue(uint64_t{3}), JsonValue::array({1}), JsonValue()};
  EXPECT_EQ(set.size(), 6u);  // 3 and 3u are one
  EXPECT_TRUE(JsonValue(-1) < JsonValue(uint64_t{0}));
  EXPECT_TRUE(JsonValue(2.5) < JsonValue(3));
}

TEST(JsonValueTest, CopyMoveAndAssignFromAChild) {
  JsonValue j = JsonValue::parse(R"({"a":{"b":[1,2]},"s":"long enough to live on the heap!"})");
  JsonValue copy = j;
  JsonValue moved = std::move(copy);
  EXPECT_TRUE(copy.is_null());  // NOLINT(bugprone-use-after-move): moved-from is null
  EXPECT_EQ(moved, j);
  j = j["a"];  // the source lives inside the target
  EXPECT_EQ(j.dump(), R"({"b":[1,2]})");
  j = std::move(j["b"]);
  EXPECT_EQ(j.dump(), "[1,2]");
  const JsonValue& self = j;
  j = self;
  EXPECT_EQ(j.dump(), "[1,2]");
  JsonValue s = moved["s"];
  moved = JsonValue(1);
  EXPECT_EQ(s.get<std::string>(), "long enough to live on the heap!");
}

}  // namespace
}  // namespace electrolite
