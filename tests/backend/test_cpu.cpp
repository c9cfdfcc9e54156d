// Each CPU kernel in float against a naive double reference written here from the
// formula, on awkward shapes.
#include <tandem/backend/cpu.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "random.hpp"

using namespace tandem;
using tandem::testing::random_values;

namespace {
using VD = std::vector<double>;
using VF = std::vector<float>;

VF to_float(const VD& v) { return VF(v.begin(), v.end()); }

// max |a - b| / max(1, max |b|): float kernels against double references.
double rel_error(const VF& a, const VD& b) {
    REQUIRE(a.size() == b.size());
    double diff = 0, scale = 1;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(double(a[i]) - b[i]));
        scale = std::max(scale, std::abs(b[i]));
    }
    return diff / scale;
}
constexpr double float_tol = 2e-6;

double ref_sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
}  // namespace

TEST_CASE("gemm: every transpose, alpha and beta, leading dimensions wider than the matrix") {
    const index_t m = 13, n = 7, k = 29;
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            // A stored as [m, k] (or [k, m] transposed) inside rows of width lda = cols + 3.
            const index_t a_rows = ta ? k : m, a_cols = ta ? m : k, lda = a_cols + 3;
            const index_t b_rows = tb ? n : k, b_cols = tb ? k : n, ldb = b_cols + 2;
            VD a = random_values(a_rows * lda, 1), b = random_values(b_rows * ldb, 2),
               c = random_values(m * n, 3);
            VF af = to_float(a), bf = to_float(b), cf = to_float(c);
            Cpu::gemm(ta, tb, m, n, k, 0.5f, af.data(), lda, bf.data(), ldb, -2.0f, cf.data(), n);
            VD ref(m * n);
            for (index_t i = 0; i < m; ++i)
                for (index_t j = 0; j < n; ++j) {
                    double s = 0;
                    for (index_t p = 0; p < k; ++p)
                        s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    ref[i * n + j] = 0.5 * s - 2.0 * c[i * n + j];
                }
            CHECK(rel_error(cf, ref) < float_tol);
        }
}

TEST_CASE("gemm_batched: strided batches, small and large enough to run in parallel") {
    for (index_t batch : {index_t{1}, index_t{5}, index_t{40}}) {
        const index_t m = 9, n = 11, k = 6;
        VD a = random_values(batch * m * k, 4), b = random_values(batch * k * n, 5);
        VF af = to_float(a), bf = to_float(b), cf(batch * m * n);
        Cpu::gemm_batched(false, false, m, n, k, 1.0f, af.data(), k, m * k, bf.data(), n, k * n, 0.0f,
                          cf.data(), n, m * n, batch);
        VD ref(batch * m * n, 0.0);
        for (index_t t = 0; t < batch; ++t)
            for (index_t i = 0; i < m; ++i)
                for (index_t j = 0; j < n; ++j)
                    for (index_t p = 0; p < k; ++p)
                        ref[(t * m + i) * n + j] += a[(t * m + i) * k + p] * b[(t * k + p) * n + j];
        CHECK(rel_error(cf, ref) < float_tol);
    }
}

TEST_CASE("binary ops broadcast a trailing block, and their backward sums over it") {
    const index_t n = 3 * 5 * 7, nb = 35;
    VD a = random_values(n, 6), b = random_values(nb, 7, 0.5, 2), dout = random_values(n, 8);
    VF af = to_float(a), bf = to_float(b), df = to_float(dout);
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div}) {
        auto f = [&](double x, double y) {
            return op == BinaryOp::Add   ? x + y
                   : op == BinaryOp::Sub ? x - y
                   : op == BinaryOp::Mul ? x * y
                                         : x / y;
        };
        VF out(n), da(n, 1.0f), db(nb, 0.0f);
        Cpu::binary(op, out.data(), af.data(), n, bf.data(), nb);
        Cpu::binary_bwd(op, da.data(), db.data(), df.data(), af.data(), n, bf.data(), nb);
        VD ref(n), ref_da(n, 1.0), ref_db(nb, 0.0);
        const double h = 1e-6;
        for (index_t i = 0; i < n; ++i) {
            const double x = a[i], y = b[i % nb];
            ref[i] = f(x, y);
            ref_da[i] += dout[i] * (f(x + h, y) - f(x - h, y)) / (2 * h);
            ref_db[i % nb] += dout[i] * (f(x, y + h) - f(x, y - h)) / (2 * h);
        }
        CHECK(rel_error(out, ref) < float_tol);
        CHECK(rel_error(da, ref_da) < 1e-5);
        CHECK(rel_error(db, ref_db) < 1e-5);
    }
}

TEST_CASE("unary activations and derivatives against their formulas in double") {
    const index_t n = 101;
    VD x = random_values(n, 9, -5, 5);
    for (std::size_t i = 0; i < 3; ++i) x[i] = double(i) - 1.0;  // -1, 0, 1 exactly
    struct Case {
        UnaryOp op;
        double (*f)(double);
    };
    const Case cases[] = {
        {UnaryOp::Exp, [](double v) { return std::exp(v); }},
        {UnaryOp::Sigmoid, [](double v) { return ref_sigmoid(v); }},
        {UnaryOp::LogSigmoid, [](double v) { return std::log(ref_sigmoid(v)); }},
        {UnaryOp::Relu, [](double v) { return v > 0 ? v : 0.0; }},
        {UnaryOp::Tanh, [](double v) { return std::tanh(v); }},
        {UnaryOp::Gelu, [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }},
        {UnaryOp::GeluTanh,
         [](double v) {
             return 0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
         }},
        {UnaryOp::QuickGelu, [](double v) { return v * ref_sigmoid(1.702 * v); }},
    };
    for (const auto& c : cases) {
        VF xf = to_float(x), y(n), dx(n, 0.0f), ones(n, 1.0f);
        Cpu::unary(c.op, y.data(), xf.data(), n);
        Cpu::unary_bwd(c.op, dx.data(), ones.data(), xf.data(), y.data(), n);
        VD ref(n), ref_dx(n);
        for (index_t i = 0; i < n; ++i) {
            ref[i] = c.f(x[i]);
            // Relu's kink at 0: the kernel uses 0 there, as PyTorch does.
            ref_dx[i] =
                (c.op == UnaryOp::Relu && x[i] == 0) ? 0.0 : (c.f(x[i] + 1e-6) - c.f(x[i] - 1e-6)) / 2e-6;
        }
        INFO("op " << int(c.op));
        CHECK(rel_error(y, ref) < float_tol);
        CHECK(rel_error(dx, ref_dx) < 1e-5);
    }
    VD pos = random_values(n, 10, 0.1, 4);
    VF pf = to_float(pos), y(n);
    Cpu::unary(UnaryOp::Log, y.data(), pf.data(), n);
    VD ref(n);
    for (index_t i = 0; i < n; ++i) ref[i] = std::log(pos[i]);
    CHECK(rel_error(y, ref) < float_tol);
}

TEST_CASE("reductions are thread-count independent and match double sums") {
    const index_t outer = 3, n = 70001, inner = 1;
    VD x = random_values(outer * n * inner, 11);
    VF xf = to_float(x), out(outer);
    Cpu::sum_axis(out.data(), xf.data(), outer, n, inner);
    VD ref(outer, 0.0);
    for (index_t o = 0; o < outer; ++o)
        for (index_t k = 0; k < n; ++k) ref[o] += x[o * n + k];
    CHECK(rel_error(out, ref) < 1e-4);

    float total1 = 0, total2 = 0;
    set_num_threads(1);
    Cpu::sum_all(&total1, xf.data(), index_t(xf.size()));
    set_num_threads(2);
    Cpu::sum_all(&total2, xf.data(), index_t(xf.size()));
    CHECK(total1 == total2);
    double full = 0;
    for (double v : x) full += v;
    CHECK(std::abs(total1 - full) < 1e-2);
}

TEST_CASE("permute and copy_along_axis move elements where the index arithmetic says") {
    const Shape s{2, 3, 4};
    VF x(24);
    for (int i = 0; i < 24; ++i) x[i] = float(i);
    VF y(24);
    Cpu::permute(y.data(), x.data(), s, {2, 0, 1}, false);
    // y[a, b, c] = x[b, c, a] with y shape [4, 2, 3].
    for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 2; ++b)
            for (int c = 0; c < 3; ++c) CHECK(y[(a * 2 + b) * 3 + c] == x[(b * 3 + c) * 4 + a]);

    VF dst(2 * 5 * 4, -1.0f);
    Cpu::copy_along_axis(dst.data(), 5, 1, x.data(), 3, 1, 2, 2, 4, false);  // rows 1..2 of x into rows 1..2
    for (int o = 0; o < 2; ++o)
        for (int k = 0; k < 5; ++k)
            for (int i = 0; i < 4; ++i) {
                const float expect = (k == 1 || k == 2) ? x[(o * 3 + k) * 4 + i] : -1.0f;
                CHECK(dst[(o * 5 + k) * 4 + i] == expect);
            }
}

TEST_CASE("softmax, log-softmax and fused cross-entropy with label smoothing") {
    const index_t rows = 6, cols = 11;
    VD x = random_values(rows * cols, 12, -8, 8);
    x[0] = 80;  // a large logit: the max shift must keep exp finite
    VF xf = to_float(x), y(rows * cols), ly(rows * cols);
    Cpu::softmax(y.data(), xf.data(), rows, cols);
    Cpu::softmax(ly.data(), xf.data(), rows, cols, true);
    VD ref(rows * cols), lref(rows * cols);
    for (index_t r = 0; r < rows; ++r) {
        double m = -1e300, s = 0;
        for (index_t c = 0; c < cols; ++c) m = std::max(m, x[r * cols + c]);
        for (index_t c = 0; c < cols; ++c) s += std::exp(x[r * cols + c] - m);
        for (index_t c = 0; c < cols; ++c) {
            ref[r * cols + c] = std::exp(x[r * cols + c] - m) / s;
            lref[r * cols + c] = x[r * cols + c] - m - std::log(s);
        }
    }
    CHECK(rel_error(y, ref) < float_tol);
    CHECK(rel_error(ly, lref) < 1e-5);

    std::vector<std::int64_t> targets = {3, 0, -100, 10, 5, 5};
    VF loss(rows), probs(rows * cols);
    const float eps = 0.2f;
    Cpu::cross_entropy(loss.data(), probs.data(), xf.data(), targets.data(), rows, cols, eps,
                       std::int64_t{-100});
    VD lref_rows(rows);
    for (index_t r = 0; r < rows; ++r) {
        if (targets[r] == -100) {
            lref_rows[r] = 0;
            continue;
        }
        double smooth = 0;
        for (index_t c = 0; c < cols; ++c) smooth -= lref[r * cols + c] / cols;
        lref_rows[r] = (1 - 0.2) * -lref[r * cols + targets[r]] + 0.2 * smooth;
    }
    CHECK(rel_error(loss, lref_rows) < 1e-5);
}

TEST_CASE("binary cross-entropy with logits is stable for large logits") {
    VF x = {-100.f, -2.f, 0.f, 3.f, 100.f}, y = {0.f, 1.f, 0.5f, 0.f, 1.f}, loss(5);
    Cpu::bce_with_logits(loss.data(), x.data(), y.data(), 5);
    VD ref(5);
    for (int i = 0; i < 5; ++i) {
        const double p = ref_sigmoid(x[i]);
        // -[y log p + (1 - y) log(1 - p)], with log(1 - p) = log sigmoid(-x) for the tails.
        ref[i] = -(y[i] * std::log(p) + (1 - y[i]) * std::log(ref_sigmoid(-double(x[i]))));
    }
    CHECK(rel_error(loss, ref) < float_tol);
}

TEST_CASE("layer norm forward and backward against the double formula") {
    const index_t rows = 5, cols = 37;
    VD x = random_values(rows * cols, 13, -3, 3), w = random_values(cols, 14), b = random_values(cols, 15),
       dy = random_values(rows * cols, 16);
    VF xf = to_float(x), wf = to_float(w), bf = to_float(b), dyf = to_float(dy);
    VF y(rows * cols), mean(rows), rstd(rows), dx(rows * cols, 0.f), dw(cols, 0.f), db(cols, 0.f);
    Cpu::layer_norm(y.data(), mean.data(), rstd.data(), xf.data(), wf.data(), bf.data(), rows, cols, 1e-5f);
    Cpu::layer_norm_bwd(dx.data(), dw.data(), db.data(), dyf.data(), xf.data(), mean.data(), rstd.data(),
                        wf.data(), rows, cols);
    VD ref(rows * cols), ref_dx(rows * cols), ref_dw(cols, 0), ref_db(cols, 0);
    for (index_t r = 0; r < rows; ++r) {
        double m = 0, v = 0;
        for (index_t c = 0; c < cols; ++c) m += x[r * cols + c] / cols;
        for (index_t c = 0; c < cols; ++c) v += (x[r * cols + c] - m) * (x[r * cols + c] - m) / cols;
        const double s = 1 / std::sqrt(v + 1e-5);
        double g_mean = 0, gx_mean = 0;
        for (index_t c = 0; c < cols; ++c) {
            const double xhat = (x[r * cols + c] - m) * s;
            ref[r * cols + c] = xhat * w[c] + b[c];
            ref_dw[c] += dy[r * cols + c] * xhat;
            ref_db[c] += dy[r * cols + c];
            g_mean += dy[r * cols + c] * w[c] / cols;
            gx_mean += dy[r * cols + c] * w[c] * xhat / cols;
        }
        for (index_t c = 0; c < cols; ++c) {
            const double xhat = (x[r * cols + c] - m) * s;
            ref_dx[r * cols + c] = s * (dy[r * cols + c] * w[c] - g_mean - xhat * gx_mean);
        }
    }
    CHECK(rel_error(y, ref) < 1e-5);
    CHECK(rel_error(dx, ref_dx) < 1e-5);
    CHECK(rel_error(dw, ref_dw) < 1e-5);
    CHECK(rel_error(db, ref_db) < 1e-5);
}

TEST_CASE("l2 normalise rows, with the eps floor for a zero row") {
    VF x = {3.f, 4.f, 0.f, 0.f, 0.f, 0.f}, y(6), norm(2);
    Cpu::l2_normalize(y.data(), norm.data(), x.data(), 2, 3, 1e-12f);
    CHECK(y[0] == doctest::Approx(0.6));
    CHECK(y[1] == doctest::Approx(0.8));
    CHECK(norm[0] == doctest::Approx(5.0));
    CHECK(y[3] == 0.0f);
}

TEST_CASE("gather_rows and scatter_add_rows with repeated ids") {
    const index_t dim = 40;
    VD table = random_values(5 * dim, 17);
    VF tf = to_float(table), out(4 * dim), dtable(5 * dim, 0.f), ones(4 * dim, 1.f);
    std::vector<std::int64_t> ids = {4, 0, 4, 2};
    Cpu::gather_rows(out.data(), tf.data(), ids.data(), 4, dim);
    Cpu::scatter_add_rows(dtable.data(), ones.data(), ids.data(), 4, dim, -1);
    for (index_t i = 0; i < 4; ++i)
        for (index_t c = 0; c < dim; ++c) CHECK(out[i * dim + c] == tf[ids[i] * dim + c]);
    const float counts[5] = {1, 0, 1, 0, 2};
    for (index_t r = 0; r < 5; ++r) CHECK(dtable[r * dim + 7] == counts[r]);
    // A skipped id (nn.Embedding's padding_idx) adds nothing to its row.
    VF skipped(5 * dim, 0.f);
    Cpu::scatter_add_rows(skipped.data(), ones.data(), ids.data(), 4, dim, 4);
    const float without_four[5] = {1, 0, 1, 0, 0};
    for (index_t r = 0; r < 5; ++r) CHECK(skipped[r * dim + 7] == without_four[r]);
}

TEST_CASE("position_ids_from_input_ids counts real tokens from padding_idx + 1, wherever padding lies") {
    const std::vector<std::int64_t> ids = {0, 7, 9, 2, 1, 1, 1, 1, 0, 5, 2, 1, 0, 1, 5, 2};
    std::vector<std::int64_t> out(16);
    Cpu::position_ids_from_input_ids(out.data(), ids.data(), 4, 4, 1);
    CHECK(out == std::vector<std::int64_t>{2, 3, 4, 5, 1, 1, 1, 1, 2, 3, 4, 1, 2, 1, 3, 4});
}

TEST_CASE("relative_position_buckets: exact below 8, logarithmic to 128, keys after the query from 16") {
    std::vector<std::int64_t> out(200 * 200);
    Cpu::relative_position_buckets(out.data(), 200, 200, 32, 128);
    const auto bucket = [&](index_t i, index_t j) { return out[i * 200 + j]; };
    CHECK(bucket(5, 5) == 0);
    CHECK(bucket(7, 0) == 7);
    CHECK(bucket(0, 7) == 23);
    // Thresholds 8 * 16^(k / 8): 12, 16, 23, 32, 46, 64, 91; the last bucket beyond.
    const std::pair<index_t, std::int64_t> distances[] = {{8, 8},   {11, 8},  {12, 9},  {16, 10}, {22, 10},
                                                          {23, 11}, {32, 12}, {45, 12}, {46, 13}, {64, 14},
                                                          {90, 14}, {91, 15}, {199, 15}};
    for (const auto& [d, b] : distances) {
        CHECK(bucket(d, 0) == b);
        CHECK(bucket(0, d) == b + 16);
    }
}

TEST_CASE("attention with a per-head score bias against a naive double loop, and its batch-summed gradient") {
    const AttentionShape s{2, 2, 3, 4, 3};
    const index_t nq = s.bh() * s.q_len * s.head_dim, nk = s.bh() * s.k_len * s.head_dim;
    const index_t nb = s.heads * s.q_len * s.k_len;
    VD q = random_values(nq, 31), k = random_values(nk, 32), v = random_values(nk, 33),
       bias = random_values(nb, 34), dout = random_values(nq, 35);
    const std::vector<std::int64_t> mask = {1, 1, 1, 0, 1, 1, 1, 1};
    const double scale = 0.6;
    VF qf = to_float(q), kf = to_float(k), vf = to_float(v), bf = to_float(bias), df = to_float(dout);
    VF out(nq), probs(s.bh() * s.q_len * s.k_len), dbias(nb, 0.f);
    Cpu::attention(out.data(), probs.data(), qf.data(), kf.data(), vf.data(), s, float(scale), false,
                   mask.data(), bf.data(), AttentionDropout{});
    VD ref(nq, 0.0), ref_dbias(nb, 0.0);
    for (index_t bh = 0; bh < s.bh(); ++bh)
        for (index_t i = 0; i < s.q_len; ++i) {
            double w[4], total = 0;
            for (index_t j = 0; j < s.k_len; ++j) {
                double dot = 0;
                for (index_t d = 0; d < 3; ++d)
                    dot += q[(bh * s.q_len + i) * 3 + d] * k[(bh * s.k_len + j) * 3 + d];
                const double score = dot * scale + bias[((bh % s.heads) * s.q_len + i) * s.k_len + j];
                total += (w[j] = mask[(bh / s.heads) * s.k_len + j] ? std::exp(score) : 0.0);
            }
            // dS = P * (dP - sum(dP * P)) with dP = dO . V.
            double dp[4], dot = 0;
            for (index_t j = 0; j < s.k_len; ++j) {
                w[j] /= total;
                dp[j] = 0;
                for (index_t d = 0; d < 3; ++d) {
                    ref[(bh * s.q_len + i) * 3 + d] += w[j] * v[(bh * s.k_len + j) * 3 + d];
                    dp[j] += dout[(bh * s.q_len + i) * 3 + d] * v[(bh * s.k_len + j) * 3 + d];
                }
                dot += dp[j] * w[j];
            }
            for (index_t j = 0; j < s.k_len; ++j)
                ref_dbias[((bh % s.heads) * s.q_len + i) * s.k_len + j] += w[j] * (dp[j] - dot);
        }
    CHECK(rel_error(out, ref) < float_tol);
    Cpu::attention_bwd<float>(nullptr, nullptr, nullptr, dbias.data(), df.data(), qf.data(), kf.data(),
                              vf.data(), out.data(), probs.data(), s, float(scale), false, mask.data(),
                              bf.data(), AttentionDropout{});
    CHECK(rel_error(dbias, ref_dbias) < 1e-5);
}

TEST_CASE("attention with causal and padding masks against a naive double loop") {
    const AttentionShape s{2, 2, 5, 5, 3};
    const index_t nq = s.bh() * s.q_len * s.head_dim;
    VD q = random_values(nq, 18), k = random_values(nq, 19), v = random_values(nq, 20);
    VF qf = to_float(q), kf = to_float(k), vf = to_float(v), out(nq), probs(s.bh() * 25);
    const std::vector<std::int64_t> mask = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
    const double scale = 1 / std::sqrt(3.0);
    Cpu::attention<float>(out.data(), probs.data(), qf.data(), kf.data(), vf.data(), s, float(scale), true,
                          mask.data(), nullptr, AttentionDropout{});
    VD ref(nq, 0.0);
    for (index_t bh = 0; bh < s.bh(); ++bh)
        for (index_t i = 0; i < 5; ++i) {
            double w[5], m = -1e300, total = 0;
            for (index_t j = 0; j < 5; ++j) {
                const bool hidden = j > i || mask[(bh / 2) * 5 + j] == 0;
                double dot = 0;
                for (index_t d = 0; d < 3; ++d) dot += q[(bh * 5 + i) * 3 + d] * k[(bh * 5 + j) * 3 + d];
                w[j] = hidden ? -1e300 : dot * scale;
                m = std::max(m, w[j]);
            }
            for (index_t j = 0; j < 5; ++j) total += (w[j] = w[j] == -1e300 ? 0 : std::exp(w[j] - m));
            for (index_t j = 0; j < 5; ++j)
                for (index_t d = 0; d < 3; ++d)
                    ref[(bh * 5 + i) * 3 + d] += w[j] / total * v[(bh * 5 + j) * 3 + d];
        }
    CHECK(rel_error(out, ref) < float_tol);
}

TEST_CASE(
    "attention dropout drops probability (b, h, i, j) where Philox(seed, stream).uniform(flat index) < p") {
    const AttentionShape s{2, 2, 8, 16, 3};
    const index_t nq = s.bh() * s.q_len * s.head_dim, nk = s.bh() * s.k_len * s.head_dim;
    const index_t np = s.bh() * s.q_len * s.k_len;
    VF q = to_float(random_values(nq, 23)), k = to_float(random_values(nk, 24)),
       v = to_float(random_values(nk, 25));
    VF out(nq), dropped_out(nq), probs(np), dropped_probs(np);
    const AttentionDropout dropout{0.4, 11, 3};
    Cpu::attention<float>(out.data(), probs.data(), q.data(), k.data(), v.data(), s, 0.5f, false, nullptr,
                          nullptr, AttentionDropout{});
    Cpu::attention<float>(dropped_out.data(), dropped_probs.data(), q.data(), k.data(), v.data(), s, 0.5f,
                          false, nullptr, nullptr, dropout);
    // The saved probabilities are those before dropout; the output uses the dropped ones.
    CHECK(dropped_probs == probs);
    const Philox rng(11, 3);
    VD ref(nq, 0.0);
    int zeros = 0;
    for (index_t bh = 0; bh < s.bh(); ++bh)
        for (index_t i = 0; i < s.q_len; ++i)
            for (index_t j = 0; j < s.k_len; ++j) {
                const index_t e = (bh * s.q_len + i) * s.k_len + j;
                const bool kept = rng.uniform(static_cast<std::uint64_t>(e)) >= 0.4;
                zeros += !kept;
                for (index_t d = 0; d < 3; ++d)
                    ref[(bh * s.q_len + i) * 3 + d] +=
                        kept ? double(probs[e]) / 0.6 * v[(bh * s.k_len + j) * 3 + d] : 0.0;
            }
    // 512 Bernoulli(0.4) draws: the count of zeros lies within 4 standard deviations (11).
    CHECK(std::abs(zeros - 0.4 * double(np)) < 45);
    CHECK(rel_error(dropped_out, ref) < float_tol);
}

TEST_CASE("adamw_step matches torch.optim.AdamW's update written out in double") {
    VD p = random_values(9, 21), g = random_values(9, 22);
    VF pf = to_float(p), gf = to_float(g), m(9, 0.f), v(9, 0.f);
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
    VD pm(9, 0), pv(9, 0);
    for (long step = 1; step <= 3; ++step) {
        Cpu::adamw_step(pf.data(), gf.data(), m.data(), v.data(), 9, float(lr), float(b1), float(b2),
                        float(eps), float(wd), step);
        for (int i = 0; i < 9; ++i) {
            p[i] *= 1 - lr * wd;
            pm[i] = b1 * pm[i] + (1 - b1) * g[i];
            pv[i] = b2 * pv[i] + (1 - b2) * g[i] * g[i];
            const double mhat = pm[i] / (1 - std::pow(b1, step)), vhat = pv[i] / (1 - std::pow(b2, step));
            p[i] -= lr * mhat / (std::sqrt(vhat) + eps);
        }
    }
    CHECK(rel_error(pf, p) < float_tol);
}

TEST_CASE("max_axis picks the first maximum, and its backward routes the gradient there") {
    // x [1, 3, 2]: column 0 has a tie between k = 0 and k = 2.
    VF x = {5, 1, 2, 7, 5, 3}, out(2), dx(6, 0.f), dout = {10, 20};
    std::vector<std::int64_t> argmax(2);
    Cpu::max_axis(out.data(), argmax.data(), x.data(), 1, 3, 2);
    CHECK(out == VF{5, 7});
    CHECK(argmax == std::vector<std::int64_t>{0, 1});
    Cpu::max_axis_bwd(dx.data(), dout.data(), argmax.data(), 1, 3, 2);
    CHECK(dx == VF{10, 0, 0, 20, 0, 0});
}

TEST_CASE("exp_fast is within 3 float ulps of exp from -86.9 to 88.7, and 0 below") {
    double worst = 0;
    for (double x = -86.9; x <= 88.7; x += 0.001) {
        const double ref = std::exp(double(float(x)));
        worst = std::max(worst, std::abs(double(detail::exp_fast(float(x))) - ref) / ref);
    }
    CHECK(worst < 3.0 * 0x1.0p-23);
    CHECK(detail::exp_fast(-88.0f) == 0.0f);
    CHECK(detail::exp_fast(-std::numeric_limits<float>::max()) == 0.0f);
    CHECK(detail::exp_fast(0.0f) == 1.0f);
}
