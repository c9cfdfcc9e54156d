// `tandem loss --loss NAME ...`: one training loss on embeddings read from .npy files,
// writing its value and its gradient with respect to every input, so that each loss can
// be checked number for number against sentence-transformers and open_clip. NAME and the
// --args keys are the Python class and constructor-argument names; float64 inputs run in
// double.
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/backend/xtensor.hpp>
#include <tandem/io/npy.hpp>
#include <tandem/losses.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace tandem::cli {

namespace loss_cmd {

namespace fs = std::filesystem;
using nlohmann::json;

struct Options {
    std::string loss;
    json args = json::object();
    std::vector<fs::path> embeddings;
    // The embeddings of a guide (or teacher) model, column for column.
    std::vector<fs::path> guides;
    std::optional<fs::path> labels;
    std::vector<std::pair<std::string, fs::path>> params;
    fs::path out;
};

// A float array in T, from a float32 or float64 file.
template <class T>
Tensor<Cpu, T> load_floats(const fs::path& path) {
    const std::string descr = io::read_npy_header(path).descr;
    if (descr != "<f8" && descr != "<f4")
        detail::throw_error(path.string(), ": expected float32 or float64 values, found dtype '", descr, "'");
    return from_xtensor<Cpu, T>(io::load_npy<T>(path));
}

template <class T>
void save_npy(const fs::path& path, const Tensor<Cpu, T>& t) {
    io::save_npy(path, to_xarray(t));
}

// Where a loss's arguments come from, for its messages: `tandem loss --args` or a key of
// a training config (ArgsSource).
inline std::string& args_option() {
    static std::string where = "option --args";
    return where;
}

// Names the source of the loss arguments read while it lives.
class ArgsSource {
public:
    explicit ArgsSource(std::string where) : saved_(std::exchange(args_option(), std::move(where))) {}
    ~ArgsSource() { args_option() = std::move(saved_); }
    ArgsSource(const ArgsSource&) = delete;
    ArgsSource& operator=(const ArgsSource&) = delete;

private:
    std::string saved_;
};

// Reads the arguments of one loss: every key must be one it knows.
class JsonArgs {
public:
    JsonArgs(std::string loss, const json& args, std::set<std::string> known)
        : loss_(std::move(loss)), args_(args) {
        if (!args_.is_object())
            detail::throw_error(args_option(), ": expected a JSON object, found ", args_.dump());
        for (const auto& [key, value] : args_.items()) {
            if (known.count(key)) continue;
            std::string names;
            for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
            detail::throw_error(args_option(), ": ", loss_, " has no argument '", key, "'; it takes ", names);
        }
    }

    template <class V>
    V get(const std::string& key, V fallback) const {
        if (!args_.contains(key) || args_[key].is_null()) return fallback;
        try {
            return args_[key].get<V>();
        } catch (const json::exception&) {
            detail::throw_error(args_option(), ": ", loss_, " argument '", key,
                                "' has the wrong type: ", args_[key].dump());
        }
    }

    // A Python enum or function given by its last name component.
    template <class E>
    E choice(const std::string& key, E fallback, const std::map<std::string, E>& names) const {
        if (!args_.contains(key) || args_[key].is_null()) return fallback;
        const std::string name = get<std::string>(key, "");
        const auto it = names.find(name.substr(name.rfind('.') + 1));
        if (it != names.end()) return it->second;
        std::string valid;
        for (const auto& [n, e] : names) valid += (valid.empty() ? "" : ", ") + n;
        detail::throw_error(args_option(), ": ", loss_, " argument '", key, "': expected one of ", valid,
                            ", found '", name, "'");
    }

    // Distributed gathering has no meaning in one process; refused rather than ignored.
    void single_process(const std::string& key) const {
        if (get<bool>(key, false))
            detail::throw_error(args_option(), ": ", loss_, " argument '", key,
                                "' must be false (one process)");
    }

private:
    std::string loss_;
    json args_;
};

inline const std::map<std::string, SimilarityFunction> similarity_names = {
    {"cos_sim", SimilarityFunction::cos_sim}, {"dot_score", SimilarityFunction::dot_score}};

inline MultipleNegativesRankingLossOptions mnrl_options(const JsonArgs& a) {
    MultipleNegativesRankingLossOptions o;
    a.single_process("gather_across_devices");
    o.scale = a.get("scale", o.scale);
    o.similarity_fct = a.choice("similarity_fct", o.similarity_fct, similarity_names);
    if (const auto names = a.get<std::vector<std::string>>("directions", {}); !names.empty()) {
        const std::map<std::string, Direction> directions = {{"query_to_doc", Direction::query_to_doc},
                                                             {"query_to_query", Direction::query_to_query},
                                                             {"doc_to_query", Direction::doc_to_query},
                                                             {"doc_to_doc", Direction::doc_to_doc}};
        o.directions.clear();
        for (const auto& n : names) {
            if (!directions.count(n))
                detail::throw_error(args_option(), ": unknown direction '", n,
                                    "'; expected query_to_doc, query_to_query, doc_to_query or doc_to_doc");
            o.directions.push_back(directions.at(n));
        }
    }
    o.partition_mode =
        a.choice("partition_mode", o.partition_mode,
                 {{"joint", PartitionMode::joint}, {"per_direction", PartitionMode::per_direction}});
    o.hardness_mode = a.choice("hardness_mode", o.hardness_mode,
                               {{"in_batch_negatives", HardnessMode::in_batch_negatives},
                                {"hard_negatives", HardnessMode::hard_negatives},
                                {"all_negatives", HardnessMode::all_negatives}});
    o.hardness_strength = a.get("hardness_strength", o.hardness_strength);
    return o;
}

const std::set<std::string> mnrl_args = {
    "scale",          "similarity_fct", "gather_across_devices", "directions",
    "partition_mode", "hardness_mode",  "hardness_strength"};

template <class T>
CachedMultipleNegativesRankingLoss<Cpu, T> cached_mnrl_loss(const json& args) {
    auto known = mnrl_args;
    known.insert({"mini_batch_size", "show_progress_bar"});
    const JsonArgs a("CachedMultipleNegativesRankingLoss", args, known);
    return CachedMultipleNegativesRankingLoss<Cpu, T>(mnrl_options(a), a.get<index_t>("mini_batch_size", 32));
}

inline CLIPLossOptions clip_loss_options(const json& args) {
    const JsonArgs a("CLIPLoss", args, {"init_logit_scale", "max_logit_scale"});
    CLIPLossOptions o;
    o.init_logit_scale = a.get("init_logit_scale", o.init_logit_scale);
    o.max_logit_scale = a.get("max_logit_scale", o.max_logit_scale);
    return o;
}

inline SigLIPLossOptions siglip_loss_options(const json& args) {
    const JsonArgs a("SigLIPLoss", args, {"init_logit_scale", "init_logit_bias", "max_logit_scale"});
    SigLIPLossOptions o;
    o.init_logit_scale = a.get("init_logit_scale", o.init_logit_scale);
    o.init_logit_bias = a.get("init_logit_bias", o.init_logit_bias);
    o.max_logit_scale = a.get("max_logit_scale", o.max_logit_scale);
    return o;
}

template <class T>
struct Inputs {
    std::vector<Tensor<Cpu, T>> embeddings;
    std::vector<Tensor<Cpu, T>> guides;
    LossLabels<Cpu, T> labels;
};

template <class T>
void write_embedding_grads(const Options& o, const std::vector<Tensor<Cpu, T>>& grads) {
    for (std::size_t i = 0; i < grads.size(); ++i)
        save_npy(o.out / ("grad_" + std::to_string(i) + ".npy"), grads[i]);
}

// A loss over embeddings: backward from its value, gradients of the inputs (and of the
// loss's own parameters, for those given with --param).
template <class T, class L>
void run_plain(const Options& o, const Inputs<T>& in, const L& loss, ParameterStore<Cpu, T>* store) {
    if (store) store->zero_grad();
    Graph<Cpu, T> g;
    std::vector<Var<Cpu, T>> vars;
    for (const auto& e : in.embeddings) vars.push_back(g.input(e, true));
    auto value = loss(g, vars, in.labels);
    g.backward(value);
    save_npy(o.out / "loss.npy", value.value());
    std::vector<Tensor<Cpu, T>> grads;
    for (const auto& v : vars) grads.push_back(g.grad(v));
    write_embedding_grads(o, grads);
    for (const auto& [name, file] : o.params)
        save_npy(o.out / ("grad_" + name + ".npy"), store->grad(store->find(name)));
}

// The learned scalars given with --param replace the loss's initial values.
template <class T>
void set_params(const Options& o, const std::string& loss, ParameterStore<Cpu, T>* store) {
    for (const auto& [name, file] : o.params) {
        if (!store || !store->contains(name)) {
            std::string names;
            if (store)
                store->for_each([&](const std::string& n, const auto&, const auto&) {
                    names += (names.empty() ? "" : ", ") + n;
                });
            detail::throw_error("option --param: ", loss, " has no parameter '", name, "'",
                                names.empty() ? std::string(" (it has none)") : "; it has " + names);
        }
        const auto value = load_floats<T>(file);
        auto target = store->value(store->find(name));
        if (value.numel() != target.numel())
            detail::throw_error(file.string(), ": parameter '", name, "' has ", target.numel(),
                                " elements, the file holds shape ", value.shape().str());
        target.copy_from(value.reshape(target.shape()));
    }
}

// A cached loss (GradCache) run as in training: the embeddings are the "model", each
// column a parameter, each mini-batch a slice of it; a guided one (CachedGISTEmbedLoss)
// also reads the guide's embeddings.
template <class T, class L>
void run_cached(const Options& o, const Inputs<T>& in, const L& loss) {
    ParameterStore<Cpu, T> store;
    std::vector<Parameter> columns;
    for (std::size_t i = 0; i < in.embeddings.size(); ++i)
        columns.push_back(store.add("column_" + std::to_string(i), in.embeddings[i].shape()));
    for (std::size_t i = 0; i < in.embeddings.size(); ++i)
        store.value(columns[i]).copy_from(in.embeddings[i]);
    store.zero_grad();
    const ColumnEncoder<Cpu, T> encode = [&](Graph<Cpu, T>& g, int column, index_t begin, index_t end) {
        return slice(g.parameter(store, columns[static_cast<std::size_t>(column)]), 0, begin, end);
    };
    const index_t rows = in.embeddings.empty() ? 0 : in.embeddings[0].shape()[0];
    const auto count = static_cast<int>(in.embeddings.size());
    const auto value = [&] {
        if constexpr (CachedGuidedLoss<L, Cpu, T>)
            return loss.forward_backward(encode, count, rows, in.guides, in.labels, GraphOptions{});
        else
            return loss.forward_backward(encode, count, rows, in.labels, GraphOptions{});
    }();
    save_npy(o.out / "loss.npy", value);
    std::vector<Tensor<Cpu, T>> grads;
    for (const auto& p : columns) grads.push_back(store.grad(p));
    write_embedding_grads(o, grads);
}

// The in-batch contrastive losses of the training issue; false when `o.loss` is none of them.
const std::vector<std::string> in_batch_loss_names = {
    "MultipleNegativesRankingLoss", "MultipleNegativesSymmetricRankingLoss",
    "CachedMultipleNegativesRankingLoss", "CLIPLoss", "SigLIPLoss"};

template <class T>
bool run_in_batch_losses(const Options& o, const Inputs<T>& in) {
    if (o.loss == "MultipleNegativesRankingLoss") {
        const MultipleNegativesRankingLoss<Cpu, T> loss(mnrl_options(JsonArgs(o.loss, o.args, mnrl_args)));
        set_params<T>(o, o.loss, nullptr);
        run_plain<T>(o, in, loss, nullptr);
    } else if (o.loss == "MultipleNegativesSymmetricRankingLoss") {
        const JsonArgs a(o.loss, o.args, {"scale", "similarity_fct", "gather_across_devices"});
        a.single_process("gather_across_devices");
        MultipleNegativesSymmetricRankingLossOptions options;
        options.scale = a.get("scale", options.scale);
        options.similarity_fct = a.choice("similarity_fct", options.similarity_fct, similarity_names);
        const MultipleNegativesSymmetricRankingLoss<Cpu, T> loss(options);
        set_params<T>(o, o.loss, nullptr);
        run_plain<T>(o, in, loss, nullptr);
    } else if (o.loss == "CachedMultipleNegativesRankingLoss") {
        set_params<T>(o, o.loss, nullptr);
        run_cached<T>(o, in, cached_mnrl_loss<T>(o.args));
    } else if (o.loss == "CLIPLoss") {
        const CLIPLoss<Cpu, T> loss(clip_loss_options(o.args));
        set_params<T>(o, o.loss, &loss.parameters());
        run_plain(o, in, loss, &loss.parameters());
    } else if (o.loss == "SigLIPLoss") {
        const SigLIPLoss<Cpu, T> loss(siglip_loss_options(o.args));
        set_params<T>(o, o.loss, &loss.parameters());
        run_plain(o, in, loss, &loss.parameters());
    } else {
        return false;
    }
    return true;
}

}  // namespace loss_cmd
}  // namespace tandem::cli

#include "loss_contrastive_tension.hpp"
#include "loss_cross_encoder.hpp"
#include "loss_distill.hpp"
#include "loss_guided.hpp"
#include "loss_mega_batch_margin.hpp"
#include "loss_pairs.hpp"
#include "loss_softmax.hpp"
#include "loss_triplet.hpp"
#include "loss_wrappers.hpp"

namespace tandem::cli {
namespace loss_cmd {

template <class T>
int run(const Options& o) {
    Inputs<T> in;
    for (const auto& path : o.embeddings) in.embeddings.push_back(load_floats<T>(path));
    if (o.labels) {
        if (io::read_npy_header(*o.labels).descr == "<i8")
            in.labels.labels = from_xtensor<Cpu, std::int64_t>(io::load_npy<std::int64_t>(*o.labels));
        else
            in.labels.scores = load_floats<T>(*o.labels);
    }
    for (const auto& path : o.guides) in.guides.push_back(load_floats<T>(path));
    fs::create_directories(o.out);
    // Each family runs the loss when it knows its name.
    if (run_in_batch_losses<T>(o, in) || run_distill_losses<T>(o, in) || run_wrapper_losses<T>(o, in) ||
        run_guided_losses<T>(o, in) || run_pair_losses<T>(o, in) || run_triplet_losses<T>(o, in) ||
        run_contrastive_tension_losses<T>(o, in) || run_softmax_losses<T>(o, in) ||
        run_mega_batch_margin_losses<T>(o, in) || run_cross_encoder_losses<T>(o, in))
        return 0;
    std::string names;
    for (const auto* family :
         {&in_batch_loss_names, &distill_loss_names, &wrapper_loss_names, &guided_loss_names,
          &pair_loss_names, &triplet_loss_names, &contrastive_tension_loss_names, &softmax_loss_names,
          &mega_batch_margin_loss_names, &cross_encoder_loss_names})
        for (const auto& n : *family) names += (names.empty() ? "" : ", ") + n;
    detail::throw_error("option --loss: unknown loss '", o.loss, "'; expected one of ", names);
}

}  // namespace loss_cmd

// What `tandem loss` reads from its command line: the run's options, with --args and
// --param as given, parsed by loss_run.
struct LossCommandOptions {
    loss_cmd::Options run;
    std::optional<std::string> args;
    std::vector<std::string> params;
};

inline int loss_run(const LossCommandOptions& c) {
    loss_cmd::Options o = c.run;
    if (c.args) {
        try {
            o.args = nlohmann::json::parse(*c.args);
        } catch (const nlohmann::json::exception& e) {
            detail::throw_error("option --args: not valid JSON (", e.what(), ")");
        }
    }
    for (const auto& param : c.params) {
        const auto eq = param.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == param.size())
            detail::throw_error("option --param: expected NAME=FILE.npy, found '", param, "'");
        o.params.emplace_back(param.substr(0, eq), param.substr(eq + 1));
    }
    if (io::read_npy_header(o.embeddings[0]).descr == "<f8") return loss_cmd::run<double>(o);
    return loss_cmd::run<float>(o);
}

inline void add_loss(CLI::App& app, int& status) {
    auto c = std::make_shared<LossCommandOptions>();
    auto& o = c->run;
    CLI::App* sub =
        app.add_subcommand("loss", "run a training loss on .npy embeddings: its value and every gradient");
    sub->footer(
        "NAME is the sentence-transformers class name (CLIPLoss, SigLIPLoss for the CLIP and SigLIP\n"
        "objectives); --args holds its constructor arguments under their Python names. Writes\n"
        "DIR/loss.npy (0-d), DIR/grad_<i>.npy for each embedding file in order, DIR/grad_<NAME>.npy\n"
        "for each --param. float64 embeddings run in double, float32 in float. --labels: int64 class\n"
        "labels or float scores (teacher scores or embeddings). --guide: a guide model's embeddings of\n"
        "each column (GISTEmbedLoss). A wrapper takes its inner loss as --args {\"loss\": {\"name\": NAME,\n"
        "\"args\": {...}}}; AdaptiveLayerLoss and Matryoshka2dLoss take every hidden state's embeddings,\n"
        "layer-major, with --args \"num_layers\".\n"
        "The cross-encoder losses take the scores as the first --embeddings file and their labels with\n"
        "--labels: BinaryCrossEntropyLoss, CrossEntropyLoss, LambdaLoss, RankNetLoss, ListNetLoss,\n"
        "ListMLELoss, PListMLELoss, ADRMSELoss, and cross_encoder.MSELoss, cross_encoder.MarginMSELoss,\n"
        "cross_encoder.MultipleNegativesRankingLoss, cross_encoder.CachedMultipleNegativesRankingLoss.\n");
    sub->add_option("--loss", o.loss, "the loss's sentence-transformers class name (NAME)")->required();
    sub->add_option("--args", c->args, "its constructor arguments, a JSON object of Python names");
    sub->add_option("--embeddings", o.embeddings, "one .npy file per column, float32 or float64")->required();
    sub->add_option("--labels", o.labels, "a .npy file: int64 class labels or float scores");
    sub->add_option("--guide", o.guides, "the guide model's embeddings, one .npy file per column");
    sub->add_option("--param", c->params, "NAME=FILE.npy: the value of the loss's learned parameter NAME");
    sub->add_option("--out", o.out, "the folder to write (DIR)")->required();
    sub->callback([c, &status] { status = loss_run(*c); });
}

}  // namespace tandem::cli
