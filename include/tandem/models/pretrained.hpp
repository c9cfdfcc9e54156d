// Moving parameters between a model's ParameterStore and Hugging Face checkpoint
// files, by the names the model's for_each_parameter yields.
// reference: transformers PreTrainedModel.from_pretrained / save_pretrained (weights part).
#pragma once

#include <tandem/io/safetensors.hpp>
#include <tandem/nn/module.hpp>

#include <algorithm>
#include <set>
#include <sstream>

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

}  // namespace tandem
