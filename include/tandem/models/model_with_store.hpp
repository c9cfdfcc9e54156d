// ModelWithStore: a composed model (a SentenceTransformerStack, a Router) together with
// the ParameterStore its modules live in, which is what the trainer trains: parameters(),
// save_pretrained(dir) and load_weights(dir), and the model's encode_text / encode_image.
// The store sits behind a unique_ptr so that the model moves while its modules keep
// pointing at the same arena.
// reference: sentence_transformers.SentenceTransformer (an nn.Module owning its modules' weights).
#pragma once

#include <tandem/core/detail/atomic_file.hpp>
#include <tandem/models/dual_encoder.hpp>
#include <tandem/models/pretrained.hpp>

#include <filesystem>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace tandem {

template <Module M>
class ModelWithStore {
public:
    using backend_type = typename M::backend_type;
    using value_type = typename M::value_type;
    using B = backend_type;
    using T = value_type;
    // The description file save_pretrained writes beside model.safetensors.
    static constexpr const char* modules_file = "tandem_modules.json";

    // build(store) makes the model, every module on `store`.
    template <class Build>
    requires std::same_as < std::invoke_result_t < Build, ParameterStore<B, T>
    & >,
        M > explicit ModelWithStore(Build&& build)
        : store_(std::make_unique<ParameterStore<B, T>>()),
    model_(std::forward<Build>(build)(*store_)) {
        std::size_t visited = 0;
        model_.for_each_parameter([&](const std::string& name, Parameter p) {
            if (store_->name(p) != name)
                detail::throw_error("ModelWithStore: parameter '", name,
                                    "' is not in the model's store (was a module built on another store?)");
            ++visited;
        });
        if (visited != store_->size())
            detail::throw_error("ModelWithStore: the store holds ", store_->size(),
                                " parameters, the model visits ", visited);
    }

    const M& model() const { return model_; }
    ParameterStore<B, T>& parameters() const { return *store_; }

    Var<B, T> encode_text(Graph<B, T>& g, const TextBatch<B>& text) const requires TextEncoderModel<M> {
        return model_.encode_text(g, text);
    }
    Var<B, T> encode_image(Graph<B, T>& g,
                           const Var<B, T>& pixel_values) const requires ImageEncoderModel<M> {
        return model_.encode_image(g, pixel_values);
    }
    // The embeddings from every hidden state, where the model gives them (a layerwise loss).
    std::vector<Var<B, T>> encode_text_layers(Graph<B, T>& g,
                                              const TextBatch<B>& text) const requires LayerwiseTextModel<M> {
        return model_.encode_text_layers(g, text);
    }
    std::vector<Var<B, T>> encode_image_layers(Graph<B, T>& g, const Var<B, T>& pixel_values) const requires
        LayerwiseImageModel<M> {
        return model_.encode_image_layers(g, pixel_values);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        model_.for_each_parameter(f);
    }

    // dir/model.safetensors (every parameter under its prefixed name, float32 unless
    // `dtype` says otherwise) and, when the model describes itself, dir/tandem_modules.json:
    // both written atomically.
    void save_pretrained(const std::filesystem::path& dir,
                         io::SafetensorsDtype dtype = io::SafetensorsDtype::F32) const {
        std::filesystem::create_directories(dir);
        save_state_dict(model_, *store_, dir / "model.safetensors", dtype);
        if constexpr (requires { model_.describe(); })
            detail::atomic_write(dir / modules_file, model_.describe().dump(4) + "\n");
    }

    // Reads dir/model.safetensors into the parameters by name; a missing or mis-shaped
    // tensor is an error naming it.
    LoadReport load_weights(const std::filesystem::path& dir) {
        return load_state_dict(model_, *store_, io::SafetensorsCheckpoint::open(dir));
    }

private:
    std::unique_ptr<ParameterStore<B, T>> store_;
    M model_;
};

// make_model<B, T>([&](auto& store) { return SentenceTransformerStack(...); })
template <Backend B, Scalar T, class Build>
auto make_model(Build&& build) {
    return ModelWithStore<std::invoke_result_t<Build, ParameterStore<B, T>&>>(std::forward<Build>(build));
}

}  // namespace tandem
