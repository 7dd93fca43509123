//! A real PostgreSQL server for the tests that run on both stores: Debian's `postgresql`
//! binaries (`make setup` installs them), a new cluster made by `initdb` in a temporary folder,
//! listening on a free loopback port, run as an unprivileged user (`nobody` when the tests run
//! as root: PostgreSQL refuses to run as root). One server per test process, started by the
//! first test that asks; each test gets a database of its own. The server stops, and its
//! folder is removed, when the test process ends (however it ends).

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

/// The running server: where to reach it as its superuser, and the CA its certificate is
/// signed by (it serves TLS as well as plain connections).
pub struct Server {
    base: String,
    ca: PathBuf,
}

/// The folder holding Debian's PostgreSQL server binaries (the newest installed), or `PATH`'s.
fn binaries() -> PathBuf {
    let mut installed: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.filter_map(Result::ok)
                .map(|d| d.path().join("bin"))
                .filter(|b| b.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    installed
        .sort_by_key(|b| b.parent().and_then(Path::file_name).and_then(|v| v.to_str()?.parse::<u32>().ok()));
    if let Some(newest) = installed.pop() {
        return newest;
    }
    let on_path = Command::new("sh").args(["-c", "command -v initdb"]).output().ok();
    match on_path.filter(|o| o.status.success()) {
        Some(o) => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).parent().unwrap().to_path_buf(),
        None => panic!(
            "PostgreSQL's server (initdb, postgres) is not installed: `make setup` installs Debian's postgresql"
        ),
    }
}

/// Runs as `nobody` when this process is root; the server dies with the thread that starts it
/// (see [`server`]), which lives as long as the process.
fn unprivileged(command: &mut Command) -> &mut Command {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        command.uid(65_534).gid(65_534);
    }
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The test process's server, started on first use.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        // The server is a child of this thread, which never ends: the kernel signals the
        // server's shell when the thread does, that is, when the process exits.
        std::thread::spawn(move || {
            let (started, _shell) = start();
            ready_tx.send(started).unwrap();
            loop {
                std::thread::park();
            }
        });
        ready_rx.recv().unwrap()
    })
}

fn start() -> (Server, std::process::Child) {
    let bin = binaries();
    let dir = std::env::temp_dir().join(format!("paydeck-postgres-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&dir, Some(65_534), Some(65_534)).unwrap();
    }
    let data = dir.join("data");
    let init = unprivileged(Command::new(bin.join("initdb")).arg("-D").arg(&data).args([
        "-U",
        "paydeck",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]))
    .stdout(Stdio::null())
    .output()
    .expect("initdb runs");
    assert!(init.status.success(), "initdb failed: {}", String::from_utf8_lossy(&init.stderr));

    // A certificate for 127.0.0.1 and localhost, signed by a CA of its own; the key only the
    // server's user may read, as PostgreSQL demands.
    let tls = sim::tls::generate().unwrap();
    let (cert, key, ca) = (dir.join("server.crt"), dir.join("server.key"), dir.join("ca.crt"));
    std::fs::write(&cert, &tls.server_cert_pem).unwrap();
    std::fs::write(&key, &tls.server_key_pem).unwrap();
    std::fs::write(&ca, &tls.ca_pem).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            for file in [&cert, &key, &ca] {
                std::os::unix::fs::chown(file, Some(65_534), Some(65_534)).unwrap();
            }
        }
    }

    let port = free_port();
    // A shell that stops the server and removes its folder when it is told to (SIGTERM, sent
    // by the kernel when the starting thread ends).
    let script = format!(
        "trap 'kill -INT $pid 2>/dev/null; wait $pid; rm -rf \"{dir}\"' TERM INT; \
         \"{postgres}\" -D \"{data}\" -p {port} -k \"{dir}\" -c listen_addresses=127.0.0.1 -c max_connections=200 \
         -c ssl=on -c ssl_cert_file=\"{cert}\" -c ssl_key_file=\"{key}\" \
         > \"{dir}/server.log\" 2>&1 & pid=$!; wait $pid",
        dir = dir.display(),
        data = data.display(),
        postgres = bin.join("postgres").display(),
        cert = cert.display(),
        key = key.display(),
    );
    let mut shell = Command::new("sh");
    unprivileged(shell.args(["-c", &script]));
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a flag of the calling (child) process.
    unsafe {
        shell.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut shell = shell.spawn().expect("the PostgreSQL server starts");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "paydeck"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            break;
        }
        if Instant::now() > deadline || shell.try_wait().is_ok_and(|ended| ended.is_some()) {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            panic!("the PostgreSQL server did not become ready:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (Server { base: format!("postgres://paydeck@127.0.0.1:{port}"), ca }, shell)
}

impl Server {
    /// A new, empty database on the server for one test: its URL.
    pub async fn database(&self, name: &str) -> String {
        let admin = sqlx::PgPool::connect(&format!("{}/postgres", self.base)).await.unwrap();
        let db: String =
            format!("{}_{}", name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"), free_port());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\""))).execute(&admin).await.unwrap();
        admin.close().await;
        format!("{}/{db}", self.base)
    }

    /// The URL of a database that may not exist, for tests of what a wrong URL does.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The CA the server's certificate is signed by (PEM).
    pub fn ca(&self) -> &Path {
        &self.ca
    }
}
