// One run per output folder (see folder_lock.hpp).
#include "run/folder_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "svdd/error.hpp"

namespace svdd {

FolderLock::FolderLock(const std::filesystem::path& dir) {
  const auto file = file_of(dir);
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw InputError(fmt::format("output folder {}: cannot write in it ({}: {})", dir.string(),
                                 file.filename().string(), std::strerror(errno)));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char holder[32] = {};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK) {
      const std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "?";
      throw InputError(fmt::format(
          "output folder {} is in use by another svdd run (process {}); wait for it to end, "
          "or choose another --out",
          dir.string(), pid.substr(0, pid.find_first_of("\r\n"))));
    }
    throw InputError(fmt::format("cannot lock {}: {}", file.string(), std::strerror(error)));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the pid; only a second run's message loses it.
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace svdd
