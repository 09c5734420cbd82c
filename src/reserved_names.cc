#include "reserved_names.h"

#include <string>

namespace electrolite {

namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string Quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

Status CheckColumns(Code code, std::string_view who, std::string_view table,
                    const std::vector<ColumnDecl>& columns) {
  for (size_t i = 0; i < columns.size(); i++) {
    const std::string& name = columns[i].name;
    if (IsReservedColumnName(name)) {
      return Status(code, std::string(who) + " column " + Quoted(name) + " of table " +
                              Quoted(table) + " uses a name the engine reserves for its own"
                              " bookkeeping (\"_el_...\", rowid, _rowid_, oid)");
    }
    for (size_t j = 0; j < i; j++) {
      if (EqualsIgnoreCase(columns[j].name, name)) {
        return Status(code, std::string(who) + " column " + Quoted(name) + " of table " +
                                Quoted(table) + " differs from column " +
                                Quoted(columns[j].name) + " only in letter case");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsReservedTableName(std::string_view name) {
  auto starts = [&](std::string_view p) {
    return name.size() >= p.size() && EqualsIgnoreCase(name.substr(0, p.size()), p);
  };
  auto ends = [&](std::string_view p) {
    return name.size() >= p.size() && EqualsIgnoreCase(name.substr(name.size() - p.size()), p);
  };
  if (starts(kReservedPrefix) || starts("sqlite_") || ends("__untyped")) return true;
  for (const char* suffix : kTableSuffixes) {
    if (ends(suffix)) return true;
  }
  return false;
}

bool IsReservedColumnName(std::string_view name) {
  constexpr std::string_view prefix(kReservedPrefix);
  if (name.size() >= prefix.size() && EqualsIgnoreCase(name.substr(0, prefix.size()), prefix)) {
    return true;
  }
  return EqualsIgnoreCase(name, "rowid") || EqualsIgnoreCase(name, "_rowid_") ||
         EqualsIgnoreCase(name, "oid");
}

Status CheckServerColumns(std::string_view table, const std::vector<ColumnDecl>& columns) {
  return CheckColumns(Code::kProtocol, "server", table, columns);
}

Status CheckDeclaration(const TableDecl& decl) {
  if (IsReservedTableName(decl.name)) {
    return Status::Schema("declared table " + Quoted(decl.name) +
                          " uses a name the engine reserves for its own tables (\"_el_...\","
                          " \"sqlite_...\", \"...__synced\", \"...__overlay\", \"...__stage\","
                          " \"...__untyped\")");
  }
  return CheckColumns(Code::kSchema, "declared", decl.name, decl.columns);
}

}  // namespace electrolite
