#include "write_schema.h"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cmath>
#include <cstdio>

#include "civil_time.h"
#include "reserved_names.h"
#include "store.h"

namespace electrolite {

namespace {

using json = Json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

// Exact integer from a JSON number or decimal string; nullopt otherwise.
std::optional<int64_t> IntegerOf(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.2e18) {
      return static_cast<int64_t>(d);
    }
    return std::nullopt;
  }
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i == s.size() || s.size() > 20) return std::nullopt;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] < '0' || s[j] > '9') return std::nullopt;
  }
  errno = 0;
  char* end = nullptr;
  const long long r = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0) return std::nullopt;
  return static_cast<int64_t>(r);
}

Status WrongType(const WriteTable& t, const WriteColumn& c, const json& v) {
  std::string got = v.is_string() ? "text \"" + v.get<std::string>() + "\"" : Dump(v);
  if (got.size() > 80) got = got.substr(0, 77) + "...";
  return Status::Schema(t.name + "." + c.name + " expects " + c.pg_type + ", got " + got);
}

std::string SqlString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace

namespace {

// A DEFAULT expression as ParseCreateTables keeps it (no spaces between its
// tokens), as far as the client can evaluate it.
ColumnDefault ClassifyDefault(std::string_view expr) {
  ColumnDefault d;
  if (expr.empty()) return d;
  if (expr[0] == '\'') {
    std::string text;
    size_t i = 1;
    for (; i < expr.size(); ++i) {
      if (expr[i] == '\'') {
        if (i + 1 < expr.size() && expr[i + 1] == '\'') {
          text += '\'';
          ++i;
          continue;
        }
        break;
      }
      text += expr[i];
    }
    d.kind = ColumnDefault::kValue;
    d.value = text;
    return d;
  }
  const std::string word = Lower(expr);
  if (word.rfind("now(", 0) == 0 || word.rfind("current_timestamp", 0) == 0 ||
      word.rfind("localtimestamp", 0) == 0 || word.rfind("transaction_timestamp(", 0) == 0 ||
      word.rfind("statement_timestamp(", 0) == 0 || word.rfind("clock_timestamp(", 0) == 0) {
    d.kind = ColumnDefault::kNow;
  } else if (word.rfind("gen_random_uuid(", 0) == 0 || word.rfind("uuid_generate_v4(", 0) == 0) {
    d.kind = ColumnDefault::kUuid;
  } else if (word == "true" || word == "false") {
    d.kind = ColumnDefault::kValue;
    d.value = word == "true";
  } else if (std::isdigit(static_cast<unsigned char>(word[0])) || word[0] == '-') {
    json n = json::parse(word);
    d.kind = n.is_number() ? ColumnDefault::kValue : ColumnDefault::kServer;
    if (n.is_number()) d.value = n;
  } else {
    d.kind = ColumnDefault::kServer;
  }
  return d;
}

}  // namespace

SchemaDefaults SchemaDefaultsOf(const std::vector<TableDecl>& decls) {
  SchemaDefaults out;
  for (const TableDecl& t : decls) {
    for (const ColumnDecl& c : t.columns) {
      ColumnDefault d = ClassifyDefault(c.default_expr);
      if (d.kind != ColumnDefault::kNone) out[t.name][c.name] = std::move(d);
    }
  }
  return out;
}

Result<WriteTable> WriteTable::FromDecl(const TableDecl& decl, const SchemaDefaults& defaults) {
  WriteTable t;
  t.name = decl.name;
  t.primary_key = decl.primary_key;
  const TableConfig& config = decl.config();
  if (!config.conflict_error.ok()) return config.conflict_error.WithContext(decl.name);
  t.policy = config.conflict;
  auto table_defaults = defaults.find(decl.name);
  for (const ColumnDecl& cd : decl.columns) {
    WriteColumn c;
    c.name = cd.name;
    c.pg_type = cd.pg_type;
    c.cls = cd.cls;
    c.dims = cd.dims;
    c.not_null = cd.not_null;
    if (table_defaults != defaults.end()) {
      auto it = table_defaults->second.find(cd.name);
      if (it != table_defaults->second.end()) c.default_value = it->second;
    }
    t.columns.push_back(std::move(c));
  }
  if (t.primary_key.empty()) {
    return Status::Schema(decl.name + ": a written table needs a primary key");
  }
  return t;
}

ColumnTypes WriteTable::Types() const {
  ColumnTypes types;
  for (const WriteColumn& c : columns) types[c.name] = c.dims > 0 ? c.pg_type + "[]" : c.pg_type;
  return types;
}

int WriteTable::ColumnIndex(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return static_cast<int>(i);
  }
  return -1;
}

bool WriteTable::IsPrimaryKey(std::string_view column) const {
  for (const std::string& k : primary_key) {
    if (k == column) return true;
  }
  return false;
}

std::string Dump(const json& j) { return j.dump(); }

void AppendJsonStringFast(std::string* out, std::string_view s) {
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == '"' || c == '\\') {
      AppendJsonString(out, s);
      return;
    }
  }
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  out->append(s);
  out->push_back('"');
}

Result<json> NormalizeValue(const WriteTable& t, const WriteColumn& c, const json& v) {
  if (v.is_null()) return json();
  if (c.dims > 0 || c.cls == TypeClass::kJson) {
    // Stored as JSON text: JSON text (from SQL / the mirror) is kept as-is,
    // any other JSON value is serialised. Arrays must be JSON arrays.
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      json parsed = json::parse(s);
      if (parsed.is_discarded() || (c.dims > 0 && !parsed.is_array())) {
        if (c.dims > 0) return WrongType(t, c, v);
        return json(Dump(json(s)));  // a bare JSON string value
      }
      return v;
    }
    if (c.dims > 0 && !v.is_array()) return WrongType(t, c, v);
    return json(Dump(v));
  }
  switch (c.cls) {
    case TypeClass::kInteger: {
      if (v.is_boolean()) return WrongType(t, c, v);
      auto i = IntegerOf(v);
      if (!i) return WrongType(t, c, v);
      if (c.pg_type == "int2" && (*i < -32768 || *i > 32767)) return WrongType(t, c, v);
      if (c.pg_type == "int4" && (*i < INT32_MIN || *i > INT32_MAX)) return WrongType(t, c, v);
      return json(*i);
    }
    case TypeClass::kReal: {
      if (v.is_number()) return json(v.get<double>());
      if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        char* end = nullptr;
        const double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end == s.c_str() + s.size()) return json(d);
      }
      return WrongType(t, c, v);
    }
    case TypeClass::kBool: {
      if (v.is_boolean()) return json(v.get<bool>() ? 1 : 0);
      if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1)) {
        return json(v.get<int64_t>());
      }
      if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        if (s == "t" || s == "true") return json(1);
        if (s == "f" || s == "false") return json(0);
      }
      return WrongType(t, c, v);
    }
    case TypeClass::kTimestampTz:
    case TypeClass::kTimestamp:
    case TypeClass::kDate: {
      if (!v.is_string() || !ParseTimestampMicros(v.get_ref<const std::string&>())) {
        return WrongType(t, c, v);
      }
      // The same text the mirror holds for this instant (ISO-8601, UTC 'Z').
      std::string scratch;
      SqlValue out;
      const std::string& s = v.get_ref<const std::string&>();
      if (c.cls != TypeClass::kDate && ConvertPgValue(c.cls, 0, s, &scratch, &out).ok() &&
          out.kind == 3) {
        return json(std::string(out.text));
      }
      return v;
    }
    default:
      if (!v.is_string()) return WrongType(t, c, v);
      if (c.pg_type == "uuid") {
        if (!IsUuid(v.get_ref<const std::string&>())) return WrongType(t, c, v);
        return json(Lower(v.get_ref<const std::string&>()));
      }
      return v;
  }
}

namespace {

// Postgres array input text of a JSON array: {1,2}, {"a b",NULL}, {{1},{2}}.
void AppendPgArray(const json& v, std::string* out) {
  if (v.is_array()) {
    out->push_back('{');
    for (size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendPgArray(v[i], out);
    }
    out->push_back('}');
  } else if (v.is_null()) {
    out->append("NULL");
  } else if (v.is_string()) {
    out->push_back('"');
    for (char ch : v.get_ref<const std::string&>()) {
      if (ch == '"' || ch == '\\') out->push_back('\\');
      out->push_back(ch);
    }
    out->push_back('"');
  } else if (v.is_boolean()) {
    out->append(v.get<bool>() ? "t" : "f");
  } else if (v.is_number()) {
    out->append(v.dump());
  } else {
    std::string text = Dump(v);  // a composite/json element: quoted text
    AppendPgArray(json(text), out);
  }
}

}  // namespace

json ToWire(const WriteColumn& c, const json& v) {
  if (v.is_null()) return v;
  if (c.dims > 0 && v.is_string()) {
    // The mirror keeps arrays as JSON text; the endpoint takes Postgres text.
    json parsed = json::parse(v.get_ref<const std::string&>());
    if (parsed.is_array()) {
      std::string out;
      AppendPgArray(parsed, &out);
      return json(out);
    }
    return v;
  }
  if (c.cls == TypeClass::kJson) {
    if (v.is_string()) {
      json parsed = json::parse(v.get_ref<const std::string&>());
      if (!parsed.is_discarded()) return parsed;
    }
    return v;
  }
  if (c.cls == TypeClass::kBool && v.is_number()) return json(v.get<int64_t>() != 0);
  if (c.cls == TypeClass::kInteger && v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i > (int64_t{1} << 53) || i < -(int64_t{1} << 53)) return json(std::to_string(i));
  }
  return v;
}

json RowToWire(const WriteTable& t, const json& row) {
  json out = json::object();
  for (auto it = row.begin(); it != row.end(); ++it) {
    const int i = t.ColumnIndex(it.key());
    out[it.key()] = i < 0 ? it.value() : ToWire(t.columns[i], it.value());
  }
  return out;
}

Result<json> KeyOf(const WriteTable& t, const json& row) {
  json key = json::object();
  for (const std::string& k : t.primary_key) {
    auto it = row.find(k);
    if (it == row.end() || it->is_null()) {
      return Status::Schema(t.name + ": primary key column " + k + " is missing");
    }
    key[k] = *it;
  }
  return key;
}

std::string WriteTable::OverlayDdl() const {
  const std::string s = QuoteIdent(SyncedName());
  const std::string o = QuoteIdent(OverlayName());
  const std::string v = QuoteIdent(name);
  std::string pk_join, pk_list, cols, merged, overlay_cols, news, olds;
  for (const std::string& k : primary_key) {
    if (!pk_join.empty()) pk_join += " AND ";
    pk_join += "o." + QuoteIdent(k) + " = s." + QuoteIdent(k);
    if (!pk_list.empty()) pk_list += ", ";
    pk_list += QuoteIdent(k);
  }
  std::string flags;
  for (const WriteColumn& c : columns) {
    const std::string q = QuoteIdent(c.name);
    const std::string flag = QuoteIdent(OverlayChangedColumn(c.name));
    // The key is typed like T__synced's: see the view's UNION ALL arm below.
    cols += IsPrimaryKey(c.name) ? q + " " + SqliteTypeFor(c.cls, c.dims) + ", " : q + ", ";
    flags += flag + " INTEGER NOT NULL DEFAULT 0, ";
    if (!merged.empty()) merged += ", ";
    if (IsPrimaryKey(c.name)) {
      // Never changed by the overlay (o.pk = s.pk): plain, so WHERE pk = ?
      // on the view uses T__synced's primary key.
      merged += "s." + q + " AS " + q;
    } else {
      // iif() is CASE WHEN ... END in fewer tokens: every open parses the view
      // (the 7 views were 2.1M of the schema load's 4.1M instructions). Compared
      // with constants, not flag > yield: that costs ~1 % more per row scanned.
      merged += "iif(o." + flag + " = 1 AND o.\"_el_yield\" = 0, o." + q + ", s." + q + ") AS " + q;
    }
    if (!overlay_cols.empty()) overlay_cols += ", ";
    // SQLite flattens a UNION ALL view into the outer query only when each column's
    // affinity agrees across its arms (select.c, restriction 17h): iif() has none, nor has
    // +o.col (an untyped column's is BLOB), and the key columns are typed alike in both
    // tables (so WHERE key = ? still uses both primary keys). Flattened, ORDER BY ... LIMIT
    // on the view sorts only the columns asked for instead of building every merged column
    // of every row first (10,000 rows: 3.3 → 1.5 ms natively).
    overlay_cols += (IsPrimaryKey(c.name) ? "o." : "+o.") + q;
    news += ", NEW." + q;
    olds += ", OLD." + q;
  }
  std::string ddl;
  ddl += "CREATE TABLE IF NOT EXISTS " + o + " (" + cols +
         "\"_el_op\" TEXT NOT NULL, \"_el_write_id\" TEXT NOT NULL, "
         "\"_el_yield\" INTEGER NOT NULL DEFAULT 0, \"_el_seen\" TEXT, " +
         flags + "PRIMARY KEY (" + pk_list + "));\n";
  ddl += "CREATE VIEW " + v + " AS SELECT " + merged + " FROM " + s + " AS s LEFT JOIN " + o +
         " AS o ON " + pk_join +
         " WHERE o.\"_el_op\" IS NULL OR o.\"_el_op\" <> 'delete' OR o.\"_el_yield\" = 1"
         " UNION ALL SELECT " + overlay_cols + " FROM " + o +
         " AS o WHERE o.\"_el_op\" = 'insert' AND NOT EXISTS (SELECT 1 FROM " + s +
         " AS s WHERE " + pk_join + ");\n";
  const std::string lit = SqlString(name);
  auto trig = [&](const char* suffix) { return QuoteIdent("_el_" + name + suffix); };
  ddl += "CREATE TRIGGER " + trig("_ins") + " INSTEAD OF INSERT ON " + v +
         " BEGIN SELECT el_write(" + lit + ", 'insert'" + news + "); END;\n";
  ddl += "CREATE TRIGGER " + trig("_upd") + " INSTEAD OF UPDATE ON " + v +
         " BEGIN SELECT el_write(" + lit + ", 'update'" + news + olds + "); END;\n";
  ddl += "CREATE TRIGGER " + trig("_del") + " INSTEAD OF DELETE ON " + v +
         " BEGIN SELECT el_write(" + lit + ", 'delete'" + olds + "); END;\n";
  return ddl;
}

std::string WriteTable::OverlayDropDdl() const {
  std::string ddl = "DROP VIEW IF EXISTS " + QuoteIdent(name) + ";\n";
  // Earlier builds flagged changes with triggers on T__synced; the write path
  // now compares each overlay row's `_el_seen` copy instead (no per-row cost
  // on ingest).
  for (const char* suffix : {"_si", "_su", "_sd"}) {
    ddl += "DROP TRIGGER IF EXISTS " + QuoteIdent("_el_" + name + suffix) + ";\n";
  }
  return ddl;
}

}  // namespace electrolite
