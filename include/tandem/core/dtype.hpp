// DType: the element types tandem stores or reads, named as safetensors names them,
// with the mapping from C++ types used to check untyped buffers.
#pragma once

#include <tandem/core/bfloat16.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tandem {

enum class DType { F64, F32, F16, BF16, I64, I32, U8 };

constexpr std::string_view dtype_name(DType t) {
    switch (t) {
        case DType::F64:
            return "F64";
        case DType::F32:
            return "F32";
        case DType::F16:
            return "F16";
        case DType::BF16:
            return "BF16";
        case DType::I64:
            return "I64";
        case DType::I32:
            return "I32";
        case DType::U8:
            return "U8";
    }
    return "?";
}

constexpr std::size_t dtype_size(DType t) {
    switch (t) {
        case DType::F64:
        case DType::I64:
            return 8;
        case DType::F32:
        case DType::I32:
            return 4;
        case DType::F16:
        case DType::BF16:
            return 2;
        case DType::U8:
            return 1;
    }
    return 0;
}

template <class T>
struct dtype_of_t;
template <>
struct dtype_of_t<double> {
    static constexpr DType value = DType::F64;
};
template <>
struct dtype_of_t<float> {
    static constexpr DType value = DType::F32;
};
template <>
struct dtype_of_t<bfloat16> {
    static constexpr DType value = DType::BF16;
};
template <>
struct dtype_of_t<std::int64_t> {
    static constexpr DType value = DType::I64;
};
template <>
struct dtype_of_t<std::int32_t> {
    static constexpr DType value = DType::I32;
};
template <>
struct dtype_of_t<std::uint8_t> {
    static constexpr DType value = DType::U8;
};

template <class T>
inline constexpr DType dtype_of = dtype_of_t<T>::value;

// The compute types: what kernels accumulate in and autograd differentiates.
template <class T>
concept Scalar = std::same_as<T, float> || std::same_as<T, double>;

// The element types a tensor may store: the compute types, bf16 storage, and the
// integer types of ids, targets and masks.
template <class T>
concept Element = Scalar<T> || std::same_as<T, bfloat16> || std::same_as<T, std::int64_t> ||
    std::same_as<T, std::int32_t> || std::same_as<T, std::uint8_t>;

}  // namespace tandem
