#include <tandem/io/safetensors.hpp>

#include "error_message.hpp"
#include "temp_dir.hpp"
#include "test_data.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

using tandem::io::SafetensorsCheckpoint;
using tandem::io::SafetensorsDtype;
using tandem::io::SafetensorsFile;
using tandem::io::TensorToSave;
using tandem::testing::error_message;
using tandem::testing::read_bytes;
using tandem::testing::TempDir;
using tandem::testing::write_bytes;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A float64 C-order .npy file (the format of the expected/f64 references).
struct Npy {
    std::vector<std::size_t> shape;
    std::vector<double> values;
};

Npy load_npy_f64(const std::filesystem::path& path) {
    const auto bytes = read_bytes(path);
    REQUIRE(bytes.size() > 10);
    REQUIRE(bytes.compare(0, 6, "\x93NUMPY") == 0);
    const std::size_t header_len = std::uint8_t(bytes[8]) | (std::size_t(std::uint8_t(bytes[9])) << 8);
    const auto header = bytes.substr(10, header_len);
    REQUIRE(contains(header, "'descr': '<f8'"));
    REQUIRE(contains(header, "'fortran_order': False"));
    Npy npy;
    auto pos = header.find('(', header.find("'shape'")) + 1;
    const auto close = header.find(')', pos);
    while (pos < close) {
        std::size_t used = 0;
        npy.shape.push_back(std::stoul(header.substr(pos, close - pos), &used));
        pos = header.find_first_not_of(", ", pos + used);
    }
    std::size_t n = 1;
    for (auto d : npy.shape) n *= d;
    npy.values.resize(n);
    REQUIRE(bytes.size() == 10 + header_len + 8 * n);
    std::memcpy(npy.values.data(), bytes.data() + 10 + header_len, 8 * n);
    return npy;
}

std::int64_t manifest_count(const std::filesystem::path& manifest, const std::string& key) {
    const auto text = read_bytes(manifest);
    const auto at = text.find("\"" + key + "\": ");
    REQUIRE(at != std::string::npos);
    return std::stoll(text.substr(at + key.size() + 4));
}

// max |a - b| relative to max |b|.
double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(a[i] - b[i]));
        scale = std::max(scale, std::abs(b[i]));
    }
    return diff / scale;
}

// y[r] = W x[r] (+ b): the bias-free projections and poolers whose inputs and
// outputs the reference folders store.
std::vector<double> linear(const std::vector<double>& x, std::size_t rows, const std::vector<double>& w,
                           std::size_t out, std::size_t in, const std::vector<double>* b = nullptr) {
    std::vector<double> y(rows * out);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t o = 0; o < out; ++o) {
            double s = b ? (*b)[o] : 0.0;
            for (std::size_t i = 0; i < in; ++i) s += w[o * in + i] * x[r * in + i];
            y[r * out + o] = s;
        }
    return y;
}

// Builds a file from a literal header; the length field is the header's size unless given.
std::string safetensors_bytes(const std::string& header, const std::string& data,
                              std::uint64_t length_field) {
    std::string out(8, '\0');
    std::memcpy(out.data(), &length_field, 8);
    return out + header + data;
}
std::string safetensors_bytes(const std::string& header, const std::string& data) {
    return safetensors_bytes(header, data, header.size());
}

// IEEE 754 value of binary16 / bfloat16 bits, straight from the definition.
double ieee_value(std::uint16_t bits, int exp_bits, int man_bits) {
    const int bias = (1 << (exp_bits - 1)) - 1;
    const int e = (bits >> man_bits) & ((1 << exp_bits) - 1);
    const int m = bits & ((1 << man_bits) - 1);
    const double sign = (bits >> (exp_bits + man_bits)) ? -1.0 : 1.0;
    if (e == (1 << exp_bits) - 1) return m ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
    if (e == 0) return sign * std::ldexp(m, 1 - bias - man_bits);
    return sign * std::ldexp(1.0 + std::ldexp(m, -man_bits), e - bias);
}
double f16_value(std::uint16_t bits) { return ieee_value(bits, 5, 10); }
double bf16_value(std::uint16_t bits) { return ieee_value(bits, 8, 7); }

std::vector<std::uint16_t> stored_bits(const SafetensorsFile& f, const std::string& name) {
    const auto bytes = f.data(name);
    std::vector<std::uint16_t> bits(bytes.size() / 2);
    std::memcpy(bits.data(), bytes.data(), bytes.size());
    return bits;
}

const char* const reference_folders[] = {"clip-tiny",     "siglip-tiny",   "bert-tiny",
                                         "bert-tiny-cls", "vilt-tiny-itm", "blip-tiny-itm"};

}  // namespace

TEST_CASE("every reference model.safetensors and gradient file reads with the manifest's counts") {
    for (const char* folder : reference_folders) {
        CAPTURE(folder);
        const auto dir = tandem::testing::test_data(std::string("models/") + folder + "/model.safetensors");
        if (!dir) continue;
        const auto root = dir->parent_path();
        const auto model = SafetensorsFile::open(root / "model.safetensors");
        CHECK(model.metadata() == tandem::io::SafetensorsMetadata{{"format", "pt"}});
        CHECK(std::int64_t(model.size()) == manifest_count(root / "manifest.json", "n_tensors"));
        std::size_t params = 0, not_finite = 0;
        for (const auto& name : model.names()) {
            const auto& t = model.info(name);
            CHECK(t.dtype == SafetensorsDtype::F32);
            params += t.numel();
            for (double v : model.read_as<double>(name)) not_finite += !std::isfinite(v);
        }
        CHECK(not_finite == 0);
        CHECK(std::int64_t(params) == manifest_count(root / "manifest.json", "n_params"));

        std::vector<std::filesystem::path> grads;
        for (const auto& entry : std::filesystem::directory_iterator(root))
            if (entry.path().filename().string().starts_with("grads")) grads.push_back(entry.path());
        CHECK(!grads.empty());
        for (const auto& path : grads) {
            CAPTURE(path.string());
            const auto g = SafetensorsFile::open(path);
            CHECK(g.names() == model.names());
            for (const auto& name : g.names()) {
                CHECK(g.info(name).dtype == SafetensorsDtype::F64);
                CHECK(g.info(name).shape == model.info(name).shape);
                for (double v : g.read_as<double>(name)) not_finite += !std::isfinite(v);
            }
            CHECK(not_finite == 0);
        }
    }
}

TEST_CASE("clip-tiny weights reproduce the reference projections and pooled outputs") {
    const auto file = tandem::testing::test_data("models/clip-tiny/model.safetensors");
    if (!file) return;
    const auto root = file->parent_path();
    const auto ckpt = SafetensorsCheckpoint::open(root);
    CHECK(ckpt.info("logit_scale").shape.empty());
    CHECK(ckpt.read_as<float>("logit_scale") == std::vector<float>{1.9f});
    CHECK(ckpt.info("text_projection.weight").shape == std::vector<std::int64_t>{16, 64});
    ckpt.check_shape("text_projection.weight", {16, 64});
    const auto msg = error_message([&] { ckpt.check_shape("text_projection.weight", {64, 16}); });
    CHECK(contains(msg, root.string()));
    CHECK(contains(msg, "tensor 'text_projection.weight' has shape [16, 64], expected [64, 16]"));

    // get_text_features = text_projection(pooled): a Linear without bias.
    const auto text_pooled = load_npy_f64(root / "expected/f64/text_pooled_output.npy");
    const auto text_embeds = load_npy_f64(root / "expected/f64/text_embeds_unnormalized.npy");
    CHECK(
        relative_error(linear(text_pooled.values, 5, ckpt.read_as<double>("text_projection.weight"), 16, 64),
                       text_embeds.values) < 1e-12);

    // vision pooled = post_layernorm(last_hidden_state[:, 0]), eps 1e-5.
    const auto vision_hidden = load_npy_f64(root / "expected/f64/vision_last_hidden_state.npy");
    const auto vision_pooled = load_npy_f64(root / "expected/f64/vision_pooled_output.npy");
    REQUIRE(vision_hidden.shape == std::vector<std::size_t>{5, 26, 40});
    const auto gamma = ckpt.read_as<double>("vision_model.post_layernorm.weight");
    const auto beta = ckpt.read_as<double>("vision_model.post_layernorm.bias");
    std::vector<double> pooled(5 * 40);
    for (std::size_t r = 0; r < 5; ++r) {
        const double* x = vision_hidden.values.data() + r * 26 * 40;
        double mean = 0, var = 0;
        for (std::size_t i = 0; i < 40; ++i) mean += x[i] / 40;
        for (std::size_t i = 0; i < 40; ++i) var += (x[i] - mean) * (x[i] - mean) / 40;
        for (std::size_t i = 0; i < 40; ++i)
            pooled[r * 40 + i] = (x[i] - mean) / std::sqrt(var + 1e-5) * gamma[i] + beta[i];
    }
    CHECK(relative_error(pooled, vision_pooled.values) < 1e-12);
    const auto image_embeds = load_npy_f64(root / "expected/f64/image_embeds_unnormalized.npy");
    CHECK(relative_error(
              linear(vision_pooled.values, 5, ckpt.read_as<double>("visual_projection.weight"), 16, 40),
              image_embeds.values) < 1e-12);
}

TEST_CASE("bert-tiny and siglip-tiny weights reproduce the reference heads") {
    if (const auto file = tandem::testing::test_data("models/bert-tiny/model.safetensors")) {
        const auto root = file->parent_path();
        const auto f = SafetensorsFile::open(*file);
        const auto hidden = load_npy_f64(root / "expected/f64/last_hidden_state.npy");
        const auto pooler = load_npy_f64(root / "expected/f64/pooler_output.npy");
        const std::size_t batch = hidden.shape[0], seq = hidden.shape[1];
        std::vector<double> cls(batch * 32);
        for (std::size_t r = 0; r < batch; ++r)
            std::copy_n(hidden.values.data() + r * seq * 32, 32, cls.data() + r * 32);
        const auto bias = f.read_as<double>("pooler.dense.bias");
        auto y = linear(cls, batch, f.read_as<double>("pooler.dense.weight"), 32, 32, &bias);
        for (auto& v : y) v = std::tanh(v);
        CHECK(relative_error(y, pooler.values) < 1e-12);
    }
    if (const auto file = tandem::testing::test_data("models/siglip-tiny/model.safetensors")) {
        const auto root = file->parent_path();
        const auto f = SafetensorsFile::open(*file);
        CHECK(f.info("logit_scale").shape == std::vector<std::int64_t>{1});
        CHECK(f.read_as<float>("logit_scale") == std::vector<float>{1.6f});
        CHECK(f.read_as<float>("logit_bias") == std::vector<float>{-1.3f});
        // Text pooling: head(last_hidden_state[:, -1]).
        const auto hidden = load_npy_f64(root / "expected/f64/text_last_hidden_state.npy");
        const auto pooled = load_npy_f64(root / "expected/f64/text_pooled_output.npy");
        const std::size_t batch = hidden.shape[0], seq = hidden.shape[1];
        std::vector<double> last(batch * 32);
        for (std::size_t r = 0; r < batch; ++r)
            std::copy_n(hidden.values.data() + (r * seq + seq - 1) * 32, 32, last.data() + r * 32);
        const auto bias = f.read_as<double>("text_model.head.bias");
        CHECK(relative_error(linear(last, batch, f.read_as<double>("text_model.head.weight"), 32, 32, &bias),
                             pooled.values) < 1e-12);
    }
}

TEST_CASE("writing clip-tiny's tensors back reproduces model.safetensors byte for byte") {
    const auto file = tandem::testing::test_data("models/clip-tiny/model.safetensors");
    if (!file) return;
    const auto in = SafetensorsFile::open(*file);
    std::vector<std::vector<float>> values;
    std::vector<TensorToSave> tensors;
    for (const auto& name : in.names()) values.push_back(in.read_as<float>(name));
    std::size_t i = 0;
    for (const auto& name : in.names()) tensors.emplace_back(name, in.info(name).shape, values[i++].data());
    TempDir dir;
    tandem::io::save_safetensors(dir / "model.safetensors", tensors, in.metadata());
    const auto written = read_bytes(dir / "model.safetensors");
    const auto original = read_bytes(*file);
    CHECK(written.size() == original.size());
    CHECK(written == original);
}

TEST_CASE("every .safetensors file under models/ reads and writes back byte for byte") {
    const auto models = tandem::testing::test_data("models");
    if (!models) return;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(*models))
        if (entry.path().extension() == ".safetensors") files.push_back(entry.path());
    CHECK(files.size() >= 15);
    TempDir dir;
    for (const auto& path : files) {
        CAPTURE(path.string());
        const auto in = SafetensorsFile::open(path);
        // The reference files hold F32 weights and F64 gradients; double holds both exactly.
        std::vector<std::vector<double>> values;
        std::vector<TensorToSave> tensors;
        std::size_t not_finite = 0;
        for (const auto& name : in.names()) {
            values.push_back(in.read_as<double>(name));
            for (double v : values.back()) not_finite += !std::isfinite(v);
        }
        CHECK(not_finite == 0);
        std::size_t i = 0;
        for (const auto& name : in.names())
            tensors.emplace_back(name, in.info(name).shape, values[i++].data(), in.info(name).dtype);
        tandem::io::save_safetensors(dir / "out.safetensors", tensors, in.metadata());
        CHECK(read_bytes(dir / "out.safetensors") == read_bytes(path));
    }
}

TEST_CASE("save then open round-trips every dtype and keeps the reference tensor order") {
    TempDir dir;
    const std::vector<double> d{1.5, -2.25, 3.0, 1e-3, 7.0, 8.0};
    const std::vector<float> f{0.1f, 0.2f, 0.3f, 0.4f};
    const std::vector<std::int64_t> ids{0, 1, 2, 1LL << 40};
    const std::vector<std::int32_t> small{-5, 7};
    const std::vector<TensorToSave> tensors{
        {"z.double", {2, 3}, d.data()},
        {"a.float", {4}, f.data()},
        {"m.bf16", {4}, f.data(), SafetensorsDtype::BF16},
        {"b.half", {2, 2}, f.data(), SafetensorsDtype::F16},
        {"ids", {4}, ids.data()},
        {"small", {2}, small.data()},
        {"scalar", {}, d.data(), SafetensorsDtype::F32},
        {"empty", {0, 3}, static_cast<const float*>(nullptr)},
    };
    tandem::io::save_safetensors(dir / "t.safetensors", tensors, {{"step", "12"}, {"format", "pt"}});

    const auto bytes = read_bytes(dir / "t.safetensors");
    std::uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data(), 8);
    CHECK(header_len % 8 == 0);
    const auto header = bytes.substr(8, header_len);
    // Descending dtype (I64, F64, F32, I32, BF16, F16), then name.
    const std::vector<std::string> order{"\"ids\"",    "\"z.double\"", "\"a.float\"", "\"empty\"",
                                         "\"scalar\"", "\"small\"",    "\"m.bf16\"",  "\"b.half\""};
    for (std::size_t k = 1; k < order.size(); ++k) CHECK(header.find(order[k - 1]) < header.find(order[k]));
    CHECK(
        header.starts_with(R"({"__metadata__":{"step":"12","format":"pt"},"ids":{"dtype":"I64","shape":[4],)"
                           R"("data_offsets":[0,32]},)"));

    const auto ckpt = SafetensorsCheckpoint::open(dir / "t.safetensors");
    CHECK(ckpt.files().front().metadata() ==
          tandem::io::SafetensorsMetadata{{"step", "12"}, {"format", "pt"}});
    CHECK(ckpt.names() == std::vector<std::string>{"a.float", "b.half", "empty", "ids", "m.bf16", "scalar",
                                                   "small", "z.double"});
    CHECK(ckpt.read_as<double>("z.double") == d);
    CHECK(ckpt.read_as<float>("a.float") == f);
    CHECK(ckpt.read_as<std::int64_t>("ids") == ids);
    CHECK(ckpt.read_as<std::int64_t>("small") == std::vector<std::int64_t>{-5, 7});
    CHECK(ckpt.read_as<std::int32_t>("small") == small);
    CHECK(ckpt.read_as<double>("scalar") == std::vector<double>{1.5});
    CHECK(ckpt.info("empty").shape == std::vector<std::int64_t>{0, 3});
    CHECK(ckpt.read_as<float>("empty").empty());
    const auto half = ckpt.read_as<float>("b.half");
    for (std::size_t k = 0; k < 4; ++k) CHECK(std::abs(half[k] - f[k]) <= f[k] * 0x1p-11f);
    const auto bf = ckpt.read_as<float>("m.bf16");
    for (std::size_t k = 0; k < 4; ++k) CHECK(std::abs(bf[k] - f[k]) <= f[k] * 0x1p-8f);

    std::vector<float> out(3);
    CHECK(contains(error_message([&] { ckpt.read("z.double", out.data(), out.size()); }), "6 elements"));
    CHECK(contains(error_message([&] { (void)ckpt.read_as<float>("ids"); }), "'ids' has dtype I64"));
    CHECK(contains(error_message([&] { (void)ckpt.read_as<std::int32_t>("ids"); }), "needs I32"));
}

TEST_CASE("F16 encoding and decoding follow IEEE binary16 with ties to even") {
    struct Case {
        double value;
        std::uint16_t bits;
    };
    const double min_sub = std::ldexp(1.0, -24);  // smallest subnormal
    const Case cases[] = {
        {1.0, 15 << 10},
        {-2.0, 0x8000 | 16 << 10},
        {65504.0, 30 << 10 | 0x3FF},                     // largest finite: (2 - 2^-10) * 2^15
        {65519.0, 30 << 10 | 0x3FF},                     // below the midpoint to 2^16
        {65520.0, 0x7C00},                               // the midpoint rounds to even: 2^16 = inf
        {std::ldexp(1.0, -14), 1 << 10},                 // smallest normal
        {6.1e-5, 0x3FF},                                 // 6.1e-5 / 2^-24 = 1023.4: largest subnormal
        {min_sub, 1},                                    // smallest subnormal
        {min_sub / 2, 0},                                // tie between 0 and 2^-24: even is 0
        {min_sub * 0.75, 1},                             // above the tie
        {min_sub * 1.5, 2},                              // tie between 1 and 2 units: even is 2
        {min_sub * 2.5, 2},                              // tie between 2 and 3 units: even is 2
        {1.0 + std::ldexp(1.0, -11), 15 << 10},          // tie between 1 and 1 + 2^-10: even is 1
        {1.0 + 3 * std::ldexp(1.0, -11), 15 << 10 | 2},  // tie between mantissa 1 and 2: even is 2
        {2049.0, 26 << 10},                              // spacing 2 at 2048: tie goes to 2048
        {2051.0, 26 << 10 | 2},                          // tie goes to 2052
        {-0.0, 0x8000},
        {0.0, 0},
        {INFINITY, 0x7C00},
        {-INFINITY, 0xFC00},
        {1e10, 0x7C00},
        {-1e-30, 0x8000},
    };
    std::vector<double> values;
    std::vector<float> floats;
    for (const auto& c : cases) {
        values.push_back(c.value);
        floats.push_back(static_cast<float>(c.value));
    }
    values.push_back(std::numeric_limits<double>::quiet_NaN());
    floats.push_back(std::numeric_limits<float>::quiet_NaN());
    TempDir dir;
    const auto n = static_cast<std::int64_t>(values.size());
    tandem::io::save_safetensors(dir / "h.safetensors",
                                 {{"from_double", {n}, values.data(), SafetensorsDtype::F16},
                                  {"from_float", {n}, floats.data(), SafetensorsDtype::F16}});
    const auto f = SafetensorsFile::open(dir / "h.safetensors");
    const auto bits = stored_bits(f, "from_double");
    const auto bits_f = stored_bits(f, "from_float");
    const auto as_float = f.read_as<float>("from_double");
    const auto as_double = f.read_as<double>("from_double");
    for (std::size_t k = 0; k < std::size(cases); ++k) {
        CAPTURE(cases[k].value);
        CHECK(bits[k] == cases[k].bits);
        // Every case above is exact in float, so the float source must agree.
        CHECK(bits_f[k] == cases[k].bits);
        const double expected = f16_value(cases[k].bits);
        CHECK(as_double[k] == expected);
        CHECK(double(as_float[k]) == expected);
        CHECK(std::signbit(as_float[k]) == std::signbit(expected));
    }
    CHECK((bits.back() & 0x7C00) == 0x7C00);
    CHECK((bits.back() & 0x3FF) != 0);
    CHECK(std::isnan(as_float.back()));
    CHECK(std::isnan(f.read_as<float>("from_float").back()));
}

TEST_CASE("BF16 encoding and decoding follow bfloat16 with ties to even") {
    struct Case {
        double value;
        std::uint16_t bits;
    };
    const Case cases[] = {
        {1.0, 127 << 7},
        {-1.0, 0x8000 | 127 << 7},
        {1.0 + std::ldexp(1.0, -8), 127 << 7},                             // tie: even mantissa 0
        {1.0 + 3 * std::ldexp(1.0, -8), 127 << 7 | 2},                     // tie: even mantissa 2
        {1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -20), 127 << 7 | 1},  // just above the tie
        {std::ldexp(2.0 - std::ldexp(1.0, -7), 127), 0x7F7F},              // largest finite
        {double(std::numeric_limits<float>::max()), 0x7F80},               // rounds past it: inf
        {std::ldexp(1.0, -133), 1},                                        // smallest subnormal
        {1e-40, 1},                                                        // 1e-40 / 2^-133 = 1.09
        {std::ldexp(1.0, -134), 0},                                        // tie with 0: even
        {3.140625, 0x4049},                                                // exact: 1.5703125 * 2
        {-0.0, 0x8000},
        {INFINITY, 0x7F80},
        {-INFINITY, 0xFF80},
    };
    std::vector<float> floats;
    for (const auto& c : cases) floats.push_back(static_cast<float>(c.value));
    TempDir dir;
    const auto n = static_cast<std::int64_t>(floats.size());
    tandem::io::save_safetensors(dir / "b.safetensors", {{"x", {n}, floats.data(), SafetensorsDtype::BF16}});
    const auto f = SafetensorsFile::open(dir / "b.safetensors");
    const auto bits = stored_bits(f, "x");
    const auto values = f.read_as<double>("x");
    for (std::size_t k = 0; k < std::size(cases); ++k) {
        CAPTURE(cases[k].value);
        CHECK(bits[k] == cases[k].bits);
        CHECK(values[k] == bf16_value(cases[k].bits));
        CHECK(std::signbit(values[k]) == std::signbit(bf16_value(cases[k].bits)));
    }
}

TEST_CASE("every F16 and BF16 bit pattern survives decode then encode, and random values round to nearest") {
    int f16_mismatches = 0, bf16_mismatches = 0;
    for (std::uint32_t b = 0; b < 0x10000; ++b) {
        const auto bits = static_cast<std::uint16_t>(b);
        const double h = tandem::detail::f16_to_float(bits);
        const double bf = tandem::detail::bf16_to_float(bits);
        if (std::isnan(f16_value(bits))) {
            f16_mismatches += !std::isnan(h);
        } else {
            f16_mismatches += h != f16_value(bits) || tandem::detail::double_to_f16(h) != bits;
        }
        if (std::isnan(bf16_value(bits))) {
            bf16_mismatches += !std::isnan(bf);
        } else {
            bf16_mismatches += bf != bf16_value(bits) || tandem::detail::double_to_bf16(bf) != bits;
        }
    }
    CHECK(f16_mismatches == 0);
    CHECK(bf16_mismatches == 0);
    // The encoded value is no farther from x than either neighbour, and wins ties by
    // having an even mantissa.
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> mantissa(-2.0, 2.0);
    std::uniform_int_distribution<int> exponent(-27, 16);
    int misrounded = 0;
    for (int i = 0; i < 20000; ++i) {
        const double x = std::ldexp(mantissa(rng), exponent(rng));
        const auto h = tandem::detail::double_to_f16(x);
        const double v = f16_value(h);
        if (std::isinf(v)) {
            misrounded += std::abs(x) < 65520.0;
            continue;
        }
        for (int step : {-1, 1}) {
            const auto neighbour = static_cast<std::uint16_t>(h + step);
            if ((neighbour & 0x7FFF) > 0x7C00 || ((h & 0x7FFF) == 0 && step < 0)) continue;
            const double w = f16_value(neighbour);
            misrounded += std::abs(v - x) > std::abs(w - x);
            misrounded += std::abs(v - x) == std::abs(w - x) && (h & 1) != 0;
        }
    }
    CHECK(misrounded == 0);
}

TEST_CASE("corrupt safetensors files give errors naming the file and the tensor") {
    TempDir dir;
    const auto path = dir / "bad.safetensors";
    const auto error_for = [&](const std::string& bytes) {
        write_bytes(path, bytes);
        return error_message([&] { (void)SafetensorsFile::open(path); });
    };
    const std::string good_entry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    const std::string eight(8, '\x01');

    SUBCASE("a valid file opens") {
        write_bytes(path, safetensors_bytes("{" + good_entry + "}", eight));
        CHECK(SafetensorsFile::open(path).names() == std::vector<std::string>{"w"});
    }
    SUBCASE("shorter than the length field") {
        const auto msg = error_for("abc");
        CHECK(contains(msg, path.string()));
        CHECK(contains(msg, "3 bytes"));
    }
    SUBCASE("empty file") { CHECK(contains(error_for(""), "0 bytes")); }
    SUBCASE("missing file") {
        CHECK(contains(error_message([&] { (void)SafetensorsFile::open(dir / "none.safetensors"); }),
                       "none.safetensors"));
    }
    SUBCASE("header length beyond the file") {
        const auto msg = error_for(safetensors_bytes("{" + good_entry + "}", eight, 1000));
        CHECK(contains(msg, path.string()));
        CHECK(contains(msg, "1000"));
    }
    SUBCASE("truncated data") {
        const auto msg = error_for(safetensors_bytes("{" + good_entry + "}", "\x01\x02\x03"));
        CHECK(contains(msg, "tensor 'w'"));
        CHECK(contains(msg, "[0, 8]"));
    }
    SUBCASE("header not JSON") {
        const auto msg = error_for(safetensors_bytes("{\"w\": [1, 2", eight));
        CHECK(contains(msg, path.string()));
        CHECK(contains(msg, "not valid JSON"));
    }
    SUBCASE("header not an object") { CHECK(contains(error_for(safetensors_bytes("[1,2,3] ", "")), "'{'")); }
    SUBCASE("duplicate tensor name") {
        CHECK(contains(error_for(safetensors_bytes("{" + good_entry + "," + good_entry + "}", eight)),
                       "'w' twice"));
    }
    SUBCASE("metadata must map strings to strings") {
        const auto msg =
            error_for(safetensors_bytes(R"({"__metadata__":{"epoch":3},)" + good_entry + "}", eight));
        CHECK(contains(msg, "'__metadata__' key 'epoch'"));
        CHECK(contains(msg, "number 3"));
    }
    SUBCASE("entry keys missing or mistyped") {
        auto msg = error_for(safetensors_bytes(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", eight));
        CHECK(contains(msg, "tensor 'w': key 'dtype' is missing"));
        msg = error_for(safetensors_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", eight));
        CHECK(contains(msg, "tensor 'w': key 'shape' is missing"));
        msg = error_for(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2]}})", eight));
        CHECK(contains(msg, "tensor 'w': key 'data_offsets' is missing"));
        msg =
            error_for(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight));
        CHECK(contains(msg, "tensor 'w': 'shape' should hold non-negative integers, found number -2"));
        msg = error_for(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", eight));
        CHECK(contains(msg, "tensor 'w': 'data_offsets' should be [begin, end]"));
        msg = error_for(safetensors_bytes(R"({"w":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", eight));
        CHECK(contains(msg, "tensor 'w': 'dtype' should be a string, found number 32"));
    }
    SUBCASE("a header that lies about the size") {
        const auto msg =
            error_for(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight));
        CHECK(contains(msg, path.string()));
        CHECK(contains(msg,
                       "tensor 'w': dtype F32 and shape [3] need 12 bytes, but data_offsets [0, 8] span 8"));
    }
    SUBCASE("offsets past the data area") {
        const auto msg =
            error_for(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", eight));
        CHECK(contains(msg, "tensor 'w': data_offsets [8, 16] run past the end of the data area (8 bytes)"));
    }
    SUBCASE("overlapping offsets") {
        const auto msg = error_for(safetensors_bytes(
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
            eight));
        CHECK(contains(msg, path.string()));
        CHECK(contains(msg, "tensor 'b': data_offsets [4, 8] overlap tensor 'a' [0, 8]"));
    }
    SUBCASE("gaps and trailing bytes") {
        auto msg =
            error_for(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight));
        CHECK(contains(msg, "tensor 'w': data_offsets begin at 4, leaving a gap of 4"));
        msg = error_for(safetensors_bytes("{" + good_entry + "}", eight + "xx"));
        CHECK(contains(msg, "tensors cover 8 bytes of data, but the data area after the header is 10 bytes"));
    }
    SUBCASE("unknown dtype") {
        const auto msg =
            error_for(safetensors_bytes(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", eight));
        CHECK(contains(msg, path.string()));
        CHECK(contains(msg, "tensor 'w': unknown dtype \"Q4\""));
    }
    SUBCASE("a dtype we do not read") {
        write_bytes(path,
                    safetensors_bytes(R"({"q":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}})", eight));
        const auto f = SafetensorsFile::open(path);
        CHECK(f.data("q").size() == 8);
        const auto msg = error_message([&] { (void)f.read_as<float>("q"); });
        CHECK(contains(msg, path.string()));
        CHECK(contains(msg, "tensor 'q' has dtype I8, read as float needs F64, F32, F16 or BF16"));
    }
    SUBCASE("a missing tensor") {
        write_bytes(path, safetensors_bytes("{" + good_entry + "}", eight));
        const auto msg = error_message([&] { (void)SafetensorsFile::open(path).info("text_model.missing"); });
        CHECK(contains(msg, path.string()));
        CHECK(contains(msg, "no tensor named 'text_model.missing'"));
    }
}

TEST_CASE("a sharded checkpoint reads as one, and a missing shard is named") {
    TempDir dir;
    const std::vector<float> a{1, 2, 3}, b{4, 5};
    tandem::io::save_safetensors(dir / "model-00001-of-00002.safetensors", {{"encoder.a", {3}, a.data()}},
                                 {{"format", "pt"}});
    tandem::io::save_safetensors(dir / "model-00002-of-00002.safetensors", {{"encoder.b", {2}, b.data()}},
                                 {{"format", "pt"}});
    write_bytes(dir / "model.safetensors.index.json", R"({"metadata":{"total_size":20},"weight_map":{
        "encoder.a":"model-00001-of-00002.safetensors","encoder.b":"model-00002-of-00002.safetensors"}})");
    const auto ckpt = SafetensorsCheckpoint::open(dir.path());
    CHECK(ckpt.path() == dir / "model.safetensors.index.json");
    CHECK(ckpt.files().size() == 2);
    CHECK(ckpt.names() == std::vector<std::string>{"encoder.a", "encoder.b"});
    CHECK(ckpt.read_as<float>("encoder.a") == a);
    CHECK(ckpt.read_as<double>("encoder.b") == std::vector<double>{4, 5});
    CHECK(ckpt.file_of("encoder.b").path() == dir / "model-00002-of-00002.safetensors");
    const auto missing_tensor = error_message([&] { (void)ckpt.info("encoder.c"); });
    CHECK(contains(missing_tensor, "model.safetensors.index.json"));
    CHECK(contains(missing_tensor, "'encoder.c'"));

    std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
    const auto msg = error_message([&] { (void)SafetensorsCheckpoint::open(dir.path()); });
    CHECK(contains(msg, (dir / "model.safetensors.index.json").string()));
    CHECK(contains(msg, "shard 'model-00002-of-00002.safetensors' (holding 'encoder.b') is missing"));

    write_bytes(
        dir / "model.safetensors.index.json",
        R"({"weight_map":{"encoder.a":"model-00001-of-00002.safetensors","encoder.z":"model-00001-of-00002.safetensors"}})");
    CHECK(contains(
        error_message([&] { (void)SafetensorsCheckpoint::open(dir.path()); }),
        "weight_map puts 'encoder.z' in shard 'model-00001-of-00002.safetensors', which has no such tensor"));
    write_bytes(dir / "model.safetensors.index.json",
                R"({"weight_map":{"encoder.a":"../elsewhere.safetensors"}})");
    CHECK(contains(error_message([&] { (void)SafetensorsCheckpoint::open(dir.path()); }),
                   "key 'weight_map.encoder.a': shard file name \"../elsewhere.safetensors\""));
    write_bytes(dir / "model.safetensors.index.json", R"({"metadata":{}})");
    CHECK(contains(error_message([&] { (void)SafetensorsCheckpoint::open(dir.path()); }),
                   "key 'weight_map': required key is missing"));
    std::filesystem::remove(dir / "model.safetensors.index.json");
    CHECK(contains(error_message([&] { (void)SafetensorsCheckpoint::open(dir.path()); }),
                   "no model.safetensors or model.safetensors.index.json"));
}

TEST_CASE("a failed save leaves the previous file byte-identical") {
    TempDir dir;
    const auto path = dir / "model.safetensors";
    const std::vector<float> old_values{1, 2, 3, 4};
    tandem::io::save_safetensors(path, {{"w", {4}, old_values.data()}}, {{"format", "pt"}});
    const auto before = read_bytes(path);
    const auto only_the_file = [&] {
        return std::distance(std::filesystem::directory_iterator(dir.path()),
                             std::filesystem::directory_iterator{}) == 1;
    };

    const std::vector<float> big(1000, 0.5f);
    const std::vector<std::int64_t> ids{1, 2};
    // The second tensor is invalid: the first one's data must never reach the target.
    SUBCASE("invalid shape") {
        const auto msg = error_message([&] {
            tandem::io::save_safetensors(path, {{"a", {1000}, big.data()}, {"b", {-1}, big.data()}});
        });
        CHECK(contains(msg, path.string()));
        CHECK(contains(msg, "tensor 'b'"));
    }
    SUBCASE("integer data stored as a float dtype") {
        const auto msg = error_message([&] {
            TensorToSave bad("ids", {2}, ids.data());
            bad.dtype = SafetensorsDtype::F32;
            tandem::io::save_safetensors(path, {{"a", {1000}, big.data()}, bad});
        });
        CHECK(contains(msg, "tensor 'ids': cannot store int64_t data as F32"));
    }
    SUBCASE("duplicate and reserved names, null data") {
        CHECK(contains(
            error_message([&] {
                tandem::io::save_safetensors(path, {{"a", {1000}, big.data()}, {"a", {1}, big.data()}});
            }),
            "tensor 'a' is given twice"));
        CHECK(contains(error_message([&] {
                           tandem::io::save_safetensors(path, {{"__metadata__", {1}, big.data()}});
                       }),
                       "reserved"));
        CHECK(contains(
            error_message([&] {
                tandem::io::save_safetensors(path, {{"a", {1}, big.data()}}, {{"k", "1"}, {"k", "2"}});
            }),
            "metadata key 'k' is given twice"));
        CHECK(
            contains(error_message([&] {
                         tandem::io::save_safetensors(path, {{"n", {2}, static_cast<const float*>(nullptr)}});
                     }),
                     "tensor 'n': data pointer is null"));
    }
    SUBCASE("the writer fails midway through the data") {
        const auto msg = error_message([&] {
            tandem::io::atomic_write(path, [&](std::ostream& out) {
                out << std::string(4096, 'x');
                tandem::detail::throw_error(path.string(), ": simulated failure after 4096 bytes");
            });
        });
        CHECK(contains(msg, "simulated failure"));
    }
    CHECK(read_bytes(path) == before);
    CHECK(only_the_file());
    CHECK(SafetensorsFile::open(path).read_as<float>("w") == old_values);
}
