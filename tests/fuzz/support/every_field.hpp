// A parameters struct with one field of every type ParamVisitor reads, and
// the checks components use on them: read from a fuzzed table, it reaches
// every branch of core's strict parameter reader.
#pragma once

#include <string>
#include <vector>

#include "svdd/params.hpp"

namespace svdd::fuzz {

// One field of every type ParamVisitor reads, with the checks parameters use.
struct EveryField {
  bool flag = false;
  int64_t count = 1;
  double rate = 0.5;
  std::string text;
  std::vector<int64_t> counts;
  std::vector<double> rates;
  std::vector<std::string> texts;
  FilePath file;
  ComponentSpec component;
  std::vector<ComponentSpec> components;

  void visit(ParamVisitor& v) {
    v.field("flag", flag, "a bool");
    v.field("count", count, "an int");
    v.at_least("count", count, 1);
    v.field("rate", rate, "a float");
    v.in_half_open_range("rate", rate, 0.0, 1.0);
    v.field("text", text, "a string");
    v.field("counts", counts, "[int]");
    v.field("rates", rates, "[float]");
    v.field("texts", texts, "[string]");
    v.field("file", file, "a path");
    v.field("component", component, "a component");
    v.field("components", components, "[component]");
  }
};

}  // namespace svdd::fuzz
