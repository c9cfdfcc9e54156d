// `tandem loss` refusing bad input to SoftmaxLoss with a message that says what the loss
// needs and what it got. (Its fixtures run with every other family's in test_loss.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "command.hpp"

namespace fs = std::filesystem;
using tandem::testing::run_tandem;
using tandem::testing::scratch;

namespace {

void fails_with(const std::string& arguments, const std::string& message) {
    const auto [status, text] = run_tandem("loss", arguments);
    INFO(arguments << "\n" << text);
    CHECK(status == 1);
    CHECK(text.find(message) != std::string::npos);
}

}  // namespace

TEST_CASE("tandem loss refuses bad input to SoftmaxLoss") {
    const std::string o = " --out " + scratch("loss", "errors_softmax").string();
    const fs::path dir = fs::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" /
                         "losses_softmax" / "softmax_default";
    const std::string pair = " --embeddings " + (dir / "e0.npy").string() + " " + (dir / "e1.npy").string();
    const std::string labels = " --labels " + (dir / "labels.npy").string();
    const std::string args = " --args '{\"embedding_dimension\": 8, \"num_labels\": 3}'";

    fails_with(
        "--loss SoftmaxLoss" + args + pair + o,
        "SoftmaxLoss: needs 2 columns (input_A, input_B) and a label column; got 2 columns and no label "
        "column");
    // The float scores of another family's fixture are not class labels.
    const fs::path scores =
        fs::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / "losses_pairs" / "cosent_float32";
    fails_with("--loss SoftmaxLoss" + args + pair + " --labels " + (scores / "labels.npy").string() + o,
               "SoftmaxLoss: needs integer class labels in [0, 3); got float scores");
    fails_with(
        "--loss SoftmaxLoss --args '{\"embedding_dimension\": 8, \"num_labels\": 2}'" + pair + labels + o,
        "outside the classes [0, 2)");
    fails_with("--loss SoftmaxLoss" + args + pair + labels +
                   " --param classifier.weight=" + (dir / "param_classifier.bias.npy").string() + o,
               "parameter 'classifier.weight' has 72 elements, the file holds shape [3]");
    fails_with(
        "--loss SoftmaxLoss --args '{\"embedding_dimension\": 8, \"num_labels\": 3, \"temperature\": 1}'" +
            pair + labels + o,
        "temperature");
}
