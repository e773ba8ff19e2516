//! The example config rewritten for a test or benchmark instance: dialogs and holidays from the
//! repository, the store in `data_dir`, the HTTP server on `listen`. Shared by `tests/support`
//! and `benches/load` (included there by path).

use std::path::Path;

/// `config.example.toml` of `repo`, pointed at `data_dir` and `listen`. The per-sender flood
/// limit is off: these instances stream many messages per sender on purpose (the crash test,
/// the load generator); `tests/hostile.rs` tests the limit.
pub fn example_config(repo: &Path, data_dir: &Path, listen: &str) -> String {
    std::fs::read_to_string(repo.join("config.example.toml"))
        .expect("config.example.toml is readable")
        .replace(
            "dialogs_dir = \"dialogs\"",
            &format!("dialogs_dir = \"{}\"", repo.join("dialogs").display()),
        )
        .replace(
            "holidays_file = \"dialogs/",
            &format!("holidays_file = \"{}/dialogs/", repo.display()),
        )
        .replace(
            "path = \"./data\"",
            &format!("path = \"{}\"", data_dir.display()),
        )
        .replace(
            "listen = \"127.0.0.1:8080\"",
            &format!("listen = \"{listen}\""),
        )
        .replace("messages_per_minute = 30", "messages_per_minute = 0")
}
