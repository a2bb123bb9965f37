// Symbol visibility for libsvdd_core. Everything is hidden by default; the
// public API and every type that crosses a library boundary (interfaces,
// exceptions) is marked SVDD_API so plugins see one definition of it.
#pragma once

#define SVDD_API __attribute__((visibility("default")))
