// `tandem loss` for MegaBatchMarginLoss, run as the trainer runs it: GradCache over chunks
// of mini_batch_size anchors (or the whole batch without use_mini_batched_version).
#pragma once

#include "loss.hpp"

#include <string>
#include <vector>

namespace tandem::cli::loss_cmd {

const std::vector<std::string> mega_batch_margin_loss_names = {"MegaBatchMarginLoss"};

template <class T>
MegaBatchMarginLoss<Cpu, T> mega_batch_margin_loss(const json& args) {
    const JsonArgs a("MegaBatchMarginLoss", args,
                     {"positive_margin", "negative_margin", "use_mini_batched_version", "mini_batch_size",
                      "show_progress_bar"});
    MegaBatchMarginLossOptions options;
    options.positive_margin = a.get("positive_margin", options.positive_margin);
    options.negative_margin = a.get("negative_margin", options.negative_margin);
    options.use_mini_batched_version = a.get("use_mini_batched_version", options.use_mini_batched_version);
    options.mini_batch_size = a.get<index_t>("mini_batch_size", options.mini_batch_size);
    return MegaBatchMarginLoss<Cpu, T>(options);
}

template <class T>
bool run_mega_batch_margin_losses(const Options& o, const Inputs<T>& in) {
    if (o.loss != "MegaBatchMarginLoss") return false;
    const auto loss = mega_batch_margin_loss<T>(o.args);
    set_params<T>(o, o.loss, nullptr);
    run_cached<T>(o, in, loss);
    return true;
}

}  // namespace tandem::cli::loss_cmd
