# SPDX-License-Identifier: Apache-2.0
"""
test_e2e_once.py - `ota-agent --once` as a provisioning script or a cron job
uses it (issue 9): one check-in, then an exit code that says what happened,
instead of retrying a permanent error forever. Codes from
src/host/exit_codes.h: 0 idle, 23 token refused (401/403), 24 hardware id
mismatch (409), 25 server unreachable, 26 TLS certificate or pin refused.
"""

import subprocess

import otae2e as E

EXIT_IDLE = 0
EXIT_UNAUTHORIZED = 23
EXIT_HW_MISMATCH = 24
EXIT_UNREACHABLE = 25
EXIT_TLS = 26


def once(dev, *flags):
    p = subprocess.run([E.AGENT, "--config", dev.conf, "--flash", dev.flash, "--once"] +
                       list(flags), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=60)
    return p.returncode, p.stdout


def test_once_exit_codes(env):
    s = env.start_server()
    v1 = env.image("1.0.0", 1)
    s.upload(v1)
    dev = env.device("once-1", v1)

    rc, out = once(dev)
    assert rc == EXIT_IDLE, out

    rc, out = once(dev, "--token", "not-the-token")
    assert rc == EXIT_UNAUTHORIZED, out
    assert "401" in out, out

    rc, out = once(dev, "--server", "http://127.0.0.1:%d" % E.free_port(), "--timeout", "2")
    assert rc == EXIT_UNREACHABLE, out

    # registered as other hardware than the flash says
    d = s.api("POST", "/v1/devices", {"id": "once-2", "hw_id": "other-board"})
    dev.name = "once-2"
    dev.token = d["token"]
    dev.write_conf(s.url)
    rc, out = once(dev)
    assert rc == EXIT_HW_MISMATCH, out
    assert "409" in out, out


def test_once_enrollment_refused(env):
    s = env.start_server()
    v1 = env.image("1.0.0", 1)
    s.upload(v1)
    other_hw = s.api("POST", "/v1/enrollment-tokens", {"hw_id": "other-board",
                                                       "max_uses": 5})["token"]
    dev = env.device("once-enr", v1, enrollment_token=other_hw)
    rc, out = once(dev)
    assert rc == EXIT_HW_MISMATCH, out   # 403: the fleet token is for other hardware
    rc, out = once(dev, "--enrollment_token", "otae_not-a-token")
    assert rc == EXIT_UNAUTHORIZED, out  # 401
    good = s.api("POST", "/v1/enrollment-tokens", {"hw_id": E.HW, "max_uses": 5})["token"]
    rc, out = once(dev, "--enrollment_token", good)
    assert rc == EXIT_IDLE, out


def test_once_tls_refused(env):
    cert, key, _ = E.make_tls_cert(env.work)
    other_cert, _, other_pub = E.make_tls_cert(env.work, "other")
    env.server = E.Server(env.work, env.keys.pub, tls=(cert, key)).start()
    s = env.server
    v1 = env.image("1.0.0", 1)
    s.upload(v1)
    dev = env.device("once-tls", v1, extra_conf={"allow_http": "no", "ca_file": cert})
    rc, out = once(dev)
    assert rc == EXIT_IDLE, out
    # a certificate no configured CA signed
    rc, out = once(dev, "--ca_file", other_cert)
    assert rc == EXIT_TLS, out
    # the right CA, but the pin names another key
    rc, out = once(dev, "--pinned_key", other_pub)
    assert rc == EXIT_TLS, out
