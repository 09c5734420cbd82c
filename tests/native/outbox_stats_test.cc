// The outbox's unacknowledged count (`_el_outbox_stats`), kept by Outbox's own
// statements in the transaction of each change, and the upgrade of a database
// whose outbox an earlier build created (IN-list CHECKs, count kept by
// triggers).
#include <cstdio>

#include "old_outbox_schema.h"
#include "write_test_util.h"

namespace electrolite {
namespace testing_write {
namespace {

constexpr int64_t kT0 = 1700000000000;

int64_t Unacked(WriteHarness& h) { return h.Count("SELECT unacked FROM _el_outbox_stats"); }
int64_t Counted(WriteHarness& h) {
  return h.Count("SELECT count(*) FROM _el_outbox WHERE status <> 'acked'");
}

OutboxEntry Entry(const std::string& id, const std::string& status) {
  OutboxEntry e;
  e.id = id;
  e.table = "tasks";
  e.op = "update";
  e.key = {{"id", kTask1}};
  e.value = {{"title", id}};
  e.base = json::object();
  e.local_ms = kT0;
  e.status = status;
  return e;
}

TEST(OutboxStatsTest, EveryChangeKeepsTheCountExact) {
  WriteHarness h;
  ASSERT_TRUE(h.Open().ok());
  Outbox& o = h.writes->outbox();
  ASSERT_TRUE(o.Append(Entry("m1", "pending")).ok());  // outside any transaction
  ASSERT_TRUE(o.Append(Entry("m2", "pending")).ok());
  ASSERT_TRUE(o.Append(Entry("m3", "acked")).ok());
  EXPECT_EQ(Unacked(h), 2);
  ASSERT_TRUE(o.SetStatus("m1", "in_flight").ok());
  EXPECT_EQ(Unacked(h), 2);
  ASSERT_TRUE(o.MarkAcked("m1", 77).ok());
  EXPECT_EQ(Unacked(h), 1);
  ASSERT_TRUE(o.MarkAcked("m1", 78).ok());  // acked again: no change
  EXPECT_EQ(Unacked(h), 1);
  ASSERT_TRUE(o.SetStatus("m3", "pending").ok());  // acked -> pending (rolled back upload)
  EXPECT_EQ(Unacked(h), 2);
  ASSERT_TRUE(o.SetStatus("m2", "failed", "nope").ok());
  EXPECT_EQ(Unacked(h), 2);
  ASSERT_TRUE(o.Remove("m1").ok());  // acked: not counted
  EXPECT_EQ(Unacked(h), 2);
  ASSERT_TRUE(o.Remove("m2").ok());  // failed: counted
  EXPECT_EQ(Unacked(h), 1);
  ASSERT_TRUE(o.Remove("missing").ok());
  ASSERT_TRUE(o.SetStatus("missing", "acked").ok());
  EXPECT_EQ(Unacked(h), 1);
  EXPECT_EQ(Unacked(h), Counted(h));
  EXPECT_EQ(*o.CountUnacked(), 1);
}

TEST(OutboxStatsTest, RolledBackChangesLeaveTheCountAsItWas) {
  WriteHarness h;
  ASSERT_TRUE(h.Open().ok());
  Outbox& o = h.writes->outbox();
  ASSERT_TRUE(o.Append(Entry("m1", "pending")).ok());
  {
    Txn txn(h.store.get());
    ASSERT_TRUE(txn.Begin().ok());
    ASSERT_TRUE(o.Append(Entry("m2", "pending")).ok());
    ASSERT_TRUE(o.MarkAcked("m1", 5).ok());
    ASSERT_TRUE(o.Remove("m1").ok());
    EXPECT_EQ(Unacked(h), 1);
  }  // rolled back
  EXPECT_EQ(Unacked(h), 1);
  EXPECT_EQ(Counted(h), 1);
  // A duplicate id fails and counts nothing.
  EXPECT_FALSE(o.Append(Entry("m1", "pending")).ok());
  EXPECT_EQ(Unacked(h), 1);
  EXPECT_EQ(Counted(h), 1);
}

TEST(OutboxStatsTest, ChecksStillRejectUnknownOpsAndStatuses) {
  WriteHarness h;
  ASSERT_TRUE(h.Open().ok());
  OutboxEntry bad_op = Entry("m1", "pending");
  bad_op.op = "upsert";
  EXPECT_FALSE(h.writes->outbox().Append(bad_op).ok());
  EXPECT_FALSE(h.writes->outbox().Append(Entry("m2", "lost")).ok());
  EXPECT_EQ(Unacked(h), 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
}

class OutboxUpgradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "el_outbox_upgrade_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    Remove();
  }
  void TearDown() override {
    h.Close();
    Remove();
  }
  void Remove() {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
      std::remove((path_ + suffix).c_str());
    }
  }

  // A database as the earlier build left it: its outbox DDL (recorded as
  // such) and entries in every status, the count kept by its triggers.
  void CreateOldDatabase() {
    ASSERT_TRUE(h.Open(path_).ok());
    ASSERT_TRUE(h.store->Exec("DROP TABLE _el_outbox; DROP TABLE _el_outbox_stats;").ok());
    ASSERT_TRUE(h.store->Exec(kOldOutboxDdl).ok());
    ASSERT_TRUE(h.store->RecordSchema("schema:outbox", kOldOutboxDdl).ok());
    ASSERT_TRUE(h.store->Exec(
        "INSERT INTO _el_outbox (seq, id, tbl, op, key, value, base, local_ms, status, reason,"
        " txid, attempts) VALUES"
        " (3, 'm1', 'tasks', 'insert', '{\"id\":\"k1\"}', '{\"id\":\"k1\",\"title\":\"a\"}', '{}',"
        " 10, 'pending', NULL, NULL, 0),"
        " (5, 'm2', 'tasks', 'update', '{\"id\":\"k2\"}', '{\"title\":\"b\"}', '{\"title\":\"x\"}',"
        " 11, 'acked', NULL, 4242, 1),"
        " (6, 'm3', 'tasks', 'delete', '{\"id\":\"k3\"}', '{}', '{\"title\":\"y\"}',"
        " 12, 'failed', 'bad row', NULL, 2),"
        " (9, 'm4', 'projects', 'update', '{\"id\":\"k4\"}', '{\"name\":\"c\"}', '{}',"
        " 13, 'in_flight', NULL, NULL, 1)").ok());
    ASSERT_EQ(Unacked(h), 3);  // the old triggers' count
    old_rows_ = h.Rows("SELECT seq, id, tbl, op, key, value, base, local_ms, reason, txid,"
                       " attempts FROM _el_outbox ORDER BY seq");
    h.Close();
  }

  std::string path_;
  WriteHarness h;
  std::vector<json> old_rows_;
};

TEST_F(OutboxUpgradeTest, OldOutboxIsRebuiltWithItsEntriesAndCount) {
  CreateOldDatabase();
  ASSERT_TRUE(h.Open(path_).ok());
  // The entries survive as they were (the in-flight one goes again).
  EXPECT_EQ(h.Rows("SELECT seq, id, tbl, op, key, value, base, local_ms, reason, txid, attempts"
                   " FROM _el_outbox ORDER BY seq"),
            old_rows_);
  EXPECT_EQ(h.Rows("SELECT status FROM _el_outbox ORDER BY seq"),
            (std::vector<json>{{{"status", "pending"}}, {{"status", "acked"}},
                               {{"status", "failed"}}, {{"status", "pending"}}}));
  // The new table: comparisons instead of IN lists, no triggers, both indexes.
  EXPECT_EQ(h.Count("SELECT count(*) FROM sqlite_master WHERE name = '_el_outbox'"
                    " AND sql LIKE '%IN (%'"),
            0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                    " AND tbl_name = '_el_outbox'"),
            0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
                    " ('_el_outbox_row', '_el_outbox_status', 'sqlite_autoindex__el_outbox_1')"),
            3);
  EXPECT_EQ(h.Count("SELECT count(*) FROM sqlite_master WHERE name = '_el_outbox_old'"), 0);
  EXPECT_EQ(Unacked(h), 3);
  EXPECT_EQ(*h.writes->PendingCount(), 3);
  auto check = h.Rows("PRAGMA integrity_check");
  ASSERT_EQ(check.size(), 1u);
  EXPECT_EQ(check[0].begin().value(), "ok");

  // New entries continue the old sequence, and the count follows every change.
  Outbox& o = h.writes->outbox();
  ASSERT_TRUE(o.Append(Entry("m5", "pending")).ok());
  EXPECT_EQ(h.Count("SELECT seq FROM _el_outbox WHERE id = 'm5'"), 10);
  EXPECT_EQ(Unacked(h), 4);
  ASSERT_TRUE(o.MarkAcked("m1", 1).ok());
  ASSERT_TRUE(o.Remove("m2").ok());
  ASSERT_TRUE(o.Remove("m3").ok());
  EXPECT_EQ(Unacked(h), 2);
  EXPECT_EQ(Unacked(h), Counted(h));
  h.Close();

  // The upgrade ran once: a reopen finds the new DDL recorded and writes nothing.
  ASSERT_TRUE(h.Open(path_).ok());
  EXPECT_EQ(Unacked(h), 2);
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 3);
}

TEST_F(OutboxUpgradeTest, WritesAfterTheUpgradeKeepOverlayAndCountInStep) {
  CreateOldDatabase();
  ASSERT_TRUE(h.Open(path_).ok());
  ASSERT_TRUE(h.writes->outbox().Remove("m1").ok());  // rows the old entries named are not here
  ASSERT_TRUE(h.writes->outbox().Remove("m3").ok());
  Result<std::string> ins = h.writes->Insert(
      "tasks", {{"id", kTask2}, {"user_id", "u1"}, {"title", "new"}}, kT0);
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask2}}, {{"title", "newer"}}, kT0 + 1).ok());
  EXPECT_EQ(h.Row("tasks", kTask2)["title"], "newer");
  EXPECT_EQ(Unacked(h), 3);  // m4 + the two writes
  EXPECT_EQ(Unacked(h), Counted(h));
}

}  // namespace
}  // namespace testing_write
}  // namespace electrolite
