// The out-of-line destructors and default behaviours of the component
// interfaces (diffusion_model.hpp, reward_oracle.hpp, value_estimator.hpp,
// method.hpp, sample_set_metric.hpp): one home for their vtables and type
// info, shared by core and every plugin.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "svdd/diffusion_model.hpp"
#include "svdd/error.hpp"
#include "svdd/method.hpp"
#include "svdd/reward_oracle.hpp"
#include "svdd/sample_set_metric.hpp"
#include "svdd/value_estimator.hpp"

namespace svdd {

Transition::~Transition() = default;

at::Tensor Transition::sample_tilted(int64_t, at::Generator&, const at::Tensor&) {
  throw InputError("this model's transition cannot be tilted (discrete masked diffusion only)");
}

ExactDistribution::~ExactDistribution() = default;
DiffusionModel::~DiffusionModel() = default;
RewardOracle::~RewardOracle() = default;
SampleSetMetric::~SampleSetMetric() = default;
std::optional<Spectrum> SampleSetMetric::spectrum(const std::vector<std::string>&) {
  return std::nullopt;
}
ValueEstimator::~ValueEstimator() = default;
DecodeContext::~DecodeContext() = default;
Method::~Method() = default;

namespace {

class PerSampleReward final : public RewardOracle {
 public:
  PerSampleReward(std::function<double(const std::string&)> score, double invalid)
      : score_(std::move(score)), invalid_(invalid) {}
  at::Tensor score(const Samples& samples) override {
    const auto& texts = samples.decoded();
    at::Tensor out = at::empty({samples.size()}, at::kDouble);
    double* values = out.data_ptr<double>();
    for (size_t i = 0; i < texts.size(); ++i) values[i] = score_(texts[i]);
    return out;
  }
  double invalid_value() const override { return invalid_; }

 private:
  std::function<double(const std::string&)> score_;
  double invalid_;
};

}  // namespace

std::unique_ptr<RewardOracle> per_sample_reward(std::function<double(const std::string&)> score,
                                                double invalid_value) {
  return std::make_unique<PerSampleReward>(std::move(score), invalid_value);
}

void check_numeric_failures(std::string_view reward, int64_t failures, int64_t samples) {
  if (samples <= 0 || double(failures) <= kMostNumericFailureShare * double(samples)) return;
  throw RuntimeFailure(
      fmt::format("{}: {} of {} samples scored NaN or infinity, more than the {:.0f}% a reward may "
                  "replace by its invalid value; the reward is broken (a NaN network, an overflow)",
                  reward, failures, samples, 100 * kMostNumericFailureShare));
}

at::Tensor Method::propose(Transition& transition, const at::Tensor&, int, DecodeContext& context) {
  return transition.sample(candidates_per_particle(), context.generator());
}

at::Tensor Method::select(const StepCandidates& candidates, DecodeContext&) {
  return at::arange(candidates.parents.size(0), at::kLong) * candidates.per_parent;
}

}  // namespace svdd
