//! SQLite storage (rusqlite, bundled, WAL): one writer thread that commits
//! queued jobs in groups (each job in its own savepoint, every caller
//! answered only after the commit), and a small pool of read connections.
//! The current policy is cached in memory for the telemetry acknowledgement.

pub mod ingest;
pub mod net;
pub mod policy;
pub mod query;
pub mod retention;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, RwLock};

use bytes::Bytes;
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::config::Sync;
use crate::error::{AppError, AppResult};
use crate::wire::Policy;

/// The current policy and its JSON text, shared by all requests.
#[derive(Debug)]
pub struct PolicySnapshot {
    pub policy: Policy,
    pub json: Bytes,
}

trait WriteJob: Send {
    /// Runs inside a savepoint; false rolls the savepoint back.
    fn run(&mut self, c: &Connection) -> bool;
    /// Answers the caller once the transaction's fate is known.
    fn finish(self: Box<Self>, committed: Result<(), String>);
}

struct Job<T, F> {
    f: Option<F>,
    result: Option<AppResult<T>>,
    tx: oneshot::Sender<AppResult<T>>,
}

impl<T: Send, F: FnOnce(&Connection) -> AppResult<T> + Send> WriteJob for Job<T, F> {
    fn run(&mut self, c: &Connection) -> bool {
        let r = match self.f.take() {
            Some(f) => f(c),
            None => Err(AppError::Internal("job ran twice".into())),
        };
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }
    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let Job { result, tx, .. } = *self;
        let r = match (committed, result) {
            (Ok(()), Some(r)) => r,
            (Ok(()), None) => Err(AppError::Internal("job did not run".into())),
            (Err(e), Some(Err(inner))) => Err(AppError::Internal(format!(
                "{inner}; then commit failed: {e}"
            ))),
            (Err(e), _) => Err(AppError::Internal(format!("commit failed: {e}"))),
        };
        let _ = tx.send(r);
    }
}

#[derive(Clone)]
pub struct Store {
    writer: mpsc::SyncSender<Box<dyn WriteJob>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: PathBuf,
    policy: Arc<RwLock<Arc<PolicySnapshot>>>,
}

/// Jobs committed together at most.
const GROUP: usize = 256;
const READERS: usize = 4;

fn open_conn(path: &Path, sync: Sync) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(
        None,
        "synchronous",
        if sync == Sync::Full { "FULL" } else { "NORMAL" },
    )?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    c.pragma_update(None, "temp_store", "MEMORY")?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(c)
}

impl Store {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path, sync: Sync) -> Result<Store, String> {
        let mut wconn =
            open_conn(path, sync).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        schema::migrate(&mut wconn)
            .map_err(|e| format!("cannot migrate {}: {e}", path.display()))?;
        let current =
            policy::load_current(&wconn).map_err(|e| format!("cannot load the policy: {e}"))?;
        let snapshot = Arc::new(PolicySnapshot {
            json: Bytes::from(serde_json::to_vec(&current).unwrap_or_default()),
            policy: current,
        });
        let mut readers = Vec::new();
        for _ in 0..READERS {
            let c = open_conn(path, sync)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            c.pragma_update(None, "query_only", "ON")
                .map_err(|e| e.to_string())?;
            readers.push(c);
        }
        let (tx, rx) = mpsc::sync_channel::<Box<dyn WriteJob>>(4096);
        std::thread::Builder::new()
            .name("palisade-writer".into())
            .spawn(move || writer_loop(wconn, rx))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(Store {
            writer: tx,
            readers: Arc::new(Mutex::new(readers)),
            path: path.to_path_buf(),
            policy: Arc::new(RwLock::new(snapshot)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in the writer's transaction; resolves after the commit.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> AppResult<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Box<dyn WriteJob> = Box::new(Job {
            f: Some(f),
            result: None,
            tx,
        });
        match self.writer.try_send(job) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(job)) => {
                // The queue is bounded: wait for room off the async runtime.
                let sender = self.writer.clone();
                tokio::task::spawn_blocking(move || sender.send(job))
                    .await
                    .map_err(|e| AppError::Internal(format!("writer queue: {e}")))?
                    .map_err(|_| AppError::Unavailable("the store is closed".into()))?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return Err(AppError::Unavailable("the store is closed".into()))
            }
        }
        rx.await
            .map_err(|_| AppError::Unavailable("the writer stopped".into()))?
    }

    /// Runs `f` on a read connection, on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> AppResult<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers
                .lock()
                .map_err(|_| AppError::Internal("reader pool poisoned".into()))?
                .pop();
            let conn = match conn {
                Some(c) => c,
                None => open_conn(&path, Sync::Normal)?,
            };
            let r = f(&conn);
            if let Ok(mut pool) = readers.lock() {
                if pool.len() < READERS {
                    pool.push(conn);
                }
            }
            r
        })
        .await
        .map_err(|e| AppError::Internal(format!("reader task: {e}")))?
    }

    pub fn policy(&self) -> Arc<PolicySnapshot> {
        match self.policy.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Publishes a committed policy (ignored if an equal or newer one is in).
    pub fn publish_policy(&self, p: Policy) {
        let json = Bytes::from(serde_json::to_vec(&p).unwrap_or_default());
        let mut g = match self.policy.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if p.version > g.policy.version {
            *g = Arc::new(PolicySnapshot { policy: p, json });
        }
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let msg = e.to_string();
            for j in jobs {
                j.finish(Err(msg.clone()));
            }
            continue;
        }
        let mut failed_savepoint = None;
        for j in jobs.iter_mut() {
            if let Err(e) = conn.execute_batch("SAVEPOINT job") {
                failed_savepoint = Some(e.to_string());
                break;
            }
            let keep = j.run(&conn);
            let end = if keep {
                "RELEASE job"
            } else {
                "ROLLBACK TO job; RELEASE job"
            };
            if let Err(e) = conn.execute_batch(end) {
                failed_savepoint = Some(e.to_string());
                break;
            }
        }
        let committed = match failed_savepoint {
            Some(e) => Err(e),
            None => conn.execute_batch("COMMIT").map_err(|e| e.to_string()),
        };
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for j in jobs {
            j.finish(committed.clone());
        }
    }
}

/// Seconds since the epoch, as a float.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Bucket resolutions, in seconds.
pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

/// The start of the bucket of resolution `res` holding `t`.
pub fn bucket_start(t: f64, res: i64) -> i64 {
    let s = t.floor() as i64;
    s.div_euclid(res) * res
}
