// A shared library without the svdd entry points.
extern "C" __attribute__((visibility("default"))) int not_an_svdd_plugin() { return 1; }
