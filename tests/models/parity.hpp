// Helpers for comparing a model run against the reference files of
// shared/data/models/<name>: inputs, expected outputs and gradients.
#pragma once

#include <tandem/autograd/graph.hpp>
#include <tandem/autograd/parameter_store.hpp>
#include <tandem/backend/xtensor.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/io/safetensors.hpp>

#include <doctest/doctest.h>
#include <xtensor/xnpy.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "test_data.hpp"

namespace tandem::testing {

// Largest |ours| over the entries of the embedding tables whose reference gradient is
// exactly 0: the padding_idx rows (which PyTorch never updates) and the rows no id uses.
// (Other tensors, such as the key biases, hold rounding noise that may hit 0 exactly;
// the gradient comparisons bound those.)
template <class B, class T>
double largest_in_unused_embedding_rows(ParameterStore<B, T>& store, const std::filesystem::path& grads) {
    const auto ref = io::SafetensorsFile::open(grads);
    double largest = 0;
    for (const auto& name : ref.names()) {
        if (!name.ends_with("_embeddings.weight")) continue;
        const auto expect = ref.read_as<double>(name);
        const auto ours = store.grad(store.find(name)).to_vector();
        for (std::size_t i = 0; i < expect.size(); ++i)
            if (expect[i] == 0) largest = std::max(largest, std::abs(double(ours[i])));
    }
    return largest;
}

// ||a - b|| / ||b||, with a taken from a tensor of any type and b from a .npy file of doubles.
template <class B, class T>
double relative_error(const Tensor<B, T>& a, const std::filesystem::path& npy) {
    const auto ref = xt::load_npy<double>(npy.string());
    const auto v = a.to_vector();
    REQUIRE_MESSAGE(v.size() == ref.size(), npy.string() << ": size " << ref.size() << ", ours " << v.size());
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        diff += (double(v[i]) - ref.data()[i]) * (double(v[i]) - ref.data()[i]);
        norm += ref.data()[i] * ref.data()[i];
    }
    return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-300);
}

template <class B = Cpu>
TextBatch<B> text_batch_from(const std::filesystem::path& inputs, bool with_mask,
                             const std::string& ids_file = "input_ids.npy") {
    TextBatch<B> t;
    t.input_ids = from_xtensor<B, std::int64_t>(xt::load_npy<std::int64_t>((inputs / ids_file).string()));
    if (with_mask)
        t.attention_mask = from_xtensor<B, std::int64_t>(
            xt::load_npy<std::int64_t>((inputs / "attention_mask.npy").string()));
    return t;
}

// input_ids, attention_mask and token_type_ids, as a BERT reference folder holds them.
template <class B = Cpu>
TextBatch<B> text_batch_with_types(const std::filesystem::path& inputs) {
    auto t = text_batch_from<B>(inputs, true);
    t.token_type_ids =
        from_xtensor<B, std::int64_t>(xt::load_npy<std::int64_t>((inputs / "token_type_ids.npy").string()));
    return t;
}

template <class B, class T>
Tensor<B, T> tensor_from_npy(const std::filesystem::path& npy) {
    const auto a = xt::load_npy<float>(npy.string());
    return Tensor<B, T>::from_vector(std::vector<T>(a.begin(), a.end()),
                                     Shape(a.shape().begin(), a.shape().end()));
}

struct GradientComparison {
    double worst_relative = 0;       // ||ours - ref|| / ||ref|| over tensors with a non-zero reference
    double worst_absolute_zero = 0;  // max |ours| over tensors whose reference is zero (up to rounding)
    std::string worst_name;
    int compared = 0;
};

// Compares the gradient arena of `store` with every tensor of a reference gradient file.
template <class B, class T>
GradientComparison compare_gradients(ParameterStore<B, T>& store, const std::filesystem::path& grads_file) {
    const auto ref = io::SafetensorsFile::open(grads_file);
    GradientComparison out;
    for (const auto& name : ref.names()) {
        REQUIRE_MESSAGE(store.contains(name), "reference gradient for unknown parameter " << name);
        const auto expect = ref.read_as<double>(name);
        const auto ours = store.grad(store.find(name)).to_vector();
        REQUIRE(ours.size() == expect.size());
        double diff = 0, norm = 0, ours_max = 0, ref_max = 0;
        for (std::size_t i = 0; i < ours.size(); ++i) {
            diff += (double(ours[i]) - expect[i]) * (double(ours[i]) - expect[i]);
            norm += expect[i] * expect[i];
            ours_max = std::max(ours_max, std::abs(double(ours[i])));
            ref_max = std::max(ref_max, std::abs(expect[i]));
        }
        ++out.compared;
        if (ref_max < 1e-12) {
            out.worst_absolute_zero = std::max(out.worst_absolute_zero, ours_max);
        } else if (std::sqrt(diff / norm) > out.worst_relative) {
            out.worst_relative = std::sqrt(diff / norm);
            out.worst_name = name;
        }
    }
    return out;
}

inline std::string file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// save_pretrained then from_pretrained gives the same config and values, and the
// weights file has the same names, order and bytes as the one transformers wrote.
template <class Model>
void check_round_trip(const std::string& folder) {
    auto dir = test_data("models/" + folder);
    if (!dir) return;
    auto model = Model::from_pretrained(*dir);
    const auto out = std::filesystem::temp_directory_path() / ("tandem_" + folder + "_roundtrip");
    std::filesystem::remove_all(out);
    model.save_pretrained(out);
    auto again = Model::from_pretrained(out);
    CHECK(again.config().to_json() == model.config().to_json());
    CHECK(again.parameters().values().to_vector() == model.parameters().values().to_vector());
    // Same names (prefix included), order and bytes as the file transformers wrote.
    CHECK(file_bytes(*dir / "model.safetensors") == file_bytes(out / "model.safetensors"));
    std::filesystem::remove_all(out);
}

}  // namespace tandem::testing
