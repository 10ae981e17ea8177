-- agentcron schema 3 (SQLite): API tokens. Only the SHA-256 of a secret is stored; the secret
-- itself is shown once, when the token is created.

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    hash         TEXT NOT NULL UNIQUE,          -- sha256 hex of the secret
    scope        TEXT NOT NULL,                 -- read | write | admin
    namespaces   TEXT NOT NULL DEFAULT '["default"]',  -- JSON list; "*" means every namespace
    created_at   REAL NOT NULL,
    last_used_at REAL,
    revoked_at   REAL
);
CREATE INDEX tokens_active ON tokens (revoked_at) WHERE revoked_at IS NULL;
