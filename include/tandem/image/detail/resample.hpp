// PIL's separable resampler (libImaging/Resample.c, Pillow 9.x) for 8-bit images:
// support-widened kernels when down-scaling, weights in fixed point with 22
// fractional bits, horizontal pass first, then the vertical pass on the uint8 result.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/image/image.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace tandem::image::detail {

// Keys' cubic convolution with a = -0.5, as PIL's bicubic_filter.
inline double bicubic_filter(double x) {
    constexpr double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

inline double bilinear_filter(double x) {
    if (x < 0.0) x = -x;
    if (x < 1.0) return 1.0 - x;
    return 0.0;
}

inline double box_filter(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }

inline double hamming_filter(double x) {
    if (x < 0.0) x = -x;
    if (x == 0.0) return 1.0;
    if (x >= 1.0) return 0.0;
    x *= std::numbers::pi;
    return std::sin(x) / x * (0.54 + 0.46 * std::cos(x));
}

inline double sinc_filter(double x) {
    if (x == 0.0) return 1.0;
    x *= std::numbers::pi;
    return std::sin(x) / x;
}

// Truncated sinc with three lobes.
inline double lanczos_filter(double x) {
    if (-3.0 <= x && x < 3.0) return sinc_filter(x) * sinc_filter(x / 3);
    return 0.0;
}

// PIL's filter table: the kernel and its support (radius at scale 1).
struct Filter {
    double (*kernel)(double);
    double support;
};

inline Filter filter_of(Resample resample) {
    switch (resample) {
        case Resample::box:
            return {box_filter, 0.5};
        case Resample::bilinear:
            return {bilinear_filter, 1.0};
        case Resample::hamming:
            return {hamming_filter, 1.0};
        case Resample::bicubic:
            return {bicubic_filter, 2.0};
        case Resample::lanczos:
            return {lanczos_filter, 3.0};
        case Resample::nearest:
            break;
    }
    tandem::detail::throw_error("resize: ", resample_name(resample), " is not a convolution filter");
}

// PIL keeps 32 - 8 - 2 bits of precision so that sums of uint8 * weight fit in int32.
inline constexpr int precision_bits = 22;

// Per output index: the first input index, the number of taps and the taps' weights.
struct Coefficients {
    int ksize = 0;
    std::vector<int> first, count;
    std::vector<double> weight;       // out_size * ksize, normalised to sum 1
    std::vector<std::int32_t> fixed;  // the same in fixed point
};

// PIL's precompute_coeffs + normalize_coeffs_8bpc for a box covering the whole input.
inline Coefficients precompute_coefficients(int in_size, int out_size, Resample resample) {
    const auto [filter, filter_support] = filter_of(resample);
    const double scale = static_cast<double>(in_size) / out_size;
    const double filterscale = std::max(scale, 1.0);
    const double support = filter_support * filterscale;
    Coefficients c;
    c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.first.resize(out_size);
    c.count.resize(out_size);
    c.weight.assign(static_cast<std::size_t>(out_size) * c.ksize, 0.0);
    c.fixed.assign(c.weight.size(), 0);
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = (xx + 0.5) * scale;
        const double ss = 1.0 / filterscale;
        const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
        const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
        double* k = &c.weight[static_cast<std::size_t>(xx) * c.ksize];
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            k[x] = filter((x + xmin - center + 0.5) * ss);
            ww += k[x];
        }
        for (int x = 0; x < xmax; ++x) {
            if (ww != 0.0) k[x] /= ww;
        }
        std::int32_t* kf = &c.fixed[static_cast<std::size_t>(xx) * c.ksize];
        for (int x = 0; x < xmax; ++x) {
            // Round half away from zero, as PIL does.
            kf[x] = static_cast<std::int32_t>(k[x] < 0 ? -0.5 + k[x] * (1 << precision_bits)
                                                       : 0.5 + k[x] * (1 << precision_bits));
        }
        c.first[xx] = xmin;
        c.count[xx] = std::max(xmax, 0);
    }
    return c;
}

inline std::uint8_t clip8(std::int32_t acc) {
    const std::int32_t v = acc >> precision_bits;  // arithmetic shift, as in C on PIL's targets
    return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// PIL's nearest neighbour (ImagingScaleAffine): source index = int(0.5 * step + i * step),
// with the position accumulated in double exactly as PIL accumulates it.
inline std::vector<int> nearest_indices(int in_size, int out_size) {
    std::vector<int> index(out_size);
    const double step = static_cast<double>(in_size) / out_size;
    double pos = step * 0.5;
    for (int i = 0; i < out_size; ++i) {
        index[i] = std::clamp(pos < 0.0 ? -1 : static_cast<int>(pos), 0, in_size - 1);
        pos += step;
    }
    return index;
}

// Output rows [top, top + h) and columns [left, left + w) of `image` resized to
// out_h x out_w; the window must lie inside the resized image. Computing only the window
// gives the same pixels as PIL's full resize followed by a crop.
template <int C>
ImageU8 resample_window(const ImageU8& image, int out_h, int out_w, Resample resample, int top, int left,
                        int h, int w) {
    const int in_h = static_cast<int>(image.shape()[0]), in_w = static_cast<int>(image.shape()[1]);
    ImageU8 out({static_cast<std::size_t>(h), static_cast<std::size_t>(w), static_cast<std::size_t>(C)});
    const std::uint8_t* src = image.data();
    std::uint8_t* dst = out.data();

    if (resample == Resample::nearest) {
        const auto ys = nearest_indices(in_h, out_h), xs = nearest_indices(in_w, out_w);
        for (int y = 0; y < h; ++y) {
            const std::uint8_t* row = src + static_cast<std::size_t>(ys[top + y]) * in_w * C;
            for (int x = 0; x < w; ++x) {
                const std::uint8_t* p = row + static_cast<std::size_t>(xs[left + x]) * C;
                for (int ch = 0; ch < C; ++ch) *dst++ = p[ch];
            }
        }
        return out;
    }

    const bool need_h = in_w != out_w, need_v = in_h != out_h;
    Coefficients vc;
    int row0 = top, row1 = top + h;  // input rows the vertical pass reads
    if (need_v) {
        vc = precompute_coefficients(in_h, out_h, resample);
        row0 = in_h, row1 = 0;
        for (int y = top; y < top + h; ++y) {
            if (vc.count[y] == 0) continue;
            row0 = std::min(row0, vc.first[y]);
            row1 = std::max(row1, vc.first[y] + vc.count[y]);
        }
        if (row1 < row0) row0 = row1 = 0;
    }
    const int rows = row1 - row0;

    // Horizontal pass into a uint8 intermediate, as PIL does. Rows go in blocks of 8,
    // interleaved so that one tap of one output column is 8 * C contiguous bytes: the
    // inner loop then has a fixed length the compiler vectorises, with the same integer
    // arithmetic as PIL's one-pixel-at-a-time loop.
    std::vector<std::uint8_t> mid(static_cast<std::size_t>(rows) * w * C);
    if (need_h) {
        const auto hc = precompute_coefficients(in_w, out_w, resample);
        constexpr int block_rows = 8, lanes = block_rows * C;
        // Only the input columns the window's taps reach.
        int col0 = in_w, col1 = 0;
        for (int x = left; x < left + w; ++x) {
            if (hc.count[x] == 0) continue;
            col0 = std::min(col0, hc.first[x]);
            col1 = std::max(col1, hc.first[x] + hc.count[x]);
        }
        if (col1 < col0) col0 = col1 = 0;
        std::vector<std::uint8_t> block(static_cast<std::size_t>(in_w) * lanes, 0);
        for (int y0 = 0; y0 < rows; y0 += block_rows) {
            const int n = std::min(block_rows, rows - y0);
            for (int r = 0; r < n; ++r) {
                const std::uint8_t* row = src + static_cast<std::size_t>(row0 + y0 + r) * in_w * C;
                for (int x = col0; x < col1; ++x) {
                    for (int ch = 0; ch < C; ++ch)
                        block[static_cast<std::size_t>(x) * lanes + r * C + ch] = row[x * C + ch];
                }
            }
            for (int x = 0; x < w; ++x) {
                const int xx = left + x;
                const std::int32_t* k = &hc.fixed[static_cast<std::size_t>(xx) * hc.ksize];
                const std::uint8_t* p = block.data() + static_cast<std::size_t>(hc.first[xx]) * lanes;
                std::int32_t acc[lanes];
                for (int i = 0; i < lanes; ++i) acc[i] = 1 << (precision_bits - 1);
                for (int t = 0; t < hc.count[xx]; ++t, p += lanes) {
                    const std::int32_t kt = k[t];
                    for (int i = 0; i < lanes; ++i) acc[i] += p[i] * kt;
                }
                for (int r = 0; r < n; ++r) {
                    std::uint8_t* o = mid.data() + (static_cast<std::size_t>(y0 + r) * w + x) * C;
                    for (int ch = 0; ch < C; ++ch) o[ch] = clip8(acc[r * C + ch]);
                }
            }
        }
    } else {
        for (int y = 0; y < rows; ++y) {
            std::copy_n(src + (static_cast<std::size_t>(row0 + y) * in_w + left) * C,
                        static_cast<std::size_t>(w) * C, mid.data() + static_cast<std::size_t>(y) * w * C);
        }
    }
    if (!need_v) {
        std::copy(mid.begin(), mid.end(), dst);
        return out;
    }

    // Vertical pass: one output row at a time, accumulating whole input rows so the
    // inner loop runs over contiguous memory.
    const std::size_t row_len = static_cast<std::size_t>(w) * C;
    std::vector<std::int32_t> acc(row_len);
    for (int y = 0; y < h; ++y) {
        const int yy = top + y;
        const std::int32_t* k = &vc.fixed[static_cast<std::size_t>(yy) * vc.ksize];
        std::fill(acc.begin(), acc.end(), 1 << (precision_bits - 1));
        for (int t = 0; t < vc.count[yy]; ++t) {
            const std::uint8_t* p = mid.data() + static_cast<std::size_t>(vc.first[yy] + t - row0) * row_len;
            const std::int32_t kt = k[t];
            for (std::size_t i = 0; i < row_len; ++i) acc[i] += p[i] * kt;
        }
        std::uint8_t* o = dst + static_cast<std::size_t>(y) * row_len;
        for (std::size_t i = 0; i < row_len; ++i) o[i] = clip8(acc[i]);
    }
    return out;
}

}  // namespace tandem::image::detail
