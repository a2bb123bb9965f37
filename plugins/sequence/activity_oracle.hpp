// Activity oracles of the sequence plugin: a convolutional regressor of a
// sequence's measured activity (HepG2 enhancer activity of 200-bp DNA, mean
// ribosome load of 50-nt 5'UTRs), trained by `svdd train` and used as a
// reward. Each task has two oracles, trained on disjoint element halves of
// the training split (train_a guides, train_b is held out for evaluation),
// so a design that fools the guiding oracle is exposed by the other one.
//
// Registers the trainer `sequence.train_oracle` and the reward
// `sequence.oracle`. The network, its training loop and the reward live in
// activity_oracle.cpp; this header keeps libtorch out of its includers.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "svdd/params.hpp"
#include "svdd/registry.hpp"

namespace svdd::sequence {

// sequence.train_oracle and sequence.oracle.
void register_sequence_oracle(Registry& registry);

// The reward of a checkpoint written by sequence.train_oracle (and its card
// beside it), checked against `domain`: its first four letters and its
// length must be the card's, else InputError naming both. What the registry
// builds for [reward] type = "sequence.oracle".
std::unique_ptr<RewardOracle> load_sequence_oracle(const std::filesystem::path& checkpoint,
                                                   const BuildContext& build, const Domain& domain);

// [results] of an oracle's card.
struct OracleResults {
  int64_t parameters = 0;
  int64_t epochs = 0;
  int64_t best_epoch = 0;  // 1-based: the epoch whose weights were kept
  int64_t train_rows = 0, validation_rows = 0, test_rows = 0;
  std::vector<double> train_loss_per_epoch;       // standardised MSE
  std::vector<double> validation_loss_per_epoch;  // standardised MSE
  std::vector<double> validation_pearson_per_epoch;
  double initial_validation_loss = NAN;  // before the first step
  double validation_pearson = NAN;       // at best_epoch
  double test_pearson = NAN, test_spearman = NAN;
  double training_seconds = 0;

  void visit(ParamVisitor& v);
};

}  // namespace svdd::sequence
