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

// The format byte that starts every value; bumped if an encoding changes.
inline constexpr uint8_t value_format = 1;
// Stored under meta_format_key; a database written by a newer format is refused.
inline constexpr std::string_view meta_format_key = "Mformat";
inline constexpr std::string_view meta_last_lsn_key = "Mlast_lsn";
// The sequence number of the last staged entry committed (absent: 0).
inline constexpr std::string_view meta_last_seq_key = "Mlast_seq";
inline constexpr std::string_view meta_promised_epoch_key = "Mpromised";  // replication: highest epoch promised

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

std::string lower(std::string_view s);

}  // namespace troupe::storage::codec
