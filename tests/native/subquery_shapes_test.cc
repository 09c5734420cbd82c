// Subquery shapes (protocol notes §2.3): the engine replays the dev server's
// recorded answers to two shapes on `tasks` (tests/fixtures/subquery-wire.json,
// made by tests/fixtures/record-subquery-wire.mjs against a real PostgreSQL):
// tags and active_conditions on snapshot rows, a move-in insert and its
// snapshot-end, an update with removed_tags, and move-out events whose
// patterns remove rows, also while another shape holds them; and plain
// shapes sharing the table with them or with each other.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "engine.h"
#include "engine_test_util.h"
#include "message_decoder.h"

namespace electrolite {
namespace {

using testing::QueryRows;

using json = Json;

constexpr char kActive[] = "environment_id IN (SELECT id FROM environments WHERE is_active)";
constexpr char kNamed[] = "environment_id IN (SELECT id FROM environments WHERE name = 'shared')";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Step {
  std::string shape, label;
  int status = 200;
  Headers headers;
  std::string body;
};

struct Wire {
  json ids;
  std::vector<Step> steps;
  const Step& Find(const std::string& shape, const std::string& label) const {
    for (const Step& s : steps) {
      if (s.shape == shape && s.label == label) return s;
    }
    ADD_FAILURE() << "no step " << shape << "/" << label;
    static Step none;
    return none;
  }
};

const Wire& Recorded() {
  static const Wire wire = [] {
    Wire w;
    json j = json::parse(ReadFile(std::string(EL_SOURCE_DIR) + "/tests/fixtures/subquery-wire.json"));
    EXPECT_TRUE(j.is_object());
    w.ids = j["ids"];
    for (const json& s : j["steps"]) {
      Step st;
      st.shape = s["shape"].get<std::string>();
      st.label = s["label"].get<std::string>();
      st.status = s["status"].get<int>();
      for (auto it = s["headers"].begin(); it != s["headers"].end(); ++it) {
        st.headers.emplace_back(it.key(), it.value().get<std::string>());
      }
      st.body = s["body"].dump();
      w.steps.push_back(std::move(st));
    }
    return w;
  }();
  return wire;
}

std::string SchemaOf(const Step& s) {
  for (const auto& [k, v] : s.headers) {
    if (k == "electric-schema") return v;
  }
  return std::string();
}

std::string Id(const std::string& name) { return Recorded().ids[name].get<std::string>(); }

constexpr char kTasksSql[] =
    "CREATE TABLE tasks (id uuid PRIMARY KEY, user_id text NOT NULL, title text NOT NULL,"
    " description text, status text NOT NULL DEFAULT 'pending', priority integer NOT NULL DEFAULT 0,"
    " environment_id uuid, created_at timestamptz NOT NULL DEFAULT now(),"
    " updated_at timestamptz NOT NULL DEFAULT now());";

// An engine following the recorded shapes: each step answers the request
// the engine has out for that step's shape.
class SubqueryTest : public ::testing::Test {
 protected:
  void Open(const std::string& path = ":memory:") {
    json opts = {{"path", path}, {"baseUrl", "http://electric.test"}, {"schemaSql", std::string(kTasksSql)},
                 {"nowMs", now_}, {"autoSubscribe", false}};
    auto r = Engine::Open(opts.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    engine_ = std::move(r).value();
    pending_.clear();
  }
  void Subscribe(const std::string& id, const char* where) {
    json shape = {{"id", id}, {"table", "tasks"}, {"where", where}};
    json r = json::parse(engine_->Subscribe(shape.dump(), now_));
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  }
  Status Serve(const Step& st) { return Serve(st.shape, st.status, st.headers, st.body); }
  Status Serve(const std::string& shape, int status, const Headers& headers, const std::string& body) {
    for (int i = 0; i < 200 && pending_.count(shape) == 0; i++) {
      std::optional<Request> req = engine_->PollRequest(now_);
      if (!req) {
        now_ += 100;
        engine_->HandleTimeout(now_);
        continue;
      }
      if (req->kind == "upload") {  // answered by the test, if at all
        uploads_.push_back(*req);
        continue;
      }
      pending_[req->shape_id] = *req;
    }
    EXPECT_EQ(pending_.count(shape), 1u) << "no request for shape " << shape;
    if (pending_.count(shape) == 0) return Status::NotFound("no request");
    Request req = pending_[shape];
    pending_.erase(shape);
    return engine_->HandleResponse(now_, req.id, status, headers, body);
  }
  void Replay(const std::string& shape, const std::string& label) {
    Status s = Serve(Recorded().Find(shape, label));
    ASSERT_TRUE(s.ok()) << shape << "/" << label << ": " << s.ToString();
  }
  json Query(const std::string& sql) { return QueryRows(*engine_, sql); }
  std::set<std::string> Tasks(const char* table = "tasks") {
    std::set<std::string> out;
    for (const json& row : Query(std::string("SELECT id FROM ") + table)) out.insert(row[0].get<std::string>());
    return out;
  }
  std::set<std::string> Ids(std::initializer_list<const char*> names) {
    std::set<std::string> out;
    for (const char* n : names) out.insert(Id(n));
    return out;
  }
  int64_t Scalar(const std::string& sql) { return Query(sql)[0][0].get<int64_t>(); }
  // Keys named by tables-changed events since the last call ("*" = unknown).
  std::set<std::string> ChangedKeys() {
    std::set<std::string> out;
    for (std::string ev = engine_->PollEvent(); !ev.empty(); ev = engine_->PollEvent()) {
      json e = json::parse(ev);
      if (e["type"] != "tables-changed") continue;
      const json& c = e["keys"]["tasks"];
      if (c.is_null() || !c.contains("rows")) {
        out.insert("*");
        continue;
      }
      for (const json& k : c["rows"]) out.insert(k.dump());
    }
    return out;
  }
  void Sync(const std::string& shape) {
    Replay(shape, "snapshot");
    Replay(shape, "catch-up");
  }

  int64_t now_ = 1000000;
  std::unique_ptr<Engine> engine_;
  std::map<std::string, Request> pending_;
  std::vector<Request> uploads_;
};

TEST_F(SubqueryTest, TagsMoveInRemovedTagsAndMoveOut) {
  Open();
  Subscribe("active", kActive);
  Sync("active");
  EXPECT_EQ(Tasks(), Ids({"t1", "t3"}));
  EXPECT_EQ(Scalar("SELECT count(*) FROM _el_tags WHERE shape_id = 'active'"), 2);
  ChangedKeys();
  // A move-in row (no lsn, no txids) is an upsert; its snapshot-end ends the move-in.
  const std::string lsn_before = Query("SELECT last_lsn FROM _el_shapes WHERE id = 'active'")[0][0].dump();
  Replay("active", "move-in");
  EXPECT_EQ(Tasks(), Ids({"t1", "t2", "t3"}));
  EXPECT_EQ(Query("SELECT last_lsn FROM _el_shapes WHERE id = 'active'")[0][0].dump(), lsn_before);
  // An update that changes the subquery column: the new tag replaces the removed one.
  Replay("active", "removed-tags");
  EXPECT_EQ(Query("SELECT title FROM tasks WHERE id = '" + Id("t2") + "'")[0][0], "two moved");
  json tags = Query("SELECT tag FROM _el_tags WHERE shape_id = 'active' AND row = '[\"" + Id("t2") + "\"]'");
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0][0].get<std::string>(), "da3aa14f8b111897f875e4d541e13088");
  ChangedKeys();
  // e1 leaves the subquery: its move-out pattern removes t1 and t3, and
  // tables-changed names them.
  Replay("active", "move-out");
  EXPECT_EQ(Tasks(), Ids({"t2"}));
  EXPECT_EQ(Tasks("tasks__synced"), Ids({"t2"}));
  EXPECT_EQ(ChangedKeys(), (std::set<std::string>{"[\"" + Id("t1") + "\"]", "[\"" + Id("t3") + "\"]"}));
  // The last move-out carries the txid of the transaction that caused it.
  Replay("active", "edit-and-move-out");
  EXPECT_EQ(Tasks(), std::set<std::string>{});
  EXPECT_EQ(Scalar("SELECT count(*) FROM _el_txids WHERE shape_id = 'active' AND txid = 757"), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM _el_tags"), 0);
}

TEST_F(SubqueryTest, ARowLeavesOnlyWhenNoShapeHoldsIt) {
  Open();
  Subscribe("active", kActive);
  Subscribe("named", kNamed);
  Sync("active");
  Sync("named");
  EXPECT_EQ(Tasks(), Ids({"t1", "t3"}));
  Replay("active", "move-in");
  Replay("active", "removed-tags");
  ChangedKeys();
  // `active` lets t1 and t3 go, `named` still holds them: they stay.
  Replay("active", "move-out");
  EXPECT_EQ(Tasks(), Ids({"t1", "t2", "t3"}));
  EXPECT_EQ(ChangedKeys(), std::set<std::string>{});
  // `named` lets them go too: now they leave.
  Replay("named", "move-out");
  EXPECT_EQ(Tasks(), Ids({"t2"}));
  Replay("active", "edit-and-move-out");
  EXPECT_EQ(Tasks(), std::set<std::string>{});
}

TEST_F(SubqueryTest, TagsPersistAcrossRestart) {
  const std::string path = ::testing::TempDir() + "/subquery-restart.db";
  std::remove(path.c_str());
  Open(path);
  Subscribe("active", kActive);
  Sync("active");
  Replay("active", "move-in");
  Replay("active", "removed-tags");
  engine_.reset();
  Open(path);
  Subscribe("active", kActive);
  EXPECT_EQ(Tasks(), Ids({"t1", "t2", "t3"}));
  // The tags recorded before the restart are matched. (A reopened shape's
  // first request is not live, so its answer carries the schema.)
  Step out = Recorded().Find("active", "move-out");
  out.headers.emplace_back("electric-schema", SchemaOf(Recorded().Find("active", "snapshot")));
  ASSERT_TRUE(Serve(out).ok());
  EXPECT_EQ(Tasks(), Ids({"t2"}));
  engine_.reset();
  std::remove(path.c_str());
}

TEST_F(SubqueryTest, MustRefetchClearsTheShapesTags) {
  Open();
  Subscribe("active", kActive);
  Subscribe("named", kNamed);
  Sync("active");
  Sync("named");
  ASSERT_EQ(Scalar("SELECT count(*) FROM _el_tags WHERE shape_id = 'active'"), 2);
  Status s = Serve("active", 409, {{"electric-handle", "new-handle-1"}, {"content-type", "application/json"}},
                   R"([{"headers":{"control":"must-refetch"}}])");
  (void)s;
  EXPECT_EQ(Scalar("SELECT count(*) FROM _el_tags WHERE shape_id = 'active'"), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM _el_tags WHERE shape_id = 'named'"), 2);
  // The new snapshot (under the new handle) states them again.
  for (const char* label : {"snapshot", "catch-up"}) {
    Step st = Recorded().Find("active", label);
    for (auto& h : st.headers) {
      if (h.first == "electric-handle") h.second = "new-handle-1";
    }
    ASSERT_TRUE(Serve(st).ok()) << label;
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM _el_tags WHERE shape_id = 'active'"), 2);
  EXPECT_EQ(Tasks(), Ids({"t1", "t3"}));
}

TEST_F(SubqueryTest, ChunkedMoveInThenSnapshotEnd) {
  Open();
  Subscribe("active", kActive);
  Sync("active");
  // The recorded move-in, split as a server splits a long one: the rows in
  // one response, the snapshot-end and up-to-date in the next.
  const Step& mi = Recorded().Find("active", "move-in");
  json body = json::parse(mi.body);
  json rows = json::array(), rest = json::array();
  for (const json& m : body) (m.contains("key") ? rows : rest).push_back(m);
  ASSERT_EQ(rows.size(), 1u);
  Headers first = mi.headers;
  first.erase(std::remove_if(first.begin(), first.end(),
                             [](const auto& h) { return h.first == "electric-up-to-date"; }),
              first.end());
  ASSERT_TRUE(Serve("active", 200, first, rows.dump()).ok());
  EXPECT_EQ(Tasks(), Ids({"t1", "t2", "t3"}));
  ASSERT_TRUE(Serve("active", 200, mi.headers, rest.dump()).ok());
  EXPECT_EQ(Tasks(), Ids({"t1", "t2", "t3"}));
  // The same move-in row again (a retried request) is still one row.
  ASSERT_TRUE(Serve("active", 200, mi.headers, mi.body).ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM tasks"), 3);
  EXPECT_EQ(Scalar("SELECT count(*) FROM _el_tags WHERE shape_id = 'active'"), 3);
}

TEST_F(SubqueryTest, InactiveConditionsTakeTheRowOut) {
  Open();
  Subscribe("active", kActive);
  Sync("active");
  // The snapshot's t1, now with its only condition inactive (a where clause
  // of several conditions says so on a change).
  json snap = json::parse(Recorded().Find("active", "snapshot").body);
  json t1;
  for (const json& m : snap) {
    if (m.contains("value") && m["value"]["id"] == Id("t1")) t1 = m;
  }
  ASSERT_FALSE(t1.is_null());
  t1["headers"]["operation"] = "update";
  t1["headers"]["active_conditions"] = json::array({false});
  t1["headers"]["lsn"] = "8";
  t1["headers"]["txids"] = json::array({750});
  json body = json::array({t1, json::parse(R"({"headers":{"control":"up-to-date","global_last_seen_lsn":"8"}})")});
  const Step& live = Recorded().Find("active", "move-in");
  ASSERT_TRUE(Serve("active", 200, live.headers, body.dump()).ok());
  EXPECT_EQ(Tasks(), Ids({"t3"}));
  EXPECT_EQ(Scalar("SELECT count(*) FROM _el_tags WHERE row = '[\"" + Id("t1") + "\"]'"), 0);
}

TEST_F(SubqueryTest, MoveOutRacingALocalEdit) {
  Open();
  Subscribe("active", kActive);
  Sync("active");
  Replay("active", "move-in");
  Replay("active", "removed-tags");
  // The app edits t1 while the server moves it out of the shape.
  json key = {{"id", Id("t1")}};
  json r = json::parse(engine_->Update("tasks", key.dump(), R"({"title":"mine"})", now_));
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(Query("SELECT title FROM tasks WHERE id = '" + Id("t1") + "'")[0][0], "mine");
  // The edit is uploaded and lands in transaction 753, the one that also
  // deactivated t1's environment (the recorded move-out's txid).
  for (int i = 0; i < 50 && uploads_.empty(); i++) {
    std::optional<Request> req = engine_->PollRequest(now_);
    if (req && req->kind == "upload") uploads_.push_back(*req);
    else if (req) pending_[req->shape_id] = *req;
    else now_ += 100;
  }
  ASSERT_EQ(uploads_.size(), 1u);
  json sent = json::parse(engine_->RequestBody(uploads_[0].id));
  json results = json::array();
  for (const json& m : sent["mutations"]) results.push_back({{"id", m["id"]}, {"status", "applied"}});
  json ack = {{"txid", "753"}, {"results", results}};
  ASSERT_TRUE(engine_->HandleResponse(now_, uploads_[0].id, 200, Headers{}, ack.dump()).ok());
  EXPECT_EQ(Query("SELECT title FROM tasks WHERE id = '" + Id("t1") + "'")[0][0], "mine");
  ChangedKeys();
  // The move-out removes the server's copy, and its txid confirms the edit:
  // nothing is pending, and the row is gone for the app too.
  Replay("active", "move-out");
  EXPECT_EQ(Tasks("tasks__synced"), Ids({"t2"}));
  json pending = json::parse(engine_->PendingMutations());
  EXPECT_EQ(pending["mutations"].size(), 0u) << pending.dump();
  EXPECT_EQ(Tasks(), Ids({"t2"}));
  EXPECT_EQ(ChangedKeys().count("[\"" + Id("t1") + "\"]"), 1u);
}

// Every header form, fed in every split of the body.
// ---------------------------------------------------------------- several shapes, one table
// Plain shapes (no subquery) answer with the recorded rows without their
// tags; a plain row that leaves the where clause comes as a delete.

constexpr char kT9[] = "9e000000-0000-4000-8000-000000000009";  // a row only plain shapes have

// The recorded `active` snapshot rows as a plain shape sends them (plus t9).
json PlainRows(bool with_t9) {
  json rows = json::array();
  for (json m : json::parse(Recorded().Find("active", "snapshot").body)) {
    if (!m.contains("value")) continue;
    m["headers"].erase("tags");
    m["headers"].erase("active_conditions");
    rows.push_back(m);
  }
  if (with_t9) {
    json extra = rows[0];
    extra["value"]["id"] = kT9;
    extra["key"] = std::string("\"public\".\"tasks\"/\"") + kT9 + "\"";
    rows.push_back(extra);
  }
  return rows;
}

json PlainDelete(const std::string& id, int lsn) {
  return {{"key", "\"public\".\"tasks\"/\"" + id + "\""}, {"value", {{"id", id}}},
          {"headers", {{"operation", "delete"}, {"relation", {"public", "tasks"}},
                       {"lsn", std::to_string(lsn)}, {"op_position", 0}, {"txids", {900 + lsn}}, {"last", true}}}};
}

// A response of plain shape `shape` (headers as the recorded live answers have them).
Step PlainStep(const std::string& shape, const std::string& offset, json messages) {
  Step st = Recorded().Find("active", "removed-tags");
  st.shape = shape;
  for (auto& [k, v] : st.headers) {
    if (k == "electric-handle") v = "plain-" + shape;
    if (k == "electric-offset") v = offset;
  }
  st.headers.emplace_back("electric-schema", SchemaOf(Recorded().Find("active", "snapshot")));
  messages.push_back({{"headers", {{"control", "up-to-date"}, {"global_last_seen_lsn", offset.substr(0, offset.find('_'))}}}});
  st.body = messages.dump();
  return st;
}

class MultiShapeTest : public SubqueryTest {
 protected:
  void PlainSync(const std::string& shape, bool with_t9) {
    ASSERT_TRUE(Serve(PlainStep(shape, "0_0", PlainRows(with_t9))).ok());
  }
  void PlainDeletes(const std::string& shape, const std::string& id, int lsn) {
    ASSERT_TRUE(Serve(PlainStep(shape, std::to_string(lsn) + "_0", json::array({PlainDelete(id, lsn)}))).ok());
  }
  int64_t Held(const std::string& shape) {
    return Scalar("SELECT count(*) FROM _el_tags WHERE shape_id = '" + shape + "' AND tag = ''");
  }
  std::set<std::string> With(std::set<std::string> ids, const char* extra) {
    ids.insert(extra);
    return ids;
  }
};

TEST_F(MultiShapeTest, APlainShapeKeepsRowsThatMoveOutOfASubqueryShape) {
  Open();
  Subscribe("plain", "user_id = 'u'");
  PlainSync("plain", /*with_t9=*/true);
  EXPECT_EQ(Tasks(), With(Ids({"t1", "t3"}), kT9));
  EXPECT_EQ(Scalar("SELECT count(*) FROM _el_tags"), 0);  // one shape: nothing recorded
  // A second shape joins: the rows already there are the plain shape's.
  Subscribe("active", kActive);
  EXPECT_EQ(Held("plain"), 3);
  Sync("active");
  Replay("active", "move-in");
  Replay("active", "removed-tags");
  ChangedKeys();
  // t1 and t3 move out of `active`; `plain` holds them: they stay.
  Replay("active", "move-out");
  EXPECT_EQ(Tasks(), With(Ids({"t1", "t2", "t3"}), kT9));
  EXPECT_EQ(ChangedKeys(), std::set<std::string>{});
  // `plain` deletes t1: no shape holds it any more.
  PlainDeletes("plain", Id("t1"), 20);
  EXPECT_EQ(Tasks(), With(Ids({"t2", "t3"}), kT9));
  // t2 was `active`'s alone: its move-out takes it.
  Replay("active", "edit-and-move-out");
  EXPECT_EQ(Tasks(), With(Ids({"t3"}), kT9));
}

TEST_F(MultiShapeTest, UnsubscribingAPlainShapeTakesOnlyTheRowsItAloneHeld) {
  Open();
  Subscribe("plain", "user_id = 'u'");
  Subscribe("active", kActive);
  PlainSync("plain", /*with_t9=*/true);
  Sync("active");
  Replay("active", "move-in");
  EXPECT_EQ(Held("plain"), 3);
  ChangedKeys();
  json r = json::parse(engine_->Unsubscribe("plain"));
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(Tasks(), Ids({"t1", "t2", "t3"}));  // `active` holds these
  EXPECT_EQ(Held("plain"), 0);
  EXPECT_EQ(ChangedKeys(), std::set<std::string>{"*"});
  // Alone again, `active` lets its rows go as before.
  Replay("active", "removed-tags");
  Replay("active", "move-out");
  EXPECT_EQ(Tasks(), Ids({"t2"}));
}

TEST_F(MultiShapeTest, TwoPlainShapesWithOverlappingWhere) {
  Open();
  Subscribe("mine", "user_id = 'u'");
  Subscribe("low", "priority = 0");
  PlainSync("mine", /*with_t9=*/false);
  PlainSync("low", /*with_t9=*/true);
  EXPECT_EQ(Held("mine"), 2);
  EXPECT_EQ(Held("low"), 3);
  // t1 leaves `low`'s where (a delete there); `mine` still holds it.
  PlainDeletes("low", Id("t1"), 20);
  EXPECT_EQ(Tasks(), With(Ids({"t1", "t3"}), kT9));
  PlainDeletes("low", kT9, 21);
  EXPECT_EQ(Tasks(), Ids({"t1", "t3"}));
  PlainDeletes("mine", Id("t1"), 22);
  EXPECT_EQ(Tasks(), Ids({"t3"}));
  // Each shape's membership follows its own deletes.
  EXPECT_EQ(Held("mine"), 1);
  EXPECT_EQ(Held("low"), 1);
  // `low` goes: `mine` holds t3, and alone on the table it records nothing again.
  json r = json::parse(engine_->Unsubscribe("low"));
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(Tasks(), Ids({"t3"}));
  EXPECT_EQ(Scalar("SELECT count(*) FROM _el_tags"), 0);
}

TEST(SubqueryDecoderTest, HeadersInAnySplit) {
  const std::string body =
      R"([{"key":"\"public\".\"tasks\"/\"1\"","value":{"id":"1"},"headers":{"operation":"update",)"
      R"("is_move_in":true,"tags":["a/b","c"],"removed_tags":["d"],"active_conditions":[true,false],)"
      R"("relation":["public","tasks"]}},)"
      R"({"headers":{"event":"move-out","patterns":[{"pos":1,"value":"b"},{"value":"c","pos":0}],)"
      R"("txids":[42],"lsn":"9"}}])";
  struct Sink : MessageSink {
    std::vector<std::string> seen;
    Status OnMessage(const ShapeMessage& m, int64_t) override {
      std::string s = std::to_string(static_cast<int>(m.kind)) + "|" + std::string(m.event) + "|" +
                      (m.is_move_in ? "mi" : "") + "|";
      for (auto t : m.tags) s += std::string(t) + ",";
      s += "|";
      for (auto t : m.removed_tags) s += std::string(t) + ",";
      s += "|" + std::to_string(m.has_active_conditions) + ":";
      s += std::string(m.active_conditions);
      s += "|";
      for (const TagPattern& p : m.patterns) s += std::to_string(p.pos) + "=" + std::string(p.value) + ",";
      for (int64_t t : m.txids) s += "#" + std::to_string(t);
      seen.push_back(s);
      return Status::Ok();
    }
  };
  const std::vector<std::string> want = {"0||mi|a/b,c,|d,|1:10|", "2|move-out||||0:|1=b,0=c,#42"};
  for (size_t split = 0; split <= body.size(); split++) {
    Sink sink;
    MessageDecoder d(&sink);
    std::string a = body.substr(0, split), b = body.substr(split);
    ASSERT_TRUE(d.Feed(a).ok());
    ASSERT_TRUE(d.Feed(b).ok());
    ASSERT_TRUE(d.Finish().ok());
    EXPECT_EQ(sink.seen, want) << "split at " << split;
  }
}

}  // namespace
}  // namespace electrolite
