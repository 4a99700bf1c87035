//! The wasmtime engine, its linkers and loading components into [`Plugin`]s.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine};

use super::bindings::{
    self, BATCH_INTERFACE, BUILDER_INTERFACE, CONTRACT_VERSION, HOST_INTERFACE,
    SCENARIOS_INTERFACE, TYPES_INTERFACE, batch, config_builder, scenarios,
};
use super::builtin::{BUILTIN_PACK_NAME, BUILTIN_PACK_WASM};
use super::cache;
use super::error::PluginError;
use super::identity::PackIdentity;
use super::instance::PluginInstance;
use super::limits::{EPOCH_TICK, Limits};
use super::locate::PackRef;
use super::state::StoreState;

/// The engine shared by every plugin of a run.
#[derive(Clone)]
pub struct PluginRuntime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    /// Links only the contract's `host` interface.
    plain_linker: Linker<StoreState>,
    /// Links `host` and deny-all WASI, for components that import WASI.
    wasi_linker: Linker<StoreState>,
    limits: Limits,
    ticker: Arc<EpochTicker>,
}

impl PluginRuntime {
    /// An engine tuned for many small calls, with epoch interruption, and the
    /// compiled-component cache in its default place.
    pub fn new(limits: Limits) -> Result<Self, PluginError> {
        Self::with_cache_dir(limits, cache::default_cache_dir())
    }

    /// Like [`PluginRuntime::new`] with an explicit cache directory (`None` for none).
    pub fn with_cache_dir(limits: Limits, cache_dir: Option<PathBuf>) -> Result<Self, PluginError> {
        let runtime_error = |err: wasmtime::Error| PluginError::Runtime {
            plugin: "host".into(),
            message: format!("{err:#}"),
        };
        let mut config = Config::new();
        config.concurrency_support(false);
        config.epoch_interruption(true);
        config.max_wasm_stack(1 << 20);
        config.cache(cache_dir.as_deref().and_then(cache::open));
        let engine = Engine::new(&config).map_err(runtime_error)?;
        let ticker = spawn_epoch_ticker(&engine);

        let mut plain_linker = Linker::new(&engine);
        bindings::host::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut plain_linker,
            |state| state,
        )
        .map_err(runtime_error)?;
        bindings::types::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut plain_linker,
            |state| state,
        )
        .map_err(runtime_error)?;
        let mut wasi_linker = plain_linker.clone();
        super::wasi::add_to_linker(&mut wasi_linker).map_err(runtime_error)?;

        Ok(Self {
            inner: Arc::new(RuntimeInner {
                engine,
                ticker,
                plain_linker,
                wasi_linker,
                limits,
            }),
        })
    }

    /// The engine, for inspecting components.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The limits plugins get unless overridden per plugin.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// The embedded first-party scenario pack.
    pub fn builtin(&self) -> Result<Plugin, PluginError> {
        self.load_bytes(BUILTIN_PACK_NAME, BUILTIN_PACK_WASM)
    }

    /// Loads the pack a reference names (a path, or a name on the plugin path),
    /// refusing it when its bytes are not those its pin says; the plugin is
    /// named after its file.
    pub fn load_ref(&self, reference: &PackRef) -> Result<Plugin, PluginError> {
        let path = reference.locate()?;
        let bytes = std::fs::read(&path).map_err(|source| PluginError::Read {
            path: path.clone(),
            source,
        })?;
        reference.check_pin(&path, &bytes)?;
        self.load_bytes(&path.display().to_string(), &bytes)
    }

    /// Loads a component from a file; the plugin is named after the file.
    pub fn load_file(&self, path: &Path) -> Result<Plugin, PluginError> {
        let bytes = std::fs::read(path).map_err(|source| PluginError::Read {
            path: path.into(),
            source,
        })?;
        self.load_bytes(&path.display().to_string(), &bytes)
    }

    /// Loads a component from bytes, checks its imports and exports against the
    /// contract and prepares it for instantiation.
    pub fn load_bytes(&self, name: &str, bytes: &[u8]) -> Result<Plugin, PluginError> {
        let plugin = name.to_string();
        check_is_component(&plugin, bytes)?;
        check_contract_versions(&plugin, bytes)?;
        let component =
            Component::new(&self.inner.engine, bytes).map_err(|err| PluginError::Compile {
                plugin: plugin.clone(),
                reason: format!("{err:#}"),
            })?;
        let uses_wasi = check_imports(&plugin, &self.inner.engine, &component)?;
        let linker = if uses_wasi {
            &self.inner.wasi_linker
        } else {
            &self.inner.plain_linker
        };
        let pre =
            linker
                .instantiate_pre(&component)
                .map_err(|err| PluginError::UnsupportedImport {
                    plugin: plugin.clone(),
                    import: "an interface".into(),
                    reason: format!("{err:#}"),
                })?;
        let exports = export_names(&self.inner.engine, &component);
        let scenarios = bind_export(&plugin, &exports, SCENARIOS_INTERFACE, || {
            scenarios::GuestIndices::new(&pre)
        })?;
        let builders = bind_export(&plugin, &exports, BUILDER_INTERFACE, || {
            config_builder::GuestIndices::new(&pre)
        })?;
        let batch = bind_export(&plugin, &exports, BATCH_INTERFACE, || {
            batch::GuestIndices::new(&pre)
        })?;
        if scenarios.is_none() && builders.is_none() {
            return Err(PluginError::NoContractExport {
                plugin,
                exports: if exports.is_empty() {
                    "nothing".into()
                } else {
                    exports.join(", ")
                },
            });
        }
        Ok(Plugin {
            inner: Arc::new(PluginInner {
                identity: PackIdentity::of(bytes),
                name: plugin,
                runtime: self.inner.clone(),
                pre,
                scenarios,
                builders,
                batch,
                uses_wasi,
                limits: self.inner.limits,
            }),
        })
    }
}

/// A loaded, checked component, ready to instantiate (cheaply, many times).
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

pub(super) struct PluginInner {
    pub(super) name: String,
    runtime: Arc<RuntimeInner>,
    pub(super) pre: InstancePre<StoreState>,
    pub(super) scenarios: Option<scenarios::GuestIndices>,
    pub(super) builders: Option<config_builder::GuestIndices>,
    pub(super) batch: Option<batch::GuestIndices>,
    pub(super) uses_wasi: bool,
    pub(super) limits: Limits,
    pub(super) identity: PackIdentity,
}

impl PluginInner {
    pub(super) fn engine(&self) -> &Engine {
        &self.runtime.engine
    }

    /// Marks a call into plugin code as running until the guard drops, so the
    /// epoch advances (and call deadlines pass) while it runs.
    pub(super) fn enter_call(&self) -> ActiveCall<'_> {
        ActiveCall::new(&self.runtime.ticker)
    }

    pub(super) fn is_named(&self, key: &str) -> bool {
        let path = Path::new(&self.name);
        self.name == key
            || path.file_name().is_some_and(|name| name == key)
            || path.file_stem().is_some_and(|stem| stem == key)
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        out.debug_struct("Plugin")
            .field("name", &self.inner.name)
            .field("scenarios", &self.offers_scenarios())
            .field("builders", &self.offers_builders())
            .field("wasi", &self.inner.uses_wasi)
            .finish()
    }
}

impl Plugin {
    /// The plugin's name: `builtin` or the path it was loaded from.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The metadata its component carries, and the digest of its bytes.
    pub fn identity(&self) -> &PackIdentity {
        &self.inner.identity
    }

    /// Whether `key` names it: its name (`builtin`, or the path it was loaded
    /// from), its file name (`custom.wasm`) or its file stem (`custom`).
    pub fn is_named(&self, key: &str) -> bool {
        self.inner.is_named(key)
    }

    /// Whether it exports the scenarios interface.
    pub fn offers_scenarios(&self) -> bool {
        self.inner.scenarios.is_some()
    }

    /// Whether it exports the config-builder interface.
    pub fn offers_builders(&self) -> bool {
        self.inner.builders.is_some()
    }

    /// Whether it exports the batch interface (groups of series in one call).
    pub fn offers_batch(&self) -> bool {
        self.inner.batch.is_some()
    }

    /// Whether it imports WASI (and so runs with a deny-all WASI context).
    pub fn uses_wasi(&self) -> bool {
        self.inner.uses_wasi
    }

    /// The limits its instances run under.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// The same plugin with other limits for its instances.
    pub fn with_limits(&self, limits: Limits) -> Plugin {
        let inner = &self.inner;
        Plugin {
            inner: Arc::new(PluginInner {
                name: inner.name.clone(),
                runtime: inner.runtime.clone(),
                pre: inner.pre.clone(),
                scenarios: inner.scenarios.clone(),
                builders: inner.builders.clone(),
                batch: inner.batch.clone(),
                uses_wasi: inner.uses_wasi,
                limits,
                identity: inner.identity.clone(),
            }),
        }
    }

    /// A fresh instance whose random streams derive from `seed`. It nests no
    /// scenarios of other plugins until given a directory
    /// ([`PluginInstance::set_directory`]).
    pub fn instantiate(&self, seed: u64) -> Result<PluginInstance, PluginError> {
        PluginInstance::new(self.inner.clone(), seed, Default::default(), 0, None)
    }

    pub(super) fn inner(&self) -> &Arc<PluginInner> {
        &self.inner
    }
}

/// Whether plugin code runs, for the thread that advances the epoch: it
/// ticks only while some call runs, and otherwise sleeps, so an idle
/// emulator does not wake 200 times a second.
struct EpochTicker {
    /// Calls into plugin code running now (nested ones included).
    active: AtomicUsize,
    thread: OnceLock<std::thread::Thread>,
}

/// A running call into plugin code (see [`PluginInner::enter_call`]).
pub(super) struct ActiveCall<'a>(&'a EpochTicker);

impl<'a> ActiveCall<'a> {
    fn new(ticker: &'a EpochTicker) -> Self {
        if ticker.active.fetch_add(1, Ordering::SeqCst) == 0
            && let Some(thread) = ticker.thread.get()
        {
            thread.unpark();
        }
        Self(ticker)
    }
}

impl Drop for ActiveCall<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Longest sleep of the epoch thread while no call runs (a call wakes it).
/// Every call into plugin code is marked, so idle ticks are only a backstop.
const IDLE_EPOCH_SLEEP: Duration = Duration::from_secs(1);

/// Advances the engine's epoch every [`EPOCH_TICK`] while a plugin call runs,
/// until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) -> Arc<EpochTicker> {
    let ticker = Arc::new(EpochTicker {
        active: AtomicUsize::new(0),
        thread: OnceLock::new(),
    });
    let weak = engine.weak();
    let state = ticker.clone();
    let handle = std::thread::Builder::new()
        .name("promemu-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                // Idle, the epoch still moves now and then: a call into plugin
                // code that no guard marks (a resource's destructor, say) is
                // interrupted too, later.
                engine.increment_epoch();
                drop(engine);
                if state.active.load(Ordering::SeqCst) == 0 {
                    std::thread::park_timeout(IDLE_EPOCH_SLEEP);
                } else {
                    std::thread::sleep(EPOCH_TICK);
                }
            }
        })
        .expect("spawning the epoch thread");
    let _ = ticker.thread.set(handle.thread().clone());
    ticker
}

fn check_is_component(plugin: &str, bytes: &[u8]) -> Result<(), PluginError> {
    if wasmparser::Parser::is_component(bytes) {
        return Ok(());
    }
    let reason = if wasmparser::Parser::is_core_wasm(bytes) {
        "it is a core WebAssembly module; turn it into a component with `promemu plugin componentize` \
         (or build for wasm32-wasip2)"
            .to_string()
    } else if bytes.len() < 8 {
        format!(
            "it is {} bytes long, too short to be WebAssembly",
            bytes.len()
        )
    } else if plugin.ends_with(".toml") {
        "it is text, not WebAssembly; a config file goes to --config, not --plugin".to_string()
    } else if std::str::from_utf8(&bytes[..bytes.len().min(512)]).is_ok() {
        "it is text, not WebAssembly (it does not start with the WebAssembly magic number)"
            .to_string()
    } else {
        "it does not start with the WebAssembly magic number and version".to_string()
    };
    Err(PluginError::NotAComponent {
        plugin: plugin.into(),
        reason,
    })
}

/// Checks the contract versions a component's own imports and exports name
/// (`promemu:plugin/...@x.y.z`), read from its binary without compiling it:
/// a pack for another contract is refused at once, whatever its size.
pub fn check_contract_versions(plugin: &str, bytes: &[u8]) -> Result<(), PluginError> {
    let corrupt = |err: wasmparser::BinaryReaderError| PluginError::Compile {
        plugin: plugin.into(),
        reason: err.to_string(),
    };
    let check = |name: &str| match name.split_once('@') {
        Some((interface, version)) if interface.starts_with("promemu:plugin/") => {
            check_version(plugin, name, version)
        }
        _ => Ok(()),
    };
    // Only the outer component's sections: nested modules and components are
    // its implementation.
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.map_err(corrupt)? {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => {
                depth += 1;
            }
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    check(import.map_err(corrupt)?.name.name)?;
                }
            }
            wasmparser::Payload::ComponentExportSection(section) if depth == 0 => {
                for export in section {
                    check(export.map_err(corrupt)?.name.name)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks every import is one the host provides; returns whether WASI is imported.
fn check_imports(
    plugin: &str,
    engine: &Engine,
    component: &Component,
) -> Result<bool, PluginError> {
    let mut uses_wasi = false;
    for (name, _) in component.component_type().imports(engine) {
        if name.starts_with("wasi:") {
            uses_wasi = true;
            continue;
        }
        let (interface, version) = name.split_once('@').unwrap_or((name, ""));
        if interface == HOST_INTERFACE || interface == TYPES_INTERFACE {
            check_version(plugin, name, version)?;
            continue;
        }
        return Err(PluginError::UnsupportedImport {
            plugin: plugin.into(),
            import: name.into(),
            reason: format!(
                "the host provides {HOST_INTERFACE}@{CONTRACT_VERSION}, {TYPES_INTERFACE}@{CONTRACT_VERSION} and WASI 0.2 (deny-all)"
            ),
        });
    }
    Ok(uses_wasi)
}

/// Contract versions match like WIT `0.y.z` semver: same major and minor.
fn check_version(plugin: &str, name: &str, version: &str) -> Result<(), PluginError> {
    let compatible = |v: &str| {
        let mut ours = CONTRACT_VERSION.split('.');
        let mut theirs = v.split('.');
        ours.next() == theirs.next() && ours.next() == theirs.next()
    };
    if compatible(version) {
        Ok(())
    } else {
        Err(PluginError::IncompatibleVersion {
            plugin: plugin.into(),
            item: name.into(),
            found: if version.is_empty() {
                "(none)".into()
            } else {
                version.into()
            },
        })
    }
}

fn export_names(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .exports(engine)
        .map(|(name, item)| match item.ty {
            ComponentItem::ComponentInstance(_) => name.to_string(),
            ComponentItem::ComponentFunc(_) => format!("func {name}"),
            _ => format!("{name} (not an interface)"),
        })
        .collect()
}

/// Binds one contract interface if the component exports it (at a compatible version).
fn bind_export<T>(
    plugin: &str,
    exports: &[String],
    interface: &str,
    bind: impl FnOnce() -> wasmtime::Result<T>,
) -> Result<Option<T>, PluginError> {
    let Some(export) = exports
        .iter()
        .find(|name| name.split('@').next() == Some(interface))
    else {
        return Ok(None);
    };
    let version = export.split_once('@').map(|(_, v)| v).unwrap_or("");
    check_version(plugin, export, version)?;
    bind()
        .map(Some)
        .map_err(|err| PluginError::WrongExportTypes {
            plugin: plugin.into(),
            interface: export.clone(),
            reason: format!("{err:#}"),
        })
}
