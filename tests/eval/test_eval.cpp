// The evaluators against hand-worked cases and against the fixtures of
// tests/reference/make_eval_fixtures.py (sentence-transformers' own metric code, SciPy
// and scikit-learn on random embeddings), their CSV files and their errors.
#include <tandem/eval.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "error_message.hpp"
#include "temp_dir.hpp"

using namespace tandem;
using namespace tandem::eval;
namespace fs = std::filesystem;

namespace {

const fs::path fixtures = fs::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / "eval";

nlohmann::json load_json(const std::string& name) {
    std::ifstream in(fixtures / name);
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

Matrix npy(const std::string& name) {
    return xt::xtensor<double, 2>(xt::load_npy<double>((fixtures / name).string()));
}

void check_metrics(const Metrics& got, const nlohmann::json& expected, double tolerance = 1e-12) {
    CHECK(got.size() == expected.size());
    for (const auto& [key, value] : expected.items()) {
        INFO(key);
        auto it = got.find(key);
        REQUIRE(it != got.end());
        CHECK(it->second == doctest::Approx(value.get<double>()).epsilon(tolerance));
    }
}

// The CSV's header line exactly, and its one row number by number.
void check_csv(const fs::path& ours, const fs::path& theirs) {
    std::ifstream a(ours), b(theirs);
    REQUIRE(a);
    std::string header_a, header_b, row_a, row_b;
    std::getline(a, header_a);
    std::getline(b, header_b);
    CHECK(header_a == header_b);
    std::getline(a, row_a);
    std::getline(b, row_b);
    std::stringstream sa(row_a), sb(row_b);
    std::string x, y;
    while (std::getline(sb, y, ',')) {
        REQUIRE(std::getline(sa, x, ','));
        CHECK(std::stod(x) == doctest::Approx(std::stod(y)).epsilon(1e-12));
    }
    CHECK(!std::getline(sa, x, ','));
}

}  // namespace

TEST_CASE("python_float writes doubles as Python's str()") {
    CHECK(python_float(1.0) == "1.0");
    CHECK(python_float(0.1 + 0.2) == "0.30000000000000004");
    CHECK(python_float(1e-5) == "1e-05");
    CHECK(python_float(0.0001) == "0.0001");
    CHECK(python_float(1.5e-7) == "1.5e-07");
    CHECK(python_float(123456.789) == "123456.789");
    CHECK(python_float(1e16) == "1e+16");
    CHECK(python_float(1e15) == "1000000000000000.0");
    CHECK(python_float(-2.5) == "-2.5");
    CHECK(python_float(0.0) == "0.0");
    CHECK(python_float(std::nan("")) == "nan");
    CHECK(python_float(0.9599999785423279) == "0.9599999785423279");
}

TEST_CASE("InformationRetrievalEvaluator by hand: ranks, ties by corpus id, every metric") {
    // One query [1, 0]; documents by cosine: a 1.0, b 0.8 (tied with c, which sorts after), c 0.8, d 0.
    Matrix queries = {{1, 0}};
    Matrix corpus = {{0, 1}, {0.8, 0.6}, {1, 0}, {0.8, 0.6}};
    InformationRetrievalEvaluator ir({"q"}, {"d", "c", "a", "b"}, {{"q", {"b", "d"}}},
                                     {.mrr_at_k = {3},
                                      .ndcg_at_k = {3},
                                      .accuracy_at_k = {1, 2},
                                      .precision_recall_at_k = {2},
                                      .map_at_k = {4}});
    const auto m = ir.evaluate(queries, corpus);
    // Ranking a, b, c, d: relevant at ranks 2 and 4.
    CHECK(m.at("cosine_accuracy@1") == 0.0);
    CHECK(m.at("cosine_accuracy@2") == 1.0);
    CHECK(m.at("cosine_precision@2") == 0.5);
    CHECK(m.at("cosine_recall@2") == 0.5);
    CHECK(m.at("cosine_mrr@3") == 0.5);
    CHECK(m.at("cosine_ndcg@3") == doctest::Approx((1 / std::log2(3.0)) / (1 + 1 / std::log2(3.0))));
    CHECK(m.at("cosine_map@4") == doctest::Approx((1 / 2.0 + 2 / 4.0) / 2));
    CHECK(ir.primary_metric() == "cosine_ndcg@3");
    CHECK(ir(EmbeddingSet{{"queries", queries}, {"corpus", corpus}}) == m);
}

TEST_CASE(
    "InformationRetrievalEvaluator matches sentence-transformers on the random fixture, in any chunking") {
    const auto j = load_json("ir.json");
    std::map<std::string, std::set<std::string>> relevant;
    for (const auto& [q, docs] : j["relevant_docs"].items()) relevant[q] = docs.get<std::set<std::string>>();
    const auto query_ids = j["query_ids"].get<std::vector<std::string>>();
    const auto corpus_ids = j["corpus_ids"].get<std::vector<std::string>>();
    const Matrix queries = npy("ir_queries.npy"), corpus = npy("ir_corpus.npy");
    for (std::size_t chunk : {std::size_t{7}, std::size_t{1}, std::size_t{50000}}) {
        InformationRetrievalEvaluator ir(query_ids, corpus_ids, relevant,
                                         {.corpus_chunk_size = chunk, .score_functions = {"dot", "cosine"}});
        check_metrics(ir.evaluate(queries, corpus), j["expected"]["full"]);
        CHECK(ir.primary_metric() == j["primary_metric"].get<std::string>());
    }
    InformationRetrievalEvaluator truncated(query_ids, corpus_ids, relevant,
                                            {.truncate_dim = 5, .score_functions = {"cosine", "dot"}});
    check_metrics(truncated.evaluate(queries, corpus), j["expected"]["truncated"]);
    // Float embeddings go through the same path.
    const xt::xtensor<float, 2> qf = xt::cast<float>(queries), cf = xt::cast<float>(corpus);
    CHECK(truncated.evaluate(qf, cf).at("cosine_ndcg@10") ==
          doctest::Approx(j["expected"]["truncated"]["cosine_ndcg@10"].get<double>()).epsilon(1e-5));

    testing::TempDir dir("ir");
    InformationRetrievalEvaluator ir(query_ids, corpus_ids, relevant, {.score_functions = {"cosine", "dot"}});
    ir.evaluate(queries, corpus, {.output_path = dir.path()});
    check_csv(dir / ir.csv_file(), fixtures / "ir_results.csv");
    CHECK(ir.csv_file() == "Information-Retrieval_evaluation_results.csv");
    // A second evaluation appends a row under the same header.
    ir.evaluate(queries, corpus, {.output_path = dir.path(), .epoch = 1, .steps = 20});
    const auto text = testing::read_bytes(dir / ir.csv_file());
    CHECK(std::count(text.begin(), text.end(), '\n') == 3);
    CHECK(text.find("\n1,20,") != std::string::npos);
}

TEST_CASE("InformationRetrievalEvaluator: a name prefixes metrics and the CSV file") {
    Matrix q = {{1, 0}}, c = {{1, 0}, {0, 1}};
    InformationRetrievalEvaluator ir({"q"}, {"x", "y"}, {{"q", {"x"}}}, {.name = "dev"});
    const auto m = ir.evaluate(q, c);
    CHECK(m.at("dev_cosine_ndcg@10") == 1.0);
    CHECK(ir.primary_metric() == "dev_cosine_ndcg@10");
    CHECK(ir.csv_file() == "Information-Retrieval_evaluation_dev_results.csv");
}

TEST_CASE("InformationRetrievalEvaluator: bad input names what is wrong") {
    using IR = InformationRetrievalEvaluator;
    CHECK(
        testing::error_message([] { IR({"q"}, {"x"}, {}); }) ==
        "InformationRetrievalEvaluator: relevant_docs: expected at least one query with a relevant document, "
        "found none among 1 queries");
    CHECK(testing::error_message([] {
              IR({"q"}, {"x", "x"}, {{"q", {"x"}}});
          }) == "InformationRetrievalEvaluator: corpus_ids: expected unique ids, found duplicates");
    CHECK(testing::error_message([] {
              IR({"q"}, {"x"}, {{"q", {"x"}}}, {.score_functions = {"euclidean"}});
          }) == "InformationRetrievalEvaluator: score_functions: expected cosine or dot, found 'euclidean'");
    CHECK(testing::error_message([] {
              IR({"q"}, {"x"}, {{"q", {"x"}}}, {.score_functions = {"cosin"}});
          }) ==
          "InformationRetrievalEvaluator: similarity function: expected one of cosine, dot, euclidean, "
          "manhattan "
          "(or cos_sim, dot_score), found 'cosin'");
    IR ir({"q"}, {"x", "y"}, {{"q", {"x"}}}, {.truncate_dim = 3});
    Matrix q = {{1, 0}}, c = {{1, 0}, {0, 1}}, c3 = {{1, 0}};
    CHECK(testing::error_message([&] { ir.evaluate(q, c); }) ==
          "InformationRetrievalEvaluator: truncate_dim: expected 1 to 2, found 3");
    IR plain({"q"}, {"x", "y"}, {{"q", {"x"}}});
    CHECK(testing::error_message([&] { plain.evaluate(q, c3); }) ==
          "InformationRetrievalEvaluator: corpus (one row per corpus id): expected 2 rows, found 1");
    CHECK(testing::error_message([&] {
              ir(EmbeddingSet{{"queries", q}});
          }) == "InformationRetrievalEvaluator: expected embeddings 'corpus', found queries");
}

TEST_CASE("EmbeddingSimilarityEvaluator by hand: Spearman with tied ranks, Pearson, metric names") {
    // Cosine similarities 1, 0, -1 and 0 against gold 3, 2, 1, 2.
    Matrix a = {{1, 0}, {1, 0}, {1, 0}, {0, 1}};
    Matrix b = {{2, 0}, {0, 1}, {-1, 0}, {1, 0}};
    EmbeddingSimilarityEvaluator e({3, 2, 1, 2});
    const auto m = e.evaluate(a, b);
    CHECK(m.at("pearson_cosine") == doctest::Approx(1.0));
    CHECK(m.at("spearman_cosine") == doctest::Approx(1.0));
    CHECK(m.size() == 2);
    CHECK(e.primary_metric() == "spearman_cosine");
    CHECK(average_ranks({3, 1, 3, 2}) == std::vector<double>{3.5, 1, 3.5, 2});
}

TEST_CASE("EmbeddingSimilarityEvaluator matches SciPy at every precision, and writes its CSV") {
    const auto j = load_json("similarity.json");
    const auto scores = j["scores"].get<std::vector<double>>();
    const Matrix e1 = npy("similarity_embeddings1.npy"), e2 = npy("similarity_embeddings2.npy");
    const std::vector<std::string> fns = {"cosine", "euclidean", "manhattan", "dot"};
    for (const auto& [precision, expected] : j["expected"].items()) {
        INFO(precision);
        EmbeddingSimilarityEvaluator::Options options{.similarity_fn_names = fns};
        if (precision != "none") options.precision = precision;
        EmbeddingSimilarityEvaluator e(scores, options);
        // Cosines of 0/1 bit vectors tie often, and rounding in the order of a sum breaks
        // mathematically equal ones apart differently here and in NumPy (and in torch):
        // Spearman's ranks of the binary precisions agree only to the tie-breaking.
        const bool bits = precision == "binary" || precision == "ubinary";
        check_metrics(e.evaluate(e1, e2), expected, bits ? 1e-2 : 1e-12);
        CHECK(e.primary_metric() == "spearman_max");
    }
    testing::TempDir dir("similarity");
    EmbeddingSimilarityEvaluator e(scores, {.similarity_fn_names = fns});
    e.evaluate(e1, e2, {.output_path = dir.path()});
    CHECK(e.csv_file() == "similarity_evaluation_results.csv");
    check_csv(dir / e.csv_file(), fixtures / "similarity_results.csv");
    // csv.writer ends rows with \r\n.
    CHECK(testing::read_bytes(dir / e.csv_file()).find("spearman\r\n-1,-1,") != std::string::npos);
    EmbeddingSimilarityEvaluator named(scores,
                                       {.main_similarity = "cosine", .name = "sts", .precision = "int8"});
    const auto m = named.evaluate(e1, e2);
    CHECK(m.count("sts_spearman_cosine") == 1);
    CHECK(named.primary_metric() == "sts_spearman_cosine");
    CHECK(named.csv_file() == "similarity_evaluation_sts_int8_results.csv");
}

TEST_CASE("EmbeddingSimilarityEvaluator: bad input names what is wrong") {
    using E = EmbeddingSimilarityEvaluator;
    CHECK(testing::error_message([] { E({1}); }) ==
          "EmbeddingSimilarityEvaluator: scores: expected at least 2 pairs, found 1");
    CHECK(testing::error_message([] {
              E({1, 2}, {.precision = "int4"});
          }) ==
          "EmbeddingSimilarityEvaluator: precision: expected one of float32, int8, uint8, binary, ubinary, "
          "found 'int4'");
    E e({1, 2, 3});
    Matrix a = {{1, 0}, {0, 1}, {1, 1}}, b = {{1, 0}, {0, 1}};
    CHECK(
        testing::error_message([&] { e.evaluate(a, b); }) ==
        "EmbeddingSimilarityEvaluator: embeddings2: expected the shape of embeddings1 [3, 2], found [2, 2]");
}

TEST_CASE("quantize_embeddings: int8 buckets, packed sign bits, as sentence-transformers") {
    Matrix e = {{-1.0, 0.0, 0.5, 1.0, -0.2, 0.3, 0.1, -0.1, 0.9},
                {1.0, 0.5, -0.5, -1.0, 0.2, -0.3, -0.1, 0.1, 0.0}};
    const auto ranges = quantization_ranges(e);
    CHECK(ranges(0, 0) == -1.0);
    CHECK(ranges(1, 0) == 1.0);
    const auto u = quantize_uint8(e, ranges);
    CHECK(int(u(0, 0)) == 0);
    // 2 / (2 / 255) is 254.99998 in float32, as in NumPy: the maximum lands in bucket 254.
    CHECK(int(u(1, 0)) == 254);
    // floor((0 - (-1)) / (2 / 255)) = floor(127.5) = 127 for the first column's middle value.
    const Matrix mid = {{0.0, 0, 0, 0, 0, 0, 0, 0, 0}};
    CHECK(int(quantize_uint8(mid, ranges)(0, 0)) == 127);
    CHECK(int(quantize_int8(e, ranges)(0, 0)) == -128);
    // Signs 0 0 1 1 0 1 1 0 | 1 -> 0b00110110 = 54, 0b10000000 = 128.
    const auto ub = quantize_ubinary(e);
    REQUIRE(ub.shape()[1] == 2);
    CHECK(int(ub(0, 0)) == 54);
    CHECK(int(ub(0, 1)) == 128);
    CHECK(int(quantize_binary(e)(0, 0)) == 54 - 128);
    CHECK(testing::error_message([&] { quantization_ranges(mid); }) ==
          "quantize_embeddings: expected at least 2 calibration embeddings to compute int8 ranges from, "
          "found 1");
}

TEST_CASE("TripletEvaluator by hand and against the fixture, margins included") {
    Matrix a = {{1, 0}, {1, 0}, {1, 0}}, p = {{1, 0.1}, {0, 1}, {1, 1}}, n = {{0, 1}, {1, 0}, {1, 0.9}};
    TripletEvaluator t;
    const auto m = t.evaluate(a, p, n);
    // Only the first triplet is right; torch's float32 mean: 1/3 as float32.
    CHECK(m.at("cosine_accuracy") == double(1.0f / 3.0f));
    CHECK(t.primary_metric() == "cosine_accuracy");

    const auto j = load_json("triplet.json");
    const Matrix anchors = npy("triplet_anchors.npy"), positives = npy("triplet_positives.npy"),
                 negatives = npy("triplet_negatives.npy");
    for (const auto& [label, c] : j["expected"].items()) {
        INFO(label);
        TripletEvaluator e({.margin = c["margin"].get<std::map<std::string, double>>(),
                            .similarity_fn_names = {"cosine", "dot", "euclidean", "manhattan"}});
        check_metrics(
            e(EmbeddingSet{{"anchors", anchors}, {"positives", positives}, {"negatives", negatives}}),
            c["metrics"]);
        CHECK(e.primary_metric() == "max_accuracy");
    }
    testing::TempDir dir("triplet");
    TripletEvaluator e({.name = "val", .similarity_fn_names = {"cosine", "dot"}});
    e.evaluate(anchors, positives, negatives, {.output_path = dir.path(), .epoch = 2, .steps = 7});
    CHECK(testing::read_bytes(dir / "triplet_evaluation_val_results.csv") ==
          "epoch,steps,accuracy_cosine,accuracy_dot\r\n2,7,0.9200000166893005,0.9599999785423279\r\n");
    CHECK(testing::error_message([] {
              TripletEvaluator({.margin = {{"cosin", 0.1}}});
          }).rfind("TripletEvaluator: margin: similarity function: expected one of", 0) == 0);
    Matrix n2 = {{0, 1}};
    CHECK(testing::error_message([&] { t.evaluate(a, p, n2); }) ==
          "TripletEvaluator: negatives: expected the shape of anchors [3, 2], found [1, 2]");
}

TEST_CASE("BinaryClassificationEvaluator by hand and against sentence-transformers and scikit-learn") {
    // Cosine scores 0.9 (1), 0.8 (0), 0.7 (1), 0.1 (0): best accuracy 0.75 at a threshold of 0.75 or 0.85.
    const std::vector<double> scores = {0.9, 0.8, 0.7, 0.1};
    const std::vector<int> labels = {1, 0, 1, 0};
    const auto [acc, threshold] =
        BinaryClassificationEvaluator::find_best_acc_and_threshold(scores, labels, true);
    CHECK(acc == 0.75);
    CHECK(threshold == doctest::Approx(0.85));
    const auto f1 = BinaryClassificationEvaluator::find_best_f1_and_threshold(scores, labels, true);
    CHECK(f1[0] == doctest::Approx(0.8));  // precision 2/3, recall 1 at threshold 0.4
    CHECK(f1[3] == doctest::Approx(0.4));
    // AP: precision 1 at recall 0.5, 2/3 at recall 1.
    CHECK(average_precision(labels, scores) == doctest::Approx(0.5 + 0.5 * 2 / 3.0));
    CHECK(matthews_corrcoef({1, 0, 1, 0}, {1, 1, 1, 0}) == doctest::Approx(1 / std::sqrt(3.0)));

    const auto j = load_json("binary.json");
    BinaryClassificationEvaluator e(j["labels"].get<std::vector<int>>(),
                                    {.similarity_fn_names = {"cosine", "dot", "euclidean", "manhattan"}});
    check_metrics(e.evaluate(npy("binary_embeddings1.npy"), npy("binary_embeddings2.npy")), j["expected"]);
    CHECK(e.primary_metric() == "max_ap");
    testing::TempDir dir("binary");
    BinaryClassificationEvaluator one(j["labels"].get<std::vector<int>>());
    one.evaluate(npy("binary_embeddings1.npy"), npy("binary_embeddings2.npy"), {.output_path = dir.path()});
    const auto text = testing::read_bytes(dir / "binary_classification_evaluation_results.csv");
    CHECK(text.rfind("epoch,steps,cosine_accuracy,cosine_accuracy_threshold,cosine_f1,cosine_precision,"
                     "cosine_recall,cosine_f1_threshold,cosine_ap,cosine_mcc\r\n-1,-1," +
                         python_float(j["expected"]["cosine_accuracy"].get<double>()) + ",",
                     0) == 0);
    CHECK(one.primary_metric() == "cosine_ap");
    CHECK(testing::error_message([] {
              BinaryClassificationEvaluator({0, 2});
          }) == "BinaryClassificationEvaluator: labels[1]: expected 0 or 1, found 2");
}

TEST_CASE("ZeroShotClassificationEvaluator: one prompt per class by hand, an ensemble against NumPy") {
    Matrix images = {{1, 0}, {0, 1}, {1, 1}, {-1, 0.1}};
    Matrix prompts = {{1, 0}, {0, 1}, {-1, 0}};
    ZeroShotClassificationEvaluator z({0, 1, 2, 2}, {.top_k = {1, 2}});
    const auto m = z.evaluate(images, prompts);
    // Image 2 is equally close to classes 0 and 1 and farthest from its class 2; image 3 is right.
    CHECK(m.at("top1_accuracy") == 0.75);
    CHECK(m.at("top2_accuracy") == 0.75);
    CHECK(z.primary_metric() == "top1_accuracy");

    const auto j = load_json("zero_shot.json");
    ZeroShotClassificationEvaluator e(j["labels"].get<std::vector<std::int64_t>>(), {.prompts_per_class = 3});
    check_metrics(
        e(EmbeddingSet{{"images", npy("zero_shot_images.npy")}, {"prompts", npy("zero_shot_prompts.npy")}}),
        j["expected"]);
    CHECK(testing::error_message([&] { e.evaluate(npy("zero_shot_images.npy"), prompts); }) ==
          "ZeroShotClassificationEvaluator: prompts: expected 8 columns as the images, found 2");
    ZeroShotClassificationEvaluator wrong({0, 5});
    Matrix two = {{1, 0}, {0, 1}};
    CHECK(testing::error_message([&] { wrong.evaluate(two, two); }) ==
          "ZeroShotClassificationEvaluator: labels[1]: expected a class in [0, 2), found 5");
}

TEST_CASE("SequentialEvaluator: merged metrics and sequential_score from the last primary metric") {
    static_assert(Evaluator<InformationRetrievalEvaluator> && Evaluator<TripletEvaluator> &&
                  Evaluator<ZeroShotClassificationEvaluator>);
    Matrix q = {{1, 0}}, c = {{1, 0}, {0, 1}};
    Matrix a = {{1, 0}}, p = {{1, 0.1}}, n = {{0, 1}};
    SequentialEvaluator seq(InformationRetrievalEvaluator({"q"}, {"x", "y"}, {{"q", {"y"}}}),
                            TripletEvaluator());
    const EmbeddingSet set = {
        {"queries", q}, {"corpus", c}, {"anchors", a}, {"positives", p}, {"negatives", n}};
    const auto m = seq(set);
    CHECK(m.at("cosine_accuracy") == 1.0);
    CHECK(m.at("cosine_mrr@10") == 0.5);
    CHECK(m.at("sequential_score") == 1.0);
    CHECK(seq.primary_metric() == "sequential_score");
    SequentialEvaluator mean(
        std::tuple(InformationRetrievalEvaluator({"q"}, {"x", "y"}, {{"q", {"y"}}}), TripletEvaluator()),
        [](const std::vector<double>& s) { return (s[0] + s[1]) / 2; });
    CHECK(mean(set).at("sequential_score") == doctest::Approx((1 / std::log2(3.0) + 1) / 2));
}
