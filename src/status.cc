#include "status.h"

namespace electrolite {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kConflict: return "conflict";
    case Code::kCorruption: return "corruption";
    case Code::kIo: return "io";
    case Code::kProtocol: return "protocol";
    case Code::kAuth: return "auth";
    case Code::kStorageFull: return "storage_full";
    case Code::kReadOnly: return "read_only";
    case Code::kSchema: return "schema";
    case Code::kInternal: return "internal";
  }
  return "internal";
}

const std::string& Status::EmptyMessage() {
  static const std::string* empty = new std::string();
  return *empty;
}

Status Status::WithContext(std::string_view prefix) const {
  if (ok()) return *this;
  std::string m(prefix);
  m += ": ";
  m += message();
  return Status(code_, std::move(m));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(code_name()) + ": " + message();
}

std::string Status::ToJson() const {
  if (ok()) return "{\"ok\":true}";
  std::string out = "{\"ok\":false,\"code\":\"";
  out += code_name();
  out += "\",\"message\":";
  AppendJsonString(&out, message());
  out += "}";
  return out;
}

void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  // Runs of bytes that need no escape are appended whole.
  size_t plain = 0;  // start of the run not yet appended
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    if (i > plain) out->append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  if (s.size() > plain) out->append(s.data() + plain, s.size() - plain);
  out->push_back('"');
}

std::string OkWith(const std::string& field, const std::string& json_value) {
  return "{\"ok\":true,\"" + field + "\":" + json_value + "}";
}

}  // namespace electrolite
