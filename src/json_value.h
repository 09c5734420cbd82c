// JsonValue: the engine's small JSON document type (options, declarations,
// rows of local writes, outbox entries, upload bodies, events).
//
// It replaced nlohmann/json and keeps the part of its interface the engine
// used, with the same names (is_object(), get<T>(), dump(), ...) and the same
// observable behaviour:
//  * numbers are signed 64-bit, unsigned 64-bit or double, as parsed: a
//    non-negative integer literal is unsigned, a negative one signed, one
//    outside both ranges (or with a fraction or exponent) a double;
//  * objects keep their keys sorted byte-wise and unique (the last duplicate
//    of a parsed object wins), so dump() is canonical;
//  * dump() is compact: no spaces, doubles in the shortest form that reads
//    back to the same value ("1.0", "0.1", "1e+16"), control characters as
//    \b \f \n \r \t or \u00XX, non-ASCII as UTF-8; invalid UTF-8 in a string
//    is written as U+FFFD (one per invalid sequence), never fatal;
//  * parse() accepts RFC 8259 JSON in UTF-8 (a leading BOM is skipped, a NUL
//    byte ends the input) and rejects invalid UTF-8, lone surrogate escapes
//    and numbers that overflow a double, with is_discarded() set on the
//    result. Unlike nlohmann it also rejects nesting deeper than kMaxDepth,
//    so that no recursion over a document (dump, compare, destroy) can
//    exhaust the stack.
// Nothing here aborts (nlohmann, built without exceptions, did): a get<T>()
// of the wrong type returns T's zero value, operator[] const of a missing key
// or index returns null, and dump() replaces invalid UTF-8 instead of failing.
#ifndef ELECTROLITE_SRC_JSON_VALUE_H_
#define ELECTROLITE_SRC_JSON_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace electrolite {

class JsonValue {
 public:
  static constexpr int kMaxDepth = 512;  // containers open at once in parse()

  enum class Type : uint8_t {
    kNull, kBool, kInteger, kUnsigned, kFloat, kString, kArray, kObject, kDiscarded
  };
  struct Member;                        // {key, value}
  using Array = std::vector<JsonValue>;
  using Object = std::vector<Member>;   // sorted by key, keys unique

  template <bool kConst> class Iter;
  using iterator = Iter<false>;
  using const_iterator = Iter<true>;

  JsonValue() noexcept : type_(Type::kNull), int_(0) {}
  JsonValue(std::nullptr_t) noexcept : JsonValue() {}
  template <typename T, std::enable_if_t<std::is_same_v<T, bool>, int> = 0>
  JsonValue(T b) noexcept : type_(Type::kBool), bool_(b) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  JsonValue(T i) noexcept {
    if constexpr (std::is_signed_v<T>) {
      type_ = Type::kInteger;
      int_ = i;
    } else {
      type_ = Type::kUnsigned;
      uint_ = i;
    }
  }
  template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  JsonValue(T d) noexcept : type_(Type::kFloat), double_(static_cast<double>(d)) {}
  JsonValue(std::string s) : type_(Type::kString) { new (&string_) std::string(std::move(s)); }
  JsonValue(std::string_view s) : JsonValue(std::string(s)) {}
  JsonValue(const char* s) : JsonValue(std::string(s)) {}
  template <typename T>
  JsonValue(const std::vector<T>& elements) : JsonValue(array()) {
    array_.reserve(elements.size());
    for (const T& e : elements) array_.emplace_back(e);
  }
  // nlohmann's rule: a list whose elements are all two-element arrays with a
  // string first is an object ({{"a", 1}, {"b", 2}}; the first duplicate
  // wins), anything else an array ({1, 2}, {"a", 1}).
  JsonValue(std::initializer_list<JsonValue> init);

  JsonValue(const JsonValue& other);
  JsonValue(JsonValue&& other) noexcept;
  JsonValue& operator=(const JsonValue& other);
  JsonValue& operator=(JsonValue&& other) noexcept;
  ~JsonValue() {
    if (type_ >= Type::kString) Destroy();
  }

  static JsonValue object();
  static JsonValue array();
  static JsonValue array(std::initializer_list<JsonValue> init);

  // The value of `text`, or one for which is_discarded() is true when `text`
  // is not exactly one JSON value (surrounding whitespace allowed).
  static JsonValue parse(std::string_view text);

  std::string dump() const;
  void DumpTo(std::string* out) const;

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_boolean() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ >= Type::kInteger && type_ <= Type::kFloat; }
  bool is_number_integer() const { return type_ == Type::kInteger || type_ == Type::kUnsigned; }
  bool is_number_unsigned() const { return type_ == Type::kUnsigned; }
  bool is_number_float() const { return type_ == Type::kFloat; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_discarded() const { return type_ == Type::kDiscarded; }

  // T: bool, std::string, an integer or floating-point type. Numbers and
  // booleans convert to any number type (a double to an integer saturates);
  // any other mismatch gives T().
  template <typename T>
  T get() const;
  // T = const std::string&: the string, or an empty one for a non-string.
  template <typename T>
  T get_ref() const {
    static_assert(std::is_same_v<T, const std::string&>, "get_ref<const std::string&> only");
    return is_string() ? string_ : EmptyString();
  }

  // Containers. size(): members or elements; 0 for null, 1 for a scalar
  // (as nlohmann). Iteration visits the values of an array or object, a
  // scalar itself once, null never.
  size_t size() const;
  bool empty() const { return size() == 0; }
  iterator begin();
  iterator end();
  const_iterator begin() const;
  const_iterator end() const;

  // Objects. find/contains/count/at/erase treat a non-object as empty.
  iterator find(std::string_view key);
  const_iterator find(std::string_view key) const;
  bool contains(std::string_view key) const { return FindMember(key) != nullptr; }
  size_t count(std::string_view key) const { return contains(key) ? 1 : 0; }
  // The member, inserted as null when missing; null becomes an empty object
  // first, and so does any other non-object.
  JsonValue& operator[](std::string_view key);
  const JsonValue& operator[](std::string_view key) const;
  const JsonValue& at(std::string_view key) const { return (*this)[key]; }
  // Inserts unless present; returns the member and whether it was inserted.
  std::pair<iterator, bool> emplace(std::string_view key, JsonValue v);
  size_t erase(std::string_view key);

  // Arrays. push_back/emplace_back turn null into an empty array first (a
  // non-array is replaced by one). operator[] non-const grows the array.
  void push_back(JsonValue v);
  template <typename... Args>
  JsonValue& emplace_back(Args&&... args) {
    Array& a = MutableArray();
    a.emplace_back(std::forward<Args>(args)...);
    return a.back();
  }
  template <typename T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  JsonValue& operator[](T index) {
    return Element(static_cast<size_t>(index));
  }
  template <typename T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  const JsonValue& operator[](T index) const {
    return Element(static_cast<size_t>(index));
  }

  // Deep equality; numbers compare by value across their three kinds;
  // discarded values are unequal to everything.
  friend bool operator==(const JsonValue& a, const JsonValue& b) { return Equal(a, b); }
  friend bool operator!=(const JsonValue& a, const JsonValue& b) { return !Equal(a, b); }
  // A total order for sorted containers: by kind, then by value.
  friend bool operator<(const JsonValue& a, const JsonValue& b) { return Compare(a, b) < 0; }

 private:
  class Builder;
  friend class Builder;

  static bool Equal(const JsonValue& a, const JsonValue& b);
  static int Compare(const JsonValue& a, const JsonValue& b);
  static const std::string& EmptyString();
  static const JsonValue& Null();
  void Destroy() noexcept;
  void CopyFrom(const JsonValue& other);
  void MoveFrom(JsonValue&& other) noexcept;
  Array& MutableArray();
  JsonValue& Element(size_t index);
  const JsonValue& Element(size_t index) const;
  const Member* FindMember(std::string_view key) const;
  int64_t AsInt64() const;
  uint64_t AsUint64() const;
  double AsDouble() const;

  Type type_;
  union {
    bool bool_;
    int64_t int_;
    uint64_t uint_;
    double double_;
    std::string string_;
    Array array_;
    Object object_;
  };
};

struct JsonValue::Member {
  std::string key;
  JsonValue value;
};

template <bool kConst>
class JsonValue::Iter {
 public:
  using V = std::conditional_t<kConst, const JsonValue, JsonValue>;
  using M = std::conditional_t<kConst, const Member, Member>;
  using iterator_category = std::forward_iterator_tag;
  using value_type = JsonValue;
  using difference_type = std::ptrdiff_t;
  using pointer = V*;
  using reference = V&;

  Iter() = default;
  Iter(V* value, M* member) : value_(value), member_(member) {}
  template <bool kOther, std::enable_if_t<kConst && !kOther, int> = 0>
  Iter(const Iter<kOther>& other) : value_(other.value_), member_(other.member_) {}

  V& operator*() const { return member_ != nullptr ? member_->value : *value_; }
  V* operator->() const { return &**this; }
  // REQUIRES: an object's iterator.
  const std::string& key() const { return member_->key; }
  V& value() const { return **this; }
  Iter& operator++() {
    if (member_ != nullptr) ++member_; else ++value_;
    return *this;
  }
  Iter operator++(int) {
    Iter old = *this;
    ++*this;
    return old;
  }
  bool operator==(const Iter& o) const { return value_ == o.value_ && member_ == o.member_; }
  bool operator!=(const Iter& o) const { return !(*this == o); }

 private:
  template <bool> friend class Iter;
  V* value_ = nullptr;   // array element or scalar
  M* member_ = nullptr;  // object member
};

template <typename T>
T JsonValue::get() const {
  if constexpr (std::is_same_v<T, bool>) {
    return is_boolean() && bool_;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return is_string() ? string_ : std::string();
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(AsDouble());
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return static_cast<T>(AsInt64());
  } else {
    static_assert(std::is_integral_v<T>, "get<T>: bool, std::string or a number type");
    return static_cast<T>(AsUint64());
  }
}

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_JSON_VALUE_H_
