// expect: SentenceTransformerTrainer: the model must provide encode_text(Graph&, const TextBatch<B>&) and/or
// encode_image(Graph&, const Var<B, T>&) returning embeddings [batch, dim]
#include <tandem/backend/cpu.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/train/trainer.hpp>

using namespace tandem;

// A model that can be trained and saved but encodes nothing.
struct NoEncoder {
    using backend_type = Cpu;
    using value_type = float;
    template <class F>
    void for_each_parameter(F&&) const {}
    ParameterStore<Cpu, float>& parameters() const { return *store; }
    void save_pretrained(const std::filesystem::path&) const {}
    ParameterStore<Cpu, float>* store;
};

int main() {
    ParameterStore<Cpu, float> store;
    NoEncoder model{&store};
    SentenceTransformerTrainer trainer(model, SentenceTransformerTrainingArguments{}, data::Dataset{},
                                       MultipleNegativesRankingLoss<Cpu, float>{},
                                       data::Collator(std::nullopt, std::nullopt, {}));
}
