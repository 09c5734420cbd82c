#include "json_tokenizer.h"

#include <cstring>

namespace electrolite {

namespace {

inline bool IsPlain(char c) {
  return c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
}

// The first byte in [p, end) that ends a run of plain string bytes: '"', '\\'
// or a control character (< 0x20); `end` if there is none. Looks at eight
// bytes at a time (SWAR): the classic "has a zero byte" test on the word
// XORed with '"' and with '\\', and a "has a byte below 0x20" test. The lowest
// flagged byte is always a real match (borrows only run upwards), so on a
// little-endian target (x86, wasm) it is found with count-trailing-zeros.
// The three tests share one "& ~w": XOR with '"' or '\\' leaves a byte's high
// bit as it was, so ~q and ~b have the high bits of ~w.
inline const char* ScanPlain(const char* p, const char* end) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    uint64_t q = w ^ (kOnes * '"');
    uint64_t b = w ^ (kOnes * '\\');
    uint64_t hit = ((q - kOnes) | (b - kOnes) | (w - kOnes * 0x20)) & ~w & kHigh;
    if (hit != 0) return p + (__builtin_ctzll(hit) >> 3);
    p += 8;
  }
#endif
  while (p < end && IsPlain(*p)) p++;
  return p;
}

// The byte a two-character escape \c stands for; 0 for 'u' and invalid ones.
inline char SimpleEscape(char c) {
  switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;
  }
}

constexpr size_t kLocalString = 512;

// Decodes a string whose plain text runs from `start` to `stop` (the first
// byte ScanPlain stopped at) when it ends before `end`, uses no \u escape
// and decodes to at most kLocalString bytes: writes it to `out`, points *text
// at it and returns its closing quote. Otherwise returns nullptr.
const char* DecodeShortString(const char* start, const char* stop, const char* end, char* out,
                              std::string_view* text) {
  size_t n = 0;
  const char* q = start;
  for (;;) {
    size_t run = static_cast<size_t>(stop - q);
    if (n + run > kLocalString) return nullptr;
    std::memcpy(out + n, q, run);
    n += run;
    q = stop;
    if (q >= end) return nullptr;
    if (*q == '"') break;
    if (*q != '\\' || q + 1 >= end || n >= kLocalString) return nullptr;
    char e = SimpleEscape(q[1]);
    if (e == 0) return nullptr;
    out[n++] = e;
    q += 2;
    stop = ScanPlain(q, end);
  }
  *text = std::string_view(out, n);
  return q;
}

inline bool IsNumberChar(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

bool ValidNumber(std::string_view s) {
  size_t i = 0, n = s.size();
  if (i < n && s[i] == '-') i++;
  if (i >= n) return false;
  if (s[i] == '0') {
    i++;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    i++;
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == start) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == start) return false;
  }
  return i == n;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Status JsonHandler::OnMember(std::string_view key, std::string_view value) {
  EL_RETURN_IF_ERROR(OnToken(JsonToken::kKey, key));
  return OnToken(JsonToken::kString, value);
}

Status JsonTokenizer::Error(std::string_view what) const {
  std::string m = "malformed JSON at byte ";
  m += std::to_string(offset_);
  m += ": ";
  m += what;
  return Status::Protocol(std::move(m));
}

Status JsonTokenizer::ValueStartError() const {
  switch (state_) {
    case State::kStart:
    case State::kValue:
    case State::kArrayFirst:
      return Status::Ok();
    case State::kDone:
      return Error("trailing data after the JSON value");
    case State::kObjectFirst:
    case State::kObjectKey:
      return Error("expected an object key");
    case State::kColon:
      return Error("expected ':'");
    case State::kAfterValue:
      return Error("expected ',' or a closing bracket");
  }
  return Error("unexpected value");
}

Status JsonTokenizer::EmitString() {
  lex_ = Lex::kNone;
  if (high_surrogate_ != 0) EL_RETURN_IF_ERROR(LoneSurrogate());
  if (string_is_key_) {
    state_ = State::kColon;
    return handler_->OnToken(JsonToken::kKey, buf_);
  }
  EL_RETURN_IF_ERROR(handler_->OnToken(JsonToken::kString, buf_));
  EndValue();
  return Status::Ok();
}

Status JsonTokenizer::LoneSurrogate() {
  high_surrogate_ = 0;
  if (strict_surrogates_) return Error("lone surrogate in \\u escape");
  AppendUtf8(&buf_, 0xFFFD);
  return Status::Ok();
}

Status JsonTokenizer::FinishNumber() {
  lex_ = Lex::kNone;
  if (!ValidNumber(buf_)) return Error("invalid number '" + buf_.substr(0, 32) + "'");
  EL_RETURN_IF_ERROR(handler_->OnToken(JsonToken::kNumber, buf_));
  EndValue();
  return Status::Ok();
}

// Continues a string whose text is being decoded into buf_.
Status JsonTokenizer::StringStep(const char* p, const char* end, size_t* used) {
  const char* start = p;
  while (p < end) {
    char c = *p;
    if (escape_ == 0) {
      if (c == '"') {
        *used = static_cast<size_t>(p + 1 - start);
        offset_ += *used;
        return EmitString();
      }
      if (c == '\\') {
        escape_ = 1;
        p++;
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        offset_ += static_cast<size_t>(p - start);
        return Error("control character in string");
      }
      if (high_surrogate_ != 0) EL_RETURN_IF_ERROR(LoneSurrogate());
      // Copy a run of plain bytes.
      const char* q = ScanPlain(p, end);
      buf_.append(p, static_cast<size_t>(q - p));
      p = q;
      continue;
    }
    if (escape_ == 1) {
      char out = 0;
      switch (c) {
        case '"': out = '"'; break;
        case '\\': out = '\\'; break;
        case '/': out = '/'; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'u': escape_ = 2; unicode_ = 0; p++; continue;
        default:
          offset_ += static_cast<size_t>(p - start);
          return Error("invalid escape in string");
      }
      if (high_surrogate_ != 0) EL_RETURN_IF_ERROR(LoneSurrogate());
      buf_.push_back(out);
      escape_ = 0;
      p++;
      continue;
    }
    // \uXXXX digits.
    int h = HexValue(c);
    if (h < 0) {
      offset_ += static_cast<size_t>(p - start);
      return Error("invalid \\u escape in string");
    }
    unicode_ = (unicode_ << 4) | static_cast<uint32_t>(h);
    p++;
    if (++escape_ < 6) continue;
    escape_ = 0;
    uint32_t cp = unicode_;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (high_surrogate_ != 0) EL_RETURN_IF_ERROR(LoneSurrogate());
      high_surrogate_ = cp;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      if (high_surrogate_ != 0) {
        AppendUtf8(&buf_, 0x10000 + ((high_surrogate_ - 0xD800) << 10) + (cp - 0xDC00));
        high_surrogate_ = 0;
      } else {
        EL_RETURN_IF_ERROR(LoneSurrogate());
      }
    } else {
      if (high_surrogate_ != 0) EL_RETURN_IF_ERROR(LoneSurrogate());
      AppendUtf8(&buf_, cp);
    }
  }
  *used = static_cast<size_t>(p - start);
  offset_ += *used;
  return Status::Ok();
}

Status JsonTokenizer::Feed(std::string_view chunk) {
  char local[kLocalString];
  const char* p = chunk.data();
  const char* end = p + chunk.size();
  while (p < end) {
    if (lex_ != Lex::kNone) {
      if (lex_ == Lex::kString) {
        size_t used = 0;
        EL_RETURN_IF_ERROR(StringStep(p, end, &used));
        p += used;
        continue;
      }
      if (lex_ == Lex::kNumber) {
        const char* q = p;
        while (q < end && IsNumberChar(*q)) q++;
        buf_.append(p, static_cast<size_t>(q - p));
        offset_ += static_cast<size_t>(q - p);
        p = q;
        if (p < end) EL_RETURN_IF_ERROR(FinishNumber());
        continue;
      }
      if (lex_ == Lex::kLiteral) {
        while (p < end && literal_[literal_pos_] != '\0') {
          if (*p != literal_[literal_pos_]) return Error("invalid literal");
          p++;
          offset_++;
          literal_pos_++;
        }
        if (literal_[literal_pos_] == '\0') {
          lex_ = Lex::kNone;
          JsonToken t = literal_[0] == 't' ? JsonToken::kTrue
                        : literal_[0] == 'f' ? JsonToken::kFalse
                                             : JsonToken::kNull;
          EL_RETURN_IF_ERROR(handler_->OnToken(t, {}));
          EndValue();
        }
        continue;
      }
    }
    char c = *p;
    switch (c) {
      case ' ':
      case '\n':
      case '\r':
      case '\t':
        p++;
        offset_++;
        break;
      case '{':
      case '[': {
        if (!CanStartValue()) return ValueStartError();
        if (static_cast<int>(stack_.size()) >= max_depth_) return Error("nesting too deep");
        stack_.push_back(c);
        state_ = c == '{' ? State::kObjectFirst : State::kArrayFirst;
        p++;
        offset_++;
        EL_RETURN_IF_ERROR(
            handler_->OnToken(c == '{' ? JsonToken::kBeginObject : JsonToken::kBeginArray, {}));
        break;
      }
      case '}':
      case ']': {
        char open = c == '}' ? '{' : '[';
        bool allowed = (state_ == State::kAfterValue ||
                        state_ == (c == '}' ? State::kObjectFirst : State::kArrayFirst)) &&
                       !stack_.empty() && stack_.back() == open;
        if (!allowed) return Error(std::string("unexpected '") + c + "'");
        stack_.pop_back();
        p++;
        offset_++;
        EL_RETURN_IF_ERROR(
            handler_->OnToken(c == '}' ? JsonToken::kEndObject : JsonToken::kEndArray, {}));
        EndValue();
        break;
      }
      case ',':
        if (state_ != State::kAfterValue) return Error("unexpected ','");
        state_ = stack_.back() == '{' ? State::kObjectKey : State::kValue;
        p++;
        offset_++;
        break;
      case ':':
        if (state_ != State::kColon) return Error("unexpected ':'");
        state_ = State::kValue;
        p++;
        offset_++;
        break;
      case '"': {
        string_is_key_ = state_ == State::kObjectFirst || state_ == State::kObjectKey;
        if (!string_is_key_ && !CanStartValue()) return ValueStartError();
        // Fast path: the whole string is in this chunk, without escapes (a view
        // of the chunk) or with short ones only (decoded into `local`).
        // Anything else (\u, a control character, the chunk's end) goes
        // through StringStep from the first stop, with the text so far in buf_.
        const char* q = ScanPlain(p + 1, end);
        std::string_view text;
        if (q < end && *q == '"') {
          text = std::string_view(p + 1, static_cast<size_t>(q - p - 1));
          // A key followed by ':' and a plain string value: one member.
          if (string_is_key_ && end - q > 2 && q[1] == ':' && q[2] == '"') {
            const char* v = q + 3;
            const char* close = ScanPlain(v, end);
            if (close < end && *close == '"') {
              offset_ += static_cast<size_t>(close + 1 - p);
              p = close + 1;
              state_ = State::kAfterValue;  // inside an object: the stack is not empty
              EL_RETURN_IF_ERROR(
                  handler_->OnMember(text, std::string_view(v, static_cast<size_t>(close - v))));
              break;
            }
          }
        } else if (const char* close = DecodeShortString(p + 1, q, end, local, &text)) {
          q = close;
        } else {
          buf_.assign(p + 1, static_cast<size_t>(q - p - 1));
          offset_ += static_cast<size_t>(q - p);
          p = q;
          lex_ = Lex::kString;
          escape_ = 0;
          high_surrogate_ = 0;
          break;
        }
        offset_ += static_cast<size_t>(q + 1 - p);
        p = q + 1;
        if (string_is_key_) {
          state_ = State::kColon;
          EL_RETURN_IF_ERROR(handler_->OnToken(JsonToken::kKey, text));
        } else {
          EL_RETURN_IF_ERROR(handler_->OnToken(JsonToken::kString, text));
          EndValue();
        }
        break;
      }
      case 't':
      case 'f':
      case 'n':
        if (!CanStartValue()) return ValueStartError();
        literal_ = c == 't' ? "true" : c == 'f' ? "false" : "null";
        literal_pos_ = 0;
        lex_ = Lex::kLiteral;
        break;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          if (!CanStartValue()) return ValueStartError();
          buf_.clear();
          lex_ = Lex::kNumber;
          break;
        }
        if (state_ == State::kDone) return Error("trailing data after the JSON value");
        return Error(std::string("unexpected character '") + c + "'");
    }
  }
  return Status::Ok();
}

Status JsonTokenizer::Finish(bool allow_empty) {
  if (lex_ == Lex::kNumber) EL_RETURN_IF_ERROR(FinishNumber());
  if (lex_ == Lex::kString) return Error("truncated: unterminated string");
  if (lex_ == Lex::kLiteral) return Error("truncated literal");
  if (state_ == State::kStart) {
    if (allow_empty) return Status::Ok();
    return Error("empty input");
  }
  if (state_ != State::kDone) return Error("truncated: unexpected end of input");
  return Status::Ok();
}

}  // namespace electrolite
