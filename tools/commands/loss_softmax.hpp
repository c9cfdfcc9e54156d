// `tandem loss` for SoftmaxLoss: the pair's class labels with --labels (int64), the
// classifier with --param classifier.weight=W.npy --param classifier.bias=b.npy (else
// nn.Linear's initialisation from seed 0).
#pragma once

#include "loss.hpp"

#include <string>
#include <vector>

namespace tandem::cli::loss_cmd {

const std::vector<std::string> softmax_loss_names = {"SoftmaxLoss"};

inline SoftmaxLossOptions softmax_loss_options(const json& args) {
    const JsonArgs a("SoftmaxLoss", args,
                     {"embedding_dimension", "num_labels", "concatenation_sent_rep",
                      "concatenation_sent_difference", "concatenation_sent_multiplication", "loss_fct"});
    // Only the default: nn.CrossEntropyLoss().
    a.choice("loss_fct", 0, {{"CrossEntropyLoss", 0}});
    SoftmaxLossOptions o;
    o.embedding_dimension = a.get<index_t>("embedding_dimension", 0);
    o.num_labels = a.get<index_t>("num_labels", 0);
    o.concatenation_sent_rep = a.get("concatenation_sent_rep", o.concatenation_sent_rep);
    o.concatenation_sent_difference = a.get("concatenation_sent_difference", o.concatenation_sent_difference);
    o.concatenation_sent_multiplication =
        a.get("concatenation_sent_multiplication", o.concatenation_sent_multiplication);
    return o;
}

template <class T>
bool run_softmax_losses(const Options& o, const Inputs<T>& in) {
    if (o.loss != "SoftmaxLoss") return false;
    const SoftmaxLoss<Cpu, T> loss(softmax_loss_options(o.args));
    set_params<T>(o, o.loss, &loss.parameters());
    run_plain(o, in, loss, &loss.parameters());
    return true;
}

}  // namespace tandem::cli::loss_cmd
