//! What a check of a store for damage found (`pstbot verify`, the check at start and in daily
//! housekeeping); the sled store's walk is in `store/sled/verify.rs`.

use std::time::Duration;

/// How far a bounded walk goes: the quick check at start.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Records read in all (forward and backward, over every tree).
    pub records: u64,
    /// Time spent.
    pub time: Duration,
}

impl Budget {
    /// The check at start: at most 500,000 records and 3 seconds, shared over the trees and
    /// taken from both ends of each (the oldest pages and the recent writes). An office's
    /// store of a few years is read whole.
    pub const QUICK: Budget = Budget {
        records: 500_000,
        time: Duration::from_secs(3),
    };
}

/// One place where the store cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The tree (`-` for the database itself).
    pub tree: String,
    /// Where: between which readable keys, or the record's key.
    pub place: String,
    /// What is wrong, as sled or the decoder said it.
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.tree, self.place, self.what)
    }
}

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub trees: u64,
    /// Records read and decoded.
    pub records: u64,
    pub problems: Vec<Problem>,
    /// Whether every record was looked at (false: a bounded walk stopped early).
    pub complete: bool,
}

impl VerifyReport {
    /// No problem found.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }

    /// Lines to print or send: a first line, then one per problem (at most 20).
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} trees, {} records read{}: {}",
            self.trees,
            self.records,
            if self.complete {
                ""
            } else {
                " (bounded check)"
            },
            if self.is_sound() {
                "no damage found".to_string()
            } else {
                format!("{} damaged places", self.problems.len())
            }
        )];
        out.extend(self.problems.iter().take(20).map(|p| format!("  {p}")));
        if self.problems.len() > 20 {
            out.push(format!("  … and {} more", self.problems.len() - 20));
        }
        out
    }
}
