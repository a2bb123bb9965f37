// How libjpeg errors are handled: libjpeg reports a fatal error through
// err->error_exit, which must not return. Ours formats the message and
// longjmp()s back to a setjmp() in compress_counting(), a function with only
// trivially destructible locals that works on state owned by its caller, so
// no C++ destructor is skipped and every value read after the jump is well
// defined. (Throwing from error_exit would unwind through libjpeg's C
// frames, which need not have unwind tables.) The output never leaves
// libjpeg's own memory pool: we only need the size, so our destination
// manager counts bytes in a fixed buffer instead of collecting them. Unlike
// jpeg_mem_dest, which mallocs a growing buffer that an error in the middle
// would leak, it allocates nothing, so an error leaves nothing to free
// beyond jpeg_destroy_compress().
#include "jpeg_compressibility.hpp"

// jpeglib.h needs size_t and FILE declared before it.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
// clang-format on

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <csetjmp>
#include <string>

#include "image_domain.hpp"
#include "svdd/error.hpp"

namespace svdd::image {
namespace {

constexpr const char* kRewardName = "image.jpeg_compressibility";

// ---- libjpeg plumbing -----------------------------------------------------

struct ErrorManager {
  jpeg_error_mgr base;  // first, so libjpeg's pointer to it is ours too
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_jpeg_error(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings and trace messages would go to stderr; none matters for a size.
void ignore_jpeg_message(j_common_ptr) {}

// A destination that counts the bytes libjpeg writes through a fixed buffer.
struct CountingDestination {
  jpeg_destination_mgr base;  // first, for the same reason as above
  JOCTET buffer[4096];
  int64_t bytes = 0;
};

void start_counting(j_compress_ptr cinfo) {
  auto* dest = reinterpret_cast<CountingDestination*>(cinfo->dest);
  dest->base.next_output_byte = dest->buffer;
  dest->base.free_in_buffer = sizeof(dest->buffer);
}

// Called when the buffer is full: all of it counts.
boolean count_full_buffer(j_compress_ptr cinfo) {
  auto* dest = reinterpret_cast<CountingDestination*>(cinfo->dest);
  dest->bytes += sizeof(dest->buffer);
  start_counting(cinfo);
  return TRUE;
}

void count_rest(j_compress_ptr cinfo) {
  auto* dest = reinterpret_cast<CountingDestination*>(cinfo->dest);
  dest->bytes += static_cast<int64_t>(sizeof(dest->buffer) - dest->base.free_in_buffer);
}

// Everything one compression uses, owned by the caller of
// compress_counting(). Value-initialised (zeroed), so that
// jpeg_destroy_compress() is safe whenever an error struck.
struct Compression {
  jpeg_compress_struct cinfo;
  ErrorManager errors;
  CountingDestination destination;
};

// Compresses `image` into `job`'s counter; false after a libjpeg error
// (the message is in job->errors). Only trivially destructible locals: a
// longjmp lands here.
bool compress_counting(Compression* job, const PngImage* image, int quality) {
  job->cinfo.err = jpeg_std_error(&job->errors.base);
  job->errors.base.error_exit = on_jpeg_error;
  job->errors.base.output_message = ignore_jpeg_message;
  if (setjmp(job->errors.jump)) return false;
  jpeg_create_compress(&job->cinfo);
  job->destination.base.init_destination = start_counting;
  job->destination.base.empty_output_buffer = count_full_buffer;
  job->destination.base.term_destination = count_rest;
  job->cinfo.dest = &job->destination.base;

  job->cinfo.image_width = static_cast<JDIMENSION>(image->width);
  job->cinfo.image_height = static_cast<JDIMENSION>(image->height);
  job->cinfo.input_components = static_cast<int>(image->channels);
  job->cinfo.in_color_space = image->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&job->cinfo);
  // force_baseline: quantisation steps stay within 8 bits at low qualities,
  // as PIL asks (cjpeg needs -baseline for the same).
  jpeg_set_quality(&job->cinfo, quality, TRUE);
  jpeg_start_compress(&job->cinfo, TRUE);
  const int64_t row_bytes = image->width * image->channels;
  while (job->cinfo.next_scanline < job->cinfo.image_height) {
    // libjpeg only reads the rows, but its API takes non-const pointers.
    JSAMPROW row =
        const_cast<JSAMPLE*>(image->pixels.data() + job->cinfo.next_scanline * row_bytes);
    jpeg_write_scanlines(&job->cinfo, &row, 1);
  }
  jpeg_finish_compress(&job->cinfo);
  return true;
}

// ---- the reward -----------------------------------------------------------

struct JpegParams {
  int quality = 95;
  void visit(ParamVisitor& v) {
    v.field("quality", quality,
            "JPEG quality, 1 (smallest files) to 100; 95 as DDPO and SVDD save with PIL");
    v.require(quality >= 1 && quality <= 100, "quality", "must be between 1 and 100");
  }
};

// Not a reward for every continuous domain: the shape must be a picture.
void check_image_domain(const Domain& domain) {
  const auto& shape = domain.shape;
  const bool image = !domain.discrete() && shape.size() == 3 && (shape[0] == 1 || shape[0] == 3) &&
                     shape[1] >= 1 && shape[2] >= 1 && shape[1] <= JPEG_MAX_DIMENSION &&
                     shape[2] <= JPEG_MAX_DIMENSION;
  if (!image) {
    throw InputError(fmt::format(
        "reward '{}' scores images (a continuous domain of shape {{C, H, W}}, C = 1 or 3, sides "
        "up to {} pixels); domain '{}' is not one",
        kRewardName, JPEG_MAX_DIMENSION, domain.name));
  }
}

// An upper bound on the size of any baseline JPEG of this shape with the
// standard Huffman tables, in bytes: per 8x8 block and component at most a
// 9+11-bit DC code and 63 AC codes of 16+10 bits (about 208 bytes), doubled
// for 0xFF byte stuffing (about 6.5 bytes per sample, rounded up to 8), on
// the image padded to whole 16x16 MCUs, plus 2 kB for the headers and tables.
double jpeg_size_bound(int64_t channels, int64_t height, int64_t width) {
  auto padded = [](int64_t side) { return (side + 15) / 16 * 16; };
  return 8.0 * double(channels) * double(padded(height)) * double(padded(width)) + 2000.0;
}

class JpegCompressibility final : public RewardOracle {
 public:
  JpegCompressibility(int quality, const Domain& domain)
      : quality_(quality),
        invalid_(-jpeg_size_bound(domain.shape[0], domain.shape[1], domain.shape[2]) / 1000.0) {}

  // [B, C, H, W] -> [B] float64 CPU: -(JPEG bytes) / 1000 of each sample
  // as to_png_images() quantises it (clamped to [-1, 1], 8 bits); a sample
  // with a non-finite value (NaN has no pixel) scores invalid_value().
  at::Tensor score(const Samples& samples) override {
    const at::Tensor& x = samples.tensor();
    const std::vector<PngImage> images = to_png_images(x);
    const auto n = static_cast<int64_t>(images.size());
    const at::Tensor finite = x.isfinite().reshape({n, -1}).all(1).to(at::kCPU).contiguous();
    const bool* valid = finite.data_ptr<bool>();
    at::Tensor out = at::empty({n}, at::dtype(at::kDouble));
    double* values = out.data_ptr<double>();
    // A 28x28 image takes tens of microseconds; a few per task amortise the
    // dispatch.
    at::parallel_for(0, n, 8, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        values[i] = valid[i] ? -double(jpeg_size(images[i], quality_)) / 1000.0 : invalid_;
    });
    return out;
  }

  // Every finite image encodes (to_png_images clamps any value into a
  // pixel); only a sample with a NaN or infinite value is invalid. The
  // value is the lowest score an image of the domain's shape could get,
  // minus jpeg_size_bound() / 1000, finite so that weighted sums (composite
  // rewards) stay finite.
  double invalid_value() const override { return invalid_; }

 private:
  int quality_;
  double invalid_;
};

}  // namespace

int64_t jpeg_size(const PngImage& image, int quality) {
  if (quality < 1 || quality > 100) {
    throw InputError(fmt::format("JPEG quality {} is not between 1 and 100", quality));
  }
  if (image.channels != 1 && image.channels != 3) {
    throw InputError(fmt::format("JPEG images have 1 or 3 channels, not {}", image.channels));
  }
  // A side above JPEG_MAX_DIMENSION is left to libjpeg, whose error the
  // tests use to check the error path.
  if (image.height < 1 || image.width < 1 ||
      image.pixels.size() != size_t(image.height * image.width * image.channels)) {
    throw InputError(fmt::format("cannot JPEG-encode a {}x{}x{} image of {} values", image.height,
                                 image.width, image.channels, image.pixels.size()));
  }
  Compression job{};
  const bool ok = compress_counting(&job, &image, quality);
  jpeg_destroy_compress(&job.cinfo);
  if (!ok) throw RuntimeFailure(fmt::format("libjpeg: {}", job.errors.message));
  return job.destination.bytes;
}

void register_jpeg_compressibility(Registry& registry) {
  registry.add<svdd::ComponentKind::reward, JpegParams>(
      kRewardName,
      "JPEG compressibility (SVDD, after DDPO): -(bytes of the sample saved as a JPEG) / 1000, "
      "higher = smaller file; not differentiable; every image is valid",
      [](const JpegParams& p, const BuildContext&, const Domain& domain) {
        check_image_domain(domain);
        return std::make_unique<JpegCompressibility>(p.quality, domain);
      });
}

}  // namespace svdd::image
