// `tandem loss` refusing bad input to MegaBatchMarginLoss with a message that says what the
// loss needs and what it got. (Its fixtures run with every other family's in test_loss.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "command.hpp"

namespace fs = std::filesystem;
using tandem::testing::run_tandem;
using tandem::testing::scratch;

TEST_CASE("tandem loss refuses bad input to MegaBatchMarginLoss") {
    const std::string o = " --out " + scratch("loss", "errors_mega_batch_margin").string();
    const fs::path dir = fs::path(TANDEM_SOURCE_ROOT) / "tests" / "reference" / "fixtures" /
                         "losses_mega_batch_margin" / "mini_batched";
    const std::string e0 = (dir / "e0.npy").string(), e1 = (dir / "e1.npy").string();
    const auto fails_with = [](const std::string& arguments, const std::string& message) {
        const auto [status, text] = run_tandem("loss", arguments);
        INFO(arguments << "\n" << text);
        CHECK(status == 1);
        CHECK(text.find(message) != std::string::npos);
    };
    fails_with("--loss MegaBatchMarginLoss --embeddings " + e0 + " " + e1 + " " + e0 + o,
               "MegaBatchMarginLoss: needs 2 columns (anchor, positive); got 3 columns and no label column");
    fails_with(
        "--loss MegaBatchMarginLoss --args '{\"mini_batch_size\": 0}' --embeddings " + e0 + " " + e1 + o,
        "MegaBatchMarginLoss: mini_batch_size must be positive, found 0");
    fails_with("--loss MegaBatchMarginLoss --args '{\"margin\": 0.5}' --embeddings " + e0 + " " + e1 + o,
               "margin");
    fails_with("--loss MegaBatchMarginLoss --param scale=" + e0 + " --embeddings " + e0 + " " + e1 + o,
               "MegaBatchMarginLoss has no parameter 'scale' (it has none)");
}
