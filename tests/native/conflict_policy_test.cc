// Conflict policies as pure functions: the decisions the engine and the write
// endpoint must agree on (DESIGN.md "Conflicts").
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

Winner DecideFor(const TablePolicy& p, const json& local, const char* local_id, const json& remote,
           const char* remote_id = "") {
  return Decide(p, Contender{&local, local_id}, Contender{&remote, remote_id});
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
  EXPECT_FALSE(Policy("{}").writable);  // not declared writable = read-only
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

TEST(ConflictPolicyTest, ValuesCompareByType) {
  EXPECT_LT(CompareValues(json(9), json(10)), 0);
  EXPECT_EQ(CompareValues(json("5"), json(5)), 0);
  EXPECT_GT(CompareValues(json("9223372036854775807"), json("9223372036854775806")), 0);
  EXPECT_LT(CompareValues(json(), json(0)), 0);  // null lowest
  EXPECT_EQ(CompareValues(json("t"), json(true)), 0);
  EXPECT_LT(CompareValues(json("2024-01-01 23:00:00-01"), json("2024-01-02T00:30:00Z")), 0);
  EXPECT_LT(CompareValues(json("abc"), json("abd")), 0);
  EXPECT_EQ(CompareValues(json(R"({"b": [1, 2], "a": 1})"), json(R"({"a":1,"b":[1,2]})")), 0);
  EXPECT_NE(CompareValues(json(R"({"a": 1})"), json(R"({"a":2})")), 0);
}

TEST(ConflictPolicyTest, LastWriteWinsNewerTimestampWins) {
  TablePolicy p = Policy(R"({"policy":"last-write-wins","timestamp":"updated_at","writable":true})");
  json older = {{"id", "1"}, {"updated_at", "2024-01-01T00:00:00Z"}};
  json newer = {{"id", "1"}, {"updated_at", "2024-01-01T00:00:01Z"}};
  EXPECT_EQ(DecideFor(p, newer, "m1", older), Winner::kLocal);
  EXPECT_EQ(DecideFor(p, older, "m1", newer), Winner::kRemote);
}

TEST(ConflictPolicyTest, LastWriteWinsTieBrokenByMutationId) {
  TablePolicy p = Policy(R"({"policy":"last-write-wins","writable":true})");
  json a = {{"updated_at", "2024-01-01 00:00:00+00"}};
  json b = {{"updated_at", "2024-01-01T00:00:00Z"}};  // the same instant
  EXPECT_EQ(DecideFor(p, a, "bbbb", b, "aaaa"), Winner::kLocal);
  EXPECT_EQ(DecideFor(p, a, "aaaa", b, "bbbb"), Winner::kRemote);
  // R5: a server row with no known writer wins the tie.
  EXPECT_EQ(DecideFor(p, a, "zzzz", b, ""), Winner::kRemote);
  // Neither side has a timestamp: the tie-break decides too.
  EXPECT_EQ(DecideFor(p, json::object(), "b", json::object(), "a"), Winner::kLocal);
}

TEST(ConflictPolicyTest, ServerWinsAlwaysRemote) {
  TablePolicy p = Policy(R"({"policy":"server-wins","writable":true})");
  json newer = {{"updated_at", "2030-01-01T00:00:00Z"}};
  json older = {{"updated_at", "2020-01-01T00:00:00Z"}};
  EXPECT_EQ(DecideFor(p, newer, "zzz", older, "aaa"), Winner::kRemote);
}

TEST(ConflictPolicyTest, ImportanceThenLastAccessedThenUpdated) {
  TablePolicy p = Policy(R"({"policy":"importance","writable":true})");
  json base = {{"importance", 5},
               {"last_accessed_at", "2024-01-01T00:00:00Z"},
               {"updated_at", "2024-01-01T00:00:00Z"}};
  json more = base;
  more["importance"] = 6;
  EXPECT_EQ(DecideFor(p, more, "a", base), Winner::kLocal);
  EXPECT_EQ(DecideFor(p, base, "a", more), Winner::kRemote);
  json accessed = base;
  accessed["last_accessed_at"] = "2024-01-02T00:00:00Z";
  EXPECT_EQ(DecideFor(p, accessed, "a", base), Winner::kLocal);
  // importance beats a later access.
  EXPECT_EQ(DecideFor(p, accessed, "a", more), Winner::kRemote);
  json updated = base;
  updated["updated_at"] = "2024-01-03T00:00:00Z";
  EXPECT_EQ(DecideFor(p, base, "a", updated), Winner::kRemote);
  // Importance as text from the stream compares numerically ("10" > 9).
  json ten = base;
  ten["importance"] = "10";
  json nine = base;
  nine["importance"] = 9;
  EXPECT_EQ(DecideFor(p, ten, "a", nine), Winner::kLocal);
  // All equal: the mutation-id tie-break.
  EXPECT_EQ(DecideFor(p, base, "b", base, "a"), Winner::kLocal);
  EXPECT_EQ(DecideFor(p, base, "a", base, "b"), Winner::kRemote);
}

TEST(ConflictPolicyTest, CustomAsksTheResolverOrIsServerWins) {
  TablePolicy p = Policy(R"({"policy":"custom","writable":true})");
  json older = {{"updated_at", "2024-01-01T00:00:00Z"}};
  json newer = {{"updated_at", "2024-01-02T00:00:00Z"}};
  EXPECT_EQ(Decide(p, Contender{&older, "a"}, Contender{&newer, ""}, true), Winner::kResolver);
  EXPECT_EQ(Decide(p, Contender{&older, "a"}, Contender{&newer, ""}, false), Winner::kRemote);
  EXPECT_EQ(Decide(p, Contender{&newer, "a"}, Contender{&older, ""}, false), Winner::kRemote);
}

TEST(ConflictPolicyTest, BaseMatchesIsTypeTolerant) {
  json base = {{"title", "a"}, {"priority", 1}, {"done", true}};
  json same = {{"title", "a"}, {"priority", "1"}, {"done", "t"}, {"extra", 3}};
  json changed = {{"title", "b"}, {"priority", 1}, {"done", true}};
  EXPECT_TRUE(BaseMatches(base, &same));
  EXPECT_FALSE(BaseMatches(base, &changed));
  EXPECT_FALSE(BaseMatches(base, nullptr));
  EXPECT_TRUE(BaseMatches(json::object(), nullptr));
}

}  // namespace
}  // namespace electrolite
