// The time stamp of cards and run configurations (file_writing.hpp).
#include "io/file_writing.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

#include "svdd/error.hpp"

namespace svdd {

std::string shown_path(const std::filesystem::path& path) {
  const std::string text = path.string();
  if (text.size() <= 160) return text;
  return fmt::format("{}...{} ({} characters)", text.substr(0, 80), text.substr(text.size() - 60),
                     text.size());
}

void write_file_atomically(const std::filesystem::path& file, const std::string& bytes) {
  try {
    write_atomically(file, [&](const std::filesystem::path& tmp) {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), std::streamsize(bytes.size()));
      finish_writing(out, tmp);
    });
  } catch (const std::filesystem::filesystem_error& error) {  // the rename
    throw RuntimeFailure(fmt::format("cannot write {}: {}", shown_path(file), error.what()));
  }
}

void make_output_folder(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (!error && std::filesystem::is_directory(dir, error)) return;
  // create_directories reports "Not a directory" for a file anywhere on the
  // way; say which.
  for (auto part = dir; !part.empty() && part != part.parent_path(); part = part.parent_path()) {
    std::error_code ignored;
    if (std::filesystem::exists(part, ignored) && !std::filesystem::is_directory(part, ignored)) {
      throw InputError(fmt::format("output folder {}: {} exists and is not a folder",
                                   shown_path(dir), shown_path(part)));
    }
  }
  throw InputError(fmt::format("output folder {}: cannot create it: {}", shown_path(dir),
                               error ? error.message() : "it is not a folder"));
}

void check_output_file(const std::filesystem::path& file) {
  std::error_code ignored;
  if (std::filesystem::is_directory(file, ignored)) {
    throw InputError(fmt::format("output file {} is a folder: name the file to write (e.g. {})",
                                 shown_path(file), shown_path(file / "model.pt")));
  }
  if (file.has_parent_path()) make_output_folder(file.parent_path());
  // A probe of the file's own name, with the suffix its atomic write uses:
  // a name too long, no permission or a read-only file system fails here,
  // not after the training.
  auto probe = file;
  probe += ".tmp";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0 && errno != EEXIST) {
    throw InputError(fmt::format("output file {}: cannot create it: {}", shown_path(file),
                                 std::strerror(errno)));
  }
  if (fd >= 0) {
    ::close(fd);
    std::filesystem::remove(probe, ignored);
  }
}

void check_flushed(std::ostream& out, const std::filesystem::path& file) {
  errno = 0;
  out.flush();
  if (!out) {
    throw RuntimeFailure(fmt::format("cannot write {}: {}", file.string(),
                                     errno ? std::strerror(errno) : "the stream failed"));
  }
}

void finish_writing(std::ofstream& out, const std::filesystem::path& file) {
  check_flushed(out, file);
  errno = 0;
  out.close();
  if (!out) {
    throw RuntimeFailure(fmt::format("cannot write {}: {}", file.string(),
                                     errno ? std::strerror(errno) : "the stream failed"));
  }
}

std::string utc_now_text() {
  std::time_t t = std::time(nullptr);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

}  // namespace svdd
