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
// file is removed. The new file gets `mode` (as the umask allows): 0600 for
// files that hold secrets (passwords), so a rewrite never widens who may read them.
status write_file_atomic(const std::filesystem::path& p, std::string_view content, unsigned mode = 0644);

// fsyncs a directory, so that renames and removals in it survive a crash.
status fsync_dir(const std::filesystem::path& dir);

// Copies the files of `from` (not recursive) into `to`, creating `to`; each
// copy gets `mode` (configuration folders hold passwords: 0600).
status copy_dir_files(const std::filesystem::path& from, const std::filesystem::path& to, unsigned mode = 0644);

}  // namespace troupe
