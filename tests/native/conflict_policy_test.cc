// Conflict policies as pure functions: the decisions the engine and the write
// endpoint must agree on (DESIGN.md "Conflicts").
#include "civil_time.h"
#include "conflict_policy.h"

#include <gtest/gtest.h>

#include "json_test_util.h"

namespace electrolite {
namespace {

using json = Json;

TablePolicy Policy(const char* text) {
  Result<TablePolicy> p = TablePolicy::FromJson(json::parse(text));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? p.value() : TablePolicy();
}

TEST(ConflictPolicyTest, ParsesPoliciesJsonEntries) {
  TablePolicy lww = Policy(R"({"policy":"last-write-wins","timestamp":"updated_at","writable":true})");
  EXPECT_EQ(lww.kind, PolicyKind::kLastWriteWins);
  EXPECT_TRUE(lww.writable);
  EXPECT_EQ(lww.timestamp_column, "updated_at");
  TablePolicy imp = Policy(R"({"policy":"importance","writable":true})");
  EXPECT_EQ(imp.kind, PolicyKind::kImportance);
  EXPECT_EQ(imp.order, (std::vector<std::string>{"importance", "last_accessed_at", "updated_at"}));
  TablePolicy ro = Policy(R"({"policy":"server-wins","writable":false})");
  EXPECT_FALSE(ro.writable);
  EXPECT_TRUE(Policy("{}").writable);  // R0: writable unless declared otherwise, as on the endpoint
}

TEST(ConflictPolicyTest, RejectsMalformedEntries) {
  EXPECT_EQ(TablePolicy::FromJson(json::parse(R"({"policy":"first-wins"})")).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(TablePolicy::FromJson(json::parse(R"({"writable":"yes"})")).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(TablePolicy::FromJson(json::parse(R"({"order":"importance"})")).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(TablePolicy::FromJson(json::parse("[]")).status().code(), Code::kInvalidArgument);
}

TEST(ConflictPolicyTest, TimestampsCompareAsInstantsAcrossFormats) {
  auto a = ParseTimestampMicros("2024-03-01 10:00:00+00");
  auto b = ParseTimestampMicros("2024-03-01T12:00:00+02:00");
  auto c = ParseTimestampMicros("2024-03-01T10:00:00.000001Z");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*c - *a, 1);
  EXPECT_EQ(*ParseTimestampMicros("1970-01-01"), 0);
  EXPECT_FALSE(ParseTimestampMicros("yesterday"));
  EXPECT_FALSE(ParseTimestampMicros("2024-13-01"));
  EXPECT_FALSE(ParseTimestampMicros("2024-03-01 10:00:00+0x"));
}

TEST(ConflictPolicyTest, ValuesCompareByTheirColumnType) {
  EXPECT_LT(CompareTyped("int4", json(9), json(10)), 0);
  EXPECT_EQ(CompareTyped("int4", json("5"), json(5)), 0);
  EXPECT_GT(CompareTyped("int8", json("9223372036854775807"), json("9223372036854775806")), 0);
  EXPECT_LT(CompareTyped("int4", json(), json(0)), 0);  // null lowest
  EXPECT_EQ(CompareTyped("int4", json(), json()), 0);
  EXPECT_EQ(CompareTyped("bool", json("t"), json(true)), 0);
  EXPECT_EQ(CompareTyped("bool", json(1), json("true")), 0);  // storage form 0/1
  EXPECT_LT(CompareTyped("bool", json("f"), json("t")), 0);
  EXPECT_LT(CompareTyped("timestamptz", json("2024-01-01 23:00:00-01"),
                         json("2024-01-02T00:30:00Z")), 0);
  EXPECT_GT(CompareTyped("timestamptz", json("infinity"), json("2999-01-01T00:00:00Z")), 0);
  EXPECT_LT(CompareTyped("text", json("abc"), json("abd")), 0);
  EXPECT_EQ(CompareTyped("jsonb", json(R"({"b": [1, 2], "a": 1})"), json(R"({"a":1,"b":[1,2]})")), 0);
  EXPECT_EQ(CompareTyped("jsonb", json(R"({"a": 1})"), json::parse(R"({"a":1})")), 0);
  EXPECT_NE(CompareTyped("jsonb", json(R"({"a": 1})"), json(R"({"a":2})")), 0);
  // Exact decimals: no rounding through a double, trailing zeros and exponents agree.
  EXPECT_LT(CompareTyped("numeric", json("0.10000000000000000001"), json("0.1000000000000000001")), 0);
  EXPECT_EQ(CompareTyped("numeric", json("1.50"), json(1.5)), 0);
  EXPECT_EQ(CompareTyped("numeric", json("1e3"), json("1000")), 0);
  EXPECT_LT(CompareTyped("numeric", json("-2"), json("-1.5")), 0);
  EXPECT_GT(CompareTyped("numeric", json("NaN"), json("1e100")), 0);  // Postgres: NaN greatest
  EXPECT_LT(CompareTyped("int8", json("9007199254740992"), json("9007199254740993")), 0);
  // Text is text: numeric-looking text does not compare as a number.
  EXPECT_GT(CompareTyped("text", json("9"), json("10")), 0);
  EXPECT_NE(CompareTyped("text", json("5"), json("5.0")), 0);
  EXPECT_NE(CompareTyped("text", json("t"), json("true")), 0);
  // uuid by value, bpchar without trailing blanks.
  EXPECT_EQ(CompareTyped("uuid", json("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
                         json("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")), 0);
  EXPECT_EQ(CompareTyped("bpchar", json("ab  "), json("ab")), 0);
  EXPECT_EQ(CompareTyped("float8", json("NaN"), json("nan")), 0);
  EXPECT_LT(CompareTyped("float8", json(1.5), json("2")), 0);
}

TEST(ConflictPolicyTest, BaseMatchesComparesTyped) {
  const ColumnTypes types = {{"title", "text"}, {"priority", "int4"}, {"done", "bool"},
                             {"extra", "int4"}};
  json base = {{"title", "a"}, {"priority", 1}, {"done", true}};
  json same = {{"title", "a"}, {"priority", "1"}, {"done", "t"}, {"extra", 3}};
  json changed = {{"title", "b"}, {"priority", 1}, {"done", true}};
  EXPECT_TRUE(BaseMatches(types, base, &same));
  EXPECT_FALSE(BaseMatches(types, base, &changed));
  EXPECT_FALSE(BaseMatches(types, base, nullptr));
  EXPECT_TRUE(BaseMatches(types, json::object(), nullptr));
}

}  // namespace
}  // namespace electrolite
