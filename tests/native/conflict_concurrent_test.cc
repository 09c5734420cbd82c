// A server change arrives under a pending local edit: the table's policy
// decides what the app sees until the server answers; the server's answer
// (the fake endpoint applies the same rules) is final. Every policy,
// including ties.
#include "write_test_util.h"

namespace electrolite {
namespace testing_write {
namespace {

constexpr int64_t kT0 = 1700000000000;  // 2023-11-14T22:13:20.000Z

class ConflictConcurrentTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h.Open().ok()); }

  void Seed(const std::string& table, const json& row) {
    server.rows[table][row["id"].get<std::string>()] = row;
    ASSERT_TRUE(h.ApplyServerRows(table, {row}, {}, kT0).ok());
  }
  json Task(const std::string& title, const std::string& updated_at) {
    return {{"id", kTask1},          {"user_id", "u1"},        {"title", title},
            {"status", "pending"},   {"priority", 0},          {"description", nullptr},
            {"environment_id", nullptr}, {"created_at", "2023-01-01T00:00:00Z"},
            {"updated_at", updated_at}};
  }
  // Someone else's committed change, streamed to us.
  void ConcurrentServerChange(const std::string& table, const json& row) {
    server.ServerWrite(table, row);
    ASSERT_TRUE(DeliverChanges(&h, &server, &cursor, kT0 + 50).ok());
  }
  // Uploads everything due and streams the results back.
  void Settle(int64_t now) {
    h.uploader->NoteWrites();
    for (int i = 0; i < 5; ++i) {
      std::optional<Request> r = h.Poll(now + i * 10000);
      if (!r) break;
      auto [code, body] = server.Handle(*r, *h.uploader->Body(r->id));
      ASSERT_TRUE(h.uploader->HandleResponse(now, r->id, code, {}, body).ok());
      ASSERT_TRUE(DeliverChanges(&h, &server, &cursor, now + 1).ok());
    }
  }
  std::vector<json> Conflicts() {
    std::vector<json> out;
    for (const json& e : h.Events()) {
      if (e["type"] == "conflict") out.push_back(e);
    }
    return out;
  }
  void ExpectSettled() {
    EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
    EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__overlay"), 0);
  }

  WriteHarness h;
  FakeWriteServer server{&h};
  size_t cursor = 0;
};

TEST_F(ConflictConcurrentTest, LastWriteWinsLocalNewerKeepsLocalAndServerApplies) {
  Seed("tasks", Task("v0", "2023-01-01T00:00:00Z"));
  // Local edit stamped at kT0 (2023-11-14).
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "mine"}}, kT0).ok());
  ConcurrentServerChange("tasks", Task("theirs", "2023-06-01T00:00:00Z"));
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "mine");
  auto c = Conflicts();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["policy"], "last-write-wins");
  EXPECT_EQ(c[0]["outcome"], "local");
  EXPECT_EQ(c[0]["remote"]["title"], "theirs");
  Settle(kT0 + 100);
  EXPECT_EQ(server.rows["tasks"][kTask1]["title"], "mine");
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "mine");
  ExpectSettled();
}

TEST_F(ConflictConcurrentTest, LastWriteWinsRemoteNewerYieldsAtOnceAndServerRejects) {
  Seed("tasks", Task("v0", "2023-01-01T00:00:00Z"));
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "mine"}}, kT0).ok());
  ConcurrentServerChange("tasks", Task("theirs", "2024-01-01T00:00:00Z"));
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "theirs");  // the overlay yields
  EXPECT_EQ(*h.writes->PendingCount(), 1);               // until the server answers
  EXPECT_EQ(Conflicts()[0]["outcome"], "remote");
  Settle(kT0 + 100);
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "theirs");
  auto c = Conflicts();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["outcome"], "rejected");
  ExpectSettled();
}

TEST_F(ConflictConcurrentTest, LastWriteWinsTieWithAnUnknownWriterGoesToTheServer) {
  Seed("tasks", Task("v0", "2023-01-01T00:00:00Z"));
  // The app sets the timestamp itself; the server change has the same instant
  // in another spelling.
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}},
                               {{"title", "mine"}, {"updated_at", "2023-05-05T05:05:05Z"}}, kT0)
                  .ok());
  ConcurrentServerChange("tasks", Task("theirs", "2023-05-05 07:05:05+02"));
  // R5: no recorded writer, the server row wins; the client predicts the same.
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "theirs");
  EXPECT_EQ(Conflicts()[0]["outcome"], "remote");
  Settle(kT0 + 100);
  EXPECT_EQ(server.rows["tasks"][kTask1]["title"], "theirs");
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "theirs");
  auto c = Conflicts();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["outcome"], "rejected");
  EXPECT_EQ(c[0]["reason"], "stale");
  ExpectSettled();
}

TEST_F(ConflictConcurrentTest, LastWriteWinsTieWithAKnownWriterGoesToTheGreaterMutationId) {
  Seed("tasks", Task("v0", "2023-01-01T00:00:00Z"));
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}},
                               {{"title", "mine"}, {"updated_at", "2023-05-05T05:05:05Z"}}, kT0)
                  .ok());
  // Another client's write through the endpoint, same instant, smaller id.
  server.ServerWrite("tasks", Task("theirs", "2023-05-05T05:05:05Z"),
                     "00000000-0000-4000-8000-000000000000");
  ASSERT_TRUE(DeliverChanges(&h, &server, &cursor, kT0 + 50).ok());
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "theirs");  // predicted: server wins the tie
  h.uploader->NoteWrites();
  std::optional<Request> r = h.Poll(kT0 + 100);
  ASSERT_TRUE(r);
  auto [code, body] = server.Handle(*r, *h.uploader->Body(r->id));
  ASSERT_TRUE(h.uploader->HandleResponse(kT0 + 100, r->id, code, {}, body).ok());
  // The endpoint knew the writer and applied ours: its answer is final.
  EXPECT_EQ(server.rows["tasks"][kTask1]["title"], "mine");
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "mine");
  ASSERT_TRUE(DeliverChanges(&h, &server, &cursor, kT0 + 200).ok());
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "mine");
  ExpectSettled();
}

TEST_F(ConflictConcurrentTest, LocalWinsProvisionallyButTheServersAnswerIsFinal) {
  Seed("tasks", Task("v0", "2023-01-01T00:00:00Z"));
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "mine"}}, kT0).ok());
  ConcurrentServerChange("tasks", Task("older", "2023-02-01T00:00:00Z"));
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "mine");
  // Meanwhile a newer server write lands that we have not streamed yet.
  server.rows["tasks"][kTask1] = Task("newest", "2025-01-01T00:00:00Z");
  h.uploader->NoteWrites();
  std::optional<Request> r = h.Poll(kT0 + 100);
  ASSERT_TRUE(r);
  auto [code, body] = server.Handle(*r, *h.uploader->Body(r->id));
  ASSERT_TRUE(h.uploader->HandleResponse(kT0 + 100, r->id, code, {}, body).ok());
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "older");  // rolled back to the mirror
  ExpectSettled();
}

TEST_F(ConflictConcurrentTest, ServerWinsYieldsAtOnceThenRejected) {
  json exec = {{"id", kTask1},        {"user_id", "u1"},     {"agent_type", "coder"},
               {"status", "running"}, {"started_at", "2023-01-01T00:00:00Z"},
               {"updated_at", "2023-01-01T00:00:00Z"}};
  Seed("agent_executions", exec);
  ASSERT_TRUE(h.writes->Update("agent_executions", {{"id", kTask1}}, {{"status", "cancelled"}},
                               kT0)
                  .ok());
  EXPECT_EQ(h.Row("agent_executions", kTask1)["status"], "cancelled");
  json theirs = exec;
  theirs["status"] = "completed";
  theirs["updated_at"] = "2020-01-01T00:00:00Z";  // older timestamp: still the server's
  ConcurrentServerChange("agent_executions", theirs);
  EXPECT_EQ(h.Row("agent_executions", kTask1)["status"], "completed");
  auto c = Conflicts();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["policy"], "server-wins");
  EXPECT_EQ(c[0]["outcome"], "remote");
  Settle(kT0 + 100);
  EXPECT_EQ(h.Row("agent_executions", kTask1)["status"], "completed");
  EXPECT_EQ(Conflicts()[0]["outcome"], "rejected");
  EXPECT_EQ(h.Count("SELECT count(*) FROM agent_executions__overlay"), 0);
  json metrics = *h.writes->Metrics();
  EXPECT_EQ(metrics["conflicts"].size(), 2u);  // remote + rejected
}

class ImportanceTest : public ConflictConcurrentTest {
 protected:
  json Memory(int importance, const std::string& accessed, const std::string& updated,
              const std::string& content) {
    return {{"id", kMem1},
            {"user_id", "u1"},
            {"agent_type", "coder"},
            {"context_key", "k"},
            {"content", content},
            {"importance", importance},
            {"access_count", 0},
            {"last_accessed_at", accessed},
            {"created_at", "2023-01-01T00:00:00Z"},
            {"updated_at", updated}};
  }
  // Local patch vs concurrent server row; returns what the app sees.
  std::string Race(const json& patch, const json& server_row) {
    Seed("agent_memory", Memory(5, "2023-01-01T00:00:00Z", "2023-01-01T00:00:00Z", "v0"));
    EXPECT_TRUE(h.writes->Update("agent_memory", {{"id", kMem1}}, patch, kT0).ok());
    ConcurrentServerChange("agent_memory", server_row);
    std::string seen = h.Row("agent_memory", kMem1)["content"].get<std::string>();
    Settle(kT0 + 100);
    // After the server's answer the app sees the server's final row.
    EXPECT_EQ(h.Row("agent_memory", kMem1)["content"], server.rows["agent_memory"][kMem1]["content"]);
    EXPECT_EQ(h.Count("SELECT count(*) FROM agent_memory__overlay"), 0);
    return seen;
  }
};

TEST_F(ImportanceTest, HigherImportanceWins) {
  EXPECT_EQ(Race({{"content", "mine"}, {"importance", 8}},
                 Memory(6, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "theirs")),
            "mine");
  EXPECT_EQ(server.rows["agent_memory"][kMem1]["content"], "mine");
}

TEST_F(ImportanceTest, LowerImportanceLosesDespiteNewerTimestamps) {
  EXPECT_EQ(Race({{"content", "mine"}, {"importance", 2}, {"last_accessed_at", "2030-01-01T00:00:00Z"}},
                 Memory(6, "2023-01-01T00:00:00Z", "2023-01-01T00:00:00Z", "theirs")),
            "theirs");
  EXPECT_EQ(server.rows["agent_memory"][kMem1]["content"], "theirs");
}

TEST_F(ImportanceTest, EqualImportanceThenLastAccessed) {
  EXPECT_EQ(Race({{"content", "mine"}, {"last_accessed_at", "2024-06-01T00:00:00Z"}},
                 Memory(5, "2024-05-01T00:00:00Z", "2025-01-01T00:00:00Z", "theirs")),
            "mine");
}

TEST_F(ImportanceTest, EqualImportanceAndAccessThenUpdatedAt) {
  EXPECT_EQ(Race({{"content", "mine"}, {"updated_at", "2024-01-01T00:00:00Z"}},
                 Memory(5, "2023-01-01T00:00:00Z", "2024-02-01T00:00:00Z", "theirs")),
            "theirs");
}

TEST_F(ImportanceTest, FullTieGoesToTheServerWithoutAKnownWriter) {
  // Same importance and access time, and the server row's updated_at equals
  // the local stamp (kT0): the tuples tie (R5).
  EXPECT_EQ(Race({{"content", "mine"}},
                 Memory(5, "2023-01-01T00:00:00Z", "2023-11-14T22:13:20.000Z", "theirs")),
            "theirs");
  EXPECT_EQ(server.rows["agent_memory"][kMem1]["content"], "theirs");
}

TEST_F(ConflictConcurrentTest, CustomResolverDecidesThroughAResolveEvent) {
  std::string policies = PoliciesJson();
  json p = json::parse(policies);
  p["tasks"] = {{"policy", "custom"}, {"writable", true}};
  ASSERT_TRUE(h.Open(":memory:", "", {}, p.dump()).ok());
  h.writes->SetResolver("tasks", true);
  Seed("tasks", Task("v0", "2023-01-01T00:00:00Z"));
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "mine"}, {"priority", 3}},
                               kT0)
                  .ok());
  json theirs = Task("theirs", "2024-01-01T00:00:00Z");
  theirs["status"] = "in_progress";
  server.ServerWrite("tasks", theirs);
  ASSERT_TRUE(DeliverChanges(&h, &server, &cursor, kT0 + 50).ok());
  json resolve;
  for (const json& e : h.Events()) {
    if (e["type"] == "resolve") resolve = e;
  }
  ASSERT_FALSE(resolve.is_null());
  EXPECT_EQ(resolve["table"], "tasks");
  EXPECT_EQ(resolve["local"]["title"], "mine");
  EXPECT_EQ(resolve["remote"]["title"], "theirs");
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "mine");  // local shows until resolved
  // The app's resolver merges: our title, their status, max priority.
  json merged = resolve["remote"];
  merged["title"] = "mine + theirs";
  merged["priority"] = 3;
  ASSERT_TRUE(h.writes->ResolveConflict(resolve["id"].get<std::string>(), merged, kT0 + 60).ok());
  EXPECT_EQ(h.writes->ResolveConflict(resolve["id"].get<std::string>(), merged, kT0 + 61).code(),
            Code::kNotFound);
  json row = h.Row("tasks", kTask1);
  EXPECT_EQ(row["title"], "mine + theirs");
  EXPECT_EQ(row["status"], "in_progress");
  EXPECT_EQ(row["priority"], 3);
  auto pending = *h.writes->PendingMutations();
  ASSERT_EQ(pending.size(), 1u);  // the unsent edit was superseded
  EXPECT_EQ(pending[0]["base"]["title"], "theirs");
  Settle(kT0 + 100);
  EXPECT_EQ(server.rows["tasks"][kTask1]["title"], "mine + theirs");
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "mine + theirs");
  ExpectSettled();
  json metrics = *h.writes->Metrics();
  EXPECT_EQ(metrics["conflicts"][0]["outcome"], "resolved");
}

TEST_F(ImportanceTest, ALocalDeleteUnderAConcurrentChangeShowsTheServerRowAtOnce) {
  Seed("agent_memory", Memory(5, "2023-01-01T00:00:00Z", "2023-01-01T00:00:00Z", "v0"));
  ASSERT_TRUE(h.writes->Delete("agent_memory", {{"id", kMem1}}, kT0).ok());
  EXPECT_TRUE(h.Row("agent_memory", kMem1).is_null());
  // Less important than the local view was, and older: the endpoint rejects
  // a conflicting delete all the same, so the engine shows its row at once
  // rather than letting it vanish and come back with the answer.
  ConcurrentServerChange("agent_memory",
                         Memory(1, "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "theirs"));
  EXPECT_EQ(h.Row("agent_memory", kMem1)["content"], "theirs");
  std::vector<json> conflicts;
  for (const json& e : h.Events()) {
    if (e["type"] == "conflict") conflicts.push_back(e);
  }
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0]["outcome"], "remote");
  Settle(kT0 + 100);
  EXPECT_EQ(h.Row("agent_memory", kMem1)["content"], "theirs");
  EXPECT_EQ(server.rows["agent_memory"][kMem1]["content"], "theirs");
  EXPECT_EQ(h.Count("SELECT count(*) FROM agent_memory__overlay"), 0);
}

TEST_F(ConflictConcurrentTest, CustomWriteRejectedBeforeTheChangeStreamsAsksTheResolver) {
  json p = json::parse(PoliciesJson());
  p["tasks"] = {{"policy", "custom"}, {"writable", true}};
  ASSERT_TRUE(h.Open(":memory:", "", {}, p.dump()).ok());
  h.writes->SetResolver("tasks", true);
  Seed("tasks", Task("v0", "2023-01-01T00:00:00Z"));
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "mine"}, {"priority", 3}},
                               kT0)
                  .ok());
  json theirs = Task("theirs", "2024-01-01T00:00:00Z");
  theirs["status"] = "in_progress";
  server.ServerWrite("tasks", theirs);  // committed, not streamed to us yet
  // Our upload reaches the endpoint first: rejected with the server's row.
  h.uploader->NoteWrites();
  std::optional<Request> r = h.Poll(kT0 + 100);
  ASSERT_TRUE(r.has_value());
  auto [code, body] = server.Handle(*r, *h.uploader->Body(r->id));
  ASSERT_TRUE(h.uploader->HandleResponse(kT0 + 100, r->id, code, {}, body).ok());
  json resolve;
  int resolves = 0;
  for (const json& e : h.Events()) {
    if (e["type"] == "resolve") {
      resolve = e;
      ++resolves;
    }
    EXPECT_NE(e["type"], "conflict") << e.dump();  // no `rejected`: the resolver decides
  }
  ASSERT_EQ(resolves, 1);
  EXPECT_EQ(resolve["local"]["title"], "mine");
  EXPECT_EQ(resolve["remote"]["title"], "theirs");
  EXPECT_EQ(resolve["remote"]["status"], "in_progress");
  json merged = resolve["remote"];
  merged["title"] = "mine + theirs";
  merged["priority"] = 3;
  ASSERT_TRUE(h.writes->ResolveConflict(resolve["id"].get<std::string>(), merged, kT0 + 110).ok());
  int resolved = 0;
  for (const json& e : h.Events()) resolved += e["type"] == "conflict" && e["outcome"] == "resolved";
  EXPECT_EQ(resolved, 1);
  // The merge shows at once, though the synced row is still v0.
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "mine + theirs");
  EXPECT_EQ(h.Row("tasks", kTask1)["status"], "in_progress");
  auto pending = *h.writes->PendingMutations();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0]["base"]["title"], "theirs");  // based on the replied row
  // Their change streams in under the merge it is the base of: no conflict,
  // no second question.
  ASSERT_TRUE(DeliverChanges(&h, &server, &cursor, kT0 + 120).ok());
  for (const json& e : h.Events()) {
    EXPECT_NE(e["type"], "resolve") << e.dump();
    EXPECT_NE(e["type"], "conflict") << e.dump();
  }
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "mine + theirs");
  Settle(kT0 + 20000);  // after the upload interval
  EXPECT_EQ(server.rows["tasks"][kTask1]["title"], "mine + theirs");
  EXPECT_EQ(server.rows["tasks"][kTask1]["status"], "in_progress");
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "mine + theirs");
  ExpectSettled();
}

TEST_F(ConflictConcurrentTest, CustomWithoutAResolverIsRejectedLikeServerWins) {
  json p = json::parse(PoliciesJson());
  p["tasks"] = {{"policy", "custom"}, {"writable", true}};
  ASSERT_TRUE(h.Open(":memory:", "", {}, p.dump()).ok());
  Seed("tasks", Task("v0", "2023-01-01T00:00:00Z"));
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "mine"}}, kT0).ok());
  server.ServerWrite("tasks", Task("theirs", "2024-01-01T00:00:00Z"));
  Settle(kT0 + 100);
  bool rejected = false;
  for (const json& e : h.Events()) {
    EXPECT_NE(e["type"], "resolve");
    if (e["type"] == "conflict" && e["outcome"] == "rejected") rejected = true;
  }
  EXPECT_TRUE(rejected);
  EXPECT_EQ(h.Row("tasks", kTask1)["title"], "theirs");
  ExpectSettled();
}

TEST_F(ConflictConcurrentTest, ServerDeleteUnderALocalUpdate) {
  Seed("tasks", Task("v0", "2023-01-01T00:00:00Z"));
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", kTask1}}, {{"title", "mine"}}, kT0).ok());
  server.rows["tasks"].erase(kTask1);
  server.changes.push_back({"tasks", "delete", {{"id", kTask1}}, server.next_txid++});
  ASSERT_TRUE(DeliverChanges(&h, &server, &cursor, kT0 + 10).ok());
  EXPECT_TRUE(h.Row("tasks", kTask1).is_null());
  Settle(kT0 + 100);  // the endpoint rejects the update of a deleted row
  EXPECT_TRUE(h.Row("tasks", kTask1).is_null());
  ExpectSettled();
}

}  // namespace
}  // namespace testing_write
}  // namespace electrolite
