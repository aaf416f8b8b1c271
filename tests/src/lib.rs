//! Test support: the local AWS stand-in (moto + the Polysync extension,
//! `standins/polysync_standin/`) and `cargo lambda watch`, each started on a free port of
//! 127.0.0.1 and stopped with the tests.
//!
//! This is the Rust integration crate's own harness, the twin of `standins/harness.py` (which
//! starts the same two processes for the demo and the pytest suites, and deploys the state
//! machine): a cargo test cannot import Python, and the pytest suites need no Rust, so each
//! harness spawns the processes for its own tests, in its own language.
//!
//! Nothing here skips: a stand-in that cannot start fails the test that asked for it, with
//! what to run to fix it.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_glue::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_glue::types::{ExecutionProperty, JobCommand, WorkerType};
use aws_sdk_glue::Client;
use polysync_glue::config::Config;
use polysync_glue::Services;
use serde_json::Value;

pub const REGION: &str = "us-east-1";
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:polysync-glue";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The Python of the project's virtual environment, made by `scripts/setup`.
fn standin_python() -> PathBuf {
    let python = std::env::var_os("POLYSYNC_STANDIN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup to install the local AWS stand-in",
        python.display()
    );
    python
}

/// A Glue job definition for the stand-in; the default is a G.1X × 5 Spark job.
pub struct Definition {
    /// `Command.Name`: glueetl, gluestreaming, pythonshell or glueray.
    pub command: &'static str,
    pub glue_version: &'static str,
    pub worker_type: Option<WorkerType>,
    pub workers: Option<i32>,
    pub timeout: Option<i32>,
    pub max_retries: i32,
    pub max_concurrent_runs: i32,
    pub default_arguments: Vec<(String, String)>,
}

impl Default for Definition {
    fn default() -> Self {
        Self {
            command: "glueetl",
            glue_version: "4.0",
            worker_type: Some(WorkerType::G1X),
            workers: Some(5),
            timeout: Some(2880),
            max_retries: 0,
            max_concurrent_runs: 1,
            default_arguments: Vec::new(),
        }
    }
}

impl Definition {
    /// A Python shell job, sized by MaxCapacity (Glue 3.0, the newest that runs Python shell).
    pub fn python_shell() -> Self {
        Self {
            command: "pythonshell",
            glue_version: "3.0",
            worker_type: None,
            workers: None,
            ..Self::default()
        }
    }

    /// A Ray job on Z.2X workers.
    pub fn ray() -> Self {
        Self {
            command: "glueray",
            glue_version: "4.0",
            worker_type: Some(WorkerType::Z2X),
            workers: Some(2),
            ..Self::default()
        }
    }

    /// A Spark streaming job: its runs last until they are stopped.
    pub fn streaming() -> Self {
        Self {
            command: "gluestreaming",
            ..Self::default()
        }
    }
}

/// How long a child may take to say it is ready (cargo lambda watch may build first).
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// A port is taken by the server itself; one another process took first is tried again.
const PORT_TRIES: usize = 5;

/// A child in its own process group, ended with the whole group when dropped.
struct Guarded(Child);

impl Guarded {
    /// Spawns `command` as the leader of a new process group. With `die_with_this_thread`, it
    /// also gets SIGTERM when the spawning thread ends (Linux PR_SET_PDEATHSIG): right for a
    /// child owned by one test, wrong for one shared by the tests of a binary, which guards
    /// itself instead (the stand-in's `--parent-pid`).
    fn spawn(command: &mut Command, die_with_this_thread: bool) -> std::io::Result<Self> {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        if die_with_this_thread {
            // SAFETY: prctl is async-signal-safe and touches only the child being started.
            unsafe {
                command.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        command.spawn().map(Self)
    }

    fn signal_group(&self, signal: libc::c_int) {
        // SAFETY: a plain system call on the group this child leads.
        unsafe {
            libc::killpg(self.0.id() as libc::pid_t, signal);
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.signal_group(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.signal_group(libc::SIGKILL);
        let _ = self.0.wait();
    }
}

/// A log file for a child's output under target/ (cleaned with the build), kept where a
/// failure message can point to it.
fn log_file(name: &str) -> (PathBuf, std::fs::File) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = workspace_root().join("target/test-logs");
    std::fs::create_dir_all(&dir).expect("target/test-logs");
    let path = dir.join(format!(
        "polysync-{name}-{}-{}.log",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::File::create(&path).expect("a log file in target/test-logs");
    (path, file)
}

/// The moto server with the Polysync Glue extension, one per test binary.
pub struct StandIn {
    pub url: String,
    _process: Guarded,
}

impl StandIn {
    /// Starts a new stand-in on a port it binds itself; it exits by itself when this process
    /// does (`--parent-pid`), which also covers the stand-in shared in a `static`.
    pub fn start() -> Self {
        let (log, stderr) = log_file("standin");
        let mut process = Guarded::spawn(
            Command::new(standin_python())
                .current_dir(workspace_root().join("standins"))
                .args([
                    "-m",
                    "polysync_standin",
                    "--port",
                    "0",
                    "--parent-pid",
                    &std::process::id().to_string(),
                ])
                .stdout(Stdio::piped())
                .stderr(stderr),
            false,
        )
        .expect("the stand-in starts");
        // The ready line, read with a timeout; the pipe is closed once it is read.
        let stdout = process.0.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver.recv_timeout(READY_TIMEOUT).unwrap_or_default();
        let url = line
            .trim()
            .strip_prefix("POLYSYNC_STANDIN_URL=")
            .unwrap_or_else(|| {
                panic!(
                    "the stand-in did not start (see {}): it printed {line:?}",
                    log.display()
                )
            })
            .to_owned();
        let standin = Self {
            url,
            _process: process,
        };
        let health: Value = standin.get("/polysync-standin/health");
        assert_eq!(health["ok"], true, "the stand-in is not healthy: {health}");
        standin
    }

    /// The stand-in shared by every test of this binary.
    pub fn shared() -> &'static Self {
        static SHARED: OnceLock<StandIn> = OnceLock::new();
        SHARED.get_or_init(Self::start)
    }

    fn get(&self, path: &str) -> Value {
        ureq::get(format!("{}{path}", self.url))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .body_mut()
            .read_json()
            .unwrap()
    }

    fn post(&self, path: &str, body: &Value) -> Value {
        ureq::post(format!("{}{path}", self.url))
            .send_json(body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
            .body_mut()
            .read_json()
            .unwrap()
    }

    /// How runs of `job_name` go: seconds per live state, the end state, retries.
    pub fn script(&self, job_name: &str, script: Value) {
        let path = format!(
            "/polysync-standin/jobs/{}/script",
            job_name.replace('%', "%25").replace('/', "%2F")
        );
        self.post(&path, &script);
    }

    /// Injects a fault: `kind` is throttle, http500 or lost-reply.
    pub fn fault(&self, fault: Value) {
        self.post("/polysync-standin/faults", &fault);
    }

    /// The bodies of the Glue requests of one operation, oldest first.
    pub fn requests(&self, operation: &str) -> Vec<Value> {
        let all = self.get(&format!("/polysync-standin/requests?operation={operation}"));
        all.as_array()
            .unwrap()
            .iter()
            .map(|r| r["body"].clone())
            .collect()
    }

    /// A Glue client of the real SDK, speaking to the stand-in over HTTP.
    pub fn glue(&self) -> Client {
        let config = aws_sdk_glue::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("test", "test", None, None, "stand-in"))
            .endpoint_url(&self.url)
            .build();
        Client::from_conf(config)
    }

    /// Creates a Glue job through the real SDK.
    pub async fn create_job(&self, name: &str, definition: Definition) {
        self.glue()
            .create_job()
            .name(name)
            .role("arn:aws:iam::123456789012:role/glue")
            .command(
                JobCommand::builder()
                    .name(definition.command)
                    .script_location("s3://scripts/job.py")
                    .build(),
            )
            .glue_version(definition.glue_version)
            .set_worker_type(definition.worker_type)
            .set_number_of_workers(definition.workers)
            .set_timeout(definition.timeout)
            .max_retries(definition.max_retries)
            .execution_property(
                ExecutionProperty::builder()
                    .max_concurrent_runs(definition.max_concurrent_runs)
                    .build(),
            )
            .set_default_arguments(Some(definition.default_arguments.into_iter().collect()))
            .send()
            .await
            .expect("CreateJob on the stand-in");
    }

    /// The functions' services exactly as they build them (`Services::sdk_loader`: timeouts,
    /// retries), speaking to the stand-in over HTTP.
    pub async fn env(&self, config: Config) -> Services {
        let sdk = Services::sdk_loader(REGION)
            .endpoint_url(&self.url)
            .credentials_provider(Credentials::new("test", "test", None, None, "stand-in"))
            .load()
            .await;
        Services::from_sdk(&sdk, REGION.to_owned(), config)
    }
}

/// A port free right now; the server that binds it may still lose it, so callers try again.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the socket listening on 127.0.0.1:`port` is held by a process of `group` (the
/// process group a [`Guarded`] child leads); none while nothing listens there. Read from
/// Linux's /proc/net/tcp (local address in hex, state 0A is LISTEN, the tenth field the
/// socket's inode) and each process's open files: something else that accepts on the port is
/// not our server.
fn group_listens(group: u32, port: u16) -> Option<bool> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let address = format!("0100007F:{port:04X}");
    let sockets: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(1) == Some(&address.as_str()) && fields.get(3) == Some(&"0A"))
                .then(|| format!("socket:[{}]", fields.get(9).unwrap_or(&"")))
        })
        .collect();
    if sockets.is_empty() {
        return None;
    }
    let in_group = |pid: &str| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // After the parenthesised name: state, parent, process group.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        after_name.split_whitespace().nth(2) == Some(group.to_string().as_str())
    };
    let holds = |pid: &str| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|target| {
                sockets
                    .iter()
                    .any(|socket| target.as_os_str() == socket.as_str())
            })
    };
    let ours = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .any(|pid| in_group(&pid) && holds(&pid));
    Some(ours)
}

/// `cargo lambda watch`: the Lambda Runtime API and Invoke API in front of the real binaries.
pub struct LambdaWatch {
    pub url: String,
    _process: Guarded,
}

/// The answer of one invocation: the HTTP status and the JSON body.
#[derive(Debug)]
pub struct Invocation {
    pub status: u16,
    pub body: Value,
}

impl LambdaWatch {
    /// Serves the workspace's binaries with the environment a deployed function has.
    pub fn start(standin: &StandIn, extra_env: &[(&str, &str)]) -> Self {
        let cargo_lambda = workspace_root().join(".venv/bin/cargo-lambda");
        assert!(
            cargo_lambda.exists(),
            "{} is missing: run scripts/setup",
            cargo_lambda.display()
        );
        let mut vars = vec![
            format!("AWS_ENDPOINT_URL={}", standin.url),
            format!("AWS_REGION={REGION}"),
            "AWS_ACCESS_KEY_ID=test".to_owned(),
            "AWS_SECRET_ACCESS_KEY=test".to_owned(),
            "AWS_LAMBDA_LOG_FORMAT=JSON".to_owned(),
        ];
        vars.extend(extra_env.iter().map(|(k, v)| format!("{k}={v}")));
        let (log, _) = log_file("lambda-watch");
        for _ in 0..PORT_TRIES {
            let port = free_port();
            let output = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
            let mut process = Guarded::spawn(
                Command::new(&cargo_lambda)
                    .current_dir(workspace_root())
                    .args(["lambda", "watch", "--ignore-changes", "--quiet"])
                    .args([
                        "--invoke-address",
                        "127.0.0.1",
                        "--invoke-port",
                        &port.to_string(),
                    ])
                    .args(["--env-var", &vars.join(",")])
                    .stdout(Stdio::null())
                    .stderr(output),
                true,
            )
            .expect("cargo lambda watch starts");
            let deadline = Instant::now() + READY_TIMEOUT;
            while matches!(process.0.try_wait(), Ok(None)) && Instant::now() < deadline {
                match group_listens(process.0.id(), port) {
                    Some(true) => {
                        return Self {
                            url: format!("http://127.0.0.1:{port}"),
                            _process: process,
                        }
                    }
                    // Another process took the port meanwhile: try another.
                    Some(false) => break,
                    None => std::thread::sleep(Duration::from_millis(100)),
                }
            }
            // It exited (most likely: another process took the port meanwhile): again.
        }
        panic!("cargo lambda watch did not start; see {}", log.display())
    }

    /// Invokes a function by its binary name through the Lambda Invoke API.
    pub fn invoke(&self, function: &str, payload: &Value) -> Invocation {
        let mut response = ureq::post(format!(
            "{}/2015-03-31/functions/{function}/invocations",
            self.url
        ))
        .config()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .send_json(payload)
        .unwrap_or_else(|e| panic!("invoke {function}: {e}"));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{function} answered {status} with non-JSON {text:?}"));
        Invocation { status, body }
    }
}

/// A name no other test uses, so tests can share one stand-in.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
