// The XML well-formedness check the figure tests use (support/xml_check.hpp):
// it must pass a good document and name the first problem of a bad one, or
// the SVG checks built on it would prove nothing.
#include <catch2/catch.hpp>

#include "xml_check.hpp"

using Catch::Contains;
using svdd::test::xml_problem;

TEST_CASE("xml_problem passes a well-formed document", "[xml_check]") {
  CHECK(xml_problem(
            "<?xml version=\"1.0\"?>\n"
            "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x.dtd\" [ <!ENTITY a \">\"> ]>\n"
            "<!-- a comment with <tags> -->\n"
            "<svg width=\"10px\" height='5'>\n"
            "  <g id=\"a\"><path d=\"M 0 0 L 1 1\"/></g>\n"
            "  <text>1 &lt; 2 &amp;&amp; &#x3b1; &#946;</text>\n"
            "  <style><![CDATA[ a < b && </notatag> ]]></style>\n"
            "</svg>\n") == "");
}

TEST_CASE("xml_problem names an unclosed tag", "[xml_check]") {
  CHECK_THAT(xml_problem("<svg><g></svg>"), Contains("</svg> closes <g>"));
  CHECK_THAT(xml_problem("<svg><g>"), Contains("<g> is never closed"));
  CHECK_THAT(xml_problem("<svg><path d=\"1\""), Contains("unclosed tag <path"));
}

TEST_CASE("xml_problem names mismatched nesting with its offset", "[xml_check]") {
  CHECK(xml_problem("<a><b></a></b>") == "offset 6: </a> closes <b>");
  CHECK_THAT(xml_problem("<a></a><b></b>"), Contains("a second root element"));
  CHECK_THAT(xml_problem("</a>"), Contains("closes no element"));
}

TEST_CASE("xml_problem names an unquoted attribute and bad references", "[xml_check]") {
  CHECK_THAT(xml_problem("<svg width=10></svg>"), Contains("width: value not quoted"));
  CHECK_THAT(xml_problem("<svg a=\"1\" a=\"2\"/>"), Contains("attribute a twice"));
  CHECK_THAT(xml_problem("<svg a=\"1\"b=\"2\"/>"), Contains("expected a space"));
  CHECK_THAT(xml_problem("<t>&nbsp;</t>"), Contains("unknown entity &nbsp;"));
  CHECK_THAT(xml_problem("<t>a & b</t>"), Contains("'&' that starts no reference"));
  CHECK_THAT(xml_problem("<t>&#0;</t>"), Contains("bad character reference"));
  CHECK_THAT(xml_problem("<t><!-- a -- b --></t>"), Contains("'--' inside a comment"));
  CHECK_THAT(xml_problem(""), Contains("no root element"));
}
