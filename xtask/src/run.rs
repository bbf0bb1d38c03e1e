//! Running programs with a time limit. Commands are built with `xshell`'s `cmd!`; this
//! module runs them with their output in temporary files rather than pipes, so a
//! grandchild that keeps the output open (the `docker compose` plugin, a daemon) cannot
//! stall the caller, and kills a command's whole process group when it outlives its limit.

use anyhow::{Context, Result, bail};
use rustix::process::{Pid, Signal, kill_process, kill_process_group};
use std::io::{Read, Seek, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt;
use xshell::Cmd;

/// What a finished command printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    /// `None` when it timed out or was killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// The last lines of stderr (or of stdout when stderr is empty), for error messages.
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

/// Runs `cmd` (with `input` on stdin) for at most `limit`. Errors only when it cannot start.
pub fn output_with(cmd: Cmd<'_>, input: &[u8], limit: Duration) -> Result<Output> {
    let shown = cmd.to_string();
    let mut command = Command::from(cmd);
    let (mut stdin, mut out, mut err) = (
        tempfile::tempfile()?,
        tempfile::tempfile()?,
        tempfile::tempfile()?,
    );
    stdin.write_all(input)?;
    stdin.rewind()?;
    command
        .stdin(stdin)
        .stdout(out.try_clone()?)
        .stderr(err.try_clone()?)
        .process_group(0);
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start `{shown}`"))?;
    let code = match child.wait_timeout(limit)? {
        Some(status) => status.code(),
        None => {
            let _ = kill_process_group(Pid::from_child(&child), Signal::KILL);
            child.wait()?;
            None
        }
    };
    let read = |file: &mut std::fs::File| -> Result<String> {
        let mut text = String::new();
        file.rewind()?;
        file.read_to_string(&mut text)?;
        Ok(text)
    };
    Ok(Output {
        code,
        stdout: read(&mut out)?,
        stderr: read(&mut err)?,
    })
}

/// [`output_with`] with nothing on stdin.
pub fn output(cmd: Cmd<'_>, limit: Duration) -> Result<Output> {
    output_with(cmd, b"", limit)
}

/// Runs `cmd` for at most `limit` and requires exit code 0; returns stdout, trimmed.
pub fn read(cmd: Cmd<'_>, limit: Duration) -> Result<String> {
    Ok(checked(cmd, limit)?.stdout.trim().to_string())
}

/// Runs `cmd` for at most `limit` and requires exit code 0.
pub fn checked(cmd: Cmd<'_>, limit: Duration) -> Result<Output> {
    let shown = cmd.to_string();
    let out = output(cmd, limit)?;
    match out.code {
        Some(0) => Ok(out),
        Some(code) => bail!("`{shown}` exited with {code}\n{}", out.tail()),
        None => bail!(
            "`{shown}` was killed or timed out after {limit:?}\n{}",
            out.tail()
        ),
    }
}

/// A long-running program (dockerd, docker-registry) in its own process group, its output
/// in a log file.
pub struct Server {
    child: Child,
    pub log: PathBuf,
}

impl Server {
    pub fn start(cmd: Cmd<'_>, log: &Path) -> Result<Server> {
        let shown = cmd.to_string();
        let file = std::fs::File::create(log)?;
        let child = Command::from(cmd)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start `{shown}`"))?;
        Ok(Server {
            child,
            log: log.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then SIGKILL to the whole group after `grace`. True when SIGTERM sufficed.
    pub fn stop(mut self, grace: Duration) -> Result<bool> {
        let pid = Pid::from_child(&self.child);
        kill_process(pid, Signal::TERM)?;
        if self.child.wait_timeout(grace)?.is_some() {
            return Ok(true);
        }
        kill_process_group(pid, Signal::KILL)?;
        self.child.wait()?;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xshell::{Shell, cmd};

    #[test]
    fn captures_feeds_and_times_out() {
        let sh = Shell::new().unwrap();
        let out = output(
            cmd!(sh, "sh -c 'echo hi; echo err >&2; exit 3'"),
            Duration::from_secs(9),
        );
        let out = out.unwrap();
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (Some(3), "hi\n", "err\n")
        );
        assert!(read(cmd!(sh, "false"), Duration::from_secs(9)).is_err());
        let slow = output(cmd!(sh, "sleep 5"), Duration::from_millis(200)).unwrap();
        assert_eq!(slow.code, None);
        let cat = output_with(cmd!(sh, "cat"), b"abc", Duration::from_secs(9)).unwrap();
        assert_eq!(cat.stdout, "abc");
    }

    #[test]
    fn server_stops_on_term() {
        let sh = Shell::new().unwrap();
        let log = tempfile::NamedTempFile::new().unwrap();
        let server = Server::start(cmd!(sh, "sleep 30"), log.path()).unwrap();
        assert!(server.stop(Duration::from_secs(5)).unwrap());
    }
}
