"""agent facts for the agent report: sessions (logged in), pauses with reasons, rings;
the service-level rollup per quarter hour, its marks kept by triggers on queue_entries

Revision ID: 0014
Revises: 0013_people
Create Date: 2026-12-07 00:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=80), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("login_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("logout_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agent", "queue", "login_at"),
    )
    op.create_index("ix_agent_sessions_agent", "agent_sessions", ["agent"])
    op.create_index("ix_agent_sessions_span", "agent_sessions", ["login_at", "logout_at"])
    op.create_table(
        "agent_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=80), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unpaused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_pauses_agent", "agent_pauses", ["agent"])
    op.create_index("ix_agent_pauses_span", "agent_pauses", ["paused_at", "unpaused_at"])
    op.create_table(
        "agent_rings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=80), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_rings_at", "agent_rings", ["at", "agent"])

    op.create_table(
        "sl_rollup",
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("threshold_s", sa.Integer(), nullable=False),
        sa.Column("short_abandon_s", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "queue", "threshold_s", "short_abandon_s"),
    )
    op.create_table(
        "sl_rollup_done",
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("threshold_s", sa.Integer(), nullable=False),
        sa.Column("short_abandon_s", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "threshold_s", "short_abandon_s"),
    )
    op.create_table(
        "sl_dirty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sl_dirty_bucket", "sl_dirty", ["bucket"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


# Every change of a queue entry that the history counts marks its quarter hour (and the
# one it left, when joined_at moves): `crm.supervisor.rollup` counts marked ones again.
COUNTED = "joined_at, queue, outcome, wait_s, wait_whole_s, completed_at"
PG_TRIGGERS = [
    """
    CREATE FUNCTION sl_mark() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP <> 'INSERT' AND OLD.joined_at IS NOT NULL THEN
        INSERT INTO sl_dirty (bucket)
        VALUES (floor(extract(epoch FROM OLD.joined_at) / 900)::bigint);
      END IF;
      IF TG_OP <> 'DELETE' AND NEW.joined_at IS NOT NULL
         AND (TG_OP = 'INSERT' OR OLD.joined_at IS DISTINCT FROM NEW.joined_at) THEN
        INSERT INTO sl_dirty (bucket)
        VALUES (floor(extract(epoch FROM NEW.joined_at) / 900)::bigint);
      END IF;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER sl_mark_insert AFTER INSERT ON queue_entries"
    " FOR EACH ROW EXECUTE FUNCTION sl_mark()",
    f"CREATE TRIGGER sl_mark_update AFTER UPDATE OF {COUNTED} ON queue_entries"
    " FOR EACH ROW EXECUTE FUNCTION sl_mark()",
    "CREATE TRIGGER sl_mark_delete AFTER DELETE ON queue_entries"
    " FOR EACH ROW EXECUTE FUNCTION sl_mark()",
]
_SQLITE_BUCKET = "CAST(strftime('%s', {row}.joined_at) AS INTEGER) / 900"
SQLITE_TRIGGERS = [
    "CREATE TRIGGER sl_mark_insert AFTER INSERT ON queue_entries"
    " WHEN NEW.joined_at IS NOT NULL BEGIN"
    f" INSERT INTO sl_dirty (bucket) VALUES ({_SQLITE_BUCKET.format(row='NEW')}); END",
    f"CREATE TRIGGER sl_mark_update_old AFTER UPDATE OF {COUNTED} ON queue_entries"
    " WHEN OLD.joined_at IS NOT NULL BEGIN"
    f" INSERT INTO sl_dirty (bucket) VALUES ({_SQLITE_BUCKET.format(row='OLD')}); END",
    f"CREATE TRIGGER sl_mark_update_new AFTER UPDATE OF {COUNTED} ON queue_entries"
    " WHEN NEW.joined_at IS NOT NULL AND OLD.joined_at IS NOT NEW.joined_at BEGIN"
    f" INSERT INTO sl_dirty (bucket) VALUES ({_SQLITE_BUCKET.format(row='NEW')}); END",
    "CREATE TRIGGER sl_mark_delete AFTER DELETE ON queue_entries"
    " WHEN OLD.joined_at IS NOT NULL BEGIN"
    f" INSERT INTO sl_dirty (bucket) VALUES ({_SQLITE_BUCKET.format(row='OLD')}); END",
]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS sl_mark_{name} ON queue_entries")
        op.execute("DROP FUNCTION IF EXISTS sl_mark()")
    else:
        for name in ("insert", "update_old", "update_new", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS sl_mark_{name}")
    op.drop_index("ix_sl_dirty_bucket", table_name="sl_dirty")
    op.drop_table("sl_dirty")
    op.drop_table("sl_rollup_done")
    op.drop_table("sl_rollup")
    op.drop_index("ix_agent_rings_at", table_name="agent_rings")
    op.drop_table("agent_rings")
    op.drop_index("ix_agent_pauses_span", table_name="agent_pauses")
    op.drop_index("ix_agent_pauses_agent", table_name="agent_pauses")
    op.drop_table("agent_pauses")
    op.drop_index("ix_agent_sessions_span", table_name="agent_sessions")
    op.drop_index("ix_agent_sessions_agent", table_name="agent_sessions")
    op.drop_table("agent_sessions")
