// `tandem loss` refusing bad input to the Contrastive Tension losses with a message that
// says what the loss needs and what it got. (Their fixtures run with every other family's
// in test_loss.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "command.hpp"

namespace fs = std::filesystem;
using tandem::testing::run_tandem;
using tandem::testing::scratch;

namespace {

const fs::path fixtures =
    fs::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / "losses_contrastive_tension";

void fails_with(const std::string& arguments, const std::string& message) {
    const auto [status, text] = run_tandem("loss", arguments);
    INFO(arguments << "\n" << text);
    CHECK(status == 1);
    CHECK(text.find(message) != std::string::npos);
}

}  // namespace

TEST_CASE("tandem loss refuses bad input to the Contrastive Tension losses") {
    const std::string o = " --out " + scratch("loss", "errors_contrastive_tension").string();
    const fs::path pairs = fixtures / "tension_int_labels";
    const std::string e0 = (pairs / "e0.npy").string(), e1 = (pairs / "e1.npy").string();
    const std::string labels = " --labels " + (pairs / "labels.npy").string();

    fails_with("--loss ContrastiveTensionLoss --embeddings " + e0 + " " + e1 + o,
               "ContrastiveTensionLoss: needs a label column (1 where both columns hold the same input, 0 "
               "otherwise); got 2 columns and no label column");
    fails_with("--loss ContrastiveTensionLoss" + labels + " --embeddings " + e0 + o,
               "ContrastiveTensionLoss: needs 2 columns (sentence_A, sentence_B) and a label column; got 1 "
               "column and a label column");
    fails_with("--loss ContrastiveTensionLossInBatchNegatives --embeddings " + e0 + " " + e1 + " " + e0 + o,
               "ContrastiveTensionLossInBatchNegatives: needs 2 columns");
    fails_with("--loss ContrastiveTensionLossInBatchNegatives --args '{\"temperature\":2}' --embeddings " +
                   e0 + " " + e1 + o,
               "temperature");
    // logit_scale is a scalar; a [6, 8] file is not.
    fails_with("--loss ContrastiveTensionLossInBatchNegatives --param logit_scale=" + e0 + " --embeddings " +
                   e0 + " " + e1 + o,
               "parameter 'logit_scale' has 1 elements, the file holds shape [6, 8]");
    fails_with("--loss ContrastiveTensionLoss --param logit_scale=" + e0 + labels + " --embeddings " + e0 +
                   " " + e1 + o,
               "ContrastiveTensionLoss has no parameter 'logit_scale' (it has none)");
}
