// Handwritten digits for the image plugin: MNIST in its IDX files (plain or
// gzip), by default the 10,000 test digits in ../shared/data/mnist_t10k,
// the only MNIST images in the snapshot. A user with the full training set
// points `images` and `labels` at train-images-idx3-ubyte.gz and
// train-labels-idx1-ubyte.gz. Rows are split by index into ranges, so the
// diffusion model, the guiding classifier and the held-out classifier each
// see their own digits.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "svdd/params.hpp"

namespace svdd::image {

struct DigitDataParams {
  std::string images = "mnist_t10k/t10k-images-idx3-ubyte.gz";
  std::string labels = "mnist_t10k/t10k-labels-idx1-ubyte.gz";
  int64_t first_row = 0;  // the rows [first_row, first_row + rows) are used
  int64_t rows = 0;       // 0: to the end of the file
  int64_t size = 28;      // side in pixels: 28, or 14 (2x2 average pooling)
  void visit(ParamVisitor& v);
};

struct DigitData {
  at::Tensor images;  // [N, 1, size, size] float32 CPU in [-1, 1]
  at::Tensor labels;  // [N] int64 in 0..9
  std::filesystem::path images_file, labels_file;
  std::string images_sha1, labels_sha1;
  int64_t rows_in_file = 0;
};

// Reads the rows `params` names; paths relative to `data_dir` (svdd's data
// folder). InputError for a missing file, a file that is not IDX (naming the
// magic number found), files whose counts disagree, or a range past the end.
DigitData load_digits(const DigitDataParams& params, const std::filesystem::path& data_dir);

// An IDX file (magic 2049 labels or 2051 images, big-endian header; plain or
// gzip): its dimensions and its bytes. InputError naming the file otherwise.
struct IdxFile {
  std::vector<int64_t> dims;  // {N} or {N, rows, cols}
  std::string bytes;          // N * prod(other dims) uint8 values
};
IdxFile read_idx(const std::filesystem::path& file);

}  // namespace svdd::image
