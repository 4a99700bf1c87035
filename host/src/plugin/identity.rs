//! A pack's identity: the registry metadata its component carries (the custom
//! sections `wasm-tools metadata add` writes: name, version, description,
//! authors, licenses, source, homepage, revision), read and written with
//! `wasm-metadata`, and the sha256 digest of its bytes. A project's manifest
//! supplies the metadata (`plugin componentize --manifest`): a Rust crate's
//! `Cargo.toml`, a Python project's `pyproject.toml` or a JavaScript
//! package's `package.json`.

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};
use wasm_metadata::{
    AddMetadata, AddMetadataField, Authors, Description, Homepage, Licenses, Payload, Source,
    Version,
};

/// Who a component says it is, and the digest of its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackIdentity {
    pub name: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    pub authors: Option<String>,
    pub licenses: Option<String>,
    pub source: Option<String>,
    pub homepage: Option<String>,
    pub revision: Option<String>,
    /// `sha256:<hex>` of the file's bytes.
    pub digest: String,
}

impl PackIdentity {
    /// The identity of the component (or module) in `bytes`; fields it does
    /// not carry are `None`.
    pub fn of(bytes: &[u8]) -> Self {
        let mut identity = PackIdentity {
            digest: digest(bytes),
            ..PackIdentity::default()
        };
        if let Ok(payload) = Payload::from_binary(bytes) {
            let meta = payload.metadata();
            identity.name = meta.name.clone().filter(|name| !name.is_empty());
            identity.version = meta.version.as_ref().map(ToString::to_string);
            identity.description = meta.description.as_ref().map(ToString::to_string);
            identity.authors = meta.authors.as_ref().map(ToString::to_string);
            identity.licenses = meta.licenses.as_ref().map(ToString::to_string);
            identity.source = meta.source.as_ref().map(ToString::to_string);
            identity.homepage = meta.homepage.as_ref().map(ToString::to_string);
            identity.revision = meta.revision.as_ref().map(ToString::to_string);
        }
        identity
    }

    /// `name version, sha256:0123456789ab` (the digest cut to 12 hex digits).
    pub fn short(&self) -> String {
        let mut out = match (&self.name, &self.version) {
            (Some(name), Some(version)) => format!("{name} {version}, "),
            (Some(name), None) => format!("{name}, "),
            (None, _) => "no name, ".to_string(),
        };
        out.push_str(&self.digest[..self.digest.len().min("sha256:".len() + 12)]);
        out
    }

    /// One `field: value` line per field it carries, and the digest.
    pub fn lines(&self) -> String {
        let mut out = String::new();
        for (field, value) in [
            ("name", &self.name),
            ("version", &self.version),
            ("description", &self.description),
            ("authors", &self.authors),
            ("licenses", &self.licenses),
            ("source", &self.source),
            ("homepage", &self.homepage),
            ("revision", &self.revision),
        ] {
            if let Some(value) = value {
                let _ = writeln!(out, "{field}: {value}");
            }
        }
        let _ = writeln!(out, "digest: {}", self.digest);
        out
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Metadata to write into a component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackMetadata {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub authors: Vec<String>,
    /// An SPDX expression (`MIT OR Apache-2.0`).
    pub licenses: Option<String>,
    pub source: Option<String>,
    pub homepage: Option<String>,
}

/// Why metadata could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {problem}")]
    Manifest { path: String, problem: String },
    #[error("cannot add metadata: {0}")]
    Add(String),
}

impl PackMetadata {
    /// The metadata of a project manifest, by its file name: `package.json`
    /// (npm), `pyproject.toml` (PEP 621), else a Cargo manifest.
    pub fn from_manifest(path: &Path) -> Result<Self, MetadataError> {
        match path.file_name().and_then(|name| name.to_str()) {
            Some("package.json") => Self::from_package_json(path),
            Some("pyproject.toml") => Self::from_pyproject(path),
            _ => Self::from_cargo_manifest(path),
        }
    }

    /// The `[project]` table of a `pyproject.toml` (`name`, `version`,
    /// `description`, `authors` as `{name, email}` tables, `license` as an SPDX
    /// string or `{text = ...}`, and `urls` Homepage and Repository/Source).
    pub fn from_pyproject(path: &Path) -> Result<Self, MetadataError> {
        let manifest = read_toml(path)?;
        let project = manifest
            .get("project")
            .and_then(toml::Value::as_table)
            .ok_or_else(|| manifest_problem(path, "no [project] table"))?;
        let text = |key: &str| {
            project
                .get(key)
                .and_then(toml::Value::as_str)
                .map(String::from)
        };
        let name = text("name").ok_or_else(|| manifest_problem(path, "[project] has no name"))?;
        let authors = project
            .get("authors")
            .and_then(toml::Value::as_array)
            .map(|authors| {
                authors
                    .iter()
                    .filter_map(|author| {
                        let part = |key| author.get(key).and_then(toml::Value::as_str);
                        person(part("name"), part("email"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let licenses = match project.get("license") {
            Some(toml::Value::String(spdx)) => Some(spdx.clone()),
            Some(toml::Value::Table(table)) => table
                .get("text")
                .and_then(toml::Value::as_str)
                .map(String::from),
            _ => None,
        };
        let url = |keys: &[&str]| {
            let urls = project.get("urls").and_then(toml::Value::as_table)?;
            keys.iter()
                .find_map(|key| urls.get(*key).and_then(toml::Value::as_str))
                .map(String::from)
        };
        Ok(PackMetadata {
            name,
            version: text("version"),
            description: text("description"),
            authors,
            licenses,
            source: url(&["Repository", "repository", "Source", "source"]),
            homepage: url(&["Homepage", "homepage"]),
        })
    }

    /// An npm `package.json` (`name`, `version`, `description`, `author` as a
    /// string or `{name, email}`, `license`, `homepage`, `repository` as a
    /// string or `{url}`).
    pub fn from_package_json(path: &Path) -> Result<Self, MetadataError> {
        let text = std::fs::read_to_string(path).map_err(|source| MetadataError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let package: serde_json::Value =
            serde_json::from_str(&text).map_err(|err| manifest_problem(path, &err.to_string()))?;
        let text =
            |value: Option<&serde_json::Value>| value.and_then(|v| v.as_str()).map(String::from);
        let name =
            text(package.get("name")).ok_or_else(|| manifest_problem(path, "no \"name\" field"))?;
        let author = match package.get("author") {
            Some(serde_json::Value::Object(author)) => person(
                author.get("name").and_then(|v| v.as_str()),
                author.get("email").and_then(|v| v.as_str()),
            ),
            other => text(other),
        };
        let source = match package.get("repository") {
            Some(serde_json::Value::Object(repository)) => text(repository.get("url")),
            other => text(other),
        };
        Ok(PackMetadata {
            name,
            version: text(package.get("version")),
            description: text(package.get("description")),
            authors: author.into_iter().collect(),
            licenses: text(package.get("license")),
            source,
            homepage: text(package.get("homepage")),
        })
    }

    /// The `[package]` of a Cargo manifest (`name`, `version`, `description`,
    /// `authors`, `license`, `repository`, `homepage`), fields inherited with
    /// `field.workspace = true` taken from the workspace's `[workspace.package]`
    /// (the manifest's `package.workspace` folder, else the nearest parent
    /// folder that declares one).
    pub fn from_cargo_manifest(path: &Path) -> Result<Self, MetadataError> {
        let manifest = read_toml(path)?;
        let package = manifest
            .get("package")
            .and_then(toml::Value::as_table)
            .ok_or_else(|| manifest_problem(path, "no [package] table"))?;
        let workspace = workspace_package(path, package)?;
        let field = |key: &str| -> Option<toml::Value> {
            match package.get(key) {
                Some(toml::Value::Table(table))
                    if table.get("workspace").and_then(toml::Value::as_bool) == Some(true) =>
                {
                    workspace.as_ref().and_then(|table| table.get(key)).cloned()
                }
                other => other.cloned(),
            }
        };
        let text = |key: &str| field(key).and_then(|value| value.as_str().map(String::from));
        let name = text("name").ok_or_else(|| manifest_problem(path, "[package] has no name"))?;
        let authors = field("authors")
            .and_then(|value| value.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|author| author.as_str().map(String::from))
            .collect();
        Ok(PackMetadata {
            name,
            version: text("version"),
            description: text("description"),
            authors,
            licenses: text("license"),
            source: text("repository"),
            homepage: text("homepage"),
        })
    }

    /// `component` with this metadata written into its custom sections.
    pub fn add_to(&self, component: &[u8]) -> Result<Vec<u8>, MetadataError> {
        let bad = |err: anyhow::Error| MetadataError::Add(format!("{err:#}"));
        let mut add = AddMetadata::default();
        add.name = AddMetadataField::Set(self.name.clone());
        if let Some(version) = &self.version {
            add.version = AddMetadataField::Set(Version::new(version.clone()));
        }
        if let Some(description) = &self.description {
            add.description = AddMetadataField::Set(Description::new(description.clone()));
        }
        if !self.authors.is_empty() {
            add.authors = AddMetadataField::Set(Authors::new(self.authors.join(", ")));
        }
        if let Some(licenses) = &self.licenses {
            add.licenses = AddMetadataField::Set(Licenses::new(licenses).map_err(bad)?);
        }
        if let Some(source) = &self.source {
            add.source = AddMetadataField::Set(Source::new(source).map_err(bad)?);
        }
        if let Some(homepage) = &self.homepage {
            add.homepage = AddMetadataField::Set(Homepage::new(homepage).map_err(bad)?);
        }
        add.to_wasm(component).map_err(bad)
    }
}

/// `Name <email>`, `Name` or `<email>`.
fn person(name: Option<&str>, email: Option<&str>) -> Option<String> {
    match (name, email) {
        (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
        (Some(name), None) => Some(name.to_string()),
        (None, Some(email)) => Some(format!("<{email}>")),
        (None, None) => None,
    }
}

fn manifest_problem(path: &Path, problem: &str) -> MetadataError {
    MetadataError::Manifest {
        path: path.display().to_string(),
        problem: problem.to_string(),
    }
}

fn read_toml(path: &Path) -> Result<toml::Table, MetadataError> {
    let text = std::fs::read_to_string(path).map_err(|source| MetadataError::Read {
        path: path.display().to_string(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|err| manifest_problem(path, err.to_string().trim_end()))
}

/// The `[workspace.package]` a crate inherits from, if any.
fn workspace_package(
    manifest: &Path,
    package: &toml::Table,
) -> Result<Option<toml::Table>, MetadataError> {
    let folder = manifest.parent().unwrap_or(Path::new("."));
    let declared = package
        .get("workspace")
        .and_then(toml::Value::as_str)
        .map(|relative| folder.join(relative).join("Cargo.toml"));
    let candidates: Vec<_> = match declared {
        Some(path) => vec![path],
        None => folder
            .ancestors()
            .skip(1)
            .map(|parent| parent.join("Cargo.toml"))
            .filter(|path| path.is_file())
            .collect(),
    };
    for candidate in candidates {
        let root = read_toml(&candidate)?;
        if let Some(table) = root
            .get("workspace")
            .and_then(|workspace| workspace.get("package"))
            .and_then(toml::Value::as_table)
        {
            return Ok(Some(table.clone()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_written_is_read_back_with_the_digest_of_the_bytes() {
        let component = wat::parse_str("(component)").unwrap();
        let bare = PackIdentity::of(&component);
        assert_eq!(bare.name, None);
        assert_eq!(bare.digest, digest(&component));
        let metadata = PackMetadata {
            name: "sawtooth-pack".into(),
            version: Some("1.2.3".into()),
            description: Some("Sawtooth waves".into()),
            authors: vec!["Ada <ada@example.com>".into()],
            licenses: Some("MIT OR Apache-2.0".into()),
            source: Some("https://example.com/sawtooth".into()),
            homepage: None,
        };
        let tagged = metadata.add_to(&component).unwrap();
        let identity = PackIdentity::of(&tagged);
        assert_eq!(identity.name.as_deref(), Some("sawtooth-pack"));
        assert_eq!(identity.version.as_deref(), Some("1.2.3"));
        assert_eq!(identity.description.as_deref(), Some("Sawtooth waves"));
        assert_eq!(identity.authors.as_deref(), Some("Ada <ada@example.com>"));
        assert_eq!(identity.licenses.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(
            identity.source.as_deref(),
            Some("https://example.com/sawtooth")
        );
        assert_eq!(identity.digest, digest(&tagged));
        assert!(identity.short().starts_with("sawtooth-pack 1.2.3, sha256:"));
        assert!(identity.lines().contains("licenses: MIT OR Apache-2.0\n"));
        let bad = PackMetadata {
            licenses: Some("not a licence (".into()),
            ..metadata
        };
        assert!(bad.add_to(&component).is_err());
    }

    #[test]
    fn a_cargo_manifest_supplies_metadata_with_workspace_fields() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"pack\"]\n[workspace.package]\nversion = \"0.4.0\"\nlicense = \"MIT\"\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("pack")).unwrap();
        let manifest = dir.path().join("pack/Cargo.toml");
        std::fs::write(
            &manifest,
            "[package]\nname = \"my-pack\"\nversion.workspace = true\nlicense.workspace = true\ndescription = \"Mine\"\nauthors = [\"Bo\"]\nrepository = \"https://example.com/x\"\n",
        )
        .unwrap();
        let metadata = PackMetadata::from_cargo_manifest(&manifest).unwrap();
        assert_eq!(
            metadata,
            PackMetadata {
                name: "my-pack".into(),
                version: Some("0.4.0".into()),
                description: Some("Mine".into()),
                authors: vec!["Bo".into()],
                licenses: Some("MIT".into()),
                source: Some("https://example.com/x".into()),
                homepage: None,
            }
        );
    }

    #[test]
    fn python_and_npm_manifests_supply_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let pyproject = dir.path().join("pyproject.toml");
        std::fs::write(
            &pyproject,
            "[project]\nname = \"py-pack\"\nversion = \"0.2.0\"\ndescription = \"Snakes\"\nlicense = { text = \"MIT\" }\nauthors = [{ name = \"Ada\", email = \"ada@example.com\" }, { email = \"bo@example.com\" }]\n[project.urls]\nHomepage = \"https://example.com/py\"\nRepository = \"https://example.com/py.git\"\n",
        )
        .unwrap();
        assert_eq!(
            PackMetadata::from_manifest(&pyproject).unwrap(),
            PackMetadata {
                name: "py-pack".into(),
                version: Some("0.2.0".into()),
                description: Some("Snakes".into()),
                authors: vec!["Ada <ada@example.com>".into(), "<bo@example.com>".into()],
                licenses: Some("MIT".into()),
                source: Some("https://example.com/py.git".into()),
                homepage: Some("https://example.com/py".into()),
            }
        );
        let package = dir.path().join("package.json");
        std::fs::write(
            &package,
            r#"{"name": "js-pack", "version": "1.0.0", "author": {"name": "Cy", "email": "cy@example.com"}, "license": "Apache-2.0", "repository": {"type": "git", "url": "https://example.com/js.git"}}"#,
        )
        .unwrap();
        assert_eq!(
            PackMetadata::from_manifest(&package).unwrap(),
            PackMetadata {
                name: "js-pack".into(),
                version: Some("1.0.0".into()),
                description: None,
                authors: vec!["Cy <cy@example.com>".into()],
                licenses: Some("Apache-2.0".into()),
                source: Some("https://example.com/js.git".into()),
                homepage: None,
            }
        );
        std::fs::write(&package, r#"{"version": "1.0.0"}"#).unwrap();
        let err = PackMetadata::from_manifest(&package).unwrap_err();
        assert!(
            err.to_string().ends_with("package.json: no \"name\" field"),
            "{err}"
        );
        std::fs::write(&pyproject, "[tool.x]\n").unwrap();
        let err = PackMetadata::from_manifest(&pyproject).unwrap_err();
        assert!(err.to_string().contains("no [project] table"), "{err}");
    }
}
