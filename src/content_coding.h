// Content decoding the transport needs where the platform's fetch does not do
// it (Node 20's fetch decodes gzip and br but not zstd): zstd frames, with a
// bound on the decoded size so a hostile body cannot exhaust memory.
#ifndef ELECTROLITE_SRC_CONTENT_CODING_H_
#define ELECTROLITE_SRC_CONTENT_CODING_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "status.h"

namespace electrolite {

inline constexpr size_t kMaxDecodedBody = 512u << 20;

// Decodes one or more concatenated zstd frames (content size known or not).
// Errors: invalid_argument for data that is not zstd, corruption for a
// damaged or truncated frame, storage_full above `max_bytes`.
Result<std::string> ZstdDecompress(std::string_view data, size_t max_bytes = kMaxDecodedBody);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_CONTENT_CODING_H_
