//! Host-side bindings of the `promemu:plugin` contract, generated from `wit/`.
//!
//! The `plugin` world exports both interfaces; each component is bound per
//! interface (`GuestIndices`), so a plugin may export either one or both.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
    // `log` and `emit` may stop a call that floods them (see `state`).
    // A nested scenario's fault is the caller's, so `links` and `step` trap too.
    imports: {
        "promemu:plugin/host.log": trappable,
        "promemu:plugin/host.emit": trappable,
        "promemu:plugin/host.[method]nested-scenario.links": trappable,
        "promemu:plugin/host.[method]nested-scenario.step": trappable,
    },
    with: {
        "promemu:plugin/host.nested-scenario": super::nested::NestedSeries,
    },
});

pub use self::exports::promemu::plugin::config_builder;
pub use self::exports::promemu::plugin::scenarios;
pub use self::promemu::plugin::host;
pub use self::promemu::plugin::types;

/// Fully qualified names of the contract's interfaces, without version.
pub const SCENARIOS_INTERFACE: &str = "promemu:plugin/scenarios";
pub const BUILDER_INTERFACE: &str = "promemu:plugin/config-builder";
pub const HOST_INTERFACE: &str = "promemu:plugin/host";
pub const TYPES_INTERFACE: &str = "promemu:plugin/types";
/// The contract version this host implements.
pub const CONTRACT_VERSION: &str = "0.1.0";
