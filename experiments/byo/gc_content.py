#!/usr/bin/env python3
"""GC content as a `program` reward: -|GC share - target| of each DNA
sequence, the score of svdd's built-in `sequence.gc_content`, in a few lines
of Python (experiments/byo/gc_content.toml runs it).

The protocol (README, "The program reward"): svdd writes a line with a count
N, then N lines with one decoded sample each; the program prints N lines,
one per sample in order: a number, or `invalid: REASON`. It runs until its
standard input ends. Usage: gc_content.py [TARGET] (default 0.5).
"""
import sys

TARGET = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5


def score(sequence):
    if not sequence or set(sequence) - set("ACGT"):
        return None
    gc = (sequence.count("G") + sequence.count("C")) / len(sequence)
    return -abs(gc - TARGET)


def main():
    for header in sys.stdin:
        answers = []
        for _ in range(int(header)):
            value = score(sys.stdin.readline().rstrip("\n"))
            answers.append("invalid: not a DNA sequence" if value is None else repr(value))
        sys.stdout.write("".join(a + "\n" for a in answers))
        sys.stdout.flush()  # svdd waits for the answers: never leave them in a buffer


main()
