//! Guest SDK for PromEmu plugins written in Rust.
//!
//! It owns the generated bindings of the `promemu:plugin` contract (one module per
//! world) and the parameter helpers every scenario or builder needs: parse a JSON
//! object of parameters against a declared list, fill in defaults, and refuse unknown
//! names or wrong types with a message that says what was expected.
//!
//! A scenario pack exports itself with
//! `promemu_guest::scenario_pack::export_scenarios!(MyPack with_types_in promemu_guest::scenario_pack);`;
//! one that also steps groups of series in one call (the contract's `batch`
//! interface, the fast path for fleets) adds
//! `promemu_guest::batch::export_batch!(MyPack with_types_in promemu_guest::batch);`;
//! a config pack exports itself with
//! `promemu_guest::config_pack::export_builders!(MyBuilders with_types_in promemu_guest::config_pack);`.

mod params;

pub use params::{ParamSpec, Params, param_infos};

/// Bindings for the `scenario-pack` world: import `host`, export `scenarios`.
pub mod scenario_pack {
    wit_bindgen::generate!({
        world: "scenario-pack",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "export_scenarios",
        default_bindings_module: "promemu_guest::scenario_pack",
        type_section_suffix: "scenario-pack",
    });
}

/// Bindings for the `batch` interface alone, beside [`scenario_pack`]: a pack
/// that exports both is the contract's `batch-scenario-pack`. The records
/// (`metric-info`) are [`scenario_pack`]'s own, so one type serves both.
///
/// (A second world that exports `scenarios` again cannot be generated beside
/// [`scenario_pack`] in one crate: wit-bindgen issue 1502.)
pub mod batch {
    wit_bindgen::generate!({
        inline: "
            package promemu:guest-sdk;

            world batch-export {
                export promemu:plugin/batch@0.1.2;
            }
        ",
        path: "wit",
        world: "promemu:guest-sdk/batch-export",
        with: {
            "promemu:plugin/types@0.1.2": crate::scenario_pack::promemu::plugin::types,
        },
        pub_export_macro: true,
        export_macro_name: "export_batch",
        default_bindings_module: "promemu_guest::batch",
        type_section_suffix: "batch",
    });
}

/// Bindings for the `config-pack` world: import `host`, export `config-builder`.
pub mod config_pack {
    wit_bindgen::generate!({
        world: "config-pack",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "export_builders",
        default_bindings_module: "promemu_guest::config_pack",
        type_section_suffix: "config-pack",
    });
}
