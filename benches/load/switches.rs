//! Context switches of the bot during a run: how often its threads handed work to each other
//! or waited (each one a trip through the kernel's scheduler). Counted by `perf stat` attached
//! to the bot, which follows the threads it starts later too; where `perf` is missing or not
//! allowed, nothing is reported.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Switches {
    perf: Child,
    out: PathBuf,
}

impl Switches {
    /// Starts counting the context switches of process `pid` (and its threads).
    pub fn start(pid: u32, dir: &std::path::Path) -> Option<Switches> {
        let out = dir.join("perf-stat.csv");
        let perf = Command::new("perf")
            .args(["stat", "-x", ",", "-e", "context-switches,cpu-migrations"])
            .arg("-o")
            .arg(&out)
            .arg("-p")
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // perf needs a moment to attach; a few switches more or less do not matter.
        std::thread::sleep(std::time::Duration::from_millis(150));
        Some(Switches { perf, out })
    }

    /// Stops counting: (context switches, migrations between cores).
    pub fn stop(mut self) -> Option<(u64, u64)> {
        Command::new("kill")
            .arg("-INT")
            .arg(self.perf.id().to_string())
            .status()
            .ok()?;
        self.perf.wait().ok()?;
        let text = std::fs::read_to_string(&self.out).ok()?;
        let count = |event: &str| {
            text.lines()
                .find(|l| l.split(',').nth(2) == Some(event))
                .and_then(|l| l.split(',').next()?.trim().parse().ok())
        };
        Some((count("context-switches")?, count("cpu-migrations")?))
    }
}
