//! Packs shared through a real OCI registry (Debian's `docker-registry` on a
//! loopback port): push, pull into the cache, `--plugin oci://`, digest pins,
//! a config that lists a registry pack, basic auth at the registry and bearer
//! auth at an nginx gate in front of one, and each registry's own credentials
//! from the Docker and Podman login files.

use std::process::{Command, Output};

use crate::services::{Proxy, fixtures_dir, promemu, registry};

/// promemu with `args`, a pack cache in `cache`, plain HTTP to `insecure` and
/// `env`; no login files unless `env` names some (`DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`).
fn run(args: &[&str], cache: &std::path::Path, insecure: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(promemu());
    command
        .args(args)
        .env("PME_CACHE_DIR", "off")
        .env("PME_PACK_CACHE", cache)
        .env("PME_INSECURE_REGISTRIES", insecure)
        .env("DOCKER_CONFIG", cache.join("no-docker-config"))
        .env("REGISTRY_AUTH_FILE", cache.join("no-podman-auth.json"))
        .env_remove("PME_REGISTRY_USERNAME")
        .env_remove("PME_REGISTRY_PASSWORD")
        .env_remove("PME_REGISTRY_TOKEN");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The manifest digest a push printed.
fn manifest_digest(pushed: &Output) -> String {
    String::from_utf8_lossy(&pushed.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("manifest: "))
        .expect("the push prints the manifest digest")
        .to_string()
}

#[test]
fn a_pack_pushed_to_a_registry_is_pulled_by_tag_or_digest_and_cached_by_digest() {
    let registry = registry(None);
    let host = registry.url.trim_start_matches("http://").to_string();
    let cache = tempfile::tempdir().unwrap();
    let square = fixtures_dir().join("square-wave.wasm");
    let tagged = format!("{host}/packs/square:1.0");
    let run = |args: &[&str]| run(args, cache.path(), &host, &[]);

    let pushed = run(&["plugin", "push", square.to_str().unwrap(), &tagged]);
    assert!(pushed.status.success(), "{}", text(&pushed));
    let digest = manifest_digest(&pushed);
    assert!(
        text(&pushed).contains("component: sha256:"),
        "{}",
        text(&pushed)
    );

    // The issue's bar: a tag, then a wrong pin.
    let listed = run(&["scenarios", "--plugin", &format!("oci://{tagged}")]);
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(
        text(&listed).contains("\n  square_wave\n"),
        "{}",
        text(&listed)
    );
    let wrong = format!("sha256:{}", "1".repeat(64));
    let refused = run(&[
        "scenarios",
        "--plugin",
        &format!("oci://{host}/packs/square@{wrong}"),
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("not found in the registry"),
        "{}",
        text(&refused)
    );
    // Tag and pin together: the pin must match what the tag serves; both shown.
    let moved = run(&["scenarios", "--plugin", &format!("oci://{tagged}@{wrong}")]);
    assert_eq!(moved.status.code(), Some(2));
    assert!(
        text(&moved).contains(&format!(
            "is pinned to {wrong}, but the registry served {digest}"
        )),
        "{}",
        text(&moved)
    );

    // Pulled by digest once, then served from the cache with the registry gone.
    let pinned = format!("{host}/packs/square@{digest}");
    let pulled = run(&["plugin", "pull", &pinned]);
    assert!(pulled.status.success(), "{}", text(&pulled));
    drop(registry);
    let again = run(&["plugin", "pull", &pinned]);
    assert!(
        text(&again).contains("(from the cache)"),
        "{}",
        text(&again)
    );
    let offline = run(&["scenarios", "--plugin", &format!("oci://{pinned}")]);
    assert!(offline.status.success(), "{}", text(&offline));

    // A config lists the pack by pinned reference; --check names it.
    let config = cache.path().join("fleet.toml");
    std::fs::write(
        &config,
        format!(
            "plugins = [\"oci://{pinned}\"]\n[[hosts]]\nname = \"h\"\n[[hosts.metrics]]\nname = \"m\"\nscenario = \"square_wave\"\n"
        ),
    )
    .unwrap();
    let checked = run(&["--check", "--config", config.to_str().unwrap()]);
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(
        text(&checked).contains(&format!("pack oci://{pinned}: no name or version, sha256:"))
            && text(&checked).contains(" (registry)\n"),
        "{}",
        text(&checked)
    );
}

#[test]
fn registries_take_basic_or_bearer_credentials_and_plain_http_only_when_listed() {
    let square = fixtures_dir().join("square-wave.wasm");
    let square = square.to_str().unwrap();

    // Basic auth at the registry itself.
    let guarded = registry(Some(("alice", "s3cret")));
    let host = guarded.url.trim_start_matches("http://").to_string();
    let cache = tempfile::tempdir().unwrap();
    let reference = format!("{host}/packs/square:1.0");
    let anonymous = run(
        &["plugin", "push", square, &reference],
        cache.path(),
        &host,
        &[],
    );
    assert_eq!(anonymous.status.code(), Some(2), "{}", text(&anonymous));
    assert!(text(&anonymous).contains("the registry refused the credentials"));
    let alice = [
        ("PME_REGISTRY_USERNAME", "alice"),
        ("PME_REGISTRY_PASSWORD", "s3cret"),
    ];
    let pushed = run(
        &["plugin", "push", square, &reference],
        cache.path(),
        &host,
        &alice,
    );
    assert!(pushed.status.success(), "{}", text(&pushed));
    let mallory = [
        ("PME_REGISTRY_USERNAME", "alice"),
        ("PME_REGISTRY_PASSWORD", "guess"),
    ];
    let refused = run(
        &["plugin", "pull", &reference],
        cache.path(),
        &host,
        &mallory,
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let pulled = run(&["plugin", "pull", &reference], cache.path(), &host, &alice);
    assert!(pulled.status.success(), "{}", text(&pulled));
    assert!(text(&pulled).contains("(downloaded)"));

    // Plain HTTP is refused for a registry not listed as insecure.
    let strict = run(&["plugin", "pull", &reference], cache.path(), "", &alice);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict));
    assert!(
        text(&strict).contains("must be listed in PME_INSECURE_REGISTRIES"),
        "{}",
        text(&strict)
    );

    // A bearer token, checked by a gate in front of an open registry.
    let open = registry(None);
    let port = open.port();
    let gate = Proxy::bearer_gate(port, "tok3n");
    let host = gate.service.url.trim_start_matches("http://").to_string();
    let reference = format!("{host}/packs/square:2.0");
    let token = [("PME_REGISTRY_TOKEN", "tok3n")];
    let pushed = run(
        &["plugin", "push", square, &reference],
        cache.path(),
        &host,
        &token,
    );
    assert!(pushed.status.success(), "{}", text(&pushed));
    let wrong_token = [("PME_REGISTRY_TOKEN", "nope")];
    let refused = run(
        &["scenarios", "--plugin", &format!("oci://{reference}")],
        cache.path(),
        &host,
        &wrong_token,
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let listed = run(
        &["scenarios", "--plugin", &format!("oci://{reference}")],
        cache.path(),
        &host,
        &token,
    );
    assert!(
        text(&listed).contains("\n  square_wave\n"),
        "{}",
        text(&listed)
    );
}

/// A login file in the shape `docker login` and `podman login` write:
/// `{"auths": {host: {"auth": base64("user:password")}}}`.
fn login_file(logins: &[(&str, &str, &str)]) -> String {
    use base64::Engine;
    let auths: serde_json::Map<String, serde_json::Value> = logins
        .iter()
        .map(|(host, user, password)| {
            let auth =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            ((*host).to_string(), serde_json::json!({ "auth": auth }))
        })
        .collect();
    serde_json::json!({ "auths": auths }).to_string()
}

#[test]
fn each_registry_gets_its_own_credentials_from_the_docker_or_podman_login_files() {
    let square = fixtures_dir().join("square-wave.wasm");
    let square = square.to_str().unwrap();
    let alices = registry(Some(("alice", "s3cret")));
    let bobs = registry(Some(("bob", "hunter2")));
    let alice_host = alices.url.trim_start_matches("http://").to_string();
    let bob_host = bobs.url.trim_start_matches("http://").to_string();
    let insecure = format!("{alice_host},{bob_host}");
    let cache = tempfile::tempdir().unwrap();
    let logins = tempfile::tempdir().unwrap();
    let alice_ref = format!("{alice_host}/packs/square:1.0");
    let bob_ref = format!("{bob_host}/packs/square:1.0");
    for (reference, user, password) in [
        (&alice_ref, "alice", "s3cret"),
        (&bob_ref, "bob", "hunter2"),
    ] {
        let given = [
            ("PME_REGISTRY_USERNAME", user),
            ("PME_REGISTRY_PASSWORD", password),
        ];
        let pushed = run(
            &["plugin", "push", square, reference],
            cache.path(),
            &insecure,
            &given,
        );
        assert!(pushed.status.success(), "{}", text(&pushed));
    }

    // Docker's config.json holds both logins: each registry gets its own (had
    // one registry's gone to both, the other would refuse it).
    let docker = logins.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        login_file(&[
            (&alice_host, "alice", "s3cret"),
            (&bob_host, "bob", "hunter2"),
        ]),
    )
    .unwrap();
    let docker_env = [("DOCKER_CONFIG", docker.to_str().unwrap())];
    for reference in [&alice_ref, &bob_ref] {
        let empty_cache = tempfile::tempdir().unwrap();
        let pulled = run(
            &["plugin", "pull", reference],
            empty_cache.path(),
            &insecure,
            &docker_env,
        );
        assert!(pulled.status.success(), "{reference}: {}", text(&pulled));
        assert!(text(&pulled).contains("(downloaded)"), "{}", text(&pulled));
    }

    // Podman's auth file, with bob's login only: alice's registry is asked
    // without credentials, and refuses.
    let podman = logins.path().join("auth.json");
    std::fs::write(&podman, login_file(&[(&bob_host, "bob", "hunter2")])).unwrap();
    let podman_env = [("REGISTRY_AUTH_FILE", podman.to_str().unwrap())];
    let fresh = tempfile::tempdir().unwrap();
    let pulled = run(
        &["plugin", "pull", &bob_ref],
        fresh.path(),
        &insecure,
        &podman_env,
    );
    assert!(pulled.status.success(), "{}", text(&pulled));
    let refused = run(
        &["plugin", "pull", &alice_ref],
        fresh.path(),
        &insecure,
        &podman_env,
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains(
            "the registry refused the credentials (log in with `docker login` or `podman login`"
        ),
        "{}",
        text(&refused)
    );

    // A credential helper that cannot be run is a clear error, not an
    // anonymous request.
    let helper = logins.path().join("helper");
    std::fs::create_dir_all(&helper).unwrap();
    std::fs::write(
        helper.join("config.json"),
        format!(r#"{{"credHelpers": {{"{alice_host}": "promemu-missing-helper"}}}}"#),
    )
    .unwrap();
    let broken = run(
        &["plugin", "pull", &alice_ref],
        fresh.path(),
        &insecure,
        &[("DOCKER_CONFIG", helper.to_str().unwrap())],
    );
    assert_eq!(broken.status.code(), Some(2), "{}", text(&broken));
    assert!(
        text(&broken).contains(&format!(
            "cannot read the credentials for {alice_host} from the Docker or Podman login files"
        )),
        "{}",
        text(&broken)
    );
}
