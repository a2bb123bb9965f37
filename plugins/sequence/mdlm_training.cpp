// `svdd train` for the sequence plugin's masked diffusion models: fits a
// ConvDenoiser to a table of sequences with the MDLM objective (Sahoo et al.
// 2024, eq. 10; core's masked_diffusion_loss), reports the validation bound
// on held-out elements after every epoch, and checks the k-mer spectrum of
// sequences sampled from the trained model against them.
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "conv_denoiser.hpp"
#include "kmer_statistics.hpp"
#include "sequence_data.hpp"
#include "sequence_diffusion.hpp"
#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "svdd/util/clock.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd::sequence {
namespace {

// The mask token of the nucleotide domains (after A, C, G, T/U).
constexpr int64_t kMaskId = 4;

struct MdlmTrainingParams {
  SequenceDataParams data;
  std::string part = "train";
  int64_t max_rows = 0;
  ConvDenoiserParams network;
  MaskedTrainingOptions optimisation{.epochs = 6, .batch_size = 128, .learning_rate = 2e-3};
  int64_t validation_rows = 512;
  int64_t sample_count = 256;
  int sample_steps = 64;

  void visit(ParamVisitor& v) {
    data.visit(v, /*with_target=*/false);
    v.field("part", part, "rows to train on: train (all but the test elements), train_a, train_b");
    v.require(part == "train" || part == "train_a" || part == "train_b", "part",
              "must be train, train_a or train_b (test elements stay held out)");
    v.field("max_rows", max_rows, "use at most this many training rows (0: all)");
    v.non_negative("max_rows", max_rows);
    network.visit(v);
    optimisation.visit(v);
    v.field("validation_rows", validation_rows,
            "test-element rows on which the bound is reported after each epoch");
    v.at_least("validation_rows", validation_rows, 1);
    v.field("sample_count", sample_count,
            "sequences sampled after training for the card's k-mer check (0: none)");
    v.non_negative("sample_count", sample_count);
    v.field("sample_steps", sample_steps, "reverse steps of that sampling");
    v.at_least("sample_steps", sample_steps, 1);
  }
};

// [data] on the card.
struct DataCard {
  std::string file, sha1, part;
  int64_t rows = 0, elements = 0, split_seed = 0;
  double test_fraction = 0;
  void visit(ParamVisitor& v) {
    v.field("file", file, "the data table, relative to the data folder");
    v.field("sha1", sha1, "SHA-1 of the data table's bytes");
    v.field("part", part, "the part of the table trained on (train, train_a or train_b)");
    v.field("rows", rows, "rows read");
    v.field("elements", elements,
            "distinct elements in those rows (the split keeps an element's rows together)");
    v.field("split_seed", split_seed,
            "seed of the split of elements (or molecules) into train and test");
    v.field("test_fraction", test_fraction, "share held out for testing");
  }
};

// [results] on the card.
struct MdlmResults {
  int64_t parameters = 0, epochs = 0, steps = 0, validation_rows = 0;
  std::vector<double> train_loss_per_epoch, validation_nats_per_base_per_epoch;
  double initial_validation_nats_per_base = NAN;
  double validation_nats_per_base = NAN, validation_bits_per_base = NAN;
  int64_t samples = 0, sample_steps = 0;
  double sample_kmer3_correlation = NAN, training_seconds = 0, sampling_seconds = 0;
  void visit(ParamVisitor& v) {
    v.field("parameters", parameters, "trainable parameters of the network");
    v.field("epochs", epochs, "epochs trained");
    v.field("steps", steps, "gradient steps");
    v.field("validation_rows", validation_rows,
            "rows held out to measure the fit after each epoch");
    v.field("train_loss_per_epoch", train_loss_per_epoch, "MDLM bound, nats per base");
    v.field("validation_nats_per_base_per_epoch", validation_nats_per_base_per_epoch,
            "the MDLM bound on the validation rows after each epoch, nats per base");
    v.field("initial_validation_nats_per_base", initial_validation_nats_per_base,
            "before training");
    v.field("validation_nats_per_base", validation_nats_per_base,
            "the MDLM bound on the validation rows after the last epoch, nats per base");
    v.field("validation_bits_per_base", validation_bits_per_base, "uniform letters: 2");
    v.field("samples", samples, "samples drawn for the card's figures");
    v.field("sample_steps", sample_steps, "denoising steps of those samples");
    v.field("sample_kmer3_correlation", sample_kmer3_correlation,
            "3-mer frequencies of the samples vs the test elements");
    v.field("training_seconds", training_seconds, "wall time of the training, in seconds");
    v.field("sampling_seconds", sampling_seconds,
            "wall time of drawing the card's samples, in seconds");
  }
};

void train_mdlm(const MdlmTrainingParams& p, const TrainContext& context) {
  const auto& build = context.build;
  SequenceData train = load_sequence_data(p.data, build.data_dir, split_part_from(p.part));
  SequenceData test = load_sequence_data(p.data, build.data_dir, SplitPart::test);
  torch::Tensor x_train = train.tokens;
  if (p.max_rows > 0 && p.max_rows < x_train.size(0)) {
    x_train = x_train.index_select(
        0, torch::randperm(x_train.size(0), stream_generator(context.seed, "rows"), torch::kLong)
               .slice(0, 0, p.max_rows));
  }
  torch::Tensor x_val = test.tokens.index_select(
      0, torch::randperm(test.tokens.size(0), stream_generator(context.seed, "validation_rows"),
                         torch::kLong)
             .slice(0, 0, std::min(p.validation_rows, test.tokens.size(0))));
  const int64_t n = x_train.size(0), length = train.length;
  const Domain domain = sequence_domain(train.alphabet, length);
  svdd::logger("sequence")
      ->info("{}: {} training rows ({} elements, part {}), {} validation rows of test elements",
             train.file.string(), n, train.element_count, p.part, x_val.size(0));

  torch::manual_seed(stream_seed(context.seed, "init", 0));
  auto net = std::make_shared<ConvDenoiser>(p.network, domain.vocab_size);
  net->to(build.device);
  MdlmResults results;
  results.parameters = net->parameter_count();
  results.validation_rows = x_val.size(0);
  svdd::logger("sequence")->info("denoiser: {} parameters", results.parameters);
  MaskedTrainingOptions options = p.optimisation;
  options.chunk_rows = build.chunk_rows;
  options.device = build.device;
  options.seed = context.seed;
  options.state = training_state(context);
  const MaskedTrainingHistory history =
      train_masked_denoiser(*net, x_train, x_val, kMaskId, options);
  results.initial_validation_nats_per_base = history.initial_validation_nats_per_token;
  results.train_loss_per_epoch = history.train_loss_per_epoch;
  results.validation_nats_per_base_per_epoch = history.validation_nats_per_token_per_epoch;
  results.epochs = p.optimisation.epochs;
  results.steps = history.steps;
  results.training_seconds = history.seconds;
  results.validation_nats_per_base = results.validation_nats_per_base_per_epoch.back();
  results.validation_bits_per_base = results.validation_nats_per_base / std::log(2.0);

  if (p.sample_count > 0) {
    const auto sampling = std::chrono::steady_clock::now();
    torch::Tensor samples = sample_masked_diffusion(net, domain, p.sample_count, p.sample_steps,
                                                    context.seed, build.chunk_rows, build.device);
    results.samples = p.sample_count;
    results.sample_steps = p.sample_steps;
    results.sample_kmer3_correlation =
        pearson(kmer_frequencies(samples, 3), kmer_frequencies(test.tokens, 3));
    results.sampling_seconds = seconds_since(sampling);
    svdd::logger("sequence")
        ->info("{} samples ({} steps): 3-mer frequency correlation with the test elements {:.4f}",
               p.sample_count, p.sample_steps, results.sample_kmer3_correlation);
  }

  auto tmp = context.checkpoint;
  tmp += ".tmp";
  net->save(tmp);
  std::filesystem::rename(tmp, context.checkpoint);
  SequenceDomainCard domain_card{p.data.alphabet, length};
  DataCard data_card{p.data.file,       train.sha1,          p.part, n, train.element_count,
                     p.data.split_seed, p.data.test_fraction};
  ConvDenoiserParams network = p.network;
  write_training_card(
      context,
      fmt::format("Card of the masked-diffusion denoiser {} (sequence.train_mdlm).\n"
                  "Use it with [model] type = \"sequence.mdlm\", checkpoint = \"{}\".\n"
                  "[network] and [domain] are read back to rebuild the network; [results]\n"
                  "bounds are in nats per base (uniform letters: log 4 = 1.386).",
                  context.checkpoint.filename().string(), context.checkpoint.filename().string()),
      params_section("network", [&](ParamVisitor& v) { network.visit(v); }) +
          params_section("domain", [&](ParamVisitor& v) { domain_card.visit(v); }) +
          params_section("data", [&](ParamVisitor& v) { data_card.visit(v); }) +
          params_section("results", [&](ParamVisitor& v) { results.visit(v); }));
  svdd::logger("sequence")
      ->info("wrote {} and {}", context.checkpoint.string(),
             card_path(context.checkpoint).string());
}

}  // namespace

void register_mdlm_training(Registry& registry) {
  registry.add<svdd::ComponentKind::trainer, MdlmTrainingParams>(
      "sequence.train_mdlm",
      "trains the denoiser of a sequence.mdlm masked diffusion model on a table of sequences",
      train_mdlm);
}

}  // namespace svdd::sequence
