#include "src/storage/codec.hpp"

#include <bit>
#include <cassert>
#include <cctype>
#include <cmath>

#include <boost/json.hpp>

namespace troupe::storage::codec {

namespace {

// A cursor over a value: every read checks the remaining length first, so a
// truncated or corrupt value yields nullopt instead of reading past the end.
struct reader {
  std::string_view s;
  bool ok = true;

  uint8_t u8() {
    if (s.empty()) return fail<uint8_t>();
    auto v = static_cast<uint8_t>(s[0]);
    s.remove_prefix(1);
    return v;
  }
  uint16_t u16() {
    if (s.size() < 2) return fail<uint16_t>();
    auto v = get_be16(s);
    s.remove_prefix(2);
    return v;
  }
  uint64_t u64() {
    if (s.size() < 8) return fail<uint64_t>();
    auto v = get_be64(s);
    s.remove_prefix(8);
    return v;
  }
  std::string_view bytes(size_t n) {
    if (s.size() < n) return fail<std::string_view>();
    auto v = s.substr(0, n);
    s.remove_prefix(n);
    return v;
  }
  std::string_view rest() {
    auto v = s;
    s = {};
    return v;
  }
  template <class T>
  T fail() {
    ok = false;
    s = {};
    return T{};
  }
};

void put_short_string(std::string& out, std::string_view s) {
  // Class names are bounded by class_name_bytes_max, well inside one byte.
  assert(s.size() <= class_name_bytes_max);
  out.push_back(static_cast<char>(static_cast<uint8_t>(s.size())));
  out.append(s);
}

bool valid_cluster(int64_t c) { return c >= 0 && c <= cluster_id_max; }

}  // namespace

void put_be16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_be64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint16_t get_be16(std::string_view s) {
  assert(s.size() >= 2);
  return static_cast<uint16_t>((static_cast<uint8_t>(s[0]) << 8) | static_cast<uint8_t>(s[1]));
}

uint64_t get_be64(std::string_view s) {
  assert(s.size() >= 8);
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

std::string record_key_lower(int32_t cluster, int64_t position) {
  assert(valid_cluster(cluster));
  assert(position >= 0);
  std::string k(1, prefix_record);
  put_be16(k, static_cast<uint16_t>(cluster));
  put_be64(k, static_cast<uint64_t>(position));
  return k;
}

std::string record_key(rid id) { return record_key_lower(id.cluster, id.position); }

std::string record_key_upper(int32_t cluster) {
  assert(valid_cluster(cluster));
  // The next cluster's first key; cluster 32767 + 1 still fits in 16 bits.
  std::string k(1, prefix_record);
  put_be16(k, static_cast<uint16_t>(cluster + 1));
  return k;
}

std::optional<rid> parse_record_key(std::string_view key) {
  if (key.size() != 11 || key[0] != prefix_record) return std::nullopt;
  auto c = get_be16(key.substr(1));
  auto p = get_be64(key.substr(3));
  if (!valid_cluster(c) || p > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return rid{static_cast<int32_t>(c), static_cast<int64_t>(p)};
}

std::string cluster_key(int32_t id) {
  assert(valid_cluster(id));
  std::string k(1, prefix_cluster);
  put_be16(k, static_cast<uint16_t>(id));
  return k;
}

std::string class_key(std::string_view name) { return std::string(1, prefix_class) + lower(name); }

std::string log_key(uint64_t lsn) {
  assert(lsn > 0);
  std::string k(1, prefix_log);
  put_be64(k, lsn);
  return k;
}

std::optional<uint64_t> parse_log_key(std::string_view key) {
  if (key.size() != 9 || key[0] != prefix_log) return std::nullopt;
  return get_be64(key.substr(1));
}

std::string staged_key(uint64_t seq) {
  assert(seq > 0);
  std::string k(1, prefix_staged);
  put_be64(k, seq);
  return k;
}

std::optional<uint64_t> parse_staged_key(std::string_view key) {
  if (key.size() != 9 || key[0] != prefix_staged) return std::nullopt;
  return get_be64(key.substr(1));
}

std::string committed_key(uint64_t seq) {
  std::string k(1, prefix_committed);
  put_be64(k, seq);
  return k;
}

std::optional<uint64_t> parse_committed_key(std::string_view key) {
  if (key.size() != 9 || key[0] != prefix_committed) return std::nullopt;
  return get_be64(key.substr(1));
}

std::string prefix_end(char prefix) { return std::string(1, static_cast<char>(prefix + 1)); }

std::string encode_record(const record& r) {
  assert(r.version >= 1);
  std::string v;
  v.reserve(1 + 8 + 1 + r.class_name.size() + r.fields.size());
  v.push_back(static_cast<char>(value_format));
  put_be64(v, static_cast<uint64_t>(r.version));
  put_short_string(v, r.class_name);
  v.append(r.fields);
  return v;
}

std::optional<record> decode_record(rid id, std::string_view value) {
  reader in{value};
  if (in.u8() != value_format) return std::nullopt;
  record r;
  r.id = id;
  r.version = static_cast<int64_t>(in.u64());
  r.class_name = std::string(in.bytes(in.u8()));
  r.fields = std::string(in.rest());
  if (!in.ok || r.version < 1 || r.class_name.empty()) return std::nullopt;
  return r;
}

std::string encode_cluster(const cluster_info& c) {
  assert(c.records >= 0 && c.next_position >= 0);
  std::string v(1, static_cast<char>(value_format));
  put_be64(v, static_cast<uint64_t>(c.next_position));
  put_be64(v, static_cast<uint64_t>(c.records));
  v.append(c.name);
  return v;
}

std::optional<cluster_info> decode_cluster(int32_t id, std::string_view value) {
  reader in{value};
  if (in.u8() != value_format) return std::nullopt;
  cluster_info c;
  c.id = id;
  c.next_position = static_cast<int64_t>(in.u64());
  c.records = static_cast<int64_t>(in.u64());
  c.name = std::string(in.rest());
  if (!in.ok || c.next_position < 0 || c.records < 0 || c.name.empty()) return std::nullopt;
  return c;
}

std::string encode_class(const class_info& c) {
  assert(valid_cluster(c.default_cluster));
  std::string v(1, static_cast<char>(value_format));
  put_be16(v, static_cast<uint16_t>(c.default_cluster));
  put_short_string(v, c.name);
  v.append(c.superclass);
  return v;
}

std::optional<class_info> decode_class(std::string_view value) {
  reader in{value};
  if (in.u8() != value_format) return std::nullopt;
  class_info c;
  c.default_cluster = in.u16();
  c.name = std::string(in.bytes(in.u8()));
  c.superclass = std::string(in.rest());
  if (!in.ok || c.name.empty() || !valid_cluster(c.default_cluster)) return std::nullopt;
  return c;
}

std::string encode_log(const log_entry& e) {
  const op& o = e.applied;
  std::string v(1, static_cast<char>(value_format));
  v.push_back(static_cast<char>(o.k));
  put_be16(v, static_cast<uint16_t>(o.id.cluster));
  put_be64(v, static_cast<uint64_t>(o.id.position));
  put_be64(v, static_cast<uint64_t>(o.expected_version));
  put_short_string(v, o.class_name);
  put_short_string(v, o.superclass);
  v.append(o.fields);
  return v;
}

namespace {
std::optional<log_entry> decode_op(uint64_t lsn, std::string_view value, bool class_required);
}  // namespace

// A log entry always names a class (removes record the class removed).
std::optional<log_entry> decode_log(uint64_t lsn, std::string_view value) { return decode_op(lsn, value, true); }

namespace {
// A staged op may not (an update or remove as the client sent it).
std::optional<log_entry> decode_op(uint64_t lsn, std::string_view value, bool class_required) {
  reader in{value};
  if (in.u8() != value_format) return std::nullopt;
  log_entry e;
  e.lsn = lsn;
  auto k = in.u8();
  // Statements decode too (a staged entry may carry one in principle); apply()
  // refuses them, it never misreads them.
  if (k > static_cast<uint8_t>(op::kind::statement)) return std::nullopt;
  e.applied.k = static_cast<op::kind>(k);
  e.applied.id.cluster = static_cast<int16_t>(in.u16());
  e.applied.id.position = static_cast<int64_t>(in.u64());
  e.applied.expected_version = static_cast<int64_t>(in.u64());
  e.applied.class_name = std::string(in.bytes(in.u8()));
  e.applied.superclass = std::string(in.bytes(in.u8()));
  e.applied.fields = std::string(in.rest());
  if (!in.ok || (class_required && e.applied.class_name.empty())) return std::nullopt;
  return e;
}
}  // namespace

namespace {
void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
uint32_t get_be32(std::string_view s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[static_cast<size_t>(i)]);
  return v;
}
}  // namespace

std::string encode_staged(const staged_entry& e) {
  std::string v(1, static_cast<char>(value_format));
  put_be64(v, e.epoch);
  put_be32(v, static_cast<uint32_t>(e.ops.size()));
  for (auto& o : e.ops) {
    auto one = encode_log(log_entry{0, o});
    put_be32(v, static_cast<uint32_t>(one.size()));
    v.append(one);
  }
  return v;
}

std::optional<staged_entry> decode_staged(uint64_t seq, std::string_view value) {
  if (value.size() < 13 || static_cast<uint8_t>(value[0]) != value_format) return std::nullopt;
  staged_entry e;
  e.seq = seq;
  e.epoch = get_be64(value.substr(1));
  uint32_t count = get_be32(value.substr(9));
  value.remove_prefix(13);
  if (count > batch_ops_max) return std::nullopt;
  for (uint32_t i = 0; i < count; ++i) {
    if (value.size() < 4) return std::nullopt;
    uint32_t len = get_be32(value);
    value.remove_prefix(4);
    if (value.size() < len) return std::nullopt;
    auto one = decode_op(0, value.substr(0, len), false);
    if (!one) return std::nullopt;
    e.ops.push_back(std::move(one->applied));
    value.remove_prefix(len);
  }
  if (!value.empty()) return std::nullopt;
  return e;
}

namespace {

// GCC and Clang's 128-bit integer: exact differences of 64-bit integers and
// doubles (-Wpedantic would refuse the bare keyword).
__extension__ typedef __int128 int128;

// Doubles as unsigned integers that sort like the doubles: flip every bit of
// a negative one, only the sign bit of a positive one.
uint64_t sortable_double(double d) {
  if (d == 0) d = 0.0;  // -0.0 equals 0.0
  auto bits = std::bit_cast<uint64_t>(d);
  return (bits & (1ull << 63)) != 0 ? ~bits : bits | (1ull << 63);
}

double unsortable_double(uint64_t u) {
  uint64_t bits = (u & (1ull << 63)) != 0 ? u & ~(1ull << 63) : ~u;
  return std::bit_cast<double>(bits);
}

// A signed 64-bit residual sorts as unsigned after flipping its sign bit.
void put_number(std::string& out, double d, int64_t residual) {
  out.push_back(static_cast<char>(index_tag_number));
  put_be64(out, sortable_double(d));
  put_be64(out, static_cast<uint64_t>(residual) ^ (1ull << 63));
}

// The exact value minus its nearest double. Integers up to 2^64 differ from
// their double by at most 2^10, so the residual always fits in 64 bits.
template <class Int>
int64_t residual_of(Int i, double d) {
  auto r = static_cast<int128>(i) - static_cast<int128>(d);
  assert(r > -(static_cast<int128>(1) << 62) && r < (static_cast<int128>(1) << 62));
  return static_cast<int64_t>(r);
}

}  // namespace

bool append_index_value(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out.push_back(static_cast<char>(index_tag_null));
      return true;
    case boost::json::kind::bool_:
      out.push_back(static_cast<char>(index_tag_bool));
      out.push_back(v.get_bool() ? 1 : 0);
      return true;
    case boost::json::kind::int64: {
      auto d = static_cast<double>(v.get_int64());
      put_number(out, d, residual_of(v.get_int64(), d));
      return true;
    }
    case boost::json::kind::uint64: {
      auto d = static_cast<double>(v.get_uint64());
      put_number(out, d, residual_of(v.get_uint64(), d));
      return true;
    }
    case boost::json::kind::double_:
      if (std::isnan(v.get_double())) return false;
      put_number(out, v.get_double(), 0);
      return true;
    case boost::json::kind::string: {
      out.push_back(static_cast<char>(index_tag_string));
      for (char c : v.get_string()) {
        out.push_back(c);
        if (c == '\0') out.push_back('\xff');
      }
      out.push_back('\0');
      out.push_back('\x01');
      return true;
    }
    default:
      return false;  // arrays and objects are not indexed
  }
}

std::optional<std::vector<boost::json::value>> decode_index_values(std::string_view bytes) {
  std::vector<boost::json::value> out;
  while (!bytes.empty()) {
    auto tag = static_cast<uint8_t>(bytes[0]);
    bytes.remove_prefix(1);
    switch (tag) {
      case index_tag_null:
        out.emplace_back(nullptr);
        break;
      case index_tag_bool:
        if (bytes.empty() || static_cast<uint8_t>(bytes[0]) > 1) return std::nullopt;
        out.emplace_back(bytes[0] == 1);
        bytes.remove_prefix(1);
        break;
      case index_tag_number: {
        if (bytes.size() < 16) return std::nullopt;
        double d = unsortable_double(get_be64(bytes));
        auto residual = static_cast<int64_t>(get_be64(bytes.substr(8)) ^ (1ull << 63));
        bytes.remove_prefix(16);
        if (std::isnan(d)) return std::nullopt;
        // 2^63 and 2^64 bound the integer types; an integral double outside
        // them (or a non-integral one) can only have come from a real.
        constexpr double two63 = 9223372036854775808.0, two64 = 18446744073709551616.0;
        if (d == std::floor(d) && d >= -two63 && d <= two64) {
          int128 exact = static_cast<int128>(d) + residual;
          if (exact >= INT64_MIN && exact <= INT64_MAX) {
            out.emplace_back(static_cast<int64_t>(exact));
            break;
          }
          if (exact >= 0 && exact <= static_cast<int128>(UINT64_MAX)) {
            out.emplace_back(static_cast<uint64_t>(exact));
            break;
          }
          // Only the real 2^64 itself gets here.
        }
        if (residual != 0) return std::nullopt;
        out.emplace_back(d);
        break;
      }
      case index_tag_string: {
        std::string s;
        for (;;) {
          if (bytes.empty()) return std::nullopt;
          if (bytes[0] != '\0') {
            s.push_back(bytes[0]);
            bytes.remove_prefix(1);
            continue;
          }
          if (bytes.size() < 2) return std::nullopt;
          auto next = static_cast<uint8_t>(bytes[1]);
          bytes.remove_prefix(2);
          if (next == 0x01) break;
          if (next != 0xff) return std::nullopt;
          s.push_back('\0');
        }
        out.emplace_back(boost::json::string(s));
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

std::string index_prefix(uint32_t id) {
  std::string k(1, prefix_index);
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>((id >> shift) & 0xff));
  return k;
}

std::string prefix_successor(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff) prefix.pop_back();
  assert(!prefix.empty());
  prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

std::string encode_rid(rid id) {
  assert(id.valid());
  std::string v;
  put_be16(v, static_cast<uint16_t>(id.cluster));
  put_be64(v, static_cast<uint64_t>(id.position));
  return v;
}

std::optional<rid> decode_rid(std::string_view s) {
  if (s.size() != 10) return std::nullopt;
  auto c = get_be16(s);
  auto p = get_be64(s.substr(2));
  if (!valid_cluster(c) || p > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return rid{static_cast<int32_t>(c), static_cast<int64_t>(p)};
}

std::optional<index_entry_parts> parse_index_key(std::string_view key, size_t fields, bool unique) {
  if (key.size() < 5 || key[0] != prefix_index) return std::nullopt;
  index_entry_parts p;
  for (size_t i = 1; i < 5; ++i) p.id = (p.id << 8) | static_cast<uint8_t>(key[i]);
  auto values = key.substr(5);
  if (!unique) {
    if (values.size() < 10) return std::nullopt;
    p.tail = decode_rid(values.substr(values.size() - 10));
    if (!p.tail) return std::nullopt;
    values.remove_suffix(10);
  }
  auto v = decode_index_values(values);
  if (!v || v->size() != fields) return std::nullopt;
  p.values = std::move(*v);
  return p;
}

std::string index_meta_key(std::string_view name) { return std::string(meta_index_prefix) + lower(name); }

std::string encode_index(const index_def& d) {
  assert(!d.info.fields.empty() && d.info.fields.size() <= 255);
  std::string v(1, static_cast<char>(value_format));
  for (int shift = 24; shift >= 0; shift -= 8) v.push_back(static_cast<char>((d.id >> shift) & 0xff));
  v.push_back(d.info.unique ? 1 : 0);
  v.push_back(static_cast<char>(static_cast<uint8_t>(d.info.fields.size())));
  for (auto& f : d.info.fields) put_short_string(v, f);
  put_short_string(v, d.info.class_name);
  v.append(d.info.name);
  return v;
}

std::optional<index_def> decode_index(std::string_view value) {
  reader in{value};
  if (in.u8() != value_format) return std::nullopt;
  index_def d;
  d.id = (static_cast<uint32_t>(in.u16()) << 16) | in.u16();
  auto unique = in.u8();
  auto count = in.u8();
  for (uint8_t i = 0; i < count && in.ok; ++i) d.info.fields.emplace_back(in.bytes(in.u8()));
  d.info.class_name = std::string(in.bytes(in.u8()));
  d.info.name = std::string(in.rest());
  d.info.unique = unique == 1;
  if (!in.ok || unique > 1 || count == 0 || d.info.class_name.empty() || d.info.name.empty()) return std::nullopt;
  return d;
}

std::string property_meta_key(std::string_view class_name, std::string_view name) {
  return std::string(meta_property_prefix) + lower(class_name) + '/' + lower(name);
}

std::string encode_property(const property_info& p) {
  std::string v(1, static_cast<char>(value_format));
  put_short_string(v, p.class_name);
  put_short_string(v, p.name);
  v.append(p.type);
  return v;
}

std::optional<property_info> decode_property(std::string_view value) {
  reader in{value};
  if (in.u8() != value_format) return std::nullopt;
  property_info p;
  p.class_name = std::string(in.bytes(in.u8()));
  p.name = std::string(in.bytes(in.u8()));
  p.type = std::string(in.rest());
  if (!in.ok || p.class_name.empty() || p.name.empty() || p.type.empty()) return std::nullopt;
  return p;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

}  // namespace troupe::storage::codec
