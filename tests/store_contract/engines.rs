//! The store engines every contract runs against, and the macro that runs them.
//!
//! A new engine is one constructor here and one name in [`against_every_engine`]'s list.

use pstbot::store::Store;
use pstbot::store::memory::MemoryStore;
use pstbot::store::postgres::PgStore;
use pstbot::store::sled::SledStore;

/// A fresh, empty store of one engine, with what it needs kept alive (sled's folder, PostgreSQL's database).
pub struct Engine {
    store: Box<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

impl Engine {
    pub fn memory() -> Engine {
        Engine {
            store: Box::new(MemoryStore::new()),
            _dir: None,
        }
    }

    /// A fresh database on the test binary's PostgreSQL cluster (started on first use).
    pub fn postgres() -> Engine {
        let url = crate::store_contract::pg_cluster::shared().fresh_database();
        Engine {
            store: Box::new(PgStore::open(&url, 4).unwrap()),
            _dir: None,
        }
    }

    pub fn sled() -> Engine {
        let dir = tempfile::tempdir().unwrap();
        Engine {
            store: Box::new(SledStore::open(dir.path(), 8).unwrap()),
            _dir: Some(dir),
        }
    }
}

impl std::ops::Deref for Engine {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        &*self.store
    }
}

/// Runs each contract (a `fn(&dyn Store)`) against a fresh store of every engine: one test per
/// engine and contract, named `ENGINE::CONTRACT`. The list of engines is on the first arm.
macro_rules! against_every_engine {
    ($($contract:ident),* $(,)?) => {
        against_every_engine!(@engines [$($contract),*] memory, sled, postgres);
    };
    (@engines $contracts:tt $($engine:ident),*) => {
        $(against_every_engine!(@tests $engine $contracts);)*
    };
    (@tests $engine:ident [$($contract:ident),*]) => {
        mod $engine {
            $(
                #[test]
                fn $contract() {
                    super::$contract(&*crate::store_contract::engines::Engine::$engine());
                }
            )*
        }
    };
}
