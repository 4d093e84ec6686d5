"""The Redis fixtures themselves: a private server, a restart on the same port, a cluster."""

from __future__ import annotations

import os

from redis_support import RedisCluster, RedisServer, _ping, _port_free


def test_server_is_private_and_volatile(redis_server: RedisServer) -> None:
    assert redis_server.port != 6379
    assert redis_server.command("CONFIG", "GET", "save").split() == ["save"]
    assert redis_server.command("CONFIG", "GET", "appendonly").split() == ["appendonly", "no"]
    assert redis_server.command("SET", "k", "v").strip() == "OK"


def test_restart_same_port_loses_data(redis_server: RedisServer) -> None:
    port = redis_server.port
    redis_server.command("SET", "k", "v")
    old_pid = redis_server.proc.pid if redis_server.proc else None
    redis_server.restart()
    assert redis_server.port == port
    assert redis_server.proc is not None and redis_server.proc.pid != old_pid
    assert _ping(port) == "+PONG"
    assert redis_server.command("GET", "k").strip() == ""


def test_stop_by_pid_frees_the_port() -> None:
    server = RedisServer().start()
    pid = server.proc.pid if server.proc else 0
    server.close()
    assert _ping(server.port) is None
    assert _port_free(server.port)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_cluster_of_three_masters(redis_cluster: RedisCluster) -> None:
    assert len(redis_cluster.ports) == 3
    for port in redis_cluster.ports:
        assert port + 10000 < 65536
    info = redis_cluster.nodes[0].command("CLUSTER", "INFO")
    assert "cluster_state:ok" in info
    assert "cluster_size:3" in info
    masters = [line for line in redis_cluster.nodes[0].command("CLUSTER", "NODES").splitlines()
               if "master" in line]
    assert len(masters) == 3
