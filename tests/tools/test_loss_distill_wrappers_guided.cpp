// `tandem loss` refusing bad input to the distillation, wrapper and guided losses with a
// message that says what the loss needs and what it got. (Their fixtures run with every
// other family's in test_loss.cpp.)
#include <doctest/doctest.h>
#include <xtensor/xnpy.hpp>

#include <filesystem>
#include <string>

#include "command.hpp"

namespace fs = std::filesystem;
using tandem::testing::run_tandem;
using tandem::testing::scratch;

namespace {

const fs::path fixtures = fs::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures";

std::string files(const std::string& flag, const fs::path& dir, const std::string& prefix, int count) {
    std::string s = " " + flag;
    for (int i = 0; i < count; ++i) s += " " + (dir / (prefix + std::to_string(i) + ".npy")).string();
    return s;
}

void fails_with(const std::string& arguments, const std::string& message) {
    const auto [status, text] = run_tandem("loss", arguments);
    INFO(arguments << "\n" << text);
    CHECK(status == 1);
    CHECK(text.find(message) != std::string::npos);
}

}  // namespace

TEST_CASE("tandem loss refuses bad input to the distillation, wrapper and guided losses") {
    const fs::path out = scratch("loss", "errors_b");
    const fs::path kl = fixtures / "losses_distill" / "distill_kl",
                   mse = fixtures / "losses_distill" / "mse_one_column";
    const fs::path gist = fixtures / "losses_guided" / "gist_triplets_margin";
    const std::string o = " --out " + out.string();
    const std::string three = files("--embeddings", kl, "e", 3) + o;

    fails_with("--loss MSELoss" + files("--embeddings", mse, "e", 1) + o,
               "MSELoss: needs 1 or more columns (input_1, ...) and a label column; got 1 column and no "
               "label column");
    fails_with(
        "--loss MarginMSELoss --labels " + (kl / "labels.npy").string() + files("--embeddings", kl, "e", 2) +
            o,
        "MarginMSELoss: needs 3 or more columns (query, positive, negative_1, ..., negative_n) and a label "
        "column; got 2 columns and a label column");
    fails_with(
        "--loss DistillKLDivLoss --labels " + (mse / "labels.npy").string() + three,
        "DistillKLDivLoss: needs teacher scores of shape [5, 2] for 2 candidate columns; got labels of shape "
        "[5, 8]");
    fails_with(
        "--loss MSELoss --args '{\"projection_dim\": 4}' --labels " + (mse / "labels.npy").string() + three,
        "argument 'projection_dim' is not supported");
    fails_with("--loss EmbedDistillLoss --args '{\"distance_metric\": \"manhattan\"}'" + three,
               "expected one of cosine, l2, mse, found 'manhattan'");
    fails_with("--loss MarginMSELoss --args '{\"similarity_fct\": \"cos_sim\"}'" + three,
               "expected one of pairwise_cos_sim, pairwise_dot_score, found 'cos_sim'");

    fails_with(
        "--loss MatryoshkaLoss --args '{\"loss\": {\"name\": \"MultipleNegativesRankingLoss\"}, "
        "\"matryoshka_dims\": [16, 4]}'" +
            three,
        "MatryoshkaLoss: dimension 16 in matryoshka_dims cannot be greater than the embedding dimension 8 "
        "(embeddings [5, 8])");
    fails_with("--loss MatryoshkaLoss --args '{\"matryoshka_dims\": [4]}'" + three,
               "MatryoshkaLoss needs the argument 'loss'");
    fails_with(
        "--loss MatryoshkaLoss --args '{\"loss\": {\"name\": \"TripletLos\"}, \"matryoshka_dims\": [4]}'" +
            three,
        "MatryoshkaLoss cannot wrap 'TripletLos'; the inner loss must be a loss over embeddings: "
        "MultipleNegativesRankingLoss");
    fails_with("--loss MatryoshkaLoss --args '{\"loss\": \"SoftmaxLoss\", \"matryoshka_dims\": [4]}'" + three,
               "MatryoshkaLoss cannot wrap SoftmaxLoss: its classifier is sized for the full embedding");
    fails_with(
        "--loss AdaptiveLayerLoss --args '{\"loss\": \"ContrastiveTensionLoss\", \"num_layers\": 2}'" + three,
        "AdaptiveLayerLoss cannot wrap ContrastiveTensionLoss: it encodes one column with a second model "
        "copy");
    fails_with(
        "--loss MatryoshkaLoss --args '{\"loss\": {\"name\": \"MultipleNegativesRankingLoss\", \"args\": "
        "{\"scael\": 2}}, \"matryoshka_dims\": [4]}'" +
            three,
        "MultipleNegativesRankingLoss has no argument 'scael'");
    fails_with(
        "--loss MatryoshkaLoss --args '{\"loss\": {\"nmae\": \"MSELoss\"}, \"matryoshka_dims\": [4]}'" +
            three,
        "argument 'loss' must be {\"name\": LOSS, \"args\": {...}}");
    fails_with(
        "--loss AdaptiveLayerLoss --args '{\"loss\": \"MultipleNegativesRankingLoss\", \"num_layers\": 2}'" +
            three,
        "AdaptiveLayerLoss: needs --embeddings for each of the num_layers = 2 hidden states, the same number "
        "of columns each (layer-major); got 3 files");
    fails_with(
        "--loss Matryoshka2dLoss --args '{\"loss\": \"MultipleNegativesRankingLoss\", \"matryoshka_dims\": "
        "[4]}'" +
            three,
        "Matryoshka2dLoss needs 'num_layers'");
    fails_with(
        "--loss GlobalOrthogonalRegularizationLoss --args '{\"mean_weight\": null, \"second_moment_weight\": "
        "0}'" +
            three,
        "at least one of mean_weight or second_moment_weight must be non-zero");

    fails_with(
        "--loss GISTEmbedLoss" + files("--embeddings", gist, "e", 3) + files("--guide", gist, "g", 2) + o,
        "GISTEmbedLoss: needs the guide's embeddings of each of the 3 columns; got 2 guide columns");
    fails_with(
        "--loss GISTEmbedLoss" + files("--embeddings", gist, "e", 1) + o,
        "GISTEmbedLoss: needs 2 to 3 columns (anchor, positive) or (anchor, positive, negative); got 1 "
        "column");
    fails_with("--loss GISTEmbedLoss --args '{\"margin_strategy\": \"percent\"}'" + three,
               "expected one of absolute, relative, found 'percent'");
    fails_with("--loss CachedGISTEmbedLoss --args '{\"mini_batch_num_tokens\": 512}'" + three,
               "'mini_batch_num_tokens' is not supported");
    fails_with("--loss GISTEmbedLoss --args '{\"gather_across_devices\": true}'" + three,
               "'gather_across_devices' must be false (one process)");
}

TEST_CASE("MatryoshkaLoss wraps MegaBatchMarginLoss as the whole batch at once") {
    // At the full width with weight 1 the wrapper only re-normalises, which cosine
    // similarity ignores: the value is sentence-transformers' for the unwrapped loss.
    const fs::path out = scratch("loss", "matryoshka_mega_batch");
    const fs::path case_dir = fixtures / "losses_mega_batch_margin" / "whole_batch";
    const auto [status, text] =
        run_tandem("loss",
                   "--loss MatryoshkaLoss --args '{\"loss\": {\"name\": \"MegaBatchMarginLoss\", \"args\": "
                   "{\"use_mini_batched_version\": false}}, \"matryoshka_dims\": [8]}'" +
                       files("--embeddings", case_dir, "e", 2) + " --out " + out.string());
    INFO(text);
    REQUIRE(status == 0);
    const double got = xt::load_npy<double>((out / "loss.npy").string())();
    const double want = xt::load_npy<double>((case_dir / "loss.npy").string())();
    CHECK(got == doctest::Approx(want).epsilon(1e-12));
}
