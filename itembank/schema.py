"""The bank's SQLite schema as ordered migrations.

``PRAGMA user_version`` holds how many migrations a bank file has had. :func:`migrate` applies the missing
ones in order, each inside the caller's transaction. Never edit a released migration: append a new one.
A bank whose user_version is higher than ``len(MIGRATIONS)`` was made by a newer certbank and is refused.

Conventions: times are ISO-8601 UTC text; list-valued item fields are JSON arrays; the audit log refuses
UPDATE and DELETE (triggers), and so do versions of items and the items of a published form.
"""
from __future__ import annotations

import sqlite3

#: Written into the ``meta`` table so a file can be recognised as a certbank bank.
APPLICATION_TAG = "certbank"

_V1 = """
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE frameworks (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    imported_by TEXT NOT NULL
);

CREATE TABLE areas (
    code           TEXT PRIMARY KEY,
    framework_code TEXT NOT NULL REFERENCES frameworks(code) ON DELETE CASCADE,
    title          TEXT NOT NULL,
    position       INTEGER NOT NULL
);

CREATE TABLE competencies (
    code           TEXT PRIMARY KEY,
    area_code      TEXT NOT NULL REFERENCES areas(code) ON DELETE CASCADE,
    framework_code TEXT NOT NULL REFERENCES frameworks(code) ON DELETE CASCADE,
    title          TEXT NOT NULL,
    position       INTEGER NOT NULL
);

CREATE TABLE crosswalk (
    from_code TEXT NOT NULL REFERENCES competencies(code),
    to_code   TEXT NOT NULL REFERENCES competencies(code),
    note      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (from_code, to_code)
);

CREATE TABLE items (
    item_id         TEXT PRIMARY KEY,
    status          TEXT NOT NULL CHECK (status IN
                        ('draft','review','approved','pretest','operational','retired')),
    current_version INTEGER NOT NULL,
    exposure_count  INTEGER NOT NULL DEFAULT 0,
    last_used_form  TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL
);

CREATE TABLE item_versions (
    item_id                TEXT NOT NULL REFERENCES items(item_id),
    version                INTEGER NOT NULL CHECK (version >= 1),
    key                    TEXT NOT NULL,
    n_options              INTEGER NOT NULL CHECK (n_options BETWEEN 2 AND 6),
    primary_competency     TEXT NOT NULL REFERENCES competencies(code),
    secondary_competencies TEXT NOT NULL DEFAULT '[]',
    cognitive_level        TEXT NOT NULL CHECK (cognitive_level IN ('recall','application','analysis')),
    author                 TEXT NOT NULL DEFAULT '',
    source                 TEXT NOT NULL DEFAULT '',
    keywords               TEXT NOT NULL DEFAULT '[]',
    content_hash           TEXT NOT NULL,
    created_at             TEXT NOT NULL,
    created_by             TEXT NOT NULL,
    PRIMARY KEY (item_id, version)
);

CREATE TABLE item_texts (
    item_id            TEXT NOT NULL,
    version            INTEGER NOT NULL,
    language           TEXT NOT NULL,
    stem               TEXT NOT NULL CHECK (stem <> ''),
    options            TEXT NOT NULL,
    rationale          TEXT NOT NULL DEFAULT '',
    translation_status TEXT NOT NULL CHECK (translation_status IN ('draft','translated','reviewed')),
    PRIMARY KEY (item_id, version, language),
    FOREIGN KEY (item_id, version) REFERENCES item_versions(item_id, version)
);

CREATE TABLE status_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id     TEXT NOT NULL REFERENCES items(item_id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    user        TEXT NOT NULL,
    at          TEXT NOT NULL,
    reason      TEXT NOT NULL
);

CREATE TABLE enemies (
    item_a TEXT NOT NULL REFERENCES items(item_id),
    item_b TEXT NOT NULL REFERENCES items(item_id),
    PRIMARY KEY (item_a, item_b),
    CHECK (item_a < item_b)
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    user    TEXT NOT NULL,
    action  TEXT NOT NULL,
    item_id TEXT,
    before  TEXT,
    after   TEXT
);
CREATE INDEX audit_item ON audit_log(item_id);

CREATE TABLE forms (
    form_id        TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    blueprint_name TEXT NOT NULL DEFAULT '',
    blueprint_hash TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('draft','approved','published')),
    details        TEXT NOT NULL DEFAULT '{}',
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    published_at   TEXT
);

CREATE TABLE form_items (
    form_id    TEXT NOT NULL REFERENCES forms(form_id),
    position   INTEGER NOT NULL CHECK (position >= 1),
    item_id    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    is_pretest INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (form_id, position),
    UNIQUE (form_id, item_id),
    FOREIGN KEY (item_id, version) REFERENCES item_versions(item_id, version)
);

CREATE TABLE item_statistics (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id        TEXT NOT NULL,
    version        INTEGER NOT NULL,
    analysis_label TEXT NOT NULL,
    grp            TEXT NOT NULL DEFAULT 'all',
    computed_at    TEXT NOT NULL,
    n              INTEGER,
    p_value        REAL,
    point_biserial REAL,
    extra          TEXT NOT NULL DEFAULT '{}',
    FOREIGN KEY (item_id, version) REFERENCES item_versions(item_id, version)
);
CREATE INDEX item_statistics_item ON item_statistics(item_id);

CREATE TABLE item_parameters (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id           TEXT NOT NULL,
    version           INTEGER NOT NULL,
    model             TEXT NOT NULL,
    a                 REAL,
    b                 REAL,
    c                 REAL,
    D                 REAL NOT NULL,
    se_a              REAL,
    se_b              REAL,
    se_c              REAL,
    calibration_label TEXT NOT NULL,
    computed_at       TEXT NOT NULL,
    FOREIGN KEY (item_id, version) REFERENCES item_versions(item_id, version)
);
CREATE INDEX item_parameters_item ON item_parameters(item_id);

CREATE TABLE standards (
    name       TEXT PRIMARY KEY,
    theta_cut  REAL NOT NULL,
    details    TEXT NOT NULL DEFAULT '{}',
    saved_at   TEXT NOT NULL,
    saved_by   TEXT NOT NULL
);

CREATE TABLE blueprints (
    name      TEXT PRIMARY KEY,
    toml_text TEXT NOT NULL,
    hash      TEXT NOT NULL,
    saved_at  TEXT NOT NULL,
    saved_by  TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER item_versions_no_update BEFORE UPDATE ON item_versions
BEGIN SELECT RAISE(ABORT, 'item versions are immutable'); END;
CREATE TRIGGER item_texts_no_update BEFORE UPDATE ON item_texts
BEGIN SELECT RAISE(ABORT, 'item versions are immutable'); END;
CREATE TRIGGER form_items_frozen_insert BEFORE INSERT ON form_items
WHEN (SELECT status FROM forms WHERE form_id = NEW.form_id) = 'published'
BEGIN SELECT RAISE(ABORT, 'a published form is frozen'); END;
CREATE TRIGGER form_items_frozen_update BEFORE UPDATE ON form_items
WHEN (SELECT status FROM forms WHERE form_id = OLD.form_id) = 'published'
BEGIN SELECT RAISE(ABORT, 'a published form is frozen'); END;
CREATE TRIGGER form_items_frozen_delete BEFORE DELETE ON form_items
WHEN (SELECT status FROM forms WHERE form_id = OLD.form_id) = 'published'
BEGIN SELECT RAISE(ABORT, 'a published form is frozen'); END;
"""

#: Ordered migrations; index i brings a bank from user_version i to i + 1.
MIGRATIONS: tuple[str, ...] = (_V1,)

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every missing migration in order (the caller holds the transaction); return how many ran."""
    current = schema_version(conn)
    for number in range(current, SCHEMA_VERSION):
        for statement in _split(MIGRATIONS[number]):
            conn.execute(statement)
        # PRAGMA cannot take parameters; the value is our own integer.
        conn.execute(f"PRAGMA user_version = {number + 1}")
    if current == 0 and SCHEMA_VERSION > 0:
        conn.execute("INSERT INTO meta(name, value) VALUES ('application', ?)", (APPLICATION_TAG,))
    return SCHEMA_VERSION - current


def _split(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN … END;) whole."""
    statements, buffer = [], []
    for line in script.splitlines():
        buffer.append(line)
        candidate = "\n".join(buffer).strip()
        if candidate and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            buffer = []
    rest = "\n".join(buffer).strip()
    if rest:
        statements.append(rest)
    return statements
