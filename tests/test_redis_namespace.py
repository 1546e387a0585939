"""No Redis name is written out in the code: every key, stream and channel comes from the
install's `RedisKeys` (`HOTLINE_REDIS_PREFIX`), so none can escape the prefix.

Read from the source: any call of a Redis command on a Redis client, pipeline or pub/sub
(`redis.hset(...)`, `pipe.xadd(...)`, `pubsub.subscribe(...)`) whose key argument is a
literal string, or an f-string that starts with one, is a bare name. So is a string
literal anywhere in the product that looks like one of the schema's names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core.keys import RedisKeys
from tests.conftest import ROOT

PRODUCT = ("core", "crm", "agi", "queue", "hotline", "ivr", "asterisksim")
# Commands whose first argument (or keyword below) is a key or a channel.
KEYED = {
    "get", "set", "delete", "exists", "expire", "ttl", "keys", "scan_iter",
    "hget", "hset", "hdel", "hgetall", "hlen", "hkeys", "hvals", "hexists", "hincrby",
    "hmget", "lpop", "rpush", "lpush", "llen", "lrange", "sadd", "srem", "smembers",
    "zadd", "zrangebyscore", "zremrangebyscore", "xadd", "xrange", "xrevrange", "xack",
    "xgroup_create", "xinfo_groups", "xpending", "xreadgroup", "xtrim", "xlen",
    "publish", "subscribe", "psubscribe",
}  # fmt: skip
KEY_KEYWORDS = {"name", "key", "match", "keys", "stream", "channel", "streams"}
REDIS_RECEIVER = re.compile(r"redis|pipe|pubsub", re.IGNORECASE)
# What the schema's names look like: `<something>:facts`, `...:live:`, `agent-events:` ...
SCHEMA_WORDS = re.compile(
    r"(^|:)(facts|live|call|agent-events|agi)(:(?!/)|$)|uin-stock|pending-tickets|pending-refused"
)


def _where(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _product_files() -> list[Path]:
    files = []
    for package in PRODUCT:
        files += [p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts]
    return sorted(files)


def _literal(node: ast.AST | None) -> str | None:
    """The literal text a key argument starts with, if it starts with any."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        return node.value if isinstance(node.value, str) else node.value.decode()
    if isinstance(node, ast.JoinedStr) and node.values:
        return _literal(node.values[0])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal(node.left)
    if isinstance(node, ast.Dict) and node.keys:  # xreadgroup's {stream: id}
        return next((t for t in map(_literal, node.keys) if t is not None), None)
    return None


def _bare_names(path: Path) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in KEYED:
            continue
        if not REDIS_RECEIVER.search(ast.unparse(node.func.value)):
            continue
        # xreadgroup's first two arguments are the group and the consumer: no keys
        args = node.args[2:] if node.func.attr == "xreadgroup" else node.args
        candidates = list(args[:1] if node.func.attr != "delete" else args)
        candidates += [kw.value for kw in node.keywords if kw.arg in KEY_KEYWORDS]
        for arg in candidates:
            text = _literal(arg)
            if text:  # an f-string starting with "" is a name built from a variable
                found.append(f"{_where(path)}:{node.lineno}: {ast.unparse(node)}")
    return found


def _schema_literals(path: Path) -> list[str]:
    """String constants (outside core/keys.py and docstrings) that look like key names."""
    if path == ROOT / "core" / "keys.py":
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = {
        id(body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and (body := node.body)
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and ":" in node.value
            and " " not in node.value.strip()
            and SCHEMA_WORDS.search(node.value)
        ):
            found.append(f"{_where(path)}:{node.lineno}: {node.value!r}")
    return found


def test_no_redis_call_names_a_key_of_its_own() -> None:
    bare = [hit for path in _product_files() for hit in _bare_names(path)]
    assert bare == [], "Redis names written out instead of taken from RedisKeys:\n" + "\n".join(
        bare
    )


def test_no_string_in_the_product_spells_a_key_name() -> None:
    spelt = [hit for path in _product_files() for hit in _schema_literals(path)]
    assert spelt == [], "key names spelt out of core/keys.py:\n" + "\n".join(spelt)


def test_the_check_sees_a_bare_name(tmp_path: Path) -> None:
    """The reader catches what it is there for (it is not vacuously green)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "async def f(redis, pipe, agent):\n"
        '    await redis.publish(f"hotline:agent-events:{agent}", "x")\n'
        '    pipe.hset("hotline:live:agents", "a", 1)\n'
        '    await redis.xreadgroup("g", "c", {"hotline:facts": ">"})\n'
        "    await redis.delete(keys.uin_stock, 'agi:uin-stock')\n",
        encoding="utf-8",
    )
    assert len(_bare_names(sample)) == 4
    assert len(_schema_literals(sample)) == 4


@pytest.mark.parametrize("prefix", ["hotline", "site-2"])
def test_every_name_of_the_schema_is_under_the_prefix(prefix: str) -> None:
    keys = RedisKeys(prefix)
    names = [
        getattr(keys, attr)
        for attr in dir(RedisKeys)
        if isinstance(getattr(RedisKeys, attr), property) and attr != "root"
    ]
    names += [keys.live_agent("a"), keys.agent_events("a")]
    assert len(names) >= 12 and all(keys.owns(name) for name in names)
