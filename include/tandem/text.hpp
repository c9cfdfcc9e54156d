// Text tokenizers: Hugging Face tokenizer.json loading and encoding (BPE,
// WordPiece, Unigram, WordLevel), decoding and vocabulary training.
#pragma once

#include <tandem/text/tokenizer.hpp>
#include <tandem/text/trainer.hpp>
