#include "conflict_policy.h"

#include <cmath>
#include <cstdlib>

namespace electrolite {

namespace {

using json = Json;

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
