// `tandem loss` refusing bad input to the pair losses with a message that says what the
// loss needs and what it got. (Their fixtures run with every other family's in
// test_loss.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "command.hpp"

namespace fs = std::filesystem;
using tandem::testing::run_tandem;
using tandem::testing::scratch;

namespace {

const fs::path pairs = fs::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / "losses_pairs";

std::string embeddings(const fs::path& dir, int count) {
    std::string s = " --embeddings";
    for (int i = 0; i < count; ++i) s += " " + (dir / ("e" + std::to_string(i) + ".npy")).string();
    return s;
}

void fails_with(const std::string& arguments, const std::string& message) {
    const auto [status, text] = run_tandem("loss", arguments);
    INFO(arguments << "\n" << text);
    CHECK(status == 1);
    CHECK(text.find(message) != std::string::npos);
}

}  // namespace

TEST_CASE("tandem loss refuses bad input to the pair losses") {
    const std::string o = " --out " + scratch("loss", "errors_pairs").string();
    const fs::path cosent = pairs / "cosent_tied_scores", triplets = pairs / "angle_triplets",
                   contrastive = pairs / "contrastive";
    const std::string scores = " --labels " + (cosent / "labels.npy").string(),
                      binary = " --labels " + (contrastive / "labels.npy").string();

    fails_with("--loss CoSENTLoss" + embeddings(cosent, 2) + o,
               "CoSENTLoss: needs 2 columns (sentence1, sentence2) and a label column; got 2 columns and no "
               "label column");
    fails_with(
        "--loss CosineSimilarityLoss" + scores + embeddings(triplets, 3) + o,
        "CosineSimilarityLoss: needs 2 columns (sentence1, sentence2) and a label column; got 3 columns "
        "and a label column");
    fails_with(
        "--loss ContrastiveLoss" + binary + embeddings(contrastive, 1) + o,
        "ContrastiveLoss: needs 2 columns (anchor, other) and a label column; got 1 column and a label "
        "column");
    fails_with(
        "--loss OnlineContrastiveLoss" + embeddings(contrastive, 2) + o,
        "OnlineContrastiveLoss: needs 2 columns (anchor, other) and a label column; got 2 columns and no "
        "label column");
    fails_with("--loss AnglELoss" + embeddings(cosent, 2) + o,
               "AnglELoss: needs a label column for pairs; got none");
    fails_with(
        "--loss CosineSimilarityLoss" + binary + embeddings(contrastive, 2) + o,
        "CosineSimilarityLoss: needs a float label column (one score per pair); got integer class labels");
    fails_with("--loss CoSENTLoss --labels " + (pairs / "angle_odd_width" / "e0.npy").string() +
                   embeddings(cosent, 2) + o,
               "CoSENTLoss: expects 6 labels (one per pair), but got 42 labels with shape [6, 7]");
    fails_with("--loss ContrastiveLoss --args '{\"distance_metric\": \"COSINE\"}'" + binary +
                   embeddings(contrastive, 2) + o,
               "expected one of COSINE_DISTANCE, EUCLIDEAN, MANHATTAN, found 'COSINE'");
    fails_with("--loss CosineSimilarityLoss --args '{\"loss_fct\": \"torch.nn.L1Loss\"}'" + scores +
                   embeddings(cosent, 2) + o,
               "argument 'loss_fct': expected one of MSELoss, found 'torch.nn.L1Loss'");
    fails_with("--loss OnlineContrastiveLoss --args '{\"size_average\": true}'" + binary +
                   embeddings(contrastive, 2) + o,
               "OnlineContrastiveLoss has no argument 'size_average'; it takes distance_metric, margin");
    fails_with("--loss PairLoss" + scores + embeddings(cosent, 2) + o,
               "CosineSimilarityLoss, CoSENTLoss, AnglELoss, ContrastiveLoss, OnlineContrastiveLoss");
}
