//! Running commands with a bounded time: every child gets its own process group, its
//! output is captured (or passed through), and on time-out the whole group is killed.

use anyhow::{Context, Result, bail};
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Cmd {
    command: Command,
    shown: Vec<OsString>,
    timeout: Duration,
    inherit: bool,
    stdin: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code; `None` when killed by a signal or timed out.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// The last lines of stderr (or stdout), for error messages.
    pub fn tail(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let lines: Vec<&str> = text.trim_end().lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            command: Command::new(program.as_ref()),
            shown: vec![program.as_ref().to_os_string()],
            timeout: Duration::from_secs(60),
            inherit: false,
            stdin: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.shown.push(arg.as_ref().to_os_string());
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn dir(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.command.current_dir(dir);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Cmd {
        self.command.env_remove(key);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Cmd {
        self.timeout = timeout;
        self
    }

    /// Pass stdout and stderr through instead of capturing them.
    pub fn inherit_output(mut self) -> Cmd {
        self.inherit = true;
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn display(&self) -> String {
        self.shown
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs to completion or time-out. Errors only when the program cannot be started.
    pub fn run(mut self) -> Result<Output> {
        let shown = self.display();
        self.command.process_group(0);
        self.command.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        if !self.inherit {
            self.command.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let start = Instant::now();
        let mut child = self
            .command
            .spawn()
            .with_context(|| format!("cannot start `{shown}`"))?;
        if let (Some(bytes), Some(mut pipe)) = (self.stdin.take(), child.stdin.take()) {
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let reader = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut buf);
                }
                String::from_utf8_lossy(&buf).into_owned()
            })
        };
        let out = reader(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let err = reader(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if start.elapsed() > self.timeout {
                timed_out = true;
                kill_group(child.id(), "KILL");
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // Grandchildren may hold the pipes open; do not wait on them forever.
        let join = |h: std::thread::JoinHandle<String>| {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if h.is_finished() {
                h.join().unwrap_or_default()
            } else {
                String::new()
            }
        };
        Ok(Output {
            code: status.and_then(|s| s.code()),
            stdout: join(out),
            stderr: join(err),
            timed_out,
        })
    }

    /// Runs and requires exit code 0.
    pub fn run_ok(self) -> Result<Output> {
        let shown = self.display();
        let timeout = self.timeout;
        let out = self.run()?;
        if out.timed_out {
            bail!("`{shown}` timed out after {timeout:?}\n{}", out.tail());
        }
        if !out.ok() {
            bail!("`{shown}` exited with {:?}\n{}", out.code, out.tail());
        }
        Ok(out)
    }
}

/// Sends a signal to a whole process group (its leader's pid), ignoring errors.
pub fn kill_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Sends a signal to one process, ignoring errors.
pub fn kill_pid(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Output of a git command in `dir`, trimmed of nothing.
pub fn git_output(dir: &Path, args: &[&str]) -> Result<String> {
    Ok(Cmd::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .timeout(Duration::from_secs(60))
        .run_ok()?
        .stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_and_times_out() {
        let out = Cmd::new("sh")
            .args(["-c", "echo hi; echo err >&2; exit 3"])
            .run()
            .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, "hi\n");
        assert_eq!(out.stderr, "err\n");
        let slow = Cmd::new("sleep")
            .arg("5")
            .timeout(Duration::from_millis(200))
            .run()
            .unwrap();
        assert!(slow.timed_out);

        let cat = Cmd::new("cat").stdin("abc").run_ok().unwrap();
        assert_eq!(cat.stdout, "abc");
    }
}
