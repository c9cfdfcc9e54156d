// semantic_search, paraphrase_mining and quantize_embeddings against what the real
// sentence-transformers returns for the same embeddings (tests/infer/data/search, written by
// make_search_reference.py), worked examples, and io/npy.hpp: numpy's layouts, np.save's
// bytes, row ranges, and the errors that bad files and bad arguments give.
#include "error_message.hpp"
#include "temp_dir.hpp"
#include "test_data.hpp"

#include <tandem/backend/cpu.hpp>
#include <tandem/infer/quantize.hpp>
#include <tandem/infer/search.hpp>
#include <tandem/infer/sentence_transformer.hpp>
#include <tandem/io/npy.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <variant>
#include <vector>

using namespace tandem;
namespace fs = std::filesystem;
using nlohmann::json;
using testing::error_message;

namespace {

const fs::path data_dir = fs::path(TANDEM_SOURCE_ROOT) / "tests/infer/data/search";

const json& reference() {
    static const json j = [] {
        std::ifstream in(data_dir / "search_reference.json");
        return json::parse(in);
    }();
    return j;
}

xt::xtensor<float, 2> fixture(const std::string& name) {
    return io::load_npy_matrix<float>(data_dir / (name + ".npy"));
}

void check_contains(const std::string& message, const std::string& part) {
    INFO("message: ", message);
    INFO("expected to contain: ", part);
    CHECK(message.find(part) != std::string::npos);
}

// Python's float32 scores against tandem's double ones: 1e-6, relative for dot scores above 1.
void check_score(double got, double expected) {
    CHECK(std::abs(got - expected) <= 1e-6 * std::max(1.0, std::abs(expected)));
}

SemanticSearchOptions search_options(const json& c) {
    SemanticSearchOptions o;
    o.top_k = c.at("top_k");
    o.query_chunk_size = c.value("query_chunk_size", o.query_chunk_size);
    o.corpus_chunk_size = c.value("corpus_chunk_size", o.corpus_chunk_size);
    o.score_function = c.value("score_function", o.score_function);
    return o;
}

ParaphraseMiningOptions mining_options(const json& c) {
    ParaphraseMiningOptions o;
    o.top_k = c.value("top_k", o.top_k);
    o.max_pairs = c.value("max_pairs", o.max_pairs);
    o.query_chunk_size = c.value("query_chunk_size", o.query_chunk_size);
    o.corpus_chunk_size = c.value("corpus_chunk_size", o.corpus_chunk_size);
    o.score_function = c.value("score_function", o.score_function);
    return o;
}

// Python's hits of one query with each group of exactly tied scores listed by descending
// corpus id, the order tandem documents (Python lists a group in heap order).
std::vector<SearchHit> canonical_hits(const json& hits) {
    std::vector<SearchHit> out;
    for (const auto& h : hits) out.push_back({h.at(0).get<std::size_t>(), h.at(1).get<double>()});
    std::stable_sort(out.begin(), out.end(), [](const SearchHit& a, const SearchHit& b) {
        return a.score != b.score ? a.score > b.score : a.corpus_id > b.corpus_id;
    });
    return out;
}

std::vector<ParaphrasePair> canonical_pairs(const json& pairs) {
    std::vector<ParaphrasePair> out;
    for (const auto& p : pairs)
        out.push_back({p.at(0).get<double>(), p.at(1).get<std::size_t>(), p.at(2).get<std::size_t>()});
    std::stable_sort(out.begin(), out.end(), [](const ParaphrasePair& a, const ParaphrasePair& b) {
        return std::tie(a.score, a.i, a.j) > std::tie(b.score, b.i, b.j);
    });
    return out;
}

// Ids exactly, scores to 1e-6. Where top_k cut a tie group and torch.topk chose which tied
// rows Python kept, tandem's picks must come from that group and be its largest ids.
void check_search(const std::vector<std::vector<SearchHit>>& got, const json& c) {
    const auto& expected = c.at("results");
    REQUIRE(got.size() == expected.size());
    std::map<std::size_t, std::vector<std::size_t>> torch_chosen;
    for (const auto& t : c.value("torch_chosen_ties", json::array()))
        torch_chosen[t.at("query")] = t.at("tie_group").get<std::vector<std::size_t>>();
    for (std::size_t q = 0; q < got.size(); ++q) {
        CAPTURE(q);
        const auto want = canonical_hits(expected[q]);
        REQUIRE(got[q].size() == want.size());
        const auto chosen = torch_chosen.find(q);
        std::vector<std::size_t> cut_ids;
        for (std::size_t r = 0; r < want.size(); ++r) {
            CAPTURE(r);
            check_score(got[q][r].score, want[r].score);
            if (chosen != torch_chosen.end() && want[r].score == want.back().score)
                cut_ids.push_back(got[q][r].corpus_id);
            else
                CHECK(got[q][r].corpus_id == want[r].corpus_id);
        }
        if (chosen != torch_chosen.end()) {
            const auto& group = chosen->second;
            REQUIRE(cut_ids.size() < group.size());
            CHECK(cut_ids ==
                  std::vector<std::size_t>(group.rbegin(), group.rbegin() + std::ptrdiff_t(cut_ids.size())));
        }
    }
}

void check_pairs(const std::vector<ParaphrasePair>& got, const json& expected, double tolerance = 1e-6) {
    const auto want = canonical_pairs(expected);
    REQUIRE(got.size() == want.size());
    for (std::size_t r = 0; r < want.size(); ++r) {
        CAPTURE(r);
        CHECK(got[r].i == want[r].i);
        CHECK(got[r].j == want[r].j);
        CHECK(std::abs(got[r].score - want[r].score) <= tolerance * std::max(1.0, std::abs(want[r].score)));
    }
}

// A version 1.0 .npy file with this header dictionary and these data bytes.
void write_npy(const fs::path& path, const std::string& dict, const std::string& data) {
    std::string header = dict;
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string bytes = "\x93NUMPY";
    bytes += '\x01';
    bytes += '\x00';
    bytes += static_cast<char>(header.size() & 0xFF);
    bytes += static_cast<char>(header.size() >> 8);
    testing::write_bytes(path, bytes + header + data);
}

// numpy.arange(6).reshape(2, 3) / 4 - 0.5, the array of make_search_reference.py's layout files.
const xt::xtensor<double, 2> small = {{-0.5, -0.25, 0.0}, {0.25, 0.5, 0.75}};

// A stand-in model: each text's counts of a few letters, scaled by its encode options.
struct LetterCountOptions {
    float scale = 1.0f;
};

struct LetterCountModel {
    xt::xtensor<float, 2> encode(const std::vector<std::string>& texts) const { return encode(texts, {}); }
    xt::xtensor<float, 2> encode(const std::vector<std::string>& texts, const LetterCountOptions& o) const {
        xt::xtensor<float, 2> out = xt::zeros<float>({texts.size(), std::size_t{4}});
        for (std::size_t i = 0; i < texts.size(); ++i)
            for (std::size_t k = 0; k < 4; ++k)
                out(i, k) =
                    o.scale * static_cast<float>(1 + std::count(texts[i].begin(), texts[i].end(), "aeos"[k]));
        return out;
    }
};

}  // namespace

TEST_CASE("semantic_search returns sentence-transformers' hits, in memory and streamed from the .npy file") {
    const auto queries = fixture("queries"), corpus = fixture("corpus");
    for (const auto& c : reference().at("semantic_search")) {
        INFO("case ", c.at("name").get<std::string>());
        const auto o = search_options(c);
        const auto hits = semantic_search(queries, corpus, o);
        check_search(hits, c);
        CHECK(semantic_search(queries, data_dir / "corpus.npy", o) == hits);
    }
}

TEST_CASE("semantic_search: chunk sizes change nothing, in memory or streamed") {
    const auto queries = fixture("queries"), corpus = fixture("corpus");
    SemanticSearchOptions o;
    o.top_k = 6;
    const auto expected = semantic_search(queries, corpus, o);
    testing::TempDir dir("search-chunks");
    const xt::xtensor<double, 2> corpus64 = xt::cast<double>(corpus), queries64 = xt::cast<double>(queries);
    io::save_npy(dir / "corpus64.npy", corpus64);
    const auto expected64 = semantic_search(queries64, corpus64, o);
    for (std::size_t corpus_chunk : {1, 2, 3, 7, 39, 40, 41, 1000})
        for (std::size_t query_chunk : {1, 3, 100}) {
            CAPTURE(corpus_chunk);
            CAPTURE(query_chunk);
            o.corpus_chunk_size = corpus_chunk;
            o.query_chunk_size = query_chunk;
            CHECK(semantic_search(queries, corpus, o) == expected);
            CHECK(semantic_search(queries, data_dir / "corpus.npy", o) == expected);
            CHECK(semantic_search(queries64, dir / "corpus64.npy", o) == expected64);
        }
}

TEST_CASE("semantic_search: a worked example, ties ranking the larger corpus id first") {
    const xt::xtensor<float, 2> queries = {{1, 0}, {0, 3}};
    const xt::xtensor<float, 2> corpus = {{1, 0}, {0, 1}, {1, 1}, {2, 0}};
    const double r = 1 / std::sqrt(2.0);
    SemanticSearchOptions o;
    CHECK(semantic_search(queries, corpus, o) ==
          std::vector<std::vector<SearchHit>>{{{3, 1.0}, {0, 1.0}, {2, r}, {1, 0.0}},
                                              {{1, 1.0}, {2, r}, {3, 0.0}, {0, 0.0}}});
    o.top_k = 1;
    CHECK(semantic_search(queries, corpus, o) == std::vector<std::vector<SearchHit>>{{{3, 1.0}}, {{1, 1.0}}});
    o.top_k = 3;
    o.score_function = "dot_score";
    CHECK(
        semantic_search(queries, corpus, o) ==
        std::vector<std::vector<SearchHit>>{{{3, 2.0}, {2, 1.0}, {0, 1.0}}, {{2, 3.0}, {1, 3.0}, {3, 0.0}}});
    SUBCASE("an empty corpus gives every query no hits; no queries give no results") {
        const xt::xtensor<float, 2> none = xt::zeros<float>({std::size_t{0}, std::size_t{2}});
        CHECK(semantic_search(queries, none, o) == std::vector<std::vector<SearchHit>>{{}, {}});
        CHECK(semantic_search(none, corpus, o).empty());
    }
}

TEST_CASE("semantic_search: bad arguments and bad corpus files are tandem::Errors saying what is wrong") {
    const auto queries = fixture("queries"), corpus = fixture("corpus");
    testing::TempDir dir("search-bad");
    auto fails = [&](SemanticSearchOptions o) {
        return error_message([&] { semantic_search(queries, corpus, o); });
    };
    SemanticSearchOptions o;
    o.top_k = 0;
    CHECK(fails(o) == "semantic_search: top_k: expected > 0, found 0");
    o = {};
    o.corpus_chunk_size = 0;
    CHECK(fails(o) == "semantic_search: corpus_chunk_size: expected > 0, found 0");
    o = {};
    o.query_chunk_size = 0;
    CHECK(fails(o) == "semantic_search: query_chunk_size: expected > 0, found 0");
    o = {};
    o.score_function = "manhattan";
    CHECK(fails(o) ==
          "semantic_search: score_function: expected cosine or dot (cos_sim, dot_score), found 'manhattan'");
    o.score_function = "cosin";
    check_contains(fails(o), "semantic_search: similarity function: expected one of cosine, dot");

    const xt::xtensor<float, 2> narrow = xt::view(corpus, xt::all(), xt::range(0, 8));
    CHECK(error_message([&] { semantic_search(queries, narrow, {}); }) ==
          "semantic_search: corpus_embeddings: expected 16 columns as the query embeddings, found 8");
    io::save_npy(dir / "narrow.npy", narrow);
    CHECK(error_message([&] { semantic_search(queries, dir / "narrow.npy", {}); }) ==
          "semantic_search: " + (dir / "narrow.npy").string() +
              ": expected 16 columns as the query embeddings, found 8");

    auto with_nan = corpus;
    with_nan(3, 1) = std::numeric_limits<float>::quiet_NaN();
    CHECK(error_message([&] { semantic_search(queries, with_nan, {}); }) ==
          "semantic_search: corpus_embeddings row 3, column 1: expected a finite value, found nan");
    io::save_npy(dir / "with_nan.npy", with_nan);
    SemanticSearchOptions chunked;
    chunked.corpus_chunk_size = 2;
    CHECK(error_message([&] { semantic_search(queries, dir / "with_nan.npy", chunked); }) ==
          "semantic_search: " + (dir / "with_nan.npy").string() +
              " row 3, column 1: expected a finite value, found nan");

    SUBCASE("a corpus file of the wrong dtype, rank or length") {
        const xt::xtensor<std::int64_t, 2> ints = xt::ones<std::int64_t>({4, 16});
        io::save_npy(dir / "ints.npy", ints);
        const xt::xtensor<float, 1> flat = xt::ones<float>({16});
        io::save_npy(dir / "flat.npy", flat);
        const std::string bytes = testing::read_bytes(data_dir / "corpus.npy");
        testing::write_bytes(dir / "short.npy", bytes.substr(0, bytes.size() - 10));
        auto streamed = [&](const std::string& file) {
            return error_message([&] { semantic_search(queries, dir / file, {}); });
        };
        CHECK(streamed("ints.npy") ==
              (dir / "ints.npy").string() +
                  ": expected float embeddings (float16, float32 or float64), found int64");
        CHECK(streamed("flat.npy") ==
              (dir / "flat.npy").string() +
                  ": expected a 2-D array [rows, dim], found shape [16] (1 dimensions)");
        CHECK(streamed("short.npy") ==
              (dir / "short.npy").string() +
                  ": truncated .npy data: shape [40, 16] of float32 needs 2560 bytes "
                  "after the 128-byte header, found 2550");
        CHECK(streamed("missing.npy") == (dir / "missing.npy").string() + ": cannot open the file");
    }
}

TEST_CASE("paraphrase_mining_embeddings returns sentence-transformers' pairs") {
    for (const auto& c : reference().at("paraphrase_mining")) {
        INFO("case ", c.at("name").get<std::string>());
        const auto e = fixture(c.at("embeddings").get<std::string>());
        const auto o = mining_options(c);
        const auto pairs = paraphrase_mining_embeddings(e, o);
        check_pairs(pairs, c.at("results"));
        for (std::size_t chunk : {1, 5, 1000}) {
            auto chunked = o;
            chunked.query_chunk_size = chunk;
            chunked.corpus_chunk_size = chunk;
            CHECK(paraphrase_mining_embeddings(e, chunked) == pairs);
        }
    }
}

TEST_CASE("paraphrase_mining: a worked example, with max_pairs evicting the smallest (score, i, j)") {
    const xt::xtensor<float, 2> e = {{1, 0}, {0, 1}, {1, 1}, {2, 0}};
    const double r = 1 / std::sqrt(2.0);
    CHECK(
        paraphrase_mining_embeddings(e) ==
        std::vector<ParaphrasePair>{{1.0, 0, 3}, {r, 2, 3}, {r, 1, 2}, {r, 0, 2}, {0.0, 1, 3}, {0.0, 0, 1}});
    // Each row proposes its best other row: 0 -> 3, 1 -> 2, 2 -> 3 (the larger id of three ties), 3 -> 0.
    ParaphraseMiningOptions o;
    o.top_k = 1;
    CHECK(paraphrase_mining_embeddings(e, o) ==
          std::vector<ParaphrasePair>{{1.0, 0, 3}, {r, 2, 3}, {r, 1, 2}});
    // (r, 2, 3) pushes out (r, 1, 2).
    o.max_pairs = 2;
    CHECK(paraphrase_mining_embeddings(e, o) == std::vector<ParaphrasePair>{{1.0, 0, 3}, {r, 2, 3}});
    o = {};
    o.score_function = "dot";
    CHECK(paraphrase_mining_embeddings(e, o) ==
          std::vector<ParaphrasePair>{
              {2.0, 2, 3}, {2.0, 0, 3}, {1.0, 1, 2}, {1.0, 0, 2}, {0.0, 1, 3}, {0.0, 0, 1}});
    SUBCASE("fewer than two rows have no pairs") {
        CHECK(paraphrase_mining_embeddings(xt::xtensor<float, 2>{{1, 2}}).empty());
        CHECK(paraphrase_mining_embeddings(xt::xtensor<float, 2>(xt::zeros<float>({0, 2}))).empty());
    }
}

TEST_CASE("paraphrase_mining: bad arguments are tandem::Errors") {
    const auto e = fixture("mining_tied");
    auto fails = [&](ParaphraseMiningOptions o) {
        return error_message([&] { paraphrase_mining_embeddings(e, o); });
    };
    ParaphraseMiningOptions o;
    o.top_k = 0;
    CHECK(fails(o) == "paraphrase_mining: top_k: expected > 0, found 0");
    o = {};
    o.max_pairs = 0;
    CHECK(fails(o) == "paraphrase_mining: max_pairs: expected > 0, found 0");
    o = {};
    o.query_chunk_size = 0;
    CHECK(fails(o) == "paraphrase_mining: query_chunk_size: expected > 0, found 0");
    o = {};
    o.score_function = "euclidean";
    CHECK(
        fails(o) ==
        "paraphrase_mining: score_function: expected cosine or dot (cos_sim, dot_score), found 'euclidean'");
    auto with_inf = e;
    with_inf(2, 0) = std::numeric_limits<float>::infinity();
    CHECK(error_message([&] { paraphrase_mining_embeddings(with_inf); }) ==
          "paraphrase_mining: embeddings row 2, column 0: expected a finite value, found inf");
}

TEST_CASE("paraphrase_mining(model, sentences) encodes with the model's encode, then mines") {
    const std::vector<std::string> texts = {"a cat sat", "a dog sat", "oars and sails",
                                            "seas",      "a cat sat", "sos"};
    const LetterCountModel stub;
    ParaphraseMiningOptions o;
    o.top_k = 2;
    CHECK(paraphrase_mining(stub, texts, o) == paraphrase_mining_embeddings(stub.encode(texts), o));
    CHECK(paraphrase_mining(stub, texts, o, LetterCountOptions{2.0f}) ==
          paraphrase_mining_embeddings(stub.encode(texts, {2.0f}), o));
    // The repeated text pairs with itself first.
    const auto best = paraphrase_mining(stub, texts).front();
    CHECK(best.i == 0);
    CHECK(best.j == 4);
    CHECK(best.score == doctest::Approx(1.0).epsilon(1e-15));

    const auto& model_reference = reference().at("paraphrase_mining_model");
    const auto dir = testing::test_data(model_reference.at("folder").get<std::string>());
    if (!dir) return;
    const auto model = SentenceTransformer<Cpu>::load(*dir);
    std::ifstream manifest(*dir / "manifest.json");
    const auto sentences = json::parse(manifest).at("texts").get<std::vector<std::string>>();
    for (const auto& c : model_reference.at("cases")) {
        INFO("case ", c.at("name").get<std::string>());
        // The model's embeddings match sentence-transformers' to 1e-5, so its scores do to about that.
        check_pairs(paraphrase_mining(model, sentences, mining_options(c)), c.at("results"), 1e-4);
        EncodeOptions small_batches;
        small_batches.batch_size = 2;
        check_pairs(paraphrase_mining(model, sentences, mining_options(c), small_batches), c.at("results"),
                    1e-4);
    }
}

TEST_CASE("quantize_embeddings returns sentence-transformers' arrays") {
    const auto e = fixture("quantize_input");
    const auto calibration = fixture("quantize_calibration");
    const auto ranges = fixture("quantize_ranges");
    for (const auto& c : reference().at("quantize_embeddings")) {
        INFO("case ", c.at("name").get<std::string>());
        QuantizeOptions o;
        if (c.contains("calibration")) o.calibration_embeddings = calibration;
        if (c.contains("calibration_rows"))
            o.calibration_embeddings = xt::xtensor<float, 2>(
                xt::view(calibration, xt::range(0, c.at("calibration_rows").get<std::size_t>()), xt::all()));
        if (c.contains("ranges")) o.ranges = ranges;
        const auto q = quantize_embeddings(e, c.at("precision").get<std::string>(), o);
        const std::string dtype = c.at("dtype");
        CHECK(q.index() == (dtype == "float32" ? 0u : dtype == "int8" ? 1u : 2u));
        std::visit(
            [&](const auto& a) {
                REQUIRE(std::vector<std::size_t>(a.shape().begin(), a.shape().end()) ==
                        c.at("shape").get<std::vector<std::size_t>>());
                for (std::size_t i = 0; i < a.shape()[0]; ++i)
                    for (std::size_t j = 0; j < a.shape()[1]; ++j)
                        CHECK(double(a(i, j)) == c.at("values")[i][j].get<double>());
            },
            q);
    }
}

TEST_CASE("quantize_embeddings: empty input, and bad arguments as tandem::Errors") {
    const auto e = fixture("quantize_input");
    const xt::xtensor<float, 2> none = xt::zeros<float>({std::size_t{0}, std::size_t{13}});
    const auto empty_int8 = std::get<xt::xtensor<std::int8_t, 2>>(quantize_embeddings(none, "int8"));
    CHECK(empty_int8.shape() == std::array<std::size_t, 2>{0, 13});
    const auto empty_ubinary = std::get<xt::xtensor<std::uint8_t, 2>>(quantize_embeddings(none, "ubinary"));
    CHECK(empty_ubinary.shape() == std::array<std::size_t, 2>{0, 2});

    const xt::xtensor<float, 2> one = xt::view(e, xt::range(0, 1), xt::all());
    CHECK(error_message([&] { quantize_embeddings(one, "int8"); }) ==
          "quantize_embeddings: expected at least 2 calibration embeddings to compute int8 ranges from, "
          "found 1");
    CHECK(error_message([&] { quantize_embeddings(e, "int4"); }) ==
          "quantize_embeddings: precision: expected one of float32, int8, uint8, binary, ubinary, found "
          "'int4'");
    QuantizeOptions o;
    o.ranges = xt::xtensor<float, 2>(xt::zeros<float>({2, 12}));
    CHECK(error_message([&] { quantize_embeddings(e, "uint8", o); }) ==
          "quantize_embeddings: ranges: expected shape [2, 13], found [2, 12]");
    o = {};
    o.calibration_embeddings = xt::xtensor<float, 2>(xt::zeros<float>({5, 12}));
    CHECK(error_message([&] { quantize_embeddings(e, "int8", o); }) ==
          "quantize_embeddings: calibration_embeddings: expected 13 columns as the embeddings, found 12");
    o.calibration_embeddings = xt::xtensor<float, 2>(xt::zeros<float>({0, 13}));
    CHECK(error_message([&] { quantize_embeddings(e, "int8", o); }) ==
          "quantize_embeddings: calibration_embeddings: expected at least one row, found none");
}

TEST_CASE("io::npy reads the layouts numpy writes as numpy reads them") {
    const auto h = io::read_npy_header(data_dir / "corpus.npy");
    CHECK(h.descr == "<f4");
    CHECK(h.shape == std::vector<std::size_t>{40, 16});
    CHECK_FALSE(h.fortran_order);
    CHECK(h.data_offset == 128);
    CHECK(h.size() == 640);

    const fs::path npy = data_dir / "npy";
    CHECK(io::load_npy_matrix<double>(npy / "float16.npy") == small);
    CHECK(io::read_npy_header(npy / "big_endian_float64.npy").descr == ">f8");
    CHECK(io::load_npy_matrix<double>(npy / "big_endian_float64.npy") == small);
    CHECK(io::read_npy_header(npy / "version2_float32.npy").data_offset % 64 == 0);
    CHECK(io::load_npy_matrix<double>(npy / "version2_float32.npy") == small);
    CHECK(io::read_npy_header(npy / "fortran_float32.npy").fortran_order);
    CHECK(io::load_npy<double>(npy / "fortran_float32.npy") == xt::xarray<double>(small));
    CHECK(io::load_npy<std::int64_t>(npy / "bool_1d.npy") == xt::xarray<std::int64_t>{1, 0, 1});
    CHECK(io::load_npy<double>(npy / "bool_1d.npy") == xt::xarray<double>{1, 0, 1});
    const auto scalar = io::load_npy<std::int64_t>(npy / "scalar_int64.npy");
    CHECK(scalar.dimension() == 0);
    CHECK(scalar() == -7);
    // numpy's own rows [3, 9) of the corpus.
    const auto corpus = fixture("corpus");
    CHECK(io::load_npy_rows<float>(data_dir / "corpus.npy", 3, 9) ==
          xt::xtensor<float, 2>(xt::view(corpus, xt::range(3, 9), xt::all())));
}

TEST_CASE("io::save_npy writes np.save's bytes, through a temporary file") {
    testing::TempDir dir("npy-save");
    io::save_npy(dir / "corpus.npy", fixture("corpus"));
    CHECK(testing::read_bytes(dir / "corpus.npy") == testing::read_bytes(data_dir / "corpus.npy"));
    io::save_npy(dir / "bool.npy", xt::xarray<bool>{true, false, true});
    CHECK(testing::read_bytes(dir / "bool.npy") == testing::read_bytes(data_dir / "npy/bool_1d.npy"));
    io::save_npy(dir / "scalar.npy", xt::xarray<std::int64_t>(-7));
    CHECK(testing::read_bytes(dir / "scalar.npy") == testing::read_bytes(data_dir / "npy/scalar_int64.npy"));
    // An expression and a column-major array are written in C order.
    io::save_npy(dir / "small.npy", small * 2.0);
    CHECK(io::load_npy_matrix<double>(dir / "small.npy") == xt::xtensor<double, 2>(small * 2.0));
    io::save_npy(dir / "small.npy", xt::xarray<double, xt::layout_type::column_major>(small));
    CHECK(io::load_npy_matrix<double>(dir / "small.npy") == small);
    // Only the file itself is left: the temporary was renamed over it.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) ++files;
    CHECK(files == 4);
    check_contains(error_message([&] { io::save_npy(dir / "no/such/dir/x.npy", small); }),
                   (dir / "no/such/dir/x.npy").string() + ": cannot create temporary file");
}

TEST_CASE("io::NpyMatrixReader reads any range of rows, in any order") {
    const auto corpus = fixture("corpus");
    io::NpyMatrixReader reader(data_dir / "corpus.npy");
    CHECK(reader.rows() == 40);
    CHECK(reader.cols() == 16);
    CHECK(reader.read_rows<float>(30, 40) ==
          xt::xtensor<float, 2>(xt::view(corpus, xt::range(30, 40), xt::all())));
    CHECK(reader.read_rows<float>(0, 2) ==
          xt::xtensor<float, 2>(xt::view(corpus, xt::range(0, 2), xt::all())));
    CHECK(reader.read_rows<double>(5, 5).shape() == std::array<std::size_t, 2>{0, 16});
    CHECK(error_message([&] { reader.read_rows<float>(38, 41); }) ==
          (data_dir / "corpus.npy").string() + ": rows [38, 41): expected 0 <= begin <= end <= 40");
}

TEST_CASE("io::npy: bad files are tandem::Errors naming the file, what was expected and what was found") {
    testing::TempDir dir("npy-bad");
    auto path = [&](const std::string& name) { return (dir / name).string(); };
    const std::string floats(4 * 6, '\0');

    testing::write_bytes(dir / "data.json", "{\"a\": 1}");
    CHECK(error_message([&] { io::load_npy<double>(dir / "data.json"); }) ==
          path("data.json") + ": expected a .npy file (starting with \\x93NUMPY), found other bytes");
    CHECK(error_message([&] { io::read_npy_header(dir.path()); }) ==
          dir.path().string() + ": is a directory, expected a .npy file");
    testing::write_bytes(dir / "version.npy", std::string("\x93NUMPY\x04\x00\x10\x00", 10));
    CHECK(error_message([&] { io::read_npy_header(dir / "version.npy"); }) ==
          path("version.npy") + ": expected .npy format version 1.0, 2.0 or 3.0, found 4.0");
    testing::write_bytes(dir / "short_header.npy", std::string("\x93NUMPY\x01\x00\x76\x00{'descr'", 17));
    CHECK(error_message([&] { io::read_npy_header(dir / "short_header.npy"); }) ==
          path("short_header.npy") + ": truncated .npy header: expected 118 bytes, found 7");

    write_npy(dir / "order.npy", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }", floats);
    check_contains(error_message([&] { io::read_npy_header(dir / "order.npy"); }),
                   path("order.npy") +
                       ": .npy header {'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }: "
                       "expected True or False for 'fortran_order' at character 34, found 'Maybe");
    write_npy(dir / "no_shape.npy", "{'descr': '<f4', 'fortran_order': False}", floats);
    check_contains(error_message([&] { io::read_npy_header(dir / "no_shape.npy"); }),
                   "expected the keys 'descr', 'fortran_order' and 'shape', missing 'shape'");
    write_npy(dir / "shape.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", floats);
    check_contains(error_message([&] { io::read_npy_header(dir / "shape.npy"); }),
                   "expected a non-negative integer in 'shape' at character 54, found 'x), }'");
    write_npy(dir / "structured.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
              floats);
    check_contains(error_message([&] { io::read_npy_header(dir / "structured.npy"); }),
                   "expected a dtype string such as '<f4' (structured dtypes are not supported)");

    // Python 2 wrote long integers with an L; numpy still reads them.
    write_npy(dir / "long.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", floats);
    CHECK(io::load_npy_matrix<float>(dir / "long.npy") == xt::zeros<float>({2, 3}));

    write_npy(dir / "strings.npy", "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }",
              std::string(24, 'a'));
    CHECK(error_message([&] { io::load_npy<double>(dir / "strings.npy"); }) ==
          path("strings.npy") +
              ": expected a numeric numpy dtype (float16/32/64, int8 to int64, uint8 to uint64 or bool), "
              "found '<U3'");
    io::save_npy(dir / "floats.npy", small);
    CHECK(error_message([&] { io::load_npy<std::int64_t>(dir / "floats.npy"); }) ==
          path("floats.npy") + ": expected integer values, found float64");
    const xt::xtensor<float, 3> cube = xt::zeros<float>({2, 2, 2});
    io::save_npy(dir / "cube.npy", cube);
    CHECK(error_message([&] { io::load_npy_matrix<float>(dir / "cube.npy"); }) ==
          path("cube.npy") + ": expected a 2-D array [rows, dim], found shape [2, 2, 2] (3 dimensions)");
    CHECK(error_message([&] { io::load_npy_matrix<float>(data_dir / "npy/fortran_float32.npy"); }) ==
          (data_dir / "npy/fortran_float32.npy").string() +
              ": expected rows stored one after another (C order), found fortran_order True; save "
              "np.ascontiguousarray(embeddings)");
    const std::string bytes = testing::read_bytes(dir / "floats.npy");
    testing::write_bytes(dir / "cut.npy", bytes.substr(0, bytes.size() - 1));
    CHECK(error_message([&] { io::load_npy<double>(dir / "cut.npy"); }) ==
          path("cut.npy") +
              ": truncated .npy data: shape [2, 3] of float64 needs 48 bytes after the 128-byte header, "
              "found 47");
    CHECK(error_message([&] { io::load_npy_rows<double>(dir / "cut.npy", 0, 1); }) ==
          path("cut.npy") +
              ": truncated .npy data: shape [2, 3] of float64 needs 48 bytes after the 128-byte header, "
              "found 47");
}
