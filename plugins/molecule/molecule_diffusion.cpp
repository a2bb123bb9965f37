#include "molecule_diffusion.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <unordered_set>

#include "molecule_data.hpp"
#include "selfies_transformer.hpp"
#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "svdd/training/masked_diffusion_training.hpp"
#include "svdd/util/clock.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd::molecule {
namespace {

// ---- the model -------------------------------------------------------------

struct MdlmParams {
  FilePath checkpoint;
  int steps = 64;  // int, as MaskedDiffusionOptions keeps it
  void visit(ParamVisitor& v) {
    v.field("checkpoint", checkpoint,
            "a denoiser written by `svdd train` with a molecule.train_mdlm file (its card beside "
            "it lists the SELFIES tokens and the length)");
    v.require(!checkpoint.path.empty(), "checkpoint", "is required");
    v.field("steps", steps, "T: reverse steps (each reveals about L/T tokens)");
    v.at_least("steps", steps, 1);
  }
};

// ---- the trainer -------------------------------------------------------------

struct TrainingParams {
  MoleculeDataParams data;
  int64_t max_length = 0;
  int64_t max_rows = 0;
  TransformerParams network;
  MaskedTrainingOptions optimisation{.epochs = 10, .batch_size = 128, .learning_rate = 1e-3};
  int64_t validation_rows = 512;
  int64_t sample_count = 512;
  int sample_steps = 64;

  void visit(ParamVisitor& v) {
    data.visit(v);
    v.field("max_length", max_length,
            "longest SELFIES kept, in tokens (0: the longest training molecule); longer ones are "
            "dropped and counted on the card");
    v.non_negative("max_length", max_length);
    v.field("max_rows", max_rows, "train on at most this many molecules (0: all)");
    v.non_negative("max_rows", max_rows);
    network.visit(v);
    optimisation.visit(v);
    v.field("validation_rows", validation_rows,
            "held-out molecules on which the bound is reported after each epoch");
    v.at_least("validation_rows", validation_rows, 1);
    v.field("sample_count", sample_count,
            "molecules sampled after training for the card's validity, uniqueness and novelty "
            "(0: none)");
    v.non_negative("sample_count", sample_count);
    v.field("sample_steps", sample_steps, "reverse steps of that sampling");
    v.at_least("sample_steps", sample_steps, 1);
  }
};

// [data] on the card.
struct DataCard {
  std::string file, sha1, column;
  int64_t rows_in_file = 0, invalid_rows = 0, train_molecules = 0, test_molecules = 0;
  int64_t dropped_train = 0, dropped_test = 0, split_seed = 0;
  double test_fraction = 0;
  void visit(ParamVisitor& v) {
    v.field("file", file, "the data table, relative to the data folder");
    v.field("sha1", sha1, "SHA-1 of the data table's bytes");
    v.field("column", column, "the SMILES column read");
    v.field("rows_in_file", rows_in_file, "rows the file holds");
    v.field("invalid_rows", invalid_rows, "SMILES RDKit refuses");
    v.field("train_molecules", train_molecules, "trained on");
    v.field("test_molecules", test_molecules, "held out (validation bound)");
    v.field("dropped_train", dropped_train, "not writable as SELFIES or longer than length");
    v.field("dropped_test", dropped_test, "the same, or with a token training never uses");
    v.field("split_seed", split_seed,
            "seed of the split of elements (or molecules) into train and test");
    v.field("test_fraction", test_fraction, "share held out for testing");
  }
};

// [results] on the card.
struct Results {
  int64_t parameters = 0, epochs = 0, steps = 0, validation_rows = 0;
  std::vector<double> train_loss_per_epoch, validation_nats_per_token_per_epoch;
  double initial_validation_nats_per_token = NAN, validation_nats_per_token = NAN;
  double validation_nats_per_molecule = NAN;
  int64_t samples = 0, sample_steps = 0;
  double sample_validity = NAN, sample_uniqueness = NAN, sample_novelty = NAN;
  double training_seconds = 0, sampling_seconds = 0;
  void visit(ParamVisitor& v) {
    v.field("parameters", parameters, "trainable parameters of the network");
    v.field("epochs", epochs, "epochs trained");
    v.field("steps", steps, "gradient steps");
    v.field("validation_rows", validation_rows,
            "rows held out to measure the fit after each epoch");
    v.field("train_loss_per_epoch", train_loss_per_epoch, "MDLM bound, nats per token");
    v.field("validation_nats_per_token_per_epoch", validation_nats_per_token_per_epoch,
            "the MDLM bound on the validation molecules after each epoch, nats per token");
    v.field("initial_validation_nats_per_token", initial_validation_nats_per_token,
            "before training");
    v.field("validation_nats_per_token", validation_nats_per_token,
            "the MDLM bound on the validation molecules after the last epoch, nats per token");
    v.field("validation_nats_per_molecule", validation_nats_per_molecule,
            "the bound on -log p(molecule's padded SELFIES)");
    v.field("samples", samples, "samples drawn for the card's figures");
    v.field("sample_steps", sample_steps, "denoising steps of those samples");
    v.field("sample_validity", sample_validity, "share of samples that are molecules");
    v.field("sample_uniqueness", sample_uniqueness, "distinct / valid");
    v.field("sample_novelty", sample_novelty,
            "share of distinct valid samples not among the training molecules");
    v.field("training_seconds", training_seconds, "wall time of the training, in seconds");
    v.field("sampling_seconds", sampling_seconds,
            "wall time of drawing the card's samples, in seconds");
  }
};

// Up to `n` rows of `x`, chosen by random stream `stream`.
at::Tensor some_rows(const at::Tensor& x, int64_t n, int64_t seed, const std::string& stream) {
  if (n <= 0 || n >= x.size(0)) return x;
  return x.index_select(
      0, at::randperm(x.size(0), stream_generator(seed, stream), at::kLong).slice(0, 0, n));
}

void train_mdlm(const TrainingParams& p, const TrainContext& context) {
  const auto& build = context.build;
  MoleculeSplit split = load_molecule_split(p.data, build.data_dir);
  int64_t length = 0;
  SelfiesDomainCard domain_card;
  domain_card.tokens = selfies_vocabulary(split.train, p.max_length, length);
  domain_card.length = length;
  if (length == 0) {
    throw InputError(
        fmt::format("{}: no training molecule could be written as SELFIES", split.file.string()));
  }
  const TokenTable train = tokenize(split.train, domain_card.tokens, length);
  const TokenTable test = tokenize(split.test, domain_card.tokens, length);
  const Domain domain = selfies_domain(domain_card);
  svdd::logger("molecule")
      ->info(
          "{}: {} training molecules ({} dropped), {} test ({} dropped); {} SELFIES tokens, "
          "length {}",
          split.file.string(), train.smiles.size(), train.dropped, test.smiles.size(), test.dropped,
          domain_card.tokens.size(), length);

  const at::Tensor x_train = some_rows(train.tokens, p.max_rows, context.seed, "rows");
  const at::Tensor x_val =
      some_rows(test.tokens, p.validation_rows, context.seed, "validation_rows");
  at::manual_seed(stream_seed(context.seed, "init", 0));
  auto net = std::make_shared<SelfiesTransformer>(p.network, domain.vocab_size, length);
  net->to(build.device);
  Results results;
  results.parameters = net->parameter_count();
  results.validation_rows = x_val.size(0);
  svdd::logger("molecule")
      ->info("denoiser: {} parameters; {} training rows", results.parameters, x_train.size(0));

  MaskedTrainingOptions options = p.optimisation;
  options.chunk_rows = build.chunk_rows;
  options.device = build.device;
  options.seed = context.seed;
  options.state = training_state(context);
  const MaskedTrainingHistory history =
      train_masked_denoiser(*net, x_train, x_val, domain.mask_id, options);
  results.epochs = p.optimisation.epochs;
  results.steps = history.steps;
  results.training_seconds = history.seconds;
  results.train_loss_per_epoch = history.train_loss_per_epoch;
  results.validation_nats_per_token_per_epoch = history.validation_nats_per_token_per_epoch;
  results.initial_validation_nats_per_token = history.initial_validation_nats_per_token;
  results.validation_nats_per_token = history.validation_nats_per_token_per_epoch.back();
  results.validation_nats_per_molecule = results.validation_nats_per_token * double(length);

  if (p.sample_count > 0) {
    const auto start = std::chrono::steady_clock::now();
    const at::Tensor samples = sample_masked_diffusion(
        net, domain, p.sample_count, p.sample_steps, context.seed, build.chunk_rows, build.device);
    const std::vector<std::string> smiles = domain.decode(samples);
    std::unordered_set<std::string> training(split.train.begin(), split.train.end());
    std::unordered_set<std::string> distinct;
    int64_t valid = 0;
    for (const auto& s : smiles) {
      if (s.empty()) continue;
      ++valid;
      distinct.insert(s);
    }
    int64_t novel = 0;
    for (const auto& s : distinct) novel += training.count(s) == 0;
    results.samples = p.sample_count;
    results.sample_steps = p.sample_steps;
    results.sample_validity = double(valid) / double(smiles.size());
    results.sample_uniqueness = valid > 0 ? double(distinct.size()) / double(valid) : NAN;
    results.sample_novelty = distinct.empty() ? NAN : double(novel) / double(distinct.size());
    results.sampling_seconds = seconds_since(start);
    svdd::logger("molecule")
        ->info("{} samples ({} steps): validity {:.4f}, uniqueness {:.4f}, novelty {:.4f}",
               p.sample_count, p.sample_steps, results.sample_validity, results.sample_uniqueness,
               results.sample_novelty);
    for (size_t i = 0; i < std::min<size_t>(5, smiles.size()); ++i) {
      svdd::logger("molecule")->info("  sample {}: {}", i, smiles[i]);
    }
  }

  auto tmp = context.checkpoint;
  tmp += ".tmp";
  net->save(tmp);
  std::filesystem::rename(tmp, context.checkpoint);
  DataCard data_card{split.file.string(),
                     split.sha1,
                     p.data.column,
                     split.rows_in_file,
                     split.invalid_rows,
                     static_cast<int64_t>(train.smiles.size()),
                     static_cast<int64_t>(test.smiles.size()),
                     train.dropped,
                     test.dropped,
                     p.data.split_seed,
                     p.data.test_fraction};
  TransformerParams network = p.network;
  write_training_card(
      context,
      fmt::format("Card of the SELFIES masked-diffusion denoiser {} (molecule.train_mdlm).\n"
                  "Use it with [model] type = \"molecule.mdlm\", checkpoint = \"{}\".\n"
                  "[network] and [domain] are read back to rebuild the network; [results]\n"
                  "bounds are in nats per token (padding included).",
                  context.checkpoint.filename().string(), context.checkpoint.filename().string()),
      params_section("network", [&](ParamVisitor& v) { network.visit(v); }) +
          params_section("domain", [&](ParamVisitor& v) { domain_card.visit(v); }) +
          params_section("data", [&](ParamVisitor& v) { data_card.visit(v); }) +
          params_section("results", [&](ParamVisitor& v) { results.visit(v); }));
  svdd::logger("molecule")
      ->info("wrote {} and {}", context.checkpoint.string(),
             card_path(context.checkpoint).string());
}

}  // namespace

void register_molecule_diffusion(Registry& registry) {
  registry.add<svdd::ComponentKind::model, MdlmParams>(
      "molecule.mdlm",
      "masked diffusion (MDLM, log-linear schedule) over SELFIES tokens with a trained "
      "transformer denoiser; every sample decodes to a valid molecule",
      [](const MdlmParams& p, const BuildContext& build) {
        LoadedTransformer loaded = load_selfies_transformer(p.checkpoint.path, build.device);
        MaskedDiffusionOptions options;
        options.steps = p.steps;
        options.chunk_rows = build.chunk_rows;
        options.device = build.device;
        return make_masked_diffusion(selfies_domain(loaded.domain), loaded.denoiser, options);
      });
  registry.add<svdd::ComponentKind::trainer, TrainingParams>(
      "molecule.train_mdlm",
      "trains the SELFIES transformer denoiser of a molecule.mdlm model on a table of SMILES",
      train_mdlm);
}

}  // namespace svdd::molecule
