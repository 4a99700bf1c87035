//! Host-side bindings of the `promemu:plugin` contract, generated from `wit/`.
//!
//! The `plugin` world exports every interface; each component is bound per
//! interface (`GuestIndices`), so a plugin may export any of them. Contract
//! versions match like WIT `0.y.z` semver: a component built for 0.1.0 or 0.1.1
//! binds to this host's 0.1.2 interfaces (wasmtime resolves the names
//! semver-compatibly).

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

pub use self::exports::promemu::plugin::batch;
pub use self::exports::promemu::plugin::config_builder;
pub use self::exports::promemu::plugin::scenarios;
pub use self::promemu::plugin::host;
pub use self::promemu::plugin::types;

/// Fully qualified names of the contract's interfaces, without version.
pub const SCENARIOS_INTERFACE: &str = "promemu:plugin/scenarios";
pub const BATCH_INTERFACE: &str = "promemu:plugin/batch";
pub const BUILDER_INTERFACE: &str = "promemu:plugin/config-builder";
pub const HOST_INTERFACE: &str = "promemu:plugin/host";
pub const TYPES_INTERFACE: &str = "promemu:plugin/types";
/// The contract version this host implements.
pub const CONTRACT_VERSION: &str = "0.1.2";
