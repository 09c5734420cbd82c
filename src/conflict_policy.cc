#include "conflict_policy.h"

#include <cmath>
#include <cstdlib>

namespace electrolite {

namespace {

using json = Json;

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

const json& Field(const json* row, const std::string& column) {
  static const json kNull;
  if (row == nullptr || !row->is_object()) return kNull;
  auto it = row->find(column);
  return it == row->end() ? kNull : *it;
}

Verdict Applied(RowAction action, bool conflict) {
  Verdict v;
  v.outcome = Outcome::kApplied;
  v.action = action;
  v.conflict = conflict;
  return v;
}

Verdict Rejected(const char* reason, bool conflict) {
  Verdict v;
  v.outcome = Outcome::kRejected;
  v.reason = reason;
  v.conflict = conflict;
  return v;
}

}  // namespace

const char* PolicyName(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kLastWriteWins: return "last-write-wins";
    case PolicyKind::kServerWins: return "server-wins";
    case PolicyKind::kImportance: return "importance";
    case PolicyKind::kCustom: return "custom";
  }
  return "server-wins";
}

Result<TablePolicy> TablePolicy::FromJson(const json& entry) {
  TablePolicy p;
  if (!entry.is_object()) return Status::InvalidArgument("policy entry must be an object");
  auto it = entry.find("policy");
  if (it != entry.end()) {
    if (!it->is_string()) return Status::InvalidArgument("policy must be a string");
    const std::string& name = it->get_ref<const std::string&>();
    if (name == "last-write-wins") {
      p.kind = PolicyKind::kLastWriteWins;
    } else if (name == "server-wins") {
      p.kind = PolicyKind::kServerWins;
    } else if (name == "importance") {
      p.kind = PolicyKind::kImportance;
    } else if (name == "custom") {
      p.kind = PolicyKind::kCustom;
    } else {
      return Status::InvalidArgument("unknown conflict policy \"" + name + "\"");
    }
  }
  it = entry.find("writable");
  if (it != entry.end()) {
    if (!it->is_boolean()) return Status::InvalidArgument("writable must be a boolean");
    p.writable = it->get<bool>();
  }
  it = entry.find("timestamp");
  if (it != entry.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      return Status::InvalidArgument("timestamp must be a column name");
    }
    p.timestamp_column = it->get<std::string>();
  }
  it = entry.find("order");
  if (it != entry.end()) {
    if (!it->is_array()) return Status::InvalidArgument("order must be an array of columns");
    for (const json& c : *it) {
      if (!c.is_string()) return Status::InvalidArgument("order must be an array of columns");
      p.order.push_back(c.get<std::string>());
    }
  }
  if (p.kind == PolicyKind::kImportance && p.order.empty()) {
    p.order = {"importance", "last_accessed_at", "updated_at"};
  }
  return p;
}

std::optional<int64_t> ParseTimestampMicros(std::string_view s) {
  // YYYY-MM-DD
  int year, month, day;
  if (s.size() < 10 || !ParseDigits(s, 0, 4, &year) || s[4] != '-' ||
      !ParseDigits(s, 5, 2, &month) || s[7] != '-' || !ParseDigits(s, 8, 2, &day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  int64_t micros = DaysFromCivil(year, month, day) * 86400LL * 1000000LL;
  size_t pos = 10;
  if (pos == s.size()) return micros;
  if (s[pos] != ' ' && s[pos] != 'T' && s[pos] != 't') return std::nullopt;
  ++pos;
  int hh, mm, ss = 0;
  if (!ParseDigits(s, pos, 2, &hh) || pos + 2 >= s.size() || s[pos + 2] != ':' ||
      !ParseDigits(s, pos + 3, 2, &mm)) {
    return std::nullopt;
  }
  pos += 5;
  if (pos < s.size() && s[pos] == ':') {
    if (!ParseDigits(s, pos + 1, 2, &ss)) return std::nullopt;
    pos += 3;
  }
  if (hh > 24 || mm > 59 || ss > 60) return std::nullopt;
  micros += ((hh * 60LL + mm) * 60LL + ss) * 1000000LL;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t frac = 0, scale = 100000;
    size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) frac += (s[pos] - '0') * scale;
      scale /= 10;
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    micros += frac;
  }
  if (pos == s.size()) return micros;
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size() ? std::optional(micros)
                                                                 : std::nullopt;
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  const int sign = s[pos] == '-' ? -1 : 1;
  int oh, om = 0, os = 0;
  if (!ParseDigits(s, pos + 1, 2, &oh)) return std::nullopt;
  pos += 3;
  if (pos < s.size()) {
    if (s[pos] == ':') ++pos;
    if (!ParseDigits(s, pos, 2, &om)) return std::nullopt;
    pos += 2;
    if (pos < s.size()) {
      if (s[pos] != ':' || !ParseDigits(s, pos + 1, 2, &os)) return std::nullopt;
      pos += 3;
    }
  }
  if (pos != s.size()) return std::nullopt;
  // Local time = UTC + offset, so UTC = local - offset.
  micros -= sign * ((oh * 60LL + om) * 60LL + os) * 1000000LL;
  return micros;
}

bool BaseMatches(const ColumnTypes& types, const json& base, const json* server_row) {
  if (!base.is_object() || base.empty()) return true;
  if (server_row == nullptr || !server_row->is_object()) return false;
  for (auto it = base.begin(); it != base.end(); ++it) {
    if (CompareColumn(types, it.key(), it.value(), Field(server_row, it.key())) != 0) return false;
  }
  return true;
}

Verdict DecideWrite(const TablePolicy& policy, const ColumnTypes& types, const WriteCase& c) {
  if (!policy.writable) return Rejected("read_only", false);  // R0
  const RowAction win = c.op == WriteOp::kDelete ? RowAction::kDelete : RowAction::kUpdate;
  if (c.server == nullptr) {  // R2
    if (c.op == WriteOp::kInsert) return Applied(RowAction::kInsert, false);
    if (c.op == WriteOp::kDelete) return Applied(RowAction::kNone, false);
    return Rejected("not_found", false);
  }
  // R3
  const bool conflict = c.op == WriteOp::kInsert || c.base == nullptr ||
                        !BaseMatches(types, *c.base, c.server);
  if (!conflict) return Applied(win, false);
  // R4, then R5 on a tie.
  int order = 0;
  if (policy.kind == PolicyKind::kLastWriteWins && types.count(policy.timestamp_column) != 0) {
    const std::string& ts = policy.timestamp_column;
    const json* value = c.value;
    const bool stamped = value != nullptr && value->is_object() && value->contains(ts);
    const json& t_in = stamped || c.now == nullptr ? Field(value, ts) : *c.now;
    order = CompareColumn(types, ts, t_in, Field(c.server, ts));
    if (order < 0) return Rejected("stale", true);
  } else if (policy.kind == PolicyKind::kImportance) {
    if (c.op == WriteOp::kDelete) return Rejected("conflict", true);
    json candidate = *c.server;
    if (c.value != nullptr && c.value->is_object()) {
      for (auto it = c.value->begin(); it != c.value->end(); ++it) candidate[it.key()] = it.value();
    }
    for (const std::string& column : policy.order) {
      if (types.count(column) == 0) continue;  // the endpoint skips columns T lacks
      order = CompareColumn(types, column, Field(&candidate, column), Field(c.server, column));
      if (order != 0) break;
    }
    if (order < 0) return Rejected("lower_importance", true);
  } else {
    return Rejected("conflict", true);  // server-wins, custom
  }
  if (order > 0) return Applied(win, true);
  if (!c.last_writer) {
    Verdict v;
    v.outcome = Outcome::kNeedLastWriter;
    v.conflict = true;
    return v;
  }
  const LastWriter& w = *c.last_writer;
  if (!w.id.empty() && (w.same_request || c.mutation_id > std::string_view(w.id))) {
    return Applied(win, true);
  }
  return Rejected("stale", true);
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApplied: return "applied";
    case Outcome::kRejected: return "rejected";
    case Outcome::kNeedLastWriter: return "needLastWriter";
  }
  return "rejected";
}

const char* RowActionName(RowAction action) {
  switch (action) {
    case RowAction::kNone: return "none";
    case RowAction::kInsert: return "insert";
    case RowAction::kUpdate: return "update";
    case RowAction::kDelete: return "delete";
  }
  return "none";
}

std::string DecideWriteJson(std::string_view case_json) {
  const json in = json::parse(case_json);
  if (!in.is_object()) return Status::InvalidArgument("decideWrite: expected a JSON object").ToJson();
  auto entry = in.find("policy");
  Result<TablePolicy> policy =
      TablePolicy::FromJson(entry != in.end() ? *entry : json::object());
  if (!policy.ok()) return policy.status().ToJson();
  ColumnTypes types;
  if (auto it = in.find("types"); it != in.end() && it->is_object()) {
    for (auto t = it->begin(); t != it->end(); ++t) {
      if (t.value().is_string()) types[t.key()] = t.value().get<std::string>();
    }
  }
  WriteCase c;
  const std::string op = JsonStr(in, "op");
  if (op == "insert") {
    c.op = WriteOp::kInsert;
  } else if (op == "update") {
    c.op = WriteOp::kUpdate;
  } else if (op == "delete") {
    c.op = WriteOp::kDelete;
  } else {
    return Status::InvalidArgument("decideWrite: op must be insert, update or delete").ToJson();
  }
  const std::string id = JsonStr(in, "id");
  c.mutation_id = id;
  auto object = [&](const char* name) -> const json* {
    auto it = in.find(name);
    return it != in.end() && it->is_object() ? &*it : nullptr;
  };
  c.value = object("value");
  c.base = object("base");
  c.server = object("server");
  if (auto it = in.find("now"); it != in.end() && !it->is_null()) c.now = &*it;
  if (auto it = in.find("lastWriter"); it != in.end()) {
    LastWriter w;
    if (it->is_object()) {
      w.id = JsonStr(*it, "id");
      w.same_request = JsonBool(*it, "sameRequest", false);
    }
    c.last_writer = w;
  }
  const Verdict v = DecideWrite(policy.value(), types, c);
  json out = {{"ok", true},
              {"status", OutcomeName(v.outcome)},
              {"action", RowActionName(v.action)},
              {"conflict", v.conflict}};
  if (*v.reason != '\0') out["reason"] = v.reason;
  return out.dump();
}

}  // namespace electrolite
