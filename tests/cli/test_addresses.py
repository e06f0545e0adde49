"""Addresses and tokens: one parser for the server, the client, the CLI and the extension."""

from __future__ import annotations

import pytest

from clipsketch.addresses import (
    AddressError,
    channel_target,
    is_loopback,
    join_address,
    presents_token,
    read_token_file,
    split_address,
    token_metadata,
)


@pytest.mark.parametrize("address, parts", [("127.0.0.1:50051", ("127.0.0.1", 50051)), ("[::1]:9", ("::1", 9)),
                                            ("gpu-box:0", ("gpu-box", 0)), (" localhost:50051 ", ("localhost", 50051))])
def test_host_and_port_split_and_join_back(address, parts):
    assert split_address(address) == parts
    assert split_address(join_address(*parts)) == parts


@pytest.mark.parametrize("address", ["no-port", ":50051", "host:", "host:http", "host:70000"])
def test_a_malformed_address_is_named(address):
    with pytest.raises(AddressError, match=f"{address!r} is not host:port"):
        split_address(address)


def test_loopback_and_round_robin_targets():
    assert is_loopback("127.0.0.2:1") and is_loopback("[::1]:1") and is_loopback("localhost:1")
    assert not is_loopback("10.0.0.1:1") and not is_loopback("gpu-box:1")
    assert channel_target("dns:///sketch.svc:50051") == "dns:///sketch.svc:50051"  # one target goes as given
    assert channel_target(["127.0.0.1:1", "127.0.0.2:2"]) == "ipv4:127.0.0.1:1,127.0.0.2:2"
    assert channel_target(["[::1]:1", "[::1]:2"]) == "ipv6:[::1]:1,[::1]:2"
    with pytest.raises(AddressError, match="mix of IPv4 and IPv6"):
        channel_target(["127.0.0.1:1", "[::1]:2"])


def test_tokens_are_read_once_and_compared_in_full(tmp_path):
    (tmp_path / "token").write_text("  s3cret\n")
    token = read_token_file(tmp_path / "token")
    assert token == "s3cret"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ValueError, match="is empty"):
        read_token_file(tmp_path / "empty")
    metadata = token_metadata(token)
    assert metadata == [("authorization", "Bearer s3cret")] and token_metadata(None) == []
    assert presents_token(metadata, token) and presents_token([("authorization", b"Bearer s3cret")], token)
    assert not presents_token([("authorization", "Bearer s3cre")], token)
    assert not presents_token([("authorization", "Bearer s3cretX")], token) and not presents_token(None, token)
