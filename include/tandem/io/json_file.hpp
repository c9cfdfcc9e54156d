// Reading and writing the JSON files of a Hugging Face model folder (config.json,
// tokenizer_config.json, preprocessor_config.json, model.safetensors.index.json):
// the io names of the one checked reader and writer in core/detail/json.hpp, whose
// errors name the file and the dotted key path.
#pragma once

#include <tandem/core/detail/json.hpp>
#include <tandem/io/detail/atomic_file.hpp>

namespace tandem::io {

using detail::JsonObjectReader;
using detail::read_json_file;
using detail::write_json_file;

}  // namespace tandem::io
