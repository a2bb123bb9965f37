// Choices: a parameter whose value is one of a few names (a resampling
// scheme, an FK potential), each name written once in a table of
// {name, value} that parsing, validation messages and documentation share.
// A component keeps the name in its parameters struct (the TOML value),
// checks it in visit() and parses it once when it is built:
//
//   inline constexpr std::array<Choice<Potential>, 2> kPotentials{{
//       {"difference", Potential::difference}, {"max", Potential::max}}};
//   v.field("potential", potential, "the potential G");
//   require_choice(v, "potential", potential, kPotentials);  // "must be difference or max"
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "svdd/params.hpp"

namespace svdd {

template <class E>
struct Choice {
  std::string_view name;
  E value;
};

// The value named `name`, or nullopt when the table has no such name.
template <class E, std::size_t N>
constexpr std::optional<E> parse_choice(const std::array<Choice<E>, N>& table,
                                        std::string_view name) {
  for (const Choice<E>& choice : table) {
    if (choice.name == name) return choice.value;
  }
  return std::nullopt;
}

// The names in table order for messages and docs: "a, b or c".
template <class E, std::size_t N>
std::string choice_list(const std::array<Choice<E>, N>& table) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) out += i + 1 == N ? " or " : ", ";
    out += table[i].name;
  }
  return out;
}

// Refuses (in visit()) a value that names no choice of `table`, with the
// message "must be a, b or c", which `svdd list` also shows.
template <class E, std::size_t N>
void require_choice(ParamVisitor& v, std::string_view key, std::string_view value,
                    const std::array<Choice<E>, N>& table) {
  v.require(parse_choice(table, value).has_value(), key, "must be " + choice_list(table));
}

}  // namespace svdd
