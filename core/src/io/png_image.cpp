// PNG encoding and decoding with libpng, base64 and PNG data URIs.
//
// How libpng errors become InputError: libpng reports a fatal error by
// calling our error function, which must not return. We store the message
// and png_longjmp() back to a setjmp() in a small function that holds only
// trivially destructible locals (raw pointers, ints), then throw from
// ordinary C++ code. Throwing a C++ exception from the error function would
// unwind through libpng's C frames, which works only when libpng was built
// with unwind tables and leaks whatever libpng allocated in those frames;
// setjmp/longjmp is the mechanism libpng documents. The rule that makes it
// safe: no C++ object with a destructor lives in a frame that a longjmp
// skips, and every object written between setjmp and longjmp belongs to the
// caller (so its value after the jump is well defined). Our I/O callbacks
// also run under libpng and therefore report failures with png_error(),
// never with an exception.
#include "svdd/io/png_image.hpp"

#include <fmt/format.h>
#include <png.h>

#include <array>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "io/file_writing.hpp"
#include "svdd/error.hpp"

namespace svdd {
namespace {

constexpr std::string_view kDataUriPrefix = "data:image/png;base64,";

// ---- libpng plumbing ------------------------------------------------------

// What the callbacks share with the code that called libpng.
struct PngContext {
  std::array<char, 256> message{};  // the last error, for the exception
  // Encoding: where the bytes go. Decoding: the bytes and how far we read.
  std::string* output = nullptr;
  const std::string* input = nullptr;
  size_t input_offset = 0;
};

[[noreturn]] void on_png_error(png_structp png, png_const_charp message) {
  auto* context = static_cast<PngContext*>(png_get_error_ptr(png));
  std::snprintf(context->message.data(), context->message.size(), "%s",
                message ? message : "unknown libpng error");
  png_longjmp(png, 1);
}

// Warnings (an unknown chunk, a bad CRC in an ancillary chunk) do not stop
// decoding and are not worth printing to stderr.
void on_png_warning(png_structp, png_const_charp) {}

void write_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* context = static_cast<PngContext*>(png_get_io_ptr(png));
  bool failed = false;
  try {
    context->output->append(reinterpret_cast<const char*>(data), length);
  } catch (...) {  // std::bad_alloc, which must not unwind through libpng
    failed = true;
  }
  if (failed) png_error(png, "out of memory while encoding");
}

void flush_nothing(png_structp) {}

void read_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* context = static_cast<PngContext*>(png_get_io_ptr(png));
  const std::string& input = *context->input;
  if (length > input.size() - context->input_offset) png_error(png, "the data is truncated");
  std::memcpy(data, input.data() + context->input_offset, length);
  context->input_offset += length;
}

// Owns libpng's read or write structures.
class PngWriter {
 public:
  explicit PngWriter(PngContext& context)
      : png_(png_create_write_struct(PNG_LIBPNG_VER_STRING, &context, on_png_error,
                                     on_png_warning)) {
    if (png_) info_ = png_create_info_struct(png_);
    if (!png_ || !info_) throw RuntimeFailure("libpng: cannot create a PNG writer");
    png_set_write_fn(png_, &context, write_bytes, flush_nothing);
  }
  ~PngWriter() { png_destroy_write_struct(&png_, &info_); }
  PngWriter(const PngWriter&) = delete;
  PngWriter& operator=(const PngWriter&) = delete;
  png_structp png() const { return png_; }
  png_infop info() const { return info_; }

 private:
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

class PngReader {
 public:
  explicit PngReader(PngContext& context)
      : png_(
            png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, on_png_error, on_png_warning)) {
    if (png_) info_ = png_create_info_struct(png_);
    if (!png_ || !info_) throw RuntimeFailure("libpng: cannot create a PNG reader");
    png_set_read_fn(png_, &context, read_bytes);
  }
  ~PngReader() { png_destroy_read_struct(&png_, &info_, nullptr); }
  PngReader(const PngReader&) = delete;
  PngReader& operator=(const PngReader&) = delete;
  png_structp png() const { return png_; }
  png_infop info() const { return info_; }

 private:
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

// The functions below call libpng under setjmp. They hold only trivially
// destructible locals and write only through their pointer arguments, so
// a longjmp back into them is well defined. Each returns false after a
// libpng error (the message is in the context).

bool write_png_rows(png_structp png, png_infop info, const PngImage* image, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, static_cast<png_uint_32>(image->width),
               static_cast<png_uint_32>(image->height), 8,
               image->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

struct PngHeader {
  png_uint_32 width = 0, height = 0;
  int channels = 0, bit_depth = 0;
};

// Reads the header and asks libpng for 8-bit grey or RGB whatever the file
// holds: palette -> RGB, grey below 8 bits -> 8, 16 bits -> 8, alpha
// (including a tRNS chunk) dropped, interlacing undone.
bool read_png_header(png_structp png, png_infop info, PngHeader* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  const int color_type = png_get_color_type(png, info);
  const int bit_depth = png_get_bit_depth(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (bit_depth == 16) png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  header->width = png_get_image_width(png, info);
  header->height = png_get_image_height(png, info);
  header->channels = png_get_channels(png, info);
  header->bit_depth = png_get_bit_depth(png, info);
  return true;
}

bool read_png_rows(png_structp png, png_infop info, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, info);
  return true;
}

std::vector<png_bytep> row_pointers(uint8_t* pixels, int64_t height, int64_t row_bytes) {
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) rows[y] = pixels + y * row_bytes;
  return rows;
}

void check_shape(const PngImage& image) {
  if (image.channels != 1 && image.channels != 3) {
    throw InputError(
        fmt::format("PNG images have 1 (grey) or 3 (RGB) channels, not {}", image.channels));
  }
  // PNG stores sizes as 31-bit numbers; we also keep every size well inside
  // size_t arithmetic.
  constexpr int64_t kMaxSide = std::numeric_limits<int32_t>::max();
  if (image.height < 1 || image.width < 1 || image.height > kMaxSide || image.width > kMaxSide) {
    throw InputError(
        fmt::format("PNG image size {}x{} is empty or too large", image.height, image.width));
  }
  const auto expected = static_cast<uint64_t>(image.height) * static_cast<uint64_t>(image.width) *
                        static_cast<uint64_t>(image.channels);
  if (image.pixels.size() != expected) {
    throw InputError(fmt::format("a {}x{}x{} image needs {} pixel values, it has {}", image.height,
                                 image.width, image.channels, expected, image.pixels.size()));
  }
}

// ---- base64 (RFC 4648, standard alphabet, padded) -------------------------

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// -1 for a character outside the alphabet.
int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict: padded groups of four, '=' only at the end.
std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    throw InputError(
        fmt::format("base64 text of {} characters is not a multiple of 4 long", text.size()));
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int padding = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    uint32_t group = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int value = k < 4 - size_t(padding) ? base64_value(text[i + k]) : 0;
      if (value < 0) {
        throw InputError(fmt::format("invalid base64 character at position {}", i + k));
      }
      group = group << 6 | uint32_t(value);
    }
    out += char(group >> 16 & 0xff);
    if (padding < 2) out += char(group >> 8 & 0xff);
    if (padding < 1) out += char(group & 0xff);
  }
  return out;
}

}  // namespace

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t group = uint32_t(uint8_t(bytes[i])) << 16 |
                           uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kBase64Alphabet[(group >> shift) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t group = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) group |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kBase64Alphabet[(group >> 18) & 63];
    out += kBase64Alphabet[(group >> 12) & 63];
    out += rest == 2 ? kBase64Alphabet[(group >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// ---- public entry points --------------------------------------------------

std::string encode_png(const PngImage& image) {
  check_shape(image);
  std::string bytes;
  PngContext context;
  context.output = &bytes;
  PngWriter writer(context);
  // libpng only reads the rows, but its API takes non-const pointers.
  auto* pixels = const_cast<uint8_t*>(image.pixels.data());
  std::vector<png_bytep> rows = row_pointers(pixels, image.height, image.width * image.channels);
  if (!write_png_rows(writer.png(), writer.info(), &image, rows.data())) {
    throw InputError(fmt::format("cannot encode a PNG: {}", context.message.data()));
  }
  return bytes;
}

PngImage decode_png(const std::string& bytes, const std::string& what) {
  constexpr size_t kSignatureBytes = 8;
  if (bytes.size() < kSignatureBytes ||
      png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, kSignatureBytes) != 0) {
    throw InputError(fmt::format("{} is not a PNG (no PNG signature)", what));
  }
  PngContext context;
  context.input = &bytes;
  PngReader reader(context);
  PngHeader header;
  if (!read_png_header(reader.png(), reader.info(), &header)) {
    throw InputError(fmt::format("{} is not a valid PNG: {}", what, context.message.data()));
  }
  if (header.bit_depth != 8 || (header.channels != 1 && header.channels != 3)) {
    throw InputError(fmt::format("{}: unsupported PNG layout ({} channels of {} bits)", what,
                                 header.channels, header.bit_depth));
  }
  // A few bytes can claim a huge image; refuse it before allocating.
  constexpr uint64_t kMaxPixelValues = uint64_t(1) << 30;
  const uint64_t values = uint64_t(header.height) * header.width * uint64_t(header.channels);
  if (values > kMaxPixelValues) {
    throw InputError(fmt::format("{}: a PNG of {}x{} pixels is too large to decode", what,
                                 header.height, header.width));
  }
  PngImage image;
  image.height = header.height;
  image.width = header.width;
  image.channels = header.channels;
  image.pixels.resize(static_cast<size_t>(image.height) * image.width * image.channels);
  std::vector<png_bytep> rows =
      row_pointers(image.pixels.data(), image.height, image.width * image.channels);
  if (!read_png_rows(reader.png(), reader.info(), rows.data())) {
    throw InputError(fmt::format("{} is not a valid PNG: {}", what, context.message.data()));
  }
  return image;
}

void write_png(const std::filesystem::path& file, const PngImage& image) {
  const std::string bytes = encode_png(image);
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  finish_writing(out, file);
}

PngImage read_png(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("cannot open the PNG file {}", file.string()));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw InputError(fmt::format("cannot read the PNG file {}", file.string()));
  return decode_png(bytes.str(), file.string());
}

std::string png_data_uri(const PngImage& image) {
  return std::string(kDataUriPrefix) + base64_encode(encode_png(image));
}

bool is_png_data_uri(const std::string& text) { return text.starts_with(kDataUriPrefix); }

PngImage decode_png_data_uri(const std::string& text) {
  if (!is_png_data_uri(text)) {
    throw InputError(fmt::format("not a PNG data URI (it does not start with '{}'): '{:.40}'",
                                 kDataUriPrefix, text));
  }
  const std::string_view payload = std::string_view(text).substr(kDataUriPrefix.size());
  std::string bytes;
  try {
    bytes = base64_decode(payload);
  } catch (const InputError& e) {
    throw InputError(fmt::format("PNG data URI: {}", e.what()));
  }
  return decode_png(bytes, "PNG data URI");
}

std::optional<Picture> picture_of_png_data_uri(const std::string& decoded) {
  if (!is_png_data_uri(decoded)) return std::nullopt;
  return decode_png_data_uri(decoded);
}

}  // namespace svdd
