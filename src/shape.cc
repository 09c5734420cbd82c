#include "shape.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include "json.h"

namespace electrolite {

namespace {

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string QuoteColumn(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += "\"\"";
    else out += c;
  }
  return out + "\"";
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "Sun, 06 Nov 1994 08:49:37 GMT" -> Unix ms, or -1.
int64_t ParseHttpDate(std::string_view s) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 29 || s[3] != ',') return -1;
  auto num = [&](size_t pos, size_t n) -> int {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
      char c = s[pos + i];
      if (c < '0' || c > '9') return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  int day = num(5, 2), year = num(12, 4), hh = num(17, 2), mm = num(20, 2), ss = num(23, 2);
  int mon = -1;
  for (int i = 0; i < 12; i++) {
    if (s.substr(8, 3) == kMonths[i]) mon = i + 1;
  }
  if (day < 1 || year < 0 || hh < 0 || mm < 0 || ss < 0 || mon < 0) return -1;
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
  return (days * 86400 + hh * 3600 + mm * 60 + ss) * 1000;
}

}  // namespace

Result<ShapeDef> ShapeDef::FromJson(std::string_view text) {
  Json j = Json::parse(text);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("shape must be a JSON object");
  ShapeDef d;
  d.table = JsonStr(j, "table");
  if (d.table.empty()) return Status::InvalidArgument("shape.table is required");
  d.id = JsonStr(j, "id");
  d.where = JsonStr(j, "where");
  d.replica = JsonStr(j, "replica", "default");
  if (d.replica != "default" && d.replica != "full") {
    return Status::InvalidArgument("shape.replica must be \"default\" or \"full\"");
  }
  for (const char* field : {"params", "columns"}) {
    auto it = j.find(field);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_array()) return Status::InvalidArgument(std::string("shape.") + field + " must be an array");
    for (const Json& v : *it) {
      std::string s;
      if (v.is_string()) s = v.get<std::string>();
      else if (v.is_number() || v.is_boolean()) s = v.dump();
      else return Status::InvalidArgument(std::string("shape.") + field + " entries must be strings");
      (field[0] == 'p' ? d.params : d.columns).push_back(std::move(s));
    }
  }
  return d;
}

std::string ShapeDef::ToJson() const {
  Json j;
  j["table"] = table;
  if (!where.empty()) j["where"] = where;
  if (!params.empty()) j["params"] = params;
  if (!columns.empty()) j["columns"] = columns;
  j["replica"] = replica;
  return j.dump();
}

std::string ShapeDef::DefaultId() const {
  if (where.empty() && params.empty() && columns.empty() && replica == "default") return table;
  static const char kHex[] = "0123456789abcdef";
  uint64_t h = Fnv1a(ToJson());
  std::string out = table + "#";
  for (int i = 15; i >= 8; i--) out += kHex[(h >> (i * 4)) & 15];
  return out;
}

namespace {

// Decimal digits no greater than `max` (leading zeros allowed, as the server's
// Integer.parse takes them).
bool DecimalAtMost(std::string_view s, uint64_t max) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  return true;
}

bool PrintableToken(std::string_view s, size_t max_len) {
  if (s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

bool IsValidOffset(std::string_view offset) {
  if (offset == "-1") return true;
  if (offset.size() > 64) return false;
  size_t sep = offset.find('_');
  if (sep == std::string_view::npos) return false;
  std::string_view tx = offset.substr(0, sep), op = offset.substr(sep + 1);
  if (!DecimalAtMost(tx, UINT64_MAX)) return false;
  return op == "inf" || DecimalAtMost(op, static_cast<uint64_t>(INT64_MAX));
}

bool IsValidHandle(std::string_view handle) {
  return !handle.empty() && PrintableToken(handle, 256);
}

bool IsValidCursor(std::string_view cursor) { return PrintableToken(cursor, 64); }

std::string FormEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '*' ||
        c == '-' || c == '.' || c == '_') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

const std::string* FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.first == name) return &h.second;
  }
  return nullptr;
}

int64_t RetryAfterMs(const Headers& headers, int64_t now_ms) {
  const std::string* v = FindHeader(headers, proto::kRetryAfter);
  if (v == nullptr || v->empty()) return 0;
  int64_t ms = -1;
  bool digits = std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && v->size() < 12) {
    ms = std::stoll(*v) * 1000;
  } else {
    int64_t at = ParseHttpDate(*v);
    if (at >= 0) ms = at - now_ms;
  }
  if (ms < 0) return 0;
  return std::min<int64_t>(ms, 3600 * 1000);
}

std::string Shape::BuildUrl(const std::string& base_url, bool live) const {
  std::map<std::string, std::string> q;
  q["table"] = def_.table;
  q["offset"] = state_.offset;
  q["log"] = "full";
  if (!state_.handle.empty()) q["handle"] = state_.handle;
  if (!def_.where.empty()) q["where"] = def_.where;
  for (size_t i = 0; i < def_.params.size(); i++) {
    q["params[" + std::to_string(i + 1) + "]"] = def_.params[i];
  }
  if (!def_.columns.empty()) {
    std::string cols;
    for (size_t i = 0; i < def_.columns.size(); i++) {
      if (i > 0) cols += ',';
      cols += QuoteColumn(def_.columns[i]);
    }
    q["columns"] = cols;
  }
  if (def_.replica == "full") q["replica"] = "full";
  if (live) {
    q["live"] = "true";
    q["cursor"] = state_.cursor;
  }
  if (!cache_buster.empty()) q["cache-buster"] = cache_buster;
  if (state_.offset == "-1" && !state_.expired_handle.empty()) {
    q["expired_handle"] = state_.expired_handle;
  }
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/v1/shape?";
  bool first = true;
  for (const auto& kv : q) {
    if (!first) url += '&';
    first = false;
    url += FormEncode(kv.first);
    url += '=';
    url += FormEncode(kv.second);
  }
  return url;
}

void Shape::RefreshColumns() { RefreshColumns(state_.schema_json); }

void Shape::RefreshColumns(const std::string& schema_json) {
  const TableDecl& decl = table_->decl();
  columns_.assign(decl.columns.size(), ShapeColumn());
  for (size_t i = 0; i < decl.columns.size(); i++) {
    columns_[i].cls = decl.columns[i].cls;
    columns_[i].dims = decl.columns[i].dims;
  }
  if (schema_json.empty()) return;
  Result<std::vector<ColumnDecl>> cols = ParseSchemaHeader(schema_json);
  if (!cols.ok()) return;
  for (const ColumnDecl& c : cols.value()) {
    int idx = table_->ColumnIndex(c.name);
    if (idx < 0) continue;
    columns_[idx].cls = c.cls;
    columns_[idx].dims = c.dims;
    columns_[idx].not_null = c.not_null;
  }
}

void Shape::MarkMustRefetch(const std::string& new_handle, Env& env) {
  // A 409 that names the handle we already hold does not expire it.
  if (!state_.handle.empty() && state_.handle != new_handle) state_.expired_handle = state_.handle;
  state_.handle = new_handle;
  state_.offset = "-1";
  state_.cursor.clear();
  state_.schema_json.clear();
  state_.up_to_date = false;
  state_.refetching = true;
  // Like the official client: Date.now()-random; we have no clock, so random.
  uint64_t r = env.RandomU64();
  static const char kHex[] = "0123456789abcdef";
  cache_buster.clear();
  for (int i = 0; i < 12; i++) cache_buster += kHex[(r >> (i * 4)) & 15];
  stale_retries = 0;
  RefreshColumns();
}

int64_t Shape::NextBackoffMs(Env& env, const BackoffOptions& opts, int64_t retry_after_ms) {
  if (backoff_delay_ms_ <= 0) backoff_delay_ms_ = opts.initial_ms;
  int64_t jitter = static_cast<int64_t>(env.RandomUnit() * static_cast<double>(backoff_delay_ms_));
  int64_t wait = std::max(retry_after_ms, std::min(opts.max_ms, jitter));
  backoff_delay_ms_ = std::min<int64_t>(
      opts.max_ms, static_cast<int64_t>(static_cast<double>(backoff_delay_ms_) * opts.multiplier));
  retries_++;
  return wait;
}

int64_t Shape::NextClientStateBackoffMs(Env& env, const BackoffOptions& opts,
                                        int64_t retry_after_ms) {
  client_state_errors_++;
  int64_t delay = std::max<int64_t>(1, opts.initial_ms);
  for (int i = 1; i < client_state_errors_ && delay < opts.max_ms; i++) {
    delay = static_cast<int64_t>(static_cast<double>(delay) * std::max(2.0, opts.multiplier));
  }
  delay = std::min(delay, opts.max_ms);
  int64_t jitter = static_cast<int64_t>(env.RandomUnit() * static_cast<double>(delay / 2));
  return std::max(retry_after_ms, delay - delay / 2 + jitter);
}

bool Shape::RecordNonLiveRequest(const std::string& offset, int64_t now_ms) {
  if (offset != fast_loop_offset_) {
    fast_loop_offset_ = offset;
    fast_loop_times_.clear();
  }
  fast_loop_times_.push_back(now_ms);
  fast_loop_times_.erase(
      std::remove_if(fast_loop_times_.begin(), fast_loop_times_.end(),
                     [&](int64_t t) { return t < now_ms - proto::kFastLoopWindowMs; }),
      fast_loop_times_.end());
  if (static_cast<int>(fast_loop_times_.size()) < proto::kFastLoopRequests) return false;
  fast_loop_times_.clear();
  fast_loop_detections_++;
  return true;
}

Status Shape::Save(Store& store, const ShapeState& state) const {
  EL_ASSIGN_OR_RETURN(
      Stmt * stmt,
      store.Cached("INSERT INTO _el_shapes (id, table_name, definition, handle, \"offset\", cursor,"
                   " schema, up_to_date, refetching, expired_handle, last_synced_at, snapshot_xmin,"
                   " snapshot_xmax, snapshot_xip, last_lsn) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                   " ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT (id) DO UPDATE SET"
                   " table_name = excluded.table_name, definition = excluded.definition,"
                   " handle = excluded.handle, \"offset\" = excluded.\"offset\","
                   " cursor = excluded.cursor, schema = excluded.schema,"
                   " up_to_date = excluded.up_to_date, refetching = excluded.refetching,"
                   " expired_handle = excluded.expired_handle,"
                   " last_synced_at = excluded.last_synced_at,"
                   " snapshot_xmin = excluded.snapshot_xmin, snapshot_xmax = excluded.snapshot_xmax,"
                   " snapshot_xip = excluded.snapshot_xip, last_lsn = excluded.last_lsn"));
  const ShapeState& s = state;
  std::string def = def_.ToJson();
  stmt->BindText(1, def_.id);
  stmt->BindText(2, def_.table);
  stmt->BindText(3, def);
  stmt->BindText(4, s.handle);
  stmt->BindText(5, s.offset);
  stmt->BindText(6, s.cursor);
  stmt->BindText(7, s.schema_json);
  stmt->BindInt64(8, s.up_to_date ? 1 : 0);
  stmt->BindInt64(9, s.refetching ? 1 : 0);
  stmt->BindText(10, s.expired_handle);
  if (s.last_synced_at >= 0) stmt->BindInt64(11, s.last_synced_at);
  else stmt->BindNull(11);
  stmt->BindText(12, s.snapshot_xmin);
  stmt->BindText(13, s.snapshot_xmax);
  stmt->BindText(14, s.snapshot_xip_json);
  stmt->BindText(15, s.last_lsn);
  return stmt->Run();
}

Status Shape::Load(Store& store) {
  // Cached: a reopen loads every persisted shape with it (one prepare, not one each).
  EL_ASSIGN_OR_RETURN(
      Stmt * cached, store.Cached("SELECT handle, \"offset\", cursor, schema, up_to_date, refetching,"
                                  " expired_handle, last_synced_at, snapshot_xmin, snapshot_xmax,"
                                  " snapshot_xip, last_lsn FROM _el_shapes WHERE id = ?1"));
  Stmt& stmt = *cached;
  stmt.BindText(1, def_.id);
  Result<bool> found = stmt.Step();
  if (!found.ok() || !found.value()) {
    stmt.Reset();
    if (!found.ok()) return found.status();
    return Status::NotFound("shape " + def_.id);
  }
  state_.handle = std::string(stmt.ColumnText(0));
  state_.offset = std::string(stmt.ColumnText(1));
  state_.cursor = std::string(stmt.ColumnText(2));
  state_.schema_json = std::string(stmt.ColumnText(3));
  state_.up_to_date = stmt.ColumnInt64(4) != 0;
  state_.refetching = stmt.ColumnInt64(5) != 0;
  state_.expired_handle = std::string(stmt.ColumnText(6));
  state_.last_synced_at = stmt.ColumnIsNull(7) ? -1 : stmt.ColumnInt64(7);
  state_.snapshot_xmin = std::string(stmt.ColumnText(8));
  state_.snapshot_xmax = std::string(stmt.ColumnText(9));
  state_.snapshot_xip_json = std::string(stmt.ColumnText(10));
  state_.last_lsn = std::string(stmt.ColumnText(11));
  stmt.Reset();
  if (state_.offset.empty()) state_.offset = "-1";
  RefreshColumns();
  return Status::Ok();
}

}  // namespace electrolite
