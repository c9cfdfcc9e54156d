// The `tandem` command line: one binary, one subcommand per task, parsed with CLI11. Each
// command lives in tools/commands/<name>.hpp and registers its options with
// add_<name>(app, status); its callback runs the command and sets the exit status.
#include <tandem/core/error.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "commands/convert.hpp"
#include "commands/demo.hpp"
#include "commands/encode.hpp"
#include "commands/evaluate.hpp"
#include "commands/forward.hpp"
#include "commands/loss.hpp"
#include "commands/mine.hpp"
#include "commands/preprocess.hpp"
#include "commands/search.hpp"
#include "commands/tokenize.hpp"
#include "commands/train.hpp"

namespace {

// OpenMP threads wait for work by spinning first (libgomp's default while OMP_WAIT_POLICY is
// unset), which on a machine shared with other programs takes cores from them and from
// tandem's own working threads (benchmarks/README.md, "OpenMP's wait policy"). The runtime
// reads the policy when it loads, before main, so the program sets PASSIVE and starts
// itself again; a policy the user chose (OMP_WAIT_POLICY, or libgomp's GOMP_SPINCOUNT) is
// kept. Should exec fail, it runs on as it is.
void wait_passively(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);
}

}  // namespace

int main(int argc, char** argv) {
    wait_passively(argv);
    CLI::App app("tandem: train, evaluate and run multimodal embedding models", "tandem");
    app.require_subcommand(1);
    int status = 0;
    tandem::cli::add_convert(app, status);
    tandem::cli::add_demo(app, status);
    tandem::cli::add_encode(app, status);
    tandem::cli::add_evaluate(app, status);
    tandem::cli::add_forward(app, status);
    tandem::cli::add_loss(app, status);
    tandem::cli::add_mine(app, status);
    tandem::cli::add_preprocess(app, status);
    tandem::cli::add_search(app, status);
    tandem::cli::add_tokenize(app, status);
    tandem::cli::add_train(app, status);
    if (argc < 2) {
        std::fputs(app.help().c_str(), stderr);
        return 2;
    }
    if (argv[1][0] != '-') {
        try {
            app.get_subcommand(argv[1]);
        } catch (const CLI::OptionNotFound&) {
            std::fprintf(stderr, "tandem: unknown command '%s'\n\n%s", argv[1], app.help().c_str());
            return 2;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        const auto parsed = app.get_subcommands();
        std::fprintf(stderr, "tandem %s: %s\n", parsed.empty() ? "" : parsed.front()->get_name().c_str(),
                     e.what());
        return 1;
    }
    return status;
}
