// Policies parsed once into a typed table config (table_config.h), and the
// declaration's cache of it.
#include <gtest/gtest.h>

#include "table_decl.h"

namespace electrolite {
namespace {

TEST(TableConfigTest, EverySectionIsTyped) {
  TableConfig c = ParseTableConfig(
      "tasks",
      R"({"policy":"last-write-wins","writable":true,"exclude":["secret"],
          "retention":{"column":"updated_at","days":1.5},"expires_column":"expires_at",
          "prefetch_children":["runs.task_id","notes.task_id"]})");
  EXPECT_TRUE(c.conflict_error.ok());
  EXPECT_EQ(c.conflict.kind, PolicyKind::kLastWriteWins);
  EXPECT_TRUE(c.conflict.writable);
  EXPECT_EQ(c.exclude, std::vector<std::string>{"secret"});
  EXPECT_EQ(c.retention_column, "updated_at");
  EXPECT_EQ(c.retention_max_age_ms, 36 * 3600 * 1000);
  EXPECT_EQ(c.expires_column, "expires_at");
  ASSERT_EQ(c.prefetch_children.size(), 2u);
  EXPECT_EQ(c.prefetch_children[1], (std::pair<std::string, std::string>{"notes", "task_id"}));
}

TEST(TableConfigTest, AnEmptyEntryHasTheConflictPolicysOwnDefaults) {
  TableConfig c = ParseTableConfig("t", "{}");
  Result<TablePolicy> direct = TablePolicy::FromJson(Json::object());
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(c.conflict.kind, direct->kind);
  EXPECT_EQ(c.conflict.writable, direct->writable);
  EXPECT_EQ(c.conflict.timestamp_column, direct->timestamp_column);
  EXPECT_EQ(c.conflict.order, direct->order);
  EXPECT_TRUE(c.exclude.empty());
  EXPECT_TRUE(c.retention_column.empty());
  EXPECT_TRUE(c.prefetch_children.empty());
}

TEST(TableConfigTest, AnInvalidSectionKeepsItsErrorAndLeavesTheOthers) {
  TableConfig c = ParseTableConfig(
      "t", R"({"policy":"nope","exclude":"x","retention":{"column":"a","days":0},
              "expires_column":3,"prefetch_children":["runs"]})");
  EXPECT_NE(c.conflict_error.message().find("unknown conflict policy"), std::string::npos);
  EXPECT_EQ(c.exclude_error.message(), "policies.t.exclude must be a list of column names");
  EXPECT_EQ(c.retention_error.message(), "policies.t.retention.days must be a positive number");
  EXPECT_EQ(c.expires_error.message(), "policies.t.expires_column must name a column");
  EXPECT_NE(c.prefetch_error.message().find("child_table.fk_column"), std::string::npos);
  TableConfig only_exclude = ParseTableConfig("t", R"({"exclude":["a"]})");
  EXPECT_TRUE(only_exclude.retention_error.ok());
  EXPECT_TRUE(only_exclude.conflict_error.ok());
}

TEST(TableConfigTest, TheDeclarationParsesItsPolicyOnceAndAgainOnlyWhenItChanges) {
  TableDecl d{"t", {}, {"id"}, R"({"exclude":["a"]})"};
  const TableConfig* first = &d.config();
  EXPECT_EQ(first->exclude, std::vector<std::string>{"a"});
  EXPECT_EQ(&d.config(), first);  // cached
  TableDecl copy = d;
  EXPECT_EQ(&copy.config(), first);  // shared by copies
  copy.policy_json = R"({"exclude":["b"]})";
  EXPECT_EQ(copy.config().exclude, std::vector<std::string>{"b"});
  EXPECT_EQ(d.config().exclude, std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace electrolite
