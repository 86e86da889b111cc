"""The bank's SQLite schema as ordered migrations.

``PRAGMA user_version`` holds how many migrations a bank file has had. :func:`migrate` applies the missing
ones in order, each inside the caller's transaction. Never edit a released migration: append a new one.
A bank whose user_version is higher than ``len(MIGRATIONS)`` was made by a newer certbank and is refused.

Conventions: times are ISO-8601 UTC text; list-valued item fields are JSON arrays; the audit log refuses
UPDATE and DELETE (triggers), and so do versions of items and the items of a published form; from V2 also
item parameters and parameter sets (a set may change only its ``accepted`` flag).
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

# V2: a certification program run year after year. An *administration* is one delivery of a form (a testing
# window, its candidates, the SHA-256 of its response file); statistics are dated by it. IRT parameters come
# in *parameter sets* with provenance (administration, method, scale, linking constants, anchors), and a new
# set never overwrites an older one: the current parameters are those of the newest accepted set on a scale.
#
# Rows of a V1 bank are kept with the nearest meaning they had: every distinct statistics label becomes a
# legacy administration 'legacy-N' (its form is unknown, so form_id is NULL: the only administrations without
# a form), and every V1 parameter save (one label and timestamp) becomes an accepted set with method 'legacy'
# on the bank scale, in the order they were saved, so the parameters a V1 bank read as current stay current.
_V2 = """
CREATE TABLE administrations (
    administration_id TEXT PRIMARY KEY,
    form_id           TEXT REFERENCES forms(form_id),
    window_start      TEXT,
    window_end        TEXT,
    n_candidates      INTEGER CHECK (n_candidates IS NULL OR n_candidates >= 0),
    language_counts   TEXT NOT NULL DEFAULT '{}',
    responses_sha256  TEXT UNIQUE,
    created_at        TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    notes             TEXT NOT NULL DEFAULT '',
    CHECK (window_start IS NULL OR window_end IS NULL OR window_start <= window_end)
);
CREATE INDEX administrations_form ON administrations(form_id);

ALTER TABLE item_statistics ADD COLUMN administration_id TEXT REFERENCES administrations(administration_id);
CREATE INDEX item_statistics_administration ON item_statistics(administration_id);

CREATE TABLE parameter_sets (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    administration_id TEXT REFERENCES administrations(administration_id),
    form_id           TEXT REFERENCES forms(form_id),
    model             TEXT NOT NULL,
    D                 REAL NOT NULL,
    method            TEXT NOT NULL CHECK (method <> ''),
    scale             TEXT NOT NULL CHECK (scale <> ''),
    linking_a         REAL,
    linking_b         REAL,
    anchors           TEXT,
    accepted          INTEGER NOT NULL DEFAULT 1 CHECK (accepted IN (0, 1)),
    starts_scale      INTEGER NOT NULL DEFAULT 0 CHECK (starts_scale IN (0, 1)),
    label             TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    created_by        TEXT NOT NULL
);
CREATE INDEX parameter_sets_scale ON parameter_sets(scale, accepted);

ALTER TABLE item_parameters ADD COLUMN parameter_set_id INTEGER REFERENCES parameter_sets(id);
CREATE INDEX item_parameters_set ON item_parameters(parameter_set_id);

CREATE TEMP TABLE v2_legacy_administrations AS
SELECT analysis_label, 'legacy-' || ROW_NUMBER() OVER (ORDER BY MIN(id)) AS administration_id,
       MIN(computed_at) AS first_at
FROM item_statistics GROUP BY analysis_label;

INSERT INTO administrations(administration_id, form_id, created_at, created_by, notes)
SELECT administration_id, NULL, first_at, 'migration V2',
       'statistics saved before administrations were recorded, as ' || quote(analysis_label)
FROM v2_legacy_administrations ORDER BY first_at;

UPDATE item_statistics SET administration_id = (SELECT l.administration_id FROM v2_legacy_administrations l
                                                WHERE l.analysis_label = item_statistics.analysis_label);

DROP TABLE temp.v2_legacy_administrations;

INSERT INTO parameter_sets(model, D, method, scale, accepted, starts_scale, label, created_at, created_by)
SELECT model, D, 'legacy', 'bank', 1, 0, calibration_label, computed_at, 'migration V2'
FROM item_parameters GROUP BY calibration_label, computed_at, model, D ORDER BY MIN(id);

UPDATE item_parameters SET parameter_set_id = (SELECT s.id FROM parameter_sets s
    WHERE s.label = item_parameters.calibration_label AND s.created_at = item_parameters.computed_at
      AND s.model = item_parameters.model AND s.D = item_parameters.D);

UPDATE parameter_sets SET starts_scale = 1 WHERE id = (SELECT MIN(id) FROM parameter_sets);

-- Calibrations are evidence: which parameters scored which candidates, what drifted, how a scale was linked.
-- Overwriting or deleting one would make past scoring unreproducible, so parameter rows never change and a
-- set may change only its 'accepted' flag (the one judgement that can be revised after review).
CREATE TRIGGER item_parameters_need_set BEFORE INSERT ON item_parameters WHEN NEW.parameter_set_id IS NULL
BEGIN SELECT RAISE(ABORT, 'item parameters belong to a parameter set'); END;
CREATE TRIGGER item_parameters_no_update BEFORE UPDATE ON item_parameters
BEGIN SELECT RAISE(ABORT, 'item parameters are immutable; save a new parameter set'); END;
CREATE TRIGGER item_parameters_no_delete BEFORE DELETE ON item_parameters
BEGIN SELECT RAISE(ABORT, 'item parameters are immutable; save a new parameter set'); END;
CREATE TRIGGER parameter_sets_no_update BEFORE UPDATE OF id, administration_id, form_id, model, D, method, scale,
    linking_a, linking_b, anchors, starts_scale, label, created_at, created_by ON parameter_sets
BEGIN SELECT RAISE(ABORT, 'a parameter set is immutable except its accepted flag'); END;
CREATE TRIGGER parameter_sets_no_delete BEFORE DELETE ON parameter_sets
BEGIN SELECT RAISE(ABORT, 'a parameter set is immutable except its accepted flag'); END;
"""

#: Ordered migrations; index i brings a bank from user_version i to i + 1.
MIGRATIONS: tuple[str, ...] = (_V1, _V2)

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
