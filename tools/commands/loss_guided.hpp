// `tandem loss` for the guided losses: GISTEmbedLoss and CachedGISTEmbedLoss; the guide
// model's embeddings of each column come with --guide G0.npy G1.npy ... (no gradient).
#pragma once

#include "loss.hpp"

#include <string>
#include <vector>

namespace tandem::cli::loss_cmd {

const std::vector<std::string> guided_loss_names = {"GISTEmbedLoss", "CachedGISTEmbedLoss"};

inline GISTEmbedLossOptions gist_options(const JsonArgs& a) {
    GISTEmbedLossOptions o;
    a.single_process("gather_across_devices");
    o.temperature = a.get("temperature", o.temperature);
    o.margin_strategy =
        a.choice("margin_strategy", o.margin_strategy,
                 {{"absolute", MarginStrategy::absolute}, {"relative", MarginStrategy::relative}});
    o.margin = a.get("margin", o.margin);
    o.contrast_anchors = a.get("contrast_anchors", o.contrast_anchors);
    o.contrast_positives = a.get("contrast_positives", o.contrast_positives);
    return o;
}

inline const std::set<std::string> gist_args = {
    "temperature",      "margin_strategy",    "margin",
    "contrast_anchors", "contrast_positives", "gather_across_devices"};

template <class T>
CachedGISTEmbedLoss<Cpu, T> cached_gist_loss(const json& args) {
    auto known = gist_args;
    known.insert({"mini_batch_size", "mini_batch_num_tokens", "show_progress_bar"});
    const JsonArgs a("CachedGISTEmbedLoss", args, known);
    if (a.get<index_t>("mini_batch_num_tokens", 0) != 0)
        detail::throw_error(args_option(),
                            ": CachedGISTEmbedLoss argument 'mini_batch_num_tokens' is not "
                            "supported (mini-batches are counted in rows: mini_batch_size)");
    return CachedGISTEmbedLoss<Cpu, T>(gist_options(a), a.get<index_t>("mini_batch_size", 32));
}

template <class T>
bool run_guided_losses(const Options& o, const Inputs<T>& in) {
    if (o.loss == "GISTEmbedLoss") {
        const GISTEmbedLoss<Cpu, T> loss(gist_options(JsonArgs(o.loss, o.args, gist_args)));
        set_params<T>(o, o.loss, nullptr);
        Graph<Cpu, T> g;
        std::vector<Var<Cpu, T>> vars;
        for (const auto& e : in.embeddings) vars.push_back(g.input(e, true));
        auto value = loss(g, vars, in.guides, in.labels);
        g.backward(value);
        save_npy(o.out / "loss.npy", value.value());
        std::vector<Tensor<Cpu, T>> grads;
        for (const auto& v : vars) grads.push_back(g.grad(v));
        write_embedding_grads(o, grads);
    } else if (o.loss == "CachedGISTEmbedLoss") {
        const auto loss = cached_gist_loss<T>(o.args);
        set_params<T>(o, o.loss, nullptr);
        run_cached<T>(o, in, loss);
    } else {
        return false;
    }
    return true;
}

}  // namespace tandem::cli::loss_cmd
