//! A private moto server for `flowform-local dev` when no AWS endpoint is given: the pinned
//! launcher `scripts/tools.sh` installs (`$FLOWFORM_MOTO_SERVER`, else
//! `$FLOWFORM_TOOLS_DIR/bin/moto-server`, else `~/.cache/flowform-tools/bin/moto-server`),
//! on a free loopback port, its output in `<run dir>/moto.log`. It stops when the [`Moto`] is
//! dropped, and with its parent if that dies first (`--exit-with-parent`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pub log: PathBuf,
    child: Child,
}

/// The pinned launcher, or how to get it.
pub fn launcher() -> Result<PathBuf, String> {
    let tools = std::env::var_os("FLOWFORM_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/flowform-tools")));
    if let Some(p) = std::env::var_os("FLOWFORM_MOTO_SERVER").map(PathBuf::from) {
        return if p.exists() {
            Ok(p)
        } else {
            Err(format!("FLOWFORM_MOTO_SERVER names {}, which does not exist", p.display()))
        };
    }
    tools.map(|t| t.join("bin/moto-server")).filter(|p| p.exists()).ok_or_else(|| {
        "no AWS endpoint and no moto to start: run scripts/tools.sh (it installs the pinned moto), or pass --endpoint-url"
            .to_string()
    })
}

impl Moto {
    /// Starts moto and waits (up to `timeout`) for its `MOTO_PORT=<port>` line.
    pub fn start(run_dir: &Path, timeout: Duration) -> Result<Moto, String> {
        let launcher = launcher()?;
        std::fs::create_dir_all(run_dir).map_err(|e| format!("{}: {e}", run_dir.display()))?;
        let log = run_dir.join("moto.log");
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&launcher)
            .args(["--port", "0", "--exit-with-parent"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("{}: {e}", launcher.display()))?;
        let mut moto = Moto { url: String::new(), log, child };
        let deadline = Instant::now() + timeout;
        loop {
            let text = std::fs::read_to_string(&moto.log).unwrap_or_default();
            if let Some(port) = text.lines().find_map(|l| l.strip_prefix("MOTO_PORT=")) {
                moto.url = format!("http://127.0.0.1:{}", port.trim());
                return Ok(moto);
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                return Err(format!("moto exited ({status}) before serving; see {}:\n{text}", moto.log.display()));
            }
            if Instant::now() > deadline {
                return Err(format!("moto did not start within {timeout:?}; see {}", moto.log.display()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return; // already gone (it failed to start)
        }
        // SIGTERM, so the launcher shuts the server down; then reap it.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
