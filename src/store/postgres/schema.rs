//! The PostgreSQL schema, as numbered migrations applied in order at start and by `pstbot
//! migrate`. A migration is never edited once released: a change is a new one at the end.
//!
//! Every table that holds a pstbot record has typed columns saying what it means (for the
//! office's own SQL and BI tools: names, times, stages, scores) and a `record` column (`json`)
//! with the whole record as pstbot reads it back. pstbot writes both in one statement; it
//! reads only `record` (and the typed columns it filters and sorts by). `json` rather than
//! `jsonb`: it keeps the text exactly as written (times to the nanosecond, any character).
//! Keys that pstbot pages through are `COLLATE "C"`, so their order is byte order on every
//! server, whatever its locale. `docs/operations.md` ("Scale out") documents the main tables.

/// One schema change: its number (`schema_migrations.version`), name and SQL.
pub(super) struct Migration {
    pub(super) version: i32,
    pub(super) name: &'static str,
    pub(super) sql: &'static str,
}

/// Every migration, oldest first. The schema version of a database is the highest applied.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "pstbot records, delivery, timers, web chat and scale-out coordination",
        sql: V1,
    },
    Migration {
        version: 2,
        name: "outbox claims: one process delivers a chat's rows at a time",
        sql: V2,
    },
];

/// The schema version this pstbot reads and writes.
pub(super) fn current_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Where applied migrations are recorded.
pub(super) const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

const V1: &str = r#"
-- Conversations: where each person is in a dialog.
CREATE TABLE conversations (
    identity text COLLATE "C" PRIMARY KEY,   -- CHANNEL:ADDRESS, e.g. telegram:12345
    channel text NOT NULL,
    lang text NOT NULL,
    dialog text,                             -- the dialog in progress, if any
    step text,
    last_seen timestamptz,
    record json NOT NULL
);

-- Messages (channel:message id) and fired timers (timer:ID) already handled.
CREATE TABLE dedupe_marks (
    key text COLLATE "C" PRIMARY KEY,
    handled_at timestamptz NOT NULL
);

-- The guest book. Each consent text is kept once; a guest names the one it agreed to.
CREATE TABLE consent_texts (
    hash text COLLATE "C" PRIMARY KEY,       -- SHA-256 (hex) of the text
    text text NOT NULL
);
CREATE TABLE guests (
    id text COLLATE "C" PRIMARY KEY,         -- G- and 16 hex digits
    name text,
    email text,
    phone text,
    lang text NOT NULL,
    consent_version text NOT NULL,
    consent_hash text COLLATE "C" REFERENCES consent_texts (hash),
    consent_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    record json NOT NULL                     -- the guest, its consent text as a reference
);
CREATE TABLE guest_identities (
    identity text COLLATE "C" PRIMARY KEY,   -- who wrote: CHANNEL:ADDRESS
    guest_id text COLLATE "C" NOT NULL
);
CREATE INDEX guest_identities_by_guest ON guest_identities (guest_id);

CREATE TABLE visits (
    at timestamptz NOT NULL,
    ref text COLLATE "C" NOT NULL,           -- 16 hex digits from the message that recorded it
    guest_id text NOT NULL,
    channel text NOT NULL,
    service text,
    purpose text,
    name text,
    record json NOT NULL,
    PRIMARY KEY (at, ref)
);
CREATE TABLE ratings (
    at timestamptz NOT NULL,
    ref text COLLATE "C" NOT NULL,
    guest_id text,
    case_number text,
    score smallint NOT NULL,                 -- 1-5
    comment text,
    skm smallint[],                          -- the nine SKM elements (1-4), when filled
    record json NOT NULL,
    PRIMARY KEY (at, ref)
);
CREATE TABLE appointments (
    at timestamptz NOT NULL,                 -- the time of the visit
    guest_id text COLLATE "C" NOT NULL,
    booked_at timestamptz NOT NULL,
    topic text NOT NULL,
    record json NOT NULL,
    PRIMARY KEY (at, guest_id)
);

-- Cases, their history (one row per event) and their numbers.
CREATE TABLE cases (
    number text COLLATE "C" PRIMARY KEY,     -- REK-2026-000001
    service text NOT NULL,                   -- REK, PRD, ADU
    year integer NOT NULL,
    seq bigint NOT NULL,
    guest_id text COLLATE "C" NOT NULL,
    origin text NOT NULL,                    -- the identity it came from
    channel text NOT NULL,
    lang text NOT NULL,
    title text NOT NULL,
    workflow text NOT NULL,
    stage text NOT NULL,
    stage_since timestamptz NOT NULL,
    stage_due timestamptz,
    overall_start timestamptz,
    overall_due timestamptz,
    assignee text,
    open boolean NOT NULL,
    confidential boolean NOT NULL,
    created_at timestamptz NOT NULL,
    version bigint NOT NULL,                 -- bumped on every write (optimistic locking)
    record json NOT NULL,                    -- the case with its form, files and history
    UNIQUE (service, year, seq)
);
CREATE INDEX cases_by_guest ON cases (guest_id, created_at);
CREATE INDEX cases_by_time ON cases (created_at, number);
CREATE INDEX cases_open ON cases (created_at, number) WHERE open;
CREATE TABLE case_events (
    case_number text COLLATE "C" NOT NULL REFERENCES cases (number) ON DELETE CASCADE,
    n integer NOT NULL,                      -- 0 = submitted, then in order
    at timestamptz NOT NULL,
    actor text NOT NULL,                     -- applicant, officer, system
    officer text,                            -- the officer's id when actor = officer
    kind text NOT NULL,
    note text,
    PRIMARY KEY (case_number, n)
);
CREATE TABLE case_counters (
    service text NOT NULL,
    year integer NOT NULL,
    last bigint NOT NULL,                    -- the last number given
    PRIMARY KEY (service, year)
);
CREATE TABLE queue_counters (
    letter text NOT NULL,
    day date NOT NULL,
    issued bigint NOT NULL DEFAULT 0,
    called bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (letter, day)
);

-- Files people sent, by content hash.
CREATE TABLE files (
    hash text COLLATE "C" PRIMARY KEY,       -- SHA-256 (hex)
    size bigint NOT NULL,
    bytes bytea NOT NULL
);

-- Delivery: messages waiting, delivered, given up on; provider ids; addresses that bounce.
CREATE SEQUENCE outbox_ids;
CREATE TABLE outbox (
    id bigint PRIMARY KEY,                   -- per-chat order is id order
    key text NOT NULL,                       -- idempotency key (message id, #n)
    chat text COLLATE "C" NOT NULL,          -- the recipient: CHANNEL:ADDRESS
    channel text NOT NULL,
    created_at timestamptz NOT NULL,
    attempts integer NOT NULL,
    not_before timestamptz,
    last_error text,
    record json NOT NULL
);
CREATE INDEX outbox_by_chat ON outbox (chat, id);
CREATE TABLE outbox_sent (
    id bigint PRIMARY KEY,
    key text NOT NULL,
    recipient text NOT NULL,
    channel text NOT NULL,
    at timestamptz NOT NULL,
    provider_ref text,
    status text,                             -- sent, delivered, read, failed, withheld
    status_at timestamptz,
    has_text boolean NOT NULL,
    record json NOT NULL
);
CREATE TABLE sent_refs (
    channel text NOT NULL,
    provider_ref text COLLATE "C" NOT NULL,
    id bigint NOT NULL,
    PRIMARY KEY (channel, provider_ref)
);
CREATE TABLE outbox_failed (
    id bigint PRIMARY KEY,
    recipient text NOT NULL,
    channel text NOT NULL,
    failed_at timestamptz NOT NULL,
    reason text NOT NULL,
    record json NOT NULL
);
CREATE TABLE failing_addresses (
    address text COLLATE "C" PRIMARY KEY,    -- CHANNEL:lower-case address
    since timestamptz NOT NULL
);

-- Reminders waiting for their time.
CREATE TABLE timers (
    due timestamptz NOT NULL,
    id text COLLATE "C" NOT NULL,
    owner text COLLATE "C" NOT NULL,         -- case:NUMBER, appt:..., idle:...
    kind text NOT NULL,
    record json NOT NULL,
    PRIMARY KEY (due, id)
);
CREATE INDEX timers_by_owner ON timers (owner);

-- Officers' accesses to personal data (UU PDP).
CREATE TABLE audit_log (
    at timestamptz NOT NULL,
    ref text COLLATE "C" NOT NULL,
    officer text NOT NULL,
    action text NOT NULL,
    subject text NOT NULL,
    record json NOT NULL,
    PRIMARY KEY (at, ref)
);

-- The web chat: sessions (by the hash of their token) and each session's log.
CREATE TABLE web_sessions (
    id text COLLATE "C" PRIMARY KEY,
    created_at timestamptz NOT NULL,
    record json NOT NULL
);
CREATE TABLE web_log (
    session text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    key text COLLATE "C" NOT NULL,           -- in:MESSAGE-ID or out:OUTBOX-ID
    at timestamptz NOT NULL,
    visitor boolean NOT NULL,
    record json NOT NULL,
    PRIMARY KEY (session, seq),
    UNIQUE (session, key)
);
CREATE TABLE web_log_counters (
    session text COLLATE "C" PRIMARY KEY,
    last bigint NOT NULL
);

-- The store's own secrets (the key of e-mail reply tokens).
CREATE TABLE store_secrets (
    name text PRIMARY KEY,
    secret bytea NOT NULL
);

-- Scale-out: leases (one Telegram poller, one IMAP reader, one scheduler, one sender per
-- chat), and the flood limit counted across processes.
CREATE TABLE leases (
    name text COLLATE "C" PRIMARY KEY,
    holder text NOT NULL,
    until timestamptz NOT NULL
);
CREATE TABLE flood_windows (
    identity text COLLATE "C" PRIMARY KEY,
    window_start timestamptz NOT NULL,
    count integer NOT NULL,
    told boolean NOT NULL
);
"#;

/// Which process delivers each chat's outbox rows now: one at a time, so every row goes out
/// from one process and a chat's rows in order. A claim lapses at `claimed_until` unless its
/// holder renews it; a process that dies leaves its chats to the others then.
const V2: &str = r#"
CREATE TABLE outbox_claims (
    chat text COLLATE "C" PRIMARY KEY,       -- as outbox.chat: CHANNEL:ADDRESS
    claimed_by text NOT NULL,                -- the process: host-pid-random
    claimed_until timestamptz NOT NULL
);
"#;
