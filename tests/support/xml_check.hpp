// A small XML well-formedness check for tests of files the project writes
// (the report's SVG figures): no DTD validation, no namespaces, just what a
// browser needs to open the file at all.
#pragma once

#include <string>

namespace svdd::test {

// "" when `text` is one well-formed XML document: a single root element;
// elements balanced and properly nested; attributes name="value" or
// name='value', each once per element, without '<' in the value; entity
// references only &amp; &lt; &gt; &quot; &apos; and character references of
// valid characters; comments, CDATA sections, processing instructions and a
// doctype skipped (but closed). Otherwise the first problem, as
// "offset N: what".
std::string xml_problem(const std::string& text);

}  // namespace svdd::test
