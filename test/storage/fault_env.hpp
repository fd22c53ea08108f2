// A RocksDB file system that fails writes to the WAL on demand: the seam
// (open_options::env) through which storage tests inject I/O errors.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <memory>
#include <string>

namespace troupe::storage::testing {

class fault_fs : public rocksdb::FileSystemWrapper {
 public:
  explicit fault_fs(const std::shared_ptr<rocksdb::FileSystem>& target) : FileSystemWrapper(target) {}
  const char* Name() const override { return "troupe_fault_fs"; }

  // While true, every append or sync of a WAL file fails without writing.
  std::atomic<bool> fail_wal{false};
  std::atomic<int> failures{0};

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    auto s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok() && is_wal(f)) *r = std::make_unique<file>(std::move(*r), this);
    return s;
  }

 private:
  static bool is_wal(const std::string& f) { return f.size() > 4 && f.compare(f.size() - 4, 4, ".log") == 0; }

  class file : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    file(std::unique_ptr<rocksdb::FSWritableFile>&& t, fault_fs* fs)
        : FSWritableFileOwnerWrapper(std::move(t)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_->fail_wal) return injected();
      return FSWritableFileOwnerWrapper::Append(d, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v, rocksdb::IODebugContext* dbg) override {
      if (fs_->fail_wal) return injected();
      return FSWritableFileOwnerWrapper::Append(d, o, v, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (fs_->fail_wal) return injected();
      return FSWritableFileOwnerWrapper::Sync(o, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (fs_->fail_wal) return injected();
      return FSWritableFileOwnerWrapper::Fsync(o, dbg);
    }

   private:
    rocksdb::IOStatus injected() {
      fs_->failures++;
      return rocksdb::IOStatus::IOError("injected WAL failure");
    }
    fault_fs* fs_;
  };
};

}  // namespace troupe::storage::testing
