//===- Npy.cpp - Reading and writing numpy .npy files ---------------------===//
//
// Layout: the magic "\x93NUMPY", a major and a minor version byte, the header length (u16 LE in
// 1.0, u32 LE in 2.0 and 3.0), the header — a Python dict literal such as
// "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }" padded with spaces and a
// newline — then the raw elements. The header parser below reads exactly that literal subset,
// bounds-checking every byte, so any garbage ends in rt::Error E0501 and never in a crash.
//
//===----------------------------------------------------------------------===//
#include "runtime/Npy.h"

#include "runtime/Error.h"
#include "runtime/FileIO.h"

#include <cassert>
#include <cstring>
#include <limits>
#include <optional>

namespace nnx::rt {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr size_t kAlign = 64;
/// numpy leaves room for the first extent to grow to this many digits.
constexpr size_t kGrowthAxisDigits = 21;

/// `text` cut to 40 characters with bytes outside printable ASCII written as \xNN, so that
/// garbage from a file cannot garble a message.
std::string printable(std::string_view text) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < text.size() && i < 40; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return text.size() > 40 ? out + "..." : out;
}

/// The three keys of a .npy header.
struct NpyHeader {
  std::optional<std::string> descr;
  std::optional<bool> fortranOrder;
  std::optional<Shape> shape;
};

/// A parser of the Python dict literal of a .npy header.
class HeaderParser {
public:
  HeaderParser(std::string_view text, const std::string &name) : text_(text), name_(name) {}

  NpyHeader parse() {
    NpyHeader header;
    expect('{');
    while (true) {
      skipSpace();
      if (peek() == '}')
        break;
      std::string key = parseString();
      expect(':');
      parseValue(key, header);
      skipSpace();
      if (peek() == ',')
        ++pos_;
      else if (peek() != '}')
        fail("expected `,` or `}` after the value of '" + printable(key) + "'");
    }
    ++pos_;
    if (!header.descr || !header.fortranOrder || !header.shape)
      fail("it lacks one of the keys 'descr', 'fortran_order' and 'shape'");
    return header;
  }

private:
  [[noreturn]] void fail(const std::string &what) const {
    throw Error("E0501", "`" + name_ + "` has a malformed header: " + what + " (at byte " +
                             std::to_string(pos_) + " of the " + std::to_string(text_.size()) +
                             "-byte header)");
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  void expect(char c) {
    skipSpace();
    if (peek() != c)
      fail(std::string("expected `") + c + "`");
    ++pos_;
  }

  std::string parseString() {
    skipSpace();
    char quote = peek();
    if (quote != '\'' && quote != '"')
      fail("expected a quoted string");
    size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos)
      fail("a string is not closed");
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return value;
  }

  bool parseBool() {
    skipSpace();
    for (auto [word, value] : {std::pair<std::string_view, bool>{"True", true}, {"False", false}})
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    fail("expected True or False");
  }

  int64_t parseExtent() {
    skipSpace();
    if (peek() < '0' || peek() > '9')
      fail("expected a non-negative integer extent");
    int64_t value = 0;
    while (peek() >= '0' && peek() <= '9') {
      int digit = peek() - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10)
        fail("an extent does not fit in 64 bits");
      value = value * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L')
      ++pos_;
    return value;
  }

  Shape parseShape() {
    expect('(');
    Shape shape;
    while (true) {
      skipSpace();
      if (peek() == ')')
        break;
      shape.push_back(parseExtent());
      skipSpace();
      if (peek() == ',')
        ++pos_;
      else if (peek() != ')')
        fail("expected `,` or `)` in the shape");
    }
    ++pos_;
    return shape;
  }

  void parseValue(const std::string &key, NpyHeader &header) {
    if (key == "descr") {
      skipSpace();
      if (peek() != '\'' && peek() != '"')
        fail("'descr' is not a string (structured dtypes are not supported)");
      header.descr = parseString();
    } else if (key == "fortran_order") {
      header.fortranOrder = parseBool();
    } else if (key == "shape") {
      header.shape = parseShape();
    } else {
      fail("unexpected key '" + printable(key) + "'");
    }
  }

  std::string_view text_;
  const std::string &name_;
  size_t pos_ = 0;
};

uint32_t readLittleEndian(std::string_view bytes, size_t offset, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i)
    value |= uint32_t(static_cast<uint8_t>(bytes[offset + i])) << (8 * i);
  return value;
}

/// Splits `bytes` into the header text and the data after it, checking magic and version.
std::pair<std::string_view, std::string_view> splitNpy(std::string_view bytes,
                                                      const std::string &name) {
  if (bytes.size() < kMagicSize || bytes.substr(0, kMagicSize) != std::string_view(kMagic))
    throw Error("E0501", "`" + name + "` is not a .npy file: it does not start with the "
                                      "magic bytes \\x93NUMPY");
  if (bytes.size() < kMagicSize + 2)
    throw Error("E0501", "`" + name + "` is truncated: it ends after the magic bytes");
  unsigned major = static_cast<uint8_t>(bytes[6]), minor = static_cast<uint8_t>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    throw Error("E0501", "`" + name + "` has .npy format version " + std::to_string(major) +
                             "." + std::to_string(minor) +
                             ", but nnx reads versions 1.0, 2.0 and 3.0");
  size_t lengthWidth = major == 1 ? 2 : 4;
  size_t prefix = kMagicSize + 2 + lengthWidth;
  if (bytes.size() < prefix)
    throw Error("E0501", "`" + name + "` is truncated: it ends inside the header length");
  size_t headerLength = readLittleEndian(bytes, kMagicSize + 2, lengthWidth);
  if (bytes.size() - prefix < headerLength)
    throw Error("E0501", "`" + name + "` is truncated: its header is " +
                             std::to_string(headerLength) + " bytes but only " +
                             std::to_string(bytes.size() - prefix) + " bytes follow");
  return {bytes.substr(prefix, headerLength), bytes.substr(prefix + headerLength)};
}

/// The dtype of a header's descr, or E0501 naming the supported ones.
DType checkedDType(const std::string &descr, const std::string &name) {
  if (std::optional<DType> dtype = parseNpyDescr(descr))
    return *dtype;
  throw Error("E0501",
              "`" + name + "` holds dtype '" + printable(descr) + "', which nnx does not read",
              {"supported dtypes: '<f4' (f32), '<f8' (f64), '<i4' (i32), '<i8' (i64), "
               "'|b1' (bool), little-endian"});
}

/// The element count of `shape`, or E0501 when it overflows.
int64_t checkedElementCount(const Shape &shape, size_t elementSize, const std::string &name) {
  int64_t limit = std::numeric_limits<int64_t>::max() / static_cast<int64_t>(elementSize);
  int64_t count = 1;
  for (int64_t extent : shape) {
    if (extent != 0 && count > limit / extent)
      throw Error("E0501", "`" + name + "` has shape " + formatShape(shape) +
                               ", which has more elements than nnx can address");
    count *= extent;
  }
  return count;
}

/// The .npy header dict of `tensor`, padded as numpy pads it, without the prefix.
std::string headerText(const Tensor &tensor) {
  std::string shape = "(";
  for (size_t i = 0; i < tensor.shape().size(); ++i)
    shape += (i ? ", " : "") + std::to_string(tensor.shape()[i]);
  shape += tensor.rank() == 1 ? ",)" : ")";
  std::string text = "{'descr': '" + std::string(npyDescr(tensor.dtype())) +
                     "', 'fortran_order': False, 'shape': " + shape + ", }";
  if (tensor.rank() > 0)
    text.append(kGrowthAxisDigits - std::to_string(tensor.shape()[0]).size(), ' ');
  size_t unpadded = kMagicSize + 2 + 2 + text.size() + 1;
  text.append(kAlign - unpadded % kAlign, ' ');
  return text + '\n';
}

/// Magic, version 1.0 and the u16 header length that precede `header`.
std::string headerPrefix(const std::string &header) {
  assert(header.size() <= 0xffff && "a version 1.0 header holds at most 65535 bytes");
  std::string prefix(kMagic, kMagicSize);
  prefix += '\x01';
  prefix += '\x00';
  prefix += static_cast<char>(header.size() & 0xff);
  prefix += static_cast<char>((header.size() >> 8) & 0xff);
  return prefix;
}

} // namespace

Tensor parseNpy(std::string_view bytes, const std::string &name) {
  auto [headerBytes, data] = splitNpy(bytes, name);
  NpyHeader header = HeaderParser(headerBytes, name).parse();
  DType dtype = checkedDType(*header.descr, name);
  if (*header.fortranOrder)
    throw Error("E0501", "`" + name + "` is stored in Fortran order, but nnx reads C order only",
                {"save it with numpy.save(path, numpy.ascontiguousarray(x))"});
  const Shape &shape = *header.shape;
  size_t elementSize = dtypeSize(dtype);
  int64_t count = checkedElementCount(shape, elementSize, name);
  size_t expected = static_cast<size_t>(count) * elementSize;
  std::string what = std::to_string(count) + " elements of " + std::string(dtypeName(dtype)) +
                     " (" + std::to_string(expected) + " bytes)";
  if (data.size() < expected)
    throw Error("E0501", "`" + name + "` is truncated: its header promises " + what +
                             " but only " + std::to_string(data.size()) + " bytes follow");
  if (data.size() > expected)
    throw Error("E0501", "`" + name + "` has " + std::to_string(data.size() - expected) +
                             " bytes of trailing data after the " + what +
                             " its header promises");
  Tensor tensor(dtype, shape);
  std::memcpy(tensor.raw(), data.data(), expected);
  if (dtype == DType::Bool) {
    // Normalise to 0/1: any other byte would not be a valid bool.
    auto *raw = tensor.data<uint8_t>();
    for (int64_t i = 0; i < count; ++i)
      raw[i] = raw[i] != 0;
  }
  return tensor;
}

Tensor readNpy(const std::string &path) { return parseNpy(readFileBytes(path), path); }

std::string serializeNpy(const Tensor &tensor) {
  std::string header = headerText(tensor);
  std::string bytes = headerPrefix(header) + header;
  bytes.append(static_cast<const char *>(tensor.raw()), tensor.nbytes());
  return bytes;
}

void writeNpy(const std::string &path, const Tensor &tensor) {
  std::string header = headerText(tensor);
  std::string prefix = headerPrefix(header);
  writeFileAtomically(path, {{prefix.data(), prefix.size()},
                             {header.data(), header.size()},
                             {tensor.raw(), tensor.nbytes()}});
}

} // namespace nnx::rt
