#include "retention.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "civil_time.h"
#include "json.h"
#include "store.h"

namespace electrolite {

namespace {

std::string SqlString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string TriggerName(const std::string& table) { return QuoteIdent(table + "__el_keep_out"); }
std::string IndexName(const std::string& table) { return QuoteIdent(table + "__el_retain_idx"); }

// json_array(<prefix>"a", <prefix>"b"): the tombstone key of a row.
std::string KeyExpr(const std::vector<std::string>& pk, const std::string& prefix) {
  std::string out = "json_array(";
  for (size_t i = 0; i < pk.size(); i++) {
    if (i > 0) out += ", ";
    out += prefix + QuoteIdent(pk[i]);
  }
  return out + ")";
}

std::string PkMatch(const std::vector<std::string>& pk, const std::string& a,
                    const std::string& b) {
  std::string out;
  for (size_t i = 0; i < pk.size(); i++) {
    if (i > 0) out += " AND ";
    out += a + QuoteIdent(pk[i]) + " = " + b + QuoteIdent(pk[i]);
  }
  return out;
}

}  // namespace

std::string IsoUtcFromMs(int64_t ms) {
  int64_t days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
  int64_t rem = ms - days * 86400000;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  if (y < 0) y = 0;
  if (y > 9999) y = 9999;
  char buf[40];
  snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(y), m, d,
           static_cast<int>(rem / 3600000), static_cast<int>((rem / 60000) % 60),
           static_cast<int>((rem / 1000) % 60), static_cast<int>(rem % 1000));
  return buf;
}

Result<std::vector<RetentionRule>> RetentionRulesFromDecls(const std::vector<TableDecl>& decls) {
  std::vector<RetentionRule> rules;
  for (const TableDecl& d : decls) {
    const TableConfig& c = d.config();
    EL_RETURN_IF_ERROR(c.retention_error);
    if (!c.retention_column.empty()) {
      if (!d.columns.empty() && d.FindColumn(c.retention_column) == nullptr) {
        return Status::InvalidArgument("policies." + d.name + ".retention.column: " +
                                       c.retention_column + " is not a column of " + d.name);
      }
      rules.push_back({d.name, c.retention_column, c.retention_max_age_ms});
    }
    EL_RETURN_IF_ERROR(c.expires_error);
    if (!c.expires_column.empty()) {
      if (!d.columns.empty() && d.FindColumn(c.expires_column) == nullptr) {
        return Status::InvalidArgument("policies." + d.name + ".expires_column: " +
                                       c.expires_column + " is not a column of " + d.name);
      }
      rules.push_back({d.name, c.expires_column, 0});
    }
  }
  return rules;
}

Retention::Retention(Store* store, std::vector<RetentionRule> rules, RetentionOptions options)
    : store_(store), rules_(std::move(rules)), options_(options) {}

Status Retention::Init(int64_t now_ms) {
  EL_RETURN_IF_ERROR(store_->ExecSchema(
      "schema:retention",
      "CREATE TABLE IF NOT EXISTS _el_pruned (tbl TEXT NOT NULL, key TEXT NOT NULL,"
      " pruned_at INTEGER NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS _el_retention_cutoff (tbl TEXT PRIMARY KEY, cutoff)"));
  // Keep-out triggers of tables whose rule was removed.
  EL_ASSIGN_OR_RETURN(Stmt stmt, store_->Prepare(
                                     "SELECT name, tbl_name FROM sqlite_master WHERE type = "
                                     "'trigger' AND name LIKE '%\\_\\_el\\_keep\\_out' ESCAPE '\\'"));
  std::vector<std::pair<std::string, std::string>> stale;
  for (;;) {
    EL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    std::string name(stmt.ColumnText(0));
    std::string table = name.substr(0, name.size() - std::string("__el_keep_out").size());
    bool ruled = std::any_of(rules_.begin(), rules_.end(),
                             [&](const RetentionRule& r) { return r.table == table; });
    if (!ruled) stale.emplace_back(name, table);
  }
  for (const auto& s : stale) {
    EL_RETURN_IF_ERROR(store_->Exec("DROP TRIGGER IF EXISTS " + QuoteIdent(s.first)));
    Result<Stmt*> del = store_->Cached("DELETE FROM _el_pruned WHERE tbl = ?1");
    if (!del.ok()) return del.status();
    del.value()->BindText(1, s.second);
    EL_RETURN_IF_ERROR(del.value()->Run());
  }
  next_run_ms_ = now_ms;
  return Status::Ok();
}

void Retention::SetTableInfo(const std::string& table, std::vector<std::string> pk,
                             bool integer_column) {
  TableInfo& info = info_[table];
  if (info.known && info.pk == pk && info.integer_column == integer_column) return;
  info.pk = std::move(pk);
  info.integer_column = integer_column;
  info.known = !info.pk.empty();
  info.trigger_ready = false;
}

void Retention::NoteApplied(const std::string& table, int64_t now_ms) {
  for (const RetentionRule& r : rules_) {
    if (r.table == table) {
      next_run_ms_ = std::min(next_run_ms_, now_ms);
      return;
    }
  }
}

Status Retention::EnsureKeepOut(const RetentionRule& rule, TableInfo* info) {
  const std::string& t = rule.table;
  EL_ASSIGN_OR_RETURN(bool overlay, store_->TableExists(t + "__overlay"));
  if (info->trigger_ready && info->trigger_with_overlay == overlay) return Status::Ok();
  const std::string synced = QuoteIdent(t + "__synced");
  // Kept out only while still past the cutoff of the last run: a row whose time
  // moved (an expiry extended on the server) comes back with the next full copy.
  const std::string col = "NEW." + QuoteIdent(rule.column);
  std::string when = "EXISTS (SELECT 1 FROM _el_pruned WHERE tbl = " + SqlString(t) +
                     " AND key = " + KeyExpr(info->pk, "NEW.") + ") AND " + col +
                     " IS NOT NULL AND " + col + (rule.max_age_ms > 0 ? " < " : " <= ") +
                     "(SELECT cutoff FROM _el_retention_cutoff WHERE tbl = " + SqlString(t) + ")";
  if (overlay) {
    when += " AND NOT EXISTS (SELECT 1 FROM " + QuoteIdent(t + "__overlay") + " AS o WHERE " +
            PkMatch(info->pk, "o.", "NEW.") + ")";
  }
  std::string del_where;
  for (size_t i = 0; i < info->pk.size(); i++) {
    if (i > 0) del_where += " AND ";
    del_where += QuoteIdent(info->pk[i]) + " = NEW." + QuoteIdent(info->pk[i]);
  }
  std::string sql = "DROP TRIGGER IF EXISTS " + TriggerName(t) + ";\nCREATE TRIGGER " +
                    TriggerName(t) + " AFTER INSERT ON " + synced + " WHEN " + when +
                    " BEGIN DELETE FROM " + synced + " WHERE " + del_where + "; END;\n" +
                    "CREATE INDEX IF NOT EXISTS " + IndexName(t) + " ON " + synced + " (" +
                    QuoteIdent(rule.column) + ");";
  EL_RETURN_IF_ERROR(store_->Exec(sql).WithContext("retention of " + t));
  info->trigger_ready = true;
  info->trigger_with_overlay = overlay;
  return Status::Ok();
}

Status Retention::PruneBatch(const RetentionRule& rule, TableInfo* info, int64_t now_ms,
                             int64_t* pruned, bool* more) {
  const std::string& t = rule.table;
  const std::string synced = QuoteIdent(t + "__synced");
  const std::string col = "s." + QuoteIdent(rule.column);
  int64_t cutoff_ms = rule.max_age_ms > 0 ? now_ms - rule.max_age_ms : now_ms;
  std::string cmp = rule.max_age_ms > 0 ? " < ?1" : " <= ?1";
  std::string sql = "SELECT s.rowid, " + KeyExpr(info->pk, "s.") + " FROM " + synced +
                    " AS s WHERE " + col + " IS NOT NULL AND " + col + cmp;
  EL_ASSIGN_OR_RETURN(bool overlay, store_->TableExists(t + "__overlay"));
  if (overlay) {
    sql += " AND NOT EXISTS (SELECT 1 FROM " + QuoteIdent(t + "__overlay") + " AS o WHERE " +
           PkMatch(info->pk, "o.", "s.") + ")";
  }
  sql += " LIMIT " + std::to_string(options_.batch_size);
  EL_ASSIGN_OR_RETURN(Stmt* cut, store_->Cached(
                                     "INSERT OR REPLACE INTO _el_retention_cutoff (tbl, cutoff) "
                                     "VALUES (?1, ?2)"));
  cut->BindText(1, t);
  if (info->integer_column) cut->BindInt64(2, cutoff_ms);
  else cut->BindText(2, IsoUtcFromMs(cutoff_ms));
  EL_RETURN_IF_ERROR(cut->Run());
  EL_ASSIGN_OR_RETURN(Stmt* sel, store_->Cached(sql));
  if (info->integer_column) sel->BindInt64(1, cutoff_ms);
  else sel->BindText(1, IsoUtcFromMs(cutoff_ms));
  std::vector<std::pair<int64_t, std::string>> victims;
  for (;;) {
    Result<bool> row = sel->Step();
    if (!row.ok()) {
      sel->Reset();
      return row.status();
    }
    if (!row.value()) break;
    victims.emplace_back(sel->ColumnInt64(0), std::string(sel->ColumnText(1)));
  }
  sel->Reset();
  *more = static_cast<int>(victims.size()) >= options_.batch_size;
  *pruned = 0;
  if (victims.empty()) return Status::Ok();
  EL_ASSIGN_OR_RETURN(Stmt* del, store_->Cached("DELETE FROM " + synced + " WHERE rowid = ?1"));
  EL_ASSIGN_OR_RETURN(Stmt* tomb, store_->Cached(
                                      "INSERT OR REPLACE INTO _el_pruned (tbl, key, pruned_at) "
                                      "VALUES (?1, ?2, ?3)"));
  for (const auto& v : victims) {
    del->BindInt64(1, v.first);
    EL_RETURN_IF_ERROR(del->Run());
    tomb->BindText(1, t);
    tomb->BindText(2, v.second);
    tomb->BindInt64(3, now_ms);
    EL_RETURN_IF_ERROR(tomb->Run());
  }
  *pruned = static_cast<int64_t>(victims.size());
  return Status::Ok();
}

Status Retention::Run(int64_t now_ms, std::set<std::string>* changed) {
  if (rules_.empty() || now_ms < next_run_ms_) return Status::Ok();
  if (store_->InTransaction()) {
    next_run_ms_ = now_ms + 50;  // an app transaction is open: try again shortly
    return Status::Ok();
  }
  runs_++;
  bool more = false;
  Status result;
  for (const RetentionRule& rule : rules_) {
    auto it = info_.find(rule.table);
    if (it == info_.end() || !it->second.known) continue;  // not materialized yet
    TableInfo& info = it->second;
    Txn txn(store_);
    Status s = txn.Begin();
    if (s.ok()) s = EnsureKeepOut(rule, &info);
    int64_t pruned = 0;
    bool full = false;
    if (s.ok()) s = PruneBatch(rule, &info, now_ms, &pruned, &full);
    if (s.ok()) s = txn.Commit();
    if (!s.ok()) {
      info.trigger_ready = false;  // re-checked on the next run
      if (result.ok()) result = s.WithContext("retention of " + rule.table);
      continue;
    }
    if (pruned > 0) {
      rows_pruned_ += pruned;
      by_table_[rule.table] += pruned;
      changed->insert(rule.table);
    }
    more = more || full;
  }
  // Forget old tombstones.
  Result<Stmt*> gc = store_->Cached("DELETE FROM _el_pruned WHERE pruned_at < ?1");
  if (gc.ok()) {
    gc.value()->BindInt64(1, now_ms - options_.tombstone_ttl_ms);
    Status s = gc.value()->Run();
    if (!s.ok() && result.ok()) result = s;
  } else if (result.ok()) {
    result = gc.status();
  }
  // A full batch: continue right after the host's next turn; otherwise wait.
  next_run_ms_ = now_ms + (more ? 0 : options_.interval_ms);
  if (!result.ok()) next_run_ms_ = now_ms + options_.interval_ms;
  return result;
}

}  // namespace electrolite
