// Table declarations: what the app says it syncs (docs/engine-api.md TableDecl).
//
// Sources, later ones overriding earlier: schemaSql (CREATE TABLE statements,
// parsed by ParseCreateTables), the policies.json object, and the `tables`
// option. A table declared without columns takes them from the server's
// `electric-schema` header (ParseSchemaHeader).
#ifndef ELECTROLITE_SRC_TABLE_DECL_H_
#define ELECTROLITE_SRC_TABLE_DECL_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pg_value.h"
#include "status.h"
#include "table_config.h"

namespace electrolite {

struct EngineOptions;
struct ShapeDef;

struct ColumnDecl {
  std::string name;
  std::string pg_type;  // canonical element type ("int4", "uuid", ...)
  int dims = 0;         // array dimensions
  bool not_null = false;
  int pk_index = -1;  // position in the primary key, -1 = not part of it
  TypeClass cls = TypeClass::kText;
  // schemaSql only: the DEFAULT expression, its tokens written back without
  // spaces ("now()", "'draft'", "-3"); "" = none. Not stored in _el_tables.
  std::string default_expr;
};

struct TableDecl {
  std::string name;
  std::vector<ColumnDecl> columns;  // empty = take from the server
  std::vector<std::string> primary_key;
  std::string policy_json = "{}";  // the policies.json entry, verbatim JSON

  const ColumnDecl* FindColumn(std::string_view column) const;
  // The policies.json entry, typed (table_config.h): parsed on first use and
  // kept while name and policy_json stay the same (copies share it).
  const TableConfig& config() const;

  // config()'s cache; not part of the declaration.
  mutable std::shared_ptr<const ParsedTableConfig> parsed_config;
};

// Parses every CREATE TABLE in `sql` (comments, CHECK, REFERENCES,
// constraints and non-table statements are skipped; a DEFAULT is kept as
// ColumnDecl::default_expr). The one CREATE TABLE parser of the engine. Errors name the table
// and the token that could not be understood.
Result<std::vector<TableDecl>> ParseCreateTables(std::string_view sql);

// Parses an `electric-schema` header into columns in header order.
Result<std::vector<ColumnDecl>> ParseSchemaHeader(std::string_view json);

// Merges policies.json (object: table -> policy) and `tables` JSON into decls.
Status ApplyPoliciesJson(std::string_view policies_json, std::vector<TableDecl>* decls);
Status ApplyTablesJson(std::string_view tables_json, std::vector<TableDecl>* decls);

// The app's declarations as the options give them: schemaSql, then
// policies, then `tables`, each checked (reserved_names.h).
Result<std::vector<TableDecl>> DeclaredTables(const EngineOptions& options);

// policies.json `exclude: [...]`: a shape of `decl` without `columns` asks
// for every declared column but those; naming an excluded (or a key) column
// is an error. Tables declared without columns rely on the server alone.
Status ApplyExcludedColumns(const TableDecl& decl, ShapeDef* def);

// Serialises a declaration (columns with types) for _el_tables.
std::string TableDeclToJson(const TableDecl& decl);
Result<TableDecl> TableDeclFromJson(std::string_view json);

// Whether TableDeclToJson(a) and TableDeclToJson(b) store the same thing
// (name, primary key, columns, policy), compared without serialising.
bool SameDeclaration(const TableDecl& a, const TableDecl& b);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_TABLE_DECL_H_
