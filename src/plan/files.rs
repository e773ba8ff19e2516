//! Files people send: a received file is kept by its content hash (the store's blob key) under a
//! name that is safe to show and to save. Planners keep an officer's or applicant's file in
//! the plan's commit; channels describe downloaded files the same way.

use crate::message::{Attachment, AttachmentRef};
use sha2::{Digest, Sha256};

/// Describes an uploaded file by its content hash, with a safe file name.
pub fn attachment_ref(a: &Attachment) -> (AttachmentRef, Vec<u8>) {
    let hash = hex::encode(Sha256::digest(&a.bytes));
    (
        AttachmentRef {
            blob: hash,
            filename: sanitize_filename(&a.filename),
            mime: a.mime.clone(),
            size: a.bytes.len() as u64,
        },
        a.bytes.clone(),
    )
}

/// Keeps only the last path component and safe characters of an uploaded file name.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_string();
    if clean.is_empty() {
        "file".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_odd_characters() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            sanitize_filename("C:\\Users\\budi\\Kuesioner v2.pdf"),
            "Kuesioner v2.pdf"
        );
        assert_eq!(sanitize_filename("a<b>.pdf"), "a_b_.pdf");
        assert_eq!(sanitize_filename(".."), "file");
    }
}
