"""The ``omegraph`` command line."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from omegraph import __version__
from omegraph.settings import Settings, SettingsError, load_settings
from resolvers.accounts import parse_level
from resolvers.errors import DomainError
from resolvers.passwords import hash_password
from resolvers.validate import clean_username
from store.db import create_db_engine, session_factory
from store.migrate import DatabaseNotMigrated, check_migrated, upgrade
from store.models import AuthSession, Experimenter, ExperimenterGroup, GroupMembership


class CliError(Exception):
    """A failure to report in one line, without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        settings = load_settings()
        logging.basicConfig(level=settings.log_level,
                            format="%(levelname)s %(name)s: %(message)s")
        result: int = args.run(settings, args)
        return result
    except (CliError, SettingsError, DomainError, DatabaseNotMigrated) as exc:
        print(f"omegraph: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omegraph", description="OMEGraph image data server")
    parser.add_argument("--version", action="version", version=f"omegraph {__version__}")
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="run the API server (embedded worker and watcher)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--demo", action="store_true",
                       help="also create a demo user, group, project and dataset")
    serve.set_defaults(run=_serve)

    db = commands.add_parser("db", help="database schema").add_subparsers(title="db commands")
    db.add_parser("upgrade", help="migrate the database to this version").set_defaults(
        run=_db_upgrade)

    user = commands.add_parser("user", help="manage users").add_subparsers(title="user commands")
    add = user.add_parser("add", help="create a user (password prompted)")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true")
    add.add_argument("--group", action="append", default=[], help="group name; repeatable")
    add.add_argument("--password-stdin", action="store_true")
    add.set_defaults(run=_user_add)
    passwd = user.add_parser("passwd", help="set a user's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(run=_user_passwd)

    group = commands.add_parser("group", help="manage groups").add_subparsers(
        title="group commands")
    gadd = group.add_parser("add", help="create a group")
    gadd.add_argument("name")
    gadd.add_argument("--perms", default="rw----",
                      help="rw---- private, rwr--- read-only, rwra-- read-annotate, "
                           "rwrw-- read-write")
    gadd.set_defaults(run=_group_add)

    config = commands.add_parser("config", help="settings").add_subparsers(
        title="config commands")
    config.add_parser("show", help="print the effective settings, secrets masked").set_defaults(
        run=_config_show)
    _job_commands(commands)
    return parser


def _job_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imp = commands.add_parser("import", help="import files and folders; prints image ids")
    imp.add_argument("paths", nargs="+", metavar="PATH",
                     help="files, or folders (walked; hidden files skipped)")
    imp.add_argument("--dataset", help="Dataset:N (default: your dataset named Imports)")
    imp.add_argument("--server", help="URL of a remote server (default: this machine's data)")
    imp.add_argument("--token", help="API token for --server (default: $OMEGRAPH_TOKEN)")
    imp.add_argument("--duplicates", choices=["skip", "import"],
                     help="files imported before (default: the duplicate_policy setting)")
    imp.add_argument("--user", default="root", help="import as this user (local only)")
    imp.set_defaults(run=_import)

    watch = commands.add_parser("watch", help="run the DropBox watcher (imports dropped files)")
    watch.add_argument("--poll", action="store_true",
                       help="poll instead of inotify (network shares; also dropbox_poll)")
    watch.set_defaults(run=_watch)

    worker = commands.add_parser("worker", help="run jobs from Redis (needs redis_url)")
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    worker.add_argument("--queues", default="imports,pixels", help="comma-separated")
    worker.set_defaults(run=_worker)

    admin = commands.add_parser("admin", help="maintenance").add_subparsers(
        title="admin commands")
    rebuild = admin.add_parser("rebuild-pixels",
                               help="rebuild statistics, thumbnails and pyramids")
    rebuild.add_argument("images", nargs="*", metavar="IMAGE", help="Image:N or N")
    rebuild.add_argument("--all", action="store_true", help="every image")
    rebuild.add_argument("--queue", action="store_true",
                         help="leave the work to the workers (needs redis_url)")
    rebuild.set_defaults(run=_rebuild_pixels)


def _with_session(settings: Settings, work: Callable[[Session], int]) -> int:
    engine = create_db_engine(settings.db_url)
    try:
        check_migrated(engine)
        with session_factory(engine)() as db:
            return work(db)
    finally:
        engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise CliError("the passwords do not match")
    return first


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    engine = create_db_engine(settings.db_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    print("database is up to date")
    return 0


def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    name = clean_username(args.name)
    password = _read_password(args.password_stdin)

    def work(db: Session) -> int:
        if db.scalar(select(Experimenter.id).where(Experimenter.username == name)):
            raise CliError(f"user {name!r} already exists")
        groups = []
        for group_name in args.group:
            group = db.scalar(select(ExperimenterGroup).where(ExperimenterGroup.name == group_name))
            if group is None:
                raise CliError(f"no group named {group_name!r}")
            groups.append(group)
        user = Experimenter(username=name, password_hash=hash_password(password),
                            is_admin=args.admin,
                            default_group_id=groups[0].id if groups else None)
        db.add(user)
        db.flush()
        db.add_all([GroupMembership(experimenter_id=user.id, group_id=g.id) for g in groups])
        db.commit()
        print(f"created user {name} (Experimenter:{user.id})")
        return 0

    return _with_session(settings, work)


def _user_passwd(settings: Settings, args: argparse.Namespace) -> int:
    password = _read_password(args.password_stdin)

    def work(db: Session) -> int:
        user = db.scalar(select(Experimenter).where(Experimenter.username == args.name))
        if user is None:
            raise CliError(f"no user named {args.name!r}")
        user.password_hash = hash_password(password)
        # A new password ends every existing session of that user.
        db.execute(update(AuthSession).where(AuthSession.experimenter_id == user.id)
                   .values(revoked=True))
        db.commit()
        print(f"password of {user.username} changed; their sessions were ended")
        return 0

    return _with_session(settings, work)


def _group_add(settings: Settings, args: argparse.Namespace) -> int:
    level = parse_level(args.perms)

    def work(db: Session) -> int:
        if db.scalar(select(ExperimenterGroup.id).where(ExperimenterGroup.name == args.name)):
            raise CliError(f"group {args.name!r} already exists")
        group = ExperimenterGroup(name=args.name, permissions=level.value)
        db.add(group)
        db.commit()
        print(f"created group {args.name} (Group:{group.id}, {level.value})")
        return 0

    return _with_session(settings, work)


def _config_show(settings: Settings, _args: argparse.Namespace) -> int:
    shown = settings.masked()
    width = max(len(name) for name in shown)
    for name, value in shown.items():
        print(f"{name.ljust(width)}  {value}")
    return 0


# The commands below import their modules when run: they pull in the engine and HTTP
# client, which the other commands never need (and those modules import CliError from here).
def _import(settings: Settings, args: argparse.Namespace) -> int:
    from omegraph.importing import run_import_command

    return run_import_command(settings, args)


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from omegraph.worker import parse_queues, run_worker

    return run_worker(settings, parse_queues(args.queues), args.burst)


def _watch(settings: Settings, args: argparse.Namespace) -> int:
    from omegraph.watch import run_watch

    return run_watch(settings, args.poll)


def _rebuild_pixels(settings: Settings, args: argparse.Namespace) -> int:
    from omegraph.admin import rebuild_pixels

    return rebuild_pixels(settings, args.images, args.all, args.queue)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from omegraph.serve import serve

    overrides = {k: getattr(args, k) for k in ("host", "port", "workers") if getattr(args, k)}
    return serve(load_settings(**overrides) if overrides else settings, demo=args.demo)


if __name__ == "__main__":
    # Run the importable omegraph.cli, not this __main__ copy of it: the command modules
    # raise omegraph.cli.CliError, which is the class the real main() catches.
    from omegraph.cli import main as module_main

    raise SystemExit(module_main())
