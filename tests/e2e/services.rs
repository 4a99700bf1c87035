//! Real services for the end-to-end tests: `prometheus-pushgateway` and
//! `prometheus` (Debian packages), started on free loopback ports and stopped when
//! dropped; and the `promemu` binary under test.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1, never one handed out before in this process:
/// tests run in parallel, and two services told the same port would make one
/// test talk to the other's service.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if HANDED_OUT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(port)
        {
            return port;
        }
    }
}

/// GET `url` as text; `None` on any failure.
pub fn get(url: &str) -> Option<String> {
    ureq::get(url)
        .timeout(Duration::from_secs(5))
        .call()
        .ok()?
        .into_string()
        .ok()
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if started.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A child process killed on drop.
pub struct Service {
    pub url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Service {
    /// The service's process id (to freeze it with SIGSTOP, say).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port its URL names.
    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `program` with `args` and waits until `<url>/-/ready` answers (as
/// Prometheus and the Pushgateway do); `dir` lives as long as the service.
pub fn start_service(
    program: &str,
    args: &[String],
    url: String,
    dir: tempfile::TempDir,
) -> Service {
    start(program, args, url, dir)
}

fn start(program: &str, args: &[String], url: String, dir: tempfile::TempDir) -> Service {
    let ready = format!("{url}/-/ready");
    start_when(program, args, url, dir, || get(&ready).is_some())
}

/// Starts `program` and waits until `ready` says so.
fn start_when(
    program: &str,
    args: &[String],
    url: String,
    dir: tempfile::TempDir,
    ready: impl Fn() -> bool,
) -> Service {
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| {
            panic!("cannot start {program} (run tests/run.sh, which installs it): {err}")
        });
    let mut service = Service {
        url,
        child,
        _dir: dir,
    };
    wait_for(Duration::from_secs(30), || ready().then_some(()))
        .unwrap_or_else(|| panic!("{program} did not become ready at {}", service.url));
    // Ready, but is it ours? A service that could not bind has exited.
    if let Ok(Some(status)) = service.child.try_wait() {
        panic!(
            "{program} exited ({status}) right after starting: something else answers at {}",
            service.url
        );
    }
    service
}

/// An OCI registry (Debian's `docker-registry`) on a free loopback port,
/// requiring `user` (name, password) by htpasswd when given; its URL is
/// `http://127.0.0.1:PORT`.
pub fn registry(user: Option<(&str, &str)>) -> Service {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut config = format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
        dir.path().join("data").display()
    );
    if let Some((name, password)) = user {
        let htpasswd = dir.path().join("htpasswd");
        let hash = bcrypt::hash(password, 5).unwrap();
        std::fs::write(&htpasswd, format!("{name}:{hash}\n")).unwrap();
        config.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: promemu-tests\n    path: {}\n",
            htpasswd.display()
        ));
    }
    let config_path = dir.path().join("config.yml");
    std::fs::write(&config_path, config).unwrap();
    let args = vec!["serve".to_string(), config_path.display().to_string()];
    start_when(
        "docker-registry",
        &args,
        format!("http://127.0.0.1:{port}"),
        dir,
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    )
}

/// A Pushgateway on a free loopback port.
pub fn pushgateway() -> Service {
    pushgateway_on(free_port())
}

/// A Pushgateway on `port` of 127.0.0.1.
pub fn pushgateway_on(port: u16) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let args = vec![format!("--web.listen-address=127.0.0.1:{port}")];
    start(
        "prometheus-pushgateway",
        &args,
        format!("http://127.0.0.1:{port}"),
        dir,
    )
}

/// nginx configuration of [`Proxy`]; the `@NAME@` placeholders are filled in.
const NGINX_CONFIG: &str = r#"
daemon off;
master_process off;
pid @ROOT@/nginx.pid;
error_log @ROOT@/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path @ROOT@/body;
    proxy_temp_path @ROOT@/proxy;
    fastcgi_temp_path @ROOT@/fastcgi;
    uwsgi_temp_path @ROOT@/uwsgi;
    scgi_temp_path @ROOT@/scgi;
    server {
        listen 127.0.0.1:@PORT@@SSL@;
        @SERVER@
        location / {
            if (-f @FLAG@) { return 503 "down for maintenance\n"; }
            @EXTRA@
            proxy_pass http://127.0.0.1:@UPSTREAM@;
        }
    }
}
"#;

/// A real nginx reverse proxy on a free loopback port in front of a Pushgateway,
/// as deployments put one: it answers 502 while the Pushgateway is down, and 503
/// while it is switched to maintenance.
pub struct Proxy {
    pub service: Service,
    maintenance_flag: PathBuf,
}

impl Proxy {
    /// Starts nginx proxying to `127.0.0.1:upstream_port`; the upstream must be up.
    pub fn in_front_of(upstream_port: u16) -> Proxy {
        Self::in_front_of_with(upstream_port, "")
    }

    /// An nginx in front of a registry that lets through only requests with
    /// `Authorization: Bearer <token>` (as a token-authenticated registry would).
    pub fn bearer_gate(upstream_port: u16, token: &str) -> Proxy {
        Self::in_front_of_with(
            upstream_port,
            &format!(
                "if ($http_authorization != \"Bearer {token}\") {{ return 401; }}\n            client_max_body_size 0;\n            proxy_set_header Host $http_host;"
            ),
        )
    }

    /// An nginx that answers every request with `status` (never passing it on).
    pub fn refusing(upstream_port: u16, status: u16) -> Proxy {
        Self::in_front_of_with(
            upstream_port,
            &format!("return {status} \"refused by the test proxy\\n\";"),
        )
    }

    /// An HTTPS nginx (server certificate from `tls`, for 127.0.0.1) that lets
    /// through only clients showing a certificate of `tls`'s CA, basic auth
    /// `user`:`password` and the header `X-Scope-OrgID: <tenant>`; its URL is
    /// `https://127.0.0.1:PORT`.
    pub fn tls_gate(
        upstream_port: u16,
        tls: &TlsFiles,
        (user, password): (&str, &str),
        tenant: &str,
    ) -> Proxy {
        let htpasswd = tls.dir.join(format!("htpasswd-{upstream_port}"));
        std::fs::write(&htpasswd, format!("{user}:{{PLAIN}}{password}\n")).unwrap();
        let server = format!(
            "ssl_certificate {};\n        ssl_certificate_key {};\n        ssl_client_certificate {};\n        ssl_verify_client on;\n        auth_basic \"promemu-tests\";\n        auth_basic_user_file {};",
            tls.server_cert.display(),
            tls.server_key.display(),
            tls.ca.display(),
            htpasswd.display()
        );
        let extra = format!(
            "if ($http_x_scope_orgid != \"{tenant}\") {{ return 403 \"unknown tenant\\n\"; }}\n            client_max_body_size 0;"
        );
        let mut proxy = Self::configured(upstream_port, &extra, " ssl", &server);
        proxy.service.url = proxy.service.url.replace("http://", "https://");
        proxy
    }

    /// `in_front_of`, with `extra` lines in the proxied location.
    fn in_front_of_with(upstream_port: u16, extra: &str) -> Proxy {
        Self::configured(upstream_port, extra, "", "")
    }

    /// An nginx with `extra` lines in the proxied location, `listen_options`
    /// after its address and `server` lines in its server block.
    fn configured(upstream_port: u16, extra: &str, listen_options: &str, server: &str) -> Proxy {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let maintenance_flag = dir.path().join("maintenance");
        let config = dir.path().join("nginx.conf");
        let text = NGINX_CONFIG
            .replace("@ROOT@", &root)
            .replace("@PORT@", &port.to_string())
            .replace("@UPSTREAM@", &upstream_port.to_string())
            .replace("@FLAG@", &maintenance_flag.display().to_string())
            .replace("@EXTRA@", extra)
            .replace("@SSL@", listen_options)
            .replace("@SERVER@", server);
        std::fs::write(&config, text).unwrap();
        let program = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|candidate| Path::new(candidate).exists())
            .unwrap_or("nginx");
        let args = vec![
            "-c".to_string(),
            config.display().to_string(),
            "-p".to_string(),
            root.clone(),
            "-e".to_string(),
            format!("{root}/error.log"),
        ];
        // The upstream is up already: nginx is ready once it listens.
        let service = start_when(
            program,
            &args,
            format!("http://127.0.0.1:{port}"),
            dir,
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        Proxy {
            service,
            maintenance_flag,
        }
    }

    /// Switches maintenance (answer 503 to everything) on or off.
    pub fn set_maintenance(&self, on: bool) {
        if on {
            std::fs::write(&self.maintenance_flag, b"").unwrap();
        } else {
            std::fs::remove_file(&self.maintenance_flag).unwrap();
        }
    }
}

/// A Prometheus scraping `target` (host:port) every second with honor_labels.
pub fn prometheus(target: &str) -> Service {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let args = vec![
        format!("--config.file={}", config.display()),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
    ];
    start("prometheus", &args, format!("http://127.0.0.1:{port}"), dir)
}

/// A Prometheus that scrapes nothing and takes remote writes at
/// `<url>/api/v1/write`.
pub fn prometheus_receiver() -> Service {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\n").unwrap();
    let args = vec![
        format!("--config.file={}", config.display()),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--web.enable-remote-write-receiver".to_string(),
    ];
    start("prometheus", &args, format!("http://127.0.0.1:{port}"), dir)
}

/// A private CA, a server certificate for 127.0.0.1 and a client
/// certificate it signed, made with `openssl` (PEM files in `dir`).
pub struct TlsFiles {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// Makes [`TlsFiles`] in `dir`.
pub fn tls_files(dir: &Path) -> TlsFiles {
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs (tests/run.sh installs it)");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &key,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=promemu test CA",
            ],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ]
        .concat(),
    );
    for (name, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
        let extensions = format!("{name}.ext");
        std::fs::write(
            dir.join(&extensions),
            format!(
                "basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\nsubjectAltName=IP:127.0.0.1\n"
            ),
        )
        .unwrap();
        let (key_file, request, cert) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        openssl(
            &[
                &["req"][..],
                &key,
                &[
                    "-keyout",
                    &key_file,
                    "-out",
                    &request,
                    "-subj",
                    &format!("/CN=promemu {name}"),
                ],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            &request,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "2",
            "-extfile",
            &extensions,
        ]);
    }
    TlsFiles {
        dir: dir.to_path_buf(),
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    }
}

/// A Prometheus that scrapes nothing, on a TSDB folder made with `fill` (given
/// the folder to fill, such as with `promtool tsdb create-blocks-from`).
pub fn prometheus_on_blocks(fill: impl FnOnce(&Path)) -> Service {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fill(&data);
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\n").unwrap();
    let args = vec![
        format!("--config.file={}", config.display()),
        format!("--storage.tsdb.path={}", data.display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
    ];
    start("prometheus", &args, format!("http://127.0.0.1:{port}"), dir)
}

/// Path of the `promemu` binary under test: `$PROMEMU_BIN`, else the one built
/// beside this test (`target/<profile>/promemu`, which `cargo test --workspace`
/// builds).
pub fn promemu() -> PathBuf {
    if let Some(path) = std::env::var_os("PROMEMU_BIN") {
        return PathBuf::from(path);
    }
    let test = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/promemu
    let binary = test
        .parent()
        .and_then(Path::parent)
        .map(|profile| profile.join("promemu"))
        .expect("the test lives in target/<profile>/deps");
    assert!(
        binary.is_file(),
        "{} is missing: build it with `cargo build -p promemu` (or set PROMEMU_BIN)",
        binary.display()
    );
    binary
}

/// The repository's root folder.
pub fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The repository's `configs/` folder.
pub fn configs_dir() -> PathBuf {
    repository().join("configs")
}

/// The repository's `tests/fixtures/` folder.
pub fn fixtures_dir() -> PathBuf {
    repository().join("tests/fixtures")
}

/// The emulator's virtual time in seconds, from its `/status` at `listen`.
pub fn virtual_seconds(listen: &str) -> Option<f64> {
    let status: serde_json::Value =
        serde_json::from_str(&get(&format!("http://{listen}/status"))?).ok()?;
    status["virtual_time"]
        .as_str()?
        .trim_end_matches('s')
        .parse()
        .ok()
}

/// Resident memory of a process in KiB, from /proc.
pub fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs promemu with `args` to the end.
pub fn promemu_output(args: &[&str]) -> std::process::Output {
    Command::new(promemu())
        .args(args)
        .env("PME_CACHE_DIR", "off")
        .output()
        .expect("promemu runs")
}

/// The wall clock in Unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Starts promemu with `args`, its log captured to a file in `log_dir`.
pub fn spawn_promemu(args: &[&str], log: &Path) -> Child {
    let log_file = std::fs::File::create(log).unwrap();
    Command::new(promemu())
        .args(args)
        .env("PME_CACHE_DIR", "off")
        .env_remove("PME_PUSHGATEWAY_URL")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("promemu starts")
}

/// Series lines (not comments) of a job's group in the Pushgateway's exposition.
pub fn pushgateway_series(gateway: &Service, job: &str) -> Vec<String> {
    get(&format!("{}/metrics", gateway.url))
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.starts_with('#') && line.contains(&format!("job=\"{job}\"")))
        .filter(|line| {
            !line.starts_with("push_time_seconds") && !line.starts_with("push_failure_time_seconds")
        })
        .map(String::from)
        .collect()
}

/// Distinct values of label `label` among `lines`.
pub fn label_values(lines: &[String], label: &str) -> Vec<String> {
    let mut values: Vec<String> = lines
        .iter()
        .filter_map(|line| {
            let start = line.find(&format!("{label}=\""))? + label.len() + 2;
            let end = line[start..].find('"')? + start;
            Some(line[start..end].to_string())
        })
        .collect();
    values.sort();
    values.dedup();
    values
}

/// Sends `signal` (e.g. "-TERM") to `child`.
pub fn send_signal(signal: &str, child: &Child) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
