// tandem demo fashion-mnist, shortened: it learns, and writes the files the README promises.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <vector>

#include "command.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace tandem::testing;

const fs::path dataset = "/usr/share/datasets/fashion-mnist";

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

}  // namespace

TEST_CASE(
    "tandem demo fashion-mnist: 60 steps lift zero-shot accuracy far above chance; every file is written") {
    if (!fs::exists(dataset)) {
        MESSAGE("SKIPPED: this test needs Debian's dataset-fashion-mnist in " << dataset.string());
        return;
    }
    const auto out = scratch("demo", "short");
    const auto [status, output] = run_tandem(
        "demo fashion-mnist", "--out " + out.string() + " --steps 60 --train-size 2000 --batch-size 64");
    INFO(output);
    REQUIRE(status == 0);

    REQUIRE(fs::exists(out / "metrics.json"));
    const auto metrics = nlohmann::json::parse(read_bytes(out / "metrics.json"));
    for (const auto* key :
         {"zero_shot_accuracy", "i2t_recall@1", "t2i_recall@1", "t2i_recall@5", "t2i_recall@10",
          "train_seconds", "steps", "step_ms_median", "images_per_second", "threads", "seed"})
        CHECK_MESSAGE(metrics.contains(key), key);
    CHECK(metrics.at("steps") == 60);
    CHECK(metrics.at("seed") == 42);
    // Ten classes: chance is 0.1. After 60 steps at batch 64 the model reaches about 0.55.
    CHECK(metrics.at("zero_shot_accuracy").get<double>() > 0.4);
    CHECK(metrics.at("t2i_recall@1").get<double>() <= metrics.at("t2i_recall@5").get<double>());
    CHECK(metrics.at("t2i_recall@5").get<double>() <= metrics.at("t2i_recall@10").get<double>());

    // The per-step loss is noisy (captions repeat within a batch): compare the mean of the first five steps
    // with the mean of the last ten.
    std::ifstream log(out / "training" / "training_log.jsonl");
    REQUIRE(log);
    std::vector<double> losses;
    for (std::string line; std::getline(log, line);)
        if (const auto entry = nlohmann::json::parse(line); entry.contains("loss"))
            losses.push_back(entry.at("loss").get<double>());
    REQUIRE(losses.size() == 60);
    const auto mean = [](auto first, auto last) {
        return std::accumulate(first, last, 0.0) / (last - first);
    };
    CHECK(mean(losses.end() - 10, losses.end()) < 0.8 * mean(losses.begin(), losses.begin() + 5));

    for (const auto* file :
         {"config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json"})
        CHECK_MESSAGE(fs::exists(out / "model" / file), file);
    REQUIRE(fs::exists(out / "report.html"));
    const auto report = read_bytes(out / "report.html");
    CHECK(count(report, "<svg") >= 3);
    CHECK(count(report, "data:image/png;base64,") >= 10);
}

TEST_CASE("tandem demo fashion-mnist: bad arguments name the option or file") {
    const auto out = scratch("demo", "bad").string();
    const std::pair<std::string, std::string> cases[] = {
        {"--out " + out + " --steps 0", "option --steps: expected an integer of at least 1, found '0'"},
        {"--out " + out + " --data /nonexistent", "/nonexistent/train-images-idx3-ubyte[.gz]: not found"},
        {"--out " + out + " --bogus 1", "unknown option --bogus"},
        {"", "option --out is required"},
    };
    for (const auto& [arguments, expected] : cases) {
        const auto [status, output] = run_tandem("demo fashion-mnist", arguments);
        INFO(arguments);
        CHECK(status != 0);
        CHECK_MESSAGE(output.find(expected) != std::string::npos, output);
    }
}
