-- Version 1 servers kept no partial uploads (a cut upload started over),
-- so no part is lost: the parts table is made anew with the hashes a
-- server going on with a partial needs. API tokens, share links, tus uploads
-- and the audit log move into the catalog (version 1 kept them per server).
DELETE FROM partials;
-- A partial is recorded when its upload begins, before any part is stored.
ALTER TABLE partials ALTER COLUMN object DROP NOT NULL, ALTER COLUMN upload DROP NOT NULL,
    ADD CHECK ((object IS NULL) = (upload IS NULL));
DROP TABLE partial_parts;
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
INSERT INTO netdisk_schema VALUES (2);
