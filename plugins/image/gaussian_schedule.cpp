#include "gaussian_schedule.hpp"

namespace svdd::image {

void visit_training_schedule(ParamVisitor& v, GaussianDiffusionOptions& o) {
  v.field("train_steps", o.train_steps, "N: DDPM timesteps the network was trained on");
  v.in_range("train_steps", o.train_steps, 1, 100000);
  v.field("schedule", o.schedule,
          "noise schedule: \"linear\" (beta_start..beta_end) or \"cosine\"");
  v.require(o.schedule == "linear" || o.schedule == "cosine", "schedule",
            "must be \"linear\" or \"cosine\"");
  v.field("beta_start", o.beta_start, "first beta of the linear schedule");
  v.field("beta_end", o.beta_end, "last beta of the linear schedule");
  v.require(o.beta_start > 0 && o.beta_start <= o.beta_end && o.beta_end < 1, "beta_end",
            "needs 0 < beta_start <= beta_end < 1");
  v.field("prediction", o.prediction, "what the network predicts: \"epsilon\" (noise) or \"x0\"");
  v.require(o.prediction == "epsilon" || o.prediction == "x0", "prediction",
            "must be \"epsilon\" or \"x0\"");
}

void visit_sampling(ParamVisitor& v, GaussianDiffusionOptions& o) {
  v.field("steps", o.steps, "T: DDIM sampling steps, evenly spaced over the N training timesteps");
  v.require(o.steps >= 1 && o.steps <= o.train_steps, "steps", "must be in [1, train_steps]");
  v.field("eta", o.eta,
          "DDIM stochasticity: 1 is DDPM-like ancestral sampling, 0 deterministic (SVDD and SMC "
          "need eta > 0 for their candidates to differ)");
  v.in_range("eta", o.eta, 0, 1);
  v.field("clip_x0", o.clip_x0,
          "clamp the predicted clean image to [-clip_x0, clip_x0] (0: no clamp; images live in "
          "[-1, 1])");
  v.non_negative("clip_x0", o.clip_x0);
}

}  // namespace svdd::image
