// expect: SentenceTransformerTrainer: the loss must be callable as loss(Graph<B, T>&, columns, LossLabels<B,
// T>) -> Var<B, T>
#include <tandem/backend/cpu.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/train/trainer.hpp>

using namespace tandem;

// A loss that returns a double instead of a Var: backward has nothing to start from.
struct ValueLoss {
    double operator()(Graph<Cpu, float>&, const std::vector<Var<Cpu, float>>&,
                      const LossLabels<Cpu, float>&) const {
        return 0;
    }
};

int main() {
    CLIPModel<Cpu, float> model(io::CLIPConfig{});
    SentenceTransformerTrainer trainer(model, SentenceTransformerTrainingArguments{}, data::Dataset{},
                                       ValueLoss{}, data::Collator(std::nullopt, std::nullopt, {}));
}
