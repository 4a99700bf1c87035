//! Looking inside a plugin file without running it (`promemu plugin inspect`) and
//! turning a core module into a component (`promemu plugin componentize`).

use std::fmt;

use wasmtime::component::Component;
use wasmtime::component::types::{ComponentExtern, ComponentItem};

use super::error::PluginError;

/// What a WebAssembly file is and what it imports and exports.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentSummary {
    pub kind: &'static str,
    pub size: usize,
    /// Each import with the functions it carries, if it is an instance.
    pub imports: Vec<(String, Vec<String>)>,
    pub exports: Vec<(String, Vec<String>)>,
}

impl fmt::Display for ComponentSummary {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(out, "kind: {} ({} bytes)", self.kind, self.size)?;
        for (title, items) in [("imports", &self.imports), ("exports", &self.exports)] {
            writeln!(
                out,
                "{title}:{}",
                if items.is_empty() { " none" } else { "" }
            )?;
            for (name, funcs) in items {
                if funcs.is_empty() {
                    writeln!(out, "  {name}")?;
                } else {
                    writeln!(out, "  {name}: {}", funcs.join(", "))?;
                }
            }
        }
        Ok(())
    }
}

/// Summarises `bytes`: a component's imports and exports (compiled with `engine`
/// to read their types), or a core module's.
pub fn inspect(
    engine: &wasmtime::Engine,
    name: &str,
    bytes: &[u8],
) -> Result<ComponentSummary, PluginError> {
    if wasmparser::Parser::is_core_wasm(bytes) {
        return inspect_core(name, bytes);
    }
    let component = Component::new(engine, bytes).map_err(|err| PluginError::Compile {
        plugin: name.into(),
        reason: format!("{err:#}"),
    })?;
    let ty = component.component_type();
    let describe = |(item_name, item): (&str, ComponentExtern<'_>)| {
        let funcs = match item.ty {
            ComponentItem::ComponentInstance(instance) => instance
                .exports(engine)
                .map(|(func, _)| func.to_string())
                .collect(),
            _ => Vec::new(),
        };
        (item_name.to_string(), funcs)
    };
    Ok(ComponentSummary {
        kind: "component",
        size: bytes.len(),
        imports: ty.imports(engine).map(describe).collect(),
        exports: ty.exports(engine).map(describe).collect(),
    })
}

fn inspect_core(name: &str, bytes: &[u8]) -> Result<ComponentSummary, PluginError> {
    let corrupt = |err: wasmparser::BinaryReaderError| PluginError::Compile {
        plugin: name.into(),
        reason: err.to_string(),
    };
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.map_err(corrupt)? {
            wasmparser::Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import.map_err(corrupt)?;
                    imports.push((format!("{}::{}", import.module, import.name), Vec::new()));
                }
            }
            wasmparser::Payload::ExportSection(section) => {
                for export in section {
                    exports.push((export.map_err(corrupt)?.name.to_string(), Vec::new()));
                }
            }
            _ => {}
        }
    }
    Ok(ComponentSummary {
        kind: "core module (not a component)",
        size: bytes.len(),
        imports,
        exports,
    })
}

/// Wraps a core module built with wit-bindgen for `wasm32-unknown-unknown` into a
/// component, using the component type it embeds. No WASI adapter is applied.
pub fn componentize(name: &str, core: &[u8]) -> Result<Vec<u8>, PluginError> {
    let fail = |err: anyhow::Error| PluginError::NotAComponent {
        plugin: name.into(),
        reason: format!("{err:#}"),
    };
    wit_component::ComponentEncoder::default()
        .module(core)
        .map_err(fail)?
        .validate(true)
        .encode()
        .map_err(fail)
}
