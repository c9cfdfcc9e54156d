// The training layer: SentenceTransformerTrainingArguments, the SentenceTransformerTrainer
// loop, callbacks and early stopping, progress output and checkpoints that resume exactly.
#pragma once

#include <tandem/train/arguments.hpp>
#include <tandem/train/callbacks.hpp>
#include <tandem/train/checkpoint.hpp>
#include <tandem/train/model_encoder.hpp>
#include <tandem/train/progress.hpp>
#include <tandem/train/trainer.hpp>
