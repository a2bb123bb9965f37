#include "digit_data.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <zlib.h>

#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"

namespace svdd::image {

void DigitDataParams::visit(ParamVisitor& v) {
  v.field("images", images,
          "IDX3 image file (plain or .gz), relative to the data folder unless absolute; for the "
          "full MNIST training set name train-images-idx3-ubyte.gz");
  v.field("labels", labels, "the IDX1 label file of the same images");
  v.field("first_row", first_row, "first image used");
  v.non_negative("first_row", first_row);
  v.field("rows", rows, "images used from first_row on (0: to the end of the file)");
  v.non_negative("rows", rows);
  v.field("size", size, "side in pixels: 28 as stored, or 14 (2x2 average pooling)");
  v.require(size == 28 || size == 14, "size", "must be 28 or 14");
}

IdxFile read_idx(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file)) {
    throw InputError(fmt::format("{}: no such file", file.string()));
  }
  // zlib reads gzip and plain files alike.
  gzFile in = gzopen(file.c_str(), "rb");
  if (!in) throw InputError(fmt::format("{}: cannot open", file.string()));
  std::string bytes;
  char buffer[1 << 16];
  int got = 0;
  while ((got = gzread(in, buffer, sizeof buffer)) > 0) bytes.append(buffer, size_t(got));
  int error = Z_OK;
  const std::string message = got < 0 ? gzerror(in, &error) : "";
  gzclose(in);
  if (got < 0) throw InputError(fmt::format("{}: cannot read: {}", file.string(), message));

  auto be32 = [&](size_t at) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + at;
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
  };
  if (bytes.size() < 8)
    throw InputError(fmt::format("{}: too short for an IDX file", file.string()));
  const uint32_t magic = be32(0);
  // 0x0000 08 nn: unsigned bytes with nn dimensions.
  if ((magic >> 8) != 0x08 || (magic & 0xff) < 1 || (magic & 0xff) > 3) {
    throw InputError(fmt::format(
        "{}: not an IDX file of unsigned bytes (magic number {}, expected 2049 for labels or "
        "2051 for images)",
        file.string(), magic));
  }
  const size_t dims = magic & 0xff;
  if (bytes.size() < 4 + 4 * dims)
    throw InputError(fmt::format("{}: truncated header", file.string()));
  IdxFile idx;
  size_t count = 1;
  for (size_t d = 0; d < dims; ++d) {
    idx.dims.push_back(be32(4 + 4 * d));
    count *= size_t(idx.dims.back());
  }
  const size_t header = 4 + 4 * dims;
  if (bytes.size() != header + count) {
    throw InputError(fmt::format("{}: header promises {} values, the file holds {}", file.string(),
                                 count, bytes.size() - header));
  }
  idx.bytes = bytes.substr(header);
  return idx;
}

DigitData load_digits(const DigitDataParams& p, const std::filesystem::path& data_dir) {
  DigitData data;
  data.images_file = data_file_path(p.images, data_dir, "digit data: images");
  data.labels_file = data_file_path(p.labels, data_dir, "digit data: labels");
  const IdxFile images = read_idx(data.images_file);
  const IdxFile labels = read_idx(data.labels_file);
  if (images.dims.size() != 3) {
    throw InputError(
        fmt::format("{}: an image file has 3 dimensions (N, rows, columns), this has {}",
                    data.images_file.string(), images.dims.size()));
  }
  if (labels.dims.size() != 1) {
    throw InputError(fmt::format("{}: a label file has 1 dimension, this has {}",
                                 data.labels_file.string(), labels.dims.size()));
  }
  if (images.dims[0] != labels.dims[0]) {
    throw InputError(fmt::format("{} holds {} images but {} holds {} labels",
                                 data.images_file.string(), images.dims[0],
                                 data.labels_file.string(), labels.dims[0]));
  }
  if (images.dims[1] != 28 || images.dims[2] != 28) {
    throw InputError(fmt::format("{}: images are {}x{}, expected MNIST's 28x28",
                                 data.images_file.string(), images.dims[1], images.dims[2]));
  }
  const int64_t n = images.dims[0];
  data.rows_in_file = n;
  const int64_t rows = p.rows > 0 ? p.rows : n - p.first_row;
  if (p.first_row + rows > n || rows <= 0) {
    throw InputError(fmt::format("{}: rows [{}, {}) asked for, the file has {}",
                                 data.images_file.string(), p.first_row, p.first_row + rows, n));
  }
  at::Tensor all_images =
      at::from_blob(const_cast<char*>(images.bytes.data()), {n, 1, 28, 28}, at::kByte);
  at::Tensor all_labels = at::from_blob(const_cast<char*>(labels.bytes.data()), {n}, at::kByte);
  data.images = all_images.slice(0, p.first_row, p.first_row + rows).to(at::kFloat) / 127.5 - 1;
  if (p.size == 14) data.images = at::avg_pool2d(data.images, {2, 2});
  data.images = data.images.contiguous();
  data.labels = all_labels.slice(0, p.first_row, p.first_row + rows).to(at::kLong);
  if (data.labels.max().item<int64_t>() > 9) {
    throw InputError(fmt::format("{}: labels must be digits 0..9", data.labels_file.string()));
  }
  data.images_sha1 = file_sha1(data.images_file);
  data.labels_sha1 = file_sha1(data.labels_file);
  return data;
}

}  // namespace svdd::image
