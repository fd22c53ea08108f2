// File access used by configuration and storage code. Every write that must
// survive a crash goes through write_file_atomic: a reader sees the old or the
// new content, never a mix.
#pragma once

#include <filesystem>
#include <string>

#include "src/util/result.hpp"

namespace troupe {

// Whole file as bytes. error_info names the file and the OS error.
result<std::string> read_file(const std::filesystem::path& p);

// Writes `content` to a temporary file beside `p`, fsyncs it, renames it over
// `p`, then fsyncs the directory. On failure `p` is untouched and the temporary
// file is removed.
status write_file_atomic(const std::filesystem::path& p, std::string_view content);

// fsyncs a directory, so that renames and removals in it survive a crash.
status fsync_dir(const std::filesystem::path& dir);

// Copies the files of `from` (not recursive) into `to`, creating `to`.
status copy_dir_files(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace troupe
