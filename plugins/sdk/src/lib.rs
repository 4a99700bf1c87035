//! Guest SDK for PromEmu plugins written in Rust.
//!
//! It owns the generated bindings of the `promemu:plugin` contract (one module per
//! world) and the parameter helpers every scenario or builder needs: parse a JSON
//! object of parameters against a declared list, fill in defaults, and refuse unknown
//! names or wrong types with a message that says what was expected.
//!
//! A scenario pack exports itself with
//! `promemu_guest::scenario_pack::export_scenarios!(MyPack with_types_in promemu_guest::scenario_pack);`,
//! a config pack with
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
