// The image plugin's Gaussian diffusion model "image.ddpm" (a TimeUNet
// trained here, sampled with DDIM) and its trainer "image.train_ddpm".
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "svdd/registry.hpp"
#include "time_unet.hpp"

namespace svdd::image {

struct LoadedUNet {
  std::shared_ptr<TimeUNet> denoiser;  // evaluation mode, on the device
  ImageShape shape;
  UNetParams params;
  GaussianDiffusionOptions schedule;  // the training schedule from the card
};

// Loads a checkpoint of image.train_ddpm with its card ([network], [image],
// [schedule]). Throws InputError naming the file when either is missing or
// they disagree.
LoadedUNet load_unet(const std::filesystem::path& checkpoint, const std::string& device);

void register_image_diffusion(Registry& registry);

}  // namespace svdd::image
