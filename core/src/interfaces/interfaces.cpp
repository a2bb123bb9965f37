// The out-of-line destructors and default behaviours of the component
// interfaces (diffusion_model.hpp, reward_oracle.hpp, value_estimator.hpp,
// method.hpp, sample_set_metric.hpp): one home for their vtables and type
// info, shared by core and every plugin.
#include <ATen/ATen.h>

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
ValueEstimator::~ValueEstimator() = default;
DecodeContext::~DecodeContext() = default;
Method::~Method() = default;

at::Tensor Method::propose(Transition& transition, const at::Tensor&, int, DecodeContext& context) {
  return transition.sample(candidates_per_particle(), context.generator());
}

at::Tensor Method::select(const StepCandidates& candidates, DecodeContext&) {
  return at::arange(candidates.parents.size(0), at::kLong) * candidates.per_parent;
}

}  // namespace svdd
