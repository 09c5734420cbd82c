#include "content_coding.h"

#include <zstd.h>

namespace electrolite {

Result<std::string> ZstdDecompress(std::string_view data, size_t max_bytes) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
  if (data.size() < 4 || p[0] != 0x28 || p[1] != 0xB5 || p[2] != 0x2F || p[3] != 0xFD) {
    return Status::InvalidArgument("body is not zstd-compressed data");
  }
  ZSTD_DStream* ds = ZSTD_createDStream();
  if (ds == nullptr) return Status::Internal("zstd: out of memory");
  std::string out;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  char buf[64 * 1024];
  size_t last = 0;
  size_t produced = 0;
  // One decoder step into `out`; an error or an oversized body ends the loops below.
  auto step = [&]() -> Status {
    ZSTD_outBuffer o{buf, sizeof(buf), 0};
    last = ZSTD_decompressStream(ds, &o, &in);
    if (ZSTD_isError(last)) return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(last));
    out.append(buf, o.pos);
    produced = o.pos;
    if (out.size() > max_bytes) {
      return Status::StorageFull("decoded body exceeds " + std::to_string(max_bytes) + " bytes");
    }
    return Status::Ok();
  };
  Status s = Status::Ok();
  while (s.ok() && in.pos < in.size) {
    s = step();
    if (produced == 0 && last != 0 && in.pos == in.size) break;
  }
  // Flush what the decoder still holds; no output while it still wants more means truncated.
  while (s.ok() && last != 0) {
    s = step();
    if (produced == 0) break;
  }
  ZSTD_freeDStream(ds);
  if (!s.ok()) return s;
  if (last != 0) return Status::Corruption("zstd: truncated frame");
  return out;
}

}  // namespace electrolite
