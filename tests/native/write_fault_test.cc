// Fault injection at the storage seam (STYLE.md #14): fail the Nth write or
// sync during a local write, and during ack handling + the echo's apply, for
// N = 1, 2, ...; reopen; the database passes integrity_check, overlay and
// outbox agree, and nothing is lost or applied twice.
#include <cstdio>

#include "write_test_util.h"

namespace electrolite {
namespace testing_write {
namespace {

constexpr int64_t kT0 = 1700000000000;
constexpr int kMaxN = 200;

class WriteFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FaultVfs::Get().Disarm();
    // tmpfs when there is one: the loop syncs a lot, and real fsyncs are slow.
    const std::string dir = std::ifstream("/dev/shm/.").good() || std::ifstream("/dev/shm").good()
                                ? "/dev/shm/"
                                : ::testing::TempDir();
    path_ = dir + "el_write_fault_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    Remove();
  }
  void TearDown() override {
    FaultVfs::Get().Disarm();
    h.Close();
    Remove();
  }
  void Remove() {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }
  Status OpenFault() { return h.Open(path_, FaultVfs::kName); }
  Status OpenPlain() { return h.Open(path_, ""); }

  json SeedRow(const std::string& title) {
    return {{"id", kTask1},          {"user_id", "u1"},        {"title", title},
            {"status", "pending"},   {"priority", 0},          {"description", nullptr},
            {"environment_id", nullptr}, {"created_at", "2023-01-01T00:00:00Z"},
            {"updated_at", "2023-01-01T00:00:00Z"}};
  }

  // The overlay is exactly the fold of the outbox: one overlay row per row
  // with outbox entries, showing the newest entry's write id.
  void ExpectOverlayMatchesOutbox() {
    auto check = h.Rows("PRAGMA integrity_check");
    ASSERT_EQ(check.size(), 1u);
    EXPECT_EQ(check[0].begin().value(), "ok");
    EXPECT_EQ(h.Count("SELECT count(*) FROM (SELECT DISTINCT key FROM _el_outbox WHERE tbl = 'tasks')"),
              h.Count("SELECT count(*) FROM tasks__overlay"));
    EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__overlay o WHERE o._el_write_id <> (SELECT id FROM"
                      " _el_outbox b WHERE b.tbl = 'tasks' AND b.key = json_object('id', o.id)"
                      " ORDER BY seq DESC LIMIT 1)"),
              0);
    // The O(1) pending count agrees with the outbox.
    EXPECT_EQ(h.Count("SELECT unacked FROM _el_outbox_stats"),
              h.Count("SELECT count(*) FROM _el_outbox WHERE status <> 'acked'"));
  }

  std::string path_;
  WriteHarness h;
};

TEST_F(WriteFaultTest, LocalWriteKeepsOverlayAndOutboxTogether) {
  int clean_runs = 0;
  for (int n = 1; n <= kMaxN; ++n) {
    Remove();
    ASSERT_TRUE(OpenPlain().ok());
    ASSERT_TRUE(h.ApplyServerRows("tasks", {SeedRow("v0")}, {}, kT0).ok());
    h.Close();
    ASSERT_TRUE(OpenFault().ok());
    FaultVfs::Get().Arm(n);
    Result<std::string> upd = h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "v1"}}, kT0);
    Result<std::string> ins = h.writes->Insert(
        "tasks", {{"id", kTask2}, {"user_id", "u1"}, {"title", "new"}}, kT0);
    const bool fault = FaultVfs::Get().failed();
    FaultVfs::Get().Disarm();
    h.Close();  // the "crash": in-memory state is gone
    ASSERT_TRUE(OpenPlain().ok()) << "n=" << n;
    ExpectOverlayMatchesOutbox();
    // Each write is there entirely iff it reported success.
    const int64_t upd_entries = h.Count("SELECT count(*) FROM _el_outbox WHERE op = 'update'");
    const int64_t ins_entries = h.Count("SELECT count(*) FROM _el_outbox WHERE op = 'insert'");
    EXPECT_EQ(upd_entries, upd.ok() ? 1 : 0) << "n=" << n << " " << upd.status().ToString();
    EXPECT_EQ(ins_entries, ins.ok() ? 1 : 0) << "n=" << n << " " << ins.status().ToString();
    EXPECT_EQ(h.Row("tasks", kTask1)["title"], upd.ok() ? "v1" : "v0") << "n=" << n;
    EXPECT_EQ(h.Row("tasks", kTask2).is_null(), !ins.ok()) << "n=" << n;
    EXPECT_EQ(h.Rows("SELECT title FROM tasks__synced")[0]["title"], "v0");
    h.Close();
    if (!fault) {
      std::printf("local write: clean after %d fault points\n", n - 1);
      EXPECT_TRUE(upd.ok() && ins.ok());
      ++clean_runs;
      break;
    }
  }
  EXPECT_EQ(clean_runs, 1) << "the loop never reached a fault-free run";
}

TEST_F(WriteFaultTest, AckAndEchoApplyLoseNothingAndApplyOnce) {
  int clean_runs = 0;
  for (int n = 1; n <= kMaxN; ++n) {
    Remove();
    FakeWriteServer server(&h);
    size_t cursor = 0;
    ASSERT_TRUE(OpenFault().ok());
    server.rows["tasks"][kTask1] = SeedRow("v0");
    ASSERT_TRUE(h.ApplyServerRows("tasks", {SeedRow("v0")}, {}, kT0).ok());
    Result<std::string> id = h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "v1"}}, kT0);
    ASSERT_TRUE(id.ok());
    h.uploader->NoteWrites();
    std::optional<Request> r = h.Poll(kT0);
    ASSERT_TRUE(r);
    auto [code, body] = server.Handle(*r, *h.uploader->Body(r->id));
    // Faults from here: the ack's transaction, then the echo's apply.
    FaultVfs::Get().Arm(n);
    Status ack = h.uploader->HandleResponse(kT0 + 1, r->id, code, {}, body);
    Status echo = DeliverChanges(&h, &server, &cursor, kT0 + 2);
    const bool fault = FaultVfs::Get().failed();
    FaultVfs::Get().Disarm();
    h.Close();
    ASSERT_TRUE(OpenPlain().ok()) << "n=" << n;
    ExpectOverlayMatchesOutbox();
    // The write is never lost: either still in the outbox or in the mirror.
    EXPECT_EQ(h.Row("tasks", kTask1)["title"], "v1") << "n=" << n << " ack=" << ack.ToString()
                                                      << " echo=" << echo.ToString();
    const int64_t left = h.Count("SELECT count(*) FROM _el_outbox");
    const std::string synced = h.Rows("SELECT title FROM tasks__synced")[0]["title"].get<std::string>();
    EXPECT_TRUE(left == 1 || synced == "v1") << "n=" << n;
    // Finish the cycle after the "restart": retry (deduplicated) and re-stream.
    for (int i = 0; i < 3 && h.Count("SELECT count(*) FROM _el_outbox") > 0; ++i) {
      std::optional<Request> again = h.Poll(kT0 + 100000 * (i + 1));
      if (again) {
        auto [c2, b2] = server.Handle(*again, *h.uploader->Body(again->id));
        ASSERT_TRUE(h.uploader->HandleResponse(kT0 + 100000 * (i + 1), again->id, c2, {}, b2).ok());
      }
      if (synced != "v1" || cursor < server.changes.size()) {
        cursor = 0;  // the shape resumes from its committed offset: re-deliver
        ASSERT_TRUE(DeliverChanges(&h, &server, &cursor, kT0 + 100000 * (i + 1) + 1).ok());
      }
    }
    EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0) << "n=" << n;
    EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__overlay"), 0) << "n=" << n;
    EXPECT_EQ(h.Row("tasks", kTask1)["title"], "v1");
    EXPECT_EQ(server.applied_count[*id], 1) << "n=" << n;  // applied exactly once
    h.Close();
    if (!fault) {
      std::printf("ack + echo: clean after %d fault points\n", n - 1);
      EXPECT_TRUE(ack.ok() && echo.ok());
      ++clean_runs;
      break;
    }
  }
  EXPECT_EQ(clean_runs, 1) << "the loop never reached a fault-free run";
}

}  // namespace
}  // namespace testing_write
}  // namespace electrolite
