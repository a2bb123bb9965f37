// Private: one run per output folder at a time. A run holds an exclusive
// flock(2) on DIR/.svdd.lock from before it looks at the folder until it
// ends; the kernel releases it when the process dies, however it dies, so a
// crashed run never leaves the folder locked. The file holds the pid of the
// process that holds the lock, for the message a second run gets.
#pragma once

#include <filesystem>

namespace svdd {

class FolderLock {
 public:
  // Takes the lock of `dir` (which must exist), or throws InputError naming
  // the folder and the process that holds it.
  explicit FolderLock(const std::filesystem::path& dir);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  static std::filesystem::path file_of(const std::filesystem::path& dir) {
    return dir / ".svdd.lock";
  }

 private:
  int fd_ = -1;
};

}  // namespace svdd
