-- agentcron schema 3 (PostgreSQL): API tokens. Only the SHA-256 of a secret is stored; the
-- secret itself is shown once, when the token is created.

CREATE TABLE tokens (
    id           text PRIMARY KEY,
    name         text NOT NULL DEFAULT '',
    hash         text NOT NULL UNIQUE,
    scope        text NOT NULL,
    namespaces   jsonb NOT NULL DEFAULT '["default"]',
    created_at   double precision NOT NULL,
    last_used_at double precision,
    revoked_at   double precision
);
CREATE INDEX tokens_active ON tokens (revoked_at) WHERE revoked_at IS NULL;
