// What the command-line tests share: running the tandem program and comparing arrays.
#pragma once

#include <doctest/doctest.h>
#include <xtensor/xarray.hpp>

#include <sys/wait.h>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

namespace tandem::testing {

// Runs a shell command; returns its exit status and standard output.
inline std::pair<int, std::string> run(const std::string& command) {
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe);
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    const int status = pclose(pipe);
    return {WEXITSTATUS(status), out};
}

// Runs `tandem SUBCOMMAND ARGUMENTS` with standard error folded into the output.
inline std::pair<int, std::string> run_tandem(const std::string& subcommand, const std::string& arguments) {
    return run(std::string(TANDEM_CLI) + " " + subcommand + " " + arguments + " 2>&1");
}

// ||a - b|| / ||b||.
inline double relative_difference(const xt::xarray<double>& a, const xt::xarray<double>& b) {
    REQUIRE(a.size() == b.size());
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff += (a.data()[i] - b.data()[i]) * (a.data()[i] - b.data()[i]);
        norm += b.data()[i] * b.data()[i];
    }
    return std::sqrt(diff / norm);
}

// A fresh, empty folder tandem_<prefix>_<name> under the system temp dir.
inline std::filesystem::path scratch(const std::string& prefix, const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("tandem_" + prefix + "_" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

}  // namespace tandem::testing
