// The `tandem` command line: one binary, one subcommand per task. Each command
// lives in tools/commands/<name>.hpp and takes the arguments after its name.
#include <tandem/core/error.hpp>

#include <cstdio>
#include <cstring>
#include <exception>

#include "commands/args.hpp"
#include "commands/demo.hpp"
#include "commands/evaluate.hpp"
#include "commands/forward.hpp"
#include "commands/loss.hpp"
#include "commands/preprocess.hpp"
#include "commands/tokenize.hpp"

namespace {

struct Command {
    const char* name;
    const char* summary;
    int (*run)(tandem::cli::Args&);
};

const Command commands[] = {
    {"demo", "train a small CLIP on Fashion-MNIST and report zero-shot accuracy (tandem demo fashion-mnist)",
     tandem::cli::demo_main},
    {"evaluate", "run an evaluator on .npy embeddings: metrics.json and its CSV, as sentence-transformers",
     tandem::cli::evaluate_main},
    {"forward", "run a Hugging Face CLIP/SigLIP folder on .npy inputs: embeddings, logits, loss, gradients",
     tandem::cli::forward_main},
    {"loss", "run a training loss on .npy embeddings: its value and every gradient", tandem::cli::loss_main},
    {"preprocess", "run a preprocessor_config.json over images, save pixel_values as .npy",
     tandem::cli::preprocess_main},
    {"tokenize", "encode JSON strings from stdin with a Hugging Face tokenizer, one id array per line",
     tandem::cli::tokenize_main},
};

int usage(FILE* out) {
    std::fprintf(out, "usage: tandem <command> [options]\n\ncommands:\n");
    for (const auto& c : commands) {
        if (c.name) std::fprintf(out, "  %-12s %s\n", c.name, c.summary);
    }
    return out == stderr ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage(stderr);
    if (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) return usage(stdout);
    for (const auto& c : commands) {
        if (!c.name || std::strcmp(c.name, argv[1])) continue;
        try {
            tandem::cli::Args args(argc - 2, argv + 2);
            return c.run(args);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "tandem %s: %s\n", c.name, e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "tandem: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
