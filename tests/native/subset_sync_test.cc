// On-demand sync (src/subset.h, src/subset_stream.h, src/snapshot_visibility.h):
// a `log=changes_only` shape, subsets loaded through subset snapshots, the
// stream's changes applied or dropped by the snapshots' visibility, release
// with overlapping subsets, and a reopen between the snapshot and the release.
// The wire data is what the dev server (server/subset.ts) and Electric send:
// `[snapshot-end]` for changes_only at -1, `{metadata, data}` for a subset.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <set>

#include "engine.h"
#include "engine_test_util.h"
#include "snapshot_visibility.h"
#include "subset.h"

namespace electrolite {
namespace {

using testing::QueryRows;
using testing::TempDbFile;

using json = Json;

constexpr char kSql[] = "CREATE TABLE items (id integer PRIMARY KEY, title text, n integer);";
constexpr char kSchemaHeader[] =
    R"({"id":{"type":"int4","pk_index":0,"not_null":true},"title":{"type":"text"},"n":{"type":"int4"}})";
constexpr char kHandle[] = "4012-1733000000000";

json Row(int id, const std::string& title, int n) {
  return {{"id", std::to_string(id)}, {"title", title}, {"n", std::to_string(n)}};
}
std::string Key(int id) { return "\"public\".\"items\"/\"" + std::to_string(id) + "\""; }

json Change(const char* op, const json& value, int64_t lsn, int64_t txid) {
  return {{"key", Key(std::stoi(value["id"].get<std::string>()))},
          {"value", value},
          {"headers",
           {{"operation", op}, {"relation", json::array({"public", "items"})}, {"lsn", std::to_string(lsn)},
            {"op_position", 0}, {"txids", json::array({txid})}, {"last", true}}}};
}
json UpToDate(int64_t lsn) { return {{"headers", {{"control", "up-to-date"}, {"global_last_seen_lsn", std::to_string(lsn)}}}}; }

struct Snap {
  std::string xmin, xmax;
  std::vector<std::string> xip;
  std::string database_lsn;
};

std::string SubsetBody(const Snap& s, const std::vector<json>& rows) {
  json xip = json::array();
  for (const auto& x : s.xip) xip.push_back(x);
  json meta = {{"xmin", s.xmin}, {"xmax", s.xmax}, {"xip_list", xip}, {"snapshot_mark", 7},
               {"database_lsn", s.database_lsn}};
  json data = json::array();
  for (const json& r : rows) {
    data.push_back({{"key", Key(std::stoi(r["id"].get<std::string>()))},
                    {"value", r},
                    {"headers", {{"operation", "insert"}, {"relation", json::array({"public", "items"})}, {"snapshot_mark", 7}}}});
  }
  return json({{"metadata", meta}, {"data", data}}).dump();
}

class SubsetSyncTest : public ::testing::Test {
 protected:
  void UseFile() {
    file_.emplace("subset");
    path_ = file_->path();
  }
  void Open(const json& extra = json::object()) {
    engine_.reset();
    json opts = {{"path", path_.empty() ? ":memory:" : path_}, {"baseUrl", "http://electric.test"},
                 {"schemaSql", std::string(kSql)}, {"nowMs", now_}, {"autoSubscribe", false}};
    for (auto it = extra.begin(); it != extra.end(); ++it) opts[it.key()] = it.value();
    auto r = Engine::Open(opts.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    engine_ = std::move(r).value();
    stream_.reset();
    subsets_.clear();
  }
  void Subscribe() {
    json r = json::parse(engine_->Subscribe(R"({"id":"od","table":"items","log":"changes_only"})", now_));
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  }
  // Takes every request the engine wants now.
  void Poll() {
    for (int i = 0; i < 50; i++) {
      std::optional<Request> req = engine_->PollRequest(now_);
      if (!req) return;
      if (req->kind == "subset") subsets_.push_back(*req);
      else if (req->kind == "shape") stream_ = req;
    }
  }
  Request TakeStream() {
    Poll();
    EXPECT_TRUE(stream_.has_value()) << "no stream request";
    Request r = stream_.value_or(Request{});
    stream_.reset();
    return r;
  }
  Request TakeSubset() {
    Poll();
    EXPECT_FALSE(subsets_.empty()) << "no subset request";
    if (subsets_.empty()) return Request{};
    Request r = subsets_.front();
    subsets_.pop_front();
    return r;
  }
  Headers StreamHeaders(const std::string& offset, bool live) {
    Headers h = {{"electric-handle", kHandle}, {"electric-offset", offset}};
    if (live) h.emplace_back("electric-cursor", "123");
    else h.emplace_back("electric-schema", kSchemaHeader);
    return h;
  }
  void Answer(const Request& req, const Headers& h, const std::string& body, int status = 200) {
    Status s = engine_->HandleResponse(now_, req.id, status, h, body);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // -1 (`[snapshot-end]` only: changes_only), then the catch-up to up-to-date; a live request follows.
  void Start() {
    Request first = TakeStream();
    EXPECT_NE(first.url.find("log=changes_only"), std::string::npos) << first.url;
    EXPECT_NE(first.url.find("offset=-1"), std::string::npos) << first.url;
    Answer(first, StreamHeaders("1000_0", false),
           R"([{"headers":{"control":"snapshot-end","xmin":"480","xmax":"480","xip_list":[]}}])");
    Answer(TakeStream(), StreamHeaders("1000_0", false), json::array({UpToDate(1000)}).dump());
  }
  std::string Load(const json& subset) {
    json r = json::parse(engine_->LoadSubset("od", subset.dump(), now_));
    EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
    return r["subsetId"].get<std::string>();
  }
  int64_t Release(const std::string& id) {
    json r = json::parse(engine_->ReleaseSubset(id));
    EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
    return r["removed"].get<int64_t>();
  }
  std::map<int, std::string> Items(const char* table = "items") {
    json r = json::parse(engine_->Query(std::string("SELECT id, title FROM ") + table + " ORDER BY id", "[]"));
    EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
    std::map<int, std::string> out;
    for (const json& row : r["rows"]) out[static_cast<int>(row[0].get<int64_t>())] = row[1].get<std::string>();
    return out;
  }
  std::vector<json> Events(const char* type) {
    std::vector<json> out;
    for (std::string ev = engine_->PollEvent(); !ev.empty(); ev = engine_->PollEvent()) {
      json e = json::parse(ev);
      if (e["type"] == type) out.push_back(e);
    }
    return out;
  }

  int64_t now_ = 1000000;
  std::optional<TempDbFile> file_;  // else in memory
  std::string path_;
  std::unique_ptr<Engine> engine_;
  std::optional<Request> stream_;
  std::deque<Request> subsets_;
};

const Snap kSnap{"500", "505", {"502"}, "1500"};

TEST(SnapshotVisibilityTest, SeenAndWidenedAcrossAnEpoch) {
  auto v = SnapshotVisibility::Parse("10", "20", R"(["15"])", "0");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->SawChange({5}));
  EXPECT_TRUE(v->SawChange({12}));
  EXPECT_FALSE(v->SawChange({15}));  // in progress when the snapshot was taken
  EXPECT_FALSE(v->SawChange({25}));
  EXPECT_TRUE(v->PassedBy({25}));
  EXPECT_FALSE(v->SawChange({}));  // no txids: never dropped
  // xid8 values of epoch 1 against 32-bit txids that wrapped.
  const uint64_t e1 = 1ULL << 32;
  EXPECT_EQ(WidenXid(3, e1 + 5), e1 + 3);
  EXPECT_EQ(WidenXid(4294967290u, e1 + 5), e1 - 6);  // still epoch 0
  EXPECT_EQ(WidenXid(7, e1 - 3), e1 + 7);             // already epoch 1
  auto w = SnapshotVisibility::Parse(std::to_string(e1 - 3), std::to_string(e1 + 5),
                                     "[\"" + std::to_string(e1 + 2) + "\"]", "0");
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->SawChange({4294967290LL}));  // epoch 0, below xmin
  EXPECT_FALSE(w->SawChange({2}));            // epoch 1, in progress
  EXPECT_TRUE(w->SawChange({3}));             // epoch 1, committed before
  EXPECT_FALSE(w->SawChange({7}));            // after xmax
  EXPECT_FALSE(SnapshotVisibility::Parse("9", "x", "[]", "0").ok());
}

TEST(SubsetBodyTest, SplitsMetadataAndDataWithoutParsingRows) {
  std::string_view meta, data;
  const std::string body =
      " {\"data\" : [{\"key\":\"a]}\\\"\",\"value\":{\"t\":\"}]\"}}] ,\n\"metadata\":{\"xmin\":\"1\",\"xip_list\":[]}, \"extra\": 7 }";
  ASSERT_TRUE(SplitSubsetBody(body, &meta, &data).ok());
  EXPECT_EQ(meta, R"({"xmin":"1","xip_list":[]})");
  EXPECT_EQ(data, R"([{"key":"a]}\"","value":{"t":"}]"}}])");
  EXPECT_FALSE(SplitSubsetBody("[]", &meta, &data).ok());
  EXPECT_FALSE(SplitSubsetBody(R"({"metadata":{}})", &meta, &data).ok());
  EXPECT_FALSE(SplitSubsetBody(R"({"metadata":{},"data":[{"key":"x"})", &meta, &data).ok());
  EXPECT_FALSE(SplitSubsetBody(R"({"metadata":{},"data":{}})", &meta, &data).ok());
  EXPECT_FALSE(SplitSubsetBody(R"({"metadata":{},"data":[]} x)", &meta, &data).ok());
  EXPECT_FALSE(SplitSubsetBody(R"({"metadata":{},"data":[])", &meta, &data).ok());
  EXPECT_TRUE(SplitSubsetBody(" {\"metadata\":{},\"data\":[]}\n", &meta, &data).ok());
  // Every prefix of a good body is refused (a cut-off response applies nothing).
  const std::string good = R"({"metadata":{"xmin":"1"},"data":[{"key":"k","value":{"a":"}"}}]})";
  for (size_t n = 0; n < good.size(); n++) {
    EXPECT_FALSE(SplitSubsetBody(good.substr(0, n), &meta, &data).ok()) << n;
  }
}

TEST_F(SubsetSyncTest, SubsetRowsThenStreamChangesByVisibility) {
  Open();
  Subscribe();
  Start();
  Request live = TakeStream();
  ASSERT_TRUE(live.live);
  std::string id = Load({{"where", "n < $1"}, {"params", {"10"}}, {"orderBy", "id"}, {"limit", 50}});
  Request sub = TakeSubset();
  EXPECT_EQ(sub.method, "POST");
  EXPECT_NE(sub.url.find("handle=" + std::string(kHandle)), std::string::npos);
  EXPECT_NE(sub.url.find("log=changes_only"), std::string::npos);
  json body = json::parse(engine_->RequestBody(sub.id));
  EXPECT_EQ(body, json::parse(R"({"where":"n < $1","params":{"1":"10"},"order_by":"id","limit":50})"));
  Answer(sub, StreamHeaders("1000_0", false),
         SubsetBody(kSnap, {Row(1, "one", 1), Row(2, "two", 2), Row(3, "three", 3)}));
  EXPECT_EQ(Items(), (std::map<int, std::string>{{1, "one"}, {2, "two"}, {3, "three"}}));
  std::vector<json> loaded = Events("subset");
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0]["subsetId"], id);
  EXPECT_EQ(loaded[0]["state"], "loaded");
  EXPECT_EQ(loaded[0]["rows"], 3);
  // The stream: txid 499 (< xmin: in the snapshot) dropped, 502 (in progress
  // then) applied, 506 (past xmax) applied; an insert of a new row applies, an
  // update of a row the table lacks is skipped, a delete applies.
  json changes = json::array({Change("update", {{"id", "1"}, {"title", "stale"}}, 1100, 499),
                              Change("update", {{"id", "2"}, {"title", "two later"}}, 1200, 502),
                              Change("update", {{"id", "3"}, {"title", "three later"}}, 1300, 506),
                              Change("insert", Row(4, "four", 4), 1400, 507),
                              Change("update", {{"id", "9"}, {"title", "never loaded"}}, 1450, 508),
                              Change("delete", {{"id", "2"}}, 1480, 509), UpToDate(1480)});
  Answer(live, StreamHeaders("1480_0", true), changes.dump());
  EXPECT_EQ(Items(), (std::map<int, std::string>{{1, "one"}, {3, "three later"}, {4, "four"}}));
  // 506 passed xmax: the snapshot no longer filters (persisted).
  json snap = json::parse(engine_->Query("SELECT snapshot_active FROM _el_subsets", "[]"));
  EXPECT_EQ(snap["rows"][0][0], 0);
}

TEST_F(SubsetSyncTest, StreamResponseDuringTheSubsetIsAppliedAfterItsRows) {
  Open();
  Subscribe();
  Start();
  Request live = TakeStream();
  Load({{"where", "n < 10"}});
  Request sub = TakeSubset();
  // The live answer arrives first: txid 506 is newer than the snapshot. Applied
  // before the rows it would be skipped (row absent) and the older row would win.
  Answer(live, StreamHeaders("1300_0", true),
         json::array({Change("update", {{"id", "2"}, {"title", "two newer"}}, 1300, 506), UpToDate(1300)}).dump());
  EXPECT_TRUE(Items().empty());
  Poll();
  EXPECT_FALSE(stream_.has_value()) << "the held request is still the shape's";
  Answer(sub, StreamHeaders("1000_0", false), SubsetBody(kSnap, {Row(1, "one", 1), Row(2, "two", 2)}));
  EXPECT_EQ(Items(), (std::map<int, std::string>{{1, "one"}, {2, "two newer"}}));
  Request next = TakeStream();
  EXPECT_NE(next.url.find("offset=1300_0"), std::string::npos) << next.url;
}

TEST_F(SubsetSyncTest, XidsAcrossAnEpochAgainstTheSnapshot) {
  Open();
  Subscribe();
  Start();
  Request live = TakeStream();
  Load({{"where", "true"}});
  const uint64_t e1 = 1ULL << 32;
  Answer(TakeSubset(), StreamHeaders("1000_0", false),
         SubsetBody({std::to_string(e1 - 3), std::to_string(e1 + 5), {std::to_string(e1 + 2)}, "1500"},
                    {Row(1, "a", 1), Row(2, "b", 2), Row(3, "c", 3), Row(4, "d", 4)}));
  json changes = json::array({Change("update", {{"id", "1"}, {"title", "a old"}}, 1100, 4294967290LL),
                              Change("update", {{"id", "2"}, {"title", "b in progress"}}, 1200, 2),
                              Change("update", {{"id", "3"}, {"title", "c old"}}, 1300, 3),
                              Change("update", {{"id", "4"}, {"title", "d new"}}, 1400, 7), UpToDate(1400)});
  Answer(live, StreamHeaders("1400_0", true), changes.dump());
  EXPECT_EQ(Items(), (std::map<int, std::string>{{1, "a"}, {2, "b in progress"}, {3, "c"}, {4, "d new"}}));
}

TEST_F(SubsetSyncTest, ReleaseKeepsRowsAnotherSubsetOrALocalWriteHolds) {
  Open();
  Subscribe();
  Start();
  Request live = TakeStream();
  std::string a = Load({{"where", "n <= 3"}});
  std::string b = Load({{"where", "n >= 3"}});
  Answer(TakeSubset(), StreamHeaders("1000_0", false), SubsetBody(kSnap, {Row(1, "one", 1), Row(2, "two", 2), Row(3, "three", 3)}));
  Answer(TakeSubset(), StreamHeaders("1000_0", false), SubsetBody(kSnap, {Row(3, "three", 3), Row(4, "four", 4), Row(5, "five", 5)}));
  EXPECT_EQ(Items().size(), 5u);
  Events("tables-changed");
  // a is held twice (two components, two tabs): the first release keeps it.
  EXPECT_EQ(Load({{"where", "n <= 3"}}), a);
  EXPECT_EQ(Release(a), 0);
  EXPECT_EQ(Items().size(), 5u);
  EXPECT_EQ(Release(a), 2);  // 1 and 2; 3 is b's too
  EXPECT_EQ(Items(), (std::map<int, std::string>{{3, "three"}, {4, "four"}, {5, "five"}}));
  EXPECT_EQ(Events("tables-changed").size(), 1u);
  // Not inside an app transaction (its rollback would bring rows back behind the engine's back).
  ASSERT_TRUE(json::parse(engine_->Begin())["ok"].get<bool>());
  json in_tx = json::parse(engine_->ReleaseSubset(b));
  EXPECT_EQ(in_tx["code"], "conflict");
  ASSERT_TRUE(json::parse(engine_->Rollback())["ok"].get<bool>());
  // A pending local edit of 5 keeps its row.
  json w = json::parse(engine_->Update("items", R"({"id":5})", R"({"title":"five local"})", now_));
  ASSERT_TRUE(w["ok"].get<bool>()) << w.dump();
  EXPECT_EQ(Release(b), 2);  // 3 and 4
  EXPECT_EQ(Items(), (std::map<int, std::string>{{5, "five local"}}));
  EXPECT_EQ(Items("items__synced"), (std::map<int, std::string>{{5, "five"}}));
  json left = json::parse(engine_->Query("SELECT count(*) FROM _el_subset_rows", "[]"));
  EXPECT_EQ(left["rows"][0][0], 0);
  json unknown = json::parse(engine_->ReleaseSubset(a));
  EXPECT_FALSE(unknown["ok"].get<bool>());
  (void)live;
}

// Release is one DELETE over the released rows: keys of several columns (text
// and integer) are matched as their values, a page of many rows goes at once,
// and rows another subset or a pending local write holds stay.
TEST_F(SubsetSyncTest, ReleaseOfAPageWithACompositeKey) {
  Open({{"schemaSql", "CREATE TABLE cells (sheet text, pos integer, v text, PRIMARY KEY (sheet, pos));"}});
  ASSERT_TRUE(json::parse(engine_->Subscribe(R"({"id":"od","table":"cells","log":"changes_only"})", now_))["ok"].get<bool>());
  const std::string schema =
      R"({"sheet":{"type":"text","pk_index":0,"not_null":true},"pos":{"type":"int4","pk_index":1,"not_null":true},"v":{"type":"text"}})";
  Headers h = {{"electric-handle", kHandle}, {"electric-offset", "1000_0"}, {"electric-schema", schema}};
  Answer(TakeStream(), h, R"([{"headers":{"control":"snapshot-end","xmin":"480","xmax":"480","xip_list":[]}}])");
  Answer(TakeStream(), h, json::array({UpToDate(1000)}).dump());
  auto body = [](int from, int to) {
    json data = json::array();
    for (int i = from; i <= to; i++) {
      data.push_back({{"key", "\"public\".\"cells\"/\"s\"/\"" + std::to_string(i) + "\""},
                      {"value", {{"sheet", "s"}, {"pos", std::to_string(i)}, {"v", "v" + std::to_string(i)}}},
                      {"headers", {{"operation", "insert"}, {"relation", json::array({"public", "cells"})}}}});
    }
    json meta = {{"xmin", "500"}, {"xmax", "500"}, {"xip_list", json::array()}, {"database_lsn", "1500"}};
    return json({{"metadata", meta}, {"data", data}}).dump();
  };
  std::string a = Load({{"where", "pos <= 1000"}});
  std::string b = Load({{"where", "pos >= 1000"}});
  Answer(TakeSubset(), h, body(1, 1000));
  Answer(TakeSubset(), h, body(1000, 1005));
  json w = json::parse(engine_->Update("cells", R"({"sheet":"s","pos":7})", R"({"v":"local"})", now_));
  ASSERT_TRUE(w["ok"].get<bool>()) << w.dump();
  EXPECT_EQ(Release(a), 998);  // not 1000 (b's) nor 7 (the local write's)
  json left = json::parse(engine_->Query("SELECT pos, v FROM cells ORDER BY pos", "[]"));
  ASSERT_EQ(left["rows"].size(), 7u) << left.dump();
  EXPECT_EQ(left["rows"][0], json::array({7, "local"}));
  EXPECT_EQ(left["rows"][1], json::array({1000, "v1000"}));
  EXPECT_EQ(Release(b), 6);
  json synced = json::parse(engine_->Query("SELECT count(*) FROM cells__synced", "[]"));
  EXPECT_EQ(synced["rows"][0][0], 1);  // the local write's base row
}

TEST_F(SubsetSyncTest, ReopenBetweenSnapshotAndRelease) {
  UseFile();
  Open();
  Subscribe();
  Start();
  std::string a = Load({{"where", "n < 3"}});
  std::string b = Load({{"where", "n >= 3"}});
  Answer(TakeSubset(), StreamHeaders("1000_0", false), SubsetBody(kSnap, {Row(1, "one", 1), Row(2, "two", 2)}));
  // b's request is out when the process dies.
  Request lost = TakeSubset();
  (void)lost;
  Open();  // reopen: a is loaded, b asks again, the stream resumes at its offset
  json list = json::parse(engine_->SubsetsJson());
  ASSERT_EQ(list["subsets"].size(), 2u);
  EXPECT_EQ(list["subsets"][0]["id"], a);
  EXPECT_EQ(list["subsets"][0]["state"], "loaded");
  EXPECT_EQ(list["subsets"][1]["state"], "loading");
  EXPECT_EQ(Items(), (std::map<int, std::string>{{1, "one"}, {2, "two"}}));
  Request resumed = TakeStream();
  EXPECT_NE(resumed.url.find("offset=1000_0"), std::string::npos) << resumed.url;
  Answer(TakeSubset(), StreamHeaders("1000_0", false), SubsetBody(kSnap, {Row(3, "three", 3)}));
  // a's snapshot still filters after the reopen: 501 it saw, 504 too; 502 it did not.
  json changes = json::array({Change("update", {{"id", "1"}, {"title", "stale"}}, 1100, 501),
                              Change("update", {{"id", "2"}, {"title", "two later"}}, 1200, 502),
                              UpToDate(1200)});
  Answer(resumed, StreamHeaders("1200_0", false), changes.dump());
  EXPECT_EQ(Items(), (std::map<int, std::string>{{1, "one"}, {2, "two later"}, {3, "three"}}));
  Open();
  EXPECT_EQ(Release(a), 2);
  EXPECT_EQ(Items(), (std::map<int, std::string>{{3, "three"}}));
  Open();
  EXPECT_EQ(json::parse(engine_->SubsetsJson())["subsets"].size(), 1u);
  EXPECT_EQ(Items(), (std::map<int, std::string>{{3, "three"}}));
}

TEST_F(SubsetSyncTest, ShapeStartingOverReloadsItsSubsets) {
  Open();
  Subscribe();
  Start();
  Request live = TakeStream();
  Load({{"where", "n < 10"}});
  Answer(TakeSubset(), StreamHeaders("1000_0", false), SubsetBody(kSnap, {Row(1, "one", 1), Row(2, "two", 2)}));
  // The handle is gone: the stream starts over; the rows stay until the
  // subset has loaded again, and the reload drops what it no longer holds.
  Answer(live, {{"electric-handle", "4012-1733000009999"}}, R"([{"headers":{"control":"must-refetch"}}])", 409);
  EXPECT_EQ(Items().size(), 2u);
  Request first = TakeStream();
  EXPECT_NE(first.url.find("offset=-1"), std::string::npos);
  Poll();
  EXPECT_TRUE(subsets_.empty()) << "no subset before the stream has its position";
  Headers h = {{"electric-handle", "4012-1733000009999"}, {"electric-offset", "2000_0"}, {"electric-schema", kSchemaHeader}};
  Answer(first, h, R"([{"headers":{"control":"snapshot-end","xmin":"600","xmax":"600","xip_list":[]}}])");
  Answer(TakeStream(), h, json::array({UpToDate(2000)}).dump());
  EXPECT_EQ(Items().size(), 2u);
  Request again = TakeSubset();
  EXPECT_NE(again.url.find("handle=4012-1733000009999"), std::string::npos) << again.url;
  Answer(again, h, SubsetBody({"600", "601", {}, "2000"}, {Row(2, "two again", 2)}));
  EXPECT_EQ(Items(), (std::map<int, std::string>{{2, "two again"}}));
}

TEST_F(SubsetSyncTest, RowsOfAnotherUserAreNotApplied) {
  Open({{"userId", "mine"}, {"userColumn", "title"}});
  Subscribe();
  Start();
  Load({{"where", "true"}});
  Answer(TakeSubset(), StreamHeaders("1000_0", false), SubsetBody(kSnap, {Row(1, "mine", 1), Row(2, "theirs", 2)}));
  EXPECT_EQ(Items(), (std::map<int, std::string>{{1, "mine"}}));
  std::vector<json> security = Events("security");
  ASSERT_EQ(security.size(), 1u);
  EXPECT_EQ(security[0]["dropped"], 1);
}

TEST_F(SubsetSyncTest, RefusedWithoutChangesOnlyOrWithABadSubset) {
  Open();
  json r = json::parse(engine_->Subscribe(R"({"id":"full","table":"items"})", now_));
  ASSERT_TRUE(r["ok"].get<bool>());
  json refused = json::parse(engine_->LoadSubset("full", R"({"where":"true"})", now_));
  EXPECT_FALSE(refused["ok"].get<bool>());
  EXPECT_EQ(refused["code"], "invalid_argument");
  Subscribe();
  json no_order = json::parse(engine_->LoadSubset("od", R"({"limit":5})", now_));
  EXPECT_FALSE(no_order["ok"].get<bool>());
  Start();
  Load({{"where", "nonsense ("}});
  Request sub = TakeSubset();
  Status s = engine_->HandleResponse(now_, sub.id, 400, Headers{},
                                     R"({"message":"Invalid request","errors":{"subset":{"where":["syntax error"]}}})");
  EXPECT_FALSE(s.ok());
  std::vector<json> ev = Events("subset");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0]["state"], "error");
  Poll();
  EXPECT_TRUE(subsets_.empty()) << "a refused subset is not asked again by itself";
}

}  // namespace
TEST_F(SubsetSyncTest, ReleaseKeepsRowsAPlainShapeOfTheTableHolds) {
  Open();
  Subscribe();
  json sub = json::parse(engine_->Subscribe(R"({"id":"big","table":"items","where":"n >= 3"})", now_));
  ASSERT_TRUE(sub["ok"].get<bool>()) << sub.dump();
  std::map<std::string, Request> streams;
  auto take = [&](const std::string& shape) {
    for (int i = 0; i < 50 && streams.count(shape) == 0; i++) {
      std::optional<Request> req = engine_->PollRequest(now_);
      if (!req) break;
      if (req->kind == "subset") subsets_.push_back(*req);
      else streams[req->shape_id] = *req;
    }
    EXPECT_EQ(streams.count(shape), 1u) << shape;
    Request r = streams[shape];
    streams.erase(shape);
    return r;
  };
  Answer(take("od"), StreamHeaders("1000_0", false),
         R"([{"headers":{"control":"snapshot-end","xmin":"480","xmax":"480","xip_list":[]}}])");
  Answer(take("od"), StreamHeaders("1000_0", false), json::array({UpToDate(1000)}).dump());
  Answer(take("big"), StreamHeaders("1000_0", false),
         json::array({Change("insert", Row(3, "three", 3), 900, 470), Change("insert", Row(4, "four", 4), 900, 470),
                      UpToDate(1000)}).dump());
  std::string a = Load({{"where", "n <= 3"}});
  Answer(TakeSubset(), StreamHeaders("1000_0", false), SubsetBody(kSnap, {Row(1, "one", 1), Row(2, "two", 2), Row(3, "three", 3)}));
  EXPECT_EQ(Items().size(), 4u);
  EXPECT_EQ(Release(a), 2);  // 1 and 2; the plain shape `big` holds 3
  EXPECT_EQ(Items(), (std::map<int, std::string>{{3, "three"}, {4, "four"}}));
}

}  // namespace electrolite
