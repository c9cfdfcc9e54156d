// `tandem loss` on the cross-encoder losses: their names (module-qualified where a
// bi-encoder loss has the same one), and bad input refused with a message naming the loss.
// (Their fixtures, tests/reference/fixtures/losses_cross_encoder, run with every other
// family's in test_loss.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "command.hpp"

namespace fs = std::filesystem;
using tandem::testing::run_tandem;
using tandem::testing::scratch;

namespace {

const fs::path fixtures =
    fs::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" / "losses_cross_encoder";

void fails_with(const std::string& arguments, const std::string& message) {
    const auto [status, text] = run_tandem("loss", arguments);
    INFO(arguments << "\n" << text);
    CHECK(status == 1);
    CHECK(text.find(message) != std::string::npos);
}

std::string files(const std::string& c, bool labels = true) {
    return " --embeddings " + (fixtures / c / "e0.npy").string() +
           (labels ? " --labels " + (fixtures / c / "labels.npy").string() : "");
}

}  // namespace

TEST_CASE("tandem loss takes the cross-encoder losses under their Python import names") {
    const std::string o = " --out " + scratch("loss", "cross_encoder_names").string();
    for (const std::string name : {"LambdaLoss", "cross_encoder.LambdaLoss"}) {
        const auto [status, text] = run_tandem("loss", "--loss " + name + files("lambda_default") + o);
        INFO(name << ": " << text);
        CHECK(status == 0);
    }
    // The bare name is the bi-encoder loss, which reads embeddings.
    fails_with("--loss MarginMSELoss" + files("margin_mse_margins") + o,
               "MarginMSELoss: needs 3 or more columns");
    fails_with("--loss cross_encoder.ListNet" + files("list_net_default") + o,
               "option --loss: unknown loss 'cross_encoder.ListNet'");
}

TEST_CASE("tandem loss refuses bad input to the cross-encoder losses") {
    const std::string o = " --out " + scratch("loss", "errors_cross_encoder").string();
    fails_with("--loss BinaryCrossEntropyLoss" + files("bce_default", false) + o,
               "BinaryCrossEntropyLoss: needs a label column (one label per pair); got no label column");
    fails_with(
        "--loss BinaryCrossEntropyLoss --embeddings " + (fixtures / "bce_default" / "e0.npy").string() +
            " --labels " + (fixtures / "lambda_default" / "labels.npy").string() + o,
        "BinaryCrossEntropyLoss: expects 5 labels (one per pair), but got 30 labels with shape [5, 6]");
    fails_with(
        "--loss LambdaLoss --embeddings " + (fixtures / "lambda_default" / "e0.npy").string() + " --labels " +
            (fixtures / "bce_default" / "labels.npy").string() + o,
        "LambdaLoss: needs labels of the scores' shape [5, 6] (one per document, -inf for padding); got "
        "labels of shape [5]");
    fails_with(
        "--loss ListNetLoss" + files("bce_default") + o,
        "ListNetLoss: needs scores [batch, docs] (one row of documents per query); got scores of shape [5]");
    fails_with("--loss cross_encoder.MultipleNegativesRankingLoss" + files("bce_default", false) + o,
               "MultipleNegativesRankingLoss: needs scores [batch, 1 + negatives]");
    fails_with("--loss cross_encoder.MultipleNegativesRankingLoss --args '{\"num_negatives\": 4}'" +
                   files("ce_mnrl_default", false) + o,
               "argument 'num_negatives' must be null: the scores already hold every query's negatives");
    fails_with("--loss cross_encoder.CachedMultipleNegativesRankingLoss --args '{\"mini_batch_size\": 0}'" +
                   files("ce_mnrl_default", false) + o,
               "CachedMultipleNegativesRankingLoss: mini_batch_size must be positive, found 0");
    fails_with("--loss LambdaLoss --args '{\"weighting_scheme\": \"NDCGLoss3Scheme\"}'" +
                   files("lambda_default") + o,
               "expected one of LambdaRankScheme, NDCGLoss1Scheme, NDCGLoss2PPScheme, NDCGLoss2Scheme, "
               "NoWeightingScheme, found 'NDCGLoss3Scheme'");
    fails_with(
        "--loss LambdaLoss --args '{\"weighting_scheme\": {\"name\": \"LambdaRankScheme\", \"mu\": 2}}'" +
            files("lambda_default") + o,
        "only NDCGLoss2PPScheme takes mu");
    fails_with("--loss ListMLELoss --args '{\"lambda_weight\": null}'" + files("list_mle_default") + o,
               "ListMLELoss has no argument 'lambda_weight'");
    fails_with(
        "--loss ADRMSELoss --args '{\"activation_fn\": \"torch.nn.ReLU\"}'" + files("adr_mse_default") + o,
        "expected one of Identity, Sigmoid, Tanh, found 'torch.nn.ReLU'");
    fails_with("--loss RankNetLoss --embeddings " + (fixtures / "lambda_default" / "e0.npy").string() + " " +
                   (fixtures / "lambda_default" / "e0.npy").string() + o,
               "option --embeddings: RankNetLoss needs one file, the scores of the pairs; got 2 files");
}
