//! A MySQL-protocol proxy on loopback that drops connections where a database failure hurts
//! most: at the `COMMIT` (the transaction never commits), just after it (it committed, but the
//! client hears only a lost connection), or before a random statement (a dropped connection
//! mid-transaction). Handlers under test connect through it instead of to the server.
//!
//! It reads the client's packets (3-byte length, 1-byte sequence, payload) to find commands;
//! it never parses or changes the server's side. Plaintext only (the local MariaDB has TLS off).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Where connections are dropped. Applies to every connection from the moment it is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Pass,
    /// Drop the connection instead of forwarding `COMMIT`: the server rolls back.
    DropAtCommit,
    /// Forward `COMMIT`, then drop the connection before its answer reaches the client.
    DropAfterCommit,
    /// Before each statement, drop the connection with this probability.
    DropRandom(f64),
}

struct State {
    mode: Mutex<Mode>,
    rng: Mutex<u64>,
    dropped: Mutex<usize>,
}

impl State {
    fn chance(&self, p: f64) -> bool {
        let mut x = self.rng.lock().unwrap();
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// A running proxy.
pub struct DbProxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl DbProxy {
    /// `mysql://user@127.0.0.1:3306/db` -> the same URL through the proxy.
    pub fn url(&self, server_url: &str) -> String {
        let (scheme, rest) = server_url.split_once("://").unwrap_or(("mysql", server_url));
        let (auth, host_and_path) = rest.rsplit_once('@').map_or(("", rest), |(a, h)| (a, h));
        let path = host_and_path.find('/').map_or("", |i| &host_and_path[i..]);
        let at = if auth.is_empty() { String::new() } else { format!("{auth}@") };
        format!("{scheme}://{at}{}{path}", self.addr)
    }
    pub fn set(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }
    /// Connections dropped so far.
    pub fn dropped(&self) -> usize {
        *self.state.dropped.lock().unwrap()
    }
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Starts a proxy on a free loopback port in front of `upstream`.
pub async fn start(upstream: SocketAddr, seed: u64) -> std::io::Result<DbProxy> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(State { mode: Mutex::new(Mode::Pass), rng: Mutex::new(seed.max(1)), dropped: Mutex::new(0) });
    let s = state.clone();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let s = s.clone();
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(upstream).await {
                    relay(client, server, &s).await;
                }
            });
        }
    });
    Ok(DbProxy { addr, state, task })
}

const COM_QUERY: u8 = 0x03;
const COM_STMT_EXECUTE: u8 = 0x17;

/// What to do with one client packet.
fn decide(s: &State, payload: &[u8]) -> (bool, bool) {
    let (drop_now, swallow_answer) = (true, true);
    let is_statement = matches!(payload.first(), Some(&COM_QUERY) | Some(&COM_STMT_EXECUTE));
    let is_commit = payload.first() == Some(&COM_QUERY)
        && std::str::from_utf8(&payload[1..]).is_ok_and(|q| q.trim().eq_ignore_ascii_case("commit"));
    let mode = *s.mode.lock().unwrap();
    let out = match mode {
        Mode::Pass => (false, false),
        Mode::DropAtCommit if is_commit => (drop_now, false),
        Mode::DropAfterCommit if is_commit => (false, swallow_answer),
        Mode::DropRandom(p) if is_statement && s.chance(p) => (drop_now, false),
        _ => (false, false),
    };
    if out != (false, false) {
        *s.dropped.lock().unwrap() += 1;
    }
    out
}

async fn relay(mut client: TcpStream, mut server: TcpStream, s: &State) {
    let swallow = AtomicBool::new(false);
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let upstream = async {
        loop {
            let mut header = [0u8; 4];
            cr.read_exact(&mut header).await?;
            let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
            let mut payload = vec![0u8; len];
            cr.read_exact(&mut payload).await?;
            let (drop_now, swallow_answer) = decide(s, &payload);
            if drop_now {
                return Ok::<_, std::io::Error>(());
            }
            if swallow_answer {
                swallow.store(true, Ordering::SeqCst);
            }
            sw.write_all(&header).await?;
            sw.write_all(&payload).await?;
        }
    };
    let downstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = sr.read(&mut buf).await?;
            if n == 0 || swallow.load(Ordering::SeqCst) {
                return Ok::<_, std::io::Error>(());
            }
            cw.write_all(&buf[..n]).await?;
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}

/// A plain TCP forwarder that refuses every connection (accepts and closes it at once) for a
/// given time from the first connection on, then forwards to `upstream`: an outage of an HTTP
/// service (SNS in moto) that begins with its first use and ends by itself.
pub struct OutageProxy {
    pub addr: SocketAddr,
    refused: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
}

impl OutageProxy {
    pub async fn start(upstream: SocketAddr, outage: std::time::Duration) -> std::io::Result<OutageProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let refused = Arc::new(Mutex::new(0));
        let count = refused.clone();
        let task = tokio::spawn(async move {
            let mut first: Option<std::time::Instant> = None;
            while let Ok((mut client, _)) = listener.accept().await {
                if first.get_or_insert_with(std::time::Instant::now).elapsed() < outage {
                    *count.lock().unwrap() += 1;
                    continue; // dropped: the client sees the connection closed
                }
                tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Ok(OutageProxy { addr, refused, task })
    }
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Connections refused during the outage.
    pub fn refused(&self) -> usize {
        *self.refused.lock().unwrap()
    }
    pub fn stop(self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_commit_and_statements() {
        let s = State { mode: Mutex::new(Mode::DropAtCommit), rng: Mutex::new(1), dropped: Mutex::new(0) };
        assert_eq!(decide(&s, b"\x03COMMIT"), (true, false));
        assert_eq!(decide(&s, b"\x03 commit "), (true, false));
        assert_eq!(decide(&s, b"\x03SELECT 1"), (false, false));
        *s.mode.lock().unwrap() = Mode::DropAfterCommit;
        assert_eq!(decide(&s, b"\x03COMMIT"), (false, true));
        *s.mode.lock().unwrap() = Mode::DropRandom(1.0);
        assert_eq!(decide(&s, b"\x17\x01\x00\x00\x00"), (true, false));
        assert_eq!(decide(&s, b"\x0e"), (false, false), "COM_PING is not a statement");
    }
}
