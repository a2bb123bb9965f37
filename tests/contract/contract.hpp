// The contract every component keeps, as shared test bodies: one body per
// kind (model, reward, metric, trainer, value network) that each plugin's
// tests/contract/contract_<plugin>.cpp instantiates for every component it
// registers, and core's for its toys and built-in rewards. Components are
// built through the Registry by name from TOML tables, the way `svdd run`
// and `svdd train` build them, so the suites test what users get.
//
// The bodies use Catch's CHECK/REQUIRE: call them inside a TEST_CASE.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "svdd/domain.hpp"
#include "svdd/registry.hpp"

namespace svdd::contract {

// A registry with core's components and, when given, one plugin's.
class Workshop {
 public:
  explicit Workshop(const std::function<void(Registry&)>& register_plugin = {});
  ~Workshop();

  // `table` is the text of the component's TOML table ("type = ...");
  // relative paths in it resolve against experiments/, as in the committed
  // experiment files ("models/dna_mdlm.pt").
  std::unique_ptr<DiffusionModel> model(const std::string& table) const;
  std::unique_ptr<RewardOracle> reward(const std::string& table, const Domain& domain) const;
  std::unique_ptr<SampleSetMetric> metric(const std::string& table, const Domain& domain) const;
  // Runs `svdd train` on a training file (absolute or relative to
  // experiments/) with `--set` overrides.
  void train(const std::string& training_file, const std::vector<std::string>& overrides) const;

  const Registry& registry() const { return registry_; }
  const BuildContext& build() const { return build_; }

 private:
  Registry registry_;
  BuildContext build_;
};

// A model must give priors, steps and children of the documented shapes and
// dtypes, take all its randomness from the generator, and end in clean
// samples. Walks the whole chain for `batch` samples.
void check_model(const Workshop& workshop, const std::string& table, int64_t batch = 2);

struct RewardCase {
  std::string table;
  Domain domain;     // a domain the reward fits
  at::Tensor valid;  // [B, ...] samples of `domain` it scores as valid
  // Further samples it must score invalid_value(), beside the ones every
  // reward gets: an all-mask token string (discrete), a NaN sample (continuous).
  at::Tensor invalid = {};
  std::vector<Domain> wrong_domains = {};  // domains it must refuse with InputError
  // False for a reward documented to score strings holding the mask token
  // (torchscript_reward passes the mask to the user's module): an all-mask
  // string then only needs a finite score, without an exception.
  bool mask_is_invalid = true;
};
// score() returns [B] finite floats for valid samples, the same on a second
// call and inside a larger batch, invalid_value() (never NaN, never an
// exception) for invalid ones; construction refuses the wrong domains.
void check_reward(const Workshop& workshop, const RewardCase& c);

struct MetricCase {
  std::string table;
  Domain domain;
  at::Tensor valid;  // [N, ...] samples of `domain`; the metric sees their decoded form
  std::vector<Domain> wrong_domains = {};
};
// compute() gives a finite figure on decoded valid samples, the same twice;
// an empty set and a set of invalid samples give a figure or NaN, never an
// exception; construction refuses the wrong domains.
void check_metric(const Workshop& workshop, const MetricCase& c);

// A training file, with an unknown key or a wrongly typed `output` set on
// its [training] table, is refused with an InputError naming the key, before
// any data is read.
void check_trainer(const Workshop& workshop, const std::string& training_file);

struct ValueNetworkCase {
  std::string table;           // the architecture's table: type = "...", ...
  Domain domain;               // a domain it is built for
  int num_steps = 16;          // T of the model the value would be trained on
  Domain other_domain;         // a domain its card must refuse
  bool differentiable = true;  // has a gradient in its input (classifier guidance)
  int epochs = 8;              // of the short fit on synthetic data
};
// A value-network architecture (ComponentKind::value_network) predicts [B]
// float32 for samples of its domain at every step, one row the same alone
// and in a batch, has gradients of the documented shape, lowers its held-out
// loss in a short fit on synthetic data (a share of token 0 under masking,
// or the mean of Gaussian samples), reloads from its checkpoint and card
// with the same predictions, and its card refuses another domain or T.
void check_value_network(const Workshop& workshop, const ValueNetworkCase& c);

// Every model, reward, metric and trainer `register_plugin` adds is one of
// `covered` (names); methods and values have their own suites.
void check_coverage(const std::function<void(Registry&)>& register_plugin,
                    const std::vector<std::string>& covered);

// The `type` of a component table's text.
std::string type_of(const std::string& table);

// A continuous domain of images {1, 28, 28} and a discrete one of DNA-like
// tokens, for refusals by components of the other kind.
Domain picture_domain();
Domain token_domain(int64_t length = 8);

// `n` clean samples of a model: its pretrained chain from the prior under a
// fixed seed.
at::Tensor draw(DiffusionModel& model, int64_t n, uint64_t seed);

}  // namespace svdd::contract
