#include "fake_electric.h"

#include <algorithm>
#include <functional>

namespace electrolite {
namespace testing {

const char kItemsSchemaSql[] =
    "CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL, priority integer,"
    " done boolean);";
const char kItemsSchemaHeader[] =
    R"({"id":{"type":"int8","pk_index":0,"not_null":true},"title":{"type":"text","not_null":true},)"
    R"("priority":{"type":"int4"},"done":{"type":"bool"}})";

json ItemRow(int id, const std::string& title, int priority, bool done) {
  return json{{"id", std::to_string(id)}, {"title", title}, {"priority", std::to_string(priority)},
              {"done", done ? "true" : "false"}};
}

namespace {

std::string Decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

ParsedUrl ParseUrl(const std::string& url) {
  ParsedUrl p;
  size_t q = url.find('?');
  p.path = url.substr(0, q);
  if (q == std::string::npos) return p;
  p.raw_query = url.substr(q + 1);
  size_t pos = 0;
  while (pos <= p.raw_query.size()) {
    size_t amp = p.raw_query.find('&', pos);
    std::string part = p.raw_query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = part.find('=');
    if (!part.empty()) p.query[Decode(part.substr(0, eq))] = eq == std::string::npos ? "" : Decode(part.substr(eq + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return p;
}

FakeElectric::FakeElectric(std::string table, std::string schema_json)
    : table_(std::move(table)), schema_(std::move(schema_json)) {
  handle_ = "4711-" + std::to_string(incarnation_);
}

json FakeElectric::Change(const char* op, const json& value, int64_t lsn, int64_t txid,
                          bool last) const {
  json h = {{"operation", op}, {"relation", {"public", table_}}};
  if (lsn > 0) {
    h["lsn"] = std::to_string(lsn);
    h["op_position"] = 0;
    h["txids"] = {txid};
    if (last) h["last"] = true;
  }
  std::string id = value.at("id").get<std::string>();
  return json{{"key", "\"public\".\"" + table_ + "\"/\"" + id + "\""}, {"value", value}, {"headers", h}};
}

void FakeElectric::Insert(const json& row) {
  rows_[row.at("id").get<std::string>()] = row;
  lsn_ += 10;
  log_.push_back({lsn_, 0, Change("insert", row, lsn_, next_txid++, true)});
}

void FakeElectric::Update(const json& changed) {
  std::string id = changed.at("id").get<std::string>();
  for (auto it = changed.begin(); it != changed.end(); ++it) rows_[id][it.key()] = it.value();
  lsn_ += 10;
  log_.push_back({lsn_, 0, Change("update", changed, lsn_, next_txid++, true)});
}

void FakeElectric::Delete(const std::string& id) {
  rows_.erase(id);
  lsn_ += 10;
  log_.push_back({lsn_, 0, Change("delete", json{{"id", id}}, lsn_, next_txid++, true)});
}

void FakeElectric::ChangePk(const std::string& old_id, const json& new_row) {
  rows_.erase(old_id);
  std::string new_id = new_row.at("id").get<std::string>();
  rows_[new_id] = new_row;
  lsn_ += 10;
  int64_t txid = next_txid++;
  json del = Change("delete", json{{"id", old_id}}, lsn_, txid, false);
  del["headers"]["key_change_to"] = "\"public\".\"" + table_ + "\"/\"" + new_id + "\"";
  json ins = Change("insert", new_row, lsn_, txid, true);
  ins["headers"]["key_change_from"] = "\"public\".\"" + table_ + "\"/\"" + old_id + "\"";
  ins["headers"]["op_position"] = 1;
  log_.push_back({lsn_, 0, del});
  log_.push_back({lsn_, 1, ins});
}

void FakeElectric::Rotate() {
  incarnation_++;
  handle_ = "4711-" + std::to_string(incarnation_);
  snapshot_taken_ = false;
  chunks_.clear();
}

Headers FakeElectric::BaseHeaders(const std::string& offset, bool live) const {
  Headers h = {{"electric-handle", handle_}, {"electric-offset", offset},
               {"content-type", "application/json"}};
  if (live) h.emplace_back("electric-cursor", std::to_string(cursor_));
  else h.emplace_back("electric-schema", schema_);
  return h;
}

std::optional<FakeResponse> FakeElectric::Handle(const Request& req) {
  urls.push_back(req.url);
  if (!overrides.empty()) {
    FakeResponse r = overrides.front();
    overrides.pop_front();
    return r;
  }
  ParsedUrl url = ParseUrl(req.url);
  if (intercept) {
    if (std::optional<FakeResponse> r = intercept(url)) return r;
  }
  const std::string offset = url.query["offset"];
  bool live = url.query.count("live") && url.query["live"] != "false";
  if (offset == "-1") {
    // New snapshot of the current incarnation.
    chunks_.clear();
    std::vector<json> all;
    for (auto& kv : rows_) all.push_back(Change("insert", kv.second, 0, 0, false));
    size_t per = snapshot_chunk_rows == 0 ? std::max<size_t>(all.size(), 1) : snapshot_chunk_rows;
    for (size_t i = 0; i < all.size() || chunks_.empty(); i += per) {
      chunks_.emplace_back(all.begin() + static_cast<long>(std::min(i, all.size())),
                           all.begin() + static_cast<long>(std::min(i + per, all.size())));
      if (i + per >= all.size()) break;
    }
    chunks_.back().push_back(json{{"headers", {{"control", "snapshot-end"},
                                               {"xmin", "690"}, {"xmax", "700"},
                                               {"xip_list", json::array({"695"})}}}});
    snapshot_log_pos_ = log_.size();
    snapshot_taken_ = true;
    FakeResponse r;
    r.headers = BaseHeaders("0_0", false);
    r.body = json(chunks_[0]).dump();
    return r;
  }
  if (url.query["handle"] != handle_ || !snapshot_taken_) {
    FakeResponse r;
    r.status = 409;
    r.headers = {{"electric-handle", handle_}};
    r.body = R"([{"headers":{"control":"must-refetch"}}])";
    return r;
  }
  if (std::optional<FakeResponse> oob = OutOfBounds(url)) return oob;
  if (offset.rfind("0_", 0) == 0 && offset != "0_inf") {
    size_t k = std::stoul(offset.substr(2));
    if (k + 1 < chunks_.size()) {
      FakeResponse r;
      r.headers = BaseHeaders("0_" + std::to_string(k + 1), false);
      r.body = json(chunks_[k + 1]).dump();
      return r;
    }
  }
  bool has_data = false;
  FakeResponse r = Log(url, live, /*allow_empty=*/!live, &has_data);
  if (live && !has_data) return std::nullopt;
  return r;
}

FakeResponse FakeElectric::AnswerHeld(const Request& req) {
  if (!overrides.empty()) {  // scripted answer for the held long-poll
    FakeResponse r = overrides.front();
    overrides.pop_front();
    return r;
  }
  ParsedUrl url = ParseUrl(req.url);
  if (intercept) {
    if (std::optional<FakeResponse> r = intercept(url)) return *r;
  }
  if (url.query["handle"] != handle_) {
    FakeResponse r;
    r.status = 409;
    r.headers = {{"electric-handle", handle_}};
    r.body = R"([{"headers":{"control":"must-refetch"}}])";
    return r;
  }
  if (std::optional<FakeResponse> oob = OutOfBounds(url)) return *oob;
  bool has_data = false;
  return Log(url, true, true, &has_data);
}

std::optional<FakeResponse> FakeElectric::OutOfBounds(const ParsedUrl& url) const {
  if (!check_offset_bounds) return std::nullopt;
  const std::string& offset = url.query.at("offset");
  size_t us = offset.find('_');
  if (offset.rfind("0_", 0) == 0 || us == std::string::npos) return std::nullopt;
  if (std::stoll(offset.substr(0, us)) <= lsn_) return std::nullopt;
  FakeResponse r;
  r.status = 400;
  r.headers = {{"content-type", "application/json"}};
  r.body = R"({"message":"Invalid request","errors":{"offset":["out of bounds for this shape"]}})";
  return r;
}

FakeResponse FakeElectric::Log(const ParsedUrl& url, bool live, bool allow_empty, bool* has_data) {
  std::string offset = url.query.at("offset");
  int64_t lsn = 0, op = -1;
  size_t us = offset.find('_');
  if (offset.rfind("0_", 0) != 0) {
    lsn = std::stoll(offset.substr(0, us));
    op = std::stoll(offset.substr(us + 1));
  }
  json body = json::array();
  std::string end = offset.rfind("0_", 0) == 0 ? "0_inf" : offset;
  for (size_t i = snapshot_log_pos_; i < log_.size(); i++) {
    const Entry& e = log_[i];
    if (e.lsn < lsn || (e.lsn == lsn && e.op <= op)) continue;
    body.push_back(e.message);
    end = e.Offset();
  }
  *has_data = !body.empty();
  body.push_back(json{{"headers", {{"control", "up-to-date"}, {"global_last_seen_lsn", std::to_string(lsn_)}}}});
  if (live) cursor_ += 20;
  FakeResponse r;
  r.headers = BaseHeaders(end, live);
  r.headers.emplace_back("electric-up-to-date", "");
  r.body = body.dump();
  return r;
}

// ---------------------------------------------------------------- SyncPair

void SyncPair::Deliver(const Request& req, const FakeResponse& resp) {
  handle_results.push_back(engine_->HandleResponse(now, req.id, resp.status, resp.headers, resp.body));
  if (after_response) after_response();
}

void SyncPair::Pump(int max_requests) {
  for (int i = 0; i < max_requests; i++) {
    std::optional<Request> req = engine_->PollRequest(now);
    if (!req) return;
    requests_sent++;
    if (req->kind == "upload") {
      uploads.push_back(*req);
      continue;
    }
    std::optional<FakeResponse> resp = server_->Handle(*req);
    if (!resp) {
      held_.push_back({*req, now});
      continue;
    }
    Deliver(*req, *resp);
  }
}

void SyncPair::ReleaseHeld() {
  std::vector<Held> held;
  held.swap(held_);
  for (auto& h : held) {
    Deliver(h.req, server_->AnswerHeld(h.req));
  }
  Pump();
}

void SyncPair::Advance(int64_t ms) {
  int64_t until = now + ms;
  for (int guard = 0; guard < 10000; guard++) {
    int64_t next = engine_->PollTimeout();
    int64_t hold_end = -1;
    for (auto& h : held_) {
      int64_t t = h.since + 20000;
      if (hold_end < 0 || t < hold_end) hold_end = t;
    }
    int64_t step = until;
    if (next >= 0 && next < step) step = next;
    if (hold_end >= 0 && hold_end < step) step = hold_end;
    if (step < now) step = now;
    now = step;
    engine_->HandleTimeout(now);
    std::vector<Held> keep, due;
    bool scripted = !server_->overrides.empty();
    for (auto& h : held_) (scripted || h.since + 20000 <= now ? due : keep).push_back(h);
    held_ = keep;
    for (auto& h : due) Deliver(h.req, server_->AnswerHeld(h.req));
    Pump();
    if (now >= until) return;
  }
}

bool SyncPair::SyncUntilUpToDate(int64_t max_ms) {
  Pump();
  int64_t end = now + max_ms;
  while (now < end) {
    json st = json::parse(engine_->StatusJson());
    if (st["isUpToDate"].get<bool>()) return true;
    if (st["sync"] == "error") return false;
    Advance(std::min<int64_t>(1000, end - now));
  }
  return json::parse(engine_->StatusJson())["isUpToDate"].get<bool>();
}

std::vector<json> SyncPair::TakeEvents() {
  std::vector<json> out;
  for (std::string ev = engine_->PollEvent(); !ev.empty(); ev = engine_->PollEvent()) {
    out.push_back(json::parse(ev));
  }
  return out;
}

}  // namespace testing
}  // namespace electrolite
