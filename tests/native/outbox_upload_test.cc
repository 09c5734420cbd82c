// Upload: offline queueing, ordering, batching and pacing, compression,
// idempotent retries, auth stops, failed mutations, txid-matched overlay
// removal without flicker, rejection rollback. Simulated time, fake endpoint.
#include "write_test_util.h"
#include "snapshot_visibility.h"

namespace electrolite {
namespace testing_write {
namespace {

constexpr int64_t kT0 = 1700000000000;

json Body(const Request& r, const std::string& raw) {
  std::string text = raw;
  for (const auto& [k, v] : r.headers) {
    if (k == "content-encoding" && v == "zstd") {
      text.assign(ZSTD_getFrameContentSize(raw.data(), raw.size()), '\0');
      ZSTD_decompress(text.data(), text.size(), raw.data(), raw.size());
    }
  }
  return json::parse(text);
}

std::string HeaderOf(const Request& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

std::string TaskId(int i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", i);
  return buf;
}

class OutboxUploadTest : public ::testing::Test {
 protected:
  void Open(UploadOptions o = {}) { ASSERT_TRUE(h.Open(":memory:", "", o).ok()); }
  void SetUp() override { Open(); }

  std::string InsertTask(int i, int64_t now, const std::string& title = "t") {
    Result<std::string> id = h.writes->Insert(
        "tasks", {{"id", TaskId(i)}, {"user_id", "u1"}, {"title", title}}, now);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    h.uploader->NoteWrites();
    return id.ok() ? id.value() : "";
  }

  // A row that exists on the server and in the synced mirror.
  void SeedTask(int i, const std::string& title) {
    json row = {{"id", TaskId(i)},         {"user_id", "u1"},     {"title", title},
                {"status", "pending"},     {"priority", 0},       {"description", nullptr},
                {"environment_id", nullptr}, {"created_at", "2023-01-01T00:00:00Z"},
                {"updated_at", "2023-01-01T00:00:00Z"}};
    server.rows["tasks"][TaskId(i)] = row;
    ASSERT_TRUE(h.ApplyServerRows("tasks", {row}, {}, kT0).ok());
  }

  // Sends the due request to the fake server and hands back its answer.
  std::optional<Request> RoundTrip(int64_t now, int* status = nullptr) {
    std::optional<Request> r = h.Poll(now);
    if (!r) return r;
    auto [code, body] = server.Handle(*r, *h.uploader->Body(r->id));
    if (status) *status = code;
    Status s = h.uploader->HandleResponse(now, r->id, code, {}, body);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r;
  }

  WriteHarness h;
  FakeWriteServer server{&h};
  size_t stream_cursor = 0;
};

TEST_F(OutboxUploadTest, OfflineWritesQueueAndUploadInOrderWhenOnline) {
  h.uploader->SetOnline(false, kT0);
  std::vector<std::string> ids;
  for (int i = 1; i <= 3; ++i) ids.push_back(InsertTask(i, kT0 + i));
  EXPECT_FALSE(h.Poll(kT0 + 10).has_value());
  EXPECT_EQ(h.uploader->NextDeadline(), -1);
  EXPECT_EQ(*h.writes->PendingCount(), 3);
  h.uploader->SetOnline(true, kT0 + 20);
  EXPECT_LE(h.uploader->NextDeadline(), kT0 + 20);
  std::optional<Request> r = h.Poll(kT0 + 20);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->url, "http://127.0.0.1:5133/v1/changes");
  EXPECT_EQ(r->kind, "upload");
  EXPECT_EQ(HeaderOf(*r, "content-type"), "application/json");
  EXPECT_EQ(HeaderOf(*r, "content-encoding"), "");
  json body = Body(*r, *h.uploader->Body(r->id));
  EXPECT_EQ(body["client_id"], "client-1");
  ASSERT_EQ(body["mutations"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const json& m = body["mutations"][i];
    EXPECT_EQ(m["id"], ids[i]);
    EXPECT_EQ(m["table"], "tasks");
    EXPECT_EQ(m["op"], "insert");
    EXPECT_EQ(m["key"], json({{"id", TaskId(i + 1)}}));
    EXPECT_EQ(m["value"]["title"], "t");
    EXPECT_EQ(m["base"], json::object());
  }
  // Never two batches in flight.
  InsertTask(9, kT0 + 21);
  EXPECT_FALSE(h.Poll(kT0 + 100000).has_value());
  EXPECT_EQ(h.Rows("SELECT count(*) AS n FROM _el_outbox WHERE status = 'in_flight'")[0]["n"], 3);
}

TEST_F(OutboxUploadTest, BatchesAreLimitedAndPaced) {
  for (int i = 1; i <= 250; ++i) InsertTask(i, kT0);
  int status = 0;
  std::optional<Request> r = RoundTrip(kT0, &status);
  ASSERT_TRUE(r && status == 200);
  // A backlog goes out batch after batch; the tail waits for the interval.
  ASSERT_TRUE(RoundTrip(kT0 + 10).has_value());
  EXPECT_FALSE(h.Poll(kT0 + 20).has_value());
  EXPECT_EQ(h.uploader->NextDeadline(), kT0 + 10 + 5000);
  EXPECT_FALSE(h.Poll(kT0 + 5009).has_value());
  ASSERT_TRUE(RoundTrip(kT0 + 5010).has_value());
  EXPECT_EQ(server.batch_sizes, (std::vector<size_t>{100, 100, 50}));
  // Outbox order is kept across batches.
  std::vector<std::string> expected;
  for (const json& row : h.Rows("SELECT id FROM _el_outbox ORDER BY seq")) {
    expected.push_back(row["id"].get<std::string>());
  }
  EXPECT_EQ(server.seen_ids, expected);
  // Writes trickling in: the first after idle goes at once, later ones wait.
  InsertTask(300, kT0 + 60000);
  ASSERT_TRUE(RoundTrip(kT0 + 60000).has_value());
  InsertTask(301, kT0 + 61000);
  InsertTask(302, kT0 + 62000);
  EXPECT_FALSE(h.Poll(kT0 + 62000).has_value());
  ASSERT_TRUE(RoundTrip(kT0 + 65000).has_value());
  EXPECT_EQ(server.batch_sizes.back(), 2u);
}

// Regression: a write made while a batch was in flight waited out the whole
// upload interval, and db.syncNow() could not push it.
TEST_F(OutboxUploadTest, SyncNowSendsAWriteMadeDuringAnUploadWithoutWaiting) {
  InsertTask(1, kT0);
  std::optional<Request> first = h.Poll(kT0);
  ASSERT_TRUE(first);
  InsertTask(2, kT0 + 5);  // while the first batch is in flight
  h.uploader->SyncNow();   // does not duplicate the in-flight batch
  EXPECT_FALSE(h.Poll(kT0 + 6).has_value());
  auto [code, body] = server.Handle(*first, *h.uploader->Body(first->id));
  ASSERT_TRUE(h.uploader->HandleResponse(kT0 + 10, first->id, code, {}, body).ok());
  // The sync asked for during the flight goes out as soon as the flight lands.
  ASSERT_TRUE(RoundTrip(kT0 + 11).has_value());
  EXPECT_EQ(server.batch_sizes, (std::vector<size_t>{1, 1}));
  // It also cuts a backoff wait short, resending the same mutation id.
  InsertTask(3, kT0 + 6000);
  std::optional<Request> r = h.Poll(kT0 + 6000);
  ASSERT_TRUE(r);
  const json sent = Body(*r, *h.uploader->Body(r->id));
  ASSERT_TRUE(h.uploader->HandleResponse(kT0 + 6001, r->id, 503, {}, "{}").ok());
  EXPECT_FALSE(h.Poll(kT0 + 6002).has_value());  // backing off
  h.uploader->SyncNow();
  std::optional<Request> again = h.Poll(kT0 + 6003);
  ASSERT_TRUE(again);
  EXPECT_EQ(Body(*again, *h.uploader->Body(again->id))["mutations"], sent["mutations"]);
}

TEST_F(OutboxUploadTest, ConfigurableBatchSizeAndInterval) {
  UploadOptions o;
  o.batch_size = 2;
  o.interval_ms = 100;
  Open(o);
  for (int i = 1; i <= 5; ++i) InsertTask(i, kT0);
  ASSERT_TRUE(RoundTrip(kT0).has_value());
  ASSERT_TRUE(RoundTrip(kT0 + 1).has_value());
  EXPECT_FALSE(h.Poll(kT0 + 2).has_value());
  ASSERT_TRUE(RoundTrip(kT0 + 101).has_value());
  EXPECT_EQ(server.batch_sizes, (std::vector<size_t>{2, 2, 1}));
}

TEST_F(OutboxUploadTest, LargeBodiesAreZstdCompressed) {
  UploadOptions o;
  o.compress_threshold = 1024;
  Open(o);
  InsertTask(1, kT0, "small");
  std::optional<Request> small = h.Poll(kT0);
  ASSERT_TRUE(small);
  EXPECT_EQ(HeaderOf(*small, "content-encoding"), "");
  auto [code, answer] = server.Handle(*small, *h.uploader->Body(small->id));
  ASSERT_TRUE(h.uploader->HandleResponse(kT0, small->id, code, {}, answer).ok());
  for (int i = 2; i <= 40; ++i) InsertTask(i, kT0 + 10000, std::string(200, 'x'));
  std::optional<Request> big = h.Poll(kT0 + 10000);
  ASSERT_TRUE(big);
  EXPECT_EQ(HeaderOf(*big, "content-encoding"), "zstd");
  const std::string& raw = *h.uploader->Body(big->id);
  json body = Body(*big, raw);
  EXPECT_EQ(body["mutations"].size(), 39u);
  EXPECT_LT(raw.size() * 4, Dump(body).size());  // repetitive titles compress well
  bool compressed = false;
  auto [status, reply] = server.Handle(*big, raw, &compressed);
  EXPECT_TRUE(compressed);
  EXPECT_EQ(status, 200);
  json m = h.uploader->Metrics();
  EXPECT_GT(m["bytes"].get<int64_t>(), m["compressedBytes"].get<int64_t>());
}

TEST_F(OutboxUploadTest, LostResponseIsRetriedWithTheSameIdsAndAppliedOnce) {
  std::vector<std::string> ids = {InsertTask(1, kT0), InsertTask(2, kT0)};
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  server.Handle(*r, *h.uploader->Body(r->id));  // applied, but the answer is lost
  h.uploader->HandleNetworkError(kT0 + 30000, r->id, "connection reset");
  EXPECT_EQ(*h.writes->PendingCount(), 2);
  const int64_t retry_at = h.uploader->NextDeadline();
  EXPECT_GE(retry_at, kT0 + 30000);
  EXPECT_LE(retry_at, kT0 + 30000 + 1000);  // first backoff step, full jitter
  int status = 0;
  ASSERT_TRUE(RoundTrip(std::max(retry_at, kT0 + 30000 + 5000), &status).has_value());
  EXPECT_EQ(status, 200);
  EXPECT_EQ(server.seen_ids, (std::vector<std::string>{ids[0], ids[1], ids[0], ids[1]}));
  EXPECT_EQ(server.applied_count[ids[0]], 1);
  EXPECT_EQ(server.applied_count[ids[1]], 1);
  EXPECT_EQ(*h.writes->PendingCount(), 0);  // acked (duplicate), waiting for the txid
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox WHERE status = 'acked'"), 2);
  // The stream delivers the original transaction: overlay and outbox clear.
  ASSERT_TRUE(DeliverChanges(&h, &server, &stream_cursor, kT0 + 40000).ok());
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__overlay"), 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks"), 2);
}

TEST_F(OutboxUploadTest, ServerErrorsBackOffWithRetryAfterAsFloor) {
  InsertTask(1, kT0);
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  const json first = Body(*r, *h.uploader->Body(r->id));
  ASSERT_TRUE(h.uploader->HandleResponse(kT0, r->id, 503, {{"retry-after", "7"}}, "{}").ok());
  EXPECT_GE(h.uploader->NextDeadline(), kT0 + 7000);
  EXPECT_FALSE(h.Poll(kT0 + 6999).has_value());
  std::optional<Request> again = h.Poll(kT0 + 40000);
  ASSERT_TRUE(again);
  EXPECT_EQ(Body(*again, *h.uploader->Body(again->id))["mutations"], first["mutations"]);
  EXPECT_EQ(h.uploader->Metrics()["retries"], 1);
}

// Uploads and shapes follow one retry rule (retry.h): a 408 is a client error
// like any other 4xx, never retried (it used to be, while a shape stopped on it).
TEST_F(OutboxUploadTest, A408IsNotRetriedLikeAnyOtherClientError) {
  InsertTask(1, kT0);
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  ASSERT_TRUE(h.uploader->HandleResponse(kT0, r->id, 408, {}, R"({"error":"request timeout"})").ok());
  json pending = *h.writes->PendingMutations();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0]["status"], "failed");
  EXPECT_EQ(pending[0]["reason"], "HTTP 408: request timeout");
  EXPECT_FALSE(h.Poll(kT0 + 600000).has_value());
  EXPECT_EQ(h.uploader->Metrics()["retries"], 0);
}

// Retry-After as an HTTP-date is a floor for uploads as it is for shapes.
TEST_F(OutboxUploadTest, RetryAfterAsAnHttpDateIsAFloor) {
  InsertTask(1, kT0);
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  // kT0 + 20 s (kT0 is 2023-11-14T22:13:20Z) as an IMF-fixdate.
  ASSERT_TRUE(h.uploader->HandleResponse(kT0, r->id, 503,
                                         {{"retry-after", "Tue, 14 Nov 2023 22:13:40 GMT"}}, "{}")
                  .ok());
  EXPECT_GE(h.uploader->NextDeadline(), kT0 + 20000);
  EXPECT_FALSE(h.Poll(kT0 + 19999).has_value());
  EXPECT_TRUE(h.Poll(kT0 + 60000).has_value());
}

TEST_F(OutboxUploadTest, AnUnansweredUploadTimesOutAndIsRetried) {
  InsertTask(1, kT0);
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->timeout_ms, 30000);
  EXPECT_EQ(h.uploader->NextDeadline(), kT0 + 30000);
  h.uploader->HandleTimeout(kT0 + 29999);
  EXPECT_TRUE(h.uploader->in_flight());
  h.uploader->HandleTimeout(kT0 + 30000);
  EXPECT_FALSE(h.uploader->in_flight());
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox WHERE status = 'pending'"), 1);
  // A late answer to the abandoned request is not ours any more.
  EXPECT_FALSE(h.uploader->Owns(r->id));
  EXPECT_TRUE(RoundTrip(kT0 + 120000).has_value());
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox WHERE status = 'acked'"), 1);
}

TEST_F(OutboxUploadTest, AuthErrorStopsUploadsUntilANewToken) {
  h.uploader->SetToken("old");
  InsertTask(1, kT0);
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  EXPECT_EQ(HeaderOf(*r, "authorization"), "Bearer old");
  Status s = h.uploader->HandleResponse(kT0, r->id, 401, {}, R"({"message":"jwt expired"})");
  EXPECT_EQ(s.code(), Code::kAuth);
  EXPECT_TRUE(h.uploader->auth_blocked());
  EXPECT_NE(h.uploader->last_error().find("jwt expired"), std::string::npos);
  bool auth_event = false;
  for (const json& e : h.Events()) auth_event |= e["type"] == "error" && e["code"] == "auth";
  EXPECT_TRUE(auth_event);
  EXPECT_FALSE(h.Poll(kT0 + 600000).has_value());
  EXPECT_EQ(*h.writes->PendingCount(), 1);  // kept, nothing dropped
  h.uploader->SetToken("new");
  std::optional<Request> again = h.Poll(kT0 + 600001);
  ASSERT_TRUE(again);
  EXPECT_EQ(HeaderOf(*again, "authorization"), "Bearer new");
}

TEST_F(OutboxUploadTest, ARefusedSingleMutationIsRolledBackAndReported) {
  SeedTask(1, "before");
  Result<std::string> id = h.writes->Update("tasks", {{"id", TaskId(1)}}, {{"title", "after"}}, kT0);
  ASSERT_TRUE(id.ok());
  h.uploader->NoteWrites();
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  ASSERT_TRUE(h.uploader->HandleResponse(kT0, r->id, 422, {}, R"({"error":"bad value"})").ok());
  EXPECT_EQ(*h.writes->PendingCount(), 0);
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "before");  // rolled back
  bool reported = false;
  for (const json& e : h.Events()) {
    reported |= e["type"] == "conflict" && e["outcome"] == "rejected" &&
                e["reason"] == "HTTP 422: bad value" && e["mutationId"] == *id;
  }
  EXPECT_TRUE(reported);
  EXPECT_FALSE(h.uploader->auth_blocked());
}

TEST_F(OutboxUploadTest, AnOtherwiseUnknown4xxMarksMutationsFailedUntilDiscarded) {
  SeedTask(1, "before");
  Result<std::string> id = h.writes->Update("tasks", {{"id", TaskId(1)}}, {{"title", "after"}}, kT0);
  ASSERT_TRUE(id.ok());
  h.uploader->NoteWrites();
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  ASSERT_TRUE(h.uploader->HandleResponse(kT0, r->id, 404, {}, R"({"error":"no such endpoint"})").ok());
  json pending = *h.writes->PendingMutations();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0]["status"], "failed");
  EXPECT_EQ(pending[0]["reason"], "HTTP 404: no such endpoint");
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "after");  // still shown, never silently dropped
  EXPECT_FALSE(h.Poll(kT0 + 600000).has_value());           // and not retried
  ASSERT_TRUE(h.writes->DiscardMutation(*id).ok());
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "before");
  EXPECT_EQ(*h.writes->PendingCount(), 0);
}

// The write endpoint's answer to a batch with another user's row: a 403 for
// the request naming mutations[i]. Only that one is rolled back; the others
// are resent at once and applied; uploads are not stopped.
TEST_F(OutboxUploadTest, A403NamingOneMutationRejectsItAndResendsTheRest) {
  const std::string x = InsertTask(1, kT0);
  const std::string y = InsertTask(2, kT0);
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  ASSERT_EQ(Body(*r, *h.uploader->Body(r->id))["mutations"].size(), 2u);
  ASSERT_TRUE(h.uploader
                  ->HandleResponse(kT0, r->id, 403, {},
                                   R"({"message":"Forbidden","errors":["mutations[0]: user_id must be the caller's id"]})")
                  .ok());
  EXPECT_FALSE(h.uploader->auth_blocked());
  EXPECT_TRUE(h.Row("tasks", TaskId(1)).is_null());  // X rolled back
  EXPECT_EQ(h.Row("tasks", TaskId(2))["title"], "t");
  bool reported = false;
  for (const json& e : h.Events()) {
    if (e["type"] == "conflict" && e["outcome"] == "rejected") {
      EXPECT_EQ(e["mutationId"], x);
      EXPECT_EQ(e["reason"], "HTTP 403: mutation: user_id must be the caller's id");
      reported = true;
    }
  }
  EXPECT_TRUE(reported);
  // Y goes again at once, alone, and is applied.
  int status = 0;
  std::optional<Request> again = RoundTrip(kT0 + 1, &status);
  ASSERT_TRUE(again);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox WHERE status = 'acked'"), 1);
  EXPECT_EQ(*h.writes->PendingCount(), 0);  // Y acked (waiting for its txid), X gone
  EXPECT_EQ(server.batch_sizes.back(), 1u);
  (void)y;
}

// A refusal that names no mutation: the batch is resent one at a time, so
// the next refusal is about one mutation, which alone is rejected.
TEST_F(OutboxUploadTest, AnUnnamedRefusalIsolatesTheRefusedMutation) {
  const std::string a = InsertTask(1, kT0);
  const std::string b = InsertTask(2, kT0);
  const std::string c = InsertTask(3, kT0);
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  ASSERT_TRUE(h.uploader->HandleResponse(kT0, r->id, 400, {}, R"({"message":"Invalid request"})").ok());
  EXPECT_EQ(*h.writes->PendingCount(), 3);
  // a: fine, alone.
  int status = 0;
  ASSERT_TRUE(RoundTrip(kT0 + 1, &status));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(server.batch_sizes.back(), 1u);
  // b: refused, alone -> rejected.
  std::optional<Request> rb = h.Poll(kT0 + 2);
  ASSERT_TRUE(rb);
  EXPECT_EQ(Body(*rb, *h.uploader->Body(rb->id))["mutations"][0]["id"], b);
  ASSERT_TRUE(h.uploader->HandleResponse(kT0 + 2, rb->id, 400, {}, R"({"message":"Invalid request"})").ok());
  EXPECT_TRUE(h.Row("tasks", TaskId(2)).is_null());
  // c: goes at once, applied.
  ASSERT_TRUE(RoundTrip(kT0 + 3, &status));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox WHERE status = 'acked'"), 2);
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox WHERE status <> 'acked'"), 0);
  (void)a;
  (void)c;
}

// A 403 that names nothing may come from a proxy refusing everything: a
// single mutation is then kept (failed, until discarded), never rolled back,
// and the others still go.
TEST_F(OutboxUploadTest, AnUnnamed403KeepsTheMutationFailedAndTheOthersGo) {
  const std::string a = InsertTask(1, kT0);
  const std::string b = InsertTask(2, kT0);
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  ASSERT_TRUE(h.uploader->HandleResponse(kT0, r->id, 403, {}, R"({"message":"Forbidden"})").ok());
  std::optional<Request> ra = h.Poll(kT0 + 1);
  ASSERT_TRUE(ra);
  EXPECT_EQ(Body(*ra, *h.uploader->Body(ra->id))["mutations"].size(), 1u);
  ASSERT_TRUE(h.uploader->HandleResponse(kT0 + 1, ra->id, 403, {}, R"({"message":"Forbidden"})").ok());
  EXPECT_FALSE(h.uploader->auth_blocked());
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "t");  // kept
  json pending = *h.writes->PendingMutations();
  ASSERT_FALSE(pending.empty());
  EXPECT_EQ(pending[0]["id"], a);
  EXPECT_EQ(pending[0]["status"], "failed");
  EXPECT_EQ(pending[0]["reason"], "HTTP 403: Forbidden");
  int status = 0;
  ASSERT_TRUE(RoundTrip(kT0 + 2, &status));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox WHERE status = 'acked'"), 1);
  (void)b;
}

TEST_F(OutboxUploadTest, SyncNowLiftsAnAuthStop) {
  h.uploader->SetToken("t");
  InsertTask(1, kT0);
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  ASSERT_EQ(h.uploader->HandleResponse(kT0, r->id, 401, {}, R"({"message":"jwt expired"})").code(), Code::kAuth);
  EXPECT_FALSE(h.Poll(kT0 + 600000).has_value());
  h.uploader->SyncNow();
  EXPECT_TRUE(h.Poll(kT0 + 600001).has_value());
}

TEST_F(OutboxUploadTest, OverlayStaysUntilTheTxidArrivesThenDropsWithoutFlicker) {
  SeedTask(1, "old title");
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", TaskId(1)}}, {{"title", "new title"}}, kT0).ok());
  h.uploader->NoteWrites();
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "new title");
  ASSERT_TRUE(RoundTrip(kT0).has_value());
  // Applied: still from the overlay, the mirror has the old value.
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "new title");
  EXPECT_EQ(h.Rows("SELECT title FROM tasks__synced")[0]["title"], "old title");
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__overlay"), 1);
  // Another transaction first (someone else's row): the overlay stays.
  server.ServerWrite("tasks", {{"id", TaskId(2)}, {"user_id", "u2"}, {"title", "other"},
                               {"status", "pending"}, {"priority", 0},
                               {"created_at", "2023-01-01T00:00:00Z"},
                               {"updated_at", "2023-01-01T00:00:00Z"}});
  // The echo of our write: the row switches from overlay to mirror in one txn.
  ASSERT_TRUE(DeliverChanges(&h, &server, &stream_cursor, kT0 + 100).ok());
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "new title");
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__overlay"), 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
}

TEST_F(OutboxUploadTest, AChangeThatCommittedBeforeOurAckedWriteDoesNotHideIt) {
  SeedTask(1, "old");
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", TaskId(1)}}, {{"title", "ours"}}, kT0).ok());
  h.uploader->NoteWrites();
  // Someone else's change commits first, then ours; the stream is behind.
  json theirs = server.rows["tasks"][TaskId(1)];
  theirs["title"] = "theirs";
  theirs["priority"] = 4;
  server.ServerWrite("tasks", theirs);
  server.rows["tasks"][TaskId(1)]["updated_at"] = "2023-01-01T00:00:00Z";  // ours is later: applied
  ASSERT_TRUE(RoundTrip(kT0 + 1).has_value());
  ASSERT_EQ(h.Count("SELECT count(*) FROM _el_outbox WHERE status = 'acked'"), 1);
  size_t first = stream_cursor + 1;  // deliver only their transaction
  std::vector<FakeWriteServer::Change> all = server.changes;
  server.changes.resize(first);
  ASSERT_TRUE(DeliverChanges(&h, &server, &stream_cursor, kT0 + 2).ok());
  json row = h.Row("tasks", TaskId(1));
  EXPECT_EQ(row["title"], "ours");  // never flips back to theirs
  EXPECT_EQ(row["priority"], 4);    // their other column shows
  server.changes = all;
  ASSERT_TRUE(DeliverChanges(&h, &server, &stream_cursor, kT0 + 3).ok());
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "ours");
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
  json metrics = *h.writes->Metrics();
  EXPECT_TRUE(metrics["conflicts"].empty()) << metrics.dump();
}

TEST_F(OutboxUploadTest, EchoBeforeTheAckIsMatchedWhenTheAckArrives) {
  SeedTask(1, "old");
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", TaskId(1)}}, {{"title", "new"}}, kT0).ok());
  h.uploader->NoteWrites();
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  auto [code, answer] = server.Handle(*r, *h.uploader->Body(r->id));
  // The stream is faster than the HTTP answer.
  ASSERT_TRUE(DeliverChanges(&h, &server, &stream_cursor, kT0 + 5).ok());
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "new");
  EXPECT_TRUE(h.Events().empty());  // converged: no conflict
  ASSERT_TRUE(h.uploader->HandleResponse(kT0 + 10, r->id, code, {}, answer).ok());
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__overlay"), 0);
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "new");
}

TEST_F(OutboxUploadTest, WriteVisibleInASnapshotIsMatchedBySnapshotEnd) {
  InsertTask(1, kT0);
  ASSERT_TRUE(RoundTrip(kT0).has_value());  // txid 700
  // A refetched snapshot (xmin > 700) contains the row, already changed again
  // by someone else after our write, so values alone do not match it.
  json row = server.rows["tasks"][TaskId(1)];
  row["title"] = "changed later";
  ASSERT_TRUE(h.ApplyServerRows("tasks", {row}, {}, kT0 + 1).ok());
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 1);
  // Epoch 1, snapshot taken before our write (2^32 + 600): 700 widens to
  // 2^32 + 700, later than the snapshot, so it is not visible.
  ASSERT_TRUE(h.writes->OnSnapshotEnd("tasks", "4294967896", "4294967896", {}).ok());
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 1);
  // In progress when the snapshot was taken: not visible either.
  ASSERT_TRUE(h.writes->OnSnapshotEnd("tasks", "699", "705", {"700"}).ok());
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 1);
  ASSERT_TRUE(h.writes->OnSnapshotEnd("tasks", "701", "705", {}).ok());
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__overlay"), 0);
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "changed later");
}

TEST_F(OutboxUploadTest, DuplicateOfARejectedMutationRollsBack) {
  json exec = {{"id", kTask1},        {"user_id", "u1"},     {"agent_type", "coder"},
               {"status", "running"}, {"started_at", "2023-01-01T00:00:00Z"},
               {"updated_at", "2023-01-01T00:00:00Z"}};
  server.rows["agent_executions"][kTask1] = exec;
  ASSERT_TRUE(h.ApplyServerRows("agent_executions", {exec}, {}, kT0).ok());
  ASSERT_TRUE(h.writes->Update("agent_executions", {{"id", kTask1}}, {{"status", "failed"}}, kT0)
                  .ok());
  h.uploader->NoteWrites();
  server.rows["agent_executions"][kTask1]["status"] = "completed";
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  server.Handle(*r, *h.uploader->Body(r->id));  // rejected; the answer is lost
  h.uploader->HandleNetworkError(kT0 + 1, r->id, "timeout");
  ASSERT_TRUE(RoundTrip(kT0 + 60000).has_value());  // duplicate, original: rejected
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
  EXPECT_EQ(h.Row("agent_executions", kTask1)["status"], "running");
}

TEST_F(OutboxUploadTest, DuplicateWithoutItsTxidIsMatchedByTheSyncedValues) {
  SeedTask(1, "old");
  ASSERT_TRUE(h.writes->Update("tasks", {{"id", TaskId(1)}}, {{"title", "new"}}, kT0).ok());
  h.uploader->NoteWrites();
  std::optional<Request> r = h.Poll(kT0);
  ASSERT_TRUE(r);
  server.Handle(*r, *h.uploader->Body(r->id));  // applied; the answer is lost
  h.uploader->HandleNetworkError(kT0 + 1, r->id, "timeout");
  ASSERT_TRUE(RoundTrip(kT0 + 60000).has_value());  // duplicate, with the retry's txid
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox WHERE status = 'acked'"), 1);
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "new");
  // The original transaction streams in: the row holds our values, so the
  // acknowledged overlay goes in the same transaction.
  ASSERT_TRUE(DeliverChanges(&h, &server, &stream_cursor, kT0 + 60001).ok());
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM tasks__overlay"), 0);
  EXPECT_EQ(h.Row("tasks", TaskId(1))["title"], "new");
}

TEST_F(OutboxUploadTest, ArraysAndJsonGoOutAsPostgresText) {
  WriteTable t;
  t.name = "x";
  WriteColumn arr;
  arr.name = "tags";
  arr.cls = TypeClass::kText;
  arr.dims = 1;
  EXPECT_EQ(ToWire(arr, json(R"(["a b","q\"x",null])")), R"({"a b","q\"x",NULL})");
  WriteColumn ints = arr;
  ints.cls = TypeClass::kInteger;
  ints.dims = 2;
  EXPECT_EQ(ToWire(ints, json("[[1,2],[3,4]]")), "{{1,2},{3,4}}");
  Result<json> bad = NormalizeValue(t, arr, json("not an array"));
  EXPECT_EQ(bad.status().code(), Code::kSchema);
  WriteColumn j;
  j.name = "config";
  j.cls = TypeClass::kJson;
  EXPECT_EQ(ToWire(j, json(R"({"a":[1,2]})")), json::parse(R"({"a":[1,2]})"));
}

TEST_F(OutboxUploadTest, SnapshotVisibilityWidensXids) {
  auto saw = [](int64_t xid32, uint64_t xmin, uint64_t xmax, std::vector<uint64_t> xip) {
    SnapshotVisibility v;
    v.xmin = xmin;
    v.xmax = xmax;
    v.xip = std::move(xip);
    return v.SawChange({xid32});
  };
  EXPECT_TRUE(saw(5, 10, 20, {}));
  EXPECT_TRUE(saw(12, 10, 20, {}));
  EXPECT_FALSE(saw(12, 10, 20, {12}));
  EXPECT_FALSE(saw(20, 10, 20, {}));
  // Epoch 1: xid8 = 2^32 + 100; the 32-bit xid 100 widens next to it.
  const uint64_t e1 = uint64_t{1} << 32;
  EXPECT_TRUE(saw(90, e1 + 95, e1 + 110, {}));
  EXPECT_FALSE(saw(100, e1 + 95, e1 + 110, {e1 + 100}));
  // Wraparound: xid 4294967290 just before the epoch boundary.
  EXPECT_TRUE(saw(4294967290LL, e1 + 3, e1 + 5, {}));
}

TEST_F(OutboxUploadTest, RejectionRollsBackAndRecordsTheConflict) {
  // agent_executions is server-wins: a concurrent server change rejects ours.
  json exec = {{"id", kTask1},          {"user_id", "u1"},       {"agent_type", "coder"},
               {"status", "running"},   {"started_at", "2023-01-01T00:00:00Z"},
               {"updated_at", "2023-01-01T00:00:00Z"}};
  server.rows["agent_executions"][kTask1] = exec;
  ASSERT_TRUE(h.ApplyServerRows("agent_executions", {exec}, {}, kT0).ok());
  ASSERT_TRUE(h.writes->Update("agent_executions", {{"id", kTask1}}, {{"status", "cancelled"}}, kT0)
                  .ok());
  h.uploader->NoteWrites();
  json theirs = exec;
  theirs["status"] = "completed";
  server.rows["agent_executions"][kTask1] = theirs;  // not streamed yet
  ASSERT_TRUE(RoundTrip(kT0 + 1).has_value());
  EXPECT_EQ(h.Row("agent_executions", kTask1)["status"], "running");  // back to the mirror
  EXPECT_EQ(h.Count("SELECT count(*) FROM agent_executions__overlay"), 0);
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_outbox"), 0);
  json conflict;
  for (const json& e : h.Events()) {
    if (e["type"] == "conflict") conflict = e;
  }
  ASSERT_FALSE(conflict.is_null());
  EXPECT_EQ(conflict["table"], "agent_executions");
  EXPECT_EQ(conflict["key"], json({{"id", kTask1}}));
  EXPECT_EQ(conflict["policy"], "server-wins");
  EXPECT_EQ(conflict["outcome"], "rejected");
  EXPECT_EQ(conflict["local"]["status"], "cancelled");
  EXPECT_EQ(conflict["remote"]["status"], "completed");
  EXPECT_EQ(conflict["reason"], "conflict");
  json metrics = *h.writes->Metrics();
  ASSERT_EQ(metrics["conflicts"].size(), 1u);
  EXPECT_EQ(metrics["conflicts"][0],
            json({{"table", "agent_executions"}, {"policy", "server-wins"},
                  {"outcome", "rejected"}, {"count", 1}}));
  EXPECT_EQ(h.Count("SELECT count(*) FROM _el_conflicts"), 1);
}

}  // namespace
}  // namespace testing_write
}  // namespace electrolite
