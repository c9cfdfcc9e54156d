// `tandem loss` refusing bad input to the triplet losses with a message that says what
// the loss needs and what it got. (Their fixtures run with every other family's in
// test_loss.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "command.hpp"

namespace fs = std::filesystem;
using tandem::testing::run_tandem;
using tandem::testing::scratch;

namespace {

const fs::path fixtures =
    fs::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / "losses_triplet";

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

TEST_CASE("tandem loss refuses bad input to the triplet losses") {
    const fs::path out = scratch("loss", "errors_triplet");
    const fs::path triplet = fixtures / "triplet_euclidean", batch = fixtures / "batch_hard";
    const std::string o = " --out " + out.string(), labels = " --labels " + (batch / "labels.npy").string();

    fails_with(
        "--loss TripletLoss" + embeddings(triplet, 2) + o,
        "TripletLoss: needs 3 columns (anchor, positive, negative); got 2 columns and no label column");
    fails_with(
        "--loss BatchHardTripletLoss" + embeddings(batch, 1) + o,
        "BatchHardTripletLoss: needs 1 column (the embeddings to mine triplets from) and a label column; "
        "got 1 column and no label column");
    fails_with(
        "--loss BatchAllTripletLoss" + labels + embeddings(triplet, 2) + o,
        "BatchAllTripletLoss: needs 1 column (the embeddings to mine triplets from) and a label column; "
        "got 2 columns and a label column");
    fails_with(
        "--loss BatchSemiHardTripletLoss" + labels + embeddings(triplet, 1) + o,
        "BatchSemiHardTripletLoss: expects 5 labels (one per example), but got 7 labels with shape [7]");
    fails_with("--loss TripletLoss --args '{\"distance_metric\": \"cosine\"}'" + embeddings(triplet, 3) + o,
               "expected one of COSINE, EUCLIDEAN, MANHATTAN, found 'cosine'");
    fails_with("--loss BatchHardTripletLoss --args '{\"distance_metric\": \"manhattan_distance\"}'" + labels +
                   embeddings(batch, 1) + o,
               "expected one of cosine_distance, eucledian_distance, euclidean_distance, found "
               "'manhattan_distance'");
    fails_with(
        "--loss BatchHardSoftMarginTripletLoss --args '{\"margin\": 1}'" + labels + embeddings(batch, 1) + o,
        "BatchHardSoftMarginTripletLoss has no argument 'margin'; it takes distance_metric");
}
