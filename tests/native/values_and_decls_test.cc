// Value conversion by Postgres type (C-PARSE), the CREATE TABLE parser over
// the shipped schema, declarations from the electric-schema header, and
// additive schema evolution without a resync.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "fake_electric.h"
#include "pg_value.h"
#include "table_decl.h"

namespace electrolite {
namespace testing {
namespace {

SqlValue Convert(const char* type, int dims, const std::string& text, std::string* scratch, Status* s) {
  static std::string held;  // a text result may view the input: keep it alive
  held = text;
  SqlValue v;
  std::string canonical = CanonicalPgType(type);
  *s = ConvertPgValue(ClassifyPgType(canonical), dims, held, scratch, &v);
  return v;
}

TEST(PgValueTest, C_PARSE_ScalarsByType) {
  std::string scratch;
  Status s;
  SqlValue v = Convert("int8", 0, "9223372036854775807", &scratch, &s);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(v.kind, 1);
  EXPECT_EQ(v.i, INT64_MAX);  // exact, no double round-trip
  v = Convert("int8", 0, "-9223372036854775808", &scratch, &s);
  EXPECT_EQ(v.i, INT64_MIN);
  Convert("int8", 0, "9223372036854775808", &scratch, &s);
  EXPECT_EQ(s.code(), Code::kProtocol);
  Convert("int4", 0, "12x", &scratch, &s);
  EXPECT_NE(s.message().find("invalid integer"), std::string::npos);
  for (const char* t : {"t", "true"}) {
    v = Convert("bool", 0, t, &scratch, &s);
    EXPECT_EQ(v.i, 1) << t;
  }
  for (const char* f : {"f", "false"}) {
    v = Convert("boolean", 0, f, &scratch, &s);
    EXPECT_EQ(v.i, 0) << f;
  }
  Convert("bool", 0, "yes", &scratch, &s);
  EXPECT_EQ(s.code(), Code::kProtocol);
  v = Convert("float8", 0, "4.5", &scratch, &s);
  EXPECT_EQ(v.kind, 2);
  EXPECT_EQ(v.d, 4.5);
  v = Convert("float4", 0, "-Infinity", &scratch, &s);
  EXPECT_TRUE(std::isinf(v.d));
  v = Convert("float8", 0, "NaN", &scratch, &s);
  EXPECT_EQ(v.kind, 3);
  EXPECT_EQ(v.text, "NaN");
  v = Convert("numeric", 0, "12345678901234567890.123456789", &scratch, &s);
  EXPECT_EQ(v.text, "12345678901234567890.123456789");  // exact text
  v = Convert("jsonb", 0, R"({"foo": "bar"})", &scratch, &s);
  EXPECT_EQ(v.text, R"({"foo": "bar"})");
  v = Convert("uuid", 0, "0b8f6b5e-3c1a-4f7e-9a8e-1f2e3d4c5b6a", &scratch, &s);
  EXPECT_EQ(v.text, "0b8f6b5e-3c1a-4f7e-9a8e-1f2e3d4c5b6a");
}

TEST(PgValueTest, TimestampsNormalisedToIsoUtc) {
  std::string scratch;
  Status s;
  struct Case {
    const char* type;
    const char* in;
    const char* out;
  } cases[] = {
      {"timestamptz", "2024-01-02 03:04:05.123456+00", "2024-01-02T03:04:05.123456Z"},
      {"timestamptz", "2024-01-02 03:04:05+00", "2024-01-02T03:04:05Z"},
      {"timestamp with time zone", "2024-01-01 01:30:00+02", "2023-12-31T23:30:00Z"},
      {"timestamptz", "2024-03-01 00:00:00-05:30", "2024-03-01T05:30:00Z"},
      {"timestamp", "2024-02-29 23:59:59.5", "2024-02-29T23:59:59.5"},
      {"timestamptz", "infinity", "infinity"},
      {"timestamptz", "0044-03-15 12:00:00+00 BC", "0044-03-15 12:00:00+00 BC"},
      // Fields out of their calendar range roll over, with or without an offset.
      {"timestamp", "2024-02-30 00:00:00", "2024-03-01T00:00:00"},
      {"timestamptz", "2024-02-29 12:00:00+00", "2024-02-29T12:00:00Z"},
      {"timestamptz", "2023-02-29 12:00:00+00", "2023-03-01T12:00:00Z"},
      {"timestamptz", "1900-02-29 00:00:00+00", "1900-03-01T00:00:00Z"},
      {"timestamptz", "2000-02-29 00:00:00+00", "2000-02-29T00:00:00Z"},
      {"timestamptz", "2024-04-31 00:00:00+00", "2024-05-01T00:00:00Z"},
      {"timestamptz", "2024-12-31 24:00:00+00", "2025-01-01T00:00:00Z"},
      {"timestamptz", "2024-06-30 23:59:60.5+00", "2024-07-01T00:00:00.5Z"},
      {"timestamptz", "9999-12-31 23:59:59+00", "9999-12-31T23:59:59Z"},
      {"timestamptz", "9999-12-31 24:00:00+00", "9999-12-31 24:00:00+00"},
      {"timestamptz", "0000-01-01 00:00:00+00", "0000-01-01T00:00:00Z"},
      {"timestamptz", "2024-01-01 00:30:00+00:30", "2024-01-01T00:00:00Z"},
      // A fraction longer than the formatter's local buffer takes the append path.
      {"timestamptz", "2024-01-02 03:04:05.12345678901234567890123456789012345678901234567890+01",
       "2024-01-02T02:04:05.12345678901234567890123456789012345678901234567890Z"},
      {"timestamptz", "2024-01-02 03:04:05.1234567890123456789012345678901234567890123+00",
       "2024-01-02T03:04:05.1234567890123456789012345678901234567890123Z"},
  };
  for (const Case& c : cases) {
    SqlValue v = Convert(c.type, 0, c.in, &scratch, &s);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(v.text, c.out) << c.in;
  }
}

TEST(PgValueTest, C_PARSE_ArraysBecomeJson) {
  std::string scratch;
  Status s;
  EXPECT_EQ(Convert("int4", 1, "{1,2,NULL,4}", &scratch, &s).text, "[1,2,null,4]");
  EXPECT_EQ(Convert("text", 1, R"({"a","NULL",NULL})", &scratch, &s).text, R"(["a","NULL",null])");
  EXPECT_EQ(Convert("int4", 2, "{{1,2,3},{4,5,6}}", &scratch, &s).text, "[[1,2,3],[4,5,6]]");
  EXPECT_EQ(Convert("bool", 1, "{t,f,t}", &scratch, &s).text, "[true,false,true]");
  EXPECT_EQ(Convert("float8", 1, "{1.2,-3.2,Infinity,NaN}", &scratch, &s).text,
            R"([1.2,-3.2,"Infinity","NaN"])");
  EXPECT_EQ(Convert("text", 1, R"x({"(1.1,2.2)","a\"b"})x", &scratch, &s).text, R"x(["(1.1,2.2)","a\"b"])x");
  EXPECT_EQ(Convert("text", 1, "{}", &scratch, &s).text, "[]");
  Convert("int4", 1, "{1,2", &scratch, &s);
  EXPECT_EQ(s.code(), Code::kProtocol);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(TableDeclTest, ParsesShippedSchema) {
  auto r = ParseCreateTables(ReadFile(std::string(EL_SOURCE_DIR) + "/schema/schema.sql"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 7u);
  const TableDecl& tasks = r.value()[0];
  EXPECT_EQ(tasks.name, "tasks");
  EXPECT_EQ(tasks.primary_key, std::vector<std::string>{"id"});
  ASSERT_EQ(tasks.columns.size(), 9u);
  EXPECT_EQ(tasks.columns[0].pg_type, "uuid");
  EXPECT_EQ(tasks.FindColumn("priority")->pg_type, "int4");
  EXPECT_TRUE(tasks.FindColumn("title")->not_null);
  EXPECT_FALSE(tasks.FindColumn("description")->not_null);
  EXPECT_EQ(tasks.FindColumn("status")->pg_type, "text");  // CHECK/DEFAULT skipped
  EXPECT_EQ(tasks.FindColumn("created_at")->cls, TypeClass::kTimestampTz);
  const TableDecl& env = r.value()[1];
  EXPECT_EQ(env.FindColumn("config")->cls, TypeClass::kJson);
  EXPECT_EQ(env.FindColumn("is_active")->cls, TypeClass::kBool);
  const TableDecl& exec = r.value()[2];
  EXPECT_EQ(exec.FindColumn("task_id")->pg_type, "uuid");  // REFERENCES skipped
}

TEST(TableDeclTest, TableLevelKeyArraysQuotedNamesAndErrors) {
  auto r = ParseCreateTables(
      "-- c\nCREATE TABLE IF NOT EXISTS public.\"Mixed\" (\"A b\" varchar(20) NOT NULL, n "
      "numeric(10,2), tags text[], grid int4[][], CONSTRAINT pk PRIMARY KEY (\"A b\", n));\n"
      "CREATE INDEX ON x (y); /* comment; */");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const TableDecl& t = r.value()[0];
  EXPECT_EQ(t.name, "Mixed");
  EXPECT_EQ(t.primary_key, (std::vector<std::string>{"A b", "n"}));
  EXPECT_EQ(t.FindColumn("n")->pk_index, 1);
  EXPECT_EQ(t.FindColumn("tags")->dims, 1);
  EXPECT_EQ(t.FindColumn("grid")->dims, 2);
  EXPECT_EQ(t.FindColumn("A b")->pg_type, "varchar");
  auto bad = ParseCreateTables("create table t (a int);");
  EXPECT_EQ(bad.status().code(), Code::kSchema);
  EXPECT_NE(bad.status().message().find("no primary key"), std::string::npos);
  bad = ParseCreateTables("create table t (a int, primary key (b));");
  EXPECT_NE(bad.status().message().find("b is not declared"), std::string::npos);
}

TEST(TableDeclTest, SchemaHeader) {
  auto cols = ParseSchemaHeader(R"({"id":{"type":"int8","pk_index":0},"tags":{"type":"text","dims":1,"not_null":true}})");
  ASSERT_TRUE(cols.ok());
  EXPECT_EQ(cols->size(), 2u);
  EXPECT_EQ(cols.value()[1].dims, 1);
  EXPECT_TRUE(cols.value()[1].not_null);
  EXPECT_EQ(ParseSchemaHeader("[1]").status().code(), Code::kProtocol);
  EXPECT_EQ(ParseSchemaHeader(R"({"a":{}})").status().code(), Code::kProtocol);
}

class CountingEnv : public Env {
 public:
  uint64_t RandomU64() override { return ++n * 0x9e3779b97f4a7c15ULL; }
  uint64_t n = 0;
};

TEST(SchemaEvolutionTest, TableWithoutColumnsTakesThemFromHeaderAndFollowsNewColumns) {
  CountingEnv env;
  json opts = {{"baseUrl", "http://e"}, {"tables", json::parse(R"([{"name":"notes"}])")}};
  auto e = Engine::Open(opts.dump(), &env);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Engine& engine = *e.value();
  FakeElectric server("notes", R"({"id":{"type":"int8","pk_index":0},"body":{"type":"text"}})");
  server.Insert(json{{"id", "1"}, {"body", "hello"}});
  SyncPair pair(&engine, &server);
  ASSERT_TRUE(pair.SyncUntilUpToDate());
  json r = json::parse(engine.Query("SELECT id, body FROM notes", ""));
  EXPECT_EQ(r["rows"], json::parse(R"([[1,"hello"]])"));
  // The server's table gains a column; the shape rotates (as Electric does).
  server.SetSchema(R"({"id":{"type":"int8","pk_index":0},"body":{"type":"text"},"stars":{"type":"int4"}})");
  server.Update(json{{"id", "1"}, {"stars", "5"}});
  server.Rotate();
  pair.Advance(0);
  pair.ReleaseHeld();
  ASSERT_TRUE(pair.SyncUntilUpToDate());
  r = json::parse(engine.Query("SELECT id, body, stars FROM notes", ""));
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["rows"], json::parse(R"([[1,"hello",5]])"));
  // The learnt declaration is persisted.
  r = json::parse(engine.Query("SELECT decl FROM _el_tables WHERE name = 'notes'", ""));
  EXPECT_NE(r["rows"][0][0].get<std::string>().find("stars"), std::string::npos);
}

TEST(SchemaEvolutionTest, NewColumnInNonLiveHeaderIsAddedWithoutResync) {
  CountingEnv env;
  json opts = {{"baseUrl", "http://e"}, {"schemaSql", std::string(kItemsSchemaSql)}};
  auto e = Engine::Open(opts.dump(), &env);
  ASSERT_TRUE(e.ok());
  FakeElectric server("items", kItemsSchemaHeader);
  server.Insert(ItemRow(1, "a"));
  SyncPair pair(e.value().get(), &server);
  ASSERT_TRUE(pair.SyncUntilUpToDate());
  std::string handle = server.handle();
  json hdr = json::parse(kItemsSchemaHeader);
  hdr["color"] = {{"type", "text"}};
  json body = json::array({json{{"key", "k"}, {"value", {{"id", "1"}, {"color", "red"}}}, {"headers", {{"operation", "update"}}}},
                           json{{"headers", {{"control", "up-to-date"}}}}});
  // A non-live (catch-up) response carrying the wider schema.
  server.overrides.push_back({200, {{"electric-handle", handle}, {"electric-offset", "3000_0"},
                                    {"electric-schema", hdr.dump()}, {"electric-cursor", "1"}}, body.dump()});
  pair.Advance(0);
  json r = json::parse(e.value()->Query("SELECT title, color FROM items", ""));
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["rows"], json::parse(R"([["a","red"]])"));
  EXPECT_EQ(json::parse(e.value()->StatusJson())["shapes"][0]["handle"], handle);  // no resync
}

}  // namespace
}  // namespace testing
}  // namespace electrolite
