// tandem/infer: SentenceTransformer, a model with its tokenizer, image processor and
// folder settings for encoding and similarity, and the loader that builds one from a
// sentence-transformers or Hugging Face folder.
#pragma once

#include <tandem/infer/load.hpp>
#include <tandem/infer/sentence_transformer.hpp>
