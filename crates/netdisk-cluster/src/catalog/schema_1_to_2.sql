-- Version 1 servers kept no partial uploads (a cut upload started over),
-- so no part is lost: the parts table is made anew with the hashes a
-- server going on with a partial needs.
DELETE FROM partials;
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
INSERT INTO netdisk_schema VALUES (2);
