// Fsac.MLNet: libstdc++ compatibility shim for TorchSharp's libLibTorchSharp.so.
//
// libLibTorchSharp.so (TorchSharp 0.107) was linked against GCC 13's libstdc++, which
// references std::ios_base_library_init() (symbol version GLIBCXX_3.4.32) so that the
// standard streams get initialised by the library instead of by every translation unit.
// Debian 12 and Ubuntu 22.04 ship libstdc++ up to GLIBCXX_3.4.30, which lacks the symbol.
// fix-torchsharp-glibcxx.sh makes that version requirement weak, drops the symbol's version
// and adds this library as a dependency, so the reference binds here instead.
#include <ios>

namespace std {
// Same contract as GCC 13: construct one std::ios_base::Init for the process.
__attribute__((visibility("default"))) void ios_base_library_init() {
  static ios_base::Init init;
}
}  // namespace std

// Run it at load time too: nothing else initialises the standard streams for the patched library.
__attribute__((constructor)) static void fsac_glibcxx_shim_init() { std::ios_base_library_init(); }
