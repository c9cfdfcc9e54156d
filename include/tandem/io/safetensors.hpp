// safetensors checkpoints (huggingface/safetensors, the format of model.safetensors):
// SafetensorsFile reads one file through a memory map after validating its header
// as strictly as the reference Rust reader; SafetensorsCheckpoint presents a folder
// (model.safetensors, or model.safetensors.index.json + shards, as save_pretrained
// writes them) as one name -> tensor view; save_safetensors writes the reference
// writer's exact bytes, atomically.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/io/detail/atomic_file.hpp>
#include <tandem/io/detail/float16.hpp>
#include <tandem/io/detail/mapped_file.hpp>
#include <tandem/io/json_file.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace tandem::io {

static_assert(
    std::endian::native == std::endian::little,
    "safetensors data is little-endian; tandem reads it in place and supports little-endian hosts only");

// Declared in the order of the reference implementation's Dtype enum (safetensors
// 0.4): its writer lays tensors out by descending dtype, then by name, and
// save_safetensors reproduces that order byte for byte.
enum class SafetensorsDtype {
    BOOL,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64
};

inline constexpr std::pair<SafetensorsDtype, std::string_view> safetensors_dtype_names[] = {
    {SafetensorsDtype::BOOL, "BOOL"},       {SafetensorsDtype::U8, "U8"},
    {SafetensorsDtype::I8, "I8"},           {SafetensorsDtype::F8_E5M2, "F8_E5M2"},
    {SafetensorsDtype::F8_E4M3, "F8_E4M3"}, {SafetensorsDtype::I16, "I16"},
    {SafetensorsDtype::U16, "U16"},         {SafetensorsDtype::F16, "F16"},
    {SafetensorsDtype::BF16, "BF16"},       {SafetensorsDtype::I32, "I32"},
    {SafetensorsDtype::U32, "U32"},         {SafetensorsDtype::F32, "F32"},
    {SafetensorsDtype::F64, "F64"},         {SafetensorsDtype::I64, "I64"},
    {SafetensorsDtype::U64, "U64"},
};

constexpr std::string_view to_string(SafetensorsDtype dtype) {
    for (const auto& [d, name] : safetensors_dtype_names)
        if (d == dtype) return name;
    return "?";
}

constexpr std::optional<SafetensorsDtype> parse_safetensors_dtype(std::string_view name) {
    for (const auto& [d, n] : safetensors_dtype_names)
        if (n == name) return d;
    return std::nullopt;
}

constexpr std::size_t element_size(SafetensorsDtype dtype) {
    switch (dtype) {
        case SafetensorsDtype::BOOL:
        case SafetensorsDtype::U8:
        case SafetensorsDtype::I8:
        case SafetensorsDtype::F8_E5M2:
        case SafetensorsDtype::F8_E4M3:
            return 1;
        case SafetensorsDtype::I16:
        case SafetensorsDtype::U16:
        case SafetensorsDtype::F16:
        case SafetensorsDtype::BF16:
            return 2;
        case SafetensorsDtype::I32:
        case SafetensorsDtype::U32:
        case SafetensorsDtype::F32:
            return 4;
        case SafetensorsDtype::F64:
        case SafetensorsDtype::I64:
        case SafetensorsDtype::U64:
            return 8;
    }
    return 0;
}

// The header's "__metadata__" string map, in file order: writers keep their caller's
// order (Python dict order), and keeping it is what makes a read/write round trip
// byte-identical.
using SafetensorsMetadata = std::vector<std::pair<std::string, std::string>>;

// One header entry. Offsets are relative to the start of the data area, end exclusive.
struct TensorInfo {
    std::string name;
    SafetensorsDtype dtype = SafetensorsDtype::F32;
    std::vector<std::int64_t> shape;
    std::size_t data_begin = 0;
    std::size_t data_end = 0;

    std::size_t numel() const {
        std::size_t n = 1;
        for (auto d : shape) n *= static_cast<std::size_t>(d);
        return n;
    }
    std::size_t nbytes() const { return data_end - data_begin; }
};

}  // namespace tandem::io

namespace tandem::detail {

// The reference reader refuses larger headers; a corrupt length field must not make
// us parse gigabytes of tensor data as JSON.
inline constexpr std::uint64_t max_safetensors_header = 100'000'000;

inline std::string shape_string(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// numel * element size, or nullopt when it overflows size_t.
inline std::optional<std::size_t> checked_nbytes(const std::vector<std::int64_t>& shape, std::size_t elem) {
    std::size_t n = elem;
    for (auto d : shape) {
        const auto u = static_cast<std::size_t>(d);
        if (u != 0 && n > std::numeric_limits<std::size_t>::max() / u) return std::nullopt;
        n *= u;
    }
    return n;
}

template <class T>
inline constexpr bool is_safetensors_element =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int64_t> ||
    std::is_same_v<T, std::int32_t>;

template <class Src>
inline Src load_unaligned(const std::byte* p) {
    Src v;
    std::memcpy(&v, p, sizeof(Src));
    return v;
}

// Converts `count` stored elements at `src` into out; false when this dtype cannot be read as T.
template <class T>
bool convert_elements(io::SafetensorsDtype dtype, const std::byte* src, std::size_t count, T* out) {
    using io::SafetensorsDtype;
    if constexpr (std::is_floating_point_v<T>) {
        switch (dtype) {
            case SafetensorsDtype::F32:
                if constexpr (std::is_same_v<T, float>) {
                    if (count) std::memcpy(out, src, count * sizeof(float));
                } else {
                    for (std::size_t i = 0; i < count; ++i) out[i] = load_unaligned<float>(src + 4 * i);
                }
                return true;
            case SafetensorsDtype::F64:
                if constexpr (std::is_same_v<T, double>) {
                    if (count) std::memcpy(out, src, count * sizeof(double));
                } else {
                    for (std::size_t i = 0; i < count; ++i)
                        out[i] = static_cast<T>(load_unaligned<double>(src + 8 * i));
                }
                return true;
            case SafetensorsDtype::F16:
                for (std::size_t i = 0; i < count; ++i)
                    out[i] = f16_to_float(load_unaligned<std::uint16_t>(src + 2 * i));
                return true;
            case SafetensorsDtype::BF16:
                for (std::size_t i = 0; i < count; ++i)
                    out[i] = bf16_to_float(load_unaligned<std::uint16_t>(src + 2 * i));
                return true;
            default:
                return false;
        }
    } else {
        if (dtype == SafetensorsDtype::I32) {
            for (std::size_t i = 0; i < count; ++i) out[i] = load_unaligned<std::int32_t>(src + 4 * i);
            return true;
        }
        if (dtype == SafetensorsDtype::I64 && std::is_same_v<T, std::int64_t>) {
            if (count) std::memcpy(out, src, count * sizeof(std::int64_t));
            return true;
        }
        return false;
    }
}

template <class T>
constexpr const char* readable_dtypes() {
    if constexpr (std::is_floating_point_v<T>)
        return "F64, F32, F16 or BF16";
    else if constexpr (std::is_same_v<T, std::int64_t>)
        return "I64 or I32";
    else
        return "I32";
}

template <class T>
constexpr const char* element_type_name() {
    if constexpr (std::is_same_v<T, float>)
        return "float";
    else if constexpr (std::is_same_v<T, double>)
        return "double";
    else if constexpr (std::is_same_v<T, std::int64_t>)
        return "int64_t";
    else
        return "int32_t";
}

}  // namespace tandem::detail

namespace tandem::io {

// A validated, memory-mapped safetensors file. Cheap to move; the tensor bytes are
// read from the map on demand.
class SafetensorsFile {
public:
    static SafetensorsFile open(const std::filesystem::path& path) {
        SafetensorsFile f;
        f.path_ = path;
        f.map_ = detail::MappedFile(path);
        f.parse();
        return f;
    }

    const std::filesystem::path& path() const { return path_; }
    const SafetensorsMetadata& metadata() const { return metadata_; }
    std::size_t size() const { return tensors_.size(); }
    bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }

    // Tensor names, sorted bytewise.
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        out.reserve(tensors_.size());
        for (const auto& [name, info] : tensors_) out.push_back(name);
        return out;
    }

    const TensorInfo& info(std::string_view name) const {
        const auto it = tensors_.find(name);
        if (it == tensors_.end()) {
            detail::throw_error(path_.string(), ": no tensor named '", name, "' (the file holds ",
                                tensors_.size(), " tensors)");
        }
        return it->second;
    }

    // For loading into a model whose shapes come from config.json: a checkpoint that
    // does not fit the config fails here, naming the tensor, not inside a kernel.
    void check_shape(std::string_view name, const std::vector<std::int64_t>& expected) const {
        const auto& t = info(name);
        if (t.shape != expected) {
            detail::throw_error(path_.string(), ": tensor '", name, "' has shape ",
                                detail::shape_string(t.shape), ", expected ", detail::shape_string(expected));
        }
    }

    // The stored little-endian bytes of one tensor, straight from the map.
    std::span<const std::byte> data(std::string_view name) const {
        const auto& t = info(name);
        return map_.bytes().subspan(data_offset_ + t.data_begin, t.nbytes());
    }

    // Reads a whole tensor into out[0..count), converting F64/F32/F16/BF16 to float
    // or double and I64/I32 to int64_t (I32 also to int32_t). count must equal numel.
    template <class T>
    void read(std::string_view name, T* out, std::size_t count) const {
        static_assert(detail::is_safetensors_element<T>,
                      "SafetensorsFile::read<T> reads into float, double, int64_t or int32_t buffers");
        const auto& t = info(name);
        if (count != t.numel()) {
            detail::throw_error(path_.string(), ": tensor '", name, "' has shape ",
                                detail::shape_string(t.shape), " (", t.numel(),
                                " elements), but the destination holds ", count);
        }
        if (!detail::convert_elements(t.dtype, data(name).data(), count, out)) {
            detail::throw_error(path_.string(), ": tensor '", name, "' has dtype ", to_string(t.dtype),
                                ", read as ", detail::element_type_name<T>(), " needs ",
                                detail::readable_dtypes<T>());
        }
    }

    template <class T>
    void read(std::string_view name, std::span<T> out) const {
        read(name, out.data(), out.size());
    }

    template <class T>
    std::vector<T> read_as(std::string_view name) const {
        std::vector<T> out(info(name).numel());
        read(name, out.data(), out.size());
        return out;
    }

private:
    SafetensorsFile() = default;

    [[noreturn]] void fail(const auto&... parts) const {
        detail::throw_error(path_.string(), ": ", parts...);
    }

    void parse() {
        const auto bytes = map_.bytes();
        if (bytes.size() < 8) {
            fail("file is ", bytes.size(),
                 " bytes long; a safetensors file starts with an 8-byte header length (truncated or not "
                 "safetensors?)");
        }
        const auto header_len = detail::load_unaligned<std::uint64_t>(bytes.data());
        if (header_len > bytes.size() - 8) {
            fail("header length field says ", header_len, " bytes, but only ", bytes.size() - 8,
                 " bytes follow it (truncated or not safetensors?)");
        }
        if (header_len > detail::max_safetensors_header) {
            fail("header length ", header_len, " exceeds the ", detail::max_safetensors_header,
                 "-byte limit");
        }
        const std::string_view header(reinterpret_cast<const char*>(bytes.data() + 8), header_len);
        if (header.empty() || header.front() != '{') {
            fail("header should be a JSON object starting with '{', found ",
                 header.empty() ? std::string("an empty header")
                                : "'" + std::string(header.substr(0, 16)) + "'");
        }
        data_offset_ = 8 + header_len;
        const std::size_t data_size = bytes.size() - data_offset_;

        // nlohmann keeps the last of duplicate keys silently; two entries for one name
        // would make the file mean different things to different readers.
        std::set<std::string> seen;
        const nlohmann::ordered_json::parser_callback_t reject_duplicates =
            [&](int depth, nlohmann::ordered_json::parse_event_t event, nlohmann::ordered_json& parsed) {
                if (depth == 1 && event == nlohmann::ordered_json::parse_event_t::key) {
                    auto key = parsed.get<std::string>();
                    if (!seen.insert(key).second) fail("header has the key '", key, "' twice");
                }
                return true;
            };
        nlohmann::ordered_json json;
        try {
            json = nlohmann::ordered_json::parse(header, reject_duplicates);
        } catch (const nlohmann::ordered_json::exception& e) {
            fail("header is not valid JSON: ", e.what());
        }
        if (!json.is_object()) fail("header should be a JSON object, found ", detail::describe_json(json));

        for (const auto& [key, value] : json.items()) {
            if (key == "__metadata__") {
                parse_metadata(value);
            } else {
                auto t = parse_entry(key, value, data_size);
                tensors_.emplace(key, std::move(t));
            }
        }
        check_layout(data_size);
    }

    void parse_metadata(const nlohmann::ordered_json& value) {
        if (!value.is_object())
            fail("'__metadata__' should map strings to strings, found ", detail::describe_json(value));
        for (const auto& [k, v] : value.items()) {
            if (!v.is_string()) {
                fail("'__metadata__' key '", k, "' should hold a string, found ", detail::describe_json(v));
            }
            metadata_.emplace_back(k, v.get<std::string>());
        }
    }

    TensorInfo parse_entry(const std::string& name, const nlohmann::ordered_json& value,
                           std::size_t data_size) const {
        const auto where = [&] { return "tensor '" + name + "'"; };
        if (!value.is_object())
            fail(where(), ": expected an object with dtype, shape and data_offsets, found ",
                 detail::describe_json(value));
        TensorInfo t;
        t.name = name;

        const auto dtype_it = value.find("dtype");
        if (dtype_it == value.end()) fail(where(), ": key 'dtype' is missing");
        if (!dtype_it->is_string())
            fail(where(), ": 'dtype' should be a string, found ", detail::describe_json(*dtype_it));
        const auto dtype_name = dtype_it->get<std::string>();
        const auto dtype = parse_safetensors_dtype(dtype_name);
        if (!dtype) {
            std::string known;
            for (const auto& [d, n] : safetensors_dtype_names)
                known += (known.empty() ? "" : ", ") + std::string(n);
            fail(where(), ": unknown dtype \"", dtype_name, "\" (expected one of ", known, ")");
        }
        t.dtype = *dtype;

        const auto shape_it = value.find("shape");
        if (shape_it == value.end()) fail(where(), ": key 'shape' is missing");
        if (!shape_it->is_array())
            fail(where(), ": 'shape' should be an array, found ", detail::describe_json(*shape_it));
        for (const auto& d : *shape_it) {
            if (!d.is_number_unsigned() ||
                d.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max())) {
                fail(where(), ": 'shape' should hold non-negative integers, found ",
                     detail::describe_json(d));
            }
            t.shape.push_back(d.get<std::int64_t>());
        }

        const auto off_it = value.find("data_offsets");
        if (off_it == value.end()) fail(where(), ": key 'data_offsets' is missing");
        if (!off_it->is_array() || off_it->size() != 2 || !(*off_it)[0].is_number_unsigned() ||
            !(*off_it)[1].is_number_unsigned()) {
            fail(where(), ": 'data_offsets' should be [begin, end] with non-negative integers, found ",
                 off_it->dump());
        }
        const auto begin = (*off_it)[0].get<std::uint64_t>();
        const auto end = (*off_it)[1].get<std::uint64_t>();
        if (begin > end) fail(where(), ": data_offsets [", begin, ", ", end, "] end before they begin");
        if (end > data_size) {
            fail(where(), ": data_offsets [", begin, ", ", end, "] run past the end of the data area (",
                 data_size, " bytes)");
        }
        t.data_begin = static_cast<std::size_t>(begin);
        t.data_end = static_cast<std::size_t>(end);

        const auto nbytes = detail::checked_nbytes(t.shape, element_size(t.dtype));
        if (!nbytes || *nbytes != t.nbytes()) {
            fail(where(), ": dtype ", dtype_name, " and shape ", detail::shape_string(t.shape), " need ",
                 nbytes ? std::to_string(*nbytes) : std::string("more than 2^64"),
                 " bytes, but data_offsets [", begin, ", ", end, "] span ", t.nbytes());
        }
        return t;
    }

    // Like the reference reader: tensors tile the data area exactly, without overlap
    // (one tensor's bytes read as another's), gaps or trailing bytes.
    void check_layout(std::size_t data_size) const {
        std::vector<const TensorInfo*> order;
        order.reserve(tensors_.size());
        for (const auto& [name, t] : tensors_) order.push_back(&t);
        std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
            return std::pair(a->data_begin, a->data_end) < std::pair(b->data_begin, b->data_end);
        });
        std::size_t expected = 0;
        const TensorInfo* previous = nullptr;
        for (const auto* t : order) {
            if (t->data_begin < expected) {
                fail("tensor '", t->name, "': data_offsets [", t->data_begin, ", ", t->data_end,
                     "] overlap tensor '", previous->name, "' [", previous->data_begin, ", ",
                     previous->data_end, "]");
            }
            if (t->data_begin > expected) {
                fail("tensor '", t->name, "': data_offsets begin at ", t->data_begin, ", leaving a gap of ",
                     t->data_begin - expected, " unused bytes after offset ", expected);
            }
            expected = t->data_end;
            previous = t;
        }
        if (expected != data_size) {
            fail("tensors cover ", expected, " bytes of data, but the data area after the header is ",
                 data_size, " bytes");
        }
    }

    std::filesystem::path path_;
    detail::MappedFile map_;
    std::size_t data_offset_ = 0;
    SafetensorsMetadata metadata_;
    std::map<std::string, TensorInfo, std::less<>> tensors_;
};

// A Hugging Face checkpoint folder, single file or sharded, as one name -> tensor
// view. Mirrors how from_pretrained finds weights: model.safetensors first, else
// model.safetensors.index.json and the shards its weight_map names.
class SafetensorsCheckpoint {
public:
    static constexpr std::string_view single_file_name = "model.safetensors";
    static constexpr std::string_view index_file_name = "model.safetensors.index.json";

    // `path` is a folder, a .safetensors file, or a *.safetensors.index.json file.
    static SafetensorsCheckpoint open(const std::filesystem::path& path) {
        namespace fs = std::filesystem;
        SafetensorsCheckpoint c;
        if (fs::is_directory(path)) {
            if (fs::exists(path / single_file_name)) {
                c.open_single(path / single_file_name);
            } else if (fs::exists(path / index_file_name)) {
                c.open_index(path / index_file_name);
            } else {
                detail::throw_error(path.string(), ": no ", single_file_name, " or ", index_file_name,
                                    " in this folder");
            }
        } else if (path.filename().string().ends_with(".index.json")) {
            c.open_index(path);
        } else {
            c.open_single(path);
        }
        return c;
    }

    // The index file for a sharded checkpoint, otherwise the one safetensors file.
    const std::filesystem::path& path() const { return path_; }
    const std::vector<SafetensorsFile>& files() const { return files_; }
    std::size_t size() const { return where_.size(); }
    bool contains(std::string_view name) const { return where_.find(name) != where_.end(); }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        out.reserve(where_.size());
        for (const auto& [name, index] : where_) out.push_back(name);
        return out;
    }

    const SafetensorsFile& file_of(std::string_view name) const {
        const auto it = where_.find(name);
        if (it == where_.end()) {
            detail::throw_error(path_.string(), ": no tensor named '", name, "' (the checkpoint holds ",
                                where_.size(), " tensors)");
        }
        return files_[it->second];
    }

    const TensorInfo& info(std::string_view name) const { return file_of(name).info(name); }
    void check_shape(std::string_view name, const std::vector<std::int64_t>& expected) const {
        file_of(name).check_shape(name, expected);
    }
    std::span<const std::byte> data(std::string_view name) const { return file_of(name).data(name); }

    template <class T>
    void read(std::string_view name, T* out, std::size_t count) const {
        file_of(name).read(name, out, count);
    }
    template <class T>
    void read(std::string_view name, std::span<T> out) const {
        file_of(name).read(name, out.data(), out.size());
    }
    template <class T>
    std::vector<T> read_as(std::string_view name) const {
        return file_of(name).template read_as<T>(name);
    }

private:
    SafetensorsCheckpoint() = default;

    void open_single(const std::filesystem::path& file) {
        path_ = file;
        files_.push_back(SafetensorsFile::open(file));
        for (const auto& name : files_.front().names()) where_.emplace(name, 0);
    }

    void open_index(const std::filesystem::path& index) {
        path_ = index;
        const auto json = read_json_file(index);
        const JsonObjectReader root(json, index.string());
        if (!root.contains("weight_map"))
            detail::throw_error(root.where("weight_map"), ": required key is missing");
        const auto weight_map = root.object("weight_map");

        std::map<std::string, std::vector<std::string>> by_shard;
        for (const auto& [name, shard] : weight_map.json().items()) {
            auto file = detail::json_as<std::string>(shard, weight_map.path(name));
            const std::filesystem::path rel(file);
            // Shards live beside the index; a name that climbs out is corrupt or hostile.
            if (rel.empty() || rel.is_absolute() ||
                std::any_of(rel.begin(), rel.end(), [](const auto& part) { return part == ".."; })) {
                detail::throw_error(weight_map.where(name), ": shard file name \"", file,
                                    "\" should be a file in the checkpoint folder");
            }
            by_shard[file].push_back(name);
        }
        for (const auto& [file, names] : by_shard) {
            const auto shard_path = index.parent_path() / file;
            if (!std::filesystem::exists(shard_path)) {
                detail::throw_error(
                    index.string(), ": shard '", file, "' (holding '", names.front(), "'",
                    names.size() > 1 ? " and " + std::to_string(names.size() - 1) + " more" : "",
                    ") is missing: ", shard_path.string(), " does not exist");
            }
            files_.push_back(SafetensorsFile::open(shard_path));
            for (const auto& name : names) {
                if (!files_.back().contains(name)) {
                    detail::throw_error(index.string(), ": weight_map puts '", name, "' in shard '", file,
                                        "', which has no such tensor");
                }
                where_.emplace(name, files_.size() - 1);
            }
        }
    }

    std::filesystem::path path_;
    std::vector<SafetensorsFile> files_;
    std::map<std::string, std::size_t, std::less<>> where_;
};

// One tensor to write: a name, a shape, host data (float, double, int64_t or int32_t)
// and the dtype to store. Floating data may be stored as F64, F32, F16 or BF16
// (rounded to nearest even; the default is the data's own type); integer data only
// as its own dtype. The data must stay alive until save_safetensors returns.
struct TensorToSave {
    std::string name;
    std::vector<std::int64_t> shape;
    std::variant<const float*, const double*, const std::int64_t*, const std::int32_t*> data;
    SafetensorsDtype dtype;

    TensorToSave(std::string n, std::vector<std::int64_t> s, const float* d,
                 SafetensorsDtype t = SafetensorsDtype::F32)
        : name(std::move(n)), shape(std::move(s)), data(d), dtype(t) {}
    TensorToSave(std::string n, std::vector<std::int64_t> s, const double* d,
                 SafetensorsDtype t = SafetensorsDtype::F64)
        : name(std::move(n)), shape(std::move(s)), data(d), dtype(t) {}
    TensorToSave(std::string n, std::vector<std::int64_t> s, const std::int64_t* d)
        : name(std::move(n)), shape(std::move(s)), data(d), dtype(SafetensorsDtype::I64) {}
    TensorToSave(std::string n, std::vector<std::int64_t> s, const std::int32_t* d)
        : name(std::move(n)), shape(std::move(s)), data(d), dtype(SafetensorsDtype::I32) {}
};

}  // namespace tandem::io

namespace tandem::detail {

// Streams one tensor's data in its stored dtype, a block at a time.
inline void write_tensor_data(std::ostream& out, const io::TensorToSave& t, std::size_t numel) {
    using io::SafetensorsDtype;
    constexpr std::size_t block = 1 << 14;
    std::vector<std::byte> buffer;
    std::visit(
        [&](const auto* src) {
            using Src = std::remove_const_t<std::remove_pointer_t<decltype(src)>>;
            const std::size_t esize = io::element_size(t.dtype);
            buffer.resize(std::min(numel, block) * esize);
            for (std::size_t start = 0; start < numel; start += block) {
                const std::size_t n = std::min(block, numel - start);
                std::byte* dst = buffer.data();
                for (std::size_t i = 0; i < n; ++i) {
                    const Src v = src[start + i];
                    if constexpr (std::is_floating_point_v<Src>) {
                        switch (t.dtype) {
                            case SafetensorsDtype::F64: {
                                const double d = v;
                                std::memcpy(dst + 8 * i, &d, 8);
                                break;
                            }
                            case SafetensorsDtype::F32: {
                                const float f = static_cast<float>(v);
                                std::memcpy(dst + 4 * i, &f, 4);
                                break;
                            }
                            case SafetensorsDtype::F16: {
                                const auto h = double_to_f16(v);
                                std::memcpy(dst + 2 * i, &h, 2);
                                break;
                            }
                            default: {
                                const auto b = double_to_bf16(v);
                                std::memcpy(dst + 2 * i, &b, 2);
                                break;
                            }
                        }
                    } else {
                        std::memcpy(dst + sizeof(Src) * i, &v, sizeof(Src));
                    }
                }
                out.write(reinterpret_cast<const char*>(buffer.data()), std::streamsize(n * esize));
            }
        },
        t.data);
}

inline bool can_store(const io::TensorToSave& t) {
    using io::SafetensorsDtype;
    if (std::holds_alternative<const std::int64_t*>(t.data)) return t.dtype == SafetensorsDtype::I64;
    if (std::holds_alternative<const std::int32_t*>(t.data)) return t.dtype == SafetensorsDtype::I32;
    return t.dtype == SafetensorsDtype::F64 || t.dtype == SafetensorsDtype::F32 ||
           t.dtype == SafetensorsDtype::F16 || t.dtype == SafetensorsDtype::BF16;
}

}  // namespace tandem::detail

namespace tandem::io {

// Writes a safetensors file exactly as the reference writer (safetensors 0.4,
// save_file / save_pretrained) does: tensors ordered by descending dtype then name,
// compact JSON header {"__metadata__":{...},"name":{"dtype","shape","data_offsets"}}
// (metadata in the order given) padded with spaces to a multiple of 8 bytes, data
// packed without gaps. Every entry
// is checked before anything is written, and the file is replaced atomically: on
// any error the previous file at `path` is untouched.
inline void save_safetensors(const std::filesystem::path& path, const std::vector<TensorToSave>& tensors,
                             const SafetensorsMetadata& metadata = {}) {
    const auto fail = [&](const auto&... parts) { detail::throw_error(path.string(), ": ", parts...); };
    const auto quoted = [&](const std::string& s, const std::string& what) -> std::string {
        try {
            return nlohmann::json(s).dump();
        } catch (const nlohmann::json::type_error&) {
            detail::throw_error(path.string(), ": ", what, " is not valid UTF-8");
        }
    };

    std::vector<const TensorToSave*> order;
    std::vector<std::size_t> numel(tensors.size());
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto& t = tensors[i];
        if (t.name.empty()) fail("tensor #", i, " has an empty name");
        if (t.name == "__metadata__")
            fail("'__metadata__' is reserved for the metadata and cannot name a tensor");
        if (!names.insert(t.name).second) fail("tensor '", t.name, "' is given twice");
        for (auto d : t.shape)
            if (d < 0)
                fail("tensor '", t.name, "': shape ", detail::shape_string(t.shape),
                     " has a negative dimension");
        const auto bytes = detail::checked_nbytes(t.shape, element_size(t.dtype));
        if (!bytes) fail("tensor '", t.name, "': shape ", detail::shape_string(t.shape), " is too large");
        numel[i] = *bytes / element_size(t.dtype);
        if (!detail::can_store(t)) {
            fail("tensor '", t.name, "': cannot store ",
                 std::visit(
                     [](const auto* p) {
                         return detail::element_type_name<std::remove_cvref_t<decltype(*p)>>();
                     },
                     t.data),
                 " data as ", to_string(t.dtype));
        }
        if (numel[i] > 0 && std::visit([](const auto* p) { return p == nullptr; }, t.data)) {
            fail("tensor '", t.name, "': data pointer is null for ", numel[i], " elements");
        }
        order.push_back(&t);
    }
    std::sort(order.begin(), order.end(), [](const TensorToSave* a, const TensorToSave* b) {
        if (a->dtype != b->dtype) return a->dtype > b->dtype;
        return a->name < b->name;
    });

    std::string header = "{";
    std::set<std::string_view> metadata_keys;
    for (const auto& [k, v] : metadata)
        if (!metadata_keys.insert(k).second) fail("metadata key '", k, "' is given twice");
    if (!metadata.empty()) {
        header += "\"__metadata__\":{";
        bool first = true;
        for (const auto& [k, v] : metadata) {
            header += (first ? "" : ",") + quoted(k, "metadata key") + ":" +
                      quoted(v, "metadata value of '" + k + "'");
            first = false;
        }
        header += "},";
    }
    std::size_t offset = 0;
    for (const auto* t : order) {
        const std::size_t i = static_cast<std::size_t>(t - tensors.data());
        const std::size_t nbytes = numel[i] * element_size(t->dtype);
        header += quoted(t->name, "tensor name '" + t->name + "'") + ":{\"dtype\":\"" +
                  std::string(to_string(t->dtype)) + "\",\"shape\":[";
        for (std::size_t d = 0; d < t->shape.size(); ++d)
            header += (d ? "," : "") + std::to_string(t->shape[d]);
        header +=
            "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + nbytes) + "]},";
        offset += nbytes;
    }
    if (header.back() == ',') header.pop_back();
    header += "}";
    header.append((8 - header.size() % 8) % 8, ' ');

    atomic_write(path, [&](std::ostream& out) {
        const std::uint64_t len = header.size();
        out.write(reinterpret_cast<const char*>(&len), 8);
        out.write(header.data(), std::streamsize(header.size()));
        for (const auto* t : order)
            detail::write_tensor_data(out, *t, numel[static_cast<std::size_t>(t - tensors.data())]);
    });
}

}  // namespace tandem::io
