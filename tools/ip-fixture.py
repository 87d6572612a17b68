#!/usr/bin/env python3
"""Writes tests/fixtures/ip-addresses.json: what Python's own `ipaddress` module says
about a list of addresses, interfaces and networks, in the JSON shape that
01-basics/05-ip-address.ts prints with --json. The tests prove the lesson gives the
same answers for every entry.

    python3 tools/ip-fixture.py            rewrite the fixture
    python3 tools/ip-fixture.py --check    exit 1 if the committed fixture differs

Shape of one report (keys are Python's attribute names):
  address:   version compressed exploded int max_prefixlen reverse_pointer is_* flags
             (+ IPv6: is_site_local ipv4_mapped sixtofour teredo scope_id)
  interface: version compressed exploded max_prefixlen netmask hostmask with_prefixlen
             with_netmask with_hostmask (+ IPv6: scope_id), ip (an address report)
             and network (a network report)
  network:   version compressed exploded max_prefixlen network_address broadcast_address
             netmask hostmask prefixlen with_prefixlen with_netmask with_hostmask
             num_addresses is_* flags (+ IPv6: is_site_local) and hosts: a summary of
             hosts() as {count, first, last}
Integers that can pass 2**53 (int, num_addresses, hosts.count) are decimal strings, so
JavaScript's JSON.parse keeps them exact.

Python's answers depend on its version (the private tables were revised after 3.11.7:
CPython gh-113171, CVE-2024-4032), so the fixture records the version that made it, and
the tests rerun `--check` only under that same version.

Deviations from Python 3.11, each deliberate and listed in the fixture's "notes":
  - A zone (fe80::1%eth0) names the link of one address. Python 3.11 raises computing
    `exploded` and `reverse_pointer` of a zoned address (CPython gh-88178, gh-155836);
    we record `exploded` with the zone appended (what gh-88178 makes Python print) and
    the `reverse_pointer` of the address without its zone (what gh-155836 asks for).
  - The network part of a zoned interface never carries the zone (Python keeps it only
    when no host bits are set, then cannot explode it), and a network may not have one.
"""
import ipaddress
import json
import os
import platform
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "ip-addresses.json")

FLAGS = ["is_private", "is_global", "is_multicast", "is_loopback", "is_link_local",
         "is_reserved", "is_unspecified"]
FLAGS_V6 = FLAGS + ["is_site_local"]

# (input, how to read it). "auto" is the lesson's default: no "/" is an address; with a
# "/" it is a network when no host bits are set (and no zone), otherwise an interface.
INPUTS = [
    # IPv4 addresses: every scope the tables know, and the edges of the space.
    ("0.0.0.0", "auto"), ("127.0.0.1", "auto"), ("10.1.2.3", "auto"),
    ("172.16.5.4", "auto"), ("172.32.0.1", "auto"), ("192.168.1.10", "auto"),
    ("8.8.8.8", "auto"), ("1.1.1.1", "auto"), ("100.64.0.1", "auto"),
    ("169.254.1.1", "auto"), ("192.0.0.9", "auto"), ("192.0.0.170", "auto"),
    ("192.0.2.1", "auto"), ("198.18.0.1", "auto"), ("198.51.100.20", "auto"),
    ("203.0.113.7", "auto"), ("224.0.0.1", "auto"), ("239.255.255.250", "auto"),
    ("240.0.0.1", "auto"), ("255.255.255.255", "auto"),
    # IPv6 addresses.
    ("::", "auto"), ("::1", "auto"), ("0:0:0:0:0:0:0:0", "auto"), ("2001:db8::1", "auto"),
    ("2001:DB8::ABCD", "auto"), ("fe80::1", "auto"), ("fe80::1%eth0", "auto"),
    ("fec0::1", "auto"), ("fc00::1", "auto"), ("fd12:3456:789a::1", "auto"),
    ("ff02::1", "auto"), ("::ffff:192.0.2.1", "auto"), ("::ffff:8.8.8.8", "auto"),
    ("::1.2.3.4", "auto"), ("2002:c000:204::1", "auto"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "auto"), ("2606:4700:4700::1111", "auto"),
    ("100::1", "auto"), ("2001:2::1", "auto"), ("2001:10::5", "auto"), ("4000::1", "auto"),
    ("1:0:0:2:0:0:0:3", "auto"), ("2001:db8:0:0:1:0:0:1", "auto"),
    ("2001:db8:0:1:1:1:1:1", "auto"), ("1::", "auto"),
    # Interfaces: an address with the prefix of its network.
    ("192.168.1.10/24", "auto"), ("10.0.0.1/8", "auto"), ("10.0.0.5/31", "auto"),
    ("10.0.0.5/32", "interface"), ("172.16.0.1/255.255.0.0", "auto"),
    ("100.64.1.1/10", "auto"), ("0.0.0.0/0", "interface"), ("10.0.0.0/8", "interface"),
    ("192.0.2.1", "interface"), ("2001:db8::1/64", "auto"), ("::1/64", "auto"),
    ("::1/128", "interface"), ("fe80::1%eth0/64", "auto"), ("fe80::%eth0/64", "auto"),
    # Networks (strict: no host bits set).
    ("10.0.0.0/8", "auto"), ("192.168.1.0/24", "auto"), ("192.168.1.0/30", "auto"),
    ("192.168.1.0/31", "auto"), ("192.168.1.7/32", "auto"), ("0.0.0.0/0", "auto"),
    ("100.64.0.0/10", "auto"), ("169.254.0.0/16", "auto"), ("224.0.0.0/4", "auto"),
    ("240.0.0.0/4", "auto"), ("172.16.0.0/11", "auto"), ("10.0.0.0/0.255.255.255", "auto"),
    ("192.0.2.1", "network"), ("fc00::/7", "auto"), ("2001:db8::/32", "auto"),
    ("2001:db8::/64", "auto"), ("2001:db8::/127", "auto"), ("2001:db8::1/128", "auto"),
    ("2001:db8::", "network"), ("::/0", "auto"), ("::/128", "auto"), ("::1/128", "auto"),
    ("fe80::/10", "auto"), ("fec0::/10", "auto"), ("ff00::/8", "auto"),
    ("::ffff:0:0/96", "auto"), ("::ffff:8.8.8.0/120", "auto"), ("::/6", "auto"),
    ("2002::/16", "auto"),
]


def table_edges():
    """Every block of Python's own special-purpose tables as a network, its first and last
    address and the neighbours just outside it: a wrong table entry cannot hide."""
    v4, v6 = ipaddress._IPv4Constants, ipaddress._IPv6Constants
    blocks = [*v4._private_networks, v4._public_network, v4._reserved_network,
              v4._linklocal_network, v4._loopback_network, v4._multicast_network,
              *v6._private_networks, *v6._reserved_networks, v6._linklocal_network,
              v6._multicast_network, v6._sitelocal_network]
    edges = []
    for net in blocks:
        make, top = type(net.network_address), (1 << net.max_prefixlen) - 1
        first, last = int(net.network_address), int(net.broadcast_address)
        around = [make(value) for value in (first - 1, first, last, last + 1) if 0 <= value <= top]
        for text in [str(net)] + [str(address) for address in around]:
            if (text, "auto") not in INPUTS and (text, "auto") not in edges:
                edges.append((text, "auto"))
    return edges


# Tricky strings: for each, whether Python accepts it as an address, an interface and a
# (strict) network. The lesson must accept exactly the same ones.
VERDICT_INPUTS = [
    "", "300.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1..2.3", "1.2.3.",
    "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "+1.2.3.4", "0x1.2.3.4", "1.2.3.256", "1234.1.1.1",
    "\u0663.1.1.1", "1.2.3.4/33", "1.2.3.4/-1", "1.2.3.4/", "1.2.3.4/ 24", "1.2.3.4/24/1",
    "1.2.3.4/8x", "1.2.3.4/\u0663", "1.2.3.0/024", "1.2.3.4/255.0.255.0",
    "1.2.3.0/0.0.0.255", "1.2.3.4/255.255.255.255", "1.2.3.4/0.0.0.0", "0.0.0.0/0.0.0.0",
    "10.0.0.1/8", "10.0.0.0/8", "1.2.3.4%eth0", "::g", ":::", "::", "1::2::3", "ff::ff::",
    "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8", "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7", "::1:2:3:4:5:6:7:8", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:",
    "1:2:3:4:5:6:7:00000", "12345::", "1::", "::1:", ":1::", "a:b", "1:2", "::ffff:1.2.3",
    "::ffff:300.1.1.1", "::1.2.3.4", "1.2.3.4::", "::1.2.3.4:5", "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4", "::ffff:1.2.3.4%eth0", "fe80::1%", "fe80::1%a%b",
    "fe80::1%eth0", "fe80::%eth0/64", "fe80::1%eth0/128", "fe80::1/64%eth0", "::1/129",
    "::1/64", "::/0", "::/ff", "::1/+64", "2001:db8::/32", "::ffff:ffff:ffff",
    # What a student may type instead of an address: a name, a lone number.
    "localhost", "example.com", "70000", "localhost/8",
]


def string(value):
    return None if value is None else str(value)


def unzoned(address):
    """The same address without its zone: Python 3.11 cannot explode a zoned one."""
    return type(address)(int(address))


def address_report(a):
    zone = a.scope_id if a.version == 6 else None
    bare = unzoned(a)
    report = {
        "kind": "address",
        "version": a.version,
        "compressed": a.compressed,
        # Deviation (see the module docstring): 3.11 raises on these two for a zoned address.
        "exploded": bare.exploded + (f"%{zone}" if zone else ""),
        "int": str(int(a)),
        "max_prefixlen": a.max_prefixlen,
        "reverse_pointer": bare.reverse_pointer,
    }
    for flag in FLAGS_V6 if a.version == 6 else FLAGS:
        report[flag] = getattr(a, flag)
    if a.version == 6:
        report["ipv4_mapped"] = string(a.ipv4_mapped)
        report["sixtofour"] = string(a.sixtofour)
        report["teredo"] = None if a.teredo is None else [str(ip) for ip in a.teredo]
        report["scope_id"] = a.scope_id
    return report


def hosts_rule(n):
    """hosts() as CPython 3.11 defines it (Lib/ipaddress.py): every address for /31 and
    /127, the one address for /32 and /128; otherwise IPv4 leaves out the network and
    broadcast addresses, IPv6 only the network address (the Subnet-Router anycast)."""
    first, last, size = int(n.network_address), int(n.broadcast_address), n.num_addresses
    if n.prefixlen >= n.max_prefixlen - 1:
        return size, first, last
    if n.version == 4:
        return size - 2, first + 1, last - 1
    return size - 1, first + 1, last


def hosts_summary(n):
    count, first, last = hosts_rule(n)
    make = type(n.network_address)
    if n.num_addresses <= 1 << 16:
        # Small enough to ask hosts() itself, and to prove the rule above right.
        hosts = list(n.hosts())
        assert (len(hosts), int(hosts[0]), int(hosts[-1])) == (count, first, last), n
    else:
        assert int(next(iter(n.hosts()))) == first, n
    return {"count": str(count), "first": str(make(first)), "last": str(make(last))}


def network_report(n):
    report = {
        "kind": "network",
        "version": n.version,
        "compressed": n.compressed,
        "exploded": n.exploded,
        "max_prefixlen": n.max_prefixlen,
        "network_address": str(n.network_address),
        "broadcast_address": str(n.broadcast_address),
        "netmask": str(n.netmask),
        "hostmask": str(n.hostmask),
        "prefixlen": n.prefixlen,
        "with_prefixlen": n.with_prefixlen,
        "with_netmask": n.with_netmask,
        "with_hostmask": n.with_hostmask,
        "num_addresses": str(n.num_addresses),
    }
    for flag in FLAGS_V6 if n.version == 6 else FLAGS:
        report[flag] = getattr(n, flag)
    report["hosts"] = hosts_summary(n)
    return report


def interface_report(i):
    network = i.network
    if i.version == 6 and i.scope_id:
        # Deviation: the network part never carries the zone (see the docstring).
        network = ipaddress.IPv6Network((int(i.ip), network.prefixlen), strict=False)
    report = {
        "kind": "interface",
        "version": i.version,
        "compressed": i.compressed,
        "exploded": i.exploded,
        "max_prefixlen": i.max_prefixlen,
        "netmask": str(i.netmask),
        "hostmask": str(i.hostmask),
        "with_prefixlen": i.with_prefixlen,
        "with_netmask": i.with_netmask,
        "with_hostmask": i.with_hostmask,
    }
    if i.version == 6:
        report["scope_id"] = i.scope_id
    report["ip"] = address_report(i.ip)
    report["network"] = network_report(network)
    return report


def describe(text, read_as):
    if read_as == "auto":
        if "/" not in text:
            read_as = "address"
        elif "%" in text:
            read_as = "interface"
        else:
            try:
                ipaddress.ip_network(text)
                read_as = "network"
            except ValueError:
                read_as = "interface"
    if read_as == "address":
        return address_report(ipaddress.ip_address(text))
    if read_as == "interface":
        return interface_report(ipaddress.ip_interface(text))
    assert "%" not in text, "networks with a zone are refused on purpose"
    return network_report(ipaddress.ip_network(text))


def accepts(parse, text):
    try:
        parse(text)
        return True
    except ValueError:
        return False


def build():
    return {
        "generator": "tools/ip-fixture.py",
        "python": platform.python_version(),
        "notes": [
            "Keys are the attribute names of Python's ipaddress objects; int, num_addresses "
            "and hosts.count are decimal strings.",
            "hosts is {count, first, last} of Python's hosts(): /31, /127 all addresses; "
            "/32, /128 the one address; else IPv4 skips network and broadcast, IPv6 the "
            "network address only.",
            "Zoned addresses: exploded keeps the zone and reverse_pointer drops it (3.11 raises "
            "on both; CPython gh-88178, gh-155836). A network never carries a zone: zoned "
            "interfaces get a zoneless network, and a zoned network is refused.",
        ],
        "entries": [
            {"input": text, "as": read_as, "expected": describe(text, read_as)}
            for text, read_as in INPUTS + table_edges()
        ],
        "verdicts": [
            {
                "input": text,
                "address": accepts(ipaddress.ip_address, text),
                "interface": accepts(ipaddress.ip_interface, text),
                # Deviation: Python accepts a zone on a network; the lesson refuses it.
                "network": accepts(ipaddress.ip_network, text) and "%" not in text,
            }
            for text in VERDICT_INPUTS
        ],
    }


def dump(fixture):
    """JSON with one entry per line: small, and a changed answer is a one-line diff."""
    lines = []
    for key, value in fixture.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            items = ",\n".join("  " + json.dumps(item, ensure_ascii=True) for item in value)
            lines.append(f" {json.dumps(key)}: [\n{items}\n ]")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=True)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main():
    text = dump(build())
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as f:
            same = f.read() == text
        print("fixture is up to date" if same else f"{OUT} differs: rerun tools/ip-fixture.py")
        sys.exit(0 if same else 1)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    entries, verdicts = len(INPUTS) + len(table_edges()), len(VERDICT_INPUTS)
    print(f"wrote {entries} entries and {verdicts} verdicts to {OUT}")


if __name__ == "__main__":
    main()
