#include "table_config.h"

#include <cmath>

#include "json.h"

namespace electrolite {

namespace {

void ParseExclude(const std::string& table, const Json& p, TableConfig* c) {
  auto ex = p.find("exclude");
  if (ex == p.end() || ex->is_null()) return;
  const std::string where = "policies." + table + ".exclude";
  if (!ex->is_array()) {
    c->exclude_error = Status::InvalidArgument(where + " must be a list of column names");
    return;
  }
  for (const Json& col : *ex) {
    if (!col.is_string()) {
      c->exclude.clear();
      c->exclude_error = Status::InvalidArgument(where + " must be a list of column names");
      return;
    }
    c->exclude.push_back(col.get<std::string>());
  }
}

void ParseRetention(const std::string& table, const Json& p, TableConfig* c) {
  auto r = p.find("retention");
  if (r != p.end() && !r->is_null()) {
    const std::string where = "policies." + table + ".retention";
    const std::string column = r->is_object() ? JsonStr(*r, "column") : std::string();
    const double days = r->is_object() ? JsonDouble(*r, "days", -1) : -1;
    if (!r->is_object()) {
      c->retention_error = Status::InvalidArgument(where + " must be an object");
    } else if (column.empty()) {
      c->retention_error = Status::InvalidArgument(where + ".column must name a column");
    } else if (!(days > 0) || !std::isfinite(days)) {
      c->retention_error = Status::InvalidArgument(where + ".days must be a positive number");
    } else {
      c->retention_column = column;
      c->retention_max_age_ms = static_cast<int64_t>(days * 86400000.0);
    }
  }
  auto e = p.find("expires_column");
  if (e != p.end() && !e->is_null()) {
    if (!e->is_string() || e->get<std::string>().empty()) {
      c->expires_error =
          Status::InvalidArgument("policies." + table + ".expires_column must name a column");
    } else {
      c->expires_column = e->get<std::string>();
    }
  }
}

void ParsePrefetch(const std::string& table, const Json& p, TableConfig* c) {
  auto it = p.find("prefetch_children");
  if (it == p.end() || it->is_null()) return;
  const std::string where = "policies." + table + ".prefetch_children";
  if (!it->is_array()) {
    c->prefetch_error = Status::InvalidArgument(where + " must be a list");
    return;
  }
  for (const Json& e : *it) {
    std::string s = e.is_string() ? e.get<std::string>() : std::string();
    size_t dot = s.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == s.size()) {
      c->prefetch_children.clear();
      c->prefetch_error = Status::InvalidArgument(
          where + ": expected \"child_table.fk_column\", got " + e.dump());
      return;
    }
    c->prefetch_children.emplace_back(s.substr(0, dot), s.substr(dot + 1));
  }
}

}  // namespace

TableConfig ParseTableConfig(const std::string& table, std::string_view policy_json) {
  TableConfig c;
  Json p = Json::parse(policy_json.empty() ? std::string_view("{}") : policy_json);
  if (p.is_discarded()) {
    c.conflict_error = Status::InvalidArgument("policy is not JSON");
    return c;
  }
  Result<TablePolicy> conflict = TablePolicy::FromJson(p);
  if (conflict.ok()) c.conflict = conflict.value();
  else c.conflict_error = conflict.status();
  if (!p.is_object()) return c;
  ParseExclude(table, p, &c);
  ParseRetention(table, p, &c);
  ParsePrefetch(table, p, &c);
  return c;
}

}  // namespace electrolite
