// Moving parameters between a model's ParameterStore and Hugging Face checkpoint
// files, by the names the model's for_each_parameter yields (or a RenamedParameters
// view of them), and PretrainedModel, the from_pretrained / save_pretrained and
// accessors every model that owns its parameters shares.
// reference: transformers PreTrainedModel.from_pretrained / save_pretrained.
#pragma once

#include <tandem/io/detail/atomic_file.hpp>
#include <tandem/io/safetensors.hpp>
#include <tandem/nn/module.hpp>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

struct LoadReport {
    // Checkpoint tensors the model has no parameter for (buffers such as position_ids
    // excluded, as Hugging Face ignores them).
    std::vector<std::string> unexpected;
    // Model parameters the checkpoint does not hold and that were initialised instead
    // (a new classification head on a base checkpoint).
    std::vector<std::string> newly_initialized;
};

namespace detail {
inline bool is_ignored_buffer(const std::string& name) {
    return name.ends_with("position_ids") || name.ends_with("num_batches_tracked");
}
}  // namespace detail

// Copies every parameter of `model` from the checkpoint, converting F16/BF16/F64/F32 to T.
// Missing and mis-shaped tensors are a tandem::Error listing every offending name.
template <Module M>
LoadReport load_state_dict(const M& model,
                           ParameterStore<typename M::backend_type, typename M::value_type>& store,
                           const io::SafetensorsCheckpoint& checkpoint) {
    using B = typename M::backend_type;
    using T = typename M::value_type;
    std::vector<std::string> missing, misshaped;
    std::set<std::string> used;
    model.for_each_parameter([&](const std::string& name, Parameter p) {
        if (!checkpoint.contains(name)) {
            missing.push_back(name);
            return;
        }
        used.insert(name);
        const auto& info = checkpoint.info(name);
        const Shape& shape = store.shape(p);
        if (info.shape != std::vector<std::int64_t>(shape.begin(), shape.end())) {
            misshaped.push_back(name + " (checkpoint " + detail::shape_string(info.shape) + ", model " +
                                shape.str() + ")");
            return;
        }
        store.value(p).copy_from(Tensor<B, T>::from_vector(checkpoint.template read_as<T>(name), shape));
    });
    if (!missing.empty() || !misshaped.empty()) {
        std::ostringstream msg;
        msg << checkpoint.path().string() << ": cannot load the model:";
        if (!missing.empty()) {
            msg << " " << missing.size() << " missing tensor(s):";
            for (const auto& n : missing) msg << " " << n;
            msg << ";";
        }
        if (!misshaped.empty()) {
            msg << " " << misshaped.size() << " tensor(s) of the wrong shape:";
            for (const auto& n : misshaped) msg << " " << n;
        }
        throw Error(msg.str());
    }
    LoadReport report;
    for (const auto& name : checkpoint.names())
        if (!used.count(name) && !detail::is_ignored_buffer(name)) report.unexpected.push_back(name);
    return report;
}

namespace detail {
// Writes one tensor per parameter of `model`, named as for_each_parameter names it, taken
// from `arena_view(p)` (the value or the gradient), atomically, header {"format": "pt"}.
template <Module M, class ArenaView>
void save_per_parameter(const M& model,
                        ParameterStore<typename M::backend_type, typename M::value_type>& store,
                        const std::filesystem::path& path, io::SafetensorsDtype dtype, ArenaView arena_view) {
    using T = typename M::value_type;
    std::vector<std::string> names;
    std::vector<Shape> shapes;
    std::vector<std::vector<T>> host;
    model.for_each_parameter([&](const std::string& name, Parameter p) {
        names.push_back(name);
        shapes.push_back(store.shape(p));
        host.push_back(arena_view(p).to_vector());
    });
    std::vector<io::TensorToSave> tensors;
    for (std::size_t i = 0; i < names.size(); ++i)
        tensors.emplace_back(names[i], std::vector<std::int64_t>(shapes[i].begin(), shapes[i].end()),
                             static_cast<const T*>(host[i].data()), dtype);
    io::save_safetensors(path, tensors, {{"format", "pt"}});
}
}  // namespace detail

// Writes every parameter of `model` as a safetensors file with header {"format": "pt"},
// atomically, in `dtype` (F32 by default, as save_pretrained writes float32 models).
template <Module M>
void save_state_dict(const M& model, ParameterStore<typename M::backend_type, typename M::value_type>& store,
                     const std::filesystem::path& path,
                     io::SafetensorsDtype dtype = io::SafetensorsDtype::F32) {
    detail::save_per_parameter(model, store, path, dtype, [&](Parameter p) { return store.value(p); });
}

// The same file layout for the gradients now in the store, one tensor per parameter
// under its Hugging Face name (what `tandem forward --grads` writes).
template <Module M>
void save_gradients(const M& model, ParameterStore<typename M::backend_type, typename M::value_type>& store,
                    const std::filesystem::path& path,
                    io::SafetensorsDtype dtype = io::SafetensorsDtype::F32) {
    detail::save_per_parameter(model, store, path, dtype, [&](Parameter p) { return store.grad(p); });
}

namespace detail {
struct KeepEveryName {
    bool operator()(const std::string&) const { return true; }
};

inline bool any_starts_with(const std::vector<std::string>& names, std::string_view prefix) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return n.starts_with(prefix); });
}

template <Module M>
std::vector<std::string> parameter_names(const M& model) {
    std::vector<std::string> names;
    model.for_each_parameter([&](const std::string& name, Parameter) { names.push_back(name); });
    return names;
}
}  // namespace detail

// A module's parameters presented under other names, for loading and saving files whose
// names differ from the model's by a prefix: names starting with `prefix` have it
// replaced by `file_prefix` (a bare BertModel reading "bert.*", a tower nested under
// "text." saved as its own sentence-transformers module folder), others keep their
// name, and names `keep` rejects are not visited. It is a Module, so load_state_dict
// and save_state_dict take it in place of the model.
template <Module M, class Keep = detail::KeepEveryName>
class RenamedParameters {
public:
    using backend_type = typename M::backend_type;
    using value_type = typename M::value_type;

    RenamedParameters(const M& model, std::string prefix, std::string file_prefix, Keep keep = {})
        : model_(&model),
          prefix_(std::move(prefix)),
          file_prefix_(std::move(file_prefix)),
          keep_(std::move(keep)) {}

    template <class F>
    void for_each_parameter(F&& f) const {
        model_->for_each_parameter([&](const std::string& name, Parameter p) {
            if (!keep_(name)) return;
            if (name.starts_with(prefix_))
                f(file_prefix_ + name.substr(prefix_.size()), p);
            else
                f(name, p);
        });
    }

private:
    const M* model_;
    std::string prefix_, file_prefix_;
    Keep keep_;
};

// The parameters of `model` under `prefix` only, without it: one nested tower as the
// checkpoint of its own Hugging Face class.
template <Module M>
auto parameters_under(const M& model, const std::string& prefix) {
    return RenamedParameters(model, prefix, "",
                             [prefix](const std::string& n) { return n.starts_with(prefix); });
}

namespace detail {
// Hooks a PretrainedModel's Derived may declare. base_model_prefix ("bert"): the prefix
// transformers adds or strips when a base model and a model with a head read each
// other's checkpoints. head_prefix ("classifier.") with reset_head(seed): a head that a
// checkpoint without it leaves to be initialised.
template <class M>
concept HasBaseModelPrefix = requires {
    { M::base_model_prefix } -> std::convertible_to<std::string_view>;
};
template <class M>
concept HasNewableHead = requires(M& m, std::uint64_t seed) {
    { M::head_prefix } -> std::convertible_to<std::string_view>;
    m.reset_head(seed);
};
}  // namespace detail

// What every model that owns its parameters shares with transformers' PreTrainedModel:
// it owns its ParameterStore through a unique_ptr (so the model moves while its modules
// keep pointing at the same arena), reads and writes a Hugging Face folder
// (config.json + model.safetensors) and reports what loading left over.
// Derived (CRTP) provides a constructor from Config, for_each_parameter, the class name
// `static constexpr const char* architecture` that save_pretrained records, and
// optionally the hooks above.
template <class Derived, Backend B, Scalar T, class Config>
class PretrainedModel {
public:
    using backend_type = B;
    using value_type = T;
    using config_type = Config;

    // Reads dir/config.json and the checkpoint in dir (single file or sharded). A head
    // the checkpoint lacks is drawn from `seed` and listed in load_report().newly_initialized.
    static Derived from_pretrained(const std::filesystem::path& dir, std::uint64_t seed = 0) {
        Derived model(Config::from_file(dir / "config.json"));
        const auto checkpoint = io::SafetensorsCheckpoint::open(dir);
        auto& base = static_cast<PretrainedModel&>(model);
        base.report_ = base.load_checkpoint(checkpoint, seed);
        return model;
    }

    // As transformers' save_pretrained: config.json naming this class in `architectures`,
    // and model.safetensors in float32, both written atomically.
    void save_pretrained(const std::filesystem::path& dir) const {
        std::filesystem::create_directories(dir);
        Config config = config_;
        config.architectures = {Derived::architecture};
        io::atomic_write(dir / "config.json", config.to_json().dump(2) + "\n");
        save_state_dict(derived(), *store_, dir / "model.safetensors");
    }

    ParameterStore<B, T>& parameters() const { return *store_; }
    const Config& config() const { return config_; }
    // Checkpoint tensors the last from_pretrained did not use, and parameters it initialised.
    const LoadReport& load_report() const { return report_; }

protected:
    explicit PretrainedModel(const Config& config)
        : config_(config), store_(std::make_unique<ParameterStore<B, T>>()) {}

    Config config_;
    std::unique_ptr<ParameterStore<B, T>> store_;
    LoadReport report_;

private:
    const Derived& derived() const { return static_cast<const Derived&>(*this); }
    Derived& derived() { return static_cast<Derived&>(*this); }

    // The model's names are mapped to the checkpoint's before load_state_dict, so missing
    // and mis-shaped tensors are reported under the checkpoint's own names.
    LoadReport load_checkpoint(const io::SafetensorsCheckpoint& checkpoint, std::uint64_t seed) {
        const auto file_names = checkpoint.names();
        std::string prefix, file_prefix;
        if constexpr (detail::HasBaseModelPrefix<Derived>) {
            const std::string base = std::string(Derived::base_model_prefix) + ".";
            if (detail::any_starts_with(detail::parameter_names(derived()), base)) prefix = base;
            if (detail::any_starts_with(file_names, base)) file_prefix = base;
        }
        std::string head;
        if constexpr (detail::HasNewableHead<Derived>)
            if (!detail::any_starts_with(file_names, Derived::head_prefix)) head = Derived::head_prefix;
        const RenamedParameters view(derived(), prefix, file_prefix, [&head](const std::string& name) {
            return head.empty() || !name.starts_with(head);
        });
        LoadReport report = load_state_dict(view, *store_, checkpoint);
        if constexpr (detail::HasNewableHead<Derived>) {
            if (!head.empty()) {
                derived().reset_head(seed);
                for (const auto& name : detail::parameter_names(derived()))
                    if (name.starts_with(head)) report.newly_initialized.push_back(name);
            }
        }
        return report;
    }
};

}  // namespace tandem
