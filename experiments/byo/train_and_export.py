#!/usr/bin/env python3
"""Trains and exports the example models of experiments/byo (README, "Bring
your own model"): models of their own architecture, made in PyTorch as a
user would, that svdd guides through torchscript_mdlm and torchscript_ddpm.

  dna_transformer.pt  a masked diffusion model of the HepG2 lentiMPRA 200-bp
                      elements (a small transformer, not the sequence
                      plugin's conv net): forward(tokens [B, 200] int64,
                      t [B] float32) -> logits [B, 200, 4] (A, C, G, T; the
                      mask's column left out)
  digits_mlp.pt       a Gaussian diffusion model of the 8x8 UCI digits in
                      [-1, 1] (an MLP): forward(x [B, 1, 8, 8], t [B]) -> the
                      predicted noise, t the diffusers timestep in [0, 999]
                      of the linear schedule 1e-4..0.02
  digits_ink.pt       a differentiable reward for the digits: the mean ink
                      (pixel brightness in [0, 1]) of the image

Run by hand (not needed by CI; needs PyTorch, Debian: python3-torch):
  python3 experiments/byo/train_and_export.py --data ../shared/data --seed 0 --seconds 60
It writes the three files and byo_models.txt (command, seed, data hashes,
steps, losses) beside itself. Training runs for --seconds per model;
--dna-steps N and --digits-steps N train for N steps instead (the step
counts of byo_models.txt, to remake the committed files).
"""
import argparse
import csv
import gzip
import hashlib
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
LETTERS = "ACGT"
MASK = 4


class DnaTransformer(nn.Module):
    """x_0 logits from partly masked tokens, a patch transformer: the
    embeddings of every 4 consecutive tokens (of the 5 ids) are joined into
    one patch, learned patch positions and the time t are added, two
    transformer encoder layers mix the 50 patches, and each patch gives the
    logits of its 4 tokens."""

    def __init__(self, length: int, patch: int = 4, width: int = 128, layers: int = 2):
        super().__init__()
        self.patch = patch
        self.tokens = nn.Embedding(5, width // patch)
        self.positions = nn.Parameter(torch.randn(length // patch, width) * 0.02)
        self.time = nn.Linear(1, width)
        layer = nn.TransformerEncoderLayer(width, 4, 2 * width, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.out = nn.Linear(width, 4 * patch)

    def forward(self, tokens: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        b, length = tokens.shape
        h = self.tokens(tokens).reshape(b, length // self.patch, -1)
        h = h + self.positions + self.time(t.unsqueeze(1)).unsqueeze(1)
        return self.out(self.encoder(h)).reshape(b, length, 4)


class DigitsMlp(nn.Module):
    """Noise prediction for 8x8 images from the image and a sinusoidal
    embedding of the timestep."""

    def __init__(self, width: int = 256):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(64 + 32, width), nn.SiLU(), nn.Linear(width, width), nn.SiLU(),
            nn.Linear(width, width), nn.SiLU(), nn.Linear(width, 64))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        freqs = torch.exp(torch.arange(16, dtype=torch.float32) * (-math.log(1000.0) / 16))
        angle = t.unsqueeze(1) * freqs.unsqueeze(0)
        h = torch.cat([x.reshape(x.size(0), 64), torch.sin(angle), torch.cos(angle)], 1)
        return self.net(h).reshape(x.shape)


class DigitsInk(nn.Module):
    """r(x) = mean pixel brightness in [0, 1] of images in [-1, 1]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.clamp(-1.0, 1.0) + 1.0) / 2.0).reshape(x.size(0), -1).mean(1)


def sha1(path):
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def read_dna(data):
    """The "val" part (12,292 elements), as the sequence plugin's models train
    on; "test" stays held out for the k-mer metric."""
    path = os.path.join(data, "agarwal2025_lentimpra_hepg2", "hepg2_lentimpra_200bp.tsv.gz")
    with gzip.open(path, "rt") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["split"] == "val"]
    ids = [[LETTERS.index(c) for c in r["seq200"].upper()] for r in rows
           if len(r["seq200"]) == 200 and set(r["seq200"].upper()) <= set(LETTERS)]
    return torch.tensor(ids, dtype=torch.long), path


def read_digits(data):
    path = os.path.join(data, "sklearn_digits", "digits.csv.gz")
    with gzip.open(path, "rt") as f:
        rows = [list(map(float, line.split(",")[:64])) for line in f if line.strip()]
    x = torch.tensor(rows).reshape(-1, 1, 8, 8) / 16.0 * 2.0 - 1.0
    return x, path


def budget(seconds, steps):
    """True while training may go on: for `steps` steps when given (a rerun
    that reproduces a card's step count), else for `seconds`."""
    start = time.time()
    return lambda step: step < steps if steps > 0 else time.time() - start < seconds


def train_dna(x, seconds, steps, batch):
    """MDLM's objective with the linear schedule: mask each token with
    probability t, cross-entropy of the masked tokens weighted by 1/t."""
    model = DnaTransformer(x.size(1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    go_on, step, losses = budget(seconds, steps), 0, []
    while go_on(step):
        x0 = x[torch.randint(0, x.size(0), (batch,))]
        t = torch.rand(batch) * (1 - 1e-3) + 1e-3
        masked = torch.rand(x0.shape) < t.unsqueeze(1)
        logits = model(torch.where(masked, torch.full_like(x0, MASK), x0), t)
        ce = F.cross_entropy(logits.transpose(1, 2), x0, reduction="none")
        loss = ((ce * masked).sum(1) / t).mean() / x0.size(1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        step += 1
    return model, step, sum(losses[-50:]) / len(losses[-50:])


def train_digits(x, seconds, steps, batch):
    """DDPM's noise-prediction objective, linear betas 1e-4..0.02, N = 1000."""
    alpha_bar = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64), 0)
    model = DigitsMlp()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    go_on, step, losses = budget(seconds, steps), 0, []
    while go_on(step):
        x0 = x[torch.randint(0, x.size(0), (batch,))]
        t = torch.randint(0, 1000, (batch,))
        ab = alpha_bar[t].float().reshape(-1, 1, 1, 1)
        eps = torch.randn_like(x0)
        loss = F.mse_loss(model(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t.float()), eps)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        step += 1
    return model, step, sum(losses[-50:]) / len(losses[-50:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("SVDD_DATA_DIR", "../shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0, help="training time per model")
    parser.add_argument("--dna-steps", type=int, default=0, help="steps instead of --seconds")
    parser.add_argument("--digits-steps", type=int, default=0, help="steps instead of --seconds")
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)

    dna, dna_path = read_dna(args.data)
    dna_model, dna_steps, dna_loss = train_dna(dna, args.seconds, args.dna_steps, 64)
    dna_model.eval()
    torch.jit.script(dna_model).save(os.path.join(args.out, "dna_transformer.pt"))

    digits, digits_path = read_digits(args.data)
    digits_model, digits_steps, digits_loss = train_digits(digits, args.seconds, args.digits_steps, 128)
    digits_model.eval()
    torch.jit.script(digits_model).save(os.path.join(args.out, "digits_mlp.pt"))
    torch.jit.script(DigitsInk()).save(os.path.join(args.out, "digits_ink.pt"))

    with open(os.path.join(args.out, "byo_models.txt"), "w") as card:
        card.write(
            "Made by: python3 experiments/byo/train_and_export.py --data DATA --seed {} "
            "--seconds {:g}\n(PyTorch {}; training stops after --seconds, so the step counts below "
            "depend on the machine: --dna-steps and --digits-steps rerun them)\n\n".format(
                args.seed, args.seconds, torch.__version__))
        card.write("dna_transformer.pt: {} training rows of {} (sha1 {}), {} steps of 64, "
                   "final loss (MDLM bound per token, nats) {:.4f}; sha1 {}\n".format(
                       dna.size(0), os.path.relpath(dna_path, args.data), sha1(dna_path),
                       dna_steps, dna_loss, sha1(os.path.join(args.out, "dna_transformer.pt"))))
        card.write("digits_mlp.pt: {} images of {} (sha1 {}), {} steps of 128, final noise "
                   "MSE {:.4f}; sha1 {}\n".format(
                       digits.size(0), os.path.relpath(digits_path, args.data), sha1(digits_path),
                       digits_steps, digits_loss, sha1(os.path.join(args.out, "digits_mlp.pt"))))
        card.write("digits_ink.pt: no weights; sha1 {}\n".format(
            sha1(os.path.join(args.out, "digits_ink.pt"))))
    print(open(os.path.join(args.out, "byo_models.txt")).read())


if __name__ == "__main__":
    main()
