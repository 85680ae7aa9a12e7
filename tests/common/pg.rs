//! A throwaway PostgreSQL server for tests: a fresh cluster (initdb) in a
//! temp folder, started with `pg_ctl` on a free 127.0.0.1 port with its
//! unix socket in that folder, stopped (and removed) when dropped.
//!
//! The server binaries come from the `postgresql` Debian package
//! (`/usr/lib/postgresql/<version>/bin`; `.ci/run` installs it). PostgreSQL
//! refuses to run as root, so as root the cluster belongs to the
//! `postgres` user and every server command runs through
//! `runuser -u postgres --`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Trust authentication ignores it; tests check it never leaks.
pub const PASSWORD: &str = "pg-test-password-8f3a";

pub struct Pg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding initdb and pg_ctl.
fn server_bin() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "the PostgreSQL server binaries (initdb, pg_ctl) are not under \
             /usr/lib/postgresql/*/bin: install them with `apt-get install postgresql` \
             (.ci/run does)"
        ),
    }
}

fn output_of(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn id(args: &[&str]) -> u32 {
    let out = output_of(Command::new("id").args(args));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Pg {
    /// A new cluster, started.
    pub fn start() -> Pg {
        let bin = server_bin();
        let dir = tempfile::tempdir().unwrap();
        let as_postgres_user = id(&["-u"]) == 0;
        if as_postgres_user {
            let (uid, gid) = (id(&["-u", "postgres"]), id(&["-g", "postgres"]));
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let pg = Pg {
            dir,
            bin,
            port: free_port(),
            as_postgres_user,
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        pg.resume();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_str().unwrap().to_string()
    }

    /// Run one server binary (as `postgres` when we are root); panic with
    /// its output when it fails.
    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir(self.dir.path());
        let out = output_of(&mut cmd);
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Start the (stopped) server again, on the same port, and wait until
    /// it accepts connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c timezone=UTC -c max_connections=30",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stop the server (fast shutdown: sessions are cut), keeping its data.
    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// A URL for database `postgres` over TCP, with a password that trust
    /// authentication ignores.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    /// Run `f` with a fresh client connection.
    pub fn with_client<T>(
        &self,
        f: impl AsyncFnOnce(&tokio_postgres::Client) -> Result<T, tokio_postgres::Error>,
    ) -> T {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls)
                .await
                .unwrap();
            let driver = tokio::spawn(conn);
            let out = f(&client).await.unwrap();
            drop(client);
            let _ = driver.await;
            out
        })
    }

    /// Run SQL statements.
    pub fn execute(&self, sql: &str) {
        self.with_client(async |c| c.batch_execute(sql).await)
    }

    /// The rows of a query, each as a JSON object (`row_to_json`).
    pub fn rows(&self, query: &str) -> Vec<serde_json::Value> {
        let sql = format!("SELECT coalesce(json_agg(q), '[]')::text FROM ({query}) q");
        let text: String = self.with_client(async |c| c.query_one(&sql, &[]).await?.try_get(0));
        serde_json::from_str::<Vec<serde_json::Value>>(&text).unwrap()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let exe = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let mut cmd = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        // Already stopped is fine.
        let _ = cmd.args(args).current_dir(self.dir.path()).output();
    }
}
