#include "table_decl.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "engine.h"
#include "json.h"
#include "reserved_names.h"
#include "shape_def.h"

namespace electrolite {

using json = Json;

namespace {

// A minimal SQL lexer: identifiers (quoted or not, unquoted ones lower-cased),
// punctuation, strings and numbers. Comments are skipped.
struct Tok {
  enum Kind { kEnd, kIdent, kPunct, kString, kNumber } kind = kEnd;
  std::string text;
  bool quoted = false;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  Tok Next() {
    SkipSpace();
    Tok t;
    if (pos_ >= s_.size()) return t;
    char c = s_[pos_];
    if (c == '"' || c == '\'') {
      t.kind = c == '"' ? Tok::kIdent : Tok::kString;
      t.quoted = c == '"';
      pos_++;
      t.text = ReadQuoted(c);
      return t;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      t.kind = Tok::kIdent;
      while (pos_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' ||
              s_[pos_] == '$')) {
        t.text += static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_++])));
      }
      return t;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      t.kind = Tok::kNumber;
      while (pos_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.')) {
        t.text += s_[pos_++];
      }
      return t;
    }
    t.kind = Tok::kPunct;
    t.text = std::string(1, c);
    pos_++;
    return t;
  }

 private:
  // The body of a quoted token after its opening `quote`, a doubled quote standing for one;
  // stops after the closing quote (or at the end of the text).
  std::string ReadQuoted(char quote) {
    std::string text;
    while (pos_ < s_.size()) {
      if (s_[pos_] == quote) {
        if (pos_ + 1 < s_.size() && s_[pos_ + 1] == quote) {
          text += quote;
          pos_ += 2;
          continue;
        }
        pos_++;
        break;
      }
      text += s_[pos_++];
    }
    return text;
  }
  void SkipSpace() {
    for (;;) {
      while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) pos_++;
      if (s_.substr(pos_, 2) == "--") {
        while (pos_ < s_.size() && s_[pos_] != '\n') pos_++;
        continue;
      }
      if (s_.substr(pos_, 2) == "/*") {
        size_t end = s_.find("*/", pos_ + 2);
        pos_ = end == std::string_view::npos ? s_.size() : end + 2;
        continue;
      }
      break;
    }
  }
  std::string_view s_;
  size_t pos_ = 0;
};

bool IsKw(const Tok& t, const char* kw) { return t.kind == Tok::kIdent && !t.quoted && t.text == kw; }
bool IsP(const Tok& t, char c) { return t.kind == Tok::kPunct && t.text[0] == c; }

// The DEFAULT expression of a column definition starting at item[start], up
// to the next column constraint: its tokens written back without spaces
// ("now()", "'it''s'::text", "-3"), as ColumnDecl::default_expr keeps it.
std::string DefaultExpression(const std::vector<Tok>& item, size_t start) {
  static const char* kStops[] = {"not", "null", "primary", "references", "check",
                                 "unique", "constraint", "generated", "collate"};
  std::string expr;
  for (size_t e = start; e < item.size(); e++) {
    const Tok& t = item[e];
    bool stop = false;
    for (const char* kw : kStops) stop = stop || IsKw(t, kw);
    if (stop && e > start) break;  // (a first `null` is the default itself)
    if (t.kind == Tok::kString || (t.kind == Tok::kIdent && t.quoted)) {
      const char q = t.kind == Tok::kString ? '\'' : '"';
      expr += q;
      for (char c : t.text) {
        if (c == q) expr += q;
        expr += c;
      }
      expr += q;
    } else {
      expr += t.text;
    }
  }
  return expr;
}

// Splits the tokens of one statement into top-level comma-separated items of
// the parenthesised body.
Status ParseTableBody(const std::vector<Tok>& toks, size_t start, TableDecl* decl) {
  std::vector<std::vector<Tok>> items(1);
  int depth = 0;
  size_t i = start;
  for (; i < toks.size(); i++) {
    const Tok& t = toks[i];
    if (IsP(t, '(')) depth++;
    if (IsP(t, ')')) {
      if (depth == 0) break;
      depth--;
    }
    if (depth == 0 && IsP(t, ',')) {
      items.emplace_back();
      continue;
    }
    items.back().push_back(t);
  }
  if (i >= toks.size()) return Status::Schema("table " + decl->name + ": missing ')'");
  std::vector<std::string> pk;
  for (const auto& item : items) {
    if (item.empty()) return Status::Schema("table " + decl->name + ": empty column definition");
    const Tok& first = item[0];
    if (IsKw(first, "primary") || IsKw(first, "constraint") || IsKw(first, "unique") ||
        IsKw(first, "check") || IsKw(first, "foreign") || IsKw(first, "exclude")) {
      // Table constraint: only PRIMARY KEY (...) matters.
      for (size_t k = 0; k + 1 < item.size(); k++) {
        if (IsKw(item[k], "primary") && IsKw(item[k + 1], "key")) {
          size_t j = k + 2;
          if (j >= item.size() || !IsP(item[j], '(')) {
            return Status::Schema("table " + decl->name + ": expected '(' after PRIMARY KEY");
          }
          for (j++; j < item.size() && !IsP(item[j], ')'); j++) {
            if (item[j].kind == Tok::kIdent) pk.push_back(item[j].text);
          }
        }
      }
      continue;
    }
    if (first.kind != Tok::kIdent) {
      return Status::Schema("table " + decl->name + ": unexpected '" + first.text + "'");
    }
    ColumnDecl col;
    col.name = first.text;
    // Type: words until a constraint keyword, '(' modifiers kept, '[]' dims.
    static const char* kStops[] = {"not", "null", "primary", "default", "references", "check",
                                   "unique", "constraint", "generated", "collate", "references"};
    std::string type;
    size_t j = 1;
    for (; j < item.size(); j++) {
      const Tok& t = item[j];
      bool stop = false;
      for (const char* kw : kStops) stop = stop || IsKw(t, kw);
      if (stop) break;
      if (IsP(t, '[')) {
        col.dims++;
        if (j + 1 < item.size() && item[j + 1].kind == Tok::kNumber) j++;
        if (j + 1 < item.size() && IsP(item[j + 1], ']')) j++;
        continue;
      }
      if (IsP(t, '(')) {  // type modifier: skip to ')'
        while (j < item.size() && !IsP(item[j], ')')) j++;
        continue;
      }
      if (IsKw(t, "array")) {
        col.dims = std::max(col.dims, 1);
        continue;
      }
      if (!type.empty()) type += ' ';
      type += t.text;
    }
    if (type.empty()) return Status::Schema("table " + decl->name + ": column " + col.name + " has no type");
    col.pg_type = CanonicalPgType(type);
    col.cls = ClassifyPgType(col.pg_type);
    for (; j < item.size(); j++) {
      if (IsKw(item[j], "default")) col.default_expr = DefaultExpression(item, j + 1);
      if (IsKw(item[j], "not") && j + 1 < item.size() && IsKw(item[j + 1], "null")) {
        col.not_null = true;
      }
      if (IsKw(item[j], "primary") && j + 1 < item.size() && IsKw(item[j + 1], "key")) {
        pk.push_back(col.name);
      }
    }
    decl->columns.push_back(std::move(col));
  }
  for (size_t k = 0; k < pk.size(); k++) {
    bool found = false;
    for (auto& c : decl->columns) {
      if (c.name == pk[k]) {
        c.pk_index = static_cast<int>(k);
        c.not_null = true;
        found = true;
      }
    }
    if (!found) return Status::Schema("table " + decl->name + ": primary key column " + pk[k] + " is not declared");
  }
  decl->primary_key = pk;
  if (pk.empty()) return Status::Schema("table " + decl->name + ": no primary key");
  return Status::Ok();
}

ColumnDecl* FindMutable(TableDecl* d, const std::string& name) {
  for (auto& c : d->columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

TableDecl* FindDecl(std::vector<TableDecl>* decls, const std::string& name) {
  for (auto& d : *decls) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

}  // namespace

const ColumnDecl* TableDecl::FindColumn(std::string_view column) const {
  for (const auto& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

const TableConfig& TableDecl::config() const {
  if (parsed_config == nullptr || parsed_config->table != name ||
      parsed_config->policy_json != policy_json) {
    parsed_config = std::make_shared<const ParsedTableConfig>(
        ParsedTableConfig{name, policy_json, ParseTableConfig(name, policy_json)});
  }
  return parsed_config->config;
}

Result<std::vector<TableDecl>> ParseCreateTables(std::string_view sql) {
  Lexer lex(sql);
  std::vector<Tok> toks;
  for (Tok t = lex.Next(); t.kind != Tok::kEnd; t = lex.Next()) toks.push_back(std::move(t));
  std::vector<TableDecl> out;
  size_t i = 0;
  while (i < toks.size()) {
    // Find the statement end.
    size_t end = i;
    int depth = 0;
    while (end < toks.size() && !(depth == 0 && IsP(toks[end], ';'))) {
      if (IsP(toks[end], '(')) depth++;
      if (IsP(toks[end], ')')) depth--;
      end++;
    }
    size_t k = i;
    if (k < end && IsKw(toks[k], "create")) {
      k++;
      while (k < end && (IsKw(toks[k], "temp") || IsKw(toks[k], "temporary") ||
                         IsKw(toks[k], "unlogged"))) {
        k++;
      }
      if (k < end && IsKw(toks[k], "table")) {
        k++;
        if (k + 2 < end && IsKw(toks[k], "if") && IsKw(toks[k + 1], "not") &&
            IsKw(toks[k + 2], "exists")) {
          k += 3;
        }
        if (k >= end || toks[k].kind != Tok::kIdent) {
          return Status::Schema("CREATE TABLE without a table name");
        }
        TableDecl decl;
        decl.name = toks[k].text;
        k++;
        if (k + 1 < end && IsP(toks[k], '.') && toks[k + 1].kind == Tok::kIdent) {
          decl.name = toks[k + 1].text;  // schema-qualified: keep the table name
          k += 2;
        }
        if (k >= end || !IsP(toks[k], '(')) {
          return Status::Schema("table " + decl.name + ": expected '(' after the name");
        }
        std::vector<Tok> body(toks.begin() + static_cast<long>(k + 1),
                              toks.begin() + static_cast<long>(end));
        EL_RETURN_IF_ERROR(ParseTableBody(body, 0, &decl));
        if (FindDecl(&out, decl.name) != nullptr) {
          return Status::Schema("table " + decl.name + " declared twice");
        }
        out.push_back(std::move(decl));
      }
    }
    i = end + 1;
  }
  return out;
}

Result<std::vector<ColumnDecl>> ParseSchemaHeader(std::string_view text) {
  json j = json::parse(text);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Protocol("electric-schema header is not a JSON object");
  }
  std::vector<ColumnDecl> cols;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const json& v = it.value();
    if (!v.is_object() || !v.contains("type") || !v["type"].is_string()) {
      return Status::Protocol("electric-schema: column " + it.key() + " has no type");
    }
    ColumnDecl c;
    c.name = it.key();
    c.pg_type = CanonicalPgType(v["type"].get<std::string>());
    c.cls = ClassifyPgType(c.pg_type);
    if (v.contains("dims") && v["dims"].is_number_integer()) c.dims = v["dims"].get<int>();
    if (v.contains("pk_index") && v["pk_index"].is_number_integer()) {
      c.pk_index = v["pk_index"].get<int>();
    }
    if (v.contains("not_null") && v["not_null"].is_boolean()) c.not_null = v["not_null"].get<bool>();
    cols.push_back(std::move(c));
  }
  return cols;
}

Status ApplyPoliciesJson(std::string_view text, std::vector<TableDecl>* decls) {
  if (text.empty()) return Status::Ok();
  json j = json::parse(text);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("policies must be a JSON object");
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.key().empty() && it.key()[0] == '$') continue;  // "$comment"
    if (!it.value().is_object()) {
      return Status::InvalidArgument("policy for " + it.key() + " must be an object");
    }
    TableDecl* d = FindDecl(decls, it.key());
    if (d == nullptr) continue;  // policy for a table the app does not sync
    d->policy_json = it.value().dump();
  }
  return Status::Ok();
}

Status ApplyTablesJson(std::string_view text, std::vector<TableDecl>* decls) {
  if (text.empty()) return Status::Ok();
  json j = json::parse(text);
  if (j.is_discarded() || !j.is_array()) return Status::InvalidArgument("tables must be a JSON array");
  for (const json& t : j) {
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) {
      return Status::InvalidArgument("each table needs a string name");
    }
    TableDecl decl;
    decl.name = t["name"].get<std::string>();
    if (t.contains("columns")) {
      if (!t["columns"].is_array()) return Status::InvalidArgument(decl.name + ": columns must be an array");
      for (const json& c : t["columns"]) {
        if (!c.is_object() || !c.contains("name") || !c["name"].is_string()) {
          return Status::InvalidArgument(decl.name + ": each column needs a name");
        }
        ColumnDecl col;
        col.name = c["name"].get<std::string>();
        std::string type = c.contains("type") && c["type"].is_string() ? c["type"].get<std::string>() : "text";
        while (type.size() > 2 && type.compare(type.size() - 2, 2, "[]") == 0) {
          col.dims++;
          type.resize(type.size() - 2);
        }
        if (c.contains("dims") && c["dims"].is_number_integer()) col.dims = c["dims"].get<int>();
        col.pg_type = CanonicalPgType(type);
        col.cls = ClassifyPgType(col.pg_type);
        col.not_null = c.contains("notNull") && c["notNull"].is_boolean() && c["notNull"].get<bool>();
        decl.columns.push_back(std::move(col));
      }
    }
    if (t.contains("primaryKey")) {
      if (!t["primaryKey"].is_array()) return Status::InvalidArgument(decl.name + ": primaryKey must be an array");
      for (const json& k : t["primaryKey"]) {
        if (!k.is_string()) return Status::InvalidArgument(decl.name + ": primaryKey entries must be strings");
        decl.primary_key.push_back(k.get<std::string>());
      }
    }
    if (t.contains("policy")) {
      if (!t["policy"].is_object()) return Status::InvalidArgument(decl.name + ": policy must be an object");
      decl.policy_json = t["policy"].dump();
    }
    TableDecl* existing = FindDecl(decls, decl.name);
    if (existing != nullptr) {
      if (decl.columns.empty()) decl.columns = existing->columns;
      if (decl.primary_key.empty()) decl.primary_key = existing->primary_key;
      if (!t.contains("policy")) decl.policy_json = existing->policy_json;
    }
    for (size_t k = 0; k < decl.primary_key.size(); k++) {
      ColumnDecl* c = FindMutable(&decl, decl.primary_key[k]);
      if (c == nullptr) {
        if (!decl.columns.empty()) {
          return Status::InvalidArgument(decl.name + ": primary key column " + decl.primary_key[k] + " is not declared");
        }
        continue;
      }
      c->pk_index = static_cast<int>(k);
      c->not_null = true;
    }
    if (!decl.columns.empty() && decl.primary_key.empty()) {
      return Status::InvalidArgument(decl.name + ": no primary key");
    }
    if (existing != nullptr) *existing = std::move(decl);
    else decls->push_back(std::move(decl));
  }
  return Status::Ok();
}

std::string TableDeclToJson(const TableDecl& decl) {
  json j;
  j["name"] = decl.name;
  j["primaryKey"] = decl.primary_key;
  json cols = json::array();
  for (const auto& c : decl.columns) {
    cols.push_back({{"name", c.name}, {"type", c.pg_type}, {"dims", c.dims},
                    {"notNull", c.not_null}, {"pkIndex", c.pk_index}});
  }
  j["columns"] = cols;
  j["policy"] = json::parse(decl.policy_json);
  return j.dump();
}

Result<TableDecl> TableDeclFromJson(std::string_view text) {
  json j = json::parse(text);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("stored table declaration is not JSON");
  TableDecl d;
  d.name = JsonStr(j, "name");
  if (j.contains("primaryKey") && j["primaryKey"].is_array()) {
    for (const json& k : j["primaryKey"]) {
      if (k.is_string()) d.primary_key.push_back(k.get<std::string>());
    }
  }
  if (j.contains("columns") && j["columns"].is_array()) {
    for (const json& c : j["columns"]) {
      ColumnDecl col;
      col.name = JsonStr(c, "name");
      col.pg_type = JsonStr(c, "type", "text");
      col.dims = static_cast<int>(JsonInt(c, "dims", 0));
      col.not_null = JsonBool(c, "notNull", false);
      col.pk_index = static_cast<int>(JsonInt(c, "pkIndex", -1));
      col.cls = ClassifyPgType(col.pg_type);
      d.columns.push_back(std::move(col));
    }
  }
  if (j.contains("policy") && j["policy"].is_object()) d.policy_json = j["policy"].dump();
  if (d.name.empty()) return Status::Corruption("stored table declaration has no name");
  return d;
}

bool SameDeclaration(const TableDecl& a, const TableDecl& b) {
  if (a.name != b.name || a.primary_key != b.primary_key || a.policy_json != b.policy_json ||
      a.columns.size() != b.columns.size()) {
    return false;
  }
  for (size_t i = 0; i < a.columns.size(); i++) {
    const ColumnDecl& x = a.columns[i];
    const ColumnDecl& y = b.columns[i];
    if (x.name != y.name || x.pg_type != y.pg_type || x.dims != y.dims ||
        x.not_null != y.not_null || x.pk_index != y.pk_index) {
      return false;
    }
  }
  return true;
}

Result<std::vector<TableDecl>> DeclaredTables(const EngineOptions& options) {
  std::vector<TableDecl> decls;
  if (!options.schema_sql.empty()) {
    Result<std::vector<TableDecl>> parsed = ParseCreateTables(options.schema_sql);
    if (!parsed.ok()) return parsed.status();
    decls = std::move(parsed).value();
  }
  EL_RETURN_IF_ERROR(ApplyPoliciesJson(options.policies_json, &decls));
  EL_RETURN_IF_ERROR(ApplyTablesJson(options.tables_json, &decls));
  for (const TableDecl& d : decls) EL_RETURN_IF_ERROR(CheckDeclaration(d));
  return decls;
}

Status ApplyExcludedColumns(const TableDecl& decl, ShapeDef* def) {
  const TableConfig& config = decl.config();
  EL_RETURN_IF_ERROR(config.exclude_error);
  std::set<std::string> excluded;
  for (const std::string& name : config.exclude) {
    const ColumnDecl* col = decl.FindColumn(name);
    if (col != nullptr && col->pk_index >= 0) {
      return Status::InvalidArgument("policies." + decl.name + ".exclude: primary key column " +
                                     name + " cannot be excluded");
    }
    excluded.insert(name);
  }
  if (excluded.empty()) return Status::Ok();
  for (const std::string& c : def->columns) {
    if (excluded.count(c) > 0) {
      return Status::InvalidArgument("column " + c + " of " + decl.name + " is excluded from sync");
    }
  }
  if (def->columns.empty()) {
    for (const ColumnDecl& c : decl.columns) {
      if (excluded.count(c.name) == 0) def->columns.push_back(c.name);
    }
  }
  return Status::Ok();
}

}  // namespace electrolite
