// IMPORT DATABASE: loads an export in OrientDB 2.2's JSON layout (troupe's
// own, export.hpp, or one OrientDB wrote) into a NEW, empty database. Plain
// C++, no CAF.
//
// What is loaded, in this order (each step as storage ops, applied in
// batches of at most import_batch_ops ops):
//   1. classes ("schema.classes"), superclasses first, in the order of their
//      exported default cluster ids (so a troupe export re-creates the same
//      cluster ids); the first of "super-classes" (or the older "super-class")
//      is the superclass: troupe classes have one. V and E exist already.
//   2. declared properties of the types troupe has (storage::property_info);
//      others (LINKBAG, BINARY, BYTE, DECIMAL, CUSTOM, TRANSIENT) are skipped
//      and named in the summary's notes.
//   3. records (op::kind::create with an explicit RID). A record keeps its
//      RID when its exported cluster has the same name as its class's
//      cluster here (always so for troupe's exports): same position, the
//      cluster id of that name. Otherwise (OrientDB spreads a class over
//      several clusters, person_1, person_2...) it goes into its class's
//      cluster after the records that kept theirs. Links (strings "#c:p" in
//      any field, nested too) follow: a moved record's link is rewritten to
//      its new RID, a kept one's to the new cluster id. Versions restart at 1.
//   4. indexes of type UNIQUE / NOTUNIQUE (and their _HASH_INDEX forms) whose
//      definition names a class and plain fields; built over the loaded
//      records. FULLTEXT, DICTIONARY, SPATIAL, manual and map-key indexes are
//      skipped with a note.
// Skipped entirely (counted): OrientDB's system classes (OUser, ORole,
// OIdentity, OFunction, OSequence, OSchedule, OTriggered, ORestricted,
// OShape and their subclasses) and their records, records of the clusters
// "internal", "index" and "manindex", records without a class, and blobs
// (@type "b"). Links to skipped records are left as they were.
//
// Errors: the first operation the database refuses ends the import with a
// message naming the record or schema element (the caller throws the new
// database away: install.hpp builds it under <db>.installing). Malformed
// input is refused with what and where ("$.records[12]: ...").
// Bounds: the export text is at most import_bytes_max bytes (the caller
// refuses a bigger file or body before reading it: gzip is inflated up to
// that bound); classes, indexes and clusters at most import_schema_items_max
// each; JSON nesting at most import_depth_max. Memory: the text, the schema
// sections as JSON values, one record at a time, and a map of the RIDs
// that moved (at most one entry per record).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "src/storage/database.hpp"
#include "src/util/result.hpp"

namespace troupe::backup {

inline constexpr size_t import_bytes_max = 256u << 20;
inline constexpr size_t import_schema_items_max = 10'000;
inline constexpr size_t import_depth_max = 64;
inline constexpr size_t import_batch_ops = 1'000;
inline constexpr size_t import_notes_max = 20;

struct import_summary {
  std::string exported_name;  // info.name
  uint64_t classes = 0, properties = 0, indexes = 0, records = 0;
  uint64_t records_moved = 0;    // did not keep their RID
  uint64_t records_skipped = 0;  // system classes, internal clusters, blobs, no class
  std::vector<std::string> notes;  // what was skipped and why (at most import_notes_max)
};

// The sections of an export, found without building the whole document.
struct export_sections {
  std::string name;                        // info.name ("" when absent)
  std::string_view clusters, schema, indexes;  // JSON texts ("" when absent)
  std::vector<std::string_view> records;   // each record's JSON text, in order
};

// Splits an export's text into its sections and record texts (validating the
// JSON structure of the top level and of the records array; each piece is
// parsed later). Errors name the offset.
result<export_sections> split_export(std::string_view text);

// Reads an export file: gunzipped when it starts with gzip's magic, at most
// import_bytes_max bytes either way.
result<std::string> read_export_file(const std::filesystem::path& file);

// If `data` is gzip, its inflated text (at most `bytes_max`), else `data`
// itself when it is not bigger than that.
result<std::string> export_text(std::string data, size_t bytes_max = import_bytes_max);

// Loads the export `text` into `db`, which REQUIRES: new (only V and E, and
// perhaps the default OUser/ORole classes and records a created database
// gets, src/auth); anything else is refused before it changes. See the
// contract above.
result<import_summary> import_export(std::string_view text, storage::database& db);

}  // namespace troupe::backup
