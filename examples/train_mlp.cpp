// Trains a two-layer MLP on the XOR task with tandem's autograd and AdamW, and prints
// the loss as it falls. Run: build/examples/train_mlp [steps]
#include <cstdio>
#include <cstdlib>

#include "mlp/xor_task.hpp"

int main(int argc, char** argv) {
    const int steps = argc > 1 ? std::atoi(argv[1]) : 300;
    const auto losses = xor_task::train(steps, /*seed=*/42);
    std::printf("training a 2-16-2 MLP on XOR of signs (256 points, AdamW lr 0.03)\n");
    for (int step = 0; step < steps; ++step)
        if (step % 25 == 0 || step == steps - 1) std::printf("step %4d  loss %.5f\n", step, losses[step]);
    std::printf("loss fell from %.4f to %.4f\n", losses.front(), losses.back());
    return losses.back() < losses.front() ? 0 : 1;
}
