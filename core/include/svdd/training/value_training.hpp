// The trainer "value_network": fits the value network of SVDD-MC (Li et al.
// 2024, arXiv:2408.08252, section 4.2). It rolls out the pretrained model,
// labels every recorded x_t with the reward r(x_0) of the rollout it belongs
// to, splits by rollout (never by state) into training and held-out sets,
// and regresses v_theta(x_t, t) on r(x_0) with Adam and mean squared error.
// The architecture is a registered value network ([training.network], core's
// "mlp" by default; plugins register their domains'), optionally warm-started
// from another checkpoint's tensors of the same names and shapes (the
// pretrained denoiser), with early stopping on the held-out loss (patience).
//
// Its training file is like every other (trainer.hpp): [training] type =
// "value_network" with the model and reward as nested tables
// [training.model] and [training.reward] (as in a run file's [model] and
// [reward]). It writes, beside the checkpoint NAME.pt:
//   NAME.card.toml      what the network was trained for and how well it
//                       predicts held-out rewards (per time bucket)
//   NAME.resume.pt      the epoch loop's state after every epoch
//   NAME.rollouts.pt    the labelled rollouts, reused by a resume and by any
//                       training of the same model, reward, rollout plan and
//                       seed (another architecture or fit skips sampling)
// Its learning rate is constant, so `epochs` may grow on --resume.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "svdd/export.hpp"
#include "svdd/registry.hpp"
#include "svdd/training/value_training_report.hpp"  // the card's [results]
