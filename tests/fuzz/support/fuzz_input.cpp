// Scratch files and checks of the fuzz targets (see fuzz_input.hpp).
#include "fuzz_input.hpp"

#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace svdd::fuzz {
namespace {

// One folder per process: libFuzzer's -fork and -jobs run several at once.
class ScratchFolder {
 public:
  ScratchFolder()
      : path_(std::filesystem::temp_directory_path() /
              ("svdd-fuzz-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

const std::filesystem::path& scratch_folder() {
  static const ScratchFolder folder;
  return folder.path();
}

// A new file each time: ext4 writes a file truncated and rewritten through
// to disk when it is closed (auto_da_alloc), which made a run wait on the
// disk for every input.
std::filesystem::path fresh_scratch_path(const std::string& name) {
  const auto file = scratch_folder() / name;
  std::error_code ignored;
  std::filesystem::remove(file, ignored);
  return file;
}

}  // namespace

std::filesystem::path scratch_file(const std::string& name, std::string_view bytes) {
  const auto file = fresh_scratch_path(name);
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  check_that(static_cast<bool>(out), "the scratch file is written");
  return file;
}

std::filesystem::path scratch_gzip_file(const std::string& name, std::string_view bytes) {
  const auto file = fresh_scratch_path(name);
  gzFile out = gzopen(file.c_str(), "wb");
  check_that(out != nullptr, "the scratch gzip file opens");
  const bool written =
      bytes.empty() || gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) > 0;
  check_that(gzclose(out) == Z_OK && written, "the scratch gzip file is written");
  return file;
}

void check_that(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz target check failed: %s\n", what);
  std::abort();
}

}  // namespace svdd::fuzz
