// A local write folds only itself onto the row's overlay (Overlay::FoldLocal):
// after any sequence of writes the overlay row is exactly what a full refold
// of the outbox (Overlay::Rebuild) gives, and the row state a write reads
// (RowState::Merged) is exactly what the view `T` shows.
#include "write_test_util.h"

namespace electrolite {
namespace testing_write {
namespace {

constexpr int64_t kNow = 1700000000000;

class OverlayFoldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h.Open().ok());
    t = h.writes->Find("tasks");
    ASSERT_NE(t, nullptr);
  }

  // A synced task as the server would have it.
  void SeedTask(const char* id, const char* title) { ASSERT_TRUE(h.SeedTask(id, title, kNow).ok()); }

  std::vector<json> OverlayRows(const char* id) {
    return h.Rows(std::string("SELECT * FROM tasks__overlay WHERE id = '") + id + "'");
  }

  // The folded overlay row equals a refold from the outbox, and the merged
  // row a write reads equals the view's.
  void ExpectSameAsRefold(const char* id) {
    SCOPED_TRACE(id);
    const json key = {{"id", id}};
    Result<RowState> state = h.writes->overlay().Load(*t, key);
    ASSERT_TRUE(state.ok());
    Result<std::optional<json>> view = h.writes->overlay().ReadMerged(*t, key);
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(state->Merged(*t), *view);
    const std::vector<json> folded = OverlayRows(id);
    ASSERT_TRUE(h.writes->overlay().Rebuild(*t, key, /*local_write=*/true).ok());
    EXPECT_EQ(OverlayRows(id), folded);
    EXPECT_EQ(*h.writes->overlay().ReadMerged(*t, key), *view);
  }

  WriteHarness h;
  const WriteTable* t = nullptr;
};

TEST_F(OverlayFoldTest, SeveralWritesToOneLocalRow) {
  ASSERT_TRUE(h.writes->Insert("tasks", {{"id", kTask1}, {"user_id", "u1"}, {"title", "a"}},
                               kNow).ok());
  ExpectSameAsRefold(kTask1);
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "b"}}, kNow + 1).ok());
  ExpectSameAsRefold(kTask1);
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}},
                               {{"priority", 5}, {"description", "d"}}, kNow + 2).ok());
  ExpectSameAsRefold(kTask1);
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"description", nullptr}},
                               kNow + 3).ok());
  ExpectSameAsRefold(kTask1);
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "b");
  EXPECT_EQ(h.Row("tasks", kTask1)["priority"], 5);
  EXPECT_EQ(h.Row("tasks", kTask1)["description"], json());
  ASSERT_TRUE(h.writes->Delete("tasks", {{"id", kTask1}}, kNow + 4).ok());
  ExpectSameAsRefold(kTask1);
  EXPECT_TRUE(h.Row("tasks", kTask1).is_null());
  EXPECT_FALSE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "c"}}, kNow + 5).ok());
  // Inserted again after the local delete.
  ASSERT_TRUE(h.writes->Insert("tasks", {{"id", kTask1}, {"user_id", "u2"}, {"title", "again"}},
                               kNow + 6).ok());
  ExpectSameAsRefold(kTask1);
  EXPECT_EQ(h.Row("tasks", kTask1)["user_id"], "u2");
  EXPECT_EQ(h.Row("tasks", kTask1)["priority"], 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 6);
}

TEST_F(OverlayFoldTest, SeveralWritesOverASyncedRow) {
  SeedTask(kTask1, "server");
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "mine"}}, kNow).ok());
  ExpectSameAsRefold(kTask1);
  ASSERT_TRUE(
      h.writes->Update("tasks", {{"id", kTask1}}, {{"status", "completed"}}, kNow + 1).ok());
  ExpectSameAsRefold(kTask1);
  // Same value again: no mutation.
  Result<std::string> same = h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "mine"}},
                                              kNow + 2);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, "");
  // The server changes the row under the pending edits.
  SeedTask(kTask1, "server 2");
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"priority", 9}}, kNow + 3).ok());
  ExpectSameAsRefold(kTask1);
  json row = h.Row("tasks", kTask1);
  EXPECT_EQ(row["title"], "mine");
  EXPECT_EQ(row["status"], "completed");
  EXPECT_EQ(row["priority"], 9);
  ASSERT_TRUE(h.writes->Delete("tasks", {{"id", kTask1}}, kNow + 4).ok());
  ExpectSameAsRefold(kTask1);
  EXPECT_TRUE(h.Row("tasks", kTask1).is_null());
  // Inserted again over the deleted synced row.
  ASSERT_TRUE(h.writes->Insert("tasks", {{"id", kTask1}, {"user_id", "u1"}, {"title", "x"}},
                               kNow + 5).ok());
  ExpectSameAsRefold(kTask1);
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "x");
}

TEST_F(OverlayFoldTest, WriteOverAYieldingDelete) {
  SeedTask(kTask1, "server");
  ASSERT_TRUE(h.writes->Delete("tasks", {{"id", kTask1}}, kNow).ok());
  // The policy let the server's version show through the pending delete.
  ASSERT_TRUE(h.writes->overlay().SetYield(*t, {{"id", kTask1}}, true).ok());
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "server");
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "late"}}, kNow + 1).ok());
  ExpectSameAsRefold(kTask1);
  // A local write stops the yield: the delete shows again.
  EXPECT_TRUE(h.Row("tasks", kTask1).is_null());
}

TEST_F(OverlayFoldTest, ValuesTheOutboxJsonChangesAreRefolded) {
  SeedTask(kTask1, "server");
  // Non-ASCII text round-trips; invalid UTF-8 does not (the outbox holds it
  // replaced): both end as a refold would leave them.
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}},
                               {{"title", "caf\xC3\xA9 \xF0\x9F\x98\x80"}}, kNow).ok());
  ExpectSameAsRefold(kTask1);
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "caf\xC3\xA9 \xF0\x9F\x98\x80");
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "bad \xC3("}}, kNow + 1).ok());
  ExpectSameAsRefold(kTask1);
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "bad \xEF\xBF\xBD(");
}

TEST_F(OverlayFoldTest, AnOverlayThatIsNotTheFoldOfTheOutboxIsRefolded) {
  SeedTask(kTask1, "server");
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "one"}}, kNow).ok());
  ASSERT_TRUE(
      h.writes->Update("tasks", {{"id", kTask1}}, {{"status", "completed"}}, kNow + 1).ok());
  // The newest entry disappears behind the overlay's back (no refold).
  ASSERT_TRUE(h.store->Exec("DELETE FROM _el_outbox WHERE seq = (SELECT max(seq) FROM _el_outbox)")
                  .ok());
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"priority", 3}}, kNow + 2).ok());
  ExpectSameAsRefold(kTask1);
  json row = h.Row("tasks", kTask1);
  EXPECT_EQ(row["title"], "one");
  EXPECT_EQ(row["status"], "pending");  // the lost entry's column is not shown
  EXPECT_EQ(row["priority"], 3);
  // Entries without an overlay row: refolded too.
  ASSERT_TRUE(h.store->Exec("DELETE FROM tasks__overlay").ok());
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"description", "d"}}, kNow + 3).ok());
  ExpectSameAsRefold(kTask1);
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "one");
}

TEST_F(OverlayFoldTest, RolledBackWriteLeavesNoTrace) {
  SeedTask(kTask1, "server");
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "kept"}}, kNow).ok());
  const std::vector<json> overlay = OverlayRows(kTask1);
  const std::vector<json> outbox = h.Rows("SELECT * FROM _el_outbox ORDER BY seq");
  const int64_t unacked = h.Count("SELECT unacked FROM _el_outbox_stats");
  {
    Txn txn(h.store.get());
    ASSERT_TRUE(txn.Begin().ok());
    ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "gone"}}, kNow + 1).ok());
    ASSERT_TRUE(h.writes->Insert("tasks", {{"id", kTask2}, {"user_id", "u1"}, {"title", "gone"}},
                                 kNow + 1).ok());
    EXPECT_EQ(h.Row("tasks", kTask1)["title"], "gone");
  }  // rolled back
  EXPECT_EQ(OverlayRows(kTask1), overlay);
  EXPECT_TRUE(OverlayRows(kTask2).empty());
  EXPECT_EQ(h.Rows("SELECT * FROM _el_outbox ORDER BY seq"), outbox);
  EXPECT_EQ(h.Count("SELECT unacked FROM _el_outbox_stats"), unacked);
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "kept");
  // The next write folds onto what is left.
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"priority", 4}}, kNow + 2).ok());
  ExpectSameAsRefold(kTask1);
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "kept");
}

TEST_F(OverlayFoldTest, SqlWritesFoldTheSameWay) {
  SeedTask(kTask1, "server");
  ASSERT_TRUE(h.Exec(std::string("UPDATE tasks SET title = 'sql' WHERE id = '") + kTask1 + "'",
                     kNow).ok());
  ASSERT_TRUE(h.Exec(std::string("UPDATE tasks SET priority = priority + 1 WHERE id = '") +
                         kTask1 + "'",
                     kNow + 1).ok());
  ExpectSameAsRefold(kTask1);
  EXPECT_EQ(h.Row("tasks", kTask1)["priority"], 2);
  ASSERT_TRUE(h.Exec(std::string("DELETE FROM tasks WHERE id = '") + kTask1 + "'", kNow + 2).ok());
  ExpectSameAsRefold(kTask1);
}

// Random local writes, server changes, acks, rejections and discards over a
// few rows: after every local write the folded overlay row is exactly a full
// refold, and after every step each row's merged state is the view's and the
// unacked count the outbox's.
TEST_F(OverlayFoldTest, RandomHistoriesFoldLikeARefold) {
  const char* ids[] = {kTask1, kTask2, "00000000-0000-4000-8000-000000000003"};
  const char* titles[] = {"a", "b", "caf\xC3\xA9", "", "d"};
  uint64_t x = 7;
  auto next = [&x](uint64_t n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (x >> 33) % n;
  };
  int64_t now = kNow;
  int64_t txid = 1000;
  int local_writes = 0;
  int64_t yielding = 0;
  for (int step = 0; step < 600; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const char* id = ids[next(3)];
    const json key = {{"id", id}};
    const uint64_t what = next(10);
    ++now;
    bool local = false;
    if (what <= 1) {
      local = h.writes->Insert("tasks", {{"id", id}, {"user_id", "u1"},
                                         {"title", titles[next(5)]}, {"priority", next(4)}},
                               now).ok();
    } else if (what <= 4) {
      json patch = json::object();
      if (next(2) == 0) patch["title"] = titles[next(5)];
      if (next(2) == 0) patch["priority"] = static_cast<int64_t>(next(4));
      if (next(3) == 0) patch["description"] = next(2) == 0 ? json() : json("text");
      if (next(4) == 0) patch["status"] = "completed";
      Result<std::string> r = h.writes->Update("tasks", key, patch, now);
      local = r.ok() && !r->empty();  // "": nothing changed, nothing written
    } else if (what == 5) {
      local = h.writes->Delete("tasks", key, now).ok();
    } else if (what == 6) {
      // Older or newer than the local writes: the policy lets it through or not.
      const char* at = next(2) == 0 ? "2023-01-01 00:00:00+00" : "2030-01-01 00:00:00+00";
      json row = {{"id", id},           {"user_id", "u1"},  {"title", titles[next(5)]},
                  {"status", "pending"}, {"priority", next(4)},
                  {"created_at", "2023-01-01 00:00:00+00"}, {"updated_at", at}};
      if (next(4) == 0) {
        ASSERT_TRUE(h.ApplyServerRows("tasks", {}, {++txid}, now, {key}).ok());
      } else {
        ASSERT_TRUE(h.ApplyServerRows("tasks", {row}, {++txid}, now).ok());
      }
    } else {
      // An answer for (or a discard of) one of the row's entries.
      Result<std::vector<OutboxEntry>> entries = h.writes->outbox().ForKey("tasks", key);
      ASSERT_TRUE(entries.ok());
      if (entries->empty()) continue;
      const OutboxEntry e = (*entries)[next(entries->size())];
      Txn txn(h.store.get());
      ASSERT_TRUE(txn.Begin().ok());
      if (what == 7 && e.status != "acked") {
        ASSERT_TRUE(h.writes->Acked(e, ++txid).ok());
      } else if (what == 8 && e.status != "acked") {
        ASSERT_TRUE(h.writes->Rejected(e, "no", json(), now).ok());
      }
      ASSERT_TRUE(txn.Commit().ok());
      if (what == 9 && e.status != "acked") ASSERT_TRUE(h.writes->DiscardMutation(e.id).ok());
    }
    if (local) {
      ++local_writes;
      // A full refold, inside a savepoint that is rolled back.
      const std::vector<json> folded = OverlayRows(id);
      Txn txn(h.store.get());
      ASSERT_TRUE(txn.Begin().ok());
      ASSERT_TRUE(h.writes->overlay().Rebuild(*t, key, /*local_write=*/true).ok());
      EXPECT_EQ(OverlayRows(id), folded);
      txn.Rollback();
    }
    for (const char* other : ids) {
      const json k = {{"id", other}};
      Result<RowState> state = h.writes->overlay().Load(*t, k);
      ASSERT_TRUE(state.ok());
      EXPECT_EQ(state->Merged(*t), *h.writes->overlay().ReadMerged(*t, k)) << other;
    }
    EXPECT_EQ(h.Count("SELECT unacked FROM _el_outbox_stats"),
              h.Count("SELECT count(*) FROM _el_outbox WHERE status <> 'acked'"));
    (void)h.writes->TakeEvents();
    yielding += h.Count("SELECT count(*) FROM tasks__overlay WHERE _el_yield = 1");
  }
  EXPECT_GT(local_writes, 150);
  EXPECT_GT(yielding, 0);  // the history reached rows the policy let the server show through
}

}  // namespace
}  // namespace testing_write
}  // namespace electrolite
