// `tandem evaluate` end to end on the evaluator fixtures of tests/reference: metrics.json
// against the values sentence-transformers' code computed, the CSV beside it, and the
// errors for bad arguments.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "command.hpp"
#include "temp_dir.hpp"
#include "test_data.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path fixtures = fs::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / "eval";

// Runs `tandem evaluate ARGS`; returns status and output (standard error included).
std::pair<int, std::string> evaluate(const std::string& arguments) {
    return tandem::testing::run_tandem("evaluate", arguments);
}

std::string fixture(const std::string& name) { return (fixtures / name).string(); }

nlohmann::json read_json(const fs::path& path) {
    std::ifstream in(path);
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

void check_metrics(const nlohmann::json& got, const nlohmann::json& expected) {
    CHECK(got.size() == expected.size());
    for (const auto& [key, value] : expected.items()) {
        INFO(key);
        REQUIRE(got.contains(key));
        CHECK(got[key].get<double>() == doctest::Approx(value.get<double>()).epsilon(1e-12));
    }
}

}  // namespace

TEST_CASE("tandem evaluate: InformationRetrievalEvaluator from ids in --data and two embedding files") {
    tandem::testing::TempDir dir("evaluate-ir");
    const auto j = read_json(fixtures / "ir.json");
    nlohmann::json data = {{"query_ids", j["query_ids"]},
                           {"corpus_ids", j["corpus_ids"]},
                           {"relevant_docs", j["relevant_docs"]}};
    std::ofstream(dir / "data.json") << data.dump();
    const auto [status, text] = evaluate(
        "--evaluator InformationRetrievalEvaluator --args '{\"score_functions\": [\"cosine\", \"dot\"], "
        "\"corpus_chunk_size\": 7, \"batch_size\": 16}' --embeddings queries=" +
        fixture("ir_queries.npy") + " corpus=" + fixture("ir_corpus.npy") + " --data " +
        (dir / "data.json").string() + " --out " + (dir / "out").string());
    INFO(text);
    REQUIRE(status == 0);
    check_metrics(read_json(dir / "out" / "metrics.json"), j["expected"]["full"]);
    CHECK(fs::exists(dir / "out" / "Information-Retrieval_evaluation_results.csv"));
}

TEST_CASE("tandem evaluate: similarity with int8 precision, triplets with margins, pairs, zero-shot") {
    tandem::testing::TempDir dir("evaluate-all");
    const auto out = (dir / "out").string();
    {
        const auto j = read_json(fixtures / "similarity.json");
        nlohmann::json data = {{"scores", j["scores"]}};
        std::ofstream(dir / "scores.json") << data.dump();
        const auto [status, text] = evaluate(
            "--evaluator EmbeddingSimilarityEvaluator --args '{\"similarity_fn_names\": [\"cosine\", "
            "\"euclidean\", \"manhattan\", \"dot\"], \"precision\": \"int8\"}' --embeddings embeddings1=" +
            fixture("similarity_embeddings1.npy") +
            " --embeddings embeddings2=" + fixture("similarity_embeddings2.npy") + " --data " +
            (dir / "scores.json").string() + " --out " + out);
        INFO(text);
        REQUIRE(status == 0);
        check_metrics(read_json(dir / "out" / "metrics.json"), j["expected"]["int8"]);
        CHECK(fs::exists(dir / "out" / "similarity_evaluation_int8_results.csv"));
    }
    {
        const auto j = read_json(fixtures / "triplet.json");
        const auto [status, text] = evaluate(
            "--evaluator TripletEvaluator --args '{\"margin\": {\"cosine\": 0.1, \"euclidean\": 0.5}, "
            "\"similarity_fn_names\": [\"cosine\", \"dot\", \"euclidean\", \"manhattan\"]}' --embeddings "
            "anchors=" +
            fixture("triplet_anchors.npy") + " positives=" + fixture("triplet_positives.npy") +
            " negatives=" + fixture("triplet_negatives.npy") + " --out " + out);
        INFO(text);
        REQUIRE(status == 0);
        check_metrics(read_json(dir / "out" / "metrics.json"), j["expected"]["margin"]["metrics"]);
    }
    {
        const auto j = read_json(fixtures / "binary.json");
        std::ofstream(dir / "labels.json") << nlohmann::json({{"labels", j["labels"]}}).dump();
        const auto [status, text] = evaluate(
            "--evaluator BinaryClassificationEvaluator --args '{\"similarity_fn_names\": [\"cosine\", "
            "\"dot\", \"euclidean\", \"manhattan\"]}' --embeddings embeddings1=" +
            fixture("binary_embeddings1.npy") + " embeddings2=" + fixture("binary_embeddings2.npy") +
            " --data " + (dir / "labels.json").string() + " --out " + out);
        INFO(text);
        REQUIRE(status == 0);
        check_metrics(read_json(dir / "out" / "metrics.json"), j["expected"]);
        CHECK(fs::exists(dir / "out" / "binary_classification_evaluation_results.csv"));
    }
    {
        const auto j = read_json(fixtures / "zero_shot.json");
        std::ofstream(dir / "classes.json") << nlohmann::json({{"labels", j["labels"]}}).dump();
        const auto [status, text] = evaluate(
            "--evaluator ZeroShotClassificationEvaluator --args '{\"prompts_per_class\": 3}' "
            "--embeddings images=" +
            fixture("zero_shot_images.npy") + " prompts=" + fixture("zero_shot_prompts.npy") + " --data " +
            (dir / "classes.json").string() + " --out " + out);
        INFO(text);
        REQUIRE(status == 0);
        check_metrics(read_json(dir / "out" / "metrics.json"), j["expected"]);
    }
}

TEST_CASE("tandem evaluate: SequentialEvaluator runs each evaluator on the same inputs and scores them") {
    tandem::testing::TempDir dir("evaluate-sequential");
    const auto triplet = read_json(fixtures / "triplet.json"), binary = read_json(fixtures / "binary.json");
    std::ofstream(dir / "labels.json") << nlohmann::json({{"labels", binary["labels"]}}).dump();
    const std::string fns = "\"similarity_fn_names\": [\"cosine\", \"dot\", \"euclidean\", \"manhattan\"]";
    const auto [status, text] = evaluate(
        "--evaluator SequentialEvaluator --args '{\"main_score_function\": \"mean\", \"evaluators\": ["
        "{\"name\": \"TripletEvaluator\", \"args\": {\"margin\": {\"cosine\": 0.1, \"euclidean\": 0.5}, " +
        fns + "}}, {\"name\": \"BinaryClassificationEvaluator\", \"args\": {" + fns +
        "}}]}' --embeddings anchors=" + fixture("triplet_anchors.npy") +
        " positives=" + fixture("triplet_positives.npy") + " negatives=" + fixture("triplet_negatives.npy") +
        " embeddings1=" + fixture("binary_embeddings1.npy") +
        " embeddings2=" + fixture("binary_embeddings2.npy") + " --data " + (dir / "labels.json").string() +
        " --out " + (dir / "out").string());
    INFO(text);
    REQUIRE(status == 0);
    auto expected = triplet["expected"]["margin"]["metrics"];
    for (const auto& [k, v] : binary["expected"].items()) expected[k] = v;
    // Both define max_accuracy: the later evaluator's wins, as in Python's dict merge.
    expected["max_accuracy"] = binary["expected"]["max_accuracy"];
    // The mean of each one's primary metric: max_accuracy for triplets, max_ap for pairs.
    expected["sequential_score"] = (triplet["expected"]["margin"]["metrics"]["max_accuracy"].get<double>() +
                                    binary["expected"]["max_ap"].get<double>()) /
                                   2;
    check_metrics(read_json(dir / "out" / "metrics.json"), expected);

    const auto bad = evaluate(
        "--evaluator SequentialEvaluator --args '{\"evaluators\": [{\"args\": {}}]}' "
        "--embeddings anchors=" +
        fixture("triplet_anchors.npy") + " --out " + (dir / "out").string());
    CHECK(bad.first == 1);
    CHECK(bad.second.find("--args: key 'evaluators[0].name': required key is missing") != std::string::npos);
}

TEST_CASE("tandem evaluate: bad arguments fail with a message naming the argument") {
    tandem::testing::TempDir dir("evaluate-bad");
    const std::string out = " --out " + (dir / "out").string();
    const std::string triplet = " --embeddings anchors=" + fixture("triplet_anchors.npy") +
                                " positives=" + fixture("triplet_positives.npy") +
                                " negatives=" + fixture("triplet_negatives.npy");
    auto fails_with = [](const std::pair<int, std::string>& result, const std::string& message) {
        INFO(result.second);
        CHECK(result.first == 1);
        CHECK(result.second.find(message) != std::string::npos);
    };
    // What CLI11 refuses before the command runs exits with its own codes, above 1.
    auto refused_with = [](const std::pair<int, std::string>& result, const std::string& message) {
        INFO(result.second);
        CHECK(result.first > 1);
        CHECK(result.second.find(message) != std::string::npos);
    };
    fails_with(evaluate("--evaluator NoSuchEvaluator" + triplet + out),
               "option --evaluator: expected one of InformationRetrievalEvaluator");
    refused_with(evaluate(triplet + out), "--evaluator is required");
    fails_with(
        evaluate("--evaluator TripletEvaluator --args '{\"margins\": 1}'" + triplet + out),
        "--args: TripletEvaluator has no argument 'margins'; it takes batch_size, main_similarity_function, "
        "margin,");
    fails_with(evaluate("--evaluator TripletEvaluator --args '[1]'" + triplet + out),
               "option --args: expected a JSON object, found");
    fails_with(evaluate("--evaluator TripletEvaluator --args '{\"name\": 3}'" + triplet + out),
               "--args: key 'name': expected a string, found number 3");
    fails_with(
        evaluate("--evaluator TripletEvaluator --embeddings anchor=" + fixture("triplet_anchors.npy") + out),
        "option --embeddings: unknown key 'anchor', expected one of anchors, corpus,");
    fails_with(evaluate("--evaluator TripletEvaluator --embeddings anchors" + out),
               "option --embeddings: expected KEY=FILE.npy, found 'anchors'");
    fails_with(
        evaluate("--evaluator TripletEvaluator --embeddings anchors=" + fixture("triplet_anchors.npy") + out),
        "TripletEvaluator: expected embeddings 'negatives', found anchors");
    fails_with(evaluate("--evaluator TripletEvaluator --embeddings anchors=" + fixture("triplet.json") + out),
               "triplet.json: expected a .npy file");
    refused_with(evaluate("--evaluator TripletEvaluator" + triplet), "--out is required");
    fails_with(evaluate("--evaluator BinaryClassificationEvaluator --embeddings embeddings1=" +
                        fixture("binary_embeddings1.npy") +
                        " embeddings2=" + fixture("binary_embeddings2.npy") + out),
               "BinaryClassificationEvaluator: expected 'labels' (--embeddings labels=FILE.npy or a list in "
               "--data), "
               "found neither");
    fails_with(evaluate("--evaluator InformationRetrievalEvaluator --embeddings queries=" +
                        fixture("ir_queries.npy") + " corpus=" + fixture("ir_corpus.npy") + out),
               "--data: key 'relevant_docs': required key is missing");
    fails_with(evaluate("--evaluator TripletEvaluator --texts anchors=a.txt" + out),
               "option --texts needs --model DIR to encode with");
    refused_with(evaluate("--evaluator TripletEvaluator --frobnicate" + triplet + out),
                 "The following argument was not expected: --frobnicate");
}

TEST_CASE("tandem evaluate --model: texts encoded by the model give sentence-transformers' metrics") {
    const auto model = tandem::testing::test_data("models/st-bert-tiny");
    if (!model) return;
    const auto reference =
        read_json(fs::path(TANDEM_SOURCE_ROOT) / "tests/tools/data/evaluate_model_reference.json");
    const auto dir = tandem::testing::scratch("evaluate", "model");
    const auto lines = [&](const char* key) {
        const auto path = dir / (std::string(key) + ".txt");
        std::ofstream file(path);
        for (const auto& t : reference[key]) file << t.get<std::string>() << "\n";
        return path.string();
    };
    std::ofstream(dir / "data.json") << nlohmann::json{{"scores", reference["scores"]}}.dump();
    const auto [status, output] =
        evaluate("--evaluator EmbeddingSimilarityEvaluator --model " + model->string() +
                 " --texts embeddings1=" + lines("sentences1") +
                 " --texts embeddings2=" + lines("sentences2") + " --data " + (dir / "data.json").string() +
                 " --args '{\"write_csv\": false}' --out " + (dir / "s").string());
    INFO(output);
    REQUIRE(status == 0);
    const auto metrics = read_json(dir / "s" / "metrics.json");
    for (const auto& [key, value] : reference["EmbeddingSimilarityEvaluator"].items())
        CHECK(metrics.at(key).get<double>() == doctest::Approx(value.get<double>()).epsilon(1e-6));

    const auto [triplet_status, triplet_output] = evaluate(
        "--evaluator TripletEvaluator --model " + model->string() + " --texts anchors=" + lines("anchors") +
        " --texts positives=" + lines("positives") + " --texts negatives=" + lines("negatives") +
        " --args '{\"write_csv\": false}' --out " + (dir / "t").string());
    INFO(triplet_output);
    REQUIRE(triplet_status == 0);
    CHECK(read_json(dir / "t" / "metrics.json").at("cosine_accuracy") ==
          reference["TripletEvaluator"]["cosine_accuracy"]);
}
