// `tandem loss` against the PyTorch fixtures of tests/reference/make_loss_fixtures.py
// (sentence-transformers v6 and open_clip): value and every gradient to 1e-10 relative
// in float64 and 1e-5 in float32; and the errors of bad arguments.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "command.hpp"

namespace fs = std::filesystem;
using tandem::testing::run_tandem;
using tandem::testing::scratch;

namespace {

const fs::path fixtures = fs::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / "losses";

// ||a - b|| / ||b||, with the arrays read in double whatever their stored type.
double relative_error(const fs::path& got, const fs::path& expected, bool got_float32) {
    const xt::xarray<double> a = got_float32 ? xt::xarray<double>(xt::load_npy<float>(got.string()))
                                             : xt::load_npy<double>(got.string());
    const xt::xarray<double> b = xt::load_npy<double>(expected.string());
    REQUIRE(a.shape() == b.shape());
    return tandem::testing::relative_difference(a, b);
}

std::string embeddings(const fs::path& dir, int columns) {
    std::string s = " --embeddings";
    for (int i = 0; i < columns; ++i) s += " " + (dir / ("e" + std::to_string(i) + ".npy")).string();
    return s;
}

}  // namespace

// Every fixture family: tests/reference/fixtures/losses*/cases.json. A case may add a
// label column (labels.npy: int64 classes or float scores) and guide embeddings (g<i>.npy).
TEST_CASE("tandem loss matches sentence-transformers and open_clip on every fixture, value and gradients") {
    int cases = 0;
    for (const auto& family : fs::directory_iterator(fixtures.parent_path())) {
        if (family.path().filename().string().rfind("losses", 0) != 0) continue;
        std::ifstream in(family.path() / "cases.json");
        REQUIRE(in);
        const auto manifest = nlohmann::json::parse(in);
        for (const auto& c : manifest["cases"]) {
            const std::string name = c["case"];
            const bool float32 = c["dtype"] == "float32";
            const double tolerance = float32 ? 1e-5 : 1e-10;
            const fs::path dir = family.path() / name, out = scratch("loss", name);
            std::string command = "--loss " + c["loss"].get<std::string>() + " --args '" + c["args"].dump() +
                                  "'" + embeddings(dir, c["columns"]) + " --out " + out.string();
            if (c.value("labels", false)) command += " --labels " + (dir / "labels.npy").string();
            if (const int guides = c.value("guides", 0); guides > 0) {
                command += " --guide";
                for (int i = 0; i < guides; ++i)
                    command += " " + (dir / ("g" + std::to_string(i) + ".npy")).string();
            }
            for (const auto& p : c["params"])
                command += " --param " + p.get<std::string>() + "=" +
                           (dir / ("param_" + p.get<std::string>() + ".npy")).string();
            const auto [status, text] = run_tandem("loss", command);
            INFO(name << ": " << text);
            REQUIRE(status == 0);
            std::vector<std::string> outputs = {"loss"};
            for (int i = 0; i < c["columns"].get<int>(); ++i) outputs.push_back("grad_" + std::to_string(i));
            for (const auto& p : c["params"]) outputs.push_back("grad_" + p.get<std::string>());
            for (const auto& file : outputs) {
                const double error = relative_error(out / (file + ".npy"), dir / (file + ".npy"), float32);
                INFO(name << " " << file << ": relative error " << error);
                CHECK(error < tolerance);
            }
            ++cases;
        }
    }
    CHECK(cases >= 16);
}

TEST_CASE("tandem loss refuses bad arguments with a message naming them") {
    const fs::path dir = fixtures / "mnrl_pairs", out = scratch("loss", "errors");
    const std::string pairs = embeddings(dir, 2) + " --out " + out.string();
    auto fails_with = [](const std::string& arguments, const std::string& message) {
        const auto [status, text] = run_tandem("loss", arguments);
        INFO(arguments << "\n" << text);
        CHECK(status == 1);
        CHECK(text.find(message) != std::string::npos);
    };
    fails_with("--loss TripletLos" + pairs, "option --loss: unknown loss 'TripletLos'");
    fails_with(
        "--loss MultipleNegativesRankingLoss --args '{\"scael\": 20}'" + pairs,
        "MultipleNegativesRankingLoss has no argument 'scael'; it takes directions, gather_across_devices");
    fails_with("--loss MultipleNegativesRankingLoss --args '{\"scale\": \"big\"}'" + pairs,
               "argument 'scale' has the wrong type");
    fails_with("--loss MultipleNegativesRankingLoss --args '{\"similarity_fct\": \"manhattan\"}'" + pairs,
               "expected one of cos_sim, dot_score, found 'manhattan'");
    fails_with("--loss MultipleNegativesRankingLoss --args '{\"directions\": [\"doc_to_query\"]}'" + pairs,
               "'query_to_doc' direction is required");
    fails_with("--loss MultipleNegativesRankingLoss --args '{scale}'" + pairs,
               "option --args: not valid JSON");
    fails_with("--loss MultipleNegativesRankingLoss" + embeddings(dir, 1) + " --out " + out.string(),
               "needs 2 or more columns (anchor, positive, negative_1, ..., negative_n); got 1 column");
    fails_with(
        "--loss SigLIPLoss" + embeddings(fixtures / "mnrl_two_negatives", 4) + " --out " + out.string(),
        "SigLIPLoss: needs 2 columns (text, image); got 4 columns");
    fails_with("--loss CLIPLoss --param logit_bias=" + (dir / "e0.npy").string() + pairs,
               "CLIPLoss has no parameter 'logit_bias'; it has logit_scale");
    fails_with("--loss CLIPLoss --param logit_scale=" + (dir / "e0.npy").string() + pairs,
               "parameter 'logit_scale' has 1 elements, the file holds shape [6, 8]");
    fails_with("--loss CLIPLoss --param logit_scale" + pairs, "expected NAME=FILE.npy");
    {
        // Refused by CLI11 before the command runs, with its own exit code.
        const auto [status, text] = run_tandem("loss", "--loss CLIPLoss --out " + out.string());
        INFO(text);
        CHECK(status > 1);
        CHECK(text.find("--embeddings is required") != std::string::npos);
    }
    fails_with("--loss CLIPLoss --embeddings " + (out / "missing.npy").string() + " --out " + out.string(),
               "missing.npy: cannot open the file");
    fails_with("--loss CachedMultipleNegativesRankingLoss --args '{\"mini_batch_size\": 0}'" + pairs,
               "mini_batch_size must be positive");
}
