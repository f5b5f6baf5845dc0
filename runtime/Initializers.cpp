//===- Initializers.cpp - Flax's variable initializers --------------------===//
//
// Each initializer computes float samples (the RNG draws f32) and the result is converted to the
// variable's dtype, so an f64 variable holds widened f32 draws. The formulas are the ones of
// jax.nn.initializers: normal(stddev) = N(0,1) * stddev; uniform(scale) = U[0,1) * scale;
// truncated_normal(stddev, lower, upper) = TN(lower, upper) * stddev; variance_scaling(scale,
// mode, distribution) with variance = scale / fan and, for the truncated normal, the stddev
// corrected by the stddev of a standard normal truncated to (-2, 2); orthogonal(scale,
// column_axis) = the Q of a normal matrix's QR, as Flax's recurrent kernels use.
//
//===----------------------------------------------------------------------===//
#include "runtime/Initializers.h"

#include "runtime/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace nnx::rt {
namespace {

/// The stddev of a standard normal truncated to (-2, 2) (jax.nn.initializers' constant).
constexpr double kTruncatedStddev = 0.87962566103423978;

/// How a variance-scaling initializer turns the fans into a scale and draws.
struct VarianceScaling {
  const char *name;
  double scale;
  enum Mode { FanIn, FanAvg } mode;
  enum Distribution { TruncatedNormal, Uniform } distribution;
};

constexpr VarianceScaling kVarianceScaling[] = {
    {"lecun_normal", 1.0, VarianceScaling::FanIn, VarianceScaling::TruncatedNormal},
    {"lecun_uniform", 1.0, VarianceScaling::FanIn, VarianceScaling::Uniform},
    {"xavier_normal", 1.0, VarianceScaling::FanAvg, VarianceScaling::TruncatedNormal},
    {"glorot_normal", 1.0, VarianceScaling::FanAvg, VarianceScaling::TruncatedNormal},
    {"xavier_uniform", 1.0, VarianceScaling::FanAvg, VarianceScaling::Uniform},
    {"glorot_uniform", 1.0, VarianceScaling::FanAvg, VarianceScaling::Uniform},
    {"he_normal", 2.0, VarianceScaling::FanIn, VarianceScaling::TruncatedNormal},
    {"kaiming_normal", 2.0, VarianceScaling::FanIn, VarianceScaling::TruncatedNormal},
    {"he_uniform", 2.0, VarianceScaling::FanIn, VarianceScaling::Uniform},
    {"kaiming_uniform", 2.0, VarianceScaling::FanIn, VarianceScaling::Uniform},
};

const VarianceScaling *findVarianceScaling(const std::string &name) {
  for (const VarianceScaling &entry : kVarianceScaling)
    if (name == entry.name)
      return &entry;
  return nullptr;
}

/// A number for a message: "-2", "0.5", "1e-05".
std::string formatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

/// Argument `name` of `spec`, or `fallback` when absent.
double argOr(const InitSpec &spec, const char *name, double fallback) {
  auto it = spec.args.find(name);
  return it == spec.args.end() ? fallback : it->second;
}

/// `n` samples of a standard normal truncated to (lower, upper), as jax.random.truncated_normal:
/// u ~ U[erf(lower/√2), erf(upper/√2)), x = √2 erfinv(u), clipped strictly inside the bounds.
std::vector<float> truncatedNormal(Key key, int64_t n, float lower, float upper) {
  const float sqrt2 = 1.41421356237309504880f;
  float a = std::erf(lower / sqrt2), b = std::erf(upper / sqrt2);
  float low = std::nextafter(lower, std::numeric_limits<float>::infinity());
  float high = std::nextafter(upper, -std::numeric_limits<float>::infinity());
  std::vector<float> out(static_cast<size_t>(n));
  fillUniform(key, out.data(), n);
  for (float &x : out) {
    float u = std::max(a, x * (b - a) + a);
    x = std::min(std::max(sqrt2 * erfInv(u), low), high);
  }
  return out;
}

std::vector<float> uniformSamples(Key key, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  fillUniform(key, out.data(), n);
  return out;
}

std::vector<float> normalSamples(Key key, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  fillNormal(key, out.data(), n);
  return out;
}

/// Samples of a variance-scaling initializer for `shape`.
std::vector<float> varianceScaling(const VarianceScaling &vs, const Shape &shape, Key key) {
  auto [fanIn, fanOut] = computeFans(shape);
  double fan = vs.mode == VarianceScaling::FanIn ? fanIn : (fanIn + fanOut) / 2;
  float variance = static_cast<float>(vs.scale / fan);
  int64_t n = numElements(shape);
  if (vs.distribution == VarianceScaling::TruncatedNormal) {
    float stddev = std::sqrt(variance) / static_cast<float>(kTruncatedStddev);
    std::vector<float> out = truncatedNormal(key, n, -2.0f, 2.0f);
    for (float &x : out)
      x *= stddev;
    return out;
  }
  // uniform(key, shape, dtype, -1, 1) * sqrt(3 * variance)
  float limit = std::sqrt(3.0f * variance);
  std::vector<float> out = uniformSamples(key, n);
  for (float &x : out)
    x = std::max(-1.0f, x * 2.0f - 1.0f) * limit;
  return out;
}

/// Samples of the plain random initializers: normal, uniform, truncated_normal.
std::vector<float> plainRandom(const InitSpec &spec, int64_t n, Key key) {
  if (spec.name == "normal") {
    float stddev = static_cast<float>(argOr(spec, "stddev", 1e-2));
    std::vector<float> out = normalSamples(key, n);
    for (float &x : out)
      x *= stddev;
    return out;
  }
  if (spec.name == "uniform") {
    float scale = static_cast<float>(argOr(spec, "scale", 1e-2));
    std::vector<float> out = uniformSamples(key, n);
    for (float &x : out)
      x *= scale;
    return out;
  }
  float stddev = static_cast<float>(argOr(spec, "stddev", 1e-2));
  float lower = static_cast<float>(argOr(spec, "lower", -2.0));
  float upper = static_cast<float>(argOr(spec, "upper", 2.0));
  std::vector<float> out = truncatedNormal(key, n, lower, upper);
  for (float &x : out)
    x *= stddev;
  return out;
}

/// jax.nn.initializers.orthogonal(scale, column_axis): a normal matrix of
/// (prod(shape) / shape[column_axis]) x shape[column_axis] (transposed when it is wide), its
/// QR factor Q with the signs of R's diagonal (so that Q is uniformly distributed), transposed
/// back, reshaped with the column axis last, then moved to `column_axis`. Q comes from modified
/// Gram-Schmidt, done twice, in double precision: the R it implies has a positive diagonal,
/// which is Q * sign(diag(R)) for any other QR.
std::vector<float> orthogonalSamples(const InitSpec &spec, const Shape &shape, Key key) {
  int64_t rank = static_cast<int64_t>(shape.size()); // >= 2, column_axis valid: checkInitializer
  int64_t axisArg = static_cast<int64_t>(argOr(spec, "column_axis", -1.0));
  int64_t axis = axisArg < 0 ? axisArg + rank : axisArg;
  int64_t cols = shape[axis], rows = numElements(shape) / std::max<int64_t>(cols, 1);
  bool wide = rows < cols;
  int64_t m = wide ? cols : rows, n = wide ? rows : cols; // m >= n
  std::vector<float> a = normalSamples(key, m * n);       // row-major m x n
  std::vector<double> q(a.begin(), a.end());
  for (int pass = 0; pass < 2; ++pass)
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t k = 0; k < j; ++k) {
        double dot = 0;
        for (int64_t i = 0; i < m; ++i)
          dot += q[i * n + k] * q[i * n + j];
        for (int64_t i = 0; i < m; ++i)
          q[i * n + j] -= dot * q[i * n + k];
      }
      double norm = 0;
      for (int64_t i = 0; i < m; ++i)
        norm += q[i * n + j] * q[i * n + j];
      norm = std::sqrt(norm);
      for (int64_t i = 0; i < m; ++i)
        q[i * n + j] = norm > 0 ? q[i * n + j] / norm : 0.0;
    }
  // The matrix rows x cols (Q, or Q^T when wide), scaled.
  double scale = argOr(spec, "scale", 1.0);
  std::vector<float> matrix(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      matrix[r * cols + c] = static_cast<float>(scale * (wide ? q[c * n + r] : q[r * n + c]));
  if (axis == rank - 1)
    return matrix;
  // Shape delete(shape, axis) + [cols], then the last axis moved to `axis`.
  Shape outer;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      outer.push_back(shape[d]);
  int64_t after = 1;
  for (int64_t d = axis + 1; d < rank; ++d)
    after *= shape[d];
  int64_t before = rows / after;
  std::vector<float> out(matrix.size());
  for (int64_t b = 0; b < before; ++b)
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t t = 0; t < after; ++t)
        out[(b * cols + c) * after + t] = matrix[(b * after + t) * cols + c];
  return out;
}

/// A random initializer's value: float samples converted to the float `dtype`.
Tensor randomValue(const InitSpec &spec, DType dtype, const Shape &shape, Key key) {
  std::vector<float> samples;
  if (const VarianceScaling *vs = findVarianceScaling(spec.name))
    samples = varianceScaling(*vs, shape, key);
  else if (spec.name == "orthogonal")
    samples = orthogonalSamples(spec, shape, key);
  else
    samples = plainRandom(spec, numElements(shape), key);
  return Tensor::fromVector<float>(shape, samples).astype(dtype);
}

/// "literal": the spec's tensor converted to `dtype`, a rank-0 literal broadcast to `shape`.
Tensor literalValue(const InitSpec &spec, DType dtype, const Shape &shape) {
  const Tensor &literal = *spec.literal; // present, of rank 0 or `shape`: checkInitializer
  if (literal.rank() == 0) {
    Tensor element = literal.astype(dtype);
    Tensor out(dtype, shape);
    size_t size = dtypeSize(dtype);
    for (int64_t i = 0, n = out.numel(); i < n; ++i)
      std::memcpy(out.data<std::byte>() + i * size, element.raw(), size);
    return out;
  }
  return literal.astype(dtype);
}

/// Rejects an unknown initializer (E0404) and arguments the initializer does not take (E0405):
/// silently ignoring `stdev=` or `in_axis=` would produce the wrong values.
void checkArguments(const InitSpec &spec) {
  static const std::map<std::string, std::vector<std::string>> kArguments = {
      {"zeros", {}},
      {"ones", {}},
      {"constant", {"value"}},
      {"normal", {"stddev"}},
      {"uniform", {"scale"}},
      {"truncated_normal", {"stddev", "lower", "upper"}},
      {"orthogonal", {"scale", "column_axis"}},
      {"literal", {}},
      {"rng_key", {}},
  };
  auto known = kArguments.find(spec.name);
  if (known == kArguments.end() && !findVarianceScaling(spec.name))
    throw Error("E0404", "unknown initializer `" + spec.name + "`",
                {"known initializers: zeros, ones, constant, normal, uniform, truncated_normal, "
                 "lecun_normal, lecun_uniform, xavier_normal, xavier_uniform, glorot_normal, "
                 "glorot_uniform, he_normal, he_uniform, kaiming_normal, kaiming_uniform, "
                 "orthogonal, literal, rng_key"});
  std::vector<std::string> allowed;
  if (known != kArguments.end())
    allowed = known->second;
  for (const auto &[name, value] : spec.args) {
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end())
      continue;
    std::string takes;
    for (const std::string &arg : allowed)
      takes += (takes.empty() ? "`" : ", `") + arg + "`";
    throw Error("E0405", "initializer `" + spec.name + "` takes no argument `" + name + "`",
                {takes.empty() ? "it takes no arguments" : "it takes " + takes});
  }
}

/// "rng_key": the two words of `key` as the bit patterns of an i32[2].
Tensor keyValue(DType dtype, const Shape &shape, Key key) {
  Tensor out(DType::I32, {2}); // an i32[2] variable: checkInitializer
  out.data<int32_t>()[0] = static_cast<int32_t>(key[0]);
  out.data<int32_t>()[1] = static_cast<int32_t>(key[1]);
  return out;
}

} // namespace

bool isRandomInitializer(const std::string &name) {
  return name == "normal" || name == "uniform" || name == "truncated_normal" ||
         name == "orthogonal" || findVarianceScaling(name) != nullptr;
}

std::pair<double, double> computeFans(const Shape &shape) {
  if (shape.empty())
    return {1.0, 1.0};
  if (shape.size() == 1)
    return {double(shape[0]), double(shape[0])};
  double receptive = 1;
  for (size_t i = 0; i + 2 < shape.size(); ++i)
    receptive *= double(shape[i]);
  return {double(shape[shape.size() - 2]) * receptive, double(shape.back()) * receptive};
}

float erfInv(float x) {
  if (std::fabs(x) >= 1.0f)
    return std::fabs(x) == 1.0f ? std::copysign(std::numeric_limits<float>::infinity(), x)
                                : std::numeric_limits<float>::quiet_NaN();
  float w = -std::log((1.0f - x) * (1.0f + x));
  float p;
  if (w < 5.0f) {
    w = w - 2.5f;
    p = 2.81022636e-08f;
    p = 3.43273939e-07f + p * w;
    p = -3.5233877e-06f + p * w;
    p = -4.39150654e-06f + p * w;
    p = 0.00021858087f + p * w;
    p = -0.00125372503f + p * w;
    p = -0.00417768164f + p * w;
    p = 0.246640727f + p * w;
    p = 1.50140941f + p * w;
  } else {
    w = std::sqrt(w) - 3.0f;
    p = -0.000200214257f;
    p = 0.000100950558f + p * w;
    p = 0.00134934322f + p * w;
    p = -0.00367342844f + p * w;
    p = 0.00573950773f + p * w;
    p = -0.0076224613f + p * w;
    p = 0.00943887047f + p * w;
    p = 1.00167406f + p * w;
    p = 2.83297682f + p * w;
  }
  return p * x;
}

void checkInitializer(const InitSpec &spec, DType dtype, const Shape &shape) {
  checkArguments(spec);
  if (!spec.drawShape.empty()) {
    if (numElements(spec.drawShape) != numElements(shape))
      throw Error("E0405", "initializer `" + spec.name + "` drawn for shape " +
                               formatShape(spec.drawShape) + " cannot fill a variable of shape " +
                               formatShape(shape));
    InitSpec plain = spec;
    plain.drawShape.clear();
    return checkInitializer(plain, dtype, spec.drawShape);
  }
  if (spec.name == "zeros" || spec.name == "ones" || spec.name == "constant")
    return;
  if (spec.name == "literal") {
    if (!spec.literal)
      throw Error("E0405", "initializer `literal` has no value");
    if (spec.literal->rank() != 0 && spec.literal->shape() != shape)
      throw Error("E0405", "literal of shape " + formatShape(spec.literal->shape()) +
                               " cannot initialize a variable of shape " + formatShape(shape));
    return;
  }
  if (spec.name == "rng_key") {
    if (dtype != DType::I32 || shape != Shape{2})
      throw Error("E0405", "initializer `rng_key` makes an i32[2] key, but the variable is " +
                               std::string(dtypeName(dtype)) + formatShape(shape));
    return;
  }
  if (!isFloat(dtype))
    throw Error("E0405", "initializer `" + spec.name + "` draws floats, but the variable is " +
                             std::string(dtypeName(dtype)) + formatShape(shape));
  if (spec.name == "orthogonal") {
    int64_t rank = static_cast<int64_t>(shape.size());
    if (rank < 2)
      throw Error("E0405", "initializer `orthogonal` needs a shape of rank 2 or more, got " +
                               formatShape(shape));
    double axisArg = argOr(spec, "column_axis", -1.0);
    int64_t axis = static_cast<int64_t>(axisArg) < 0 ? static_cast<int64_t>(axisArg) + rank
                                                     : static_cast<int64_t>(axisArg);
    if (axis < 0 || axis >= rank || double(static_cast<int64_t>(axisArg)) != axisArg)
      throw Error("E0405", "initializer `orthogonal`: column_axis " + formatNumber(axisArg) +
                               " is out of range for rank " + std::to_string(rank));
  }
  if (spec.name == "truncated_normal") {
    float lower = static_cast<float>(argOr(spec, "lower", -2.0));
    float upper = static_cast<float>(argOr(spec, "upper", 2.0));
    if (!(lower < upper))
      throw Error("E0405", "truncated_normal needs lower < upper, but lower is " +
                               formatNumber(lower) + " and upper is " + formatNumber(upper));
  }
}

Tensor initialize(const InitSpec &spec, DType dtype, const Shape &shape, Key key) {
  checkInitializer(spec, dtype, shape); // every E0404/E0405; the code below only draws
  if (!spec.drawShape.empty()) {
    InitSpec plain = spec;
    plain.drawShape.clear();
    return initialize(plain, dtype, spec.drawShape, key).reshaped(shape);
  }
  if (spec.name == "zeros")
    return Tensor::zeros(dtype, shape);
  if (spec.name == "ones")
    return Tensor::full(dtype, shape, 1.0);
  if (spec.name == "constant")
    return Tensor::full(dtype, shape, argOr(spec, "value", 0.0));
  if (spec.name == "literal")
    return literalValue(spec, dtype, shape);
  if (spec.name == "rng_key")
    return keyValue(dtype, shape, key);
  return randomValue(spec, dtype, shape, key);
}

} // namespace nnx::rt
