// `tandem loss` for the Contrastive Tension losses: ContrastiveTensionLoss (the 0/1 label
// of each pair with --labels) and ContrastiveTensionLossInBatchNegatives (its logit_scale
// with --param logit_scale=FILE.npy, else log(scale)).
#pragma once

#include "loss.hpp"

#include <string>
#include <vector>

namespace tandem::cli::loss_cmd {

const std::vector<std::string> contrastive_tension_loss_names = {"ContrastiveTensionLoss",
                                                                 "ContrastiveTensionLossInBatchNegatives"};

template <class T>
bool run_contrastive_tension_losses(const Options& o, const Inputs<T>& in) {
    if (o.loss == "ContrastiveTensionLoss") {
        const JsonArgs a(o.loss, o.args, {});
        set_params<T>(o, o.loss, nullptr);
        run_plain<T>(o, in, ContrastiveTensionLoss<Cpu, T>(), nullptr);
    } else if (o.loss == "ContrastiveTensionLossInBatchNegatives") {
        const JsonArgs a(o.loss, o.args, {"scale", "similarity_fct"});
        ContrastiveTensionLossInBatchNegativesOptions options;
        options.scale = a.get("scale", options.scale);
        options.similarity_fct = a.choice("similarity_fct", options.similarity_fct, similarity_names);
        const ContrastiveTensionLossInBatchNegatives<Cpu, T> loss(options);
        set_params<T>(o, o.loss, &loss.parameters());
        run_plain(o, in, loss, &loss.parameters());
    } else {
        return false;
    }
    return true;
}

}  // namespace tandem::cli::loss_cmd
