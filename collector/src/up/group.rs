//! The child processes of `palisade up` ([`Group`]): started in one process
//! group of their own with their output in a log file each, watched for an
//! unexpected exit, and stopped in reverse order (SIGTERM, then SIGKILL).
//! Each child also gets SIGTERM if `up` dies without stopping it (Linux
//! parent-death signal).

use std::fs;
use std::io::{BufRead, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The children, in one process group of their own.
#[derive(Default)]
pub struct Group {
    /// The group's id: the first child's pid.
    pub pgid: Option<i32>,
    children: Vec<Running>,
}

struct Running {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Group {
    /// Starts `cmd` in the group, its output (stdout and stderr) in `log`.
    pub fn spawn(
        &mut self,
        name: &'static str,
        cmd: &mut Command,
        log: &Path,
    ) -> Result<u32, String> {
        let out =
            fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let parent = std::process::id();
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(self.pgid.unwrap_or(0));
        // SAFETY: only async-signal-safe calls (prctl, getppid, _exit)
        // between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // If `palisade up` dies without stopping us, stop anyway.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start the {name} ({:?}): {e}", cmd.get_program()))?;
        let pid = child.id();
        if self.pgid.is_none() {
            self.pgid = i32::try_from(pid).ok();
        }
        self.children.push(Running {
            name,
            child,
            log: log.to_path_buf(),
        });
        Ok(pid)
    }

    pub fn pids(&self) -> String {
        let v: Vec<String> = self
            .children
            .iter()
            .map(|r| format!("{} {}", r.name, r.child.id()))
            .collect();
        v.join(", ")
    }

    /// A message if a child has exited, with the end of its log.
    pub fn exited(&mut self) -> Option<String> {
        for r in &mut self.children {
            if let Ok(Some(status)) = r.child.try_wait() {
                return Some(format!(
                    "the {} exited ({status}); the end of {}:\n{}",
                    r.name,
                    r.log.display(),
                    tail(&r.log, 25)
                ));
            }
        }
        None
    }

    pub fn logs(&self) -> String {
        let v: Vec<String> = self
            .children
            .iter()
            .map(|r| r.log.display().to_string())
            .collect();
        v.join(" and ")
    }

    pub fn log_hint(&self) -> String {
        match self.children.last() {
            Some(r) => format!("; the end of {}:\n{}", r.log.display(), tail(&r.log, 25)),
            None => String::new(),
        }
    }

    /// Stops the children, newest first: SIGTERM, up to 10 s each, then
    /// SIGKILL; then SIGKILL to whatever else is left in the group.
    pub fn stop(&mut self) {
        while let Some(mut r) = self.children.pop() {
            let pid = r.child.id();
            if let Ok(Some(status)) = r.child.try_wait() {
                println!("palisade up: {} (pid {pid}) had exited ({status})", r.name);
                continue;
            }
            if let Ok(p) = i32::try_from(pid) {
                // SAFETY: plain kill(2) on our own, not yet reaped, child.
                unsafe { libc::kill(p, libc::SIGTERM) };
            }
            let end = Instant::now() + Duration::from_secs(10);
            let status = loop {
                match r.child.try_wait() {
                    Ok(Some(s)) => break Some(s),
                    Ok(None) if Instant::now() < end => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    _ => break None,
                }
            };
            match status {
                Some(s) => println!("palisade up: stopped the {} (pid {pid}, {s})", r.name),
                None => {
                    let _ = r.child.kill();
                    let _ = r.child.wait();
                    println!(
                        "palisade up: killed the {} (pid {pid}): no exit within 10 s of SIGTERM",
                        r.name
                    );
                }
            }
        }
        if let Some(pg) = self.pgid.take() {
            // Anything else still in the group (none expected); ESRCH when empty.
            // SAFETY: kill(2) on the process group this program created.
            unsafe { libc::kill(-pg, libc::SIGKILL) };
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last `n` lines of a log (at most its last 64 KiB).
fn tail(path: &Path, n: usize) -> String {
    let Ok(mut f) = fs::File::open(path) else {
        return "(no log)".into();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let lines: Vec<String> = std::io::BufReader::new(f)
        .split(b'\n')
        .filter_map(Result::ok)
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .collect();
    let start = lines.len().saturating_sub(n);
    lines.get(start..).unwrap_or_default().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        fs::write(&p, "a\nb\nc\nd\n").unwrap();
        assert_eq!(tail(&p, 2), "c\nd");
        assert_eq!(tail(&dir.path().join("none"), 2), "(no log)");
    }

    #[test]
    fn group_stops_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let mut g = Group::default();
        let a = g
            .spawn(
                "sleeper",
                Command::new("sleep").arg("30"),
                &dir.path().join("a.log"),
            )
            .unwrap();
        let b = g
            .spawn(
                "other",
                Command::new("sleep").arg("30"),
                &dir.path().join("b.log"),
            )
            .unwrap();
        assert_eq!(g.pgid, Some(a as i32));
        assert!(g.exited().is_none());
        g.stop();
        for pid in [a, b] {
            assert!(
                !Path::new(&format!("/proc/{pid}")).exists(),
                "pid {pid} still there"
            );
        }
    }
}
