#include "statement_cache.h"

namespace electrolite {

void StatementCache::CheckSchema() {
  // main's and temp's versions in one number (each grows by one per change).
  int64_t version = 0;
  for (const char* sql : {"PRAGMA main.schema_version", "PRAGMA temp.schema_version"}) {
    Result<Stmt*> st = store_->Cached(sql);
    Result<bool> row = st.ok() ? st.value()->Step() : Result<bool>(st.status());
    const bool ok = row.ok() && row.value();
    if (ok) version = version * 1000003 + st.value()->ColumnInt64(0);
    if (st.ok()) st.value()->Reset();
    if (!ok) {
      version = -1;
      break;
    }
  }
  if (version != schema_version_ || version < 0) entries_.clear();
  schema_version_ = version;
}

std::optional<StatementCache::Entry> StatementCache::Take(std::string_view sql) {
  CheckSchema();
  auto it = entries_.find(std::string(sql));
  if (it == entries_.end()) return std::nullopt;
  std::optional<Entry> out(std::move(it->second));
  entries_.erase(it);
  return out;
}

void StatementCache::Put(std::string_view sql, Entry entry, bool may_have_changed_schema) {
  if (may_have_changed_schema) CheckSchema();
  if (entry.schema_version < 0 || entry.schema_version != schema_version_) return;
  std::string key(sql);
  if (entries_.count(key) != 0) return;
  if (entries_.size() >= kMaxEntries) {
    auto oldest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.last_use < oldest->second.last_use) oldest = it;
    }
    entries_.erase(oldest);
  }
  entry.last_use = ++clock_;
  entries_.emplace(std::move(key), std::move(entry));
}

}  // namespace electrolite
