// The value_network trainer's [results] on its card (see
// value_training_report.hpp).
#include "svdd/training/value_training_report.hpp"

#include <fmt/format.h>

#include "config/toml_config.hpp"
#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"

namespace svdd {
namespace {

std::vector<double> doubles_of(const toml::node* node) {
  std::vector<double> out;
  if (const toml::array* array = node ? node->as_array() : nullptr) {
    for (const auto& v : *array) out.push_back(v.value_or(double(NAN)));
  }
  return out;
}

}  // namespace

std::string value_results_toml(int64_t network_parameters, const ValueTrainingReport& report) {
  toml::table results;
  results.insert("epochs", report.epochs);
  results.insert("resumed_after_epoch", report.first_epoch);
  results.insert("network_parameters", network_parameters);
  results.insert("train_rollouts", report.train_rollouts);
  results.insert("heldout_rollouts", report.heldout_rollouts);
  results.insert("train_states", report.train_states);
  results.insert("heldout_states", report.heldout_states);
  // The losses of the epoch whose weights were kept.
  auto at_best = [&](const std::vector<double>& series) {
    const int64_t i = report.best_epoch - 1;
    return i >= 0 && i < int64_t(series.size()) ? series[i] : NAN;
  };
  results.insert("best_epoch", report.best_epoch);
  results.insert("train_loss", at_best(report.train_loss));
  results.insert("heldout_loss", at_best(report.heldout_loss));
  results.insert("warm_started_parameters", report.warm_started);
  results.insert("initial_heldout_loss", report.initial_heldout_loss);
  results.insert("heldout_reward_variance", report.heldout_variance);
  results.insert("heldout_correlation", report.heldout_correlation);
  results.insert("posterior_mean_correlation", report.posterior_mean_correlation);
  toml::array train_loss, heldout_loss, buckets;
  for (double v : report.train_loss) train_loss.push_back(v);
  for (double v : report.heldout_loss) heldout_loss.push_back(v);
  results.insert("train_loss_per_epoch", train_loss);
  results.insert("heldout_loss_per_epoch", heldout_loss);
  results.insert("rollout_seconds", report.rollout_seconds);
  results.insert("training_seconds", report.training_seconds);
  for (const auto& b : report.buckets) {
    buckets.push_back(toml::table{{"first_step", b.first_step},
                                  {"last_step", b.last_step},
                                  {"states", b.states},
                                  {"correlation", b.correlation},
                                  {"mse", b.mse}});
  }
  results.insert("buckets", buckets);
  return section_text({"results"}, results);
}

ValueTrainingReport read_value_training_report(const std::filesystem::path& checkpoint) {
  const auto card = card_path(checkpoint);
  toml::table root;
  try {
    root = toml::parse_file(card.string());
  } catch (const toml::parse_error& e) {
    throw InputError(fmt::format("{}: TOML syntax error: {}", card.string(), e.description()));
  }
  const toml::table* r = root["results"].as_table();
  if (!r) throw InputError(fmt::format("{}: no [results] table", card.string()));
  const toml::table& results = *r;
  ValueTrainingReport report;
  report.checkpoint = checkpoint;
  report.card = card;
  report.first_epoch = results["resumed_after_epoch"].value_or(int64_t{0});
  report.epochs = results["epochs"].value_or(int64_t{0});
  report.initial_heldout_loss = results["initial_heldout_loss"].value_or(double(NAN));
  report.best_epoch = results["best_epoch"].value_or(report.epochs);
  report.warm_started = results["warm_started_parameters"].value_or(int64_t{0});
  report.train_loss = doubles_of(results.get("train_loss_per_epoch"));
  report.heldout_loss = doubles_of(results.get("heldout_loss_per_epoch"));
  report.heldout_variance = results["heldout_reward_variance"].value_or(double(NAN));
  report.heldout_correlation = results["heldout_correlation"].value_or(double(NAN));
  report.posterior_mean_correlation = results["posterior_mean_correlation"].value_or(double(NAN));
  report.train_rollouts = results["train_rollouts"].value_or(int64_t{0});
  report.heldout_rollouts = results["heldout_rollouts"].value_or(int64_t{0});
  report.train_states = results["train_states"].value_or(int64_t{0});
  report.heldout_states = results["heldout_states"].value_or(int64_t{0});
  report.rollout_seconds = results["rollout_seconds"].value_or(0.0);
  report.training_seconds = results["training_seconds"].value_or(0.0);
  if (const toml::array* buckets = results["buckets"].as_array()) {
    for (const auto& node : *buckets) {
      const toml::table* b = node.as_table();
      if (!b) continue;
      ValueBucketReport bucket;
      bucket.first_step = (*b)["first_step"].value_or(int64_t{0});
      bucket.last_step = (*b)["last_step"].value_or(int64_t{0});
      bucket.states = (*b)["states"].value_or(int64_t{0});
      bucket.correlation = (*b)["correlation"].value_or(double(NAN));
      bucket.mse = (*b)["mse"].value_or(double(NAN));
      report.buckets.push_back(bucket);
    }
  }
  return report;
}

}  // namespace svdd
