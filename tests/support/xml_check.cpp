// A small XML well-formedness check (see xml_check.hpp): one pass over the
// text with a stack of open element names.
#include "xml_check.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

namespace svdd::test {
namespace {

bool name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool name_char(char c) {
  return name_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.';
}
uint64_t digit_value(char c) {
  return std::isdigit(static_cast<unsigned char>(c))
             ? uint64_t(c - '0')
             : uint64_t(std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
}
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A problem found at an offset; thrown inside the parser, caught at the top.
struct Problem {
  size_t offset;
  std::string what;
};

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  void document() {
    bool root_seen = false;
    while (at_ < text_.size()) {
      if (text_[at_] != '<') {
        if (open_.empty()) {
          if (!space(text_[at_]))
            fail(root_seen ? "text after the root element" : "text before the root element");
          ++at_;
        } else {
          character_data();
        }
        continue;
      }
      if (starts("<?")) {
        skip_past("?>", "unclosed processing instruction");
      } else if (starts("<!--")) {
        comment();
      } else if (starts("<![CDATA[")) {
        if (open_.empty()) fail("CDATA section outside the root element");
        skip_past("]]>", "unclosed CDATA section");
      } else if (starts("<!DOCTYPE")) {
        if (root_seen || !open_.empty()) fail("doctype after the root element started");
        doctype();
      } else if (starts("</")) {
        end_tag();
      } else {
        if (open_.empty() && root_seen) fail("a second root element");
        root_seen = true;
        start_tag();
      }
    }
    if (!open_.empty()) fail(fmt::format("element <{}> is never closed", open_.back()));
    if (!root_seen) fail("no root element");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Problem{at_, what}; }

  bool starts(const char* prefix) const {
    return text_.compare(at_, std::strlen(prefix), prefix) == 0;
  }

  void skip_past(const char* end, const char* problem) {
    const size_t found = text_.find(end, at_);
    if (found == std::string::npos) fail(problem);
    at_ = found + std::strlen(end);
  }

  void comment() {
    const size_t found = text_.find("--", at_ + 4);
    if (found == std::string::npos) fail("unclosed comment");
    if (text_.compare(found, 3, "-->") != 0) {
      at_ = found;
      fail("'--' inside a comment");
    }
    at_ = found + 3;
  }

  // <!DOCTYPE name ... [ internal subset ] >: brackets and quotes may hold '>'.
  void doctype() {
    int depth = 0;
    char quote = 0;
    for (at_ += 9; at_ < text_.size(); ++at_) {
      const char c = text_[at_];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '[') {
        ++depth;
      } else if (c == ']') {
        --depth;
      } else if (c == '>' && depth == 0) {
        ++at_;
        return;
      }
    }
    fail("unclosed doctype");
  }

  std::string name() {
    if (at_ >= text_.size() || !name_start(text_[at_])) fail("expected a name");
    const size_t from = at_;
    while (at_ < text_.size() && name_char(text_[at_])) ++at_;
    return text_.substr(from, at_ - from);
  }

  void skip_space() {
    while (at_ < text_.size() && space(text_[at_])) ++at_;
  }

  // &amp; &lt; &gt; &quot; &apos; &#N; &#xH; with N, H a valid XML character.
  void reference() {
    const size_t end = text_.find(';', at_);
    if (end == std::string::npos || end - at_ > 12) fail("'&' that starts no reference");
    const std::string body = text_.substr(at_ + 1, end - at_ - 1);
    static const std::set<std::string> kNamed = {"amp", "lt", "gt", "quot", "apos"};
    if (body.size() >= 2 && body[0] == '#') {
      const bool hex = body[1] == 'x';
      const std::string digits = body.substr(hex ? 2 : 1);
      uint64_t code = 0;
      bool ok = !digits.empty();
      for (char c : digits) {
        const bool digit = hex ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                               : std::isdigit(static_cast<unsigned char>(c)) != 0;
        ok = ok && digit;
        if (ok && code <= 0x10ffff) code = code * (hex ? 16 : 10) + digit_value(c);
      }
      ok = ok && (code == 0x9 || code == 0xa || code == 0xd || (code >= 0x20 && code <= 0xd7ff) ||
                  (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff));
      if (!ok) fail(fmt::format("bad character reference &{};", body));
    } else if (kNamed.count(body) == 0) {
      fail(fmt::format("unknown entity &{};", body));
    }
    at_ = end + 1;
  }

  void character_data() {
    while (at_ < text_.size() && text_[at_] != '<') {
      if (text_[at_] == '&') {
        reference();
      } else {
        if (starts("]]>")) fail("']]>' in text");
        ++at_;
      }
    }
  }

  void start_tag() {
    ++at_;  // '<'
    const std::string element = name();
    std::set<std::string> attributes;
    while (true) {
      const size_t before = at_;
      skip_space();
      if (at_ >= text_.size()) fail(fmt::format("unclosed tag <{}", element));
      if (starts("/>")) {
        at_ += 2;
        return;
      }
      if (text_[at_] == '>') {
        ++at_;
        open_.push_back(element);
        return;
      }
      if (at_ == before) fail("expected a space before an attribute");
      const std::string attribute = name();
      if (!attributes.insert(attribute).second) fail(fmt::format("attribute {} twice", attribute));
      skip_space();
      if (at_ >= text_.size() || text_[at_] != '=')
        fail(fmt::format("attribute {} without '='", attribute));
      ++at_;
      skip_space();
      if (at_ >= text_.size() || (text_[at_] != '"' && text_[at_] != '\'')) {
        fail(fmt::format("attribute {}: value not quoted", attribute));
      }
      const char quote = text_[at_++];
      while (at_ < text_.size() && text_[at_] != quote) {
        if (text_[at_] == '<') fail(fmt::format("attribute {}: '<' in its value", attribute));
        if (text_[at_] == '&') {
          reference();
        } else {
          ++at_;
        }
      }
      if (at_ >= text_.size()) fail(fmt::format("attribute {}: value never closed", attribute));
      ++at_;
    }
  }

  void end_tag() {
    const size_t from = at_;
    at_ += 2;
    const std::string element = name();
    skip_space();
    if (at_ >= text_.size() || text_[at_] != '>')
      fail(fmt::format("unclosed end tag </{}", element));
    if (open_.empty() || open_.back() != element) {
      at_ = from;
      fail(open_.empty() ? fmt::format("</{}> closes no element", element)
                         : fmt::format("</{}> closes <{}>", element, open_.back()));
    }
    open_.pop_back();
    ++at_;
  }

  const std::string& text_;
  size_t at_ = 0;
  std::vector<std::string> open_;
};

}  // namespace

std::string xml_problem(const std::string& text) {
  try {
    Parser(text).document();
    return "";
  } catch (const Problem& problem) {
    return fmt::format("offset {}: {}", problem.offset, problem.what);
  }
}

}  // namespace svdd::test
