#include "change_set.h"

#include <cmath>
#include <cstdio>

#include "pg_value.h"
#include "status.h"

namespace electrolite {

bool AppendKeyInt(std::string* out, int64_t v) {
  const int64_t kSafe = 9007199254740991LL;  // 2^53 - 1, as local_query.cc
  if (v > kSafe || v < -kSafe) return false;
  out->append(std::to_string(v));
  return true;
}

bool AppendKeyReal(std::string* out, double d) {
  if (!std::isfinite(d)) return false;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  out->append(buf);
  return true;
}

bool AppendKeyValue(std::string* out, const SqlValue& v) {
  switch (v.kind) {
    case 1: return AppendKeyInt(out, v.i);
    case 2: return AppendKeyReal(out, v.d);
    case 3: AppendJsonString(out, v.text); return true;
    default: return false;
  }
}

void ChangeSet::AddKey(std::string_view table, const std::vector<std::string>& columns,
                       std::string key_json) {
  auto it = tables_.find(table);
  if (it == tables_.end()) it = tables_.emplace(std::string(table), Entry{}).first;
  Entry& e = it->second;
  if (e.unknown) return;
  if (e.keys.size() >= kMaxKeys && e.keys.count(key_json) == 0) {
    e.unknown = true;
    e.keys.clear();
    return;
  }
  if (e.columns.empty()) e.columns = columns;
  e.keys.insert(std::move(key_json));
}

void ChangeSet::AddUnknown(std::string_view table) {
  auto it = tables_.find(table);
  if (it == tables_.end()) it = tables_.emplace(std::string(table), Entry{}).first;
  it->second.unknown = true;
  it->second.keys.clear();
}

void ChangeSet::Merge(const ChangeSet& other) {
  for (const auto& [table, e] : other.tables_) {
    if (e.unknown) {
      AddUnknown(table);
      continue;
    }
    for (const std::string& k : e.keys) AddKey(table, e.columns, k);
  }
}

bool ChangeSet::Unknown(std::string_view table) const {
  auto it = tables_.find(table);
  return it != tables_.end() && it->second.unknown;
}

std::vector<std::string> ChangeSet::Keys(std::string_view table) const {
  auto it = tables_.find(table);
  if (it == tables_.end() || it->second.unknown) return {};
  return {it->second.keys.begin(), it->second.keys.end()};
}

std::string ChangeSet::EventJson() const {
  std::string ev = "{\"type\":\"tables-changed\",\"tables\":[";
  bool first = true;
  for (const auto& [table, e] : tables_) {
    if (!first) ev += ',';
    first = false;
    AppendJsonString(&ev, table);
  }
  ev += "],\"keys\":{";
  first = true;
  for (const auto& [table, e] : tables_) {
    if (e.unknown || e.columns.empty()) continue;
    if (!first) ev += ',';
    first = false;
    AppendJsonString(&ev, table);
    ev += ":{\"columns\":[";
    for (size_t i = 0; i < e.columns.size(); ++i) {
      if (i > 0) ev += ',';
      AppendJsonString(&ev, e.columns[i]);
    }
    ev += "],\"rows\":[";
    bool first_key = true;
    for (const std::string& k : e.keys) {
      if (!first_key) ev += ',';
      first_key = false;
      ev += k;
    }
    ev += "]}";
  }
  return ev + "}}";
}

void KeyCollector::AddTo(ChangeSet* out, std::string_view table,
                         const std::vector<std::string>& columns) const {
  if (unknown_) {
    out->AddUnknown(table);
    return;
  }
  for (const std::string& k : keys_) out->AddKey(table, columns, k);
}

}  // namespace electrolite
