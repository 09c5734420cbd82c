#include "snapshot_export.h"

#include <sqlite3.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "engine.h"
#include "store.h"

namespace electrolite {

namespace {

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; i++) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutBytes(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s.data(), s.size());
}

// Bounds-checked little-endian reader over the payload.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool done() const { return pos_ >= s_.size(); }
  bool U8(uint8_t* v) {
    if (pos_ + 1 > s_.size()) return false;
    *v = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  bool U32(uint32_t* v) {
    if (pos_ + 4 > s_.size()) return false;
    *v = 0;
    for (int i = 0; i < 4; i++) *v |= static_cast<uint32_t>(static_cast<uint8_t>(s_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return true;
  }
  bool U64(uint64_t* v) {
    if (pos_ + 8 > s_.size()) return false;
    *v = 0;
    for (int i = 0; i < 8; i++) *v |= static_cast<uint64_t>(static_cast<uint8_t>(s_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return true;
  }
  bool Bytes(std::string_view* v) {
    uint32_t n;
    if (!U32(&n) || pos_ + n > s_.size()) return false;
    *v = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Peek(uint8_t* v) const {
    if (pos_ >= s_.size()) return false;
    *v = static_cast<uint8_t>(s_[pos_]);
    return true;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

struct SchemaObject {
  std::string type, name, sql;
};

// _el_secrets (the client's last good token) never leaves the device in a snapshot.
Result<std::vector<SchemaObject>> ListObjects(Store& store) {
  EL_ASSIGN_OR_RETURN(Stmt stmt, store.Prepare(
                                     "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT "
                                     "NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND "
                                     "tbl_name <> '_el_secrets' ORDER BY rowid"));
  std::vector<SchemaObject> out;
  for (;;) {
    EL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back({std::string(stmt.ColumnText(0)), std::string(stmt.ColumnText(1)),
                   std::string(stmt.ColumnText(2))});
  }
  return out;
}

Status DumpRows(Store& store, const std::string& table, std::string* out) {
  const std::string q = QuoteIdent(table);
  bool has_rowid = true;
  Result<Stmt> stmt = store.Prepare("SELECT rowid, * FROM " + q);
  if (!stmt.ok()) {  // WITHOUT ROWID
    has_rowid = false;
    stmt = store.Prepare("SELECT * FROM " + q);
    if (!stmt.ok()) return stmt.status();
  }
  Stmt& s = stmt.value();
  int n = s.ColumnCount();
  out->push_back('T');
  PutBytes(out, table);
  PutU32(out, static_cast<uint32_t>(has_rowid ? n - 1 : n));
  out->push_back(has_rowid ? 1 : 0);
  for (;;) {
    EL_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out->push_back('R');
    for (int i = 0; i < n; i++) {
      switch (s.ColumnType(i)) {
        case SQLITE_NULL:
          out->push_back(0);
          break;
        case SQLITE_INTEGER:
          out->push_back(1);
          PutU64(out, static_cast<uint64_t>(s.ColumnInt64(i)));
          break;
        case SQLITE_FLOAT: {
          double d = s.ColumnDouble(i);
          uint64_t bits;
          std::memcpy(&bits, &d, sizeof(bits));
          out->push_back(2);
          PutU64(out, bits);
          break;
        }
        case SQLITE_TEXT:
          out->push_back(3);
          PutBytes(out, s.ColumnText(i));
          break;
        default: {
          const void* p = sqlite3_column_blob(s.raw(), i);
          int len = sqlite3_column_bytes(s.raw(), i);
          out->push_back(4);
          PutBytes(out, std::string_view(static_cast<const char*>(p), static_cast<size_t>(len)));
          break;
        }
      }
    }
  }
  return Status::Ok();
}

Status Damaged(const std::string& what) {
  return Status::Corruption("snapshot is damaged: " + what);
}

}  // namespace

uint32_t Crc32(std::string_view data) {
  static uint32_t table[256];
  static bool init = false;
  if (!init) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    init = true;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint64_t SchemaFingerprint(const std::vector<TableDecl>& decls) {
  std::vector<std::string> parts;
  for (const TableDecl& d : decls) {
    std::string p = d.name + "(";
    for (const ColumnDecl& c : d.columns) {
      p += c.name + ":" + c.pg_type + ":" + std::to_string(c.dims) + ",";
    }
    p += ")pk(";
    for (const std::string& k : d.primary_key) p += k + ",";
    parts.push_back(p + ")");
  }
  std::sort(parts.begin(), parts.end());
  uint64_t h = 1469598103934665603ULL;
  for (const std::string& p : parts) {
    for (unsigned char c : p) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  }
  return h;
}

Result<std::string> ExportSnapshot(Store& store, uint64_t fingerprint, int zstd_level,
                                   SnapshotInfo* info) {
  EL_ASSIGN_OR_RETURN(std::vector<SchemaObject> objects, ListObjects(store));
  std::string payload;
  for (const SchemaObject& o : objects) {
    if (o.type != "table") continue;
    payload.push_back('S');
    PutBytes(&payload, o.sql);
    EL_RETURN_IF_ERROR(DumpRows(store, o.name, &payload).WithContext("export of " + o.name));
  }
  EL_ASSIGN_OR_RETURN(bool has_seq, store.TableExists("sqlite_sequence"));
  if (has_seq) EL_RETURN_IF_ERROR(DumpRows(store, "sqlite_sequence", &payload));
  for (const SchemaObject& o : objects) {
    if (o.type == "table") continue;
    payload.push_back('S');
    PutBytes(&payload, o.sql);
  }
  payload.push_back('E');
  if (payload.size() > kSnapshotMaxPayload) {
    return Status::InvalidArgument("database too large to export (" +
                                   std::to_string(payload.size()) + " bytes)");
  }

  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (cctx == nullptr) return Status::Internal("zstd: out of memory");
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, zstd_level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  std::string out;
  out.append(kSnapshotMagic, sizeof(kSnapshotMagic));
  PutU32(&out, kSnapshotFormatVersion);
  PutU64(&out, fingerprint);
  PutU64(&out, payload.size());
  PutU32(&out, 0);  // CRC-32 of the frame, below
  size_t bound = ZSTD_compressBound(payload.size());
  out.resize(kSnapshotHeaderSize + bound);
  size_t n = ZSTD_compress2(cctx, &out[kSnapshotHeaderSize], bound, payload.data(), payload.size());
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(kSnapshotHeaderSize + n);
  uint32_t crc = Crc32(std::string_view(out).substr(kSnapshotHeaderSize));
  for (int i = 0; i < 4; i++) out[28 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  if (info != nullptr) {
    info->version = kSnapshotFormatVersion;
    info->fingerprint = fingerprint;
    info->payload_bytes = payload.size();
    info->compressed_bytes = out.size();
  }
  return out;
}

Result<SnapshotInfo> ReadSnapshotHeader(std::string_view s) {
  if (s.size() < sizeof(kSnapshotMagic) ||
      std::memcmp(s.data(), kSnapshotMagic, sizeof(kSnapshotMagic)) != 0) {
    return Status::InvalidArgument("not an Electrolite snapshot (bad magic)");
  }
  if (s.size() < kSnapshotHeaderSize) return Damaged("truncated header");
  SnapshotInfo info;
  info.version = GetU32(s.data() + 8);
  info.fingerprint = GetU64(s.data() + 12);
  info.payload_bytes = GetU64(s.data() + 20);
  info.compressed_bytes = s.size();
  if (info.version != kSnapshotFormatVersion) {
    return Status::InvalidArgument("snapshot format version " + std::to_string(info.version) +
                                   " is not supported (this build reads version " +
                                   std::to_string(kSnapshotFormatVersion) + ")");
  }
  if (info.payload_bytes > kSnapshotMaxPayload) return Damaged("implausible payload size");
  return info;
}

Status ImportSnapshot(Store& store, std::string_view s, uint64_t fingerprint) {
  EL_ASSIGN_OR_RETURN(SnapshotInfo info, ReadSnapshotHeader(s));
  if (info.fingerprint != fingerprint) {
    return Status::Schema("snapshot was exported by a client with different table declarations "
                          "(schema fingerprint mismatch)");
  }
  std::string_view frame = s.substr(kSnapshotHeaderSize);
  if (Crc32(frame) != GetU32(s.data() + 28)) return Damaged("checksum mismatch");
  unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN ||
      content != info.payload_bytes) {
    return Damaged("compressed data does not match the header");
  }
  std::string payload(static_cast<size_t>(info.payload_bytes), '\0');
  size_t n = ZSTD_decompress(payload.empty() ? nullptr : &payload[0], payload.size(),
                             frame.data(), frame.size());
  if (ZSTD_isError(n)) return Damaged(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != payload.size()) return Damaged("short payload");

  Txn txn(&store);
  EL_RETURN_IF_ERROR(txn.Begin());
  // Drop what the database holds (views and triggers go with their tables).
  EL_ASSIGN_OR_RETURN(std::vector<SchemaObject> existing, ListObjects(store));
  for (const SchemaObject& o : existing) {
    if (o.type == "view") EL_RETURN_IF_ERROR(store.Exec("DROP VIEW IF EXISTS " + QuoteIdent(o.name)));
  }
  for (const SchemaObject& o : existing) {
    if (o.type == "table") EL_RETURN_IF_ERROR(store.Exec("DROP TABLE IF EXISTS " + QuoteIdent(o.name)));
  }
  EL_ASSIGN_OR_RETURN(bool has_seq, store.TableExists("sqlite_sequence"));
  if (has_seq) EL_RETURN_IF_ERROR(store.Exec("DELETE FROM sqlite_sequence"));

  Reader r(payload);
  for (;;) {
    uint8_t tag;
    if (!r.U8(&tag)) return Damaged("payload ends without an end record");
    if (tag == 'E') break;
    if (tag == 'S') {
      std::string_view sql;
      if (!r.Bytes(&sql)) return Damaged("truncated schema record");
      EL_RETURN_IF_ERROR(store.Exec(sql).WithContext("snapshot schema"));
    } else if (tag == 'T') {
      std::string_view name;
      uint32_t cols;
      uint8_t has_rowid;
      if (!r.Bytes(&name) || !r.U32(&cols) || !r.U8(&has_rowid) || cols == 0 || cols > 2000) {
        return Damaged("bad table record");
      }
      uint32_t n_params = cols + (has_rowid ? 1 : 0);
      // Restoring rowids already advanced AUTOINCREMENT counters: the
      // snapshot's own counters replace them.
      if (name == "sqlite_sequence") EL_RETURN_IF_ERROR(store.Exec("DELETE FROM sqlite_sequence"));
      EL_ASSIGN_OR_RETURN(Stmt probe, store.Prepare("SELECT * FROM " + QuoteIdent(name)));
      if (static_cast<uint32_t>(probe.ColumnCount()) != cols) return Damaged("column count of " + std::string(name));
      std::string sql = "INSERT INTO " + QuoteIdent(name) + " (";
      if (has_rowid) sql += "rowid, ";
      for (uint32_t i = 0; i < cols; i++) {
        if (i > 0) sql += ", ";
        sql += QuoteIdent(probe.ColumnName(static_cast<int>(i)));
      }
      sql += ") VALUES (";
      for (uint32_t i = 0; i < n_params; i++) sql += i > 0 ? ", ?" : "?";
      sql += ")";
      EL_ASSIGN_OR_RETURN(Stmt ins, store.Prepare(sql));
      for (;;) {
        uint8_t rt;
        if (!r.Peek(&rt)) return Damaged("truncated rows of " + std::string(name));
        if (rt != 'R') break;
        r.U8(&rt);
        for (uint32_t i = 1; i <= n_params; i++) {
          uint8_t vt;
          if (!r.U8(&vt)) return Damaged("truncated row");
          uint64_t u;
          std::string_view b;
          switch (vt) {
            case 0: ins.BindNull(static_cast<int>(i)); break;
            case 1:
              if (!r.U64(&u)) return Damaged("truncated integer");
              ins.BindInt64(static_cast<int>(i), static_cast<int64_t>(u));
              break;
            case 2: {
              if (!r.U64(&u)) return Damaged("truncated real");
              double d;
              std::memcpy(&d, &u, sizeof(d));
              ins.BindDouble(static_cast<int>(i), d);
              break;
            }
            case 3:
              if (!r.Bytes(&b)) return Damaged("truncated text");
              ins.BindText(static_cast<int>(i), b, /*transient=*/false);
              break;
            case 4:
              if (!r.Bytes(&b)) return Damaged("truncated blob");
              ins.BindBlob(static_cast<int>(i), b.data(), static_cast<int>(b.size()));
              break;
            default:
              return Damaged("unknown value tag");
          }
        }
        EL_RETURN_IF_ERROR(ins.Run().WithContext("snapshot rows of " + std::string(name)));
        ins.Reset();
      }
    } else {
      return Damaged("unknown record");
    }
  }
  if (!r.done()) return Damaged("trailing bytes after the end record");
  EL_ASSIGN_OR_RETURN(bool tables, store.TableExists("_el_tables"));
  if (!tables) return Status::InvalidArgument("snapshot holds no Electrolite database");
  return txn.Commit();
}

Result<uint64_t> DeclaredFingerprint(const EngineOptions& options) {
  EL_ASSIGN_OR_RETURN(std::vector<TableDecl> decls, DeclaredTables(options));
  return SchemaFingerprint(decls);
}

Status ClearDatabase(Store& store) {
  std::vector<std::pair<std::string, std::string>> objects;
  {
    EL_ASSIGN_OR_RETURN(
        Stmt stmt,
        store.Prepare("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND "
                      "name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"));
    for (;;) {
      EL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      objects.emplace_back(std::string(stmt.ColumnText(0)), std::string(stmt.ColumnText(1)));
    }
  }
  for (const auto& o : objects) {
    EL_RETURN_IF_ERROR(store.Exec("DROP " + std::string(o.first == "view" ? "VIEW" : "TABLE") +
                                  " IF EXISTS " + QuoteIdent(o.second)));
  }
  return store.Exec("VACUUM");
}

}  // namespace electrolite
