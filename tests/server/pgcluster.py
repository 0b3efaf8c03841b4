# SPDX-License-Identifier: Apache-2.0
"""A throwaway PostgreSQL cluster for the PostgreSQL backend tests.

initdb + pg_ctl in a fresh temp directory, listening on a free loopback port
(and a private unix socket directory), trust authentication, fsync on.
PostgreSQL refuses to run as root, so under root (CI) every PostgreSQL
command runs as the `postgres` user via runuser, in a directory chown'ed to
it. Failing to start is an error, never a skip: scripts/setup.sh installs
PostgreSQL.
"""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time


def _bindir():
    env = os.environ.get("OTA_PG_BINDIR")
    if env:
        return env
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin); "
                           "run scripts/setup.sh (package postgresql)")
    return os.path.dirname(found[-1])


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class PgCluster:
    def __init__(self):
        self.bindir = _bindir()
        self.root = tempfile.mkdtemp(prefix="ota-pg-")
        self.as_root = os.geteuid() == 0
        self.data = os.path.join(self.root, "data")
        self.sock = os.path.join(self.root, "sock")
        self.log = os.path.join(self.root, "postgres.log")
        self.port = None
        self.started = False
        os.mkdir(self.sock)
        if self.as_root:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")

    def _run(self, args, check=True, timeout=60):
        cmd = [os.path.join(self.bindir, args[0])] + args[1:]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        r = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=self.root)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n"
                               f"{r.stdout.decode()}{r.stderr.decode()}{self.read_log()}")
        return r

    def read_log(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def start(self):
        self._run(["initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                   "--encoding=UTF8", "--locale=C.UTF-8", "-N"])
        for attempt in range(3):
            self.port = _free_port()
            opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                    f"-c unix_socket_directories={self.sock} -c max_connections=100 "
                    "-c fsync=on -c synchronous_commit=on -c shared_buffers=16MB")
            r = self._run(["pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "30",
                           "-o", opts, "start"], check=False)
            if r.returncode == 0:
                self.started = True
                return self
            if "could not bind" not in self.read_log():  # port taken meanwhile: retry
                break
        raise RuntimeError("PostgreSQL did not start:\n" + r.stdout.decode() +
                           r.stderr.decode() + self.read_log())

    def createdb(self, name):
        self._run(["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name])
        return self.url(name)

    def url(self, name):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def psql(self, name, sql):
        r = self._run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                       "-d", name, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        return r.stdout.decode().strip()

    def stop(self):
        if self.started:
            self._run(["pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"], check=False)
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)
