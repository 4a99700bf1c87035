//! Integration tests of the `promemu` library, one module per area. Everything
//! runs through the real wasmtime runtime and the committed components.

mod builtin_scenarios;
mod config_fuzz;
mod harness;
mod nesting;
mod plugin_runtime;
mod replay;
mod sim;
