#include "local_query.h"

#include <sqlite3.h>

#include <cmath>
#include <cstdio>
#include <optional>

#include "json.h"
#include "reserved_names.h"

namespace electrolite {

std::string AppTableName(const char* name) {
  if (name == nullptr) return {};
  std::string n(name);
  if (n.rfind("_el_", 0) == 0 || n.rfind("sqlite_", 0) == 0) return {};
  for (const char* suffix : kTableSuffixes) {
    size_t len = std::char_traits<char>::length(suffix);
    if (n.size() > len && n.compare(n.size() - len, len, suffix) == 0) {
      return n.substr(0, n.size() - len);
    }
  }
  return n;
}

namespace {

int Authorizer(void* arg, int action, const char* a3, const char* a4, const char* db,
               const char* trigger) {
  auto* q = static_cast<QueryOutcome*>(arg);
  switch (action) {
    case SQLITE_READ: {
      std::string t = AppTableName(a3);
      if (!t.empty()) q->tables_read.insert(t);
      break;
    }
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE: {
      std::string t = AppTableName(a3);
      if (!t.empty()) {
        q->tables_written.insert(t);
        q->relations_written.insert(a3);
      }
      break;
    }
    default:
      break;
  }
  return SQLITE_OK;
}

Status BindParams(Stmt& stmt, std::string_view params_json) {
  if (params_json.empty()) return Status::Ok();
  Json p = Json::parse(params_json);
  if (p.is_discarded()) return Status::InvalidArgument("params is not valid JSON");
  if (p.is_null()) return Status::Ok();
  if (!p.is_array()) return Status::InvalidArgument("params must be a JSON array");
  int n = sqlite3_bind_parameter_count(stmt.raw());
  if (static_cast<int>(p.size()) > n) {
    return Status::InvalidArgument("too many params: statement takes " + std::to_string(n));
  }
  for (size_t i = 0; i < p.size(); i++) {
    const Json& v = p[i];
    int idx = static_cast<int>(i + 1);
    if (v.is_null()) stmt.BindNull(idx);
    else if (v.is_boolean()) stmt.BindInt64(idx, v.get<bool>() ? 1 : 0);
    else if (v.is_number_integer()) stmt.BindInt64(idx, v.get<int64_t>());
    else if (v.is_number_unsigned()) stmt.BindInt64(idx, static_cast<int64_t>(v.get<uint64_t>()));
    else if (v.is_number_float()) stmt.BindDouble(idx, v.get<double>());
    else if (v.is_string()) stmt.BindText(idx, v.get<std::string>());
    else stmt.BindText(idx, v.dump());  // objects/arrays as JSON text
  }
  return Status::Ok();
}

void AppendValue(std::string* out, const Stmt& stmt, int col) {
  switch (stmt.ColumnType(col)) {
    case SQLITE_NULL: out->append("null"); break;
    case SQLITE_INTEGER: {
      int64_t v = stmt.ColumnInt64(col);
      const int64_t kSafe = 9007199254740991LL;  // 2^53 - 1
      if (v > kSafe || v < -kSafe) {
        out->push_back('"');
        out->append(std::to_string(v));
        out->push_back('"');
      } else {
        out->append(std::to_string(v));
      }
      break;
    }
    case SQLITE_FLOAT: {
      double d = stmt.ColumnDouble(col);
      if (!std::isfinite(d)) {
        out->append(std::isnan(d) ? "\"NaN\"" : d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
      } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", d);
        out->append(buf);
      }
      break;
    }
    case SQLITE_BLOB: {
      static const char kHex[] = "0123456789abcdef";
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(stmt.raw(), col));
      int n = sqlite3_column_bytes(stmt.raw(), col);
      out->append("\"\\\\x");
      for (int i = 0; i < n; i++) {
        out->push_back(kHex[p[i] >> 4]);
        out->push_back(kHex[p[i] & 15]);
      }
      out->push_back('"');
      break;
    }
    default:
      AppendJsonString(out, stmt.ColumnText(col));
  }
}

std::string TablesJson(const std::set<std::string>& a, const std::set<std::string>* b) {
  std::set<std::string> all = a;
  if (b != nullptr) all.insert(b->begin(), b->end());
  std::string out = "[";
  bool first = true;
  for (const auto& t : all) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(&out, t);
  }
  return out + "]";
}

// Binds, steps and collects rows. `columns`: whether q->columns_json must
// be built (a cached statement brings its own).
Status RunPrepared(Store& store, Stmt& stmt, std::string_view params_json, bool columns,
                   QueryOutcome* q) {
  EL_RETURN_IF_ERROR(BindParams(stmt, params_json));
  int ncol = stmt.ColumnCount();
  if (columns) {
    q->columns_json = "[";
    for (int i = 0; i < ncol; i++) {
      if (i > 0) q->columns_json += ',';
      AppendJsonString(&q->columns_json, stmt.ColumnName(i));
    }
    q->columns_json += "]";
  }
  std::string rows = "[";
  bool first = true;
  for (;;) {
    EL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    if (!first) rows += ',';
    first = false;
    rows += '[';
    for (int i = 0; i < ncol; i++) {
      if (i > 0) rows += ',';
      AppendValue(&rows, stmt, i);
    }
    rows += ']';
  }
  rows += ']';
  q->rows_json = std::move(rows);
  q->changes = sqlite3_stmt_readonly(stmt.raw()) ? 0 : store.Changes();
  return Status::Ok();
}

}  // namespace

Result<QueryOutcome> RunStatement(Store& store, std::string_view sql,
                                  std::string_view params_json, StatementCache* cache) {
  QueryOutcome q;
  StatementCache::Entry entry;
  std::optional<StatementCache::Entry> cached;
  if (cache != nullptr) cached = cache->Take(sql);
  if (cached) {
    entry = std::move(*cached);
    q.columns_json = entry.columns_json;
    q.tables_read = entry.tables_read;
    q.tables_written = entry.tables_written;
    q.relations_written = entry.relations_written;
  } else {
    sqlite3_set_authorizer(store.raw(), Authorizer, &q);
    Result<Stmt> prepared = store.Prepare(sql);
    sqlite3_set_authorizer(store.raw(), nullptr, nullptr);
    if (!prepared.ok()) return prepared.status();
    entry.stmt = std::move(prepared).value();
    entry.schema_version = cache != nullptr ? cache->schema_version() : -1;
  }
  Stmt& stmt = entry.stmt;
  Status s = RunPrepared(store, stmt, params_json, !cached, &q);
  const bool read_only = sqlite3_stmt_readonly(stmt.raw()) != 0;
  stmt.Reset();
  if (cache != nullptr) {
    if (!cached) {
      entry.columns_json = q.columns_json;
      entry.tables_read = q.tables_read;
      entry.tables_written = q.tables_written;
      entry.relations_written = q.relations_written;
    }
    cache->Put(sql, std::move(entry), !read_only);
  }
  if (!s.ok()) return s;
  return q;
}

std::string QueryResultJson(const QueryOutcome& q) {
  return "{\"ok\":true,\"columns\":" + q.columns_json + ",\"rows\":" + q.rows_json +
         ",\"tables\":" + TablesJson(q.tables_read, nullptr) + "}";
}

std::string ExecResultJson(const QueryOutcome& q) {
  return "{\"ok\":true,\"changes\":" + std::to_string(q.changes) +
         ",\"tables\":" + TablesJson(q.tables_written, nullptr) + "}";
}

}  // namespace electrolite
