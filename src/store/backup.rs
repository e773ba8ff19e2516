//! The backup file format: every tree of the store, entry by entry, with a checksum.
//!
//! ```text
//! "PSTBOT-BACKUP\n" version:u32
//! ( 'T' len:u32 tree-name  ( 'E' len:u32 key  len:u32 value )* )*
//! 'Z' sha256-of-everything-before:[u8; 32]
//! ```
//! Lengths are big-endian. A file that is cut short, altered or from another program is
//! refused before anything is written to the store.

use super::{Result, StoreError};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

const MAGIC: &[u8] = b"PSTBOT-BACKUP\n";
const VERSION: u32 = 1;
/// Keys and values are far smaller; a bigger length means a damaged file.
const MAX_LEN: u32 = 1 << 30;

fn io(e: std::io::Error) -> StoreError {
    StoreError::Engine(format!("backup file: {e}"))
}

fn bad(why: &str) -> StoreError {
    StoreError::Engine(format!("not a valid pstbot backup: {why}"))
}

/// What a backup or restore went through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackupStats {
    pub trees: u64,
    pub entries: u64,
    pub bytes: u64,
}

/// Writes a backup, hashing as it goes.
pub struct BackupWriter<W: Write> {
    out: W,
    hash: Sha256,
    pub stats: BackupStats,
}

impl<W: Write> BackupWriter<W> {
    pub fn new(out: W) -> Result<Self> {
        let mut w = BackupWriter {
            out,
            hash: Sha256::new(),
            stats: BackupStats::default(),
        };
        w.put(MAGIC)?;
        w.put(&VERSION.to_be_bytes())?;
        Ok(w)
    }

    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.hash.update(b);
        self.stats.bytes += b.len() as u64;
        self.out.write_all(b).map_err(io)
    }

    fn put_bytes(&mut self, b: &[u8]) -> Result<()> {
        let len = u32::try_from(b.len()).map_err(|_| bad("record too large"))?;
        self.put(&len.to_be_bytes())?;
        self.put(b)
    }

    pub fn tree(&mut self, name: &[u8]) -> Result<()> {
        self.stats.trees += 1;
        self.put(b"T")?;
        self.put_bytes(name)
    }

    pub fn entry(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.stats.entries += 1;
        self.put(b"E")?;
        self.put_bytes(key)?;
        self.put_bytes(value)
    }

    /// Writes the checksum and flushes; returns what was written.
    pub fn finish(mut self) -> Result<BackupStats> {
        let digest = self.hash.clone().finalize();
        self.out.write_all(b"Z").map_err(io)?;
        self.out.write_all(&digest).map_err(io)?;
        self.out.flush().map_err(io)?;
        Ok(self.stats)
    }
}

/// One item of a backup, in file order.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    Tree(Vec<u8>),
    Entry(Vec<u8>, Vec<u8>),
}

/// Reads a backup. [`verify`] it first: items are handed out before the checksum is reached.
pub struct BackupReader<R: Read> {
    inp: R,
    hash: Sha256,
    done: bool,
}

impl<R: Read> BackupReader<R> {
    pub fn new(mut inp: R) -> Result<Self> {
        let mut head = [0u8; MAGIC.len() + 4];
        inp.read_exact(&mut head).map_err(|_| bad("too short"))?;
        if &head[..MAGIC.len()] != MAGIC {
            return Err(bad("wrong header"));
        }
        let v = u32::from_be_bytes(head[MAGIC.len()..].try_into().expect("4 bytes"));
        if v != VERSION {
            return Err(bad(&format!("format version {v}, expected {VERSION}")));
        }
        let mut hash = Sha256::new();
        hash.update(head);
        Ok(BackupReader {
            inp,
            hash,
            done: false,
        })
    }

    fn take(&mut self, n: usize) -> Result<Vec<u8>> {
        let mut b = vec![0u8; n];
        self.inp.read_exact(&mut b).map_err(|_| bad("cut short"))?;
        self.hash.update(&b);
        Ok(b)
    }

    fn take_bytes(&mut self) -> Result<Vec<u8>> {
        let len = u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes"));
        if len > MAX_LEN {
            return Err(bad("impossible record length"));
        }
        self.take(len as usize)
    }

    /// The next item, or `None` after a matching checksum.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        if self.done {
            return Ok(None);
        }
        let mut tag = [0u8; 1];
        self.inp
            .read_exact(&mut tag)
            .map_err(|_| bad("cut short"))?;
        match &tag {
            b"T" => {
                self.hash.update(tag);
                Ok(Some(Item::Tree(self.take_bytes()?)))
            }
            b"E" => {
                self.hash.update(tag);
                let k = self.take_bytes()?;
                let v = self.take_bytes()?;
                Ok(Some(Item::Entry(k, v)))
            }
            b"Z" => {
                let mut sum = [0u8; 32];
                self.inp
                    .read_exact(&mut sum)
                    .map_err(|_| bad("cut short"))?;
                if self.hash.clone().finalize().as_slice() != sum {
                    return Err(bad("checksum mismatch (the file was changed or damaged)"));
                }
                let mut rest = [0u8; 1];
                if self.inp.read(&mut rest).map_err(io)? != 0 {
                    return Err(bad("data after the checksum"));
                }
                self.done = true;
                Ok(None)
            }
            _ => Err(bad("unknown record")),
        }
    }
}

/// Reads a whole backup and checks its checksum, writing nothing.
pub fn verify<R: Read>(inp: R) -> Result<BackupStats> {
    let mut r = BackupReader::new(inp)?;
    let mut stats = BackupStats::default();
    while let Some(item) = r.next_item()? {
        match item {
            Item::Tree(_) => stats.trees += 1,
            Item::Entry(..) => stats.entries += 1,
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = BackupWriter::new(Vec::new()).unwrap();
        w.tree(b"cases").unwrap();
        w.entry(b"ADU-2026-000001", b"{}").unwrap();
        w.entry(b"ADU-2026-000002", b"{\"x\":1}").unwrap();
        w.tree(b"empty").unwrap();
        let stats = w.stats;
        assert_eq!((stats.trees, stats.entries), (2, 2));
        let mut out = Vec::new();
        let mut w2 = BackupWriter::new(&mut out).unwrap();
        w2.tree(b"cases").unwrap();
        w2.entry(b"ADU-2026-000001", b"{}").unwrap();
        w2.entry(b"ADU-2026-000002", b"{\"x\":1}").unwrap();
        w2.tree(b"empty").unwrap();
        w2.finish().unwrap();
        out
    }

    #[test]
    fn a_backup_reads_back_item_by_item() {
        let bytes = sample();
        let mut r = BackupReader::new(bytes.as_slice()).unwrap();
        let mut items = Vec::new();
        while let Some(i) = r.next_item().unwrap() {
            items.push(i);
        }
        assert_eq!(
            items,
            vec![
                Item::Tree(b"cases".to_vec()),
                Item::Entry(b"ADU-2026-000001".to_vec(), b"{}".to_vec()),
                Item::Entry(b"ADU-2026-000002".to_vec(), b"{\"x\":1}".to_vec()),
                Item::Tree(b"empty".to_vec()),
            ]
        );
    }

    #[test]
    fn damaged_cut_or_foreign_files_are_refused() {
        let good = sample();
        assert_eq!(verify(good.as_slice()).unwrap().entries, 2);
        let mut flipped = good.clone();
        let i = flipped.len() / 2;
        flipped[i] ^= 1;
        assert!(verify(flipped.as_slice()).is_err());
        assert!(verify(&good[..good.len() - 1]).is_err());
        assert!(verify(&good[..good.len() - 40]).is_err());
        assert!(verify(&b"PK\x03\x04 not a backup"[..]).is_err());
        let mut extra = good.clone();
        extra.push(0);
        assert!(verify(extra.as_slice()).is_err());
    }
}
