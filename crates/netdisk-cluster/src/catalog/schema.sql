-- netdisk's catalog, version 1. Applied in one transaction by the first
-- server to start on an empty database; every server checks the version.

CREATE TABLE netdisk_schema (version integer NOT NULL);
INSERT INTO netdisk_schema VALUES (2);

-- One row per user: the quota and what counts toward it. `used` is the
-- bytes of committed files; `reserved` the bytes uploads in progress
-- hold (rows of `reservations`). Every change to either takes this row
-- FOR UPDATE, so servers agree on the quota without a lock of their own.
-- `used` counts the home's files, the trash and old versions alike.
-- The home itself has no row in `entries`: its dead properties are here.
CREATE TABLE accounts (
    owner           text PRIMARY KEY,
    quota           bigint CHECK (quota >= 0),
    used            bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
    reserved        bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    home_properties bytea
);

-- Who may log in: the SCRAM verifier as netdisk_store::UserDb keeps it
-- (never a password). A user's quota is its account's.
CREATE TABLE users (
    name       text PRIMARY KEY REFERENCES accounts (owner),
    salt       bytea NOT NULL,
    iterations bigint NOT NULL CHECK (iterations > 0),
    stored_key bytea NOT NULL CHECK (octet_length(stored_key) = 32),
    server_key bytea NOT NULL CHECK (octet_length(server_key) = 32),
    created    bigint NOT NULL
);

-- A user's own trash and versions settings; NULL: the server's.
CREATE TABLE user_retention (
    name                  text PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,
    keep_trash            bigint CHECK (keep_trash >= 0),
    keep_versions         bigint CHECK (keep_versions >= 0),
    free_space_from_trash boolean
);

-- Server-wide secrets (32 random bytes each), made once by whichever
-- server asks first.
CREATE TABLE secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL CHECK (octet_length(value) = 32)
);

-- Room held by an upload in progress, until it commits, fails, or its
-- server stops renewing it (`expires`, seconds since the epoch).
CREATE TABLE reservations (
    id      bigserial PRIMARY KEY,
    owner   text NOT NULL REFERENCES accounts (owner),
    bytes   bigint NOT NULL CHECK (bytes >= 0),
    server  text NOT NULL,
    expires bigint NOT NULL
);

-- The namespace: a row per file and directory, keyed by the path from
-- the home ('a/b/c'; the home itself has no row). `parent` is the path
-- of the directory it is in ('' at the top), for listings. A file names
-- its object; the row is the commit point: a file exists once its row
-- does, and its object was complete and verified before.
CREATE TABLE entries (
    owner    text NOT NULL REFERENCES accounts (owner),
    path     text NOT NULL,
    parent   text NOT NULL,
    name     text NOT NULL,
    kind     "char" NOT NULL CHECK (kind IN ('d', 'f')),
    size     bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
    blake3   text,
    object   text,
    modified bigint,
    mode     integer,
    -- Dead properties (WebDAV), as the engine encoded them.
    properties bytea,
    PRIMARY KEY (owner, path),
    CHECK ((kind = 'f') = (object IS NOT NULL))
);
CREATE INDEX entries_by_parent ON entries (owner, parent, name);
-- For the collector: is an object named?
CREATE INDEX entries_by_object ON entries (object) WHERE object IS NOT NULL;

-- The trash: what `trash` took out of the home, a file or a whole tree
-- per item. Its rows move, whole, from `entries` to `trashed_entries`
-- (same columns, paths as they were) and back on a restore; no byte is
-- copied. `size` is the bytes of all its files (they still count).
CREATE TABLE trash (
    id      bigserial PRIMARY KEY,
    owner   text NOT NULL REFERENCES accounts (owner),
    path    text NOT NULL,
    kind    "char" NOT NULL CHECK (kind IN ('d', 'f')),
    size    bigint NOT NULL CHECK (size >= 0),
    deleted bigint NOT NULL
);
CREATE INDEX trash_by_owner ON trash (owner, id);

CREATE TABLE trashed_entries (
    item       bigint NOT NULL REFERENCES trash (id),
    path       text NOT NULL,
    parent     text NOT NULL,
    name       text NOT NULL,
    kind       "char" NOT NULL CHECK (kind IN ('d', 'f')),
    size       bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
    blake3     text,
    object     text,
    modified   bigint,
    mode       integer,
    properties bytea,
    PRIMARY KEY (item, path),
    CHECK ((kind = 'f') = (object IS NOT NULL))
);
CREATE INDEX trashed_entries_by_object ON trashed_entries (object) WHERE object IS NOT NULL;

-- Old versions: a file an upload or a move replaced, kept under the path
-- it was at (as the local back-end files them), oldest first by id.
-- Renaming, trashing or removing the file there leaves them at the path.
CREATE TABLE versions (
    id       bigserial PRIMARY KEY,
    owner    text NOT NULL REFERENCES accounts (owner),
    path     text NOT NULL,
    size     bigint NOT NULL CHECK (size >= 0),
    blake3   text,
    object   text NOT NULL,
    modified bigint,
    replaced bigint NOT NULL
);
CREATE INDEX versions_by_path ON versions (owner, path, id);
CREATE INDEX versions_by_owner ON versions (owner, id);
CREATE INDEX versions_by_object ON versions (object);

-- Objects no row names any more (a replaced, deleted or purged file's), to be
-- deleted from the object store by whichever server collects next.
CREATE TABLE doomed_objects (
    object text PRIMARY KEY,
    since  bigint NOT NULL
);

-- Resumable uploads cut part-way: a multipart upload in the object store
-- under `object`, its confirmed parts in `partial_parts`, so any server
-- can go on with it. One server writes it at a time: `holder` until
-- `held_until` (a lease the writer renews; a dead writer's runs out).
CREATE TABLE partials (
    owner      text NOT NULL REFERENCES accounts (owner),
    target     text NOT NULL,
    -- NULL until its first part is stored (no multipart upload yet).
    object     text,
    upload     text CHECK ((object IS NULL) = (upload IS NULL)),
    part_size  bigint NOT NULL CHECK (part_size > 0),
    size       bigint NOT NULL CHECK (size >= 0),
    modified   bigint,
    holder     text,
    held_until bigint,
    updated    bigint NOT NULL,
    PRIMARY KEY (owner, target)
);

-- A confirmed part's bytes count in its account's `used` from the moment
-- it is recorded. `chaining` and `prefix` are its BLAKE3 subtree chaining
-- value and the hash of the file up to its end (see PartHasher), so the
-- server that goes on needs no byte of it to verify the whole file.
CREATE TABLE partial_parts (
    owner    text NOT NULL,
    target   text NOT NULL,
    index    integer NOT NULL CHECK (index >= 0),
    etag     text NOT NULL,
    size     bigint NOT NULL CHECK (size >= 0),
    chaining bytea NOT NULL CHECK (octet_length(chaining) = 32),
    prefix   bytea NOT NULL CHECK (octet_length(prefix) = 32),
    PRIMARY KEY (owner, target, index),
    FOREIGN KEY (owner, target) REFERENCES partials (owner, target) ON DELETE CASCADE
);

-- Failed logins by key (a source address or a user name), so a lockout
-- on one server holds on every one. Times in milliseconds since the epoch.
CREATE TABLE login_failures (
    key      text PRIMARY KEY,
    failures integer NOT NULL CHECK (failures > 0),
    last     bigint NOT NULL
);

-- The HTTP API's bearer tokens (netdisk_store::TokenBook): only each
-- token's SHA-256, never its text. A login's session and refresh tokens
-- share a `family` (the session token's id), which a refresh or a logout
-- ends whole. Deleting a user ends their tokens.
CREATE TABLE tokens (
    id      bigserial PRIMARY KEY,
    hash    bytea NOT NULL UNIQUE,
    owner   text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    kind    text NOT NULL CHECK (kind IN ('session', 'refresh', 'personal')),
    name    text NOT NULL,
    created bigint NOT NULL,
    expires bigint,
    family  bigint
);
CREATE INDEX tokens_by_owner ON tokens (owner, id);
CREATE INDEX tokens_by_family ON tokens (family);

-- Share links (netdisk_store::ShareBook): the token as it is (its owner
-- lists it again; 144 random bits), a password as its PBKDF2 stored key.
-- Deleting a user ends their links.
CREATE TABLE shares (
    id                  bigserial PRIMARY KEY,
    token               text NOT NULL UNIQUE,
    owner               text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    path                text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('file', 'dir')),
    password_salt       bytea,
    password_hash       bytea,
    password_iterations integer CHECK (password_iterations > 0),
    upload_only         boolean NOT NULL,
    max_downloads       bigint CHECK (max_downloads > 0),
    downloads           bigint NOT NULL DEFAULT 0 CHECK (downloads >= 0),
    created             bigint NOT NULL,
    expires             bigint
);
CREATE INDEX shares_by_owner ON shares (owner, id);

-- Resumable uploads by id (tus; netdisk_store::ResumableBook): what each
-- id is for. Its bytes are the target's partial (`partials`).
CREATE TABLE resumable_uploads (
    id       text PRIMARY KEY,
    owner    text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    path     text NOT NULL,
    size     bigint NOT NULL CHECK (size >= 0),
    modified bigint,
    blake3   text,
    created  bigint NOT NULL,
    UNIQUE (owner, path)
);

-- Every server's audit lines (netdisk_store's audit events, as JSON),
-- beside each server's own audit log: one place holds them all. Times in
-- milliseconds since the epoch. Nothing prunes it: operators keep it as
-- long as they need.
CREATE TABLE audit (
    id     bigserial PRIMARY KEY,
    time   bigint NOT NULL,
    server text NOT NULL,
    event  text NOT NULL,
    owner  text NOT NULL,
    line   jsonb NOT NULL
);
CREATE INDEX audit_by_owner ON audit (owner, id);
