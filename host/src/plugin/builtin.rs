//! The first-party scenario pack, embedded so the host needs no wasm toolchain and
//! no files beside the binary. `plugins/build.sh` rebuilds it from source.

/// Name under which the embedded pack appears in listings and fault logs.
pub const BUILTIN_PACK_NAME: &str = "builtin";

/// The committed component built from `plugins/builtin`.
pub const BUILTIN_PACK_WASM: &[u8] = include_bytes!("../../../plugins/prebuilt/builtin.wasm");
