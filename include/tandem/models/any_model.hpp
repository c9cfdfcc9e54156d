// AnyEmbeddingModel: an embedding model whose type a folder decides at run time (a BERT
// stack, CLIP, SigLIP), behind one type: encode_text / encode_image, its parameters,
// save_pretrained, where the model has them the embeddings per layer and the
// sentence-transformers layout (save_st_modules). Models composed
// at compile time keep their own types; this is what a loader returns. Copies share the
// model.
#pragma once

#include <tandem/autograd/graph.hpp>
#include <tandem/core/error.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/models/dual_encoder.hpp>
#include <tandem/models/st_modules.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace tandem {

// Represents: what AnyEmbeddingModel holds: a Module with encode_text and/or
// encode_image, its ParameterStore as parameters(), and save_pretrained(dir).
template <class M, class B, class T>
concept ErasableEmbeddingModel = Module<M> && std::same_as<typename M::backend_type, B> &&
    std::same_as<typename M::value_type, T> &&
    (TextEncoderModel<M> || ImageEncoderModel<M>)&&requires(const M& m, const std::filesystem::path& dir) {
    { m.parameters() } -> std::same_as<ParameterStore<B, T>&>;
    m.save_pretrained(dir);
};

template <Backend B, Scalar T>
class AnyEmbeddingModel {
public:
    using backend_type = B;
    using value_type = T;
    using ParameterVisitor = std::function<void(const std::string&, Parameter)>;

    // `name` says what the model is ("BERT + Pooling + Normalize", "CLIPModel") in messages.
    template <ErasableEmbeddingModel<B, T> M>
    AnyEmbeddingModel(M model, std::string name)
        : impl_(std::make_shared<const Held<M>>(std::move(model))), name_(std::move(name)) {}

    const std::string& name() const { return name_; }
    bool encodes_text() const { return impl_->encodes_text(); }
    bool encodes_image() const { return impl_->encodes_image(); }

    Var<B, T> encode_text(Graph<B, T>& g, const TextBatch<B>& text) const {
        if (!encodes_text()) detail::throw_error(name_, ": the model encodes images only, found texts");
        return impl_->encode_text(g, text);
    }
    Var<B, T> encode_image(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        if (!encodes_image()) detail::throw_error(name_, ": the model encodes texts only, found images");
        return impl_->encode_image(g, pixel_values);
    }

    // The embeddings pooled from every hidden state, for a layerwise loss (AdaptiveLayerLoss);
    // an error for a model that does not give them.
    std::vector<Var<B, T>> encode_text_layers(Graph<B, T>& g, const TextBatch<B>& text) const {
        return impl_->encode_text_layers(g, text, name_);
    }
    std::vector<Var<B, T>> encode_image_layers(Graph<B, T>& g, const Var<B, T>& pixel_values) const {
        return impl_->encode_image_layers(g, pixel_values, name_);
    }

    ParameterStore<B, T>& parameters() const { return impl_->parameters(); }
    void save_pretrained(const std::filesystem::path& dir) const { impl_->save_pretrained(dir); }
    // The model as sentence-transformers modules in `dir` (models/st_modules.hpp).
    StModules save_st_modules(const std::filesystem::path& dir) const {
        return impl_->save_st_modules(dir, name_);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        impl_->for_each_parameter(ParameterVisitor(std::ref(f)));
    }

    // The held model, when it is an M.
    template <class M>
    const M* target() const {
        const auto* held = dynamic_cast<const Held<M>*>(impl_.get());
        return held ? &held->model : nullptr;
    }

private:
    struct Interface {
        virtual ~Interface() = default;
        virtual bool encodes_text() const = 0;
        virtual bool encodes_image() const = 0;
        virtual Var<B, T> encode_text(Graph<B, T>&, const TextBatch<B>&) const = 0;
        virtual Var<B, T> encode_image(Graph<B, T>&, const Var<B, T>&) const = 0;
        virtual std::vector<Var<B, T>> encode_text_layers(Graph<B, T>&, const TextBatch<B>&,
                                                          const std::string& name) const = 0;
        virtual std::vector<Var<B, T>> encode_image_layers(Graph<B, T>&, const Var<B, T>&,
                                                           const std::string& name) const = 0;
        virtual ParameterStore<B, T>& parameters() const = 0;
        virtual void save_pretrained(const std::filesystem::path&) const = 0;
        virtual StModules save_st_modules(const std::filesystem::path&, const std::string& name) const = 0;
        virtual void for_each_parameter(const ParameterVisitor&) const = 0;
    };

    template <class M>
    struct Held final : Interface {
        explicit Held(M m) : model(std::move(m)) {}
        bool encodes_text() const override { return TextEncoderModel<M>; }
        bool encodes_image() const override { return ImageEncoderModel<M>; }
        Var<B, T> encode_text(Graph<B, T>& g, const TextBatch<B>& text) const override {
            if constexpr (TextEncoderModel<M>)
                return model.encode_text(g, text);
            else
                detail::throw_error("AnyEmbeddingModel: the model has no encode_text");
        }
        Var<B, T> encode_image(Graph<B, T>& g, const Var<B, T>& pixel_values) const override {
            if constexpr (ImageEncoderModel<M>)
                return model.encode_image(g, pixel_values);
            else
                detail::throw_error("AnyEmbeddingModel: the model has no encode_image");
        }
        std::vector<Var<B, T>> encode_text_layers(Graph<B, T>& g, const TextBatch<B>& text,
                                                  const std::string& name) const override {
            if constexpr (LayerwiseTextModel<M>)
                return model.encode_text_layers(g, text);
            else
                detail::throw_error(name, ": gives no text embeddings per layer (a BERT-family Transformer ",
                                    "followed by Pooling does)");
        }
        std::vector<Var<B, T>> encode_image_layers(Graph<B, T>& g, const Var<B, T>& pixel_values,
                                                   const std::string& name) const override {
            if constexpr (LayerwiseImageModel<M>)
                return model.encode_image_layers(g, pixel_values);
            else
                detail::throw_error(name, ": gives no image embeddings per layer");
        }
        ParameterStore<B, T>& parameters() const override { return model.parameters(); }
        void save_pretrained(const std::filesystem::path& dir) const override { model.save_pretrained(dir); }
        StModules save_st_modules(const std::filesystem::path& dir, const std::string& name) const override {
            if constexpr (requires { tandem::save_st_modules(model, dir); })
                return tandem::save_st_modules(model, dir);
            else
                detail::throw_error(
                    name, ": has no sentence-transformers folder layout tandem writes ",
                    "(a CLIP or SigLIP model, or a BERT tower with Pooling); use save_pretrained");
        }
        void for_each_parameter(const ParameterVisitor& f) const override { model.for_each_parameter(f); }
        M model;
    };

    std::shared_ptr<const Interface> impl_;
    std::string name_;
};

}  // namespace tandem
