// Internal to src/storage: the RocksDB key layout and the value encodings.
// database.cpp documents why the layout is what it is; this header is the
// contract of each function. Decoders read bytes from disk, so they treat them
// as outside input: they return nullopt on anything malformed and never read
// past the end.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "src/storage/database.hpp"

namespace troupe::storage::codec {

// Key prefixes, one byte each. Never renumber: they are on disk.
inline constexpr char prefix_meta = 'M';     // 'M' + name          -> meta value
inline constexpr char prefix_cluster = 'C';  // 'C' + be16(id)      -> cluster value
inline constexpr char prefix_class = 'K';    // 'K' + lower(name)   -> class value
inline constexpr char prefix_record = 'R';   // 'R' + be16(cluster) + be64(position) -> record value
inline constexpr char prefix_log = 'L';      // 'L' + be64(lsn)     -> log value
inline constexpr char prefix_staged = 'P';   // 'P' + be64(seq)     -> staged entry (replication, not applied)
inline constexpr char prefix_committed = 'Q';  // 'Q' + be64(seq)   -> committed entry (replication log, trimmed)
// 'I' + be32(index id) + key values (index_value encoding, one per field)
//     [+ be16(cluster) + be64(position) for NOTUNIQUE] -> RID (UNIQUE) or "" (NOTUNIQUE)
inline constexpr char prefix_index = 'I';

// The format byte that starts every value; bumped if an encoding changes.
inline constexpr uint8_t value_format = 1;
// Stored under meta_format_key; a database written by a newer format is refused.
inline constexpr std::string_view meta_format_key = "Mformat";
inline constexpr std::string_view meta_last_lsn_key = "Mlast_lsn";
// The sequence number of the last staged entry committed (absent: 0).
inline constexpr std::string_view meta_last_seq_key = "Mlast_seq";
inline constexpr std::string_view meta_promised_epoch_key = "Mpromised";  // replication: highest epoch promised
// Index and property definitions live among the meta keys, so a database
// written before they existed simply has none. Lower-case names hold only
// [a-z0-9_] (index names also '.' and '-'), so '/' cannot occur in them.
inline constexpr std::string_view meta_next_index_key = "Mnext_index";  // be64: the id the next index takes
inline constexpr std::string_view meta_index_prefix = "Mindex/";        // + lower(index name) -> index value
inline constexpr std::string_view meta_property_prefix = "Mprop/";      // + lower(class) '/' lower(name) -> property value

// Longest class name (also bounds the one-byte length fields below).
inline constexpr size_t class_name_bytes_max = 128;

void put_be16(std::string& out, uint16_t v);
void put_be64(std::string& out, uint64_t v);
// REQUIRES: s.size() >= 2 / 8.
uint16_t get_be16(std::string_view s);
uint64_t get_be64(std::string_view s);

// --- keys --------------------------------------------------------------------
// REQUIRES: a valid RID / cluster id (0..32767, position >= 0).
std::string record_key(rid id);
// The first key of cluster `cluster` at or after `position`, and the first key
// after the whole cluster (an exclusive upper bound for iteration).
std::string record_key_lower(int32_t cluster, int64_t position);
std::string record_key_upper(int32_t cluster);
std::optional<rid> parse_record_key(std::string_view key);

std::string cluster_key(int32_t id);
std::string class_key(std::string_view name);  // lower-cases the name
std::string log_key(uint64_t lsn);
std::optional<uint64_t> parse_log_key(std::string_view key);
std::string staged_key(uint64_t seq);
std::optional<uint64_t> parse_staged_key(std::string_view key);
std::string committed_key(uint64_t seq);
std::optional<uint64_t> parse_committed_key(std::string_view key);
// One past the last key with this prefix (for iterate_upper_bound).
std::string prefix_end(char prefix);

// --- values ------------------------------------------------------------------
// record: [format u8][version be64][class length u8][class][fields JSON text, the rest]
std::string encode_record(const record& r);
// `id` comes from the key; the value does not repeat it.
std::optional<record> decode_record(rid id, std::string_view value);

// cluster: [format u8][next_position be64][records be64][name, the rest]
std::string encode_cluster(const cluster_info& c);
std::optional<cluster_info> decode_cluster(int32_t id, std::string_view value);

// class: [format u8][default cluster be16][name length u8][name][superclass, the rest]
std::string encode_class(const class_info& c);
std::optional<class_info> decode_class(std::string_view value);

// log: [format u8][kind u8][cluster be16][position be64][version be64]
//      [class length u8][class][superclass length u8][superclass][fields, the rest]
// Cluster, position and version are stored as two's complement so that -1
// (create_class has no position) survives.
std::string encode_log(const log_entry& e);
std::optional<log_entry> decode_log(uint64_t lsn, std::string_view value);

// staged: [format u8][epoch be64][count be32] then per op [length be32][op as in a log value]
std::string encode_staged(const staged_entry& e);
std::optional<staged_entry> decode_staged(uint64_t seq, std::string_view value);

// --- indexes ------------------------------------------------------------------
// An index as stored: its definition plus the id that prefixes its entries.
// Ids are never reused (meta_next_index_key), so entries of a dropped index
// can never be mistaken for a new one's, even within one batch.
struct index_def {
  uint32_t id = 0;
  index_info info;
};

// Order-preserving encoding of one scalar key value: the bytewise order of
// encodings is the order the query engine uses within a kind, and kinds sort
// null < boolean < number < string.
//   null:    0x01
//   boolean: 0x02, then 0x00 (false) or 0x01 (true)
//   number:  0x03, then the IEEE double as 8 sortable bytes, then the signed
//            residual (exact value - double value) as 8 sortable bytes, so
//            integers and reals compare by exact value: 1 and 1.0 encode the
//            same, and distinct int64s that round to one double stay distinct
//            and ordered. -0.0 encodes as 0.0.
//   string:  0x04, the bytes with 0x00 written as 0x00 0xFF, then 0x00 0x01,
//            so an encoding is never a prefix of a different one and
//            concatenated (composite) keys order field by field.
// Returns false (appending nothing) for a value that is not a scalar or is NaN.
bool append_index_value(std::string& out, const boost::json::value& v);
// Decodes a concatenation of encodings (numbers come back as int64 when the
// exact value is an integer in int64's range, else uint64 or double); nullopt
// on malformed bytes. Used by check() and the tests.
std::optional<std::vector<boost::json::value>> decode_index_values(std::string_view bytes);
inline constexpr uint8_t index_tag_null = 0x01, index_tag_bool = 0x02, index_tag_number = 0x03,
                         index_tag_string = 0x04;

// 'I' + be32(id): every entry of index `id` starts with it.
std::string index_prefix(uint32_t id);
// The smallest key greater than every key that starts with `prefix`.
// REQUIRES: `prefix` holds a byte other than 0xff.
std::string prefix_successor(std::string prefix);
// A RID as 10 bytes (be16 cluster, be64 position): an entry's value, or the
// tail of a NOTUNIQUE entry's key. REQUIRES: a valid RID.
std::string encode_rid(rid id);
std::optional<rid> decode_rid(std::string_view ten_bytes);
// Parses an entry key: the index id, the encoded values and (NOTUNIQUE) the
// RID tail. nullopt if it is not an index key or the values do not decode.
struct index_entry_parts {
  uint32_t id = 0;
  std::vector<boost::json::value> values;
  std::optional<rid> tail;
};
std::optional<index_entry_parts> parse_index_key(std::string_view key, size_t fields, bool unique);

std::string index_meta_key(std::string_view name);  // lower-cases the name
// index: [format u8][id be32][unique u8][field count u8][fields, each length u8 + bytes]
//        [class length u8][class][name, the rest]
std::string encode_index(const index_def& d);
std::optional<index_def> decode_index(std::string_view value);

std::string property_meta_key(std::string_view class_name, std::string_view name);  // lower-cases both
// property: [format u8][class length u8][class][name length u8][name][type, the rest]
std::string encode_property(const property_info& p);
std::optional<property_info> decode_property(std::string_view value);

std::string lower(std::string_view s);

}  // namespace troupe::storage::codec
